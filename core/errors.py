"""Errors a person can be told about.

A :class:`DomainError` names what went wrong with a stable ``key`` and the values needed to say
it; the conversation layer turns that into words (``bot/conversation/texts.py``), so every
user-facing sentence lives in one catalogue, ready for translation. Anything that is not a
``DomainError`` is a bug or an outage and is never shown to a user.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class DomainError(Exception):
    """A refusal with a message fit for the person who asked."""

    key: ClassVar[str] = "error.domain"

    def __init__(self, **params: object) -> None:
        self.params: dict[str, object] = params
        super().__init__(f"{self.key} {params}" if params else self.key)


class CreatorNotFound(DomainError):
    key = "error.creator_not_found"


class AlreadyFollowing(DomainError):
    key = "error.already_following"


class NotFollowing(DomainError):
    key = "error.not_following"


class CannotFollowSelf(DomainError):
    key = "error.cannot_follow_self"


class NotACreator(DomainError):
    """The person asked for a creator-only action but owns no creator profile."""

    key = "error.not_a_creator"


class AccessDenied(DomainError):
    key = "error.access_denied"


class AlreadyRegistered(DomainError):
    key = "error.already_registered"


class EmailTaken(DomainError):
    key = "error.email_taken"


class ChainError(Exception):
    """The chain refused or failed a transaction (not a person's mistake: never shown as is)."""


class ChainRejected(ChainError):
    """The chain refused the transaction for good (it reverted): retrying will not help."""


class PaymentError(Exception):
    """A payment provider refused or failed a request (an outage, not a person's mistake)."""


class NoToken(DomainError):
    """The creator has not created a token yet, so there is nothing to buy."""

    key = "error.no_token"


class PurchaseNotFound(DomainError):
    key = "error.purchase_not_found"


class PurchaseNotPayable(DomainError):
    """The purchase was paid already, or is not the asker's: no second payment is taken."""

    key = "error.purchase_not_payable"


class AmountNotPayable(DomainError):
    """The total is outside what any rail here takes in one payment; params: least, most."""

    key = "error.amount_not_payable"


class PaymentUnavailable(DomainError):
    """No payment rail works here (e.g. Telegram Stars outside Telegram)."""

    key = "error.payment_unavailable"


class TokenAlreadyCreated(DomainError):
    key = "error.token_already_created"


class SymbolTaken(DomainError):
    key = "error.symbol_taken"


class NoWalletChallenge(DomainError):
    key = "error.no_wallet_challenge"


class WalletSignatureInvalid(DomainError):
    key = "error.wallet_signature_invalid"


class InsufficientTokens(DomainError):
    key = "error.insufficient_tokens"


class CloneLocked(DomainError):
    """The fan holds too few of the creator's token; params: handle, symbol, needed, held."""

    key = "error.clone_locked"


class CloneUnavailable(DomainError):
    """The clone is for token holders but its creator has no token yet; params: handle."""

    key = "error.clone_unavailable"


class TooManyMessages(DomainError):
    """The fan sent clones more messages than the rate limit; params: limit, seconds, wait."""

    key = "error.too_many_messages"


class AnswerInterrupted(DomainError):
    """The model stopped mid-answer; nothing was recorded or charged."""

    key = "error.answer_interrupted"


class NothingToRate(DomainError):
    """The fan's journey with this creator has not asked for a rating; params: handle."""

    key = "error.nothing_to_rate"


class NotChatting(DomainError):
    key = "error.not_chatting"


class KnowledgeNotFound(DomainError):
    """No knowledge item with this id among the creator's; params: document_id."""

    key = "error.knowledge_not_found"


class DocumentRefused(DomainError):
    """A file that cannot become knowledge; params: name and, by subclass, the limit."""

    key = "error.document_refused"


class DocumentTooLarge(DocumentRefused):
    key = "error.document_too_large"


class DocumentUnsupported(DocumentRefused):
    key = "error.document_unsupported"


class DocumentUnreadable(DocumentRefused):
    key = "error.document_unreadable"


class Reason(StrEnum):
    """Why an input was refused; each has its own sentence in the catalogue."""

    NAME_REQUIRED = "name_required"
    EMAIL_REQUIRED = "email_required"
    EMAIL_INVALID = "email_invalid"
    NICHES_REQUIRED = "niches_required"
    TOO_MANY_NICHES = "too_many_niches"
    NICHE_INVALID = "niche_invalid"
    TOO_LONG = "too_long"
    CONTROL_CHARACTERS = "control_characters"
    HANDLE_INVALID = "handle_invalid"
    URL_INVALID = "url_invalid"
    LIMIT_INVALID = "limit_invalid"
    SYMBOL_INVALID = "symbol_invalid"
    PRICE_INVALID = "price_invalid"
    ADDRESS_INVALID = "address_invalid"
    AMOUNT_INVALID = "amount_invalid"
    NUMBER_INVALID = "number_invalid"
    TEMPERATURE_INVALID = "temperature_invalid"
    TEXT_REQUIRED = "text_required"
    STEP_INVALID = "step_invalid"
    HOURS_INVALID = "hours_invalid"


class InvalidInput(DomainError):
    """An argument failed validation; ``reason`` selects the sentence, params fill it."""

    key = "error.invalid_input"

    def __init__(self, reason: Reason, **params: object) -> None:
        self.reason = reason
        super().__init__(**params)

    @property
    def message_key(self) -> str:
        return f"invalid.{self.reason.value}"


class LinkCodeInvalid(DomainError):
    """A /link code that is not one, or was used already."""

    key = "error.link_code_invalid"


class LinkCodeExpired(DomainError):
    key = "error.link_code_expired"


class LinkOwnCode(DomainError):
    """The code was typed on the account that asked for it."""

    key = "error.link_own_code"


class LinkSamePlatform(DomainError):
    """params: platform (where the code was asked for, and typed)."""

    key = "error.link_same_platform"


class LinkWouldLoseData(DomainError):
    """The account typing the code has follows, tokens, journeys or a creator of its own;
    params: platform (where the code was asked for)."""

    key = "error.link_would_lose_data"


class RolesOutsideServer(DomainError):
    """/gate where there is no server (a DM, another platform)."""

    key = "error.roles_outside_server"


class RolesNotAllowed(DomainError):
    """/gate by someone who may not manage the server's roles."""

    key = "error.roles_not_allowed"


class LinkAlreadyLinked(DomainError):
    """The person of the code has an account on this platform already; params: platform."""

    key = "error.link_already_linked"
