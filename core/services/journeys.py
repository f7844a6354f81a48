"""ELEVATE journeys, the people's side: enrolment on follow, /journey, /stop, the fan's answers
(the hook's question, the rating), and referrals.

The engine (``journey_engine.py``) performs the timed steps; this service starts and stops runs,
shows where they stand, lets a creator adjust their texts and waits, and takes what a fan says
back. Everything a step sends goes through the outbox; the answers to a fan's own messages are
ordinary replies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.ai_ports import KnowledgeStore, LanguageModel, ModelError
from core.errors import InvalidInput, NotFollowing, NothingToRate, Reason
from core.journey_templates import (
    JourneyTemplate,
    journey_enabled,
    with_enabled,
    with_override,
)
from core.journeys import STEPS, JourneyRun, RunState, broadcast_keys, run_keys
from core.model import Entity, EventType, UserRef
from core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from core.prompting import analysis_messages, offline_answer, quoted
from core.services import referrals
from core.services.creators import load_creator
from core.services.event_log import log_event
from core.services.identities import owned_creator, resolve_user
from core.services.journey_engine import JourneyEngine
from core.validation import clean_text

ANSWER_MAX = 2000


@dataclass(frozen=True, slots=True)
class JourneyStatus:
    """Where one of a fan's journeys stands."""

    handle: str
    name: str
    step: int  # 1-based number of the step that comes next (10 when done)
    step_name: str
    state: RunState
    next_at: datetime | None


@dataclass(frozen=True, slots=True)
class Answered:
    """What the fan's message answered: the hook (with an analysis) or the rating's comment."""

    step: str
    handle: str
    analysis: str = ""
    quotes: tuple[tuple[str, str], ...] = ()
    offline: bool = False


