"""Tokens through the whole stack: SQLite, the real embedded EVM, the conversation, a restart."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

from sqlalchemy import select

from adapters.db.schema import entities
from adapters.db.unit_of_work import SqlUnitOfWork
from adapters.system_clock import SystemClock
from bot import bootstrap
from bot.settings import Settings, load_settings
from core.model import EntityType
from core.services.ledger import move_tokens
from tests.support import Chat

MNEMONIC = "test test test test test test test test test test test junk"


def settings(tmp_path: Path) -> Settings:
    return load_settings(
        environ={
            "ONE_BOT__DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'one.db'}",
            "ONE_BOT__CHAIN__MNEMONIC": MNEMONIC,
        }
    )


async def credit(app: bootstrap.App, person: str, symbol: str, amount: int) -> None:
    """What a paid purchase will do: one ledger movement (minting comes with /buy)."""
    assert app.database is not None
    async with SqlUnitOfWork(app.database) as uow:
        found = await uow.identities.find("test", person)
        token = await uow.entities.by_handle(EntityType.TOKEN, symbol.lower())
        assert found is not None
        assert token is not None
        await move_tokens(
            uow,
            SystemClock(),
            token_id=token.id,
            holder_id=found.user_id,
            amount=amount,
            kind="test",
            reference=f"test:{person}:{symbol}",
        )
        await uow.commit()


async def token_address(app: bootstrap.App) -> str:
    assert app.database is not None
    stmt = select(entities.c.properties).where(entities.c.type == "token")
    properties = await app.database.execute(lambda c: c.execute(stmt).scalar_one())
    return str(properties["address"])


async def test_a_token_survives_a_restart_of_the_embedded_chain(tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        app = await bootstrap.build(settings(tmp_path), stack)
        chat = Chat(app.router)
        await chat("alice", "/register Alice | alice@example.com | fitness")
        created = await chat("alice", "/token ALICE 2")
        assert "$ALICE is live" in created.text
        first_address = await token_address(app)
        assert first_address in created.text
        await chat("bob", "/start")
        await credit(app, "bob", "ALICE", 100)
        balance = await chat("bob", "/balance")
        # The ledger says 100, but nothing was minted: the chain does not agree (yet).
        assert "• 100 $ALICE of @alice — $200.00 · on chain: 0 (catching up)" in balance.text

    async with AsyncExitStack() as stack:  # a restart: the in-memory chain starts empty
        app = await bootstrap.build(settings(tmp_path), stack)
        chat = Chat(app.router)
        balance = await chat("bob", "/balance")
        assert "• 100 $ALICE of @alice — $200.00 · on chain ✓" in balance.text
        assert (await token_address(app)).startswith("0x")  # the address of the new deploy
        assert "already have a token: $ALICE" in (await chat("alice", "/token NEW 1")).text
