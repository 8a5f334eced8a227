"""`codegen drift`: semantic changes between vendored specs and candidates, judged per direction, with impact."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from manifest_support import (
    body_part,
    can_cancel,
    fixture_for,
    fixtures,
    job_field,
    model_class,
    operation,
    operations,
    provider,
    providers,
    spec_of,
    spec_sources,
    status_operation,
    submits,
)

from codegen.cli import main
from codegen.drift.compare import RULES
from codegen.drift.impact import next_version
from codegen.pipeline.manifest import OperationDecl, load

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------- which documents
# Each test edits a vendored document with the structure it needs, found in the manifest: the first provider with
# it (today Sunra's or fal's OpenAPI, Oxen's JSON Schema documents); skipped when no provider has it.
@dataclass(frozen=True)
class Target:
    """An OpenAPI document with a submit whose request body, and an operation whose answer, are components."""

    provider: str
    document: str  # relative to specs/
    request: str  # pointer of the submit's request component
    response: str  # pointer of the response component
    submit: OperationDecl
    reader: OperationDecl  # the result (or status) operation that reads `response`


def _json_body_schema(node: Any) -> Any:
    return (node or {}).get("content", {}).get("application/json", {}).get("schema")


def _component(doc: dict[str, Any], op: OperationDecl, side: str) -> str | None:
    """The pointer of an operation's request or 200-response component, if it is a local $ref."""
    spec_op = doc.get("paths", {}).get(op.path, {}).get(op.method.lower(), {})
    schema = _json_body_schema(
        spec_op.get("requestBody") if side == "request" else spec_op.get("responses", {}).get("200")
    )
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    return ref[1:] if isinstance(ref, str) and ref.startswith("#/") else None


def _document(name: str, op: OperationDecl) -> str:
    return spec_of(name, op).path.removeprefix("specs/")


def _load(document: str) -> Any:
    return json.loads((ROOT / "specs" / document).read_text())


def _targets() -> list[Target]:
    found = []
    for name, submit in submits():
        source = spec_of(name, submit)
        if source.format != "openapi" or submit.body:
            continue
        doc = _load(_document(name, submit))
        readers = [op for op in operations(name, "result") if op.spec == submit.spec]
        readers.sort(key=lambda op: op.task != submit.task)
        readers += [op for op in operations(name, "status") if op.spec == submit.spec]
        request = _component(doc, submit, "request")
        for reader in readers:
            response = _component(doc, reader, "response")
            if request and response and request != response:
                found.append(Target(name, _document(name, submit), request, response, submit, reader))
                break
    return found


def target(needs: Any = lambda doc, t: True, what: str = "") -> Target:
    """The first target whose document has what a test needs; skips the test when none has."""
    for found in _targets():
        if needs(_load(found.document), found):
            return found
    pytest.skip(f"no vendored OpenAPI document with components for a submit and its answer{what}")


def _properties(doc: Any, pointer: str) -> dict[str, Any]:
    return dict(_node(doc, pointer).get("properties", {}))


def _property_with(doc: Any, pointer: str, test: Any) -> str | None:
    return next((name for name, prop in _properties(doc, pointer).items() if test(prop)), None)


def _has_enum(prop: Any) -> bool:
    return len(prop.get("enum", [])) >= 2


def _has_max_length(prop: Any) -> bool:
    return "maxLength" in prop


def json_schema_target() -> tuple[str, str, str, list[str]]:
    """(provider, document, pointer, operations) of a bare JSON Schema document the manifest reads request bodies
    from (Oxen's model objects); skips the test when no provider publishes one."""
    for name, source in spec_sources(lambda p, s: s.format == "json"):
        read = [(op, body_part(name, part)) for op in operations(name) for part in op.body]
        readers = list({op.name: op for op, ref in read if ref.split("#", 1)[0] == source.id}.values())
        pointers = {ref.split("#", 1)[1] for _, ref in read if ref.split("#", 1)[0] == source.id}
        if readers and len(pointers) == 1:
            return name, source.path.removeprefix("specs/"), pointers.pop(), [f"{name}.{op.name}" for op in readers]
    pytest.skip("no provider publishes a bare JSON Schema document")


