"""The ``link_codes`` table (core/linking.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from adapters.db.engine import Session
from adapters.db.schema import link_codes
from adapters.db.sql import from_millis, insert_for, to_millis
from core.linking import LinkCode

_l = link_codes.c
_FIND = select(link_codes).where(_l.code == bindparam("typed")).with_for_update()
# Used once: the first of two concurrent uses changes the row, the second finds it used.
_USE = (
    update(link_codes)
    .where(_l.code == bindparam("typed"), _l.used_at.is_(None), _l.expires_at > bindparam("at"))
    .values(used_at=bindparam("at"))
    .returning(_l.code)
)


def _code(row: Any) -> LinkCode:
    return LinkCode(
        code=row.code,
        user_id=row.user_id,
        platform=row.platform,
        expires_at=from_millis(row.expires_at),
        used_at=None if row.used_at is None else from_millis(row.used_at),
    )


class SqlLinkCodeRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def add(self, code: LinkCode, now: datetime) -> bool:
        row = {
            "code": code.code,
            "user_id": code.user_id,
            "platform": code.platform,
            "expires_at": to_millis(code.expires_at),
            "used_at": None,
            "created_at": to_millis(now),
        }

        def work(conn: Connection) -> bool:
            stmt = insert_for(conn, link_codes).values(row).on_conflict_do_nothing()
            if conn.execute(stmt.returning(_l.code)).first() is None:
                return False
            earlier = (
                update(link_codes)
                .where(_l.user_id == code.user_id, _l.code != code.code, _l.used_at.is_(None))
                .values(used_at=to_millis(now))
            )
            conn.execute(earlier)
            return True

        return await self._s.run(work)

    async def use(self, code: str, now: datetime) -> LinkCode | None:
        params = {"typed": code, "at": to_millis(now)}

        def work(conn: Connection) -> LinkCode | None:
            found = conn.execute(_FIND, params).first()
            if found is None:
                return None
            code = _code(found)
            if conn.execute(_USE, params).first() is None and code.used_at is None:
                # Unused when read, not usable when written: expired, or used meanwhile.
                return code if code.expires_at <= now else replace(code, used_at=now)
            return code

        return await self._s.run(work)
