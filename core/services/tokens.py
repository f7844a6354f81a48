"""Creator tokens: creating a creator's ERC-20, wallets, and what a person holds."""

from __future__ import annotations

import logging
import re
from decimal import Decimal, InvalidOperation

from core.errors import ChainError, InvalidInput, Reason, SymbolTaken, TokenAlreadyCreated
from core.model import Entity, EntityType, EventType, Holding, Relation, Token, UserRef
from core.ports import Clock, TokenChain, UnitOfWork, UnitOfWorkFactory, Wallets
from core.services.event_log import log_event
from core.services.identities import owned_creator, resolve_user
from core.services.reconciliation import Reconciliation, expected_on_chain, reconcile

log = logging.getLogger(__name__)

_SYMBOL = re.compile(r"[A-Z]{2,8}")
PRICE_MAX_CENTS = 1_000_000  # $10,000 for one token is already absurd


def clean_symbol(value: str) -> str:
    symbol = value.strip().removeprefix("$").upper()
    if not _SYMBOL.fullmatch(symbol):
        raise InvalidInput(Reason.SYMBOL_INVALID, value=value.strip()[:20])
    return symbol


def price_to_cents(value: str) -> int:
    """``"1.50"`` or ``"$2"`` → cents; more than two decimals, ≤ 0 or absurd are refused."""
    text = value.strip().removeprefix("$").replace(",", "")
    refused = InvalidInput(Reason.PRICE_INVALID, value=value.strip()[:20])
    try:
        price = Decimal(text)
    except InvalidOperation:
        raise refused from None
    exponent = price.as_tuple().exponent
    # Finite, at most two decimals, and small enough that no arithmetic can overflow.
    if not isinstance(exponent, int) or exponent < -2 or price.adjusted() > 6:
        raise refused
    cents = int(price * 100)
    if not 0 < cents <= PRICE_MAX_CENTS:
        raise refused
    return cents


async def token_of(uow: UnitOfWork, creator_id: int) -> Token | None:
    """The token a creator issued, if any."""
    issued = await uow.connections.targets(creator_id, Relation.ISSUED, 1)
    entity = await uow.entities.get(issued[0]) if issued else None
    return Token.from_entity(entity, creator_id) if entity else None


class TokenService:
    """Each creator may issue one token; fans hold them in custodial wallets."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, chain: TokenChain, wallets: Wallets
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._chain = chain
        self._wallets = wallets

    async def create(self, who: UserRef, symbol: str, price_usd: str) -> Token:
        """Deploy the ERC-20 of the creator ``who`` owns, priced ``price_usd`` per token.

        Refused with NotACreator, TokenAlreadyCreated, SymbolTaken or InvalidInput before
        anything is deployed. The deployment happens outside any transaction (it takes a
        while); its address is then stored, re-checking both rules, in one unit of work.
        """
        symbol = clean_symbol(symbol)
        cents = price_to_cents(price_usd)
        async with self._uow() as uow:
            creator = await self._check_can_issue(uow, who, symbol)
            await uow.commit()
        address = await self._chain.deploy_token(creator.name, symbol)
        async with self._uow() as uow:
            creator = await self._check_can_issue(uow, who, symbol)
            properties = {"symbol": symbol, "price_cents": cents, "address": address}
            token_id = await uow.entities.add(
                EntityType.TOKEN, creator.name, symbol.lower(), properties, self._clock.now()
            )
            if token_id is None:
                raise SymbolTaken(symbol=symbol)
            if not await uow.connections.add(
                creator.id, token_id, Relation.ISSUED, {}, self._clock.now()
            ):
                # A /token of the same creator that ran at the same time won.
                winner = await token_of(uow, creator.id)
                raise TokenAlreadyCreated(symbol=winner.symbol if winner else symbol)
            await log_event(
                uow,
                self._clock,
                token_id,
                EventType.TOKEN_CREATED,
                actor_id=await resolve_user(uow, self._clock, who),
                metadata={"symbol": symbol, "price_cents": cents, "address": address},
            )
            token = await token_of(uow, creator.id)
            await uow.commit()
        assert token is not None
        return token

    async def _check_can_issue(self, uow: UnitOfWork, who: UserRef, symbol: str) -> Entity:
        creator = await owned_creator(uow, await resolve_user(uow, self._clock, who))
        existing = await token_of(uow, creator.id)
        if existing is not None:
            raise TokenAlreadyCreated(symbol=existing.symbol)
        if await uow.entities.by_handle(EntityType.TOKEN, symbol.lower()) is not None:
            raise SymbolTaken(symbol=symbol)
        return creator

    async def reconcile(self) -> Reconciliation:
        """Every ledger balance against the chain; the drifts found (none when they agree)."""
        return await reconcile(self._uow, self._chain, self._wallets)

    async def holdings(self, who: UserRef) -> list[Holding]:
        """What ``who`` holds by the ledger, with each balance as the chain reports it."""
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            balances = await uow.ledger.holdings(user_id)
            entities = await uow.entities.get_many(list(balances))
            found: list[tuple[Token, str, int]] = []
            for token_id, amount in balances.items():
                issuers = await uow.connections.sources(token_id, Relation.ISSUED, 1)
                creators = await uow.entities.get_many(issuers)
                handle = (creators[issuers[0]].handle or "") if issuers else ""
                token = Token.from_entity(entities[token_id], issuers[0] if issuers else 0)
                found.append((token, handle, amount))
            await uow.commit()
        address = self._wallets.custodial_address(user_id)
        holdings = []
        for token, handle, amount in found:
            try:
                on_chain: int | None = await self._chain.balance_of(token.address, address)
            except ChainError:
                log.warning("chain balance unavailable for %s", token.symbol, exc_info=True)
                on_chain = None
            holdings.append(Holding(token, handle, amount, on_chain))
        return holdings


async def replay_onto_fresh_chain(
    uow_factory: UnitOfWorkFactory, clock: Clock, chain: TokenChain, wallets: Wallets
) -> tuple[int, int]:
    """Rebuild a fresh (embedded, in-memory) chain from the ledger; return (tokens, mints).

    Each token is deployed again (its stored address updated) and every balance the ledger
    holds is minted to its holder's custodial address, less what no settlement has carried to
    the chain yet (the settlement job mints or burns that, on this chain as on any).
    """
    async with uow_factory() as uow:
        tokens = await uow.entities.all_of_type(EntityType.TOKEN)
        balances = await expected_on_chain(uow)
    addresses: dict[int, str] = {}
    for entity in tokens:
        addresses[entity.id] = await chain.deploy_token(entity.name, entity.properties["symbol"])
    if addresses:
        async with uow_factory() as uow:
            for entity in tokens:
                moved = {**entity.properties, "address": addresses[entity.id]}
                await uow.entities.update(entity.id, moved, clock.now())
                await log_event(
                    uow,
                    clock,
                    entity.id,
                    EventType.TOKEN_REDEPLOYED,
                    metadata={"address": addresses[entity.id]},
                )
            await uow.commit()
    for holder_id, token_id, amount in balances:
        await chain.mint(
            addresses[token_id],
            wallets.custodial_address(holder_id),
            amount,
            f"replay:{holder_id}:{token_id}",
        )
    return len(addresses), len(balances)
