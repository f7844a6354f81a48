"""Wallets: the custodial address the bot keeps for a person, and linking their own (EIP-191)."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from core.errors import InvalidInput, NoWalletChallenge, Reason, WalletSignatureInvalid
from core.model import EventType, UserRef, Wallet
from core.ports import Clock, UnitOfWorkFactory, Wallets
from core.services.event_log import log_event
from core.services.identities import resolve_user

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
CHALLENGE_TTL = timedelta(minutes=15)


def clean_address(value: str) -> str:
    address = value.strip()
    if not _ADDRESS.fullmatch(address):
        raise InvalidInput(Reason.ADDRESS_INVALID, value=address[:60])
    return address


class WalletService:
    """Shows a person's wallets and links an address they prove they control."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, wallets: Wallets) -> None:
        self._uow = uow
        self._clock = clock
        self._wallets = wallets

    async def show(self, who: UserRef) -> Wallet:
        """The custodial address of ``who`` and the address they linked, if any."""
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            user = await uow.entities.get(user_id)
            await uow.commit()
        linked = user.properties.get("linked_wallet") if user else None
        return Wallet(custodial=self._wallets.custodial_address(user_id), linked=linked)

    async def challenge(self, who: UserRef, address: str) -> str:
        """The message ``who`` must sign with ``address`` to link it (valid 15 minutes)."""
        address = clean_address(address)
        now = self._clock.now()
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            user = await uow.entities.get(user_id)
            assert user is not None
            message = (
                f"Link {address.lower()} to ONE account {user_id}. "
                f"Code {secrets.token_hex(8)}, "
                f"valid until {(now + CHALLENGE_TTL):%Y-%m-%d %H:%M} UTC."
            )
            pending = {"address": address.lower(), "message": message, "issued": now.isoformat()}
            await uow.entities.update(
                user_id, {**user.properties, "wallet_challenge": pending}, now
            )
            await uow.commit()
        return message

    async def link(self, who: UserRef, address: str, signature: str) -> Wallet:
        """Link ``address`` if ``signature`` signs the pending challenge for it; else refuse."""
        address = clean_address(address)
        now = self._clock.now()
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            user = await uow.entities.get(user_id)
            assert user is not None
            pending = user.properties.get("wallet_challenge") or {}
            if pending.get("address") != address.lower() or _expired(pending, now):
                raise NoWalletChallenge(address=address)
            signer = self._wallets.signer_of(pending["message"], signature.strip())
            if signer is None or signer.lower() != address.lower():
                raise WalletSignatureInvalid(address=address)
            properties = {k: v for k, v in user.properties.items() if k != "wallet_challenge"}
            await uow.entities.update(user_id, {**properties, "linked_wallet": signer}, now)
            await log_event(
                uow,
                self._clock,
                user_id,
                EventType.WALLET_LINKED,
                actor_id=user_id,
                metadata={"address": signer},
            )
            await uow.commit()
        return Wallet(custodial=self._wallets.custodial_address(user_id), linked=signer)


def _expired(pending: dict[str, str], now: datetime) -> bool:
    return now >= datetime.fromisoformat(pending["issued"]) + CHALLENGE_TTL