def status_target() -> tuple[str, str, str, str]:
    """(provider, document, pointer of the status property, status operation): an OpenAPI status answer that is a
    component with an enum at the manifest's status pointer; skips the test when none has one."""
    for name in providers(lambda p: p.jobs):
        op = status_operation(name)
        source = spec_of(name, op)
        if source.format != "openapi":
            continue
        document = _document(name, op)
        component = _component(_load(document), op, "response")
        for pointer in job_field(provider(name), "status"):
            if component and pointer.count("/") == 1:
                prop = _properties(_load(document), component).get(pointer[1:], {})
                if "enum" in prop:
                    return name, document, f"{component}/properties/{pointer[1:]}", op.name
    pytest.skip("no provider's status answer is a component with a status enum")


def paths_target() -> tuple[str, str, OperationDecl, OperationDecl, OperationDecl, str]:
    """An OpenAPI document declaring a provider's submit, status and cancel operations and one more path."""
    for name in providers(can_cancel):
        status, cancel = status_operation(name), operation(name, provider(name).jobs.cancel_operation)  # type: ignore[union-attr,arg-type]
        for submit in operations(name, "submit"):
            if not (submit.spec == status.spec == cancel.spec) or spec_of(name, submit).format != "openapi":
                continue
            document = _document(name, submit)
            other = [p for p in _load(document)["paths"] if p not in (submit.path, status.path, cancel.path)]
            if other:
                return name, document, submit, status, cancel, other[0]
    pytest.skip("no OpenAPI document declares a submit, status and cancel operation and another path")


PROBE = "zz_probe_seed"  # a property no vendored schema declares
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
    t = target()
    base, candidate = _spec_dirs(tmp_path, t.document, [t.request, t.response])
    code, report = _drift(
        capsys, "--base", str(base), "--against", str(candidate), "--provider", t.provider, "--no-impact"
    )
    assert code == 1
    for pointer, direction, column, method in (
        (t.request, "request", 4, f"{t.provider}.{t.submit.name}"),
        (t.response, "response", 5, f"{t.provider}.{t.reader.name}"),
    ):
        found = _by_property(report["changes"], pointer)
        assert sorted(found) == sorted(k.replace("-", "_") for k in CASES), f"{direction}: not one change per edit"
        for kind, case in CASES.items():
            change = found[kind.replace("-", "_")]
            assert (change["kind"], change["direction"], change["severity"]) == (kind, direction, case[column]), kind
            assert change["rule"] == f"{direction}-{kind}"
            assert change["provider"] == t.provider and change["document"] == "specs/" + t.document
            assert method in change["operations"], change
            assert change["message"]


def test_json_schema_documents_are_compared_as_request_schemas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Oxen publishes bare JSON Schemas inside its model objects; the manifest says they are request bodies.
    name, document, pointer, readers = json_schema_target()
    base, candidate = _spec_dirs(tmp_path, document, [pointer])
    code, report = _drift(capsys, "--base", str(base), "--against", str(candidate), "--provider", name, "--no-impact")
    assert code == 1
    found = _by_property(report["changes"], pointer)
    assert len(found) == len(CASES)
    for kind, case in CASES.items():
        change = found[kind.replace("-", "_")]
        assert (change["rule"], change["severity"]) == (f"request-{kind}", case[4]), kind
        assert change["document"] == "specs/" + document
        assert sorted(change["operations"]) == sorted(readers)


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
    name, document, pointer, _ = json_schema_target()
    candidate = tmp_path / "candidate"
    shutil.copytree(ROOT / "specs", candidate)
    base = tmp_path / "base"
    shutil.copytree(ROOT / "specs", base)
    for copy_dir, probe in ((base, before), (candidate, after)):
        data = json.loads((copy_dir / document).read_text())
        _node(data, pointer)["properties"]["probe"] = probe
        (copy_dir / document).write_text(json.dumps(data))
    _, report = _drift(capsys, "--base", str(base), "--against", str(candidate), "--provider", name, "--no-impact")
    assert [c["rule"] for c in report["changes"]] == [f"request-{kind}"]


