"""What the core needs to move tokens, named by role: the chain creator tokens live on, the
bot's wallets, and the ledger. Re-exported by :mod:`core.ports`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from core.settlements import Settlement


class TokenChain(Protocol):
    """The EVM chain creator tokens live on: one ERC-20 per creator, minted by the bot.

    Amounts are token base units (creator tokens have 0 decimals: one unit is one token).
    Every write waits for its receipt. A write that the chain refused for good (a revert)
    raises ``ChainRejected``; one whose outcome is unknown or that may succeed on a retry
    (the node unreachable, no receipt in time) raises ``ChainError``.

    Mints and burns carry a ``reference`` (``purchase:17``) that the token contract records:
    a second write with the same reference changes nothing and returns None, so a saga that
    resumes after a crash can always repeat its last step.
    """

    async def deploy_token(self, name: str, symbol: str) -> str:
        """Deploy a creator token owned by the bot; return its contract address."""
        ...

    async def mint(self, token: str, to: str, amount: int, reference: str) -> str | None:
        """Mint ``amount`` to ``to``; the transaction hash, or None if ``reference`` was used."""
        ...

    async def burn(self, token: str, holder: str, amount: int, reference: str) -> str | None:
        """Burn ``amount`` held by ``holder``; the hash, or None if ``reference`` was used."""
        ...

    async def balance_of(self, token: str, holder: str) -> int:
        """The on-chain balance of ``holder``."""
        ...

    async def applied(self, token: str, reference: str) -> bool:
        """Whether a mint or burn with ``reference`` is on chain for this token."""
        ...

    async def void(self, token: str, reference: str) -> bool:
        """Use ``reference`` up without minting: True when this did it (no mint with it can
        land any more, even one still queued), False when a mint or burn had used it."""
        ...


class Wallets(Protocol):
    """Custodial addresses derived from the bot's mnemonic, and signature checks."""

    def custodial_address(self, user_id: int) -> str:
        """The address the bot keeps for this person (BIP-44, account index = user id)."""
        ...

    def signer_of(self, message: str, signature: str) -> str | None:
        """The address that signed ``message`` (EIP-191 personal_sign), or None if invalid."""
        ...


class LedgerRepository(Protocol):
    """The append-only ledger of token movements, and the balances it adds up to."""

    async def append(
        self,
        token_id: int,
        holder_id: int,
        amount: int,
        kind: str,
        reference: str,
        metadata: Mapping[str, Any],
        now: datetime,
        *,
        settle_later: bool = False,
    ) -> bool:
        """Record a movement (+credit / -debit); False if ``reference`` was recorded before.

        ``settle_later``: the chain does not have it yet; a settlement carries it there.
        """
        ...

    async def lock_balance(self, holder_id: int, token_id: int) -> None:
        """Hold this balance until the transaction ends: another transaction that changes or
        locks it waits (so per-fan read-then-write steps, like a daily cap, run one at a time)."""
        ...

    async def adjust(self, holder_id: int, token_id: int, delta: int) -> int | None:
        """Change a balance by ``delta``; the new balance, or None (and no change) below 0."""
        ...

    async def recorded(self, reference: str) -> bool:
        """Whether a movement with this reference is in the ledger."""
        ...

    async def holdings(self, holder_id: int) -> dict[int, int]:
        """This person's non-zero balances, by token id."""
        ...

    async def all_holdings(self) -> list[tuple[int, int, int]]:
        """Every non-zero ``(holder_id, token_id, amount)``, for rebuilding a chain."""
        ...

    async def batch_unsettled(self, limit: int, now: datetime) -> list[Settlement]:
        """Net up to ``limit`` movements awaiting settlement (oldest first) into one new open
        settlement per (holder, token), each movement tied to its settlement; the new ones.

        Movements another batch is claiming at the same time are left to it, never in two.
        """
        ...

    async def open_settlements(self, limit: int) -> list[Settlement]:
        """Settlements not marked done yet, oldest first."""
        ...

    async def settlement_done(self, settlement_id: int, tx: str | None, now: datetime) -> bool:
        """Mark a settlement done (its mint or burn is on chain); False if it already was."""
        ...

    async def settlement_failed(self, settlement_id: int, error: str) -> None:
        """Count a failed attempt of an open settlement, with the reason."""
        ...

    async def unsettled(self) -> dict[tuple[int, int], int]:
        """The net amount not on chain yet, by ``(holder_id, token_id)`` (non-zero only):
        movements awaiting settlement plus open settlements."""
        ...
