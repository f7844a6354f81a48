"""The compiled creator-token contract shipped with the package (built by contracts/build.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from eth_abi.abi import encode
from eth_utils.abi import function_signature_to_4byte_selector

ARTIFACT_NAME = "creator_token.json"


@dataclass(frozen=True)
class ContractArtifact:
    abi: list[dict[str, Any]]
    bytecode: str
    source_sha256: str
    vyper_version: str
    evm_version: str
    # function name → (4-byte selector, argument types), from the ABI
    functions: dict[str, tuple[bytes, list[str]]] = field(init=False)

    def __post_init__(self) -> None:
        functions = {}
        for item in self.abi:
            if item["type"] == "function":
                types = [argument["type"] for argument in item["inputs"]]
                signature = f"{item['name']}({','.join(types)})"
                functions[item["name"]] = (function_signature_to_4byte_selector(signature), types)
        object.__setattr__(self, "functions", functions)

    def call_data(self, function: str, *args: Any) -> bytes:
        """The calldata of ``function(*args)``: selector and ABI-encoded arguments.

        Cheaper than web3's ``Contract.encode_abi`` (≈0.02 ms against ≈0.35 ms), which counts
        when hundreds of mints start at once on the event-loop thread.
        """
        selector, types = self.functions[function]
        return selector + encode(types, list(args))

    def deploy_data(self, *args: Any) -> bytes:
        """The deploy bytecode followed by the ABI-encoded constructor arguments."""
        (constructor,) = (item for item in self.abi if item["type"] == "constructor")
        types = [argument["type"] for argument in constructor["inputs"]]
        return bytes.fromhex(self.bytecode.removeprefix("0x")) + encode(types, list(args))


@cache
def creator_token() -> ContractArtifact:
    """The ABI and deploy bytecode of ``contracts/creator_token.vy``."""
    raw = json.loads(resources.files("adapters.chain").joinpath(ARTIFACT_NAME).read_text("utf-8"))
    return ContractArtifact(
        abi=raw["abi"],
        bytecode=raw["bytecode"],
        source_sha256=raw["source_sha256"],
        vyper_version=raw["vyper_version"],
        evm_version=raw["evm_version"],
    )
