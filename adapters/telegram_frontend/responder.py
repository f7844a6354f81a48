"""``Responder`` on the Bot API: messages, edits in place, the typing action, files, invoices."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, InputFile, LabeledPrice, Message
from telegram.constants import ChatAction, InvoiceLimit, MessageLimit, ParseMode
from telegram.error import BadRequest

from adapters.telegram_frontend.translate import html_text, keyboard
from bot.conversation import Attachment, Invoice, MessageRef, Reply

log = logging.getLogger(__name__)

# Telegram shows "typing…" for about 5 s; renew it while a command is still running.
TYPING_RENEWAL_S = 4.5
# Most commands answer within this; showing "typing…" for them would only cost an API call.
TYPING_GRACE_S = 0.3
# Edits of a growing message (a streamed answer): Telegram allows about one message per
# second in a chat, and an edit counts as one.
STREAM_EVERY_S = 1.0


class TelegramResponder:
    """Answers one chat. ``close`` stops the typing renewal; the adapter calls it at the end."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        *,
        pre_checkout_query_id: str | None = None,
        typing_grace: float = TYPING_GRACE_S,
    ) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._pre_checkout_query_id = pre_checkout_query_id
        self._typing_grace = typing_grace
        self._typing: asyncio.Task[None] | None = None
        self.payment_answered = False
        self.stream_every = STREAM_EVERY_S

    async def typing(self) -> None:
        if self._typing is None:
            self._typing = asyncio.create_task(self._keep_typing(), name="telegram-typing")

    async def _keep_typing(self) -> None:
        await asyncio.sleep(self._typing_grace)
        while True:
            try:
                await self._bot.send_chat_action(self._chat_id, ChatAction.TYPING)
            except Exception:  # the indicator is a nicety: never let it fail a command
                log.debug("typing action failed for chat %s", self._chat_id, exc_info=True)
            await asyncio.sleep(TYPING_RENEWAL_S)

    def close(self) -> None:
        if self._typing is not None:
            self._typing.cancel()
            self._typing = None

    async def send(self, reply: Reply) -> MessageRef:
        self.close()  # the answer replaces the typing indicator
        message = await self._send(reply)
        return MessageRef(str(message.chat_id), str(message.message_id))

    async def _send(self, reply: Reply) -> Message:
        if reply.invoice is not None:
            return await self._send_invoice(reply.invoice)
        markup = keyboard(reply)
        if reply.media is not None:
            caption = _cut(html_text(reply), MessageLimit.CAPTION_LENGTH)
            document = InputFile(reply.media.data, filename=reply.media.file_name)
            if reply.media.kind == "image":
                return await self._bot.send_photo(
                    self._chat_id,
                    document,
                    caption=caption,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
            return await self._bot.send_document(
                self._chat_id,
                document,
                caption=caption,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
        return await self._bot.send_message(
            self._chat_id,
            _cut(html_text(reply), MessageLimit.MAX_TEXT_LENGTH),
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=None,
        )

    async def _send_invoice(self, invoice: Invoice) -> Message:
        # Telegram Stars: currency XTR, one price, and no payment provider (an empty token).
        # The invoice carries Telegram's own Pay button and no other: a keyboard on an
        # invoice must start with that button, so the reply's buttons are not attached.
        description = invoice.description or invoice.title
        return await self._bot.send_invoice(
            self._chat_id,
            _shorten(invoice.title, InvoiceLimit.MAX_TITLE_LENGTH),
            _shorten(description, InvoiceLimit.MAX_DESCRIPTION_LENGTH),
            invoice.payload,
            currency=invoice.currency,
            prices=[LabeledPrice(invoice.label, invoice.amount)],
            provider_token="",
        )

    async def edit(self, ref: MessageRef, reply: Reply) -> None:
        self.close()
        try:
            await self._bot.edit_message_text(
                _cut(html_text(reply), MessageLimit.MAX_TEXT_LENGTH),
                chat_id=int(ref.chat_id),
                message_id=int(ref.message_id),
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(reply),
            )
        except BadRequest as error:
            # An edit to the same text (a repeated progress step) is not a failure.
            if "message is not modified" not in str(error).lower():
                raise

    async def download(self, attachment: Attachment) -> bytes:
        # getFile, then the file itself from the (possibly self-hosted) file server.
        file = await self._bot.get_file(attachment.file_id)
        return bytes(await file.download_as_bytearray())

    async def answer_payment(self, ok: bool, error: str | None = None) -> None:
        if self._pre_checkout_query_id is None:
            raise RuntimeError("no pre-checkout query to answer")
        self.close()
        self.payment_answered = True  # a query is answered once, even if this call fails
        await self._bot.answer_pre_checkout_query(
            self._pre_checkout_query_id, ok=ok, error_message=None if ok else error
        )


def _cut(text: str, limit: int) -> str:
    # Escaping can only lengthen text, and entities must not be cut in half: cut before them.
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if (amp := cut.rfind("&")) > cut.rfind(";"):
        cut = cut[:amp]
    return cut + "…"


def _shorten(text: str, limit: int) -> str:
    # Invoice titles and descriptions are plain text (no parse mode): no entities to keep whole.
    return text if len(text) <= limit else text[: limit - 1] + "…"
