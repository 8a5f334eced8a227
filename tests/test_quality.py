"""The generated package and the generator pass mypy --strict and ruff; the CLI runs as a module."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT
from manifest_support import client_class, operations, providers, sdk_module


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_mypy_strict_on_generated_and_codegen() -> None:
    done = run("mypy", "--strict", "generated/kling_sdk", "codegen")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_lint_and_format() -> None:
    lint = run("ruff", "check", ".")
    assert lint.returncode == 0, lint.stdout
    fmt = run("ruff", "format", "--check", ".")
    assert fmt.returncode == 0, fmt.stdout


def test_python_m_codegen_check_is_clean() -> None:
    done = run("codegen", "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "up to date" in done.stdout


def test_all_providers_import_with_sync_and_async_clients() -> None:
    """In a fresh interpreter: every provider of the manifest imports, with both clients and its request models."""
    expected = {
        sdk_module(name).__name__: [
            client_class(name).__name__, client_class(name, True).__name__,
            *(op.request for op in operations(name, "submit")),
        ]
        for name in providers()
    }  # fmt: skip
    probe = (
        "import importlib, json, sys\n"
        "expected = json.loads(sys.argv[1])\n"
        "for module, names in expected.items():\n"
        "    missing = [n for n in names if not hasattr(importlib.import_module(module), n)]\n"
        "    assert not missing, (module, missing)\n"
        "print('ok', len(expected))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(expected)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.stdout.split() == ["ok", str(len(providers()))], done.stderr
