"""Token-gated roles (core/roles.py): creators set gates; ``sync`` gives and takes roles.

``sync`` compares, gate by gate, who holds enough of the token (among the people whose account
on the platform is known: linked, or having used the bot there) with whom the bot gave the role,
and gives or takes the difference, each change recorded with an event on the person. It runs
for the gates of the tokens whose ledger moved since the last run (every few seconds), and for
every gate now and then (``jobs/roles.py``), which also repairs what a failed call left.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.errors import InvalidInput, NoToken, Reason, RolesNotAllowed, RolesOutsideServer
from core.model import EventType, UserRef
from core.ports import Clock, UnitOfWorkFactory
from core.roles import Granted, RoleGate, RoleManager, RolesUnavailable
from core.services.event_log import log_event
from core.services.identities import owned_creator, resolve_user
from core.services.tokens import token_of

log = logging.getLogger(__name__)

MIN_TOKENS_MAX = 10**15


@dataclass(frozen=True, slots=True)
class GateSet:
    gate: RoleGate
    symbol: str
    holders: int  # people who qualify now


@dataclass(frozen=True, slots=True)
class SyncReport:
    granted: int = 0
    revoked: int = 0
    failed: int = 0


class RoleGateService:
    """Gates on a platform's roles (``platform``: where the roles are, Discord)."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, roles: RoleManager, platform: str
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._roles = roles
        self._platform = platform

    async def set_gate(
        self,
        who: UserRef,
        space_id: str | None,
        role_id: str,
        min_tokens: str,
        *,
        may_manage_roles: bool,
    ) -> GateSet:
        """Holders of at least ``min_tokens`` of ``who``'s token get ``role_id`` in
        ``space_id``. RolesOutsideServer without a server, RolesNotAllowed unless ``who`` may
        manage roles there, NotACreator, NoToken, InvalidInput for a bad minimum."""
        if space_id is None:
            raise RolesOutsideServer()
        if not may_manage_roles:
            raise RolesNotAllowed()
        least = _minimum(min_tokens)
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            creator = await owned_creator(uow, user_id)
            token = await token_of(uow, creator.id)
            if token is None:
                raise NoToken(handle=creator.handle or "")
            gate = RoleGate(space_id, role_id, creator.id, token.id, least)
            await uow.role_gates.put(gate, self._clock.now())
            holders = len(await uow.role_gates.eligible(gate, self._platform))
            await log_event(
                uow,
                self._clock,
                creator.id,
                EventType.ROLE_GATE_SET,
                actor_id=user_id,
                metadata={"space": space_id, "role": role_id, "min_tokens": least},
            )
            await uow.commit()
        return GateSet(gate, token.symbol, holders)

    async def gates_of(self, who: UserRef) -> tuple[str, list[RoleGate]]:
        """The symbol of ``who``'s token (empty without one) and their gates."""
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            creator = await owned_creator(uow, user_id)
            token = await token_of(uow, creator.id)
            gates = await uow.role_gates.of_creator(creator.id)
            await uow.commit()
        return (token.symbol if token else ""), gates

    async def sync(self, token_ids: set[int] | None = None) -> SyncReport:
        """Give and take roles for the gates on these tokens (every gate with None).
        RolesUnavailable, having changed nothing, when the platform cannot be reached."""
        async with self._uow() as uow:
            gates = await uow.role_gates.gates(None if token_ids is None else sorted(token_ids))
            await uow.commit()
        report = SyncReport()
        for gate in gates:
            report = _add(report, await self._sync_gate(gate))
        return report

    async def ledger_changes(self, after_id: int) -> tuple[int, set[int]]:
        """The tokens whose ledger moved after entry ``after_id``, and the last entry's id."""
        async with self._uow() as uow:
            found = await uow.role_gates.ledger_changes(after_id)
            await uow.commit()
        return found

    async def _sync_gate(self, gate: RoleGate) -> SyncReport:
        async with self._uow() as uow:
            eligible = await uow.role_gates.eligible(gate, self._platform)
            granted = await uow.role_gates.granted(gate)
            await uow.commit()
        report = SyncReport()
        for member in sorted(set(eligible) - granted):
            try:
                outcome = await self._roles.grant(gate.space_id, gate.role_id, member)
            except RolesUnavailable:
                raise
            except Exception:
                # Refused (permissions, the role's rank): the others would be too. The next
                # re-check tries again, rather than every few seconds (Discord bans bots that
                # keep making refused requests).
                log.warning("granting role %s to %s failed", gate.role_id, member, exc_info=True)
                return _add(report, SyncReport(failed=1))
            if outcome is Granted.GIVEN:  # only what the bot gave is the bot's to take back
                await self._record(gate, member, eligible[member], granted=True)
                report = _add(report, SyncReport(granted=1))
        for member in sorted(granted - set(eligible)):
            try:
                await self._roles.revoke(gate.space_id, gate.role_id, member)
            except RolesUnavailable:
                raise
            except Exception:
                log.warning("taking role %s from %s failed", gate.role_id, member, exc_info=True)
                return _add(report, SyncReport(failed=1))
            await self._record(gate, member, None, granted=False)
            report = _add(report, SyncReport(revoked=1))
        return report

    async def _record(
        self, gate: RoleGate, member: str, person: int | None, *, granted: bool
    ) -> None:
        async with self._uow() as uow:
            await uow.role_gates.record(gate, member, granted, self._clock.now())
            if person is None:
                found = await uow.identities.find(self._platform, member)
                person = found.user_id if found else None
            if person is not None:
                await log_event(
                    uow,
                    self._clock,
                    person,
                    EventType.ROLE_GRANTED if granted else EventType.ROLE_REVOKED,
                    metadata={
                        "space": gate.space_id,
                        "role": gate.role_id,
                        "creator": gate.creator_id,
                        "min_tokens": gate.min_tokens,
                    },
                )
            await uow.commit()


def _minimum(text: str) -> int:
    value = text.strip().replace(",", "").replace("_", "")
    digits = len(str(MIN_TOKENS_MAX))
    if not (value.isascii() and value.isdigit() and len(value) <= digits) or not (
        1 <= int(value) <= MIN_TOKENS_MAX
    ):
        raise InvalidInput(Reason.NUMBER_INVALID, value=text[:32], least=1, most=MIN_TOKENS_MAX)
    return int(value)


def _add(a: SyncReport, b: SyncReport) -> SyncReport:
    return SyncReport(a.granted + b.granted, a.revoked + b.revoked, a.failed + b.failed)
