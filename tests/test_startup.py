"""Start-up: what a bare import and `kling --help` load (structurally: sys.modules in a fresh process; the times
are measured by bench/bench_startup.py), and that the lazy re-exports are the real objects."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest
from manifest_support import client_class, providers, sdk_module

# What an `import kling_sdk.<provider>` must not pay for: the HTTP stack, pydantic, the event loop, the CLI stack.
HEAVY = ("asyncio", "httpx", "pydantic", "typer", "rich", "click")


def _loaded_after(code: str) -> list[str]:
    """The top-level packages a fresh interpreter has imported after running `code`."""
    probe = f"import sys\n{code}\nimport json; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("provider", providers())
def test_importing_a_provider_package_loads_no_http_models_event_loop_or_cli(provider: str) -> None:
    module = sdk_module(provider).__name__
    loaded = _loaded_after(f"import {module}")
    assert not [name for name in HEAVY if name in loaded], loaded
    assert {"kling_sdk"} <= set(loaded)


def test_the_kling_app_builds_without_the_sdk_models_or_http() -> None:
    """What `kling --help` imports: typer and rich, not kling_sdk.unified, httpx, pydantic or asyncio."""
    code = "import sys, kling_sdk.cli.app; print(json.dumps([m for m in sys.modules if m.startswith('kling_sdk')]))"
    probe = f"import json\n{code}"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    sdk_modules = json.loads(done.stdout)
    assert "kling_sdk.unified" not in sdk_modules and not any(m.endswith((".client", ".models")) for m in sdk_modules)
    loaded = _loaded_after("import kling_sdk.cli.app")
    assert not [name for name in ("asyncio", "httpx", "pydantic") if name in loaded], loaded
    assert {"typer", "rich"} <= set(loaded)


def test_kling_help_still_lists_every_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kling_sdk.cli", "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    for command in ("text-to-video", "image-to-video", "status", "cancel", "providers", "batch"):
        assert command in done.stdout


@pytest.mark.parametrize("provider", providers())
def test_lazy_re_exports_are_the_real_objects(provider: str) -> None:
    package = sdk_module(provider)
    errors, types = importlib.import_module("kling_sdk.errors"), importlib.import_module("kling_sdk.types")
    client = client_class(provider)
    assert getattr(package, client.__name__) is client
    assert package.InvalidRequestError is errors.InvalidRequestError and package.Job is types.Job
    assert set(package.__all__) <= set(dir(package))
    for name in package.__all__:
        assert getattr(package, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchName'"):
        package.NoSuchName  # noqa: B018
