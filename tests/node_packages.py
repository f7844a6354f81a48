"""Node.js packages the tests run (the Telegram emulator, ganache): find node, install once.

Without node or npm the tests that need them skip with the reason, except under CI (the ``CI``
environment variable), where they must run and fail instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def unavailable(reason: str, what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the {what} tests must run there)")
    pytest.skip(reason)


def node_with(folder: Path, package: str, what: str) -> str:
    """The ``node`` executable, with ``folder``'s npm packages installed (``npm ci`` if not)."""
    found = {tool: shutil.which(tool) for tool in ("node", "npm")}
    missing = [tool for tool, path in found.items() if path is None]
    if missing:
        unavailable(f"{' and '.join(missing)} not found: the {what} needs Node.js", what)
    if not (folder / "node_modules" / package / "package.json").exists():
        # `make test` installs them first; a bare `pytest` does it here.
        done = subprocess.run(
            [str(found["npm"]), "ci", "--no-audit", "--no-fund"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            unavailable(f"`npm ci` in {folder} failed:\n{done.stderr[-2000:]}", what)
    node = found["node"]
    assert node is not None
    return node
