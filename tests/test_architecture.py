"""The layering rules of DESIGN.md, enforced."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from bot.conversation import texts
from bot.conversation.commands import all_commands
from core import errors

ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = {
    "telegram",
    "discord",
    "stripe",
    "web3",
    "openai",
    "lancedb",
    "sqlalchemy",
    "alembic",
    "yaml",
    "pydantic",
    "aiosqlite",
    "asyncpg",
    "apscheduler",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", python_files("core"), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_imports_only_stdlib_and_core(path: Path) -> None:
    for name in imported_modules(path):
        top = name.split(".")[0]
        assert top == "core" or top in sys.stdlib_module_names, (
            f"{path.relative_to(ROOT)} imports {name}: core/ may use only the standard library "
            "and core itself (no bot/, adapters/, jobs/ or vendor SDKs)"
        )


def test_the_check_above_would_catch_an_outer_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from adapters.db import engine\nimport sqlalchemy\n")
    tops = {name.split(".")[0] for name in imported_modules(bad)}
    assert tops == {"adapters", "sqlalchemy"}


def test_no_module_is_named_like_a_library() -> None:
    for package in ("bot", "core", "adapters", "jobs"):
        for path in (ROOT / package).rglob("*"):
            stem = path.stem if path.suffix == ".py" else path.name
            assert stem not in LIBRARIES, f"{path.relative_to(ROOT)} shadows a library name"


def test_only_the_composition_root_imports_adapters_from_bot() -> None:
    allowed = {ROOT / "bot" / "cli.py"}
    for path in python_files("bot"):
        if path in allowed or path.parent == ROOT / "bot" / "bootstrap":
            continue
        for name in imported_modules(path):
            assert not name.startswith("adapters"), f"{path.relative_to(ROOT)} imports {name}"


def _subclasses(cls: type[errors.DomainError]) -> list[type[errors.DomainError]]:
    found: list[type[errors.DomainError]] = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_every_refusal_has_a_sentence() -> None:
    for cls in _subclasses(errors.DomainError):
        if cls is not errors.InvalidInput:
            assert cls.key in texts.EN, f"{cls.__name__} has no text {cls.key!r}"
    for reason in errors.Reason:
        assert f"invalid.{reason.value}" in texts.EN


def test_every_command_has_help_texts() -> None:
    for command in all_commands():
        for key in (command.description_key, command.usage_key, command.syntax_key):
            assert key in texts.EN, f"/{command.name} lacks {key!r}"
