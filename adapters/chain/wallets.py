"""Custodial wallets from the bot's BIP-39 mnemonic, and EIP-191 signature checks.

Every key comes from one mnemonic: the token owner (minter) is account index 0, the custodial
wallet of user id N is index N, both on the standard path ``m/44'/60'/0'/0/N``. The mnemonic is
a secret: it is never logged, and a generated one is kept in a 0600 file outside the repository.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from eth_account import Account
from eth_account.hdaccount import key_from_seed, seed_from_mnemonic
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

OWNER_INDEX = 0
_HD_PATH = "m/44'/60'/0'/0/{}"


class HdWallets:
    """The ``Wallets`` port: BIP-44 addresses from one mnemonic, and who signed a message."""

    def __init__(self, mnemonic: str) -> None:
        try:
            # The seed (PBKDF2, ≈2 ms) once; each account is then a cheap derivation (≈0.3 ms).
            self._seed = seed_from_mnemonic(" ".join(mnemonic.split()), "")
        except Exception:
            # eth-account's message quotes the words: never let them reach a log.
            raise ValueError("the mnemonic is not a valid BIP-39 phrase") from None
        self._address = lru_cache(maxsize=4096)(self._derive_address)

    def __repr__(self) -> str:
        return "HdWallets(<mnemonic hidden>)"

    def account(self, index: int) -> LocalAccount:
        """The key pair at ``m/44'/60'/0'/0/index``."""
        if not 0 <= index < 2**31:
            raise ValueError(f"no HD account index {index}")
        account: LocalAccount = Account.from_key(key_from_seed(self._seed, _HD_PATH.format(index)))
        return account

    def owner_account(self) -> LocalAccount:
        """The bot's own account (index 0): it deploys, mints and burns every token."""
        return self.account(OWNER_INDEX)

    def custodial_address(self, user_id: int) -> str:
        if user_id < 1:  # index 0 is the owner's key: no person may share it
            raise ValueError(f"user ids start at 1, not {user_id}")
        return self._address(user_id)

    def signer_of(self, message: str, signature: str) -> str | None:
        raw = _signature_bytes(signature)
        if raw is None:
            return None
        try:
            signer = Account.recover_message(encode_defunct(text=message), signature=raw)
        except Exception:  # r or s out of range, no point on the curve: not a signature
            return None
        return str(signer)

    def _derive_address(self, user_id: int) -> str:
        return str(self.account(user_id).address)


def _signature_bytes(signature: str) -> bytes | None:
    """65 bytes ``r‖s‖v`` with v 27/28 (or 0/1, as some hardware wallets write it), else None."""
    text = signature.strip().removeprefix("0x").removeprefix("0X")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return None
    if len(raw) != 65 or raw[64] not in (0, 1, 27, 28):
        return None
    return raw[:64] + bytes([27 + raw[64] % 27])


def load_or_create_mnemonic(configured: str | None, path: Path) -> tuple[str, bool]:
    """The bot's mnemonic and whether it was generated just now.

    A configured mnemonic wins. Otherwise it is read from ``path``; if that file does not exist
    a new 12-word mnemonic is generated and written there (mode 0600, folders 0700) — the
    caller should warn that the keys now live in that file and must be backed up.
    """
    if configured and configured.strip():
        return " ".join(configured.split()), False
    path = path.expanduser()
    try:
        return " ".join(path.read_text(encoding="utf-8").split()), False
    except FileNotFoundError:
        pass
    Account.enable_unaudited_hdwallet_features()
    _, mnemonic = Account.create_with_mnemonic()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # O_EXCL: if another process created it meanwhile, keep theirs and use it.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return " ".join(path.read_text(encoding="utf-8").split()), False
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(mnemonic + "\n")
    return mnemonic, True
