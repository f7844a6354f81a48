"""One fan's questions at the same moment, on SQLite and PostgreSQL: the daily reward cap and
the cost hold when their turns are recorded concurrently."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from bot import bootstrap
from bot.settings import load_settings
from core.clones import Answered
from core.model import UserRef
from tests.clones.conftest import give_tokens
from tests.fakes import FakeTokenChain, FakeWallets
from tests.fakes.ai import FakeKnowledgeStore, FakeLanguageModel
from tests.fakes.payments import FakeNotifier, FakePaymentGateway
from tests.support import Chat

BOB = UserRef("test", "bob", name="Bob", chat_id="bob")


async def test_concurrent_turns_never_reward_past_the_daily_cap(database_url: str) -> None:
    environ = {
        "ONE_BOT__DATABASE__URL": database_url,
        "ONE_BOT__CLONES__DAILY_REWARD_CAP": "25",
        "ONE_BOT__CLONES__RATE_LIMIT": "100",
    }
    async with AsyncExitStack() as stack:
        app = await bootstrap.build(
            load_settings(environ=environ),
            stack,
            chain=FakeTokenChain(),
            wallets=FakeWallets(),
            gateways=[FakePaymentGateway("card")],
            notifier=FakeNotifier(),
            knowledge_store=FakeKnowledgeStore(),
            model=FakeLanguageModel(reply="A short answer.", pieces=5),
        )
        chat = Chat(app.router)
        await chat("alice", "/register Alice | alice@example.com | fitness")
        await chat("alice", "/token ALICE 1")
        await chat("alice", "/clone cost 1")
        await give_tokens(app, "bob", "alice", 5)

        async def ask(n: int) -> Answered:
            async for part in app.services.clone_chat.ask(BOB, "alice", f"question {n}"):
                if isinstance(part, Answered):
                    return part
            raise AssertionError("no answer")

        answers = await asyncio.gather(*(ask(n) for n in range(8)), return_exceptions=True)
        done = [a for a in answers if isinstance(a, Answered)]
        rewarded = sum(a.rewarded for a in done)
        charged = sum(a.charged for a in done)
        assert rewarded == 25
        assert charged == len(done)
        holdings = await app.services.tokens.holdings(BOB)
        assert [h.amount for h in holdings] == [5 - charged + 25]
