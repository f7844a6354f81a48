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
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.ai_ports import Embedder, KnowledgeStore, LanguageModel, ModelError
from core.clones import AnswerDelta, Answered
from core.errors import AnswerInterrupted, InsufficientTokens, InvalidInput, Reason, TooManyMessages
from core.knowledge import KnowledgeChunk
from core.model import Counter, EventType, UserRef
from core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from core.prompting import build_messages, offline_answer
from core.services.clones import Access, check_access, ensure_clone
from core.services.event_log import log_event
from core.services.ledger import move_tokens
from core.validation import clean_text

log = logging.getLogger(__name__)

QUESTION_MAX = 4000
ANSWER_KEPT = 4000  # characters of an answer kept in the turn's event (history, audit)


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
    ) -> AsyncIterator[AnswerDelta | Answered]:
        """The answer to ``question``: pieces as they stream, then one ``Answered``.

        Refusals come before anything is yielded: InvalidInput, CreatorNotFound, CloneLocked,
        CloneUnavailable, TooManyMessages. Without a model, or when the model fails before its
        first word, the answer quotes the knowledge (``Answered.offline``). If the model fails
        mid-answer, AnswerInterrupted is raised and nothing is recorded.
        """
        question = clean_text(question, "message", QUESTION_MAX, multiline=True)
        if not question:
            raise InvalidInput(Reason.TEXT_REQUIRED)
        async with self._uow() as uow:
            access = await check_access(uow, self._clock, who, handle)
            self._count_message(access.user_id)
            history = await self._history(uow, access)
            await uow.commit()
        chunks = await self._retrieve(access, question)
        text = ""
        model_failed = False
        if self._model is not None:
            messages = build_messages(
                access.creator.name,
                access.creator.handle or "",
                access.settings.persona,
                history,
                chunks,
                question,
            )
            try:
                stream = self._model.stream(messages, access.settings.temperature)
                async with aclosing(stream):  # a fan who stops listening closes the request
                    async for piece in stream:
                        text += piece
                        yield AnswerDelta(piece)
            except ModelError:
                if text:
                    log.warning("model stopped mid-answer for @%s", handle, exc_info=True)
                    raise AnswerInterrupted() from None
                log.warning("model unavailable; answering offline", exc_info=True)
                model_failed = True
        quotes: list[tuple[str, str]] = []
        if self._model is None or model_failed:
            quotes = offline_answer(question, chunks)
            text = "\n".join(f"“{quote}” — {title}" for quote, title in quotes)
        yield await self._record(access, question, text, chunks, quotes, model_failed)

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
        return [
            (str(e.metadata.get("question", "")), str(e.metadata.get("answer", "")))
            for e in reversed(turns)
        ]

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
        question: str,
        text: str,
        chunks: list[KnowledgeChunk],
        quotes: list[tuple[str, str]],
        model_failed: bool,
    ) -> Answered:
        offline = self._model is None or model_failed
        settings = access.settings
        turn = uuid.uuid4().hex  # names this turn's ledger movements, so each happens once
        async with self._uow() as uow:
            clone = await ensure_clone(uow, self._clock, access.creator)
            charged = rewarded = 0
            earned = await self._earned_today(uow, clone.id, access.user_id)
            if access.pays and access.token is not None:
                token_id = access.token.id
                if settings.cost:
                    charged = await self._charge(uow, access, token_id, settings.cost, turn)
                rewarded = max(0, min(settings.reward, self._limits.daily_reward_cap - earned))
                if rewarded:
                    await move_tokens(
                        uow,
                        self._clock,
                        token_id=token_id,
                        holder_id=access.user_id,
                        amount=rewarded,
                        kind="clone_reward",
                        reference=f"clone:{turn}:reward",
                        settle_later=True,
                    )
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
                    "model": "offline" if offline else getattr(self._model, "name", "model"),
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
            offline=offline,
            model_failed=model_failed,
            sources=tuple(dict.fromkeys(c.title for c in chunks)),
            quotes=tuple(quotes),
            symbol=access.token.symbol if access.token else None,
            charged=charged,
            rewarded=rewarded,
            reward_capped=access.pays and rewarded < settings.reward,
        )

    async def _charge(
        self, uow: UnitOfWork, access: Access, token_id: int, cost: int, turn: str
    ) -> int:
        try:
            await move_tokens(
                uow,
                self._clock,
                token_id=token_id,
                holder_id=access.user_id,
                amount=-cost,
                kind="clone_cost",
                reference=f"clone:{turn}:cost",
                settle_later=True,
            )
        except InsufficientTokens:
            # Checked before the answer; only a spend elsewhere since then gets here. The
            # answer was shown, so the turn is recorded, uncharged, rather than lost.
            log.warning("user %d could no longer pay %d for a clone turn", access.user_id, cost)
            return 0
        return cost

    async def _earned_today(self, uow: UnitOfWork, clone_id: int, user_id: int) -> int:
        # Each turn carries the day's running total, so one row tells it.
        now = self._clock.now()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        latest = await uow.events.of_actor(
            clone_id, EventType.CLONE_INTERACTION, user_id, 1, since=midnight
        )
        return int(latest[0].metadata.get("earned_today", 0)) if latest else 0
