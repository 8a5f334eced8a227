"""Every recorded request and response body validates against the vendored schemas of its operation."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from contract_support import ROOT, Fixture, api, load_fixtures, schema_problems
from manifest_support import fixture_for, operations, prompt_field, providers, request_schema_location

FIXTURES = load_fixtures()


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_fixture_bodies_validate_against_the_vendored_schemas(fixture: Fixture) -> None:
    problems = schema_problems(fixture)
    assert not problems, "\n".join(problems)


def test_every_provider_and_declared_operation_has_fixtures() -> None:
    covered = {(f.provider, f.operation) for f in FIXTURES}
    declared = {(p.name, op.name) for p in api().providers for op in p.operations}
    assert declared <= covered, f"operations without a fixture: {sorted(declared - covered)}"
    scenarios = {(f.provider, f.path.stem.split("_")[0]) for f in FIXTURES}
    for provider in {p.name for p in api().providers}:
        for kind in ("submit", "status", "validation", "auth"):
            assert (provider, kind) in scenarios, f"{provider} has no {kind} fixture"


def test_every_fixture_is_well_formed_and_carries_no_secret() -> None:
    for fixture in FIXTURES:
        data = fixture.data
        assert data["provenance"]["source"], fixture.name
        assert data["exchanges"], fixture.name
        for exchange in data["exchanges"]:
            auth = exchange["request"]["headers"].get("authorization", "")
            assert auth.endswith("<redacted>"), f"{fixture.name}: unredacted authorization header"


def _copy_inputs(target: Path) -> None:
    for name in ("providers.toml", "pyproject.toml"):
        shutil.copy(ROOT / name, target / name)
    for name in ("specs", "templates", "codegen", "generated", "tests"):
        shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__", ".work"))


def test_removing_a_required_request_field_and_regenerating_fails_a_fixture_by_name_and_pointer(tmp_path: Path) -> None:
    """The drill of the issue: drop `prompt` from a provider's (fal's) input schema, regenerate, run the contract
    suite: the submit fixture fails, named with the pointer of the field."""
    _copy_inputs(tmp_path)
    name = providers()[-1]
    op = operations(name, "submit")[0]
    field = prompt_field(name, op.name)
    recorded = fixture_for(name, op.name, "submit_")
    document, pointer = request_schema_location(name, op)
    spec = tmp_path / document
    doc = json.loads(spec.read_text(encoding="utf-8"))
    schema = doc
    for token in pointer.strip("/").split("/"):
        schema = schema[token.replace("~1", "/").replace("~0", "~")]
    del schema["properties"][field]
    schema["required"].remove(field)
    spec.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    env_path = f"{tmp_path / 'generated'}:{tmp_path}"
    regenerate = subprocess.run(
        [sys.executable, "-m", "codegen", "generate", "-q"], cwd=tmp_path, capture_output=True, text=True,
        env={"PYTHONPATH": env_path, "PATH": ""},
    )  # fmt: skip
    assert regenerate.returncode == 0, regenerate.stderr
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/contract", "-k",
         f"{name} and {recorded.path.stem}"],
        cwd=tmp_path, capture_output=True, text=True, env={"PYTHONPATH": env_path, "PATH": ""},
    )  # fmt: skip
    assert run.returncode == 1, run.stdout[-3000:]
    assert f"{recorded.name}: request body /{field}:" in run.stdout
    assert "failed" in run.stdout.splitlines()[-1]