def test_identical_candidates_report_no_change_and_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(ROOT / "specs", tmp_path / "same")
    code, report = _drift(capsys, "--against", str(tmp_path / "same"))
    assert code == 0
    assert report["changes"] == [] and report["summary"] == {"breaking": 0, "warning": 0, "info": 0}
    assert sorted(report["compared"]) == sorted(source.path for _, source in spec_sources())
    assert report["impact"]["semver"] == "none" and report["impact"]["generated"] == []
    assert report["impact"]["fixtures"] == [] and report["impact"]["fixtures_checked"] == len(fixtures())


def test_reformatting_and_nullability_spelled_differently_is_no_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, source in spec_sources():  # every document: other bytes, same document
        candidate = tmp_path / name / source.id
        shutil.copytree(ROOT / "specs", candidate)
        document = source.path.removeprefix("specs/")
        data = json.loads((candidate / document).read_text())
        (candidate / document).write_text(json.dumps(data, sort_keys=True))
        code, report = _drift(capsys, "--against", str(candidate), "--provider", name, "--no-impact")
        assert (code, report["changes"]) == (0, []), source.path


def test_a_breaking_candidate_exits_1_by_default_and_fail_on_sets_the_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = target(lambda doc, t: _property_with(doc, t.request, _has_enum), " with an enum in the request")
    enum = _property_with(_load(t.document), t.request, _has_enum)
    candidate = tmp_path / "candidate"
    with _edited_copy(candidate, t.document) as data:
        _node(data, t.request)["properties"][enum]["enum"].pop()
    args = ["--against", str(candidate), "--provider", t.provider, "--no-impact"]
    assert _drift(capsys, *args)[0] == 1
    assert _drift(capsys, *args, "--fail-on", "never")[0] == 0

    info_only = tmp_path / "info"
    with _edited_copy(info_only, t.document) as data:
        _node(data, t.request)["properties"][PROBE] = {"type": "integer"}
    args = ["--against", str(info_only), "--provider", t.provider, "--no-impact"]
    code, report = _drift(capsys, *args)
    assert (code, [c["rule"] for c in report["changes"]]) == (0, ["request-property-added"])
    assert _drift(capsys, *args, "--fail-on", "warning")[0] == 0
    assert _drift(capsys, *args, "--fail-on", "any")[0] == 1


def test_refs_are_resolved_and_a_shared_component_change_names_every_method_using_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, document, pointer, status_op = status_target()
    candidate = tmp_path / "candidate"
    with _edited_copy(candidate, document) as data:
        _node(data, pointer)["enum"].append("PAUSED")
    _, report = _drift(capsys, "--against", str(candidate), "--provider", name, "--no-impact")
    [change] = report["changes"]  # reported once, however many operations share the component
    assert change["rule"] == "response-enum-value-added" and change["severity"] == "warning"
    assert change["pointer"] == pointer
    assert f"{name}.{status_op}" in change["operations"]


