"""What a command handler gets: the request, the person, the services and a way to answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from bot.conversation.messages import Incoming, MessageRef, Reply, Responder
from core.model import UserRef
from core.services.broadcasts import BroadcastService
from core.services.clone_chat import CloneChat
from core.services.clones import CloneService
from core.services.creators import CreatorService
from core.services.events import EventService
from core.services.follows import FollowService
from core.services.identities import IdentityService
from core.services.journey_engine import JourneyEngine
from core.services.journeys import JourneyService
from core.services.knowledge import KnowledgeService
from core.services.linking import LinkService
from core.services.purchases import PurchaseService
from core.services.roles import RoleGateService
from core.services.saga import PurchaseSaga
from core.services.settlement import ChainSettlement
from core.services.tokens import TokenService
from core.services.wallets import WalletService


@dataclass(frozen=True, slots=True)
class Services:
    """The core services the conversation may call (built in ``bot/bootstrap.py``)."""

    identities: IdentityService
    creators: CreatorService
    follows: FollowService
    events: EventService
    tokens: TokenService
    wallets: WalletService
    purchases: PurchaseService
    saga: PurchaseSaga
    clones: CloneService
    clone_chat: CloneChat
    knowledge: KnowledgeService
    settlement: ChainSettlement
    broadcasts: BroadcastService
    journeys: JourneyService
    links: LinkService
    roles: RoleGateService
    journey_engine: JourneyEngine


# Runs a coroutine as a task of its own, named for the logs; its failure is logged.
Spawn = Callable[[Coroutine[Any, Any, Any], str], None]


class UsageError(Exception):
    """A command got missing or malformed arguments: the router answers with its usage line."""


@dataclass(frozen=True, slots=True)
class Context:
    incoming: Incoming
    command: str
    args: str
    services: Services
    responder: Responder
    commands: Sequence[Command]
    # Starts work that outlives the command (watching a broadcast), so that the chat is free.
    spawn: Spawn

    @property
    def who(self) -> UserRef:
        return self.who_of(self.incoming)

    @staticmethod
    def who_of(incoming: Incoming) -> UserRef:
        """The person behind ``incoming`` (reachable at this chat when it is private)."""
        return UserRef(
            platform=incoming.platform,
            platform_user_id=incoming.user_id,
            name=incoming.name,
            chat_id=incoming.chat_id if incoming.is_private else None,
        )

    def require_args(self) -> str:
        """The argument text, or UsageError if there is none."""
        if not self.args:
            raise UsageError()
        return self.args


# A handler returns the reply to send, or the message it already sent and edited itself
# (streamed answers, progress).
Handler = Callable[[Context], Awaitable[Reply | MessageRef]]


@dataclass(frozen=True, slots=True)
class Command:
    """A command: its name, handler, who it is for (``fan`` / ``creator``) and its help texts.

    ``description`` and ``usage`` are keys in the texts catalogue: ``cmd.NAME`` / ``usage.NAME``.
    """

    name: str
    handler: Handler
    audience: str = "fan"

    @property
    def description_key(self) -> str:
        return f"cmd.{self.name}"

    @property
    def usage_key(self) -> str:
        return f"usage.{self.name}"

    @property
    def syntax_key(self) -> str:
        return f"syntax.{self.name}"
