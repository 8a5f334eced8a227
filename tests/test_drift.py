"""`codegen drift`: semantic changes between vendored specs and candidates, judged per direction, with impact."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from codegen.cli import main
from codegen.drift import RULES
from codegen.impact import next_version
from codegen.manifest import load

ROOT = Path(__file__).resolve().parents[1]
FAL_I2V = "fal/kling-video-v2.6-pro-image-to-video.json"
FAL_INPUT = "/components/schemas/KlingVideoV26ProImageToVideoInput"
FAL_OUTPUT = "/components/schemas/KlingVideoV26ProImageToVideoOutput"
OXEN_I2V = "oxen/kling-video-v2-6-pro-image-to-video.json"
SUNRA = "sunra/kling-v2.6-pro.json"

S: dict[str, Any] = {"type": "string"}
ENUM: dict[str, Any] = {"type": "string", "enum": ["a", "b"]}
ARRAY: dict[str, Any] = {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 4}
OBJECT: dict[str, Any] = {"type": "object", "properties": {"x": S}}
UNION: dict[str, Any] = {"oneOf": [{"title": "Url", "type": "string"}, {"title": "Count", "type": "integer"}]}


def _with(schema: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


# kind: (probe before, required before, probe after, required after, severity as request, severity as response).
# None as a probe: the property does not exist. Severities follow the request/response table in anchors.md (oasdiff).
CASES: dict[str, tuple[Any, bool, Any, bool, str, str]] = {
    "property-added": (None, False, S, False, "info", "info"),
    "required-property-added": (None, False, S, True, "breaking", "info"),
    "property-removed": (S, False, None, False, "warning", "warning"),
    "required-property-removed": (S, True, None, False, "warning", "breaking"),
    "property-became-required": (S, False, S, True, "breaking", "info"),
    "property-became-optional": (S, True, S, False, "info", "breaking"),
    "type-changed": (S, False, {"type": "boolean"}, False, "breaking", "breaking"),
    "type-widened": ({"type": "integer"}, False, {"type": "number"}, False, "info", "breaking"),
    "type-narrowed": ({"type": "number"}, False, {"type": "integer"}, False, "breaking", "info"),
    "became-nullable": (S, False, _with(S, nullable=True), False, "info", "breaking"),
    "became-not-nullable": (_with(S, nullable=True), False, S, False, "breaking", "info"),
    "enum-value-added": (ENUM, False, _with(ENUM, enum=["a", "b", "c"]), False, "info", "warning"),
    "enum-value-removed": (ENUM, False, _with(ENUM, enum=["a"]), False, "breaking", "info"),
    "enum-added": (S, False, ENUM, False, "breaking", "info"),
    "enum-removed": (ENUM, False, S, False, "info", "warning"),
    "max-length-decreased": (_with(S, maxLength=100), False, _with(S, maxLength=50), False, "breaking", "info"),
    "max-length-increased": (_with(S, maxLength=50), False, _with(S, maxLength=100), False, "info", "breaking"),
    "min-length-increased": (_with(S, minLength=1), False, _with(S, minLength=5), False, "breaking", "info"),
    "min-length-decreased": (_with(S, minLength=5), False, _with(S, minLength=1), False, "info", "breaking"),
    "maximum-decreased": ({"type": "number", "maximum": 10}, False, {"type": "number", "maximum": 5}, False,
                          "breaking", "info"),
    "maximum-increased": ({"type": "number", "maximum": 5}, False, {"type": "number"}, False, "info", "breaking"),
    "minimum-increased": ({"type": "number"}, False, {"type": "number", "minimum": 0}, False, "breaking", "info"),
    "minimum-decreased": ({"type": "number", "minimum": 1}, False, {"type": "number", "minimum": 0}, False,
                          "info", "breaking"),
    "max-items-decreased": (ARRAY, False, _with(ARRAY, maxItems=2), False, "breaking", "info"),
    "max-items-increased": (ARRAY, False, _with(ARRAY, maxItems=8), False, "info", "breaking"),
    "min-items-increased": (ARRAY, False, _with(ARRAY, minItems=2), False, "breaking", "info"),
    "min-items-decreased": (ARRAY, False, _with(ARRAY, minItems=None), False, "info", "breaking"),
    "multiple-of-changed": ({"type": "integer", "multipleOf": 2}, False, {"type": "integer", "multipleOf": 4}, False,
                            "warning", "warning"),
    "pattern-added": (S, False, _with(S, pattern="^[a-z]+$"), False, "warning", "info"),
    "pattern-removed": (_with(S, pattern="^[a-z]+$"), False, S, False, "info", "warning"),
    "pattern-changed": (_with(S, pattern="^[a-z]+$"), False, _with(S, pattern="^[0-9]+$"), False, "warning", "info"),
    "format-added": (S, False, _with(S, format="uri"), False, "warning", "info"),
    "format-removed": (_with(S, format="uri"), False, S, False, "info", "warning"),
    "format-changed": (_with(S, format="uri"), False, _with(S, format="date-time"), False, "breaking", "breaking"),
    "additional-properties-forbidden": (OBJECT, False, _with(OBJECT, additionalProperties=False), False,
                                        "breaking", "info"),
    "additional-properties-allowed": (_with(OBJECT, additionalProperties=False), False, OBJECT, False,
                                      "info", "warning"),
    "default-added": (S, False, _with(S, default="a"), False, "info", "info"),
    "default-removed": (_with(S, default="a"), False, S, False, "warning", "info"),
    "default-changed": (_with(S, default="a"), False, _with(S, default="b"), False, "info", "info"),
    "became-deprecated": (S, False, _with(S, deprecated=True), False, "warning", "info"),
    "variant-added": (UNION, False, _with(UNION, oneOf=[*UNION["oneOf"], {"title": "Flag", "type": "boolean"}]), False,
                      "info", "breaking"),
    "variant-removed": (UNION, False, _with(UNION, oneOf=UNION["oneOf"][:1]), False, "breaking", "info"),
}  # fmt: skip


def _probe(kind: str) -> str:
    return "probe_" + kind.replace("-", "_")


def _inject(schema: dict[str, Any], after: bool) -> None:
    """Give an object schema one probe property per case, in its before or after state."""
    for kind, (before_probe, before_req, after_probe, after_req, _, _) in CASES.items():
        probe, required = (after_probe, after_req) if after else (before_probe, before_req)
        if probe is None:
            continue
        schema.setdefault("properties", {})[_probe(kind)] = copy.deepcopy(probe)
        if required:
            schema.setdefault("required", []).append(_probe(kind))


@contextmanager
def _edited_copy(target: Path, document: str) -> Iterator[Any]:
    """A copy of specs/ at `target` whose `document` is written back after the block edits it."""
    shutil.copytree(ROOT / "specs", target)
    data = json.loads((target / document).read_text())
    yield data
    (target / document).write_text(json.dumps(data, indent=2))


def _node(doc: Any, pointer: str) -> Any:
    for token in pointer.strip("/").split("/"):
        doc = doc[token]
    return doc


def _spec_dirs(tmp_path: Path, document: str, pointers: list[str]) -> tuple[Path, Path]:
    """A base and a candidate copy of specs/ where `document` has every probe at `pointers`, before and after."""
    dirs = []
    for name, after in (("base", False), ("candidate", True)):
        target = tmp_path / name
        shutil.copytree(ROOT / "specs", target)
        data = json.loads((target / document).read_text())
        for pointer in pointers:
            _inject(_node(data, pointer), after)
        (target / document).write_text(json.dumps(data, indent=2))
        dirs.append(target)
    return dirs[0], dirs[1]


def _drift(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["drift", "--manifest", str(ROOT / "providers.toml"), "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def _by_property(changes: list[dict[str, Any]], schema_pointer: str) -> dict[str, dict[str, Any]]:
    prefix = schema_pointer + "/properties/probe_"
    found: dict[str, dict[str, Any]] = {}
    for change in changes:
        if change["pointer"].startswith(prefix):
            name = change["pointer"][len(prefix) :].split("/")[0]
            assert name not in found, f"two changes for probe_{name}: {found[name]} and {change}"
            found[name] = change
    return found


def test_the_cases_cover_at_least_25_kinds_and_every_kind_is_a_rule() -> None:
    assert len(CASES) >= 25
    assert all(set(RULES[kind]) == {"request", "response"} for kind in CASES)


def test_openapi_request_and_response_edits_are_each_reported_with_severity_and_direction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, candidate = _spec_dirs(tmp_path, FAL_I2V, [FAL_INPUT, FAL_OUTPUT])
    code, report = _drift(capsys, "--base", str(base), "--against", str(candidate), "--provider", "fal", "--no-impact")
    assert code == 1
    for pointer, direction, column, method in (
        (FAL_INPUT, "request", 4, "fal.submit_image_to_video"),
        (FAL_OUTPUT, "response", 5, "fal.get_image_to_video_result"),
    ):
        found = _by_property(report["changes"], pointer)
        assert sorted(found) == sorted(k.replace("-", "_") for k in CASES), f"{direction}: not one change per edit"
        for kind, case in CASES.items():
            change = found[kind.replace("-", "_")]
            assert (change["kind"], change["direction"], change["severity"]) == (kind, direction, case[column]), kind
            assert change["rule"] == f"{direction}-{kind}"
            assert change["provider"] == "fal" and change["document"] == "specs/" + FAL_I2V
            assert method in change["operations"], change
            assert change["message"]


def test_json_schema_documents_are_compared_as_request_schemas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Oxen publishes bare JSON Schemas inside its model objects; the manifest says they are request bodies.
    base, candidate = _spec_dirs(tmp_path, OXEN_I2V, ["/json_request_schema"])
    code, report = _drift(capsys, "--base", str(base), "--against", str(candidate), "--provider", "oxen", "--no-impact")
    assert code == 1
    found = _by_property(report["changes"], "/json_request_schema")
    assert len(found) == len(CASES)
    for kind, case in CASES.items():
        change = found[kind.replace("-", "_")]
        assert (change["rule"], change["severity"]) == (f"request-{kind}", case[4]), kind
        assert change["document"] == "specs/" + OXEN_I2V
        assert change["operations"] == ["oxen.submit_image_to_video"]


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        ({"type": "number", "exclusiveMaximum": 10}, {"type": "number", "exclusiveMaximum": 5}, "exclusive-maximum-decreased"),
        ({"type": "number", "exclusiveMinimum": 0}, {"type": "number", "exclusiveMinimum": 1}, "exclusive-minimum-increased"),
        ({"type": "string"}, {"type": ["string", "null"]}, "became-nullable"),
        ({"type": "integer", "enum": [5, 10]}, {"type": "integer", "const": 5}, "enum-value-removed"),
    ],
)  # fmt: skip
def test_json_schema_spellings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], before: Any, after: Any, kind: str
) -> None:
    candidate = tmp_path / "candidate"
    shutil.copytree(ROOT / "specs", candidate)
    base = tmp_path / "base"
    shutil.copytree(ROOT / "specs", base)
    for target, probe in ((base, before), (candidate, after)):
        data = json.loads((target / OXEN_I2V).read_text())
        data["json_request_schema"]["properties"]["probe"] = probe
        (target / OXEN_I2V).write_text(json.dumps(data))
    _, report = _drift(capsys, "--base", str(base), "--against", str(candidate), "--provider", "oxen", "--no-impact")
    assert [c["rule"] for c in report["changes"]] == [f"request-{kind}"]


def test_identical_candidates_report_no_change_and_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(ROOT / "specs", tmp_path / "same")
    code, report = _drift(capsys, "--against", str(tmp_path / "same"))
    assert code == 0
    assert report["changes"] == [] and report["summary"] == {"breaking": 0, "warning": 0, "info": 0}
    assert len(report["compared"]) == 9
    assert report["impact"]["semver"] == "none" and report["impact"]["generated"] == []
    assert report["impact"]["fixtures"] == [] and report["impact"]["fixtures_checked"] == 41


def test_reformatting_and_nullability_spelled_differently_is_no_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = tmp_path / "candidate"
    shutil.copytree(ROOT / "specs", candidate)
    data = json.loads((candidate / SUNRA).read_text())
    (candidate / SUNRA).write_text(json.dumps(data, sort_keys=True))  # other bytes, same document
    code, report = _drift(capsys, "--against", str(candidate), "--provider", "sunra", "--no-impact")
    assert (code, report["changes"]) == (0, [])


def test_a_breaking_candidate_exits_1_by_default_and_fail_on_sets_the_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = tmp_path / "candidate"
    with _edited_copy(candidate, FAL_I2V) as data:
        _node(data, FAL_INPUT)["properties"]["duration"]["enum"].remove("10")
    args = ["--against", str(candidate), "--provider", "fal", "--no-impact"]
    assert _drift(capsys, *args)[0] == 1
    assert _drift(capsys, *args, "--fail-on", "never")[0] == 0

    info_only = tmp_path / "info"
    with _edited_copy(info_only, FAL_I2V) as data:
        _node(data, FAL_INPUT)["properties"]["seed"] = {"type": "integer"}
    args = ["--against", str(info_only), "--provider", "fal", "--no-impact"]
    code, report = _drift(capsys, *args)
    assert (code, [c["rule"] for c in report["changes"]]) == (0, ["request-property-added"])
    assert _drift(capsys, *args, "--fail-on", "warning")[0] == 0
    assert _drift(capsys, *args, "--fail-on", "any")[0] == 1


def test_refs_are_resolved_and_a_shared_component_change_names_every_method_using_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = tmp_path / "candidate"
    with _edited_copy(candidate, SUNRA) as data:
        status = data["components"]["schemas"]["QueueStatus"]
        status["properties"]["status"]["enum"].append("PAUSED")
    _, report = _drift(capsys, "--against", str(candidate), "--provider", "sunra", "--no-impact")
    [change] = report["changes"]
    assert change["rule"] == "response-enum-value-added" and change["severity"] == "warning"
    assert change["pointer"] == "/components/schemas/QueueStatus/properties/status"
    assert "sunra.get_status" in change["operations"]


def test_paths_operations_parameters_statuses_and_content_types(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = tmp_path / "candidate"
    with _edited_copy(candidate, SUNRA) as data:
        paths = data["paths"]
        del paths["/requests/{request_id}/status/stream"]
        paths["/requests/{request_id}/logs"] = {"get": {"responses": {"200": {"description": "logs"}}}}
        status_op = paths["/requests/{request_id}/status"]["get"]
        status_op.setdefault("parameters", []).append({"name": "verbose", "in": "query", "required": True})
        status_op["responses"]["404"] = {"description": "unknown request"}
        submit = paths["/kling/kling-v2.6-pro/image-to-video"]["post"]
        submit["requestBody"]["content"] = {"multipart/form-data": submit["requestBody"]["content"]["application/json"]}
        del paths["/requests/{request_id}/cancel"]["put"]
        paths["/requests/{request_id}/cancel"]["post"] = {"responses": {"200": {"description": "cancelled"}}}
    code, report = _drift(capsys, "--against", str(candidate), "--provider", "sunra", "--no-impact")
    rules = {(c["rule"], c["severity"]) for c in report["changes"]}
    assert {
        ("path-removed", "breaking"),
        ("path-added", "info"),
        ("request-required-parameter-added", "breaking"),
        ("response-error-status-added", "info"),
        ("request-content-type-removed", "breaking"),
        ("request-content-type-added", "info"),
        ("operation-removed", "breaking"),
        ("operation-added", "info"),
    } <= rules
    assert code == 1


def test_impact_lists_generated_changes_semver_and_fixtures_that_would_break(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = tmp_path / "candidate"
    with _edited_copy(candidate, FAL_I2V) as data:
        schema = _node(data, FAL_INPUT)
        schema["properties"]["seed"] = {"type": "integer"}
        schema["required"].append("seed")
        schema["properties"]["prompt"]["maxLength"] = 1000
    code, report = _drift(capsys, "--against", str(candidate))
    assert code == 1
    impact = report["impact"]
    version = load(ROOT / "providers.toml").distribution.version
    assert (
        impact["semver"] == "major"
        and impact["version"] == version
        and impact["next_version"] == next_version(version, "major")
    )
    generated = {(g["change"], g["symbol"]) for g in impact["generated"]}
    assert ("field-added", "kling_sdk.fal.models.ImageToVideoRequest.seed") in generated
    assert ("field-changed", "kling_sdk.fal.models.ImageToVideoRequest.prompt") in generated
    assert "kling_sdk/fal/models.py" in impact["files"]
    broken = {f["fixture"]: f["problems"] for f in impact["fixtures"]}
    assert "fal/submit_image_to_video" in broken
    assert any("request body /seed: 'seed' is a required property" in p for p in broken["fal/submit_image_to_video"])
    assert all(name.startswith("fal/") for name in broken)


def test_a_candidate_the_generator_cannot_compile_is_a_breaking_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = tmp_path / "candidate"
    with _edited_copy(candidate, SUNRA) as data:
        del data["paths"]["/requests/{request_id}/status"]
    code, report = _drift(capsys, "--against", str(candidate), "--provider", "sunra")
    assert code == 1
    failed = [c for c in report["changes"] if c["rule"] == "generation-failed"]
    assert failed and failed[0]["severity"] == "breaking" and failed[0]["document"] == "specs/" + SUNRA
    assert report["impact"]["generation_error"] and report["impact"]["semver"] == "major"


@pytest.mark.parametrize("fmt", ["text", "markdown", "github"])
def test_report_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    candidate = tmp_path / "candidate"
    with _edited_copy(candidate, FAL_I2V) as data:
        _node(data, FAL_INPUT)["properties"]["duration"]["enum"].remove("10")
    out = tmp_path / "report"
    code = main(["drift", "--manifest", str(ROOT / "providers.toml"), "--against", str(candidate),
                 "--provider", "fal", "--format", fmt, "--output", str(out)])  # fmt: skip
    assert code == 1
    text = out.read_text()
    assert "request-enum-value-removed" in text
    if fmt == "markdown":
        assert text.startswith("## Provider schema drift") and "### Breaking (1)" in text
        assert "SDK semver bump: **major**" in text and "| provider | rule |" in text
    elif fmt == "github":
        assert text.startswith(
            "::error file=specs/fal/kling-video-v2.6-pro-image-to-video.json,title=request-enum-value-removed::"
        )
        assert "::notice title=SDK semver bump::major" in text
    else:
        assert "BREAKING request-enum-value-removed" in text and "exit 1 (--fail-on breaking)" in text
    assert "report written to" in capsys.readouterr().err


def test_bad_candidates_are_errors_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = str(ROOT / "providers.toml")
    assert main(["drift", "--manifest", manifest, "--against", str(tmp_path / "missing")]) == 2
    assert "candidate directory not found" in capsys.readouterr().err
    candidate = tmp_path / "candidate"
    shutil.copytree(ROOT / "specs", candidate)
    (candidate / FAL_I2V).write_text("{not json")
    assert main(["drift", "--manifest", manifest, "--against", str(candidate), "--provider", "fal"]) == 2
    err = capsys.readouterr().err
    assert "specs/fal/kling-video-v2.6-pro-image-to-video.json: candidate copy: invalid JSON at line 1" in err
    assert "nothing was written" not in err


def test_the_readme_rule_table_is_the_one_the_code_applies(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    table = capsys.readouterr().out
    assert table.count("\n") == len(RULES) + 2
    assert table in (ROOT / "README.md").read_text()


def test_each_edit_of_one_vendored_spec_is_reported_with_its_severity_and_direction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = tmp_path / "candidate"
    with _edited_copy(candidate, FAL_I2V) as data:
        request, response = _node(data, FAL_INPUT), _node(data, FAL_OUTPUT)
        request["properties"]["duration"]["enum"].remove("10")
        request["properties"]["seed"] = {"type": "integer"}
        request["properties"]["negative_prompt"]["maxLength"] = 3000
        request["required"].append("generate_audio")
        response["properties"]["seed"] = {"type": "integer"}
        response["required"].append("seed")
        response["properties"]["video"] = {"anyOf": [response["properties"]["video"], {"type": "null"}]}
        response["properties"]["timings"] = {"type": "object"}

    code, report = _drift(capsys, "--against", str(candidate))
    found = {(c["pointer"].rsplit("/", 1)[-1], c["rule"], c["severity"], c["direction"]) for c in report["changes"]}
    assert found == {
        ("duration", "request-enum-value-removed", "breaking", "request"),
        ("seed", "request-property-added", "info", "request"),
        ("negative_prompt", "request-max-length-increased", "info", "request"),
        ("generate_audio", "request-property-became-required", "breaking", "request"),
        ("seed", "response-required-property-added", "info", "response"),
        ("video", "response-became-nullable", "breaking", "response"),
        ("timings", "response-property-added", "info", "response"),
    }
    assert all(c["document"] == "specs/" + FAL_I2V for c in report["changes"])
    assert report["summary"] == {"breaking": 3, "warning": 0, "info": 4}
    assert code == 1 and report["exit_code"] == 1


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"type": ["string", "null"]}, {"anyOf": [{"type": "string"}, {"type": "null"}]}),
        ({"type": "string", "enum": ["a", None]}, {"type": ["string", "null"], "enum": ["a"]}),
        ({"type": "integer", "const": 5}, {"type": "integer", "enum": [5]}),
        ({"type": "string", "title": "Old", "description": "old", "x-order": 1}, {"type": "string", "title": "New"}),
        ({"allOf": [{"type": "string"}, {"maxLength": 3}]}, {"type": "string", "maxLength": 3}),
    ],
    ids=["null-in-type-vs-anyOf", "null-in-enum", "const-vs-enum", "annotations", "allOf-merged"],
)
def test_the_same_schema_spelled_differently_is_no_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], before: Any, after: Any
) -> None:
    for name, probe in (("base", before), ("candidate", after)):
        shutil.copytree(ROOT / "specs", tmp_path / name)
        data = json.loads((tmp_path / name / OXEN_I2V).read_text())
        data["json_request_schema"]["properties"]["probe"] = probe
        (tmp_path / name / OXEN_I2V).write_text(json.dumps(data))
    args = ["--base", str(tmp_path / "base"), "--against", str(tmp_path / "candidate"), "--provider", "oxen"]
    code, report = _drift(capsys, *args, "--no-impact")
    assert (code, report["changes"]) == (0, [])