def test_paths_operations_parameters_statuses_and_content_types(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, document, submit, status, cancel, other = paths_target()
    candidate = tmp_path / "candidate"
    with _edited_copy(candidate, document) as data:
        paths = data["paths"]
        del paths[other]
        paths["/zz-probe/{request_id}/logs"] = {"get": {"responses": {"200": {"description": "logs"}}}}
        status_op = paths[status.path][status.method.lower()]
        status_op.setdefault("parameters", []).append({"name": "verbose", "in": "query", "required": True})
        unused = next(code for code in ("404", "409", "410", "451") if code not in status_op["responses"])
        status_op["responses"][unused] = {"description": "unknown request"}
        submit_op = paths[submit.path][submit.method.lower()]
        content = submit_op["requestBody"]["content"]
        submit_op["requestBody"]["content"] = {"multipart/form-data": content["application/json"]}
        del paths[cancel.path][cancel.method.lower()]
        paths[cancel.path]["post" if cancel.method != "POST" else "patch"] = {
            "responses": {"200": {"description": "ok"}}
        }
    code, report = _drift(capsys, "--against", str(candidate), "--provider", name, "--no-impact")
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
    t = target(lambda doc, t: _property_with(doc, t.request, _has_max_length), " with a maxLength in the request")
    limited = _property_with(_load(t.document), t.request, _has_max_length)
    candidate = tmp_path / "candidate"
    with _edited_copy(candidate, t.document) as data:
        schema = _node(data, t.request)
        schema["properties"][PROBE] = {"type": "integer"}
        schema.setdefault("required", []).append(PROBE)
        schema["properties"][limited]["maxLength"] = 1000
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
    request_class = model_class(t.provider, t.submit.request or "")
    symbol = f"{request_class.__module__}.{request_class.__name__}"
    assert ("field-added", f"{symbol}.{PROBE}") in generated
    assert ("field-changed", f"{symbol}.{limited}") in generated
    assert request_class.__module__.replace(".", "/") + ".py" in impact["files"]
    broken = {f["fixture"]: f["problems"] for f in impact["fixtures"]}
    recorded = fixture_for(t.provider, t.submit.name, "submit_").name
    assert recorded in broken
    assert any(f"request body /{PROBE}: '{PROBE}' is a required property" in p for p in broken[recorded])
    assert all(name.startswith(f"{t.provider}/") for name in broken)


def test_a_candidate_the_generator_cannot_compile_is_a_breaking_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = next(
        (n for n in providers(lambda p: p.jobs) if spec_of(n, status_operation(n)).format == "openapi"), None
    ) or pytest.skip("no provider reads job status from an OpenAPI document")
    status = status_operation(name)
    document = _document(name, status)
    candidate = tmp_path / "candidate"
    with _edited_copy(candidate, document) as data:
        del data["paths"][status.path]
    code, report = _drift(capsys, "--against", str(candidate), "--provider", name)
    assert code == 1
    failed = [c for c in report["changes"] if c["rule"] == "generation-failed"]
    assert failed and failed[0]["severity"] == "breaking" and failed[0]["document"] == "specs/" + document
    assert report["impact"]["generation_error"] and report["impact"]["semver"] == "major"


@pytest.mark.parametrize("fmt", ["text", "markdown", "github"])
def test_report_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    t = target(lambda doc, t: _property_with(doc, t.request, _has_enum), " with an enum in the request")
    enum = _property_with(_load(t.document), t.request, _has_enum)
    candidate = tmp_path / "candidate"
    with _edited_copy(candidate, t.document) as data:
        _node(data, t.request)["properties"][enum]["enum"].pop()
    out = tmp_path / "report"
    code = main(["drift", "--manifest", str(ROOT / "providers.toml"), "--against", str(candidate),
                 "--provider", t.provider, "--format", fmt, "--output", str(out)])  # fmt: skip
    assert code == 1
    text = out.read_text()
    assert "request-enum-value-removed" in text
    if fmt == "markdown":
        assert text.startswith("## Provider schema drift") and "### Breaking (1)" in text
        assert "SDK semver bump: **major**" in text and "| provider | rule |" in text
    elif fmt == "github":
        assert text.startswith(f"::error file=specs/{t.document},title=request-enum-value-removed::")
        assert "::notice title=SDK semver bump::major" in text
    else:
        assert "BREAKING request-enum-value-removed" in text and "exit 1 (--fail-on breaking)" in text
    assert "report written to" in capsys.readouterr().err


def test_bad_candidates_are_errors_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = str(ROOT / "providers.toml")
    assert main(["drift", "--manifest", manifest, "--against", str(tmp_path / "missing")]) == 2
    assert "candidate directory not found" in capsys.readouterr().err
    name, source = spec_sources()[0]
    candidate = tmp_path / "candidate"
    shutil.copytree(ROOT / "specs", candidate)
    (candidate / source.path.removeprefix("specs/")).write_text("{not json")
    assert main(["drift", "--manifest", manifest, "--against", str(candidate), "--provider", name]) == 2
    err = capsys.readouterr().err
    assert f"{source.path}: candidate copy: invalid JSON at line 1" in err
    assert "nothing was written" not in err


def test_the_readme_rule_table_is_the_one_the_code_applies(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    table = capsys.readouterr().out
    assert table.count("\n") == len(RULES) + 2
    assert table in (ROOT / "README.md").read_text()


def test_each_edit_of_one_vendored_spec_is_reported_with_its_severity_and_direction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def editable(doc: Any, t: Target) -> bool:
        required = set(_node(doc, t.request).get("required", []))
        return bool(
            _property_with(doc, t.request, _has_enum)
            and _property_with(doc, t.request, _has_max_length)
            and set(_properties(doc, t.request)) - required
            and _properties(doc, t.response)
        )

    t = target(editable, " with an enum, a maxLength and an optional property")
    doc = _load(t.document)
    required = set(_node(doc, t.request).get("required", []))
    enum = _property_with(doc, t.request, _has_enum)
    limited = _property_with(doc, t.request, lambda p: "maxLength" in p and "enum" not in p)
    optional = next(n for n in _properties(doc, t.request) if n not in required and n not in (enum, limited))
    answered = next(iter(_properties(doc, t.response)))
    candidate = tmp_path / "candidate"
    with _edited_copy(candidate, t.document) as data:
        request, response = _node(data, t.request), _node(data, t.response)
        request["properties"][enum]["enum"].pop()
        request["properties"][PROBE] = {"type": "integer"}
        request["properties"][limited]["maxLength"] += 500
        request.setdefault("required", []).append(optional)
        response["properties"][PROBE] = {"type": "integer"}
        response.setdefault("required", []).append(PROBE)
        response["properties"][answered] = {"anyOf": [response["properties"][answered], {"type": "null"}]}
        response["properties"]["zz_timings"] = {"type": "object"}

    code, report = _drift(capsys, "--against", str(candidate))
    found = {(c["pointer"].rsplit("/", 1)[-1], c["rule"], c["severity"], c["direction"]) for c in report["changes"]}
    assert found == {
        (enum, "request-enum-value-removed", "breaking", "request"),
        (PROBE, "request-property-added", "info", "request"),
        (limited, "request-max-length-increased", "info", "request"),
        (optional, "request-property-became-required", "breaking", "request"),
        (PROBE, "response-required-property-added", "info", "response"),
        (answered, "response-became-nullable", "breaking", "response"),
        ("zz_timings", "response-property-added", "info", "response"),
    }
    assert all(c["document"] == "specs/" + t.document for c in report["changes"])
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
    provider_name, document, pointer, _ = json_schema_target()
    for name, probe in (("base", before), ("candidate", after)):
        shutil.copytree(ROOT / "specs", tmp_path / name)
        data = json.loads((tmp_path / name / document).read_text())
        _node(data, pointer)["properties"]["probe"] = probe
        (tmp_path / name / document).write_text(json.dumps(data))
    args = ["--base", str(tmp_path / "base"), "--against", str(tmp_path / "candidate"), "--provider", provider_name]
    code, report = _drift(capsys, *args, "--no-impact")
    assert (code, report["changes"]) == (0, [])
