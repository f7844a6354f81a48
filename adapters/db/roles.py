"""``role_gates`` and ``role_grants`` (core/roles.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select

from adapters.db.engine import Session
from adapters.db.schema import holdings, identities, ledger, role_gates, role_grants
from adapters.db.sql import insert_for, to_millis
from core.roles import RoleGate

_g = role_gates.c
_r = role_grants.c
_ELIGIBLE = (
    select(identities.c.platform_user_id, identities.c.user_id)
    .select_from(holdings.join(identities, identities.c.user_id == holdings.c.holder_id))
    .where(
        holdings.c.token_id == bindparam("token"),
        holdings.c.balance >= bindparam("least"),
        identities.c.platform == bindparam("platform"),
    )
)
_GRANTED = select(_r.member_id).where(
    _r.space_id == bindparam("space"), _r.role_id == bindparam("role")
)
# One row per token moved (however many entries): the first look reads the whole ledger.
_CHANGES = (
    select(ledger.c.token_id, func.max(ledger.c.id).label("last"))
    .where(ledger.c.id > bindparam("after"))
    .group_by(ledger.c.token_id)
)


def _gate(row: Any) -> RoleGate:
    return RoleGate(row.space_id, row.role_id, row.creator_id, row.token_id, row.min_tokens)


class SqlRoleGateRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def put(self, gate: RoleGate, now: datetime) -> None:
        row = {
            "space_id": gate.space_id,
            "role_id": gate.role_id,
            "creator_id": gate.creator_id,
            "token_id": gate.token_id,
            "min_tokens": gate.min_tokens,
            "created_at": to_millis(now),
        }

        def work(conn: Connection) -> None:
            stmt = insert_for(conn, role_gates).values(row)
            changes = {k: row[k] for k in ("creator_id", "token_id", "min_tokens")}
            conn.execute(
                stmt.on_conflict_do_update(index_elements=[_g.space_id, _g.role_id], set_=changes)
            )

        await self._s.run(work)

    async def of_creator(self, creator_id: int) -> list[RoleGate]:
        stmt = select(role_gates).where(_g.creator_id == creator_id).order_by(_g.created_at)
        return [_gate(row) for row in await self._s.run(lambda c: c.execute(stmt).all())]

    async def gates(self, token_ids: Sequence[int] | None = None) -> list[RoleGate]:
        stmt = select(role_gates).order_by(_g.space_id, _g.role_id)
        if token_ids is not None:
            if not token_ids:
                return []
            stmt = stmt.where(_g.token_id.in_(list(token_ids)))
        return [_gate(row) for row in await self._s.run(lambda c: c.execute(stmt).all())]

    async def eligible(self, gate: RoleGate, platform: str) -> dict[str, int]:
        params = {"token": gate.token_id, "least": gate.min_tokens, "platform": platform}
        rows = await self._s.run(lambda c: c.execute(_ELIGIBLE, params).all())
        return {str(member): int(person) for member, person in rows}

    async def granted(self, gate: RoleGate) -> set[str]:
        params = {"space": gate.space_id, "role": gate.role_id}
        return set(await self._s.run(lambda c: c.execute(_GRANTED, params).scalars().all()))

    async def record(self, gate: RoleGate, member_id: str, granted: bool, now: datetime) -> None:
        key = {"space_id": gate.space_id, "role_id": gate.role_id, "member_id": member_id}

        def work(conn: Connection) -> None:
            if granted:
                stmt = insert_for(conn, role_grants).values(**key, granted_at=to_millis(now))
                conn.execute(stmt.on_conflict_do_nothing())
            else:
                conn.execute(
                    delete(role_grants).where(*(role_grants.c[k] == v for k, v in key.items()))
                )

        await self._s.run(work)

    async def ledger_changes(self, after_id: int) -> tuple[int, set[int]]:
        rows = await self._s.run(lambda c: c.execute(_CHANGES, {"after": after_id}).all())
        last = max((row.last for row in rows), default=after_id)
        return int(last), {int(row.token_id) for row in rows}
