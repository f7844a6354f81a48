"""A terminal chat on standard input and output.

Translation only: a typed line becomes an ``Incoming``; a ``Reply`` becomes printed text with
its buttons as numbered choices. Two console affordances live here because they are about the
terminal, not the conversation: ``/as NAME`` (who is typing) and a bare number (press button N
of the last message). Works interactively and piped; ends cleanly at end of input.

Notifications outside a conversation (``ConsoleFrontend.push``) are printed for the person they
are meant for, whoever is typing at the moment. An invoice (Telegram Stars) is shown as text:
the console cannot take that payment.
"""

from __future__ import annotations

import asyncio
import itertools
import mimetypes
import threading
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot.conversation import Attachment, Button, Incoming, MessageRef, Reply, Router
from bot.conversation.texts import t

PLATFORM = "console"
_NAME_MAX = 32


# A terminal takes edits as fast as they come; this keeps a streamed answer readable.
STREAM_EVERY_S = 0.2


class ConsoleResponder:
    """Implements ``Responder`` by printing; remembers the buttons of the last message."""

    def __init__(self, out: TextIO, chat_id: str, interactive: bool) -> None:
        self._out = out
        self._chat_id = chat_id
        self._interactive = interactive
        self._ids = itertools.count(1)
        self.last_buttons: list[Button] = []
        self._typing_shown = False
        self.stream_every = STREAM_EVERY_S
        # The message whose line is still open (id, text shown), so an edit that only adds
        # text (a streamed answer) prints just what is new.
        self._open: tuple[str, str] | None = None

    async def typing(self) -> None:
        if self._interactive:
            self._typing_shown = True
            await self._write(t("working") + "\r")

    async def send(self, reply: Reply) -> MessageRef:
        await self.finish()
        ref = MessageRef(self._chat_id, str(next(self._ids)))
        plain = not (reply.buttons or reply.media or reply.invoice)
        # A plain message may grow (a streamed answer): leave the line open until it is done.
        await self._show(reply, edited=False, end="" if plain else "\n\n")
        if plain:
            self._open = (ref.message_id, reply.text)
        return ref

    async def edit(self, ref: MessageRef, reply: Reply) -> None:
        if self._open is not None and self._open[0] == ref.message_id:
            shown = self._open[1]
            start = len(shown) if reply.text.startswith(shown) else len(shown.rstrip())
            if reply.text.startswith(shown.rstrip()):
                # It grew: print only what is new, where the last piece ended.
                self._open = None
                grown = replace(reply, text=reply.text[start:])
                plain = not (reply.buttons or reply.media or reply.invoice)
                await self._show(grown, edited=False, end="" if plain else "\n\n", clear=False)
                if plain:
                    self._open = (ref.message_id, reply.text)
                return
        await self.finish()
        await self._show(reply, edited=True)

    async def finish(self) -> None:
        """End an open message (the frontend calls this when a command is done)."""
        if self._open is not None:
            self._open = None
            await self._write("\n\n")

    async def download(self, attachment: Attachment) -> bytes:
        # Console "attachments" are local files named with /file PATH.
        return await asyncio.to_thread(Path(attachment.file_id).read_bytes)

    async def answer_payment(self, ok: bool, error: str | None = None) -> None:
        # The console has no payment rail of its own, so no payment ever waits for an answer.
        return None

    async def push(self, reply: Reply, header: str, prompt: str) -> MessageRef:
        """Show a notification: ``header`` names the person; ``prompt`` is redrawn after it."""
        await self.finish()
        await self._show(reply, edited=False, header=header, prompt=prompt)
        return MessageRef(self._chat_id, str(next(self._ids)))

    async def _show(
        self,
        reply: Reply,
        *,
        edited: bool,
        header: str | None = None,
        prompt: str = "",
        end: str = "\n\n",
        clear: bool = True,
    ) -> None:
        lines = [f"{t('console.edited')} {reply.text}" if edited else reply.text]
        if header is not None:
            lines.insert(0, header)
        if (invoice := reply.invoice) is not None:
            lines.append(
                t(
                    "console.invoice",
                    title=invoice.title,
                    amount=invoice.amount,
                    currency=invoice.currency,
                )
            )
            lines.append(t("console.invoice_telegram_only"))
        if reply.media is not None:
            kind, name, size = reply.media.kind, reply.media.file_name, len(reply.media.data)
            lines.append(t("console.media", kind=kind, name=name, size=size))
        if reply.buttons or clear:
            self.last_buttons = reply.all_buttons
        if reply.buttons:
            choices = [
                f"[{n}] {b.label}" + (f" → {b.url}" if b.url else "")
                for n, b in enumerate(self.last_buttons, 1)
            ]
            lines.append("  " + "   ".join(choices))
        # Clear the "working" line, or the prompt a notification arrives over (then redrawn).
        prefix = "\r\x1b[2K" if clear and (self._typing_shown or prompt) else ""
        self._typing_shown = False
        await self._write(prefix + "\n".join(lines) + end + prompt)

    async def _write(self, text: str) -> None:
        # A pipe can block when its reader is slow: keep the event loop free.
        await asyncio.to_thread(_write_flush, self._out, text)