class JourneyService:
    """Journeys as fans and creators see and steer them."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        engine: JourneyEngine,
        template: JourneyTemplate,
        store: KnowledgeStore,
        model: LanguageModel | None,
        referral_reward: int = 0,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._engine = engine
        self._template = template
        self._store = store
        self._model = model
        self._referral_reward = referral_reward

    # --- enrolment (inside the follow's unit of work) ------------------------------------

    async def enrol(self, uow: UnitOfWork, fan_id: int, creator: Entity) -> None:
        """Start the creator's journey for a new follower, unless it is off or already ran
        (a stopped one goes on); reward the fan whose share link brought them."""
        await referrals.reward(uow, self._clock, fan_id, creator.id, self._referral_reward)
        if not journey_enabled(creator.properties):
            return
        now = self._clock.now()
        steps = self._template.for_creator(creator.properties).steps
        due = now + self._engine.wait(steps[0].wait)
        if await uow.journeys.start(fan_id, creator.id, due, now) is not None:
            await log_event(
                uow,
                self._clock,
                fan_id,
                EventType.JOURNEY_STARTED,
                metadata={"creator": creator.id},
            )
            return
        # Following again after leaving: the journey goes on where it stopped.
        run = await uow.journeys.find(fan_id, creator.id)
        if run is None or run.state is not RunState.STOPPED:
            return
        if run.step >= len(steps):
            changes: dict[str, Any] = {"state": RunState.DONE}
        elif "gate_opened" in run.data:  # its deadline still counts from when it opened
            changes = {"state": RunState.ACTIVE, "next_run_at": now}
        else:
            wait = self._engine.wait(steps[run.step].wait)
            changes = {"state": RunState.ACTIVE, "next_run_at": now + wait}
        if await uow.journeys.update(
            run.id, changes, now, expected_step=run.step, expected_state=RunState.STOPPED
        ):
            await log_event(
                uow,
                self._clock,
                fan_id,
                EventType.JOURNEY_STARTED,
                metadata={"creator": creator.id, "resumed": run.step},
            )

    async def leave(self, uow: UnitOfWork, fan_id: int, creator_id: int) -> bool:
        """Stop the fan's journey with this creator (an unfollow, or /stop)."""
        # Any state but stopped: a finished journey's fan still opts out of broadcasts.
        run = await uow.journeys.find(fan_id, creator_id)
        if run is None or run.state is RunState.STOPPED:
            return False
        stopped = await uow.journeys.update(
            run.id,
            {"state": RunState.STOPPED, "next_run_at": None},
            self._clock.now(),
            expected_state=run.state,
        )
        if stopped:
            # What was queued and not yet sent stays unsent (a message being sent still goes).
            await uow.outbox.cancel(fan_id, [run_keys(run.id), broadcast_keys(creator_id)])
            await log_event(
                uow,
                self._clock,
                fan_id,
                EventType.JOURNEY_STOPPED,
                metadata={"creator": creator_id},
            )
        return stopped

    # --- fans --------------------------------------------------------------------------------

    async def stop(self, who: UserRef, handle: str | None) -> list[str]:
        """Opt out of one creator's journey (or all); the handles stopped."""
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            if handle:
                creator = await load_creator(uow, handle)
                runs = [r for r in [await uow.journeys.find(user_id, creator.id)] if r]
                if not runs:
                    raise NotFollowing(handle=creator.handle)
            else:
                runs = await uow.journeys.of_fan(user_id)
            stopped = []
            for run in runs:
                if await self.leave(uow, user_id, run.creator_id):
                    entity = await uow.entities.get(run.creator_id)
                    stopped.append(entity.handle if entity and entity.handle else "")
            await uow.commit()
        return stopped

    async def status(self, who: UserRef) -> list[JourneyStatus]:
        """Where each of ``who``'s journeys stands, newest first."""
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            runs = await uow.journeys.of_fan(user_id)
            creators = await uow.entities.get_many([r.creator_id for r in runs])
            await uow.commit()
        return [
            JourneyStatus(
                handle=creators[r.creator_id].handle or "",
                name=creators[r.creator_id].name,
                step=r.step + 1,
                step_name=r.step_name,
                state=r.state,
                next_at=r.next_run_at,
            )
            for r in runs
            if r.creator_id in creators
        ]

    async def awaiting(self, who: UserRef) -> JourneyRun | None:
        """The run waiting for ``who``'s words (the hook's question, the rating's comment)."""
        async with self._uow() as uow:
            found = await uow.identities.find(who.platform, who.platform_user_id)
            runs = await uow.journeys.of_fan(found.user_id) if found else []
            await uow.commit()
        return next(
            (r for r in runs if r.state is RunState.ACTIVE and r.data.get("awaiting")), None
        )

    async def answer(self, who: UserRef, text: str) -> Answered | None:
        """Take the fan's words for the step that asked; None if no step is waiting."""
        run = await self.awaiting(who)
        if run is None:
            return None
        text = clean_text(text, "answer", ANSWER_MAX, multiline=True)
        if not text:
            raise InvalidInput(Reason.TEXT_REQUIRED)
        step = str(run.data["awaiting"])
        # Take the question first, so two messages at once get one analysis; the model is
        # then asked outside any transaction.
        if not await self._merge(run.id, {"awaiting": None}, asked=step):
            return None
        async with self._uow() as uow:
            creator = await uow.entities.get(run.creator_id)
            await uow.commit()
        assert creator is not None
        result = Answered(step=step, handle=creator.handle or "")
        if step == "hook":
            result = await self._analyse(creator, text)
            told = {"goals": text, "analysis": result.analysis or quoted(result.quotes)}
        else:
            told = {"feedback": text}
        await self._merge(run.id, told)
        async with self._uow() as uow:
            await log_event(
                uow,
                self._clock,
                creator.id,
                EventType.JOURNEY_ANSWERED,
                actor_id=run.fan_id,
                metadata={"step": step, "text": text},
            )
            await uow.commit()
        return result

    async def _merge(self, run_id: int, values: dict[str, Any], asked: str | None = None) -> bool:
        # Only these keys change, on the run as it is now: the engine may have moved it on
        # meanwhile (a gate opened), and what it wrote must stay.
        async with self._uow() as uow:
            run = await uow.journeys.get(run_id)
            if run is None or (asked is not None and run.data.get("awaiting") != asked):
                return False
            await uow.journeys.update(run_id, {"data": {**run.data, **values}}, self._clock.now())
            await uow.commit()
        return True

    async def _analyse(self, creator: Entity, goals: str) -> Answered:
        # The hook's free analysis: the clone's model, or the knowledge quoted when there is none.
        handle = creator.handle or ""
        chunks = await self._store.search(creator.id, goals, 5)
        if self._model is not None:
            messages = analysis_messages(creator.name, handle, chunks, goals)
            try:
                text = "".join([piece async for piece in self._model.stream(messages, 0.7)])
                if text.strip():
                    return Answered(step="hook", handle=handle, analysis=text.strip())
            except ModelError:
                pass
        quotes = tuple(offline_answer(goals, chunks))
        return Answered(step="hook", handle=handle, quotes=quotes, offline=True)

    async def rate(self, who: UserRef, handle: str, stars: str) -> str:
        """The understand step's 1–5 rating of the creator; the creator's handle."""
        if not (stars.strip().isascii() and stars.strip().isdigit() and 1 <= int(stars) <= 5):
            raise InvalidInput(Reason.NUMBER_INVALID, value=stars.strip()[:10], least=1, most=5)
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            creator = await load_creator(uow, handle)
            run = await uow.journeys.find(user_id, creator.id)
            if run is None or run.step <= STEPS.index("understand"):
                raise NothingToRate(handle=creator.handle)
            await log_event(
                uow,
                self._clock,
                creator.id,
                EventType.JOURNEY_RATED,
                actor_id=user_id,
                metadata={"stars": int(stars)},
            )
            await uow.commit()
        return creator.handle or ""

    async def join_by_referral(self, who: UserRef, code: str) -> str | None:
        """``/start ref-N-CODE``: the handle of run N's creator (a fan shared their link), or
        None if the code is not a share link. A person new to the bot is remembered as brought
        by it: when they follow the creator, the sharer is rewarded (core/services/referrals)."""
        async with self._uow() as uow:
            found = await referrals.referred_run(uow, code)
            creator = await uow.entities.get(found[2]) if found else None
            if found is None or creator is None:
                return None
            run_id, sharer_id, creator_id = found
            is_new = await uow.identities.find(who.platform, who.platform_user_id) is None
            user_id = await resolve_user(uow, self._clock, who)
            if is_new and user_id != sharer_id:
                await referrals.remember(uow, self._clock, user_id, run_id, creator_id)
            await uow.commit()
        return creator.handle

    # --- creators ------------------------------------------------------------------------

    async def template_of(self, who: UserRef) -> tuple[str, bool, JourneyTemplate]:
        """The creator's handle, whether their journey is on, and its steps as they run."""
        async with self._uow() as uow:
            creator = await owned_creator(uow, await resolve_user(uow, self._clock, who))
            await uow.commit()
        properties = creator.properties
        return (
            creator.handle or "",
            journey_enabled(properties),
            self._template.for_creator(properties),
        )

    async def configure(self, who: UserRef, step: str, field: str, value: str) -> None:
        """Override one step's ``text`` or ``wait`` (hours) for the creator's journey."""
        await self._change(who, lambda props: with_override(props, step.lower(), field, value))

    async def set_enabled(self, who: UserRef, enabled: bool) -> None:
        """Turn the creator's journey on or off for new followers."""
        await self._change(who, lambda props: with_enabled(props, enabled))

    async def _change(self, who: UserRef, change: Any) -> None:
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            creator = await owned_creator(uow, user_id)
            await uow.entities.update(creator.id, change(creator.properties), self._clock.now())
            await uow.commit()
