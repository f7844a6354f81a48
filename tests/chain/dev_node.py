"""A local JSON-RPC node for the chain tests: ganache (npm, pinned in ``node/package.json``).

It listens on a free 127.0.0.1 port, funds the accounts of the given mnemonic, runs the
"shanghai" rules the token is compiled for, and is always stopped by its process id.
Without Node.js and npm the tests that need it skip, unless ``CI`` is set: CI must run them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Process, free_port, wait_for

NODE_DIR = Path(__file__).resolve().parent / "node"
GANACHE = NODE_DIR / "node_modules" / ".bin" / "ganache"
HARDFORK = "shanghai"  # creator_token.json's evm_version
READY_S = 20.0
ATTEMPTS = 3  # a new port if another process took the free one first


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the JSON-RPC node tests must run there)")
    pytest.skip(reason)


def node_executable() -> str:
    """The ``node`` executable, with ganache installed (``npm ci`` here if ``make`` has not)."""
    found = {tool: shutil.which(tool) for tool in ("node", "npm")}
    missing = [tool for tool, path in found.items() if path is None]
    if missing:
        _unavailable(f"{' and '.join(missing)} not found: ganache needs Node.js")
    if not (NODE_DIR / "node_modules" / "ganache" / "package.json").exists():
        done = subprocess.run(
            [str(found["npm"]), "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            _unavailable(f"`npm ci` in {NODE_DIR} failed:\n{done.stderr[-2000:]}")
    node = found["node"]
    assert node is not None
    return node


def _chain_id(url: str) -> str | None:
    """The node's ``eth_chainId``, or None while it does not answer yet."""
    request = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    try:
        response = httpx.post(url, json=request, timeout=1, trust_env=False)
    except httpx.TransportError:
        return None
    if response.status_code != 200:
        return None
    result = response.json().get("result")
    return result if isinstance(result, str) else None


def start_ganache(node: str, mnemonic: str, log: Path) -> tuple[Process, str]:
    """Ganache on a free 127.0.0.1 port, answering ``eth_chainId``; its process and URL."""
    for attempt in range(1, ATTEMPTS + 1):
        port = free_port()
        args = [node, str(GANACHE), "--server.host", "127.0.0.1", "--server.port", str(port)]
        args += ["--wallet.mnemonic", mnemonic, "--chain.hardfork", HARDFORK, "--logging.quiet"]
        process = Process("ganache", args, cwd=NODE_DIR, env=os.environ, log=log)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(
                lambda: _chain_id(url),  # noqa: B023 — called only within this iteration
                f"ganache to answer on {url}",
                timeout=READY_S,
                watch=process.check_running,
            )
        except BaseException:
            process.stop(timeout=5)
            if attempt < ATTEMPTS and "EADDRINUSE" in process.output:
                continue
            raise
        return process, url
    raise AssertionError("unreachable")
