"""Temporary copies of the repository, and the manifest edits a user makes to add or remove a provider.

The edits work on providers.toml as text, table by table (`[providers.<name>...]` and `[[providers.<name>...]]`),
so comments and layout of the other providers stay as they are.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

_HEADER = re.compile(r"^\[\[?\s*([^\]\s]+)\s*\]\]?\s*(?:#.*)?$")
IGNORED = ("__pycache__", ".venv", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache", "out", ".work", ".drift")


def blocks(text: str) -> list[tuple[str | None, str]]:
    """The manifest split at table headers: (table name, its text up to the next header)."""
    found: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in text.splitlines(keepends=True):
        header = _HEADER.match(line.strip())
        if header:
            found.append((header[1], []))
        found[-1][1].append(line)
    return [(name, "".join(lines)) for name, lines in found]


def _owned(table: str | None, provider: str) -> bool:
    return table is not None and (table == f"providers.{provider}" or table.startswith(f"providers.{provider}."))


def _model_of(table: str | None) -> str | None:
    """The neutral model id of a `[models.<id>]` table (quoted or bare), else None."""
    if table is None or not table.startswith("models."):
        return None
    rest = table.removeprefix("models.")
    return rest[1 : rest.index('"', 1)] if rest.startswith('"') else rest.split(".")[0]


def without_provider(text: str, provider: str) -> str:
    """The manifest with every table of a provider removed, and the `[models.<id>]` table of each model no other
    provider serves (generation refuses a model nobody serves)."""
    declared = tomllib.loads(text)["providers"]
    elsewhere = {model for name, decl in declared.items() if name != provider for model in decl.get("models", {})}
    orphans = set(declared[provider].get("models", {})) - elsewhere
    return "".join(
        body for table, body in blocks(text) if not _owned(table, provider) and _model_of(table) not in orphans
    )


def provider_tables(text: str, provider: str) -> str:
    """Every table of a provider, as text."""
    return "".join(body for table, body in blocks(text) if _owned(table, provider))


def renamed_provider(text: str, provider: str, new: str, replacements: dict[str, str]) -> str:
    """A provider's tables under a new name, with literal replacements applied inside them (title, env, URLs...)."""
    tables = provider_tables(text, provider)
    tables = re.sub(rf"^(\[\[?\s*)providers\.{re.escape(provider)}(?=[.\]])", rf"\1providers.{new}", tables, flags=re.M)
    for old, replacement in replacements.items():
        assert old in tables, f"{old!r} is not in the tables of {provider}"
        tables = tables.replace(old, replacement)
    return tables


def copy_repository(root: Path, target: Path, leave_out: tuple[str, ...] = ()) -> Path:
    """A copy of the repository's working tree (no caches, virtualenvs or git data), without `leave_out` paths."""

    def ignore(folder: str, names: list[str]) -> list[str]:
        here = Path(folder).relative_to(root)
        return [n for n in names if n in IGNORED or (here / n).as_posix() in leave_out]

    shutil.copytree(root, target, ignore=ignore, symlinks=True)
    return target
