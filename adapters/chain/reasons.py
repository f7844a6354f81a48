"""Texts for what went wrong on chain: revert reasons, replayed failures, exceptions."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import decode
from web3 import AsyncWeb3
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.providers.async_base import AsyncBaseProvider
from web3.types import TxParams, TxReceipt


async def failure_reason(
    w3: AsyncWeb3[AsyncBaseProvider], sender: str, tx: dict[str, Any], receipt: TxReceipt
) -> str:
    """Why a mined transaction failed: out of gas, or the revert reason of replaying it.

    The replay is an ``eth_call`` on the block before, so a transaction that failed only because
    of another one earlier in its own block may replay fine; the text then says so.
    """
    if receipt["gasUsed"] >= tx["gas"]:
        return f"out of gas (limit {tx['gas']})"
    replay: TxParams = {"from": sender, "data": tx["data"], "gas": tx["gas"]}
    if "to" in tx:
        replay["to"] = tx["to"]
    try:
        await w3.eth.call(replay, block_identifier=max(receipt["blockNumber"] - 1, 0))
    except ContractLogicError as e:  # the embedded chain; nodes that answer with code 3
        return revert_reason(e.data) or e.message or str(e)
    except Web3RPCError as e:  # e.g. ganache: code -32000 with the revert data
        error: Any = (e.rpc_response or {}).get("error") or {}
        return revert_reason(error.get("data")) or str(error.get("message") or e)
    except Exception as e:
        return f"reverted (the replay to learn why failed: {describe(e)})"
    return "reverted (the replay on the block before succeeded: the state changed)"


ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # the selector of Error(string), a revert reason


def revert_reason(data: object) -> str | None:
    """``reverted: <reason>`` from a revert's return data, if it carries an Error(string)."""
    if not isinstance(data, str) or not data.startswith("0x"):
        return None
    try:
        raw = bytes.fromhex(data[2:])
        if raw[:4] != ERROR_STRING_SELECTOR:
            return None
        (reason,) = decode(["string"], raw[4:])
    except Exception:
        return None
    return f"reverted: {reason}"


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
