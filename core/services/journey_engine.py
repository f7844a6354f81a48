"""The journey engine: each tick takes the due runs and performs their step (pattern 8).

APScheduler only ticks (jobs/journeys.py); the schedule lives in ``journey_runs``. A tick claims
a batch of due runs with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several bot
processes share the work), then performs each run's step in its own transaction: the message
goes into the outbox under a key naming the run and step, and the run moves on, together. A
step performed twice (a lease that ran out, a crash before the commit) finds its message key
taken and changes nothing, so no step is ever delivered twice. A step that fails is tried again
after 1 s, 2 s …, three attempts in all; then the run is marked failed and an event says why.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.journey_templates import JourneyTemplate, StepTemplate, render
from core.journeys import STEPS, JourneyRun, RunState
from core.model import Entity, EventType, Relation, Status, Token
from core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from core.services.event_log import log_event
from core.services.tokens import token_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EngineSettings:
    time_scale: float = 1.0  # 86400: a day of the journey passes in a second
    batch: int = 200  # runs claimed per transaction
    lease: float = 60.0  # seconds a claimed run is this process's to perform
    attempts: int = 3
    backoff: float = 1.0  # seconds before the second attempt; doubled after each failure


class _AlreadyDone(Exception):
    """Another worker performed this step first (its message key is taken)."""


@dataclass(frozen=True, slots=True)
class _Outcome:
    messages: list[tuple[str, dict[str, Any]]]  # (dedupe key, message)
    changes: dict[str, Any]


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
        async with self._uow() as uow:
            runs = await uow.journeys.claim_due(now, self._settings.batch, lease_until)
            await uow.commit()
        for run in runs:
            await self._perform(run, lease_until)
        return len(runs)

    async def _perform(self, run: JourneyRun, lease_until: datetime) -> None:
        try:
            async with self._uow() as uow:
                if await self._step(uow, run, lease_until):
                    await uow.commit()
        except _AlreadyDone:
            return
        except Exception as error:
            log.warning("journey run %d, step %s failed", run.id, run.step_name, exc_info=True)
            await self._failed(run, error)

    async def _step(self, uow: UnitOfWork, claimed: JourneyRun, lease_until: datetime) -> bool:
        now = self._clock.now()
        # Read again inside this transaction: a fan's answer may have changed the run's data
        # since the claim, and a worker whose lease ran out must not act on a stale copy.
        run = await uow.journeys.get(claimed.id)
        if (
            run is None
            or run.step != claimed.step
            or run.state is not RunState.ACTIVE
            or run.next_run_at != _millis(lease_until)
        ):
            raise _AlreadyDone()
        creator = await uow.entities.get(run.creator_id)
        if creator is None or creator.status is not Status.ACTIVE:
            return await uow.journeys.update(
                run.id,
                {"state": RunState.STOPPED, "next_run_at": None},
                now,
                expected_step=run.step,
            )
        template = self._template.for_creator(creator.properties)
        step = template.steps[run.step]
        token = await token_of(uow, creator.id)
        outcome = await self._outcome(uow, run, template, step, creator, token, now)
        for key, message in outcome.messages:
            # Its key taken: this step's message went out before (the run did not move on
            # then), so the run moves on now without sending it again.
            await uow.outbox.add(run.fan_id, key, message, now)
        changes = {"attempts": 0, **outcome.changes}
        if not await uow.journeys.update(
            run.id, changes, now, expected_step=run.step, expected_state=RunState.ACTIVE
        ):
            raise _AlreadyDone()
        if "step" in changes or changes.get("state") not in (None, RunState.ACTIVE):
            # On the fan: a journey is their story (a creator's /events stays about them).
            await log_event(
                uow,
                self._clock,
                run.fan_id,
                EventType.JOURNEY_STEP,
                metadata={
                    "creator": creator.id,
                    "step": step.name,
                    "state": str(changes.get("state", "active")),
                },
            )
        return True

    async def _outcome(
        self,
        uow: UnitOfWork,
        run: JourneyRun,
        template: JourneyTemplate,
        step: StepTemplate,
        creator: Entity,
        token: Token | None,
        now: datetime,
    ) -> _Outcome:
        values = _values(creator, token, step)
        key = f"journey:{run.id}:{step.name}"
        if step.kind == "payment_gate":
            if token is None:  # nothing to buy: the gate is skipped, silently
                return _Outcome([], self._next(run, template, now))
            return await self._gate(uow, run, template, step, values, token, key, now)
        message: dict[str, Any] = {"text": render(step.text, values), "buttons": []}
        data = dict(run.data)
        data.pop("awaiting", None)
        if step.kind in ("question", "rating"):
            data["awaiting"] = step.name
        if step.kind == "rating":
            message["buttons"] = [
                [_button("journey.button.rate", f"/rate {values['handle']} {n}", stars="⭐" * n)]
                for n in range(1, 6)
            ]
        elif step.kind == "report":
            report = {
                **values,
                "goals": data.get("goals", "—"),
                "analysis": data.get("analysis", "—"),
            }
            message["document"] = {
                "file_name": f"insights-{values['handle']}.md",
                "content": render(step.report_text, report),
            }
        elif step.kind == "referral":
            # Unguessable, and only for fans who reached this step.
            code = data.setdefault("ref", secrets.token_hex(4))
            message["start"] = f"ref-{run.id}-{code}"
        message["buttons"] += [row for name in step.buttons if (row := _action(name, values))]
        return _Outcome([(key, message)], {**self._next(run, template, now), "data": data})

    async def _gate(
        self,
        uow: UnitOfWork,
        run: JourneyRun,
        template: JourneyTemplate,
        step: StepTemplate,
        values: dict[str, Any],
        token: Token,
        key: str,
        now: datetime,
    ) -> _Outcome:
        # The gate passes once the fan has bought at least `amount` tokens since it opened.
        data = dict(run.data)
        buy = _action("buy", values)
        if "gate_opened" not in data:
            # The tokens asked for are fixed now: a later price change moves no goalposts.
            data |= {
                "gate_opened": now.isoformat(),
                "reminders": 0,
                "gate_amount": values["amount"],
            }
            message = {"text": render(step.text, values), "buttons": [buy]}
            deadline = now + self.wait(step.deadline)
            next_at = min(now + self.wait(step.remind_every), deadline)
            return _Outcome([(key, message)], {"data": data, "next_run_at": next_at})
        opened = datetime.fromisoformat(str(data["gate_opened"]))
        bought = await uow.purchases.completed_since(run.fan_id, token.id, opened)
        if bought >= int(data.get("gate_amount", values["amount"])):
            data["gate_paid"] = now.isoformat()
            return _Outcome([], {**self._next(run, template, now), "data": data})
        deadline = opened + self.wait(step.deadline)
        if now >= deadline:
            message = {"text": render(step.ended_text, values), "buttons": []}
            changes = {"state": RunState.ENDED, "next_run_at": None, "data": data}
            return _Outcome([(f"{key}:ended", message)], changes)
        reminder = int(data.get("reminders", 0)) + 1
        data["reminders"] = reminder
        message = {"text": render(step.reminder_text, values), "buttons": [buy]}
        next_at = min(now + self.wait(step.remind_every), deadline)
        return _Outcome(
            [(f"{key}:reminder:{reminder}", message)], {"data": data, "next_run_at": next_at}
        )

    def _next(self, run: JourneyRun, template: JourneyTemplate, now: datetime) -> dict[str, Any]:
        following = run.step + 1
        if following >= len(STEPS):
            return {"step": following, "state": RunState.DONE, "next_run_at": None}
        return {"step": following, "next_run_at": now + self.wait(template.steps[following].wait)}

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


def _values(creator: Entity, token: Token | None, step: StepTemplate) -> dict[str, Any]:
    price = token.price_cents if token else 0
    amount = -(-step.amount_usd * 100 // price) if price else 0  # tokens worth the gate's dollars
    return {
        "name": creator.name,
        "handle": creator.handle or "",
        "symbol": token.symbol if token else "",
        "amount": amount,
        "price": f"${step.amount_usd:,}",
    }


def _button(label_key: str, data: str, **params: Any) -> dict[str, Any]:
    return {"label_key": label_key, "params": params, "data": data}


def _action(name: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    handle = values["handle"]
    if name == "buy" and values["symbol"]:
        amount = max(1, int(values["amount"]))
        return [
            _button(
                "journey.button.buy",
                f"/buy {handle} {amount}",
                amount=amount,
                symbol=values["symbol"],
            )
        ]
    if name == "chat":
        return [_button("journey.button.chat", f"/chat {handle}", handle=handle)]
    if name == "follow":
        return [_button("journey.button.profile", f"/creator {handle}", handle=handle)]
    return []


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
