"""Messages that grow in place: a clone's streamed answer, and progress of long work.

The first piece of an answer is sent the moment it arrives (that is what the fan waits for);
later pieces are gathered and shown by editing that message, at most once per the platform's
``stream_every``, so a fast model never runs into the platform's edit limits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing

from bot.conversation.messages import Button, MessageRef, Reply, Responder
from bot.conversation.texts import t
from core.clones import AnswerDelta, Answered

log = logging.getLogger(__name__)
ANSWER_SHOWN = 3500


async def stream_answer(
    responder: Responder,
    parts: AsyncGenerator[AnswerDelta | Answered, None],
    buttons: tuple[tuple[Button, ...], ...] = (),
) -> Reply | MessageRef:
    """Show an answer as it streams; the final Reply (when nothing was sent yet) or the
    message that now holds the whole answer."""
    ref: MessageRef | None = None
    text = ""
    shown_at = 0.0
    async with aclosing(parts):  # stop the model's stream if showing it fails
        async for part in parts:
            if isinstance(part, Answered):
                return await _show_final(responder, ref, Reply(answer_text(part), buttons))
            text += part.text
            if not text.strip():
                continue
            if ref is None:
                ref = await responder.send(Reply(_shown(text)))
                shown_at = time.monotonic()
            elif time.monotonic() - shown_at >= responder.stream_every:
                shown_at = time.monotonic()
                try:
                    await responder.edit(ref, Reply(_shown(text)))
                except Exception:
                    # A missed intermediate edit only delays the text: the final edit shows it.
                    log.warning("streaming edit failed", exc_info=True)
    raise RuntimeError("the answer ended without its result")


async def _show_final(
    responder: Responder, ref: MessageRef | None, final: Reply
) -> Reply | MessageRef:
    if ref is None:
        return final
    try:
        await responder.edit(ref, final)
    except Exception:
        # The turn is recorded (and paid): the fan must see its answer, in a new message.
        log.warning("final edit failed; sending the answer anew", exc_info=True)
        return await responder.send(final)
    return ref


def _shown(text: str) -> str:
    # Room is kept for the footer (sources, tokens): chat messages are short (4,096 on Telegram).
    return text if len(text) <= ANSWER_SHOWN else text[: ANSWER_SHOWN - 1] + "…"


def answer_text(answer: Answered) -> str:
    """The whole answer as the fan sees it, with its sources and what it moved."""
    if answer.offline:
        header = t(
            "answer.model_failed" if answer.model_failed else "answer.offline", handle=answer.handle
        )
        quotes = [t("answer.quote", quote=q, title=title) for q, title in answer.quotes if q]
        body = (
            "\n\n".join([header, *quotes]) if quotes else t("answer.nothing", handle=answer.handle)
        )
        lines = [body]
    else:
        lines = [_shown(answer.text.strip())]
        if answer.sources:
            lines.append(t("answer.sources", sources=", ".join(answer.sources)))
    footer = []
    if answer.symbol is not None:
        if answer.charged:
            footer.append(t("answer.cost", amount=answer.charged, symbol=answer.symbol))
        if answer.rewarded:
            footer.append(t("answer.reward", amount=answer.rewarded, symbol=answer.symbol))
        if answer.reward_capped:
            footer.append(t("answer.capped", handle=answer.handle))
    if footer:
        lines.append(" · ".join(footer))
    return "\n\n".join(lines)


class Progress:
    """A "working on it" message edited as work advances (at most once per ``stream_every``)."""

    def __init__(self, responder: Responder, key: str, **params: object) -> None:
        self._responder = responder
        self._key = key
        self._params = params
        self._ref: MessageRef | None = None
        self._shown_at = 0.0

    async def start(self, text: str) -> None:
        self._ref = await self._responder.send(Reply(text))
        self._shown_at = time.monotonic()

    async def __call__(self, done: int, total: int) -> None:
        if self._ref is None or total == 0 or done >= total:
            return
        if time.monotonic() - self._shown_at < self._responder.stream_every:
            return
        self._shown_at = time.monotonic()
        percent = done * 100 // total
        text = t(self._key, percent=percent, done=done, total=total, **self._params)
        try:
            await self._responder.edit(self._ref, Reply(text))
        except Exception:
            log.warning("progress edit failed", exc_info=True)

    async def finish(self, reply: Reply) -> Reply | MessageRef:
        """Show the outcome in the progress message (or as a new one if none was sent)."""
        if self._ref is None:
            return reply
        try:
            await self._responder.edit(self._ref, reply)
        except Exception:
            # The work is done; only the edit failed: the outcome goes as a new message.
            log.warning("the final progress edit failed; sending the outcome anew", exc_info=True)
            return reply
        return self._ref
