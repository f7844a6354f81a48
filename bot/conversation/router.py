"""Routes an ``Incoming`` to its command and turns every outcome into a ``Reply``.

Pattern 10 on chat: while a command runs the person sees the typing state; then exactly one of
a success reply, a clear error (DomainError → its sentence, bad arguments → the usage line), or
a short apology for anything unexpected (logged with its traceback, never shown).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.background import Background
from bot.conversation import texts
from bot.conversation.context import Command, Context, Services, UsageError
from bot.conversation.messages import Incoming, MessageRef, Reply, Responder
from core.errors import DomainError, InvalidInput, PaymentUnavailable
from core.purchases import Money, PaymentReceived, PaymentReversed, Purchase, purchase_id_of

log = logging.getLogger(__name__)

MAX_INPUT = 8000
# Telegram Stars: the rail's name, and the currency Telegram reports for it.
STARS = "stars"
STARS_CURRENCY = "XTR"


def parse_command(text: str) -> tuple[str, str] | None:
    """``"/Follow@one_bot  alice "`` → ``("follow", "alice")``; None for plain text."""
    text = text.strip()
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, rest = text[1:].partition(" ")
    if "\n" in head:
        head, _, more = head.partition("\n")
        rest = f"{more} {rest}".strip()
    name = head.split("@", 1)[0].lower()
    return (name, rest.strip()) if name else None


def error_text(error: DomainError) -> str:
    """The sentence for a refusal, from the catalogue."""
    key = error.message_key if isinstance(error, InvalidInput) else error.key
    return texts.t(key, **error.params)


class Router:
    """Dispatches commands; the one place where outcomes become replies."""

    def __init__(
        self,
        services: Services,
        commands: Iterable[Command],
        *,
        plain_text: Command | None = None,
        file: Command | None = None,
        background: Background | None = None,
    ) -> None:
        """``plain_text`` handles words that are not a command (with the text as its args);
        ``file`` handles a file sent to the bot; ``background`` keeps what commands start to
        go on after them (the app's, closed with it)."""
        self._services = services
        self._background = background or Background()
        self._plain_text = plain_text
        self._file = file
        self._commands: dict[str, Command] = {}
        for command in commands:
            if command.name in self._commands:
                raise ValueError(f"command /{command.name} registered twice")
            self._commands[command.name] = command

    @property
    def commands(self) -> list[Command]:
        return list(self._commands.values())

    async def dispatch(self, incoming: Incoming, responder: Responder) -> MessageRef | None:
        """Handle one thing a person did and send the reply; never raises for bad input."""
        if incoming.payment is not None:
            return await self._payment(incoming, responder)
        line = incoming.button if incoming.button is not None else incoming.text
        parsed = parse_command(line[:MAX_INPUT])
        if parsed is None:
            if incoming.button is not None:
                return await responder.send(Reply(texts.t("button_expired")))
            if incoming.attachment is not None:
                if self._file is None:
                    return await responder.send(Reply(texts.t("attachment_unused")))
                return await self._handle(self._file, incoming, line[:MAX_INPUT], responder)
            if self._plain_text is None or not line.strip():
                return await responder.send(Reply(texts.t("not_a_command")))
            return await self._handle(self._plain_text, incoming, line[:MAX_INPUT], responder)
        name, args = parsed
        command = self._commands.get(name)
        if command is None:
            unknown = texts.t("unknown_command", command=name[:32])
            return await responder.send(Reply(unknown, private=True))
        return await self._handle(command, incoming, args, responder)

    async def _handle(
        self, command: Command, incoming: Incoming, args: str, responder: Responder
    ) -> MessageRef:
        context = Context(
            incoming,
            command.name,
            args,
            self._services,
            responder,
            self.commands,
            self._background.spawn,
        )
        outcome = await self._run(command, context)
        if isinstance(outcome, MessageRef):
            return outcome
        return await responder.send(outcome)

    async def _payment(self, incoming: Incoming, responder: Responder) -> MessageRef | None:
        # Telegram Stars: a pre-checkout query (answer within 10 s), the payment, a refund.
        payment = incoming.payment
        assert payment is not None
        who = Context.who_of(incoming)
        purchases = self._services.purchases
        if payment.stage == "pre_checkout":
            try:
                if payment.currency != STARS_CURRENCY:
                    raise PaymentUnavailable()
                paid = Money(payment.currency, payment.total_amount)
                await purchases.check_payable(who, STARS, payment.payload, paid)
            except DomainError as error:
                await responder.answer_payment(False, error_text(error))
                return None
            except Exception:
                log.exception("pre-checkout of %r failed", payment.payload)
                await responder.answer_payment(False, texts.t("apology"))
                return None
            await responder.answer_payment(True)
            return None
        charge = payment.provider_charge_id or ""
        if payment.stage == "refunded":
            try:
                reversed_id = await purchases.payment_reversed(
                    PaymentReversed(STARS, f"refund:{charge}", charge, "refund")
                )
            except Exception:
                # Telegram will not deliver this again: the charge id is what support needs.
                log.critical("Stars refund of %s NOT recorded", charge, exc_info=True)
                return None
            if reversed_id is not None:
                await self._advance(reversed_id)
            return None
        received = PaymentReceived(
            rail=STARS,
            event_id=charge,
            purchase_id=purchase_id_of(payment.payload) or 0,
            payment_ref=charge,
            paid=Money(payment.currency, payment.total_amount),
            payer=incoming.user_id,
        )
        try:
            outcome = await purchases.payment_received(received)
        except Exception:
            # Telegram will not deliver this again: the charge id is what support needs.
            log.critical(
                "Stars payment %s for %r NOT recorded", charge, payment.payload, exc_info=True
            )
            return await responder.send(Reply(texts.t("apology")))
        key = {
            "recorded": "payment.received",
            "duplicate": "payment.duplicate",
            "returned": "payment.returned",
        }[outcome.outcome]
        sent = await responder.send(Reply(texts.t(key)))
        if outcome.outcome == "recorded" and outcome.purchase_id is not None:
            await self._advance(outcome.purchase_id, outcome.purchase)
        return sent

    async def _advance(self, purchase_id: int, known: Purchase | None = None) -> None:
        try:
            await self._services.saga.advance(purchase_id, known)
        except Exception:
            # Recorded and safe: the resume job takes it from here.
            log.exception("purchase %d: advancing failed; the resume job will retry", purchase_id)

    async def _run(self, command: Command, context: Context) -> Reply | MessageRef:
        try:
            await context.responder.typing()
            return await command.handler(context)
        except UsageError:
            return Reply(texts.t("usage.reply", usage=texts.t(command.usage_key)), private=True)
        except DomainError as error:
            return Reply(texts.t("error.prefix", message=error_text(error)), private=True)
        except Exception:
            log.exception(
                "command /%s failed (platform=%s user=%s)",
                command.name,
                context.incoming.platform,
                context.incoming.user_id,
            )
            return Reply(texts.t("apology"), private=True)
