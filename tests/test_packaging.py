"""Two distributions: the SDK (`generated/`, kling-sdk) and the generator (the root, kling-codegen).

Each wheel is built and installed into a clean virtual environment, where it must work alone: the SDK brings only
httpx and pydantic (and what they need), its `cli` extra runs `kling providers`, the generator runs `codegen --help`
without the SDK installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

from conftest import ROOT

from codegen.pipeline.manifest import load

# Report every distribution installed in the venv, and the closure of what the named ones require.
_CLOSURE = r"""
import json, sys
from importlib import metadata
from packaging.requirements import Requirement
roots = sys.argv[1:]
seen, todo = set(), list(roots)
while todo:
    name = todo.pop()
    key = name.lower().replace("_", "-")
    if key in seen:
        continue
    seen.add(key)
    for text in metadata.requires(name) or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            todo.append(req.name)
installed = sorted(d.metadata["Name"].lower().replace("_", "-") for d in metadata.distributions())
print(json.dumps({"installed": installed, "closure": sorted(seen)}))
"""
_TOOLING = {"pip", "setuptools", "wheel", "packaging"}


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    # No PYTHONPATH: a clean environment must find the packages in what it installed, nowhere else.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def _wheel(project: Path, into: Path) -> Path:
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", into, project)
    name = tomllib.loads((project / "pyproject.toml").read_text())["project"]["name"].replace("-", "_")
    (wheel,) = into.glob(f"{name}-*.whl")
    return wheel


def _clean_venv(where: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(where)
    return where / "bin"


def test_the_sdk_wheel_installs_alone_with_only_httpx_and_pydantic(tmp_path: Path) -> None:
    manifest = load(ROOT / "providers.toml")
    wheel = _wheel(ROOT / manifest.output, tmp_path)
    bin_dir = _clean_venv(tmp_path / "venv")
    _run(bin_dir / "pip", "install", "-q", wheel)
    _run(bin_dir / "pip", "install", "-q", "packaging")  # for the report below, not part of the SDK
    report = json.loads(_run(bin_dir / "python", "-c", _CLOSURE, manifest.distribution.name))
    closure = set(report["closure"])
    assert {"httpx", "pydantic"} <= closure
    assert set(report["installed"]) - _TOOLING == closure, "the SDK pulled in more than httpx, pydantic and theirs"
    assert not {"jinja2", "datamodel-code-generator", "typer", "rich", "uvicorn"} & closure
    imports = "; ".join(f"import {manifest.package}.{p.name}" for p in manifest.providers)
    _run(bin_dir / "python", "-c", f"{imports}; import {manifest.package}.unified", cwd=tmp_path)

    # The cli extra: the `kling` script is installed and answers from the manifest's providers.
    _run(bin_dir / "pip", "install", "-q", f"{wheel}[cli]")
    table = json.loads(_run(bin_dir / "kling", "providers", "--json", cwd=tmp_path))
    served = {(m.model, p.name) for p in manifest.providers for m in p.models if m.unified}
    assert served and served <= {(model, name) for model, by_provider in table.items() for name in by_provider}


def test_the_generator_wheel_installs_without_the_sdk(tmp_path: Path) -> None:
    wheel = _wheel(ROOT, tmp_path)
    bin_dir = _clean_venv(tmp_path / "venv")
    _run(bin_dir / "pip", "install", "-q", wheel)
    assert "generate" in _run(bin_dir / "codegen", "--help", cwd=tmp_path)
    package = load(ROOT / "providers.toml").package
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({package!r}) is not None)"
    _run(bin_dir / "python", "-c", probe, cwd=tmp_path)
