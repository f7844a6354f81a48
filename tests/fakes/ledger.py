"""The fake ledger, and fakes of the chain and wallets ports."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from core.errors import ChainError, ChainRejected
from core.settlements import Settlement
from tests.fakes.store import FakeStore, LedgerRow, SettlementRow, json_round_trip, to_millis


class FakeLedgerRepository:
    def __init__(self, db: FakeStore) -> None:
        self._db = db

    async def append(
        self,
        token_id: int,
        holder_id: int,
        amount: int,
        kind: str,
        reference: str,
        metadata: Mapping[str, Any],
        now: datetime,
        *,
        settle_later: bool = False,
    ) -> bool:
        self._db.require(token_id, holder_id)
        if reference in self._db.ledger:
            return False
        row = LedgerRow(
            token_id,
            holder_id,
            amount,
            kind,
            json_round_trip(metadata),
            to_millis(now),
            settle_later=settle_later,
        )
        self._db.ledger[reference] = row
        return True

    async def lock_balance(self, holder_id: int, token_id: int) -> None:
        return None  # the fakes' units of work run one at a time

    async def adjust(self, holder_id: int, token_id: int, delta: int) -> int | None:
        balance = self._db.holdings.get((holder_id, token_id), 0) + delta
        if balance < 0:
            return None
        self._db.holdings[holder_id, token_id] = balance
        return balance

    async def recorded(self, reference: str) -> bool:
        return reference in self._db.ledger

    async def holdings(self, holder_id: int) -> dict[int, int]:
        return {t: b for (h, t), b in sorted(self._db.holdings.items()) if h == holder_id and b}

    async def all_holdings(self) -> list[tuple[int, int, int]]:
        return [(h, t, b) for (h, t), b in sorted(self._db.holdings.items()) if b]

    def _unsettled_rows(self) -> list[tuple[str, LedgerRow]]:
        # The ledger dict keeps insertion order: oldest first, as ORDER BY id.
        return [
            (ref, row)
            for ref, row in self._db.ledger.items()
            if row.settle_later and row.settlement_id is None
        ]

    async def batch_unsettled(self, limit: int, now: datetime) -> list[Settlement]:
        groups: dict[tuple[int, int], list[str]] = {}
        for reference, row in self._unsettled_rows()[:limit]:
            groups.setdefault((row.holder_id, row.token_id), []).append(reference)
        made = []
        for (holder_id, token_id), references in groups.items():
            settlement_id = self._db.next_id("settlements")
            amount = sum(self._db.ledger[r].amount for r in references)
            made_row = SettlementRow(holder_id, token_id, amount, len(references), to_millis(now))
            self._db.settlements[settlement_id] = made_row
            for reference in references:
                entry = self._db.ledger[reference]
                self._db.ledger[reference] = replace(entry, settlement_id=settlement_id)
            made.append(_settlement(settlement_id, made_row))
        return made

    async def open_settlements(self, limit: int) -> list[Settlement]:
        found = [
            _settlement(i, row)
            for i, row in sorted(self._db.settlements.items())
            if row.state == "open"
        ]
        found.sort(key=lambda s: (s.attempts, s.id))
        return found[:limit]

    async def settlement_done(self, settlement_id: int, tx: str | None, now: datetime) -> bool:
        row = self._db.settlements[settlement_id]
        if row.state != "open":
            return False
        done = replace(row, state="done", tx_hash=tx, settled_at=to_millis(now))
        self._db.settlements[settlement_id] = done
        return True

    async def settlement_failed(self, settlement_id: int, error: str) -> None:
        row = self._db.settlements[settlement_id]
        if row.state == "open":
            failed = replace(row, attempts=row.attempts + 1, last_error=error[:500])
            self._db.settlements[settlement_id] = failed

    async def unsettled(self) -> dict[tuple[int, int], int]:
        totals: dict[tuple[int, int], int] = {}
        for _, row in self._unsettled_rows():
            key = (row.holder_id, row.token_id)
            totals[key] = totals.get(key, 0) + row.amount
        for settlement in self._db.settlements.values():
            if settlement.state == "open":
                key = (settlement.holder_id, settlement.token_id)
                totals[key] = totals.get(key, 0) + settlement.amount
        return {key: amount for key, amount in sorted(totals.items()) if amount}


def _settlement(settlement_id: int, row: SettlementRow) -> Settlement:
    return Settlement(
        id=settlement_id,
        holder_id=row.holder_id,
        token_id=row.token_id,
        amount=row.amount,
        entries=row.entries,
        created_at=row.created_at,
        attempts=row.attempts,
    )


def _address(*parts: object) -> str:
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()
    return "0x" + digest[:40]


@dataclass
class FakeTokenChain:
    """Implements ``TokenChain`` in memory, idempotent by reference like the contract.

    ``fail_next`` names operations (``deploy``, ``mint``, ``burn``, ``balance``, ``applied``)
    whose next call raises ``ChainError`` (outcome unknown) before doing anything;
    ``reject_next`` ones whose next call raises ``ChainRejected`` (a revert).
    """

    balances: dict[tuple[str, str], int] = field(default_factory=dict)
    deployed: dict[str, tuple[str, str]] = field(default_factory=dict)
    applied_references: set[tuple[str, str]] = field(default_factory=set)
    voided_references: set[tuple[str, str]] = field(default_factory=set)
    fail_next: list[str] = field(default_factory=list)
    reject_next: list[str] = field(default_factory=list)

    def _maybe_fail(self, operation: str) -> None:
        if operation in self.fail_next:
            self.fail_next.remove(operation)
            raise ChainError(f"{operation} failed (scripted)")
        if operation in self.reject_next:
            self.reject_next.remove(operation)
            raise ChainRejected(f"{operation} reverted (scripted)")

    async def deploy_token(self, name: str, symbol: str) -> str:
        self._maybe_fail("deploy")
        address = _address("token", len(self.deployed), symbol)
        self.deployed[address] = (name, symbol)
        return address

    async def mint(self, token: str, to: str, amount: int, reference: str) -> str | None:
        self._maybe_fail("mint")
        if (token, reference) in self.applied_references:
            return None
        if (token, reference) in self.voided_references:
            raise ChainRejected("reference voided")
        self.applied_references.add((token, reference))
        self.balances[token, to] = self.balances.get((token, to), 0) + amount
        return _address("tx", token, to, amount, reference)

    async def burn(self, token: str, holder: str, amount: int, reference: str) -> str | None:
        self._maybe_fail("burn")
        if (token, reference) in self.applied_references:
            return None
        if (token, reference) in self.voided_references:
            raise ChainRejected("reference voided")
        if self.balances.get((token, holder), 0) < amount:
            raise ChainRejected("burn exceeds balance")
        self.applied_references.add((token, reference))
        self.balances[token, holder] -= amount
        return _address("burn", token, holder, amount, reference)

    async def void(self, token: str, reference: str) -> bool:
        self._maybe_fail("void")
        if (token, reference) in self.applied_references:
            return False
        self.voided_references.add((token, reference))
        return True

    async def balance_of(self, token: str, holder: str) -> int:
        self._maybe_fail("balance")
        return self.balances.get((token, holder), 0)

    async def applied(self, token: str, reference: str) -> bool:
        self._maybe_fail("applied")
        return (token, reference) in self.applied_references


class FakeWallets:
    """Implements ``Wallets``: deterministic addresses; signatures are ``signed:ADDRESS:MSG``."""

    def custodial_address(self, user_id: int) -> str:
        return _address("wallet", user_id)

    def signer_of(self, message: str, signature: str) -> str | None:
        prefix, _, rest = signature.partition(":")
        address, _, signed = rest.partition(":")
        return address if prefix == "signed" and signed == message else None
