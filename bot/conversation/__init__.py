"""The platform-neutral conversation: ``Incoming`` in, ``Reply`` out, every command written once.

Frontends (console, Telegram, Discord) only translate between their platform and these types.
"""

from bot.conversation.messages import (
    Attachment,
    Button,
    Incoming,
    Invoice,
    Media,
    MessageRef,
    Payment,
    Reply,
    Responder,
)
from bot.conversation.router import Router

__all__ = [
    "Attachment",
    "Button",
    "Incoming",
    "Invoice",
    "Media",
    "MessageRef",
    "Payment",
    "Reply",
    "Responder",
    "Router",
]
