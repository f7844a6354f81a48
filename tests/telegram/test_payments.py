"""Payments on Telegram: invoices out, pre-checkout / paid / refunded in, Stars refunds, pushes.

The conversation is a stub router here (it answers pre-checkout queries as told and records what
reached it), so these tests pin the frontend's part only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from telegram import Update

from adapters.telegram_frontend.frontend import TelegramFrontend, TelegramOptions
from adapters.telegram_frontend.ordering import PerChatUpdateProcessor
from adapters.telegram_frontend.stars import StarsPaymentGateway
from adapters.telegram_frontend.translate import incoming_from
from bot.conversation import Incoming, Invoice, MessageRef, Payment, Reply, Responder, Router
from core.errors import PaymentError
from core.purchases import Money, PaymentRequest, Purchase, PurchaseState
from tests.telegram.bot_api import RecordingBotApi, Updates
from tests.telegram.conftest import FakeClock

BOB, CAROL = 1002, 1003
STARS = Invoice(
    title="10 ALICE tokens",
    description="Tokens of Alice Smith (@alice), minted to your wallet.",
    payload="purchase:7",
    currency="XTR",
    amount=250,
    label="10 ALICE",
)


class StubRouter:
    """Stands in for the conversation: records what arrives, answers as a test tells it."""

    def __init__(self) -> None:
        self.commands: list[Any] = []
        self.seen: list[Incoming] = []
        self.sent: list[MessageRef] = []
        self.answer: tuple[bool, str | None] = (True, None)
        self.release = asyncio.Event()
        self.slow_started = asyncio.Event()
        self.fail_pre_checkout = False

    async def dispatch(self, incoming: Incoming, responder: Responder) -> MessageRef | None:
        self.seen.append(incoming)
        if incoming.payment is not None:
            if incoming.payment.stage == "pre_checkout":
                if self.fail_pre_checkout:
                    raise RuntimeError("the database is gone")
                await responder.answer_payment(*self.answer)
            return None
        if incoming.text == "/slow":  # a long command: typing shows, then it waits
            await responder.typing()
            self.slow_started.set()
            await self.release.wait()
        reply = Reply("Pay for your tokens", invoice=STARS) if incoming.text == "/buy" else None
        ref = await responder.send(reply or Reply(f"done {incoming.text}"))
        self.sent.append(ref)
        return ref

    @property
    def payments(self) -> list[Payment]:
        return [i.payment for i in self.seen if i.payment is not None]


@pytest.fixture
def router() -> StubRouter:
    return StubRouter()


@pytest.fixture
def unreachable() -> list[int]:
    return []


@pytest.fixture
async def frontend(
    router: StubRouter,
    bot_api: RecordingBotApi,
    limiter_clock: FakeClock,
    unreachable: list[int],
) -> AsyncIterator[TelegramFrontend]:
    async def on_unreachable(chat_id: int) -> None:
        unreachable.append(chat_id)

    built = TelegramFrontend(
        TelegramOptions(token="4242:TEST"),
        cast(Router, router),
        request=bot_api,
        limiter_clock=limiter_clock,
        on_unreachable=on_unreachable,
        typing_grace=0.0,
    )
    async with built.application:
        yield built


async def process(frontend: TelegramFrontend, data: dict[str, Any]) -> None:
    """One update through the update processor and the handler, as the update fetcher does."""
    app = frontend.application
    update = Update.de_json(data, app.bot)
    await app.update_processor.process_update(update, app.process_update(update))


# --- invoices out ----------------------------------------------------------------------------


async def test_an_invoice_reply_is_sent_as_a_stars_invoice(
    frontend: TelegramFrontend, router: StubRouter, updates: Updates, bot_api: RecordingBotApi
) -> None:
    await process(frontend, updates.message(BOB, "/buy"))
    [invoice] = bot_api.sent("sendInvoice", BOB)
    params = invoice.params
    assert params["title"] == "10 ALICE tokens"
    assert params["description"].startswith("Tokens of Alice Smith")
    assert params["payload"] == "purchase:7"
    assert params["currency"] == "XTR"
    assert params["prices"] == [{"label": "10 ALICE", "amount": 250}]
    assert params.get("provider_token", "") == ""  # Stars: no payment provider
    assert bot_api.sent("sendMessage") == []  # the invoice is the message
    [ref] = router.sent
    assert ref.chat_id == str(BOB)
    assert ref.message_id.isdigit()


async def test_invoices_are_paced_by_the_outbound_limiter(
    frontend: TelegramFrontend, updates: Updates, limiter_clock: FakeClock
) -> None:
    for _ in range(4):
        await process(frontend, updates.message(BOB, "/buy"))
    assert round(limiter_clock.now - 1000.0, 3) == 1.0  # a burst of 3, then one a second


# --- payments in -----------------------------------------------------------------------------


async def test_pre_checkout_reaches_the_router_and_is_answered(
    frontend: TelegramFrontend, router: StubRouter, updates: Updates, bot_api: RecordingBotApi
) -> None:
    await process(frontend, updates.pre_checkout(BOB, "purchase:7"))
    router.answer = (False, "This purchase was paid already. Nothing was charged.")
    await process(frontend, updates.pre_checkout(BOB, "purchase:7"))

    assert router.payments == [Payment("pre_checkout", "purchase:7", "XTR", 100)] * 2
    [incoming, _] = router.seen
    assert (incoming.user_id, incoming.chat_id, incoming.platform) == ("1002", "1002", "telegram")
    accepted, refused = bot_api.sent("answerPreCheckoutQuery")
    assert accepted.params["ok"] is True
    assert "error_message" not in accepted.params
    assert refused.params["ok"] is False
    assert refused.params["error_message"] == router.answer[1]
    assert accepted.params["pre_checkout_query_id"] != refused.params["pre_checkout_query_id"]


async def test_a_failing_router_still_refuses_the_pre_checkout_at_once(
    frontend: TelegramFrontend, router: StubRouter, updates: Updates, bot_api: RecordingBotApi
) -> None:
    router.fail_pre_checkout = True
    await process(frontend, updates.pre_checkout(BOB))
    [answer] = bot_api.sent("answerPreCheckoutQuery")
    assert answer.params["ok"] is False
    assert "Sorry, something went wrong on our side" in answer.params["error_message"]


async def test_paid_and_refunded_payments_carry_the_charge_id(
    frontend: TelegramFrontend, router: StubRouter, updates: Updates
) -> None:
    await process(frontend, updates.successful_payment(BOB, "stxCHARGE1", "purchase:7", 250))
    await process(frontend, updates.refunded_payment(BOB, "stxCHARGE1", "purchase:7", 250))
    assert router.payments == [
        Payment("successful", "purchase:7", "XTR", 250, provider_charge_id="stxCHARGE1"),
        Payment("refunded", "purchase:7", "XTR", 250, provider_charge_id="stxCHARGE1"),
    ]
    assert {(i.user_id, i.chat_id) for i in router.seen} == {("1002", "1002")}


def test_a_refund_notice_is_read_whoever_telegram_names_as_its_sender(updates: Updates) -> None:
    data = updates.refunded_payment(BOB, "stxCHARGE2")
    data["message"].pop("from")  # a service message may come without a sender
    incoming = incoming_from(Update.de_json(data, None), "one_test_bot")
    assert incoming is not None
    assert incoming.payment == Payment("refunded", "purchase:1", "XTR", 100, "stxCHARGE2")
    assert (incoming.user_id, incoming.chat_id) == ("1002", "1002")


async def test_payments_are_never_dropped_from_a_full_backlog(updates: Updates) -> None:
    processor = PerChatUpdateProcessor(backlog=2)
    release = asyncio.Event()
    ran: list[str] = []

    async def job(name: str, wait: bool = False) -> None:
        if wait:
            await release.wait()
        ran.append(name)

    def run(data: dict[str, Any], name: str, wait: bool = False) -> asyncio.Task[None]:
        update = Update.de_json(data, None)
        return asyncio.create_task(processor.process_update(update, job(name, wait)))

    tasks = [
        run(updates.message(BOB, "/slow"), "slow", wait=True),
        run(updates.message(BOB, "/x"), "queued"),
        run(updates.message(BOB, "/y"), "dropped"),  # the backlog of 2 is full
        run(updates.successful_payment(BOB, "c1"), "paid"),
        run(updates.refunded_payment(BOB, "c1"), "refunded"),
        run(updates.message(BOB, "/z"), "dropped too"),
    ]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*tasks)
    assert ran == ["slow", "queued", "paid", "refunded"]  # payments in order, after the rest


async def test_pre_checkout_is_not_held_behind_a_slow_command_of_the_same_chat(
    frontend: TelegramFrontend, router: StubRouter, updates: Updates, bot_api: RecordingBotApi
) -> None:
    app = frontend.application
    await app.start()  # the real update fetcher and update processor
    try:
        await app.update_queue.put(Update.de_json(updates.message(BOB, "/slow"), app.bot))
        await asyncio.wait_for(router.slow_started.wait(), 2)
        await app.update_queue.put(Update.de_json(updates.message(BOB, "/next"), app.bot))
        await app.update_queue.put(Update.de_json(updates.pre_checkout(BOB), app.bot))
        async with asyncio.timeout(2):
            while not bot_api.sent("answerPreCheckoutQuery"):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        assert not router.release.is_set()  # /slow is still running …
        assert bot_api.texts(BOB) == []  # … and /next still waits its turn
        assert [c.method for c in bot_api.calls if c.chat_id == BOB] == ["sendChatAction"]

        router.release.set()
        async with asyncio.timeout(2):
            while len(bot_api.texts(BOB)) < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        assert bot_api.texts(BOB) == ["done /slow", "done /next"]
    finally:
        router.release.set()  # a failed check must not leave /slow holding up the stop
        await app.stop()


# --- the Stars gateway -----------------------------------------------------------------------


def purchase(purchase_id: int, price_cents: int) -> Purchase:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Purchase(purchase_id, 1, 1, 10, price_cents, PurchaseState.PENDING, now, now)


async def test_stars_gateway_quotes_whole_stars_on_telegram_only() -> None:
    gateway = StarsPaymentGateway(stars_per_usd=50)
    assert gateway.rail == "stars"
    assert gateway.available_on("telegram")
    assert not gateway.available_on("console")
    assert not gateway.available_on("discord")
    assert gateway.quote(100) == Money("XTR", 50)
    assert gateway.quote(199) == Money("XTR", 100)  # 99.5 rounds up
    assert gateway.quote(1) == Money("XTR", 1)
    assert gateway.quote(0) == Money("XTR", 1)  # never a free invoice
    request = await gateway.request_payment(purchase(7, 500), "10 ALICE")
    assert request == PaymentRequest(rail="stars", price=Money("XTR", 250), payload="purchase:7")
    assert await gateway.request_payment(purchase(7, 500), "10 ALICE") == request


async def test_stars_refund_calls_telegram_and_is_idempotent(
    frontend: TelegramFrontend, bot_api: RecordingBotApi
) -> None:
    gateway = StarsPaymentGateway(50)
    with pytest.raises(PaymentError):  # not attached to a bot yet
        await gateway.refund("stxCHARGE1", str(BOB))
    gateway.attach(frontend.bot)

    assert await gateway.refund("stxCHARGE1", str(BOB)) == "stxCHARGE1"
    [call] = bot_api.sent("refundStarPayment")
    assert call.params == {"user_id": BOB, "telegram_payment_charge_id": "stxCHARGE1"}

    bot_api.fail("refundStarPayment", 0, 400, description="Bad Request: CHARGE_ALREADY_REFUNDED")
    assert await gateway.refund("stxCHARGE1", str(BOB)) == "stxCHARGE1"

    bot_api.fail("refundStarPayment", 0, 400, description="Bad Request: CHARGE_NOT_FOUND")
    with pytest.raises(PaymentError, match="stxCHARGE9"):
        await gateway.refund("stxCHARGE9", str(BOB))
    calls = len(bot_api.sent("refundStarPayment"))
    with pytest.raises(PaymentError):  # Stars go back to a user: without one, no call
        await gateway.refund("stxCHARGE1", None)
    assert len(bot_api.sent("refundStarPayment")) == calls


# --- pushes ----------------------------------------------------------------------------------


async def test_push_sends_through_the_limiter(
    frontend: TelegramFrontend, bot_api: RecordingBotApi, limiter_clock: FakeClock
) -> None:
    refs = [await frontend.push(str(BOB), Reply(f"🔔 news {n}")) for n in range(4)]
    assert bot_api.texts(BOB) == [f"🔔 news {n}" for n in range(4)]
    assert [ref.chat_id for ref in refs if ref is not None] == [str(BOB)] * 4
    assert round(limiter_clock.now - 1000.0, 3) == 1.0  # the fourth waited its turn
    invoice = await frontend.push(str(CAROL), Reply("Pay", invoice=STARS))
    assert invoice is not None
    assert len(bot_api.sent("sendInvoice", CAROL)) == 1


async def test_push_to_an_unreachable_chat_returns_none(
    frontend: TelegramFrontend, bot_api: RecordingBotApi, unreachable: list[int]
) -> None:
    bot_api.fail("sendMessage", CAROL, 403)
    pushed: Awaitable[MessageRef | None] = frontend.push(str(CAROL), Reply("🔔 news"))
    assert await pushed is None
    assert unreachable == [CAROL]
    assert len(bot_api.sent("sendMessage", CAROL)) == 1  # not retried
