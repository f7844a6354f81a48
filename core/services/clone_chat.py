"""A fan's question to a clone: gate, history, knowledge, the model's streamed answer, and
the turn recorded with its cost and reward (pattern 6).

The model call can take a minute, so no transaction stays open across it: one unit of work
checks access and reads the history, the answer streams, and a second unit of work records the
turn, its ledger movements and the statistics together. A turn that fails before it is
recorded moves nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.ai_ports import Embedder, KnowledgeStore, LanguageModel, ModelError
from core.clones import AnswerDelta, Answered
from core.errors import (
    AnswerInterrupted,
    CloneLocked,
    InsufficientTokens,
    InvalidInput,
    Reason,
    TooManyMessages,
)
from core.knowledge import KnowledgeChunk
from core.model import Counter, EventType, UserRef
from core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from core.prompting import build_messages, offline_answer, quoted
from core.services.clones import Access, check_access, ensure_clone
from core.services.event_log import log_event
from core.services.ledger import move_tokens
from core.validation import clean_text

log = logging.getLogger(__name__)

QUESTION_MAX = 4000
ANSWER_KEPT = 4000  # characters of an answer kept in the turn's event (history, audit)
# Characters of earlier turns sent along (about 3k model tokens): small models have 8k.
HISTORY_CHARS = 12_000


@dataclass(frozen=True, slots=True)
class ChatLimits:
    """How much fans may ask, and what the clone remembers and reads."""

    messages: int = 10  # per fan, in any window of ``window`` seconds, over all clones
    window: float = 60.0
    daily_reward_cap: int = 100  # tokens one fan can earn from one clone per UTC day
    history_turns: int = 10
    top_k: int = 5


class CloneChat:
    """Answers fans' questions as a creator's clone."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        store: KnowledgeStore,
        model: LanguageModel | None,
        embedder: Embedder | None,
        limits: ChatLimits = ChatLimits(),
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._store = store
        self._model = model
        self._embedder = embedder
        self._limits = limits
        self._recent: dict[int, deque[datetime]] = {}

    async def ask(
        self, who: UserRef, handle: str, question: str
    ) -> AsyncGenerator[AnswerDelta | Answered, None]:
        """The answer to ``question``: pieces as they stream, then one ``Answered``.

        Refusals come before anything is yielded: InvalidInput, CreatorNotFound, CloneLocked,
        CloneUnavailable, TooManyMessages. The cost is taken before the model is asked (so two
        questions at once cannot both spend the same tokens) and given back if no real answer
        comes: the model fails before its first word (the answer then quotes the knowledge,
        ``Answered.model_failed``), the knowledge has nothing to quote, the model breaks off
        mid-answer (AnswerInterrupted), or anything else goes wrong. Without a model the answer
        quotes the knowledge (``Answered.offline``) and counts like any other.
        """
        question = clean_text(question, "message", QUESTION_MAX, multiline=True)
        if not question:
            raise InvalidInput(Reason.TEXT_REQUIRED)
        turn = uuid.uuid4().hex  # names this turn's ledger movements, so each happens once
        async with self._uow() as uow:
            access = await check_access(uow, self._clock, who, handle)
            self._count_message(access.user_id)
            history = await self._history(uow, access)
            charged = await self._charge(uow, access, turn)
            await uow.commit()
        recorded = False
        try:
            chunks = await self._retrieve(access, question)
            text, model_failed = "", False
            if self._model is not None:
                async for piece in self._stream(access, history, chunks, question):
                    text += piece
                    yield AnswerDelta(piece)
                model_failed = not text.strip()
            quotes: list[tuple[str, str]] = []
            if self._model is None or model_failed:
                quotes = offline_answer(question, chunks)
                text = quoted(quotes)
            answered = await self._record(
                access, turn, question, text, chunks, quotes, model_failed, charged
            )
            recorded = True
        finally:
            if not recorded and charged:
                await self._refund(access, turn, charged)
        yield answered

    async def _stream(
        self,
        access: Access,
        history: list[tuple[str, str]],
        chunks: list[KnowledgeChunk],
        question: str,
    ) -> AsyncIterator[str]:
        # The model's pieces; nothing at all when it fails before its first word.
        assert self._model is not None
        creator = access.creator
        messages = build_messages(
            creator.name, creator.handle or "", access.settings.persona, history, chunks, question
        )
        started = False
        try:
            stream = self._model.stream(messages, access.settings.temperature)
            async with aclosing(stream):  # a fan who stops listening closes the request
                async for piece in stream:
                    started = True
                    yield piece
        except ModelError:
            if started:
                log.warning("model stopped mid-answer for @%s", creator.handle, exc_info=True)
                raise AnswerInterrupted() from None
            log.warning("model unavailable; answering from the knowledge", exc_info=True)

    async def _charge(self, uow: UnitOfWork, access: Access, turn: str) -> int:
        cost = access.settings.cost
        if not (access.pays and cost and access.token is not None):
            return 0
        try:
            await self._move(uow, access, -cost, "clone_cost", f"clone:{turn}:cost")
        except InsufficientTokens:
            # Spent elsewhere since the gate was checked (another question at the same time).
            held = (await uow.ledger.holdings(access.user_id)).get(access.token.id, 0)
            needed = max(access.settings.gate, cost)
            raise CloneLocked(
                handle=access.creator.handle, symbol=access.token.symbol, needed=needed, held=held
            ) from None
        return cost

    async def _refund(self, access: Access, turn: str, amount: int) -> None:
        try:
            async with self._uow() as uow:
                await self._move(uow, access, amount, "clone_refund", f"clone:{turn}:refund")
                await uow.commit()
        except Exception:
            log.critical(
                "clone turn %s: the cost of %d was NOT given back to user %d",
                turn,
                amount,
                access.user_id,
                exc_info=True,
            )

    def _count_message(self, user_id: int) -> None:
        # Per process: enough to stop one fan flooding a model (a fan's chat is served in order).
        now = self._clock.now()
        window = timedelta(seconds=self._limits.window)
        recent = self._recent.setdefault(user_id, deque())
        while recent and now - recent[0] >= window:
            recent.popleft()
        if len(recent) >= self._limits.messages:
            wait = max(1, int((recent[0] + window - now).total_seconds() + 0.999))
            raise TooManyMessages(
                limit=self._limits.messages, seconds=int(self._limits.window), wait=wait
            )
        recent.append(now)
        if len(self._recent) > 10_000:  # forget fans whose windows have all passed
            self._recent = {u: d for u, d in self._recent.items() if d and now - d[-1] < window}

    async def _history(self, uow: UnitOfWork, access: Access) -> list[tuple[str, str]]:
        if access.clone is None or self._limits.history_turns == 0:
            return []
        turns = await uow.events.of_actor(
            access.clone.id,
            EventType.CLONE_INTERACTION,
            access.user_id,
            self._limits.history_turns,
        )
        history: list[tuple[str, str]] = []
        size = 0
        for event in turns:  # newest first: the oldest turns give way to the context budget
            turn = (str(event.metadata.get("question", "")), str(event.metadata.get("answer", "")))
            size += len(turn[0]) + len(turn[1])
            if size > HISTORY_CHARS and history:
                break
            history.append(turn)
        return history[::-1]

    async def _retrieve(self, access: Access, question: str) -> list[KnowledgeChunk]:
        vector = None
        if self._embedder is not None:
            try:
                vector = (await self._embedder.embed([question]))[0]
            except ModelError:
                log.warning("embedding failed; searching by words only", exc_info=True)
        return await self._store.search(access.creator.id, question, self._limits.top_k, vector)

    async def _record(
        self,
        access: Access,
        turn: str,
        question: str,
        text: str,
        chunks: list[KnowledgeChunk],
        quotes: list[tuple[str, str]],
        model_failed: bool,
        charged: int,
    ) -> Answered:
        # A real answer keeps its cost and earns the reward; a fallback is free and earns none.
        useful = bool(text.strip()) and not model_failed
        settings = access.settings
        async with self._uow() as uow:
            clone = await ensure_clone(uow, self._clock, access.creator)
            rewarded = 0
            if access.pays and access.token is not None:
                token_id = access.token.id
                # One fan's turns with one clone record one after another, so two cannot both
                # read the same day's total and both be rewarded past the cap.
                await uow.ledger.lock_balance(access.user_id, token_id)
                if charged and not useful:
                    await self._move(uow, access, charged, "clone_refund", f"clone:{turn}:refund")
                    charged = 0
                earned = await self._earned_today(uow, clone.id, access.user_id)
                if useful:
                    rewarded = max(0, min(settings.reward, self._limits.daily_reward_cap - earned))
                if rewarded:
                    await self._move(uow, access, rewarded, "clone_reward", f"clone:{turn}:reward")
            else:
                earned = 0
            await log_event(
                uow,
                self._clock,
                clone.id,
                EventType.CLONE_INTERACTION,
                actor_id=access.user_id,
                metadata={
                    "turn": turn,
                    "question": question,
                    "answer": text[:ANSWER_KEPT],
                    "model": "offline" if not self._model or model_failed else self._model.name,
                    "documents": sorted({c.document_id for c in chunks}),
                    "charged": charged,
                    "rewarded": rewarded,
                    "earned_today": earned + rewarded,
                },
            )
            await uow.counters.add(clone.id, Counter.TURNS, 1)
            if charged:
                await uow.counters.add(clone.id, Counter.CHARGED, charged)
            if rewarded:
                await uow.counters.add(clone.id, Counter.REWARDED, rewarded)
            await uow.commit()
        return Answered(
            text=text,
            handle=access.creator.handle or "",
            offline=self._model is None or model_failed,
            model_failed=model_failed,
            sources=tuple(dict.fromkeys(c.title for c in chunks)),
            quotes=tuple(quotes),
            symbol=access.token.symbol if access.token else None,
            charged=charged,
            rewarded=rewarded,
            reward_capped=useful and access.pays and rewarded < settings.reward,
        )

    async def _move(
        self, uow: UnitOfWork, access: Access, amount: int, kind: str, reference: str
    ) -> None:
        assert access.token is not None
        await move_tokens(
            uow,
            self._clock,
            token_id=access.token.id,
            holder_id=access.user_id,
            amount=amount,
            kind=kind,
            reference=reference,
            settle_later=True,
        )

    async def _earned_today(self, uow: UnitOfWork, clone_id: int, user_id: int) -> int:
        # Each turn carries the day's running total, so one row tells it.
        now = self._clock.now()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        latest = await uow.events.of_actor(
            clone_id, EventType.CLONE_INTERACTION, user_id, 1, since=midnight
        )
        return int(latest[0].metadata.get("earned_today", 0)) if latest else 0