class _LineReader:
    """Reads lines on a daemon thread, so Ctrl-C never waits for a blocked ``readline``
    (a thread of the default executor would keep the process alive until Enter)."""

    def __init__(self, source: TextIO) -> None:
        self._source = source
        self._loop = asyncio.get_running_loop()
        self._wanted = threading.Semaphore(0)
        self._lines: asyncio.Queue[str] = asyncio.Queue()
        threading.Thread(target=self._pump, name="console-stdin", daemon=True).start()

    def _pump(self) -> None:
        binary = getattr(self._source, "buffer", None)
        while True:
            self._wanted.acquire()  # read only when asked: piped input is not slurped ahead
            try:
                # Bytes decoded leniently: a stray invalid byte must not end the chat.
                raw = binary.readline() if binary is not None else self._source.readline()
                line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            except Exception:
                line = ""  # an unreadable input ends the session like end of input
            self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
            if not line:
                return

    async def next(self) -> str:
        """The next line with its newline, or "" at end of input."""
        self._wanted.release()
        return await self._lines.get()


def _write_flush(out: TextIO, text: str) -> None:
    out.write(text)
    out.flush()


class ConsoleFrontend:
    """Reads lines from ``stdin`` until end of input and hands them to the router."""

    def __init__(
        self,
        router: Router,
        stdin: TextIO,
        stdout: TextIO,
        *,
        person: str = "guest",
        interactive: bool | None = None,
    ) -> None:
        self._router = router
        self._in = stdin
        self._out = stdout
        self._interactive = stdin.isatty() if interactive is None else interactive
        self._person = person
        self._responders: dict[str, ConsoleResponder] = {}
        self._prompting = False  # the prompt is on screen, waiting for a line

    def _responder(self, key: str | None = None) -> ConsoleResponder:
        key = self._key(self._person) if key is None else key
        if key not in self._responders:
            self._responders[key] = ConsoleResponder(self._out, key, self._interactive)
        return self._responders[key]

    async def push(self, chat_id: str, reply: Reply) -> MessageRef:
        """Print a notification for the person ``chat_id`` (their lower-cased name).

        Its buttons become that person's last message: after ``/as`` them, a number presses
        one. Shown at once, whoever is typing: the console is one screen for everybody.
        """
        key = self._key(chat_id)
        prompt = f"{self._person}> " if self._prompting else ""
        header = t("console.push", person=key)
        return await self._responder(key).push(reply, header, prompt)

    @staticmethod
    def _key(person: str) -> str:
        return " ".join(person.split()).lower()

    async def run(self) -> None:
        await self._say(t("console.banner", person=self._person))
        lines = _LineReader(self._in)
        while True:
            if self._interactive:
                await self._write(f"{self._person}> ")
                self._prompting = True
            try:
                line = await lines.next()
            finally:
                self._prompting = False
            if not line:
                break
            line = line.rstrip("\r\n")
            if not self._interactive:
                await self._write(f"{self._person}> {line}\n")
            await self.handle_line(line)
        if self._interactive:
            await self._say("\n" + t("console.bye"))

    async def handle_line(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        if text.split(" ", 1)[0].lower() == "/as":
            await self._switch(text[3:].strip())
            return
        attachment: Attachment | None = None
        if text.split(" ", 1)[0].lower() == "/file":
            attachment = await self._attach(text[5:].strip())
            if attachment is None:
                return
            text = ""
        responder = self._responder()
        button: str | None = None
        if text.isascii() and text.isdigit() and len(text) <= 3:
            number = int(text)
            if not 1 <= number <= len(responder.last_buttons):
                await self._say(t("console.no_such_button", number=number))
                return
            pressed = responder.last_buttons[number - 1]
            if pressed.url is not None:
                await self._say(pressed.url)
                return
            button, text = pressed.data, ""
        key = self._key(self._person)
        incoming = Incoming(
            platform=PLATFORM,
            user_id=key,
            chat_id=key,
            name=self._person,
            text=text,
            button=button,
            attachment=attachment,
        )
        await self._router.dispatch(incoming, responder)
        await responder.finish()

    async def _attach(self, name: str) -> Attachment | None:
        """``/file PATH``: send a local file, as a document would be sent on Telegram."""
        path = await asyncio.to_thread(lambda: Path(name).expanduser())
        if not name or not await asyncio.to_thread(path.is_file):
            await self._say(t("usage.reply", usage=t("console.file_usage")))
            return None
        size = (await asyncio.to_thread(path.stat)).st_size
        mime_type = mimetypes.guess_type(path.name)[0]
        return Attachment(path.name, mime_type, size, str(path))

    async def _switch(self, name: str) -> None:
        name = " ".join(name.split())
        if not name or len(name) > _NAME_MAX:
            await self._say(t("usage.reply", usage=t("console.as_usage")))
            return
        self._person = name
        await self._say(t("console.as", person=name))

    async def _say(self, text: str) -> None:
        await self._write(text + "\n\n")

    async def _write(self, text: str) -> None:
        await asyncio.to_thread(_write_flush, self._out, text)
