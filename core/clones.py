"""AI clones: a creator's settings for their clone, and what a fan's question turns into.

A clone is an ``ai_clone`` entity with its creator's handle, owned by the creator. Its
settings live in its properties; its statistics are counters beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from core.errors import InvalidInput, Reason
from core.validation import clean_text

PERSONA_MAX = 2000
GATE_MAX = 1_000_000
COST_MAX = 10_000
REWARD_MAX = 10_000


@dataclass(frozen=True, slots=True)
class CloneSettings:
    """How a clone behaves: its persona and its token economics (all amounts whole tokens)."""

    persona: str = ""
    gate: int = 1  # tokens of the creator a fan must hold to talk to the clone
    cost: int = 0  # tokens charged per answer
    reward: int = 10  # tokens rewarded per answer (capped per fan and day)
    temperature: float = 0.7

    @classmethod
    def from_properties(cls, properties: Mapping[str, Any]) -> CloneSettings:
        defaults = cls()
        return cls(
            persona=str(properties.get("persona", defaults.persona)),
            gate=int(properties.get("gate", defaults.gate)),
            cost=int(properties.get("cost", defaults.cost)),
            reward=int(properties.get("reward", defaults.reward)),
            temperature=float(properties.get("temperature", defaults.temperature)),
        )

    def to_properties(self) -> dict[str, Any]:
        return asdict(self)

    def with_value(self, field: str, value: str) -> CloneSettings:
        """These settings with ``field`` set from a person's text; InvalidInput if it is bad."""
        value = value.strip()
        if field == "persona":
            persona = clean_text(value, "persona", PERSONA_MAX, multiline=True)
            if not persona:
                raise InvalidInput(Reason.TEXT_REQUIRED)
            return replace(self, persona=persona)
        if field == "temperature":
            return replace(self, temperature=parse_temperature(value))
        if field == "gate":
            return replace(self, gate=parse_count(value, GATE_MAX))
        if field == "cost":
            return replace(self, cost=parse_count(value, COST_MAX))
        if field == "reward":
            return replace(self, reward=parse_count(value, REWARD_MAX))
        raise ValueError(f"unknown clone setting {field!r}")


def parse_count(value: str, most: int) -> int:
    """A whole number from 0 to ``most`` typed by a person."""
    text = value.strip().replace(",", "").replace("_", "")
    if not (text.isascii() and text.isdigit() and len(text) <= 12 and int(text) <= most):
        raise InvalidInput(Reason.NUMBER_INVALID, value=value.strip()[:20], least=0, most=most)
    return int(text)


def parse_temperature(value: str) -> float:
    """0 to 2, at most two decimals (the range OpenAI-compatible models accept)."""
    refused = InvalidInput(Reason.TEMPERATURE_INVALID, value=value.strip()[:20])
    try:
        number = Decimal(value.strip().replace(",", "."))
    except InvalidOperation:
        raise refused from None
    exponent = number.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -2 or not 0 <= number <= 2:
        raise refused
    return float(number)


@dataclass(frozen=True, slots=True)
class CloneStats:
    """A clone's counters: answers given, tokens charged for them and rewarded by them."""

    turns: int = 0
    charged: int = 0
    rewarded: int = 0


@dataclass(frozen=True, slots=True)
class CloneView:
    """A clone as its creator sees it in ``/clone``."""

    handle: str
    name: str
    settings: CloneSettings
    symbol: str | None  # the creator's token, if any
    stats: CloneStats
    documents: int
    model: str | None  # None: the offline responder answers


@dataclass(frozen=True, slots=True)
class AnswerDelta:
    """A piece of an answer as it streams in."""

    text: str


@dataclass(frozen=True, slots=True)
class Answered:
    """The end of an answer: the whole text and what the turn moved."""

    text: str
    handle: str
    offline: bool  # answered from the knowledge alone (no model, or the model failed)
    model_failed: bool
    sources: tuple[str, ...]  # titles of the knowledge quoted or given to the model
    quotes: tuple[tuple[str, str], ...]  # offline: (passage, title) pairs the answer quotes
    symbol: str | None
    charged: int
    rewarded: int
    reward_capped: bool  # the daily cap cut the reward
