"""A fake of ``link_codes`` (adapters/db/links.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from core.linking import LinkCode
from tests.fakes.store import FakeStore, to_millis


class FakeLinkCodeRepository:
    def __init__(self, db: FakeStore) -> None:
        self._db = db

    async def add(self, code: LinkCode, now: datetime) -> bool:
        self._db.require(code.user_id)
        if code.code in self._db.link_codes:
            return False
        for key, earlier in list(self._db.link_codes.items()):
            if earlier.user_id == code.user_id and earlier.used_at is None:
                self._db.link_codes[key] = replace(earlier, used_at=to_millis(now))
        self._db.link_codes[code.code] = replace(code, expires_at=to_millis(code.expires_at))
        return True

    async def use(self, code: str, now: datetime) -> LinkCode | None:
        found = self._db.link_codes.get(code)
        if found is None:
            return None
        if found.used_at is None and found.expires_at > to_millis(now):
            self._db.link_codes[code] = replace(found, used_at=to_millis(now))
        return found
