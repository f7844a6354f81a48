"""The Telegram frontend: a PTB ``Application`` whose one handler hands updates to the router."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Bot, BotCommand, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import BaseRequest

from adapters.telegram_frontend.limiter import LimiterClock, Limits, OutboundLimiter
from adapters.telegram_frontend.ordering import PerChatUpdateProcessor
from adapters.telegram_frontend.responder import TYPING_GRACE_S, TelegramResponder
from adapters.telegram_frontend.translate import incoming_from
from bot.conversation import MessageRef, Reply, Router
from bot.conversation.texts import t

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TelegramOptions:
    token: str
    mode: str = "polling"
    base_url: str | None = None
    base_file_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    poll_interval: float = 0.0


class TelegramFrontend:
    """Translates between Telegram and the conversation; decides nothing itself."""

    def __init__(
        self,
        options: TelegramOptions,
        router: Router,
        *,
        request: BaseRequest | None = None,
        limits: Limits | None = None,
        limiter_clock: LimiterClock | None = None,
        on_unreachable: Callable[[int], Awaitable[None]] | None = None,
        typing_grace: float = TYPING_GRACE_S,
    ) -> None:
        self.options = options
        self._typing_grace = typing_grace
        self._router = router
        self.limiter = OutboundLimiter(limits, clock=limiter_clock, on_unreachable=on_unreachable)
        builder = (
            ApplicationBuilder()
            .token(options.token)
            .rate_limiter(self.limiter)
            .concurrent_updates(PerChatUpdateProcessor())
        )
        if options.base_url:
            builder = builder.base_url(options.base_url)
        if options.base_file_url:
            builder = builder.base_file_url(options.base_file_url)
        if request is not None:
            builder = builder.request(request).get_updates_request(request)
        if options.mode == "webhook":
            builder = builder.updater(None)  # updates arrive through our web server
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        incoming = incoming_from(update, context.bot.username)
        if incoming is None:
            return
        if update.callback_query is not None:
            # Stops the button's spinner; the answer itself comes as a message. A press older
            # than Telegram keeps queries for can't be acknowledged, but is still handled.
            with contextlib.suppress(TelegramError):
                await update.callback_query.answer()
        query = update.pre_checkout_query
        responder = TelegramResponder(
            context.bot,
            int(incoming.chat_id),
            pre_checkout_query_id=query.id if query is not None else None,
            typing_grace=self._typing_grace,
        )
        try:
            await self._router.dispatch(incoming, responder)
        finally:
            responder.close()
            if query is not None and not responder.payment_answered:
                # The router answers every pre-checkout query; should it fail first, refuse at
                # once rather than leave the fan's payment sheet spinning until Telegram's 10 s
                # run out. Nothing has been charged at this step.
                with contextlib.suppress(TelegramError):
                    await responder.answer_payment(False, t("apology"))

    @property
    def bot(self) -> Bot:
        """The PTB bot, for adapters that call the Bot API outside a conversation (Stars refunds).

        Its calls go through the outbound limiter; it can call once the frontend is running.
        """
        bot: Bot = self.application.bot
        return bot

    async def push(self, chat_id: str, reply: Reply) -> MessageRef | None:
        """Send ``reply`` to a chat outside any conversation (a notification).

        Paced by the same outbound limiter as every reply. None when the chat is unreachable
        (the person blocked the bot, or it left the group): the limiter has already reported
        that through ``on_unreachable``, so it is not an error here.
        """
        responder = TelegramResponder(self.application.bot, int(chat_id))
        try:
            return await responder.send(reply)
        except Forbidden:
            log.info("Telegram: chat %s is unreachable, notification not delivered", chat_id)
            return None

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("Telegram update failed: %r", update, exc_info=context.error)

    async def feed(self, data: dict[str, Any]) -> bool:
        """Queue an update received by webhook; False if the JSON is not an Update."""
        try:
            update = Update.de_json(data, self.application.bot)
        except Exception:  # whatever the shape, it is not an update we can use
            log.warning("webhook: not a Telegram update: %.200r", data)
            return False
        await self.application.update_queue.put(update)
        return True

    async def register_commands(self) -> None:
        commands = [
            BotCommand(command.name, t(command.description_key))
            for command in self._router.commands
        ]
        await self.application.bot.set_my_commands(commands)

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set: long polling, or webhook updates fed by the web server."""
        app = self.application
        async with app:
            await self.register_commands()
            await app.start()
            try:  # from here on, whatever fails must stop the application before shutdown
                if app.updater is not None:
                    await app.updater.start_polling(
                        poll_interval=self.options.poll_interval,
                        allowed_updates=Update.ALL_TYPES,
                    )
                else:
                    await app.bot.set_webhook(
                        url=self.webhook_endpoint(),
                        secret_token=self.options.webhook_secret,
                        allowed_updates=Update.ALL_TYPES,
                    )
                log.info("Telegram: @%s is up (%s)", app.bot.username, self.options.mode)
                await stop.wait()
            finally:
                if app.updater is not None and app.updater.running:
                    await app.updater.stop()
                await app.stop()

    def webhook_endpoint(self) -> str:
        assert self.options.webhook_url is not None
        return self.options.webhook_url.rstrip("/") + WEBHOOK_PATH


WEBHOOK_PATH = "/webhooks/telegram"
