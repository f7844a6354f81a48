"""Token-gated roles on Discord, offline: /gate with a role option by someone who may manage
roles; holders gain the role and lose it as their balance moves (the role calls recorded)."""

from __future__ import annotations

from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.discord_frontend.roles import DiscordRoleManager
from adapters.system_clock import SystemClock
from bot import bootstrap
from core.model import EntityType, Relation
from core.services.ledger import move_tokens
from jobs.roles import RoleJobs
from tests.discord_frontend.conftest import answers
from tests.discord_frontend.gateway import (
    ADMINS_ROLE,
    FANS_ROLE,
    GUILD_ID,
    MANAGE_ROLES,
    MODS_ROLE,
    Gateway,
    Person,
)

ALICE = Person(1_000_000_000_000_031, "alice")
BOB = Person(1_000_000_000_000_032, "bob")


async def say(gateway: Gateway, person: Person, name: str, /, **options: object) -> str:
    gateway.feed(gateway.command(person, name, **options))
    [call] = await answers(gateway)
    return call.text


async def test_holders_gain_the_role_and_lose_it(
    sqlite_app: bootstrap.App, discord_gateway: Gateway
) -> None:
    gateway = discord_gateway
    await say(gateway, ALICE, "register", name="Alice", email="alice@example.com", niches="fit")
    await say(gateway, ALICE, "token", symbol="ALICE", price_usd="1.50")
    fans = {"role": FANS_ROLE}
    for refused_because in (
        {},  # a plain member
        {"permissions": MANAGE_ROLES},  # a channel's "Manage Permissions" only
        {"member_roles": [MODS_ROLE], "roles": {"role": ADMINS_ROLE}},  # above them and the bot
        {"member_roles": [MODS_ROLE], "roles": {"role": MODS_ROLE}},  # not below their own
        {"member_roles": [MODS_ROLE], "roles": {"role": GUILD_ID}},  # @everyone
    ):
        options = {"roles": fans, **refused_because}
        gateway.feed(gateway.command(ALICE, "gate", min_tokens=100, **options))
        [refused] = await answers(gateway)
        assert refused.ephemeral
        assert "Manage Roles" in refused.text, refused_because
    gateway.feed(gateway.command(ALICE, "gate", guild=False, roles=fans, min_tokens=100))
    [in_dm] = await answers(gateway)
    assert "in your Discord server" in in_dm.text

    done = await say(gateway, ALICE, "gate", roles=fans, min_tokens=100, member_roles=[MODS_ROLE])
    assert done.startswith(f"🔐 <@&{FANS_ROLE}> now goes to everyone holding at least 100 $ALICE")
    listed = await say(gateway, ALICE, "gate")
    assert f"• <@&{FANS_ROLE}>: 100 $ALICE or more" in listed

    await say(gateway, BOB, "follow", handle="alice")  # Bob's Discord account is known
    gateway.members.add((str(GUILD_ID), str(BOB.id)))
    gateway.frontend.client._ready.set()  # as on READY
    # What bootstrap's Discord wiring registers when `one-bot run` starts Discord.
    sqlite_app.roles.register(DiscordRoleManager(lambda: gateway.frontend.client))
    jobs = RoleJobs(sqlite_app.services.roles, recheck_every=3600)
    await jobs.tick()
    assert gateway.roles == set()

    assert sqlite_app.database is not None
    database = sqlite_app.database

    async def move(amount: int, reference: str) -> None:
        """Bob gets (or spends) ALICE, as a purchase or a clone's answer moves them."""
        async with SqlUnitOfWork(database) as uow:
            bob = await uow.identities.find("discord", str(BOB.id))
            creator = await uow.entities.by_handle(EntityType.CREATOR, "alice")
            assert bob is not None
            assert creator is not None
            [token] = await uow.connections.targets(creator.id, Relation.ISSUED, 1)
            await move_tokens(
                uow,
                SystemClock(),
                token_id=token,
                holder_id=bob.user_id,
                amount=amount,
                kind="test",
                reference=reference,
                settle_later=True,
            )
            await uow.commit()

    await move(120, "gift-1")
    await jobs.tick()
    assert gateway.roles == {(str(GUILD_ID), str(FANS_ROLE), str(BOB.id))}
    await move(-30, "spent-1")
    await jobs.tick()
    assert gateway.roles == set()
    async with SqlUnitOfWork(database) as uow:
        bob = await uow.identities.find("discord", str(BOB.id))
        assert bob is not None
        told = [e.type for e in await uow.events.latest(bob.user_id, 10)]
        await uow.commit()
    assert told[:2] == ["role_revoked", "role_granted"]  # newest first
