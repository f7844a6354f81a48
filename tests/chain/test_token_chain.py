"""EvmTokenChain against the real embedded EVM (py-evm in-process): no fakes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3.contract import AsyncContract
from web3.types import TxParams

from adapters.chain import EvmTokenChain, HdWallets, evm, open_token_chain
from adapters.chain.artifact import creator_token
from core.errors import ChainError, ChainRejected


def token_contract(chain: EvmTokenChain, address: str) -> AsyncContract:
    return chain.web3.eth.contract(
        address=chain.web3.to_checksum_address(address), abi=creator_token().abi
    )


async def test_deploys_an_erc20_owned_by_the_bot(chain: EvmTokenChain) -> None:
    address = await chain.deploy_token("Alice Ångström 🎸", "ALICE")
    token = token_contract(chain, address)
    caller: TxParams = {"from": chain.owner_address}
    assert await token.functions.name().call(caller) == "Alice Ångström 🎸"
    assert await token.functions.symbol().call(caller) == "ALICE"
    assert await token.functions.decimals().call(caller) == 0
    assert await token.functions.owner().call(caller) == chain.owner_address
    assert await chain.total_supply(address) == 0


async def test_a_long_name_is_cut_to_the_contract_limit(chain: EvmTokenChain) -> None:
    address = await chain.deploy_token("é" * 80, "LONG")  # 160 UTF-8 bytes, 128 fit
    name = await token_contract(chain, address).functions.name().call({"from": chain.owner_address})
    assert name == "é" * 64


async def test_mints_burns_and_reads_balances(chain: EvmTokenChain, wallets: HdWallets) -> None:
    token = await chain.deploy_token("Alice", "ALICE")
    fan, other = wallets.custodial_address(1), wallets.custodial_address(2)
    tx = await chain.mint(token, fan, 100, "purchase:1")
    assert tx is not None
    assert len(bytes.fromhex(tx.removeprefix("0x"))) == 32
    await chain.mint(
        token, other.lower(), 5, "purchase:2"
    )  # any spelling of an address is accepted
    assert await chain.balance_of(token, fan) == 100
    assert await chain.balance_of(token, other) == 5
    await chain.burn(token, fan, 40, "clawback:1")
    assert await chain.balance_of(token, fan) == 60
    assert await chain.total_supply(token) == 65
    receipt = await chain.web3.eth.get_transaction_receipt(HexStr(tx))
    (transfer,) = token_contract(chain, token).events.Transfer().process_receipt(receipt)
    assert transfer["args"]["receiver"] == fan
    assert transfer["args"]["value"] == 100


async def test_burning_more_than_held_reverts(chain: EvmTokenChain, wallets: HdWallets) -> None:
    token = await chain.deploy_token("Alice", "ALICE")
    fan = wallets.custodial_address(1)
    await chain.mint(token, fan, 3, "purchase:1")
    with pytest.raises(ChainRejected, match="burn exceeds balance"):
        await chain.burn(token, fan, 4, "clawback:1")
    assert not await chain.applied(token, "clawback:1")  # a revert records no reference
    assert await chain.balance_of(token, fan) == 3
    await chain.mint(
        token, fan, 1, "purchase:2"
    )  # the failed transaction used its nonce; the next one fits
    assert await chain.balance_of(token, fan) == 4


async def test_only_the_owner_mints_and_burns(
    chain: EvmTokenChain, wallets: HdWallets, intruder: LocalAccount
) -> None:
    token = await chain.deploy_token("Alice", "ALICE")
    await chain.mint(token, intruder.address, 10, "purchase:1")
    impostor = await EvmTokenChain.connect(chain.web3, intruder)  # same chain, another key
    with pytest.raises(ChainRejected, match="only the owner may mint"):
        await impostor.mint(token, intruder.address, 1_000, "purchase:2")
    with pytest.raises(ChainRejected, match="only the owner may burn"):
        await impostor.burn(token, intruder.address, 10, "clawback:1")
    assert await chain.balance_of(token, intruder.address) == 10
    assert await chain.total_supply(token) == 10


async def test_a_reference_mints_once(chain: EvmTokenChain, wallets: HdWallets) -> None:
    token = await chain.deploy_token("Alice", "ALICE")
    fan = wallets.custodial_address(1)
    assert not await chain.applied(token, "purchase:17")
    assert await chain.mint(token, fan, 10, "purchase:17") is not None
    assert await chain.applied(token, "purchase:17")
    sent = await chain.web3.eth.get_transaction_count(chain.owner_address)
    assert await chain.mint(token, fan, 10, "purchase:17") is None
    assert await chain.mint(token, wallets.custodial_address(2), 3, "purchase:17") is None
    # Each repeat went out and the contract refused it: two reverted transactions, no tokens.
    assert await chain.web3.eth.get_transaction_count(chain.owner_address) == sent + 2
    assert await chain.balance_of(token, fan) == 10
    assert await chain.total_supply(token) == 10
    assert not await chain.applied(token, "purchase:18")
    other = await chain.deploy_token("Carol", "CAROL")  # references are per token
    assert not await chain.applied(other, "purchase:17")
    assert await chain.mint(other, fan, 1, "purchase:17") is not None


async def test_a_reference_burns_once(chain: EvmTokenChain, wallets: HdWallets) -> None:
    token = await chain.deploy_token("Alice", "ALICE")
    fan = wallets.custodial_address(1)
    await chain.mint(token, fan, 10, "purchase:17")
    assert await chain.burn(token, fan, 4, "clawback:17") is not None
    assert await chain.applied(token, "clawback:17")
    assert await chain.burn(token, fan, 4, "clawback:17") is None
    assert await chain.burn(token, fan, 99, "clawback:17") is None  # not even checked
    assert await chain.balance_of(token, fan) == 6
    assert await chain.total_supply(token) == 6
    # One set of references for mints and burns: a burn's reference cannot mint.
    assert await chain.mint(token, fan, 5, "clawback:17") is None
    assert await chain.burn(token, fan, 1, "purchase:17") is None
    assert await chain.balance_of(token, fan) == 6


async def test_the_contract_refuses_a_used_reference(
    chain: EvmTokenChain, wallets: HdWallets
) -> None:
    """The contract itself refuses a used reference, for mints and burns alike."""
    token = await chain.deploy_token("Alice", "ALICE")
    fan = wallets.custodial_address(1)
    await chain.mint(token, fan, 10, "purchase:17")
    data = creator_token().call_data("mint", fan, 10, keccak(text="purchase:17"))
    with pytest.raises(ChainRejected, match="reference already applied"):
        await chain._transact("mint again", chain.web3.to_checksum_address(token), data, 150_000)
    data = creator_token().call_data("burn", fan, 1, keccak(text="purchase:17"))
    with pytest.raises(ChainRejected, match="reference already applied"):
        await chain._transact("burn", chain.web3.to_checksum_address(token), data, 150_000)
    # Through the adapter the same revert means "done already": None, nothing changed.
    sent = await chain.web3.eth.get_transaction_count(chain.owner_address)
    assert await chain.mint(token, fan, 10, "purchase:17") is None
    assert await chain.web3.eth.get_transaction_count(chain.owner_address) == sent + 1  # reverted
    assert await chain.balance_of(token, fan) == 10


async def test_a_mint_reverting_for_another_reason_is_rejected(chain: EvmTokenChain) -> None:
    token = await chain.deploy_token("Alice", "ALICE")
    with pytest.raises(ChainRejected, match="mint to the zero address"):
        await chain.mint(token, "0x" + "00" * 20, 1, "purchase:1")
    assert not await chain.applied(token, "purchase:1")  # the revert recorded nothing


async def test_concurrent_mints_with_one_reference_mint_once(
    chain: EvmTokenChain, wallets: HdWallets
) -> None:
    token = await chain.deploy_token("Alice", "ALICE")
    fan = wallets.custodial_address(1)
    results = await asyncio.gather(*(chain.mint(token, fan, 7, "purchase:17") for _ in range(5)))
    assert len([tx for tx in results if tx is not None]) == 1
    assert await chain.balance_of(token, fan) == 7
    assert await chain.total_supply(token) == 7
    assert await chain.mint(token, fan, 1, "purchase:18") is not None  # nonces still in order
    assert await chain.balance_of(token, fan) == 8


async def test_running_out_of_gas_is_a_chain_error(
    chain: EvmTokenChain, wallets: HdWallets, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await chain.deploy_token("Alice", "ALICE")
    monkeypatch.setattr(evm, "MINT_GAS", 30_000)
    with pytest.raises(ChainRejected, match="out of gas"):
        await chain.mint(token, wallets.custodial_address(1), 1, "purchase:1")


async def test_a_nonce_used_behind_its_back_is_recovered(
    chain: EvmTokenChain, wallets: HdWallets, intruder: LocalAccount
) -> None:
    token = await chain.deploy_token("Alice", "ALICE")
    owner = wallets.owner_account()
    w3 = chain.web3
    transfer: dict[str, Any] = {
        "to": intruder.address,
        "value": 1,
        "gas": 21_000,
        "gasPrice": await w3.eth.gas_price,
        "nonce": await w3.eth.get_transaction_count(owner.address),
        "chainId": await w3.eth.chain_id,
    }
    await w3.eth.send_raw_transaction(owner.sign_transaction(transfer).raw_transaction)
    with pytest.raises(ChainError, match="refused") as refused:
        await chain.mint(token, wallets.custodial_address(1), 1, "purchase:1")  # nonce taken
    assert not isinstance(refused.value, ChainRejected)  # not a revert: a retry may work
    await chain.mint(token, wallets.custodial_address(1), 2, "purchase:1")  # re-read from the chain
    assert await chain.balance_of(token, wallets.custodial_address(1)) == 2


async def test_many_concurrent_mints_all_land(chain: EvmTokenChain, wallets: HdWallets) -> None:
    token = await chain.deploy_token("Alice", "ALICE")
    holders = [wallets.custodial_address(1 + i % 7) for i in range(50)]
    mints = (chain.mint(token, holder, i + 1, f"purchase:{i}") for i, holder in enumerate(holders))
    hashes = [tx for tx in await asyncio.gather(*mints) if tx is not None]
    assert len(set(hashes)) == 50
    assert await chain.total_supply(token) == sum(range(1, 51))
    expected = {holder: 0 for holder in holders}
    for i, holder in enumerate(holders):
        expected[holder] += i + 1
    for holder, amount in expected.items():
        assert await chain.balance_of(token, holder) == amount
    nonces = [
        (await chain.web3.eth.get_transaction(HexBytes(tx_hash)))["nonce"] for tx_hash in hashes
    ]
    assert sorted(nonces) == list(range(1, 51))  # nonce 0 deployed the token
    assert await chain.web3.eth.get_transaction_count(chain.owner_address) == 51


async def test_embedded_requests_run_off_the_event_loop(
    chain: EvmTokenChain, wallets: HdWallets
) -> None:
    """py-evm works on its own thread: while a mint executes, the loop keeps turning."""
    token = await chain.deploy_token("Alice", "ALICE")
    mint = asyncio.create_task(chain.mint(token, wallets.custodial_address(1), 1, "purchase:1"))
    turns = 0
    while not mint.done():
        await asyncio.sleep(0)
        turns += 1
    await mint
    assert turns > 10  # inline, the whole mint would run within one or two turns


async def test_bad_arguments_are_refused_before_sending(chain: EvmTokenChain) -> None:
    token = await chain.deploy_token("Alice", "ALICE")
    with pytest.raises(ValueError, match="not an address"):
        await chain.mint(token, "0x1234", 1, "purchase:1")
    with pytest.raises(ValueError, match="not a token amount"):
        await chain.mint(token, chain.owner_address, -1, "purchase:1")
    with pytest.raises(ValueError, match="not a reference"):
        await chain.mint(token, chain.owner_address, 1, "")
    with pytest.raises(ValueError, match="symbol"):
        await chain.deploy_token("Alice", "S" * 33)


async def test_reading_a_missing_contract_is_a_chain_error(
    chain: EvmTokenChain, wallets: HdWallets
) -> None:
    with pytest.raises(ChainError, match="balanceOf"):
        await chain.balance_of(wallets.custodial_address(5), wallets.custodial_address(1))


async def test_an_unreachable_node_is_a_chain_error(wallets: HdWallets) -> None:
    with pytest.raises(ChainError, match="does not answer"):
        await open_token_chain(wallets.owner_account(), "http://127.0.0.1:9", request_timeout=2)


async def test_a_voided_reference_can_never_mint(chain: EvmTokenChain, wallets: HdWallets) -> None:
    token = await chain.deploy_token("Alice", "ALICE")
    fan = wallets.custodial_address(1)
    assert await chain.void(token, "purchase:5") is True  # nothing minted: refund is safe
    with pytest.raises(ChainRejected, match="reference voided"):  # a queued mint now reverts
        await chain.mint(token, fan, 10, "purchase:5")
    assert await chain.balance_of(token, fan) == 0
    await chain.mint(token, fan, 3, "purchase:6")
    assert await chain.void(token, "purchase:6") is False  # it landed: credit, don't refund
    assert await chain.balance_of(token, fan) == 3


async def test_a_voided_reference_never_reads_as_minted(
    chain: EvmTokenChain, wallets: HdWallets
) -> None:
    token = await chain.deploy_token("Alice", "ALICE")
    fan = wallets.custodial_address(1)
    assert await chain.void(token, "purchase:7") is True
    assert await chain.void(token, "purchase:7") is True  # a crash, then the saga again
    assert not await chain.applied(token, "purchase:7")
    with pytest.raises(ChainRejected, match="reference voided"):
        await chain.mint(token, fan, 10, "purchase:7")  # the queued or resumed mint
    assert await chain.total_supply(token) == 0
