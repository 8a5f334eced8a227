"""The generated package and the generator pass mypy --strict and ruff; the CLI runs as a module."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


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
    probe = (
        "import kling_sdk.oxen, kling_sdk.aimlapi, kling_sdk.sunra, kling_sdk.fal\n"
        "for m, n in [(kling_sdk.oxen, 'Oxen'), (kling_sdk.aimlapi, 'Aimlapi'), (kling_sdk.sunra, 'Sunra'), (kling_sdk.fal, 'Fal')]:\n"
        "    assert hasattr(m, n + 'Client') and hasattr(m, 'Async' + n + 'Client'), n\n"
        "    assert m.models.ImageToVideoRequest\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "ok", done.stderr
