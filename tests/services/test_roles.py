"""Token-gated roles on fakes: gates set by creators, roles given and taken back as balances
move (on the ledger's changes and on re-checks), with events; a platform that is not there
yet changes nothing."""

from __future__ import annotations

import pytest

from bot import bootstrap
from bot.conversation.context import Services
from core.errors import InvalidInput, NotACreator, NoToken, RolesNotAllowed, RolesOutsideServer
from core.model import EventType, UserRef
from core.services.ledger import move_tokens
from jobs.roles import RoleJobs
from tests.fakes import FakeClock, FakeStore, FakeUnitOfWork
from tests.fakes.roles import FakeRoleManager
from tests.services.test_purchases import alice_token
from tests.services_support import ALICE, BOB, register

GUILD, ROLE = "guild-1", "role-fans"
BOB_D = UserRef("discord", "5001", name="Bob", chat_id="5001")
CAROL_D = UserRef("discord", "5002", name="Carol", chat_id="5002")


@pytest.fixture
def roles(fake_app: bootstrap.App) -> FakeRoleManager:
    manager = FakeRoleManager(members={(GUILD, "5001"), (GUILD, "5002")})
    fake_app.roles.register(manager)
    return manager


async def give(store: FakeStore, clock: FakeClock, who: UserRef, amount: int, ref: str) -> None:
    """Move ``amount`` ALICE to (or, negative, from) ``who``, as purchases and spending do."""
    [token_id] = {gate.token_id for gate in store.role_gates.values()}  # ALICE's
    async with FakeUnitOfWork(store) as uow:
        person = await uow.identities.find(who.platform, who.platform_user_id)
        assert person is not None
        await move_tokens(
            uow,
            clock,
            token_id=token_id,
            holder_id=person.user_id,
            amount=amount,
            kind="test",
            reference=ref,
            settle_later=True,
        )
        await uow.commit()


async def test_setting_a_gate_is_checked(services: Services) -> None:
    await register(services, ALICE)
    roles = services.roles
    with pytest.raises(RolesOutsideServer):
        await roles.set_gate(ALICE, None, ROLE, "100", may_manage_roles=True)
    with pytest.raises(RolesNotAllowed):
        await roles.set_gate(ALICE, GUILD, ROLE, "100", may_manage_roles=False)
    with pytest.raises(NoToken):
        await roles.set_gate(ALICE, GUILD, ROLE, "100", may_manage_roles=True)
    await services.tokens.create(ALICE, "ALICE", "1.50")
    for bad in ("0", "-5", "lots", "1e9", "10000000000000000", "9" * 5000):
        with pytest.raises(InvalidInput):
            await roles.set_gate(ALICE, GUILD, ROLE, bad, may_manage_roles=True)
    with pytest.raises(NotACreator):
        await roles.set_gate(BOB, GUILD, ROLE, "100", may_manage_roles=True)
    done = await roles.set_gate(ALICE, GUILD, ROLE, "1,000", may_manage_roles=True)
    assert (done.gate.min_tokens, done.symbol, done.holders) == (1000, "ALICE", 0)
    assert (await roles.gates_of(ALICE))[1] == [done.gate]


async def test_holders_gain_and_lose_the_role_as_their_balance_moves(
    services: Services, store: FakeStore, clock: FakeClock, roles: FakeRoleManager
) -> None:
    await alice_token(services)
    for fan in (BOB_D, CAROL_D):
        await services.follows.follow(fan, "alice")  # their Discord accounts are known
    await services.roles.set_gate(ALICE, GUILD, ROLE, "100", may_manage_roles=True)
    jobs = RoleJobs(services.roles, recheck_every=3600)
    await jobs.tick()  # the first tick checks every gate
    assert roles.roles == set()

    await give(store, clock, BOB_D, 150, "r1")
    await give(store, clock, CAROL_D, 99, "r2")
    await jobs.tick()  # the ledger moved: the gate of its token is checked
    assert roles.roles == {(GUILD, ROLE, "5001")}
    await give(store, clock, CAROL_D, 1, "r3")
    await give(store, clock, BOB_D, -60, "r4")
    await jobs.tick()
    assert roles.roles == {(GUILD, ROLE, "5002")}
    changes = [
        (e.type, e.entity_id)
        for e in store.events.values()
        if e.type in (EventType.ROLE_GRANTED, EventType.ROLE_REVOKED)
    ]
    bob = store.identities["discord", "5001"].user_id
    carol = store.identities["discord", "5002"].user_id
    assert changes == [
        (EventType.ROLE_GRANTED, bob),
        (EventType.ROLE_GRANTED, carol),
        (EventType.ROLE_REVOKED, bob),
    ]


async def test_what_could_not_be_done_is_done_later(
    services: Services, store: FakeStore, clock: FakeClock, roles: FakeRoleManager
) -> None:
    await alice_token(services)
    await services.follows.follow(BOB_D, "alice")
    await services.roles.set_gate(ALICE, GUILD, ROLE, "10", may_manage_roles=True)
    await give(store, clock, BOB_D, 10, "r1")
    roles.connected = False  # Discord not connected yet: nothing changes, nothing recorded
    jobs = RoleJobs(services.roles, recheck_every=3600)
    await jobs.tick()
    assert roles.roles == set()
    assert store.role_grants == set()
    roles.connected = True
    roles.refuse = True  # the bot lacks the permission: logged, tried again on re-checks
    report = await services.roles.sync()
    assert (report.granted, report.failed) == (0, 1)
    roles.refuse = False
    roles.members.discard((GUILD, "5001"))  # not in the server: nothing to give yet
    assert (await services.roles.sync()).granted == 0
    roles.members.add((GUILD, "5001"))
    assert (await services.roles.sync()).granted == 1
    assert roles.roles == {(GUILD, ROLE, "5001")}


async def test_a_role_given_by_hand_is_not_taken_back(
    services: Services, store: FakeStore, clock: FakeClock, roles: FakeRoleManager
) -> None:
    await alice_token(services)
    await services.follows.follow(BOB_D, "alice")
    await services.roles.set_gate(ALICE, GUILD, ROLE, "10", may_manage_roles=True)
    roles.roles.add((GUILD, ROLE, "5001"))  # a moderator gave Bob the role
    await give(store, clock, BOB_D, 10, "r1")
    assert (await services.roles.sync()).granted == 0  # he had it: not the bot's
    await give(store, clock, BOB_D, -10, "r2")
    assert (await services.roles.sync()).revoked == 0
    assert roles.roles == {(GUILD, ROLE, "5001")}
