"""The committed contract artifact is what contracts/creator_token.vy compiles to today.

Editing the ``.vy`` without running ``.venv/bin/python contracts/build.py`` fails here.
"""

from __future__ import annotations

import hashlib
import json

from adapters.chain.artifact import creator_token
from contracts import build

REBUILD = "contracts/creator_token.vy changed: run .venv/bin/python contracts/build.py"


def test_the_artifact_was_built_from_the_current_source() -> None:
    committed = json.loads(build.ARTIFACT.read_text(encoding="utf-8"))
    assert committed["source_sha256"] == hashlib.sha256(build.SOURCE.read_bytes()).hexdigest(), (
        REBUILD
    )


def test_recompiling_the_source_gives_the_committed_abi_and_bytecode() -> None:
    committed = json.loads(build.ARTIFACT.read_text(encoding="utf-8"))
    fresh = build.compile_artifact()
    assert committed["abi"] == fresh["abi"], REBUILD
    assert committed["bytecode"] == fresh["bytecode"], REBUILD
    assert build.ARTIFACT.read_text(encoding="utf-8") == build.render(fresh), REBUILD


def test_an_edited_source_compiles_to_other_bytecode() -> None:
    """The check above has teeth: a one-string edit changes the bytecode."""
    source = build.SOURCE.read_text(encoding="utf-8")
    edited = source.replace('"burn exceeds balance"', '"too little"')
    assert edited != source
    _, bytecode = build.compile_source(edited)
    assert bytecode != creator_token().bytecode


def test_the_artifact_is_a_shanghai_erc20_with_owner_mint_and_burn_by_reference() -> None:
    artifact = creator_token()
    assert artifact.evm_version == "shanghai"
    assert artifact.vyper_version == build.VYPER_VERSION
    functions = {item["name"] for item in artifact.abi if item["type"] == "function"}
    erc20 = {"name", "symbol", "decimals", "totalSupply", "balanceOf", "allowance"}
    erc20 |= {"transfer", "transferFrom", "approve"}
    assert functions == erc20 | {"owner", "mint", "burn", "applied", "void", "voided"}
    mint, burn = artifact.functions["mint"][1], artifact.functions["burn"][1]
    assert mint == burn == ["address", "uint256", "bytes32"]
    events = {item["name"] for item in artifact.abi if item["type"] == "event"}
    assert events == {"Transfer", "Approval"}
