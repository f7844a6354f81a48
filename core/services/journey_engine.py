"""The journey engine: each tick takes the due runs and performs their step (pattern 8).

APScheduler only ticks (jobs/journeys.py); the schedule lives in ``journey_runs``. A tick claims
a batch of due runs (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several bot processes share
the work) and performs their steps in the same transaction, set by set: the messages go into
the outbox under keys naming run and step, the runs move on, the events are written (one
statement each). A step performed twice (a crash before the commit, a lease that ran out)
finds its message key taken and queues nothing, so no step is ever delivered twice. If the
batch fails, a batch is claimed with a lease and its runs performed one by one, so one bad
step holds up no other; a step that fails is tried again after 1 s, 2 s …, three attempts in
all; then the run is marked failed and an event says why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from core.journey_templates import JourneyTemplate, StepTemplate
from core.journeys import JourneyRun, QueuedMessage, RunState, run_keys
from core.model import EventType, NewEvent, Relation, Status
from core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from core.services.event_log import log_event
from core.services.journey_steps import CreatorSteps, Outcome, action
from core.services.tokens import token_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EngineSettings:
    time_scale: float = 1.0  # 86400: a day of the journey passes in a second
    batch: int = 200  # runs claimed per transaction
    lease: float = 60.0  # seconds a claimed run is this process's to perform
    attempts: int = 3
    backoff: float = 1.0  # seconds before the second attempt; doubled after each failure


class JourneyEngine:
    """Performs due journey steps; ``tick`` is called by a timer."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        template: JourneyTemplate,
        settings: EngineSettings = EngineSettings(),
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._template = template
        self._settings = settings

    def wait(self, seconds: float) -> timedelta:
        """A template's wait on this engine's clock (compressed by ``time_scale``)."""
        return timedelta(seconds=seconds / self._settings.time_scale)

    async def tick(self) -> int:
        """Perform the steps due now (one batch); how many runs were handled."""
        now = self._clock.now()
        lease_until = now + timedelta(seconds=self._settings.lease)
        try:
            # Claimed and performed in one transaction: the rows are this transaction's until
            # it ends (locked on PostgreSQL; SQLite's writers take turns), so what the claim
            # read is current; a crash rolls the claim back with the rest.
            async with self._uow() as uow:
                runs = await uow.journeys.claim_due(now, self._settings.batch, lease_until)
                await self._perform(uow, runs, now)
                await uow.commit()
            return len(runs)
        except Exception:
            # One bad step must not hold up the others: each run on its own, then.
            log.warning("a batch of journey steps failed; one by one now", exc_info=True)
        async with self._uow() as uow:
            runs = await uow.journeys.claim_due(now, self._settings.batch, lease_until)
            await uow.commit()
        for run in runs:
            try:
                await self._perform_leased(run, lease_until)
            except Exception as error:
                log.warning("journey run %d, step %s failed", run.id, run.step_name, exc_info=True)
                await self._failed(run, error)
        return len(runs)

    async def _perform_leased(self, claimed: JourneyRun, lease_until: datetime) -> None:
        """One run claimed in an earlier transaction, if it is still this caller's."""
        async with self._uow() as uow:
            # Read again, held: a fan's answer may have changed the run's data since the
            # claim, and a worker whose lease ran out must not act on a stale copy.
            runs = [
                run
                for run in await uow.journeys.hold([claimed.id])
                if run.step == claimed.step
                and run.state is RunState.ACTIVE
                and run.next_run_at == _millis(lease_until)
            ]
            await self._perform(uow, runs, self._clock.now())
            await uow.commit()

    async def _perform(self, uow: UnitOfWork, runs: Sequence[JourneyRun], now: datetime) -> None:
        """The runs' steps, set by set: every message into the outbox, every run moved on,
        every event written, each with one statement."""
        creators = await uow.entities.get_many(sorted({run.creator_id for run in runs}))
        journeys = {
            creator.id: CreatorSteps(
                creator,
                await token_of(uow, creator.id),
                self._template.for_creator(creator.properties),
                now,
                self.wait,
            )
            for creator in creators.values()
            if creator.status is Status.ACTIVE
        }
        saved: list[JourneyRun] = []
        messages: list[QueuedMessage] = []
        told: list[NewEvent] = []
        for run in runs:
            journey = journeys.get(run.creator_id)
            if journey is None:  # the creator is gone: so is their journey
                saved.append(replace(run, state=RunState.STOPPED, next_run_at=None))
                continue
            step = journey.template.steps[run.step]
            key = f"{run_keys(run.id)}{step.name}"
            if step.kind == "payment_gate":
                outcome = await self._gate(uow, run, journey, step, key)
            else:
                outcome = journey.message(run, step, key)
            # A key taken means this step's message went out before (the run did not move
            # on then): the run moves on now without sending it again.
            messages += [QueuedMessage(run.fan_id, key, m) for key, m in outcome.messages]
            changes = outcome.changes
            saved.append(replace(run, attempts=0, **changes))
            if "step" in changes or changes.get("state") not in (None, RunState.ACTIVE):
                # On the fan: a journey is their story (a creator's /events stays theirs).
                metadata = {
                    "creator": run.creator_id,
                    "step": step.name,
                    "state": str(changes.get("state", "active")),
                }
                told.append(NewEvent(run.fan_id, EventType.JOURNEY_STEP, metadata=metadata))
        await uow.journeys.save(saved, now)
        await uow.outbox.add_many(messages, now)
        await uow.events.add_many(told, now)

    async def _gate(
        self, uow: UnitOfWork, run: JourneyRun, journey: CreatorSteps, step: StepTemplate, key: str
    ) -> Outcome:
        # The gate passes once the fan has bought at least `amount` tokens since it opened.
        token, now = journey.token, journey.now
        if token is None:  # nothing to buy: the gate is skipped, silently
            return Outcome([], journey.next(run))
        values = journey.values(step)
        data = dict(run.data)
        buy = action("buy", values)
        if "gate_opened" not in data:
            # The tokens asked for are fixed now: a later price change moves no goalposts.
            data |= {
                "gate_opened": now.isoformat(),
                "reminders": 0,
                "gate_amount": values["amount"],
            }
            message = {"text": journey.text(step), "buttons": [buy]}
            deadline = now + self.wait(step.deadline)
            next_at = min(now + self.wait(step.remind_every), deadline)
            return Outcome([(key, message)], {"data": data, "next_run_at": next_at})
        opened = datetime.fromisoformat(str(data["gate_opened"]))
        bought = await uow.purchases.completed_since(run.fan_id, token.id, opened)
        if bought >= int(data.get("gate_amount", values["amount"])):
            data["gate_paid"] = now.isoformat()
            return Outcome([], {**journey.next(run), "data": data})
        deadline = opened + self.wait(step.deadline)
        if now >= deadline:
            message = {"text": journey.text(step, "ended_text"), "buttons": []}
            changes = {"state": RunState.ENDED, "next_run_at": None, "data": data}
            return Outcome([(f"{key}:ended", message)], changes)
        reminder = int(data.get("reminders", 0)) + 1
        data["reminders"] = reminder
        message = {"text": journey.text(step, "reminder_text"), "buttons": [buy]}
        next_at = min(now + self.wait(step.remind_every), deadline)
        return Outcome(
            [(f"{key}:reminder:{reminder}", message)], {"data": data, "next_run_at": next_at}
        )

    async def _failed(self, run: JourneyRun, error: Exception) -> None:
        now = self._clock.now()
        attempts = run.attempts + 1
        if attempts < self._settings.attempts:
            retry_at = now + timedelta(seconds=self._settings.backoff * 2 ** (attempts - 1))
            changes: dict[str, Any] = {"attempts": attempts, "next_run_at": retry_at}
        else:
            changes = {"attempts": attempts, "state": RunState.FAILED, "next_run_at": None}
        async with self._uow() as uow:
            if await uow.journeys.update(
                run.id, changes, now, expected_step=run.step, expected_state=RunState.ACTIVE
            ):
                if changes.get("state") is RunState.FAILED:
                    await log_event(
                        uow,
                        self._clock,
                        run.fan_id,
                        EventType.JOURNEY_FAILED,
                        metadata={
                            "creator": run.creator_id,
                            "step": run.step_name,
                            "error": type(error).__name__,
                        },
                    )
                await uow.commit()


def _millis(moment: datetime) -> datetime:
    # What the database keeps of a moment (whole milliseconds), to compare a lease with it.
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


async def wake_gate(uow: UnitOfWork, clock: Clock, fan_id: int, token_id: int) -> None:
    """A purchase of ``token_id`` completed: a journey waiting at its payment gate for this
    fan looks again at the next tick, instead of at its next reminder (up to a day later)."""
    issuers = await uow.connections.sources(token_id, Relation.ISSUED, 1)
    run = await uow.journeys.find(fan_id, issuers[0]) if issuers else None
    if run is None or run.state is not RunState.ACTIVE or "gate_opened" not in run.data:
        return
    await uow.journeys.update(
        run.id,
        {"next_run_at": clock.now()},
        clock.now(),
        expected_step=run.step,
        expected_state=RunState.ACTIVE,
    )
