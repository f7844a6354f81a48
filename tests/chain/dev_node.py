"""A local JSON-RPC node for the chain tests: ganache (npm, pinned in ``node/package.json``).

It listens on a free 127.0.0.1 port, funds the accounts of the given mnemonic, runs the
"shanghai" rules the token is compiled for, and is always stopped by its process id.
Without Node.js and npm the tests that need it skip, unless ``CI`` is set: CI must run them.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.e2e.harness import Process, free_port, wait_for
from tests.node_packages import node_with

NODE_DIR = Path(__file__).resolve().parent / "node"
GANACHE = NODE_DIR / "node_modules" / ".bin" / "ganache"
HARDFORK = "shanghai"  # creator_token.json's evm_version
READY_S = 20.0
ATTEMPTS = 3  # a new port if another process took the free one first


def node_executable() -> str:
    """The ``node`` executable, with ganache installed (``npm ci`` here if ``make`` has not)."""
    return node_with(NODE_DIR, "ganache", "JSON-RPC node (ganache)")


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
