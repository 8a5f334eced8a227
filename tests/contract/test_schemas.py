"""Every recorded request and response body validates against the vendored schemas of its operation."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from contract_support import ROOT, Fixture, api, load_fixtures, schema_problems
from manifest_support import (
    fixture_for,
    neutral_params,
    operations,
    prompt_field,
    providers,
    request_schema_location,
    schema_at,
    unified_fields,
)

FIXTURES = load_fixtures()


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_fixture_bodies_validate_against_the_vendored_schemas(fixture: Fixture) -> None:
    problems = schema_problems(fixture)
    assert not problems, "\n".join(problems)


def test_every_provider_and_declared_operation_has_fixtures() -> None:
    # a model's operation through its own client; a provider-level one through any model's
    covered = {(f.provider, f.model or p.default_model, f.operation) for f in FIXTURES for p in api().providers
               if p.name == f.provider}  # fmt: skip
    covered |= {(p, None, op) for p, _, op in covered}
    declared = {(p.name, op.model, op.name) for p in api().providers for u in p.units for op in u.operations}
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


def test_removing_a_request_field_and_regenerating_fails_by_name_and_pointer(tmp_path: Path) -> None:
    """The drill of the issue: drop a field from a provider's input schema and regenerate. A field a neutral mapping
    sends (`prompt`) fails generation, naming the mapping and the wire pointer; a field only a fixture sends fails
    the contract suite, naming the fixture and the pointer."""
    _copy_inputs(tmp_path)
    top_level = [p for p in providers() if prompt_field(p, operations(p, "submit")[0].name).count("/") == 1]
    name = top_level[-1]  # a provider whose prompt is a property of the request schema itself
    op = operations(name, "submit")[0]
    recorded = fixture_for(name, op.name, "submit_")
    document, pointer = request_schema_location(name, op)
    spec = tmp_path / document
    original = spec.read_text(encoding="utf-8")
    env_path = f"{tmp_path / 'generated'}:{tmp_path}"

    def without(field: str) -> subprocess.CompletedProcess[str]:
        doc = json.loads(original)
        schema = schema_at(doc, pointer)
        del schema["properties"][field]
        if field in schema.get("required", []):
            schema["required"].remove(field)
        spec.write_text(json.dumps(doc, indent=2), encoding="utf-8")
        return subprocess.run(
            [sys.executable, "-m", "codegen", "generate", "-q"], cwd=tmp_path, capture_output=True, text=True,
            env={"PYTHONPATH": env_path, "PATH": ""},
        )  # fmt: skip

    mapped = prompt_field(name, op.name).removeprefix("/")
    refused = without(mapped)
    assert refused.returncode == 2, refused.stderr
    assert "/unified/" in refused.stderr and "fields/prompt" in refused.stderr and f"/{mapped}" in refused.stderr, (
        refused.stderr
    )
    assert "nothing was written" in refused.stderr

    # A field the fixture sends through an optional neutral parameter: unmapped in the copy's manifest first.
    required = {p.name for p in neutral_params(op.task or "") if p.required}
    mapping = unified_fields(name, op.task or "")
    optional = [(param, at) for param, at in mapping.items() if param not in required]
    param, wire = next((c for c in optional if c[1].removeprefix("/") in recorded.data["call"]["request"]), (None, ""))
    assert param is not None, f"{recorded.name} sends no optional neutral parameter"
    field = wire.removeprefix("/")
    manifest = tmp_path / "providers.toml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(re.sub(rf',\s*{param} = "{wire}"', "", text), encoding="utf-8")
    regenerate = without(field)
    assert regenerate.returncode == 0, regenerate.stderr
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/contract", "-k",
         f"{name} and {recorded.path.stem}"],
        cwd=tmp_path, capture_output=True, text=True, env={"PYTHONPATH": env_path, "PATH": ""},
    )  # fmt: skip
    assert run.returncode == 1, run.stdout[-3000:]
    assert f"{recorded.name}: request body /{field}:" in run.stdout
    assert "failed" in run.stdout.splitlines()[-1]
