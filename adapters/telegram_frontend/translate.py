"""Telegram updates → ``Incoming``; ``Reply`` → Bot API arguments. Translation only."""

from __future__ import annotations

import html
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType

from bot.conversation import Attachment, Incoming, Payment, Reply

PLATFORM = "telegram"


# Telegram's own account: posts a linked channel forwards into its discussion group.
TELEGRAM_SERVICE_USER = 777000


def incoming_from(update: Update, bot_username: str | None = None) -> Incoming | None:
    """The ``Incoming`` an update means, or None for updates the bot does not act on.

    Ignored: other bots, channel posts and their automatic forwards, edited messages (editing
    "/follow a" into "/unfollow a" must not act again), service messages, other bots'
    commands (``/cmd@other_bot``), and in groups anything that is not a command or a reply
    to the bot — a group's conversation is not addressed to us.
    """
    if (refunded := _refunded_payment(update)) is not None:
        return refunded
    user = update.effective_user
    if user is None or user.is_bot or user.id == TELEGRAM_SERVICE_USER:
        return None
    if update.edited_message is not None or update.edited_channel_post is not None:
        return None
    name = user.full_name
    if (query := update.pre_checkout_query) is not None:
        payment = Payment(
            stage="pre_checkout",
            payload=query.invoice_payload,
            currency=query.currency,
            total_amount=query.total_amount,
        )
        return Incoming(PLATFORM, str(user.id), str(user.id), name=name, payment=payment)
    chat = update.effective_chat
    if chat is None:
        return None
    base: dict[str, Any] = {
        "platform": PLATFORM,
        "user_id": str(user.id),
        "chat_id": str(chat.id),
        "name": name,
        "is_private": chat.type == ChatType.PRIVATE,
    }
    if (callback := update.callback_query) is not None:
        return Incoming(**base, button=callback.data or "")
    message = update.message
    if message is None or message.sender_chat is not None or message.is_automatic_forward:
        return None
    if (paid := message.successful_payment) is not None:
        payment = Payment(
            stage="successful",
            payload=paid.invoice_payload,
            currency=paid.currency,
            total_amount=paid.total_amount,
            provider_charge_id=paid.telegram_payment_charge_id,
        )
        return Incoming(**base, payment=payment)
    text = message.text or message.caption or ""
    attachment = _attachment(message)
    if not text and attachment is None:
        return None  # joins, pins, title changes …
    if not _addressed_to_us(text, message, bot_username, base["is_private"]):
        return None
    return Incoming(**base, text=text, attachment=attachment)


def _refunded_payment(update: Update) -> Incoming | None:
    """A Stars payment given back (by us, or by Telegram after a dispute).

    Read before the sender checks: the service message is about the fan's payment whoever
    Telegram names as its sender (if anyone), and it comes in the fan's private chat, whose id
    is the fan's user id.
    """
    message = update.message
    if message is None or (refund := message.refunded_payment) is None:
        return None
    chat = message.chat
    if chat.type != ChatType.PRIVATE:
        return None
    payment = Payment(
        stage="refunded",
        payload=refund.invoice_payload,
        currency=refund.currency,
        total_amount=refund.total_amount,
        provider_charge_id=refund.telegram_payment_charge_id,
    )
    fan = str(chat.id)
    return Incoming(PLATFORM, fan, fan, name=chat.full_name or "", payment=payment)


def _addressed_to_us(text: str, message: Any, bot_username: str | None, private: bool) -> bool:
    if text.startswith("/"):
        head = text.split(maxsplit=1)[0] if text.strip() else text
        _, at, target = head.partition("@")
        return not at or bot_username is None or target.lower() == bot_username.lower()
    if private:
        return True
    replied = message.reply_to_message
    return bool(
        replied is not None
        and replied.from_user is not None
        and bot_username is not None
        and (replied.from_user.username or "").lower() == bot_username.lower()
    )


def _attachment(message: Any) -> Attachment | None:
    if (document := message.document) is not None:
        return Attachment(
            file_name=document.file_name or "document",
            mime_type=document.mime_type,
            size=document.file_size or 0,
            file_id=document.file_id,
        )
    if message.photo:
        largest = message.photo[-1]
        return Attachment(
            file_name=f"photo_{largest.file_unique_id}.jpg",
            mime_type="image/jpeg",
            size=largest.file_size or 0,
            file_id=largest.file_id,
        )
    return None


def html_text(reply: Reply) -> str:
    """The reply's plain text made safe for ``parse_mode=HTML``."""
    return html.escape(reply.text, quote=False)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(button.label, url=button.url)
                if button.url is not None
                else InlineKeyboardButton(button.label, callback_data=button.data)
                for button in row
            ]
            for row in reply.buttons
        ]
    )
