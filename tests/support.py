"""Test helpers: a recording responder and a chat driver over the real router."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from bot.conversation import Incoming, MessageRef, Reply, Router


@dataclass
class RecordingResponder:
    """Implements ``Responder`` by remembering what would have been shown."""

    chat_id: str = "chat"
    typing_calls: int = 0
    sent: list[Reply] = field(default_factory=list)
    edits: list[tuple[MessageRef, Reply]] = field(default_factory=list)
    payment_answers: list[tuple[bool, str | None]] = field(default_factory=list)
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

    async def _dispatch(self, person: str, *, text: str = "", button: str | None = None) -> Reply:
        responder = self.responder(person)
        before = len(responder.sent)
        incoming = Incoming(
            platform=self.platform,
            user_id=person,
            chat_id=person,
            name=person.title(),
            text=text,
            button=button,
        )
        await self.router.dispatch(incoming, responder)
        assert len(responder.sent) == before + 1, "every action gets exactly one reply"
        return responder.sent[-1]
