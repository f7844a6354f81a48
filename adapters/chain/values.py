"""Checks of the arguments the chain adapters are given (bad ones are the caller's bugs)."""

from __future__ import annotations

from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from web3 import Web3


def checked_address(value: str) -> ChecksumAddress:
    if not Web3.is_address(value):
        raise ValueError(f"not an address: {value!r}")
    return Web3.to_checksum_address(value)


def checked_amount(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**256:
        raise ValueError(f"not a token amount: {value!r}")
    return value


def reference_key(reference: str) -> bytes:
    """The contract's bytes32 for a mint or burn reference: keccak256 of its UTF-8 text."""
    if not isinstance(reference, str) or not reference:
        raise ValueError(f"not a reference: {reference!r}")
    return keccak(text=reference)


def fit_utf8(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, on a character boundary."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
