"""Journey templates: what each of the nine steps says, when, with which buttons.

The defaults come from ``config.yaml`` (``journeys.steps``); a creator may override a step's
text and wait (kept in their profile's properties under ``journey``). Texts are the creator's
words with placeholders: ``{name}``, ``{handle}``, ``{symbol}``, ``{amount}`` (tokens the gate
asks for), ``{price}`` (its dollars), ``{link}`` (the fan's referral link).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from core.errors import InvalidInput, Reason
from core.journeys import STEPS
from core.validation import clean_text

KINDS = ("question", "report", "payment_gate", "message", "rating", "referral")
BUTTONS = ("buy", "chat", "rate", "follow")
TEXT_MAX = 1500
WAIT_MAX_HOURS = 24 * 90


@dataclass(frozen=True, slots=True)
class StepTemplate:
    """One step: its kind, the wait before it (seconds, real time), its text and buttons."""

    name: str
    kind: str
    wait: float
    text: str
    buttons: tuple[str, ...] = ()
    # payment_gate: what it asks for, how often it reminds, when it gives up.
    amount_usd: int = 100
    remind_every: float = 86_400.0
    deadline: float = 7 * 86_400.0
    reminder_text: str = ""
    ended_text: str = ""
    # report: the document's text ({goals}, {analysis}: what the fan told the hook).
    report_text: str = ""
    # referral: tokens for the referrer per new fan who joins through the link.
    reward: int = 0


@dataclass(frozen=True, slots=True)
class JourneyTemplate:
    """The nine steps in order."""

    steps: tuple[StepTemplate, ...]

    def __post_init__(self) -> None:
        if tuple(step.name for step in self.steps) != STEPS:
            raise ValueError(f"a journey has the steps {', '.join(STEPS)}, in that order")
        for step in self.steps:
            if step.kind not in KINDS:
                raise ValueError(f"step {step.name}: unknown kind {step.kind!r}")
            unknown = set(step.buttons) - set(BUTTONS)
            if unknown:
                raise ValueError(f"step {step.name}: unknown buttons {sorted(unknown)}")

    def for_creator(self, properties: Mapping[str, Any]) -> JourneyTemplate:
        """These steps with the creator's overrides (``properties["journey"]``) applied."""
        overrides = properties.get("journey", {}).get("steps", {})
        steps = []
        for step in self.steps:
            mine = overrides.get(step.name, {})
            steps.append(
                replace(
                    step,
                    text=str(mine.get("text", step.text)),
                    wait=float(mine.get("wait", step.wait)),
                )
            )
        return JourneyTemplate(tuple(steps))

    def step(self, name: str) -> StepTemplate:
        """The step called ``name``."""
        return self.steps[STEPS.index(name)]


def journey_enabled(properties: Mapping[str, Any]) -> bool:
    """Whether a creator's journey starts for new followers (on unless they turned it off)."""
    return bool(properties.get("journey", {}).get("enabled", True))


def with_override(
    properties: Mapping[str, Any], step: str, field: str, value: str
) -> dict[str, Any]:
    """The creator's properties with one step's ``text`` or ``wait`` (hours) overridden."""
    if step not in STEPS:
        raise InvalidInput(Reason.STEP_INVALID, value=step[:20], steps=", ".join(STEPS))
    if field == "text":
        setting: object = clean_text(value, "text", TEXT_MAX, multiline=True)
        if not setting:
            raise InvalidInput(Reason.TEXT_REQUIRED)
    elif field == "wait":
        setting = parse_hours(value) * 3600.0
    else:
        raise ValueError(field)
    journey = dict(properties.get("journey", {}))
    steps = {name: dict(values) for name, values in journey.get("steps", {}).items()}
    steps.setdefault(step, {})[field] = setting
    journey["steps"] = steps
    return {**properties, "journey": journey}


def with_enabled(properties: Mapping[str, Any], enabled: bool) -> dict[str, Any]:
    """The creator's properties with their journey turned on or off for new followers."""
    journey = dict(properties.get("journey", {}))
    journey["enabled"] = enabled
    return {**properties, "journey": journey}


def parse_hours(value: str) -> float:
    """Hours typed by a person: 0 to 90 days' worth, e.g. 24 or 0.5."""
    text = value.strip().removesuffix("h").strip()
    try:
        hours = float(text)
    except ValueError:
        raise InvalidInput(Reason.HOURS_INVALID, value=value.strip()[:20]) from None
    if not math.isfinite(hours) or not 0 <= hours <= WAIT_MAX_HOURS:
        raise InvalidInput(Reason.HOURS_INVALID, value=value.strip()[:20])
    return hours


_PLACEHOLDER = re.compile(r"\{(name|handle|symbol|amount|price|link|goals|analysis)\}")


def render(text: str, values: Mapping[str, Any]) -> str:
    """A step's text with its placeholders filled in.

    Only the bare names are replaced (``{name}``), never format specs or attributes
    (``{name:>999999}``, ``{name.__class__}``): the text is a creator's, the work is ours.
    A placeholder without a value (``{link}`` until the platform renders it) stays as written.
    """
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)
