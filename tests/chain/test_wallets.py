"""HdWallets: BIP-44 custodial addresses, EIP-191 signers, and where the mnemonic is kept."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from adapters.chain import HdWallets, load_or_create_mnemonic
from tests.chain.conftest import TEST_MNEMONIC

MESSAGE = "Link 0xabc to ONE account 7. Code 0123456789abcdef, valid until 2030-01-01 00:00 UTC."


def test_addresses_follow_the_standard_derivation_path(wallets: HdWallets) -> None:
    # Hardhat's and Foundry's well-known accounts #0 and #1 of this mnemonic.
    assert wallets.owner_account().address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert wallets.custodial_address(1) == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    assert wallets.account(1).address == wallets.custodial_address(1)


def test_no_person_gets_the_owners_key(wallets: HdWallets) -> None:
    for user_id in (0, -1):
        with pytest.raises(ValueError, match="start at 1"):
            wallets.custodial_address(user_id)


def test_the_same_mnemonic_gives_the_same_wallets_and_another_gives_others() -> None:
    spaced = f"  {TEST_MNEMONIC.replace(' ', '  ')} \n"
    assert HdWallets(spaced).custodial_address(42) == HdWallets(TEST_MNEMONIC).custodial_address(42)
    _, other = _new_mnemonic()
    assert HdWallets(other).custodial_address(42) != HdWallets(TEST_MNEMONIC).custodial_address(42)


def test_a_bad_mnemonic_is_refused_without_repeating_it() -> None:
    words = "test test test test test test test test test test test test"  # bad checksum
    with pytest.raises(ValueError, match="not a valid BIP-39 phrase") as refused:
        HdWallets(words)
    assert "test test" not in str(refused.value)
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__
    assert TEST_MNEMONIC not in repr(HdWallets(TEST_MNEMONIC))


def test_signer_of_recovers_a_personal_sign_signature(wallets: HdWallets) -> None:
    person = Account.create()
    signed = person.sign_message(encode_defunct(text=MESSAGE))
    assert wallets.signer_of(MESSAGE, signed.signature.to_0x_hex()) == person.address
    assert wallets.signer_of(MESSAGE, signed.signature.hex()) == person.address  # without 0x
    assert wallets.signer_of(MESSAGE + " ", signed.signature.to_0x_hex()) != person.address
    ledger_style = signed.signature[:64] + bytes([signed.v - 27])  # v written as 0/1
    assert wallets.signer_of(MESSAGE, ledger_style.hex()) == person.address


def test_signer_of_a_forged_or_garbled_signature_is_none_or_someone_else(
    wallets: HdWallets,
) -> None:
    person = Account.create()
    signature = bytearray(person.sign_message(encode_defunct(text=MESSAGE)).signature)
    for garbage in ("", "0x", "0x1234", "not a signature", "0x" + "zz" * 65, "0x" + "00" * 65):
        assert wallets.signer_of(MESSAGE, garbage) is None, garbage
    flipped = bytearray(signature)
    flipped[10] ^= 0xFF
    assert wallets.signer_of(MESSAGE, "0x" + flipped.hex()) != person.address  # None or another
    bad_v = bytearray(signature)
    bad_v[64] = 99
    assert wallets.signer_of(MESSAGE, "0x" + bad_v.hex()) is None
    assert wallets.signer_of(MESSAGE, "0x" + signature.hex() + "00") is None  # 66 bytes


def test_a_configured_mnemonic_is_used_and_no_file_written(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "mnemonic"
    assert load_or_create_mnemonic(f" {TEST_MNEMONIC}\n", path) == (TEST_MNEMONIC, False)
    assert not path.exists()


def test_without_one_a_mnemonic_is_generated_once_into_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "one-bot" / "mnemonic"
    mnemonic, generated = load_or_create_mnemonic(None, path)
    assert generated
    assert len(mnemonic.split()) == 12
    HdWallets(mnemonic)  # a valid BIP-39 phrase
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text(encoding="utf-8") == mnemonic + "\n"
    assert load_or_create_mnemonic(None, path) == (mnemonic, False)
    assert load_or_create_mnemonic("", path) == (mnemonic, False)


def _new_mnemonic() -> tuple[str, str]:
    Account.enable_unaudited_hdwallet_features()
    account, mnemonic = Account.create_with_mnemonic()
    return str(account.address), mnemonic
