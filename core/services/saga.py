"""The purchase saga: every paid purchase ends minted and credited, refunded, or clawed back.

:meth:`PurchaseSaga.advance` looks at a purchase and takes the next step its state calls for
(see the diagram in :mod:`core.purchases`), until none is left or a step must wait. Each step
can be repeated after a crash at any point without doing anything twice:

- mint and burn carry the purchase's reference, which the token contract records, so a
  repeated mint changes nothing (and on a fresh embedded chain, rebuilt from the ledger, the
  mint that never reached the ledger is simply made again);
- the ledger takes each reference once;
- refunds look for an earlier refund of the payment before making one;
- every state change is conditional on the state it leaves.

Order matters where chain and ledger both move: the chain first, then the ledger with the
state change in one transaction. The ledger is the truth the chain is rebuilt from, so it must
never record what the chain might not have.

Steps that fail for a reason that may pass (the chain or provider unreachable) count an attempt
and wait for :meth:`resume` (a job); a mint that the chain refuses for good, or that failed
``max_attempts`` times, is refunded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from core.errors import ChainError, ChainRejected, PaymentError
from core.model import EventType
from core.ports import (
    Clock,
    Notifier,
    PaymentGateway,
    TokenChain,
    UnitOfWork,
    UnitOfWorkFactory,
    Wallets,
)
from core.purchases import Purchase, PurchaseState
from core.services.event_log import log_event
from core.services.journey_engine import wake_gate
from core.services.ledger import move_tokens

log = logging.getLogger(__name__)

State = PurchaseState
# What the fan is told when a purchase reaches each outcome (texts in the catalogue).
NOTICES = {
    State.COMPLETED: "purchase.completed",
    State.REFUNDED: "purchase.refunded",
    State.CLAWED_BACK: "purchase.clawed_back",
}
_MAX_STEPS = 10  # a purchase has at most six steps; more means a bug, not work


class PurchaseSaga:
    """Moves paid purchases to their outcome; safe to run again at any time."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        chain: TokenChain,
        wallets: Wallets,
        gateways: dict[str, PaymentGateway],
        notifier: Notifier,
        *,
        max_attempts: int = 10,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._chain = chain
        self._wallets = wallets
        self._gateways = gateways
        self._notifier = notifier
        self._max_attempts = max_attempts
        self._locks: dict[int, _Users] = {}
        self._tokens: dict[int, TokenRef] = {}

    async def advance(self, purchase_id: int, known: Purchase | None = None) -> Purchase | None:
        """Take every step this purchase is owed now; the purchase as it is afterwards.

        ``known``: the purchase as its caller just wrote it (saves reading it again; a stale
        copy is harmless, every step re-checks the state it leaves).
        """
        users = self._locks.get(purchase_id)
        if users is None:
            users = self._locks[purchase_id] = _Users(asyncio.Lock())
        fresh = not users.lock.locked()  # nobody moved it on since the caller wrote ``known``
        users.count += 1
        try:
            async with users.lock:
                found: tuple[Purchase, TokenRef] | None
                if known is not None and fresh:
                    found = (known, await self._token(known.token_id))
                else:
                    found = await self._load(purchase_id)
                for _ in range(_MAX_STEPS):
                    if found is None:
                        return None
                    purchase, token = found
                    step = self._next_step(purchase)
                    if step is None:
                        return purchase
                    try:
                        moved = await step(purchase, token)
                    except _MovedOn:
                        # Raised inside the step's unit of work, so it is closed (rolled
                        # back) before the purchase is read again.
                        moved = await self._reload(purchase)
                    if moved is None:  # waiting for an outage to pass
                        return purchase
                    # A step returns the purchase as it left it, or as another worker did.
                    found = (moved, token)
                raise RuntimeError(f"purchase {purchase_id} did not settle in {_MAX_STEPS} steps")
        finally:
            # Dropped only when no caller holds or awaits it: a released lock with a waiter
            # not yet resumed looks unlocked, and a new lock then would let two run at once.
            users.count -= 1
            if users.count == 0:
                del self._locks[purchase_id]

    async def resume(self, batch: int = 200, concurrency: int = 8) -> int:
        """Advance every purchase a step is owed to (after a crash, or on a timer).

        Returns how many were looked at. One purchase failing does not stop the others.
        """
        async with self._uow() as uow:
            due = await uow.purchases.unfinished(batch)
            await uow.commit()
        gate = asyncio.Semaphore(concurrency)

        async def one(purchase_id: int) -> None:
            async with gate:
                try:
                    await self.advance(purchase_id)
                except Exception:
                    log.exception("purchase %d: resuming failed", purchase_id)

        await asyncio.gather(*(one(purchase_id) for purchase_id in due))
        return len(due)

    def _next_step(self, p: Purchase) -> Step | None:
        if p.state is State.PAID:
            # Even when reversed already: minted and credited first, then clawed back. A
            # shortcut ("cancel, nothing was minted") would race a mint in flight elsewhere.
            return self._mint_and_credit
        if p.state is State.COMPLETED and p.reversal:
            return self._start_clawback
        if p.state is State.CLAWING_BACK:
            return self._clawback
        if p.state is State.REFUNDING:
            return self._refund
        if p.state in NOTICES and p.notified != p.state:
            return self._tell_fan
        return None

    # -- steps: each returns the purchase as it left it, or None when it must wait --

    async def _mint_and_credit(self, p: Purchase, token: TokenRef) -> Purchase | None:
        holder = self._wallets.custodial_address(p.fan_id)
        try:
            await self._chain.mint(token.address, holder, p.amount, p.reference)
        except ChainError as e:
            final = isinstance(e, ChainRejected) or p.attempts + 1 >= self._max_attempts
            if not final:
                return await self._mint_failed(p, str(e), final=False)
            # Refund only a mint that can never land: an earlier attempt may still be queued
            # on the node (no receipt in time). Voiding the reference settles it either way.
            try:
                voided = await self._chain.void(token.address, p.reference)
            except ChainError as unknown:
                await self._count_attempt(p, f"{e}; voiding its reference: {unknown}")
                return None
            if voided:
                return await self._mint_failed(p, str(e), final=True)
            log.info("purchase %d: the mint landed after all (%s); crediting it", p.id, e)
        changes = {"state": State.COMPLETED, "last_error": None}
        async with self._uow() as uow:
            if not await uow.purchases.update(
                p.id, changes, self._clock.now(), expected=State.PAID
            ):
                raise _MovedOn
            await move_tokens(
                uow,
                self._clock,
                token_id=p.token_id,
                holder_id=p.fan_id,
                amount=p.amount,
                kind="purchase",
                reference=p.reference,
                metadata={"rail": p.rail, "paid": p.paid_amount, "currency": p.paid_currency},
            )
            await self._event(uow, p, EventType.PURCHASE_COMPLETED)
            await wake_gate(uow, self._clock, p.fan_id, p.token_id)
            await uow.commit()
        return replace(p, state=State.COMPLETED, last_error=None)

    async def _mint_failed(self, p: Purchase, error: str, *, final: bool) -> Purchase | None:
        log.warning("purchase %d: mint failed (attempt %d): %s", p.id, p.attempts + 1, error)
        changes: dict[str, Any] = {"attempts": p.attempts + 1, "last_error": error[:500]}
        if final:
            changes["state"] = State.REFUNDING
        async with self._uow() as uow:
            if not await uow.purchases.update(
                p.id, changes, self._clock.now(), expected=State.PAID
            ):
                raise _MovedOn
            if final:
                await self._event(uow, p, EventType.PURCHASE_MINT_FAILED, error=error[:200])
            await uow.commit()
        return replace(p, **changes) if final else None

    async def _start_clawback(self, p: Purchase, token: TokenRef) -> Purchase | None:
        # Fixed now, so that the burn and the debit after it take the same amount.
        async with self._uow() as uow:
            held = (await uow.ledger.holdings(p.fan_id)).get(p.token_id, 0)
            amount = min(held, p.amount)
            if amount < p.amount:
                log.warning("purchase %d: only %d of %d left to claw back", p.id, amount, p.amount)
            changes = {"state": State.CLAWING_BACK, "clawback_amount": amount}
            if not await uow.purchases.update(
                p.id, changes, self._clock.now(), expected=State.COMPLETED
            ):
                raise _MovedOn
            await uow.commit()
        return replace(p, state=State.CLAWING_BACK, clawback_amount=amount)

    async def _clawback(self, p: Purchase, token: TokenRef) -> Purchase | None:
        amount = p.clawback_amount or 0
        burned = True
        if amount:
            holder = self._wallets.custodial_address(p.fan_id)
            try:
                await self._chain.burn(token.address, holder, amount, p.clawback_reference)
            except ChainRejected as e:
                # The chain holds less than the ledger says (clone rewards not settled yet, or
                # real drift): debit now and let settlement burn it once the chain can; a real
                # drift stays open there and is reported.
                log.warning("purchase %d: clawback burn refused, settling later: %s", p.id, e)
                burned = False
            except ChainError as e:
                await self._count_attempt(p, str(e))
                return None
        async with self._uow() as uow:
            changes = {"state": State.CLAWED_BACK}
            if not await uow.purchases.update(
                p.id, changes, self._clock.now(), expected=State.CLAWING_BACK
            ):
                raise _MovedOn
            if amount:
                await move_tokens(
                    uow,
                    self._clock,
                    token_id=p.token_id,
                    holder_id=p.fan_id,
                    amount=-amount,
                    kind="clawback",
                    reference=p.clawback_reference,
                    metadata={"reason": p.reversal},
                    settle_later=not burned,
                )
            await self._event(uow, p, EventType.PURCHASE_CLAWED_BACK, amount=amount)
            await uow.commit()
        return replace(p, state=State.CLAWED_BACK)

    async def _refund(self, p: Purchase, token: TokenRef) -> Purchase | None:
        gateway = self._gateways.get(p.rail or "")
        if gateway is None or p.payment_ref is None:
            log.error("purchase %d: cannot refund on rail %r", p.id, p.rail)
            return None
        try:
            refund = await gateway.refund(p.payment_ref, p.payer)
        except PaymentError as e:
            log.error("purchase %d: refund failed, will retry: %s", p.id, e)
            await self._count_attempt(p, str(e))
            return None
        async with self._uow() as uow:
            changes = {"state": State.REFUNDED}
            if not await uow.purchases.update(
                p.id, changes, self._clock.now(), expected=State.REFUNDING
            ):
                raise _MovedOn
            await self._event(uow, p, EventType.PURCHASE_REFUNDED, refund=refund)
            await uow.commit()
        return replace(p, state=State.REFUNDED)

    async def _tell_fan(self, p: Purchase, token: TokenRef) -> Purchase | None:
        # Told at least once: a crash after the message and before the mark repeats it. A
        # person no chat can reach is not waited for (they see it in /balance); a failed send
        # is tried again by the resume job, up to max_attempts.
        params = {
            "amount": p.amount,
            "clawed_back": p.clawback_amount or 0,
            "purchase_id": p.id,
            "symbol": token.symbol,
        }
        try:
            await self._notifier.notify(p.fan_id, NOTICES[p.state], params)
        except Exception as e:
            log.warning("purchase %d: telling the fan failed: %s", p.id, e, exc_info=True)
            if p.attempts + 1 < self._max_attempts:
                await self._count_attempt(p, f"telling the fan: {e}")
                return None
        async with self._uow() as uow:
            await uow.purchases.update(p.id, {"notified": p.state.value}, self._clock.now())
            await uow.commit()
        return replace(p, notified=p.state.value)

    # -- helpers --

    async def _load(self, purchase_id: int) -> tuple[Purchase, TokenRef] | None:
        async with self._uow() as uow:
            purchase = await uow.purchases.get(purchase_id)
            await uow.commit()
        if purchase is None:
            return None
        return purchase, await self._token(purchase.token_id)

    async def _token(self, token_id: int) -> TokenRef:
        # Cached: a token's address only changes when the embedded chain is rebuilt at
        # start-up (replay_onto_fresh_chain), before any saga runs.
        token = self._tokens.get(token_id)
        if token is None:
            async with self._uow() as uow:
                entity = await uow.entities.get(token_id)
                await uow.commit()
            if entity is None:
                raise RuntimeError(f"token {token_id} is gone")
            props = entity.properties
            token = TokenRef(str(props["address"]), str(props.get("symbol", "")))
            self._tokens[token_id] = token
        return token

    async def _reload(self, p: Purchase) -> Purchase | None:
        # Another worker took this step first: go on from where it left the purchase.
        found = await self._load(p.id)
        return found[0] if found else None

    async def _count_attempt(self, p: Purchase, error: str) -> None:
        async with self._uow() as uow:
            changes = {"attempts": p.attempts + 1, "last_error": error[:500]}
            if await uow.purchases.update(p.id, changes, self._clock.now(), expected=p.state):
                await uow.commit()

    async def _event(self, uow: UnitOfWork, p: Purchase, kind: EventType, **extra: object) -> None:
        await log_event(
            uow,
            self._clock,
            p.token_id,
            kind,
            metadata={"purchase_id": p.id, "amount": p.amount, **extra},
        )


class _MovedOn(Exception):
    """Another worker took this step first: the conditional update changed nothing."""


@dataclass(slots=True)
class _Users:
    """One purchase's lock, and how many callers hold or await it."""

    lock: asyncio.Lock
    count: int = 0


@dataclass(frozen=True, slots=True)
class TokenRef:
    """Where a purchase's token lives, and its symbol (for the fan's message)."""

    address: str
    symbol: str


Step = Callable[[Purchase, TokenRef], Awaitable[Purchase | None]]
