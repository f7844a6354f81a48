"""Compile ``creator_token.vy`` with Vyper (in-process) into ``adapters/chain/creator_token.json``.

Run after editing the contract: ``.venv/bin/python contracts/build.py``. Vyper is a development
dependency only: the bot loads the committed artifact, and ``tests/chain/test_artifact.py``
recompiles the source to prove the artifact is current. The artifact holds the ABI, the deploy
bytecode, the compiler and EVM versions and the SHA-256 of the source it was built from.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "contracts" / "creator_token.vy"
ARTIFACT = ROOT / "adapters" / "chain" / "creator_token.json"
VYPER_VERSION = "0.4.3"
# No MCOPY (cancun) in the code, so nodes before cancun run it too.
EVM_VERSION = "shanghai"


def compile_source(source: str) -> tuple[list[dict[str, Any]], str]:
    """The ABI and deploy bytecode (0x-hex) of a Vyper source, for ``EVM_VERSION``."""
    import vyper  # type: ignore[import-untyped]
    from vyper.compiler import compile_code  # type: ignore[import-untyped]
    from vyper.compiler.settings import Settings  # type: ignore[import-untyped]

    if vyper.__version__ != VYPER_VERSION:
        raise RuntimeError(f"vyper {VYPER_VERSION} is needed, found {vyper.__version__}")
    output = compile_code(
        source,
        contract_path=SOURCE.name,
        output_formats=["abi", "bytecode"],
        settings=Settings(evm_version=EVM_VERSION),
    )
    return output["abi"], output["bytecode"]


def compile_artifact() -> dict[str, Any]:
    """Compile the contract and return the artifact as it is written to disk."""
    source = SOURCE.read_text(encoding="utf-8")
    abi, bytecode = compile_source(source)
    return {
        "contract": "CreatorToken",
        "source": SOURCE.relative_to(ROOT).as_posix(),
        "source_sha256": hashlib.sha256(source.encode("utf-8")).hexdigest(),
        "vyper_version": VYPER_VERSION,
        "evm_version": EVM_VERSION,
        "abi": abi,
        "bytecode": bytecode,
    }


def render(artifact: dict[str, Any]) -> str:
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def main() -> None:
    ARTIFACT.write_text(render(compile_artifact()), encoding="utf-8")
    print(f"wrote {ARTIFACT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
