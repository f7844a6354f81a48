"""Creator tokens on an EVM chain: :class:`EvmTokenChain`, the ``TokenChain`` port on web3.

Two flavours, chosen by :func:`open_token_chain`: the embedded chain (an
in-process py-evm, see :mod:`adapters.chain.embedded`) or any JSON-RPC node by URL. Either way
the bot's owner key signs every transaction here; the node never holds a key.

- Nonces are kept locally: an ``asyncio.Lock`` covers allocating a nonce, signing and sending,
  so concurrent writes go out in nonce order. When a send fails (or is cancelled) the next one
  re-reads the account's ``pending`` transaction count, so a refused transaction leaves no gap.
- Gas is fixed per operation (no estimate per transaction: estimating halves the throughput);
  the gas price is the node's ``eth_gasPrice`` (a legacy transaction, which every node takes).
- Every write awaits its receipt, within ``receipt_timeout``. A revert (at send, or a failed
  receipt) raises :class:`~core.errors.ChainRejected` naming the operation, the transaction and
  the revert reason (replayed with ``eth_call`` on the block before); a refused send or a
  missing receipt, whose outcome is unknown or may change on a retry, raises ``ChainError``.
- Mints and burns are idempotent by reference: the contract records the keccak256 of each
  reference and reverts a second use. A mint or burn first reads ``applied(ref)`` and sends
  nothing when it is set; one that reverts while the reference became applied meanwhile (a
  concurrent write with the same reference won) returns None as well.
- Arguments that could never be valid (a malformed address, a negative amount) are bugs of the
  caller and raise ``ValueError`` before anything is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Self

from aiohttp import ClientTimeout
from eth_abi.abi import decode
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.exceptions import ContractLogicError, TimeExhausted
from web3.providers.async_base import AsyncBaseProvider
from web3.types import TxParams, TxReceipt

from adapters.chain.artifact import creator_token
from adapters.chain.embedded import embedded_web3
from adapters.chain.reasons import describe, failure_reason, revert_reason
from adapters.chain.values import checked_address, checked_amount, fit_utf8, reference_key
from core.errors import ChainError, ChainRejected

log = logging.getLogger(__name__)

Client = AsyncWeb3[AsyncBaseProvider]

# Measured on py-evm (prague rules), with the reference's SSTORE (≈22k) in mints and burns:
# deploy ≈ 724k (792k with a 128-byte name); the token's first mint ≈ 93k, a first one to another
# holder ≈ 76k, later ones ≈ 59k; a burn ≈ 59k (54k when it empties the balance, after refunds).
# The limits leave room for costlier forks.
DEPLOY_GAS = 1_200_000
MINT_GAS = 150_000
VOID_GAS = 80_000  # one new storage slot (≈ 45k measured)
BURN_GAS = 120_000
GAS_PRICE_TTL = 5.0  # seconds
# The contract's String[128] name and String[32] symbol, in UTF-8 bytes.
NAME_MAX_BYTES = 128
SYMBOL_MAX_BYTES = 32


class EvmTokenChain:
    """The ``TokenChain`` port: deploys, mints and burns creator tokens as the owner account."""

    def __init__(
        self,
        w3: Client,
        owner: LocalAccount,
        chain_id: int,
        *,
        receipt_timeout: float = 60.0,
        poll_interval: float = 0.05,
    ) -> None:
        self._artifact = creator_token()
        self._w3 = w3
        self._owner = owner
        self._chain_id = chain_id
        self._receipt_timeout = receipt_timeout
        self._poll_interval = poll_interval
        self._nonce: int | None = None
        self._gas_price_at: tuple[int, float] | None = None
        self._nonce_lock = asyncio.Lock()

    @classmethod
    async def connect(
        cls, w3: Client, owner: LocalAccount, *, receipt_timeout: float = 60.0
    ) -> EvmTokenChain:
        """Ask the node for its chain id (checking that it answers) and wrap it."""
        try:
            chain_id = await w3.eth.chain_id
        except Exception as e:
            raise ChainError(f"the chain does not answer: {describe(e)}") from e
        return cls(w3, owner, chain_id, receipt_timeout=receipt_timeout)

    @property
    def owner_address(self) -> ChecksumAddress:
        return self._owner.address

    @property
    def web3(self) -> Client:
        return self._w3

    async def deploy_token(self, name: str, symbol: str) -> str:
        if len(symbol.encode("utf-8")) > SYMBOL_MAX_BYTES:
            raise ValueError(f"a token symbol has at most {SYMBOL_MAX_BYTES} bytes: {symbol!r}")
        data = self._artifact.deploy_data(fit_utf8(name, NAME_MAX_BYTES), symbol)
        receipt = await self._transact(f"deploy {symbol}", None, data, DEPLOY_GAS)
        address = receipt["contractAddress"]
        if address is None:
            raise ChainError(f"deploy {symbol}: the receipt names no contract address")
        log.info("deployed token %s at %s", symbol, address)
        return str(address)

    async def mint(self, token: str, to: str, amount: int, reference: str) -> str | None:
        args = (checked_address(to), checked_amount(amount), reference_key(reference))
        data = self._artifact.call_data("mint", *args)
        what = f"mint {amount} to {to} ({reference})"
        return await self._transact_once(what, token, reference, data, MINT_GAS)

    async def burn(self, token: str, holder: str, amount: int, reference: str) -> str | None:
        args = (checked_address(holder), checked_amount(amount), reference_key(reference))
        data = self._artifact.call_data("burn", *args)
        what = f"burn {amount} of {holder} ({reference})"
        return await self._transact_once(what, token, reference, data, BURN_GAS)

    async def void(self, token: str, reference: str) -> bool:
        data = self._artifact.call_data("void", reference_key(reference))
        what = f"void {reference}"
        return await self._transact_once(what, token, reference, data, VOID_GAS) is not None

    async def applied(self, token: str, reference: str) -> bool:
        return bool(await self._read(token, "bool", "applied", reference_key(reference)))

    async def balance_of(self, token: str, holder: str) -> int:
        return int(await self._read(token, "uint256", "balanceOf", checked_address(holder)))

    async def total_supply(self, token: str) -> int:
        return int(await self._read(token, "uint256", "totalSupply"))

    async def aclose(self) -> None:
        """Release the connection (the embedded chain's worker thread, or HTTP sessions)."""
        with contextlib.suppress(NotImplementedError):  # a provider with nothing to release
            await self._w3.provider.disconnect()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- internals --

    async def _read(self, token: str, result_type: str, function: str, *args: Any) -> Any:
        call: TxParams = {
            "from": self._owner.address,
            "to": checked_address(token),
            "data": self._artifact.call_data(function, *args),
        }
        try:
            result = await self._w3.eth.call(call)
            (value,) = decode([result_type], result)
        except Exception as e:
            raise ChainError(f"{function} on {token}: {describe(e)}") from e
        return value

    async def _transact_once(
        self, what: str, token: str, reference: str, data: bytes, gas: int
    ) -> str | None:
        """Send a mint or burn: the hash, or None if its reference was applied already.

        Not read before sending: the contract refuses a used reference itself, so only a
        repeat (rare: a resumed step) pays for a reverted transaction, and every first write
        saves a round trip (≈6 ms, a quarter of a mint on the embedded chain).
        """
        address = checked_address(token)
        try:
            receipt = await self._transact(what, address, data, gas)
        except ChainRejected as rejected:
            # A concurrent write with this reference may have won: then there is nothing to do.
            try:
                won = await self.applied(address, reference)
            except ChainError as e:  # unknown whether it was a race: a retry will tell
                raise ChainError(f"{rejected}; whether the reference is applied: {e}") from rejected
            if not won:
                raise
            log.info("%s on %s: the reference was applied meanwhile (%s)", what, address, rejected)
            return None
        return receipt["transactionHash"].to_0x_hex()

    async def _gas_price(self, what: str) -> int:
        # Asked again after GAS_PRICE_TTL: one round trip fewer per transaction, and a price
        # at most that old (a legacy transaction with it is still mined on a busy node).
        now = time.monotonic()
        if self._gas_price_at is None or now - self._gas_price_at[1] > GAS_PRICE_TTL:
            try:
                self._gas_price_at = (await self._w3.eth.gas_price, now)
            except Exception as e:
                raise ChainError(f"{what}: no gas price from the node: {describe(e)}") from e
        return self._gas_price_at[0]

    async def _transact(
        self, what: str, to: ChecksumAddress | None, data: bytes, gas: int
    ) -> TxReceipt:
        gas_price = await self._gas_price(what)
        tx: dict[str, Any] = {
            "data": data,
            "gas": gas,
            "gasPrice": gas_price,
            "chainId": self._chain_id,
            "value": 0,
        }
        if to is not None:
            tx["to"] = to
        async with self._nonce_lock:
            try:
                if self._nonce is None:
                    self._nonce = await self._w3.eth.get_transaction_count(
                        self._owner.address, "pending"
                    )
                tx["nonce"] = self._nonce
                signed = self._owner.sign_transaction(tx)
                tx_hash = await self._w3.eth.send_raw_transaction(signed.raw_transaction)
            except ContractLogicError as e:  # a node that executes it at once and reverts
                self._nonce = None
                reason = revert_reason(e.data) or e.message or describe(e)
                raise ChainRejected(f"{what}: reverted at send: {reason}") from e
            except Exception as e:
                self._nonce = None
                raise ChainError(f"{what}: the node refused the transaction: {describe(e)}") from e
            except BaseException:
                self._nonce = None  # cancelled mid-send: it may or may not have gone out
                raise
            self._nonce += 1
        try:
            receipt = await self._w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=self._receipt_timeout, poll_latency=self._poll_interval
            )
        except TimeExhausted as e:
            raise ChainError(
                f"{what}: no receipt for {tx_hash.to_0x_hex()} "
                f"after {self._receipt_timeout:g} s (it may still be mined)"
            ) from e
        except Exception as e:
            raise ChainError(f"{what}: {tx_hash.to_0x_hex()}: {describe(e)}") from e
        if receipt["status"] != 1:
            reason = await failure_reason(self._w3, self._owner.address, tx, receipt)
            raise ChainRejected(
                f"{what}: transaction {tx_hash.to_0x_hex()} failed "
                f"in block {receipt['blockNumber']}: {reason}"
            )
        return receipt


async def open_token_chain(
    owner: LocalAccount,
    rpc_url: str | None = None,
    *,
    fund: Iterable[str] = (),
    receipt_timeout: float = 60.0,
    request_timeout: float = 30.0,
) -> EvmTokenChain:
    """The chain to use: embedded (no ``rpc_url``) or the JSON-RPC node at ``rpc_url``.

    The embedded chain starts empty, with ``owner`` and every ``fund`` address holding ETH for gas.
    On a node, the owner must already hold ETH there. Close it with ``aclose()``.
    """
    w3: Client
    if rpc_url:
        if fund:
            raise ValueError("only the embedded chain can fund accounts at genesis")
        timeout = ClientTimeout(total=request_timeout)
        w3 = AsyncWeb3(AsyncHTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
    else:
        w3 = embedded_web3([owner.address, *fund])
    try:
        chain = await EvmTokenChain.connect(w3, owner, receipt_timeout=receipt_timeout)
        if rpc_url and await w3.eth.get_balance(owner.address) == 0:
            log.warning("the token owner %s holds no ETH for gas on this node", owner.address)
    except BaseException:
        await w3.provider.disconnect()
        raise
    return chain
