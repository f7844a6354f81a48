"""Crashes at the saga's step boundaries: wrappers of the chain, rail, notifier and unit of work.

Every wrapper calls :meth:`Faults.reach` with the name of the boundary it is at (``mint``,
``burn``, ``void``, ``refund`` and ``notify``, each ``:before`` and ``:after``), e.g.
``mint:after`` (the mint transaction is mined, nothing is recorded yet) or
``commit:completed:before`` (the transaction that credits the ledger and stores COMPLETED is
about to commit). The chosen boundary, at its ``nth`` passage, crashes the "process":

- ``kill=True``: ``os._exit(137)``, like ``kill -9`` (no ``finally``, no rollback, no flush);
- otherwise it raises :class:`SimulatedCrash`, a ``BaseException`` that the saga's
  ``except Exception`` handlers do not catch; from then on every boundary of this app raises
  too (a dead process takes no further step), so concurrent work stops at its next boundary.

Or ``park`` maps purchases to boundaries: each purchase stops at its own boundary (waits
there), and once every one of them has arrived the process is killed — a ``kill -9`` while
many fans are mid-purchase, each at a different step. (Parking inside a unit of work would hold
SQLite's lock, so only boundaries outside one can be parked at: chain, rail and notifier.)

Commits are named by what their unit of work changed in ``purchases``: the state it moved a
purchase to (``commit:paid``, ``commit:completed``, ``commit:refunding``, ``commit:refunded``,
``commit:clawing_back``, ``commit:clawed_back``), else ``notified``, ``reversal`` or
``attempt``. Units that change no purchase have no boundary.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from core.errors import ChainRejected
from core.ports import (
    Notifier,
    PaymentGateway,
    PurchaseRepository,
    TokenChain,
    UnitOfWork,
    UnitOfWorkFactory,
)
from core.purchases import PaymentReceived, PaymentRequest, PaymentReversed, Purchase
from tests.fakes.payments import FakePaymentGateway

KILLED = 137  # the exit status of a process killed by SIGKILL, as a shell reports it


class SimulatedCrash(BaseException):
    """The process died at this boundary (not an ``Exception``: nothing handles it)."""


@dataclass
class Faults:
    """Where to crash: the ``nth`` passage of ``point`` (None: never)."""

    point: str | None = None
    nth: int = 1
    kill: bool = False
    armed: bool = True
    # Purchase id → the boundary it stops at; the crash comes when all have stopped.
    park: dict[int, str] = field(default_factory=dict)
    # Boundaries that wait for an event before going on (to force an interleaving).
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    arrivals: dict[str, asyncio.Event] = field(default_factory=dict)
    passed: list[str] = field(default_factory=list)
    parked: set[int] = field(default_factory=set)
    crashed_at: str | None = None

    async def reach(self, boundary: str, purchase: int | None = None) -> None:
        if self.crashed_at is not None:
            raise SimulatedCrash(f"{boundary}: the process died at {self.crashed_at}")
        gate = self.gates.get(boundary)
        if gate is not None:
            self.arrived(boundary).set()
            await gate.wait()
        if not self.armed:
            return
        self.passed.append(boundary)
        if purchase is not None and self.park.get(purchase) == boundary:
            self.parked.add(purchase)
            if self.parked == set(self.park):
                self._crash(f"{len(self.parked)} purchases parked")
            await asyncio.Event().wait()  # until the process dies
        if boundary == self.point and self.passed.count(boundary) >= self.nth:
            self._crash(boundary)

    def arrived(self, boundary: str) -> asyncio.Event:
        """Set once someone waits at the gate of ``boundary``."""
        return self.arrivals.setdefault(boundary, asyncio.Event())

    def _crash(self, where: str) -> None:
        self.crashed_at = where
        if self.kill:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(KILLED)
        raise SimulatedCrash(where)


def purchase_of(reference: str) -> int | None:
    """The purchase id in ``purchase:17``, ``clawback:17``, ``pi_17`` or ``pi_17_again``."""
    _, _, rest = reference.replace("pi_", "pi:", 1).partition(":")
    number = rest.split("_")[0]
    return int(number) if number.isdigit() else None


class CrashingChain:
    """A ``TokenChain`` with boundaries around mints, burns, voids and ``applied`` checks.

    ``reject``: references whose mint the chain refuses for good (a revert, before anything is
    sent), which sends the purchase to a refund.
    """

    def __init__(
        self,
        inner: TokenChain,
        faults: Faults,
        *,
        reject: Callable[[str], bool] = lambda reference: False,
    ) -> None:
        self.inner = inner
        self._faults = faults
        self._reject = reject

    async def deploy_token(self, name: str, symbol: str) -> str:
        return await self.inner.deploy_token(name, symbol)

    async def mint(self, token: str, to: str, amount: int, reference: str) -> str | None:
        purchase = purchase_of(reference)
        await self._faults.reach("mint:before", purchase)
        if self._reject(reference):
            raise ChainRejected(f"mint {amount} to {to} ({reference}): reverted (scripted)")
        tx = await self.inner.mint(token, to, amount, reference)
        await self._faults.reach("mint:after", purchase)
        return tx

    async def burn(self, token: str, holder: str, amount: int, reference: str) -> str | None:
        purchase = purchase_of(reference)
        await self._faults.reach("burn:before", purchase)
        tx = await self.inner.burn(token, holder, amount, reference)
        await self._faults.reach("burn:after", purchase)
        return tx

    async def void(self, token: str, reference: str) -> bool:
        purchase = purchase_of(reference)
        await self._faults.reach("void:before", purchase)
        voided = await self.inner.void(token, reference)
        await self._faults.reach("void:after", purchase)
        return voided

    async def balance_of(self, token: str, holder: str) -> int:
        return await self.inner.balance_of(token, holder)

    async def applied(self, token: str, reference: str) -> bool:
        await self._faults.reach("applied:before", purchase_of(reference))
        return await self.inner.applied(token, reference)

    def __getattr__(self, name: str) -> Any:
        # Whatever else the port offers passes through untouched.
        return getattr(self.inner, name)


class CrashingGateway:
    """A ``PaymentGateway`` with boundaries around refunds."""

    def __init__(self, inner: PaymentGateway, faults: Faults) -> None:
        self.inner = inner
        self._faults = faults

    @property
    def rail(self) -> str:
        return self.inner.rail

    def available_on(self, platform: str) -> bool:
        return self.inner.available_on(platform)

    def quote(self, price_cents: int) -> Any:
        return self.inner.quote(price_cents)

    def __getattr__(self, name: str) -> Any:
        # Whatever else the port offers passes through untouched.
        return getattr(self.inner, name)

    async def request_payment(self, purchase: Purchase, title: str) -> PaymentRequest:
        return await self.inner.request_payment(purchase, title)

    async def recent_events(self, since: datetime) -> list[PaymentReceived | PaymentReversed]:
        return await self.inner.recent_events(since)

    async def refund(self, payment_ref: str, payer: str | None) -> str:
        purchase = purchase_of(payment_ref)
        await self._faults.reach("refund:before", purchase)
        refund = await self.inner.refund(payment_ref, payer)
        await self._faults.reach("refund:after", purchase)
        return refund


class CrashingNotifier:
    """A ``Notifier`` with boundaries around each message."""

    def __init__(self, inner: Notifier, faults: Faults) -> None:
        self.inner = inner
        self._faults = faults

    async def notify(self, person_id: int, key: str, params: Mapping[str, object]) -> bool:
        purchase = params.get("purchase_id")
        purchase = purchase if isinstance(purchase, int) else None
        await self._faults.reach("notify:before", purchase)
        sent = await self.inner.notify(person_id, key, params)
        await self._faults.reach("notify:after", purchase)
        return sent


class _RecordingPurchases:
    """The purchases repository of one unit of work, remembering what the unit changed."""

    def __init__(self, inner: PurchaseRepository, unit: CrashingUnitOfWork) -> None:
        self._inner = inner
        self._unit = unit

    async def add(
        self, fan_id: int, token_id: int, amount: int, price_cents: int, now: datetime
    ) -> Purchase:
        return await self._inner.add(fan_id, token_id, amount, price_cents, now)

    async def get(self, purchase_id: int, *, for_update: bool = False) -> Purchase | None:
        return await self._inner.get(purchase_id, for_update=for_update)

    async def by_payment(self, rail: str, payment_ref: str) -> Purchase | None:
        return await self._inner.by_payment(rail, payment_ref)

    async def update(
        self, purchase_id: int, changes: Mapping[str, Any], now: datetime, **kw: Any
    ) -> bool:
        changed = await self._inner.update(purchase_id, changes, now, **kw)
        if changed:
            self._unit.changed(changes)
        return changed

    async def unfinished(self, limit: int) -> list[int]:
        return await self._inner.unfinished(limit)


class CrashingUnitOfWork:
    """A ``UnitOfWork`` whose commit has a boundary before and after, named by its changes."""

    def __init__(self, inner: UnitOfWork, faults: Faults) -> None:
        self._inner = inner
        self._faults = faults
        self._label: str | None = None

    def changed(self, changes: Mapping[str, Any]) -> None:
        for field_name, label in _LABELS:
            if field_name in changes:
                value = changes[field_name]
                name = str(getattr(value, "value", value)) if field_name == "state" else label
                if self._label is None or _rank(name) < _rank(self._label):
                    self._label = name
                return

    @property
    def identities(self) -> Any:
        return self._inner.identities

    @property
    def entities(self) -> Any:
        return self._inner.entities

    @property
    def connections(self) -> Any:
        return self._inner.connections

    @property
    def counters(self) -> Any:
        return self._inner.counters

    @property
    def events(self) -> Any:
        return self._inner.events

    @property
    def ledger(self) -> Any:
        return self._inner.ledger

    @property
    def purchases(self) -> Any:
        return _RecordingPurchases(self._inner.purchases, self)

    @property
    def webhooks(self) -> Any:
        return self._inner.webhooks

    @property
    def journeys(self) -> Any:
        return self._inner.journeys

    @property
    def outbox(self) -> Any:
        return self._inner.outbox

    @property
    def link_codes(self) -> Any:
        return self._inner.link_codes

    @property
    def role_gates(self) -> Any:
        return self._inner.role_gates

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        self._label = None
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        label = self._label
        if label is not None:
            await self._faults.reach(f"commit:{label}:before")
        await self._inner.commit()
        if label is not None:
            await self._faults.reach(f"commit:{label}:after")
        self._label = None


# What names a commit, most telling first: a state change wins over the rest.
_LABELS = (
    ("state", ""),
    ("notified", "notified"),
    ("reversal", "reversal"),
    ("attempts", "attempt"),
)


def _rank(label: str) -> int:
    return {"notified": 1, "reversal": 2, "attempt": 3}.get(label, 0)


def crashing_uow(factory: UnitOfWorkFactory, faults: Faults) -> UnitOfWorkFactory:
    return lambda: CrashingUnitOfWork(factory(), faults)


@dataclass
class FileGateway(FakePaymentGateway):
    """A fake rail whose refunds outlive the process: the provider's side of a kill test.

    Refunds are kept in a JSON file (``payment_ref`` → refund id, and every call), so a
    restarted bot sees the refunds the dead one made, as it would at Stripe.
    """

    path: Path | None = None

    def _load(self) -> dict[str, Any]:
        assert self.path is not None
        if not self.path.exists():
            return {"refunds": {}, "calls": []}
        loaded: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        return loaded

    async def refund(self, payment_ref: str, payer: str | None) -> str:
        state = self._load()
        state["calls"].append(payment_ref)
        refunds: dict[str, str] = state["refunds"]
        refund = refunds.setdefault(payment_ref, f"re_{len(refunds) + 1}")
        assert self.path is not None
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state), encoding="utf-8")
        temporary.replace(self.path)  # whole or not at all, even when killed right after
        self.refunds[payment_ref] = refund
        self.refund_calls += 1
        return refund

    def recorded(self) -> dict[str, str]:
        """Every refund the provider has made, by payment."""
        refunds: dict[str, str] = self._load()["refunds"]
        return refunds
