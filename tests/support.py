"""Test helpers: a recording responder and a chat driver over the real router."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from bot.conversation import Attachment, Incoming, MessageRef, Reply, Router


@dataclass
class RecordingResponder:
    """Implements ``Responder`` by remembering what would have been shown."""

    chat_id: str = "chat"
    typing_calls: int = 0
    sent: list[Reply] = field(default_factory=list)
    edits: list[tuple[MessageRef, Reply]] = field(default_factory=list)
    payment_answers: list[tuple[bool, str | None]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # what download() serves, by file id
    stream_every: float = 0.0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def typing(self) -> None:
        self.typing_calls += 1

    async def send(self, reply: Reply) -> MessageRef:
        self.sent.append(reply)
        return MessageRef(self.chat_id, str(next(self._ids)))

    async def edit(self, ref: MessageRef, reply: Reply) -> None:
        self.edits.append((ref, reply))

    async def answer_payment(self, ok: bool, error: str | None = None) -> None:
        self.payment_answers.append((ok, error))

    async def download(self, attachment: Attachment) -> bytes:
        return self.files[attachment.file_id]

    def shown(self, index: int = -1) -> Reply:
        """The ``index``-th message sent, as it looks now (after its last edit)."""
        ref_id = str(len(self.sent) + index + 1 if index < 0 else index + 1)
        edits = [reply for ref, reply in self.edits if ref.message_id == ref_id]
        return edits[-1] if edits else self.sent[index]


class Chat:
    """Drives the conversation as people would: ``await chat("alice", "/follow bob")``."""

    def __init__(self, router: Router, platform: str = "test") -> None:
        self.router = router
        self.platform = platform
        self.responders: dict[str, RecordingResponder] = {}

    def responder(self, person: str) -> RecordingResponder:
        return self.responders.setdefault(person, RecordingResponder(chat_id=person))

    async def __call__(self, person: str, text: str) -> Reply:
        return await self._dispatch(person, text=text)

    async def press(self, person: str, label_part: str) -> Reply:
        """Press the button of ``person``'s last reply whose label contains ``label_part``."""
        last = self.responder(person).sent[-1]
        matches = [b for b in last.all_buttons if label_part in b.label]
        assert len(matches) == 1, f"no single button {label_part!r} in {last.all_buttons}"
        assert matches[0].data is not None
        return await self._dispatch(person, button=matches[0].data)

    async def send_file(
        self, person: str, name: str, data: bytes, mime_type: str | None = None
    ) -> Reply:
        """``person`` sends a file (a document) to the bot."""
        file_id = f"file-{len(self.responder(person).files) + 1}"
        self.responder(person).files[file_id] = data
        attachment = Attachment(name, mime_type, len(data), file_id)
        return await self._dispatch(person, attachment=attachment)

    async def _dispatch(
        self,
        person: str,
        *,
        text: str = "",
        button: str | None = None,
        attachment: Attachment | None = None,
    ) -> Reply:
        responder = self.responder(person)
        before = len(responder.sent)
        incoming = Incoming(
            platform=self.platform,
            user_id=person,
            chat_id=person,
            name=person.title(),
            text=text,
            button=button,
            attachment=attachment,
        )
        await self.router.dispatch(incoming, responder)
        assert len(responder.sent) == before + 1, "every action gets exactly one reply"
        return responder.shown()
