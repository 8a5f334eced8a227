"""Random text in a spec's names, descriptions, titles, defaults and enum values: a correct SDK or a clear error.

Hypothesis mixes arbitrary Unicode (lone surrogates, controls, line separators included) with fragments that would
write a canary file if they ever ran as code. Each example generates the hostile base spec (tests/hostile) with the
text in place, then either imports the SDK in this process and finds every text where it belongs, or finds one
error line naming spec.json, no traceback, and the output untouched. The canary must never appear.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from test_hostile_specs import BASE, CANARY, PAYLOADS

from codegen.cli import main

FRAGMENTS = [*PAYLOADS.values(), '"', "'", "\\", '"""', "'''", "\n", "\r", "\x00", "\u2028", "{{", "}}", "{%", "#"]
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=30),
    st.sampled_from(FRAGMENTS),
    st.builds(lambda a, f, b: a + f + b, st.text(max_size=4), st.sampled_from(FRAGMENTS), st.text(max_size=4)),
)
BASE_PROPERTIES = set(json.loads((BASE / "spec.json").read_text())["components"]["schemas"]["Input"]["properties"])
PROFILE = settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "10")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _generate(spec: dict[str, Any], root: Path) -> tuple[int, str]:
    (root / "spec.json").write_text(json.dumps(spec, ensure_ascii=True), encoding="utf-8")
    manifest = (BASE / "providers.toml").read_text().replace('"acme_sdk"', '"prop_sdk"')
    manifest = manifest.replace('templates = "../../templates"', f"templates = {json.dumps(str(ROOT / 'templates'))}")
    (root / "providers.toml").write_text(manifest, encoding="utf-8")
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        code = main(["generate", "-q", "--manifest", str(root / "providers.toml"), "--output", str(root / "out")])
    return code, err.getvalue()


def _import(out: Path) -> Any:
    sys.path.insert(0, str(out))
    try:
        return importlib.import_module("prop_sdk.acme")
    finally:
        sys.path.remove(str(out))


def _forget() -> None:
    for module in [m for m in sys.modules if m == "prop_sdk" or m.startswith("prop_sdk.")]:
        del sys.modules[module]


@PROFILE
@given(name=TEXT, description=TEXT, title=TEXT, default=TEXT, enum=st.lists(TEXT, min_size=1, max_size=4), summary=TEXT)
def test_random_text_ends_in_a_correct_sdk_or_a_clear_error(
    name: str, description: str, title: str, default: str, enum: list[str], summary: str
) -> None:
    assume(name not in BASE_PROPERTIES | {"obj"})
    spec = json.loads((BASE / "spec.json").read_text())
    input_schema = spec["components"]["schemas"]["Input"]
    input_schema["description"] = description
    input_schema["properties"][name] = {"type": "string", "description": description, "default": default}
    input_schema["properties"]["mode"] = {"type": "string", "enum": enum}
    input_schema["properties"]["obj"] = {"type": "object", "title": title, "properties": {"a": {"type": "string"}}}
    spec["paths"]["/jobs"]["post"]["summary"] = summary
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        code, stderr = _generate(spec, root)
        assert "Traceback" not in stderr and "internal error" not in stderr, stderr
        event("an SDK" if code == 0 else "an error")
        if code == 0:
            try:
                _check_sdk(_import(root / "out"), name, description, default, enum)
            finally:
                _forget()
        else:
            errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
            assert code == 2 and len(errors) == 1, stderr
            event(errors[0].split(": ")[-1][:40])
            assert "spec.json" in errors[0] and "nothing was written" in stderr
            assert not (root / "out").exists()
    assert not CANARY.exists(), "a payload ran"


def _check_sdk(module: Any, name: str, description: str, default: str, enum: list[str]) -> None:
    request = module.TextToVideoRequest
    fields = {f.alias if f.alias is not None else n: f for n, f in request.model_fields.items()}
    assert request.model_validate({"prompt": "p", name: "v"}).to_wire() == {"prompt": "p", name: "v"}
    with pytest.raises(importlib.import_module(module.__name__.split(".")[0] + ".errors").InvalidRequestError):
        request.model_validate({"prompt": "p", name: None})
    assert fields[name].description == (description.strip() or None)
    assert fields[name].default == default
    for value in enum:
        assert request.model_validate({"prompt": "p", "mode": value}).to_wire()["mode"] == value
    assert request.model_validate({"prompt": "p", "obj": {"a": "x"}}).to_wire()["obj"] == {"a": "x"}
