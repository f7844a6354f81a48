"""What a journey step says and where it leads, for one creator's runs in one batch (pattern 8).

The engine (``journey_engine.py``) performs a batch of due runs at one moment; the runs of one
creator share their texts, buttons and next due times, so :class:`CreatorSteps` works each out
once per batch and step, not once per fan.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.journey_templates import JourneyTemplate, StepTemplate, render
from core.journeys import STEPS, JourneyRun, RunState
from core.model import Entity, Token


@dataclass(frozen=True, slots=True)
class Outcome:
    """A step's messages (dedupe key, message) and the run's changes."""

    messages: list[tuple[str, dict[str, Any]]]
    changes: dict[str, Any]


class CreatorSteps:
    """One creator's journey at the moment ``now``: its texts filled in, its waits added."""

    def __init__(
        self,
        creator: Entity,
        token: Token | None,
        template: JourneyTemplate,
        now: datetime,
        wait: Callable[[float], timedelta],
    ) -> None:
        self.creator = creator
        self.token = token
        self.template = template
        self.now = now
        self.wait = wait
        self._values: dict[str, dict[str, Any]] = {}
        self._texts: dict[tuple[str, str], str] = {}
        self._next: dict[int, dict[str, Any]] = {}

    def values(self, step: StepTemplate) -> dict[str, Any]:
        """The placeholders' values for ``step`` (do not change the dict: it is shared)."""
        found = self._values.get(step.name)
        if found is None:
            found = self._values[step.name] = _values(self.creator, self.token, step)
        return found

    def text(self, step: StepTemplate, which: str = "text") -> str:
        """``step``'s text (or its ``reminder_text``, ``ended_text``) filled in."""
        found = self._texts.get((step.name, which))
        if found is None:
            found = self._texts[step.name, which] = render(getattr(step, which), self.values(step))
        return found

    def next(self, run: JourneyRun) -> dict[str, Any]:
        """The changes that move ``run`` on to its following step (or finish it)."""
        found = self._next.get(run.step)
        if found is None:
            following = run.step + 1
            if following >= len(STEPS):
                found = {"step": following, "state": RunState.DONE, "next_run_at": None}
            else:
                wait = self.wait(self.template.steps[following].wait)
                found = {"step": following, "next_run_at": self.now + wait}
            self._next[run.step] = found
        return dict(found)

    def message(self, run: JourneyRun, step: StepTemplate, key: str) -> Outcome:
        """A step that sends one message and moves on (every kind but the payment gate)."""
        values = self.values(step)
        message: dict[str, Any] = {"text": self.text(step), "buttons": []}
        data = dict(run.data)
        data.pop("awaiting", None)
        if step.kind in ("question", "rating"):
            data["awaiting"] = step.name
        if step.kind == "rating":
            message["buttons"] = [
                [button("journey.button.rate", f"/rate {values['handle']} {n}", stars="⭐" * n)]
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
        message["buttons"] += [row for name in step.buttons if (row := action(name, values))]
        return Outcome([(key, message)], {**self.next(run), "data": data})


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


def button(label_key: str, data: str, **params: Any) -> dict[str, Any]:
    """A button of an outbox message: its label from the catalogue, the command it sends."""
    return {"label_key": label_key, "params": params, "data": data}


def action(name: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    """The row of buttons a template names (``buy``, ``chat``, ``follow``); empty if none."""
    handle = values["handle"]
    if name == "buy" and values["symbol"]:
        amount = max(1, int(values["amount"]))
        return [
            button(
                "journey.button.buy",
                f"/buy {handle} {amount}",
                amount=amount,
                symbol=values["symbol"],
            )
        ]
    if name == "chat":
        return [button("journey.button.chat", f"/chat {handle}", handle=handle)]
    if name == "follow":
        return [button("journey.button.profile", f"/creator {handle}", handle=handle)]
    return []
