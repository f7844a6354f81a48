"""The chain adapters: creator tokens on an EVM (embedded py-evm or a JSON-RPC node), wallets."""

from adapters.chain.evm import EvmTokenChain, open_token_chain
from adapters.chain.wallets import HdWallets, load_or_create_mnemonic

__all__ = ["EvmTokenChain", "HdWallets", "load_or_create_mnemonic", "open_token_chain"]
