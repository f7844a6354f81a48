"""What flows between a chat frontend and the conversation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file a person sent: its name, type and how the frontend can fetch it."""

    file_name: str
    mime_type: str | None
    size: int
    file_id: str


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment step reported by the platform (Telegram Stars: pre-checkout, then success)."""

    stage: Literal["pre_checkout", "successful", "refunded"]
    payload: str
    currency: str
    total_amount: int
    provider_charge_id: str | None = None


@dataclass(frozen=True, slots=True)
class Incoming:
    """One thing a person did in a chat: typed a line, or pressed a button.

    ``text`` is what they typed (``/creator alice`` or plain words); ``button`` is the data of a
    pressed button, itself a command line such as ``/follow alice``.
    """

    platform: str
    user_id: str
    chat_id: str
    name: str = ""
    text: str = ""
    button: str | None = None
    attachment: Attachment | None = None
    payment: Payment | None = None
    is_private: bool = True
    # The server or group it happened in (a Discord server's id), and whether the person may
    # manage its roles there: what /gate needs. None and False elsewhere.
    space: str | None = None
    may_manage_roles: bool = False


@dataclass(frozen=True, slots=True)
class Button:
    """A button under a reply: pressing it sends ``data`` back as a command, or opens ``url``."""

    label: str
    data: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.url is None):
            raise ValueError("a button has either data or a url")


@dataclass(frozen=True, slots=True)
class Media:
    """A picture or a file sent with a reply (charts, reports)."""

    kind: Literal["image", "document"]
    data: bytes
    file_name: str


@dataclass(frozen=True, slots=True)
class Invoice:
    """A payment the platform itself collects (Telegram Stars): shown with its own Pay button.

    ``amount`` is in the smallest unit of ``currency`` (for ``XTR``, whole Stars); ``payload``
    comes back with the pre-checkout query and the successful payment.
    """

    title: str
    description: str
    payload: str
    currency: str
    amount: int
    label: str


@dataclass(frozen=True, slots=True)
class Reply:
    """A message to show: plain text (frontends escape it), rows of buttons, maybe a file.

    With an ``invoice`` the frontend sends an invoice instead (its text is the fallback where
    the platform has none).
    """

    text: str
    buttons: tuple[tuple[Button, ...], ...] = field(default=())
    media: Media | None = None
    invoice: Invoice | None = None
    # For the person who asked alone (errors, balances, wallets): where others could see the
    # answer (a Discord server's channel), the frontend shows it to them only.
    private: bool = False

    @property
    def all_buttons(self) -> list[Button]:
        return [button for row in self.buttons for button in row]


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A sent message, so it can be edited in place (progress, streamed answers)."""

    chat_id: str
    message_id: str


class Responder(Protocol):
    """How the conversation talks back; each frontend implements it for its platform."""

    @property
    def stream_every(self) -> float:
        """Seconds between edits of a message that grows (streamed answers, progress):
        as often as the platform allows without hitting its limits."""
        ...

    async def typing(self) -> None:
        """Show that the bot is working on the request (a typing indicator)."""
        ...

    async def send(self, reply: Reply) -> MessageRef:
        """Send a new message and return a reference to it."""
        ...

    async def edit(self, ref: MessageRef, reply: Reply) -> None:
        """Replace the text and buttons of a message sent earlier."""
        ...

    async def answer_payment(self, ok: bool, error: str | None = None) -> None:
        """Accept or refuse a pending payment (Telegram's pre-checkout query)."""
        ...

    async def download(self, attachment: Attachment) -> bytes:
        """The content of a file the person sent."""
        ...
