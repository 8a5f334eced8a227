"""The hostile-spec corpus: each case edits a copy of tests/hostile (a small manifest + spec) and generates.

Every case ends in one of two outcomes, never a third: a correct SDK (it imports; the field round-trips by its wire
name; null is refused where the spec forbids it; text arrives exactly as written) or a clear error (exit 2, the
file#/pointer in stderr, no traceback, the output tree byte-identical). Payloads in the text cases would write a
canary file if they ever ran; the cases that generate are batched into one SDK (one provider per case) and imported
in this process, so one generation covers them all.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from conftest import ROOT

from codegen.cli import main

BASE = Path(__file__).parent / "hostile"
CANARY = Path(tempfile.gettempdir()) / f"kling-hostile-canary-{os.getpid()}"
RUN = f'__import__("pathlib").Path({str(CANARY)!r}).write_text("ran")'
PAYLOADS = {
    "triple": f'x"""\n{RUN}\n"""',
    "triple_single": f"x'''\n{RUN}\n'''",
    "trailing_quote": 'ends with a quote"',
    "trailing_backslash": "ends with a backslash \\",
    "backslash_newline": f"a \\\n{RUN}",
    "nul": "nul\x00byte",
    "cr": f"carriage\r{RUN}",
    "line_separators": f"ls\u2028{RUN}\u2029ps\x85nel\x0bvt\x0cff",
    "jinja": "{{ 7 * 7 }} {% if true %}x{% endif %} {# c #} {{ cycler.__init__.__globals__.os.system('id') }}",
    "controls": "bell\x07 escape\x1b[31m red \u202e reversed \u200b zero-width",
    "escapes": "\\N{BULLET} \\x41 \\u0041 \\n not escapes",
    "quotes": '"double" \'single\' """""""" \'\'\'\'\'\'',
    "html": '<b>bold</b> &amp; & < > "q" &lt;script&gt; <!-- -->',  # no HTML escaping anywhere
}
Edit = Callable[[dict[str, Any]], None]
Check = Callable[["Sdk"], None]


@dataclass(frozen=True)
class Case:
    """One edit of the base inputs and its expected outcome: `check` for an SDK, or `error` substrings in stderr."""

    id: str
    spec: Edit | None = None
    manifest: tuple[tuple[str, str], ...] = ()  # text replacements in providers.toml
    check: Check | None = None
    error: tuple[str, ...] = ()
    warns: tuple[str, ...] = ()  # an SDK, and these in a warning naming the case's spec file
    alone: bool = False  # generated as its own package (names like `AcmeClient` matter), not in the batch


@dataclass
class Sdk:
    """The generated provider module of one case."""

    module: ModuleType
    class_name: str
    warnings: list[str]

    @property
    def request(self) -> Any:
        return self.module.TextToVideoRequest

    @property
    def invalid(self) -> type[Exception]:
        """The SDK's InvalidRequestError (every refused request is one)."""
        error: type[Exception] = importlib.import_module(
            self.module.__name__.split(".")[0] + ".errors"
        ).InvalidRequestError
        return error

    def client(self, body: Any) -> tuple[Any, list[httpx.Request]]:
        sent: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return httpx.Response(200, json=body)

        cls = getattr(self.module, f"{self.class_name}Client")
        return cls(api_key="k", http_client=httpx.Client(transport=httpx.MockTransport(handler))), sent


# ---------------------------------------------------------------------------------------------- edits
def schemas(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["components"]["schemas"]


def prop(wire: str, schema: dict[str, Any] | None = None) -> Edit:
    """Add a property to the request schema."""
    return lambda spec: schemas(spec)["Input"]["properties"].__setitem__(wire, schema or {"type": "string"})


def props(*wires: str) -> Edit:
    def edit(spec: dict[str, Any]) -> None:
        for wire in wires:
            prop(wire)(spec)

    return edit


def query(wire: str, schema: dict[str, Any] | None = None) -> Edit:
    """Add a query parameter to GET /jobs."""
    param = {"name": wire, "in": "query", "schema": schema or {"type": "integer"}}
    return lambda spec: spec["paths"]["/jobs"]["get"]["parameters"].append(param)


def at(*path: str | int, value: Any) -> Edit:
    """Set the node at `path`."""

    def edit(spec: dict[str, Any]) -> None:
        node: Any = spec
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


def both(*edits: Edit) -> Edit:
    def edit(spec: dict[str, Any]) -> None:
        for one in edits:
            one(spec)

    return edit


def component(name: str, schema: Any, used_as: str | None = None) -> Edit:
    """Add a component schema, and a request property referring to it when `used_as` names one."""

    def edit(spec: dict[str, Any]) -> None:
        schemas(spec)[name] = schema
        if used_as:
            prop(used_as, {"$ref": "#/components/schemas/" + name.replace("~", "~0").replace("/", "~1")})(spec)

    return edit


def chain(length: int) -> Edit:
    """Components C0 -> C1 -> ... each holding the next: nesting through $refs."""

    def edit(spec: dict[str, Any]) -> None:
        for i in range(length):
            component(f"C{i}", {"type": "object", "properties": {"n": {"$ref": f"#/components/schemas/C{i + 1}"}}})(
                spec
            )
        component(f"C{length}", {"type": "string"})(spec)
        prop("c", {"$ref": "#/components/schemas/C0"})(spec)

    return edit


def fan_out(levels: int) -> Edit:
    """L0 refers to L1 twice, L1 to L2 twice, ...: small as written, 2**levels nodes once inlined."""

    def edit(spec: dict[str, Any]) -> None:
        for i in range(levels):
            ref = {"$ref": f"#/components/schemas/L{i + 1}"}
            component(f"L{i}", {"type": "object", "properties": {"a": ref, "b": ref}})(spec)
        component(f"L{levels}", {"type": "string"})(spec)
        prop("l", {"$ref": "#/components/schemas/L0"})(spec)

    return edit


def many_properties(count: int) -> Edit:
    def edit(spec: dict[str, Any]) -> None:
        for i in range(count):
            prop(f"p{i}")(spec)

    return edit


def nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        node = {"type": "object", "properties": {"x": node}}
    return node


# ---------------------------------------------------------------------------------------------- checks
def roundtrip(*wires: str, value: Any = "v", nullable: bool = False) -> Check:
    """Each property is set by its wire name, sent under it, and (unless nullable) null is refused."""

    def check(sdk: Sdk) -> None:
        for wire in wires:
            model = sdk.request.model_validate({"prompt": "p", wire: value})
            assert model.to_wire() == {"prompt": "p", wire: value}, wire
            if not nullable:
                with pytest.raises(sdk.invalid):
                    sdk.request.model_validate({"prompt": "p", wire: None})
        names = {n if f.alias is None else f.alias for n, f in sdk.request.model_fields.items()}
        assert set(wires) <= names

    return check


def sends_query(wire: str, value: Any = 3) -> Check:
    """list_jobs takes the parameter under some Python name and sends it under its wire name."""

    def check(sdk: Sdk) -> None:
        client, sent = sdk.client({"jobs": []})
        params = [p for p in inspect.signature(client.list_jobs).parameters if p not in ("limit", "state")]
        spec_params = [p for p in params if p not in ("extra_query", "extra_headers", "timeout")]
        assert len(spec_params) == 1, params
        client.list_jobs(**{spec_params[0]: value})
        assert sent[-1].url.params[wire] == str(value)
        client.list_jobs(extra_query={"z": 1}, timeout=5)  # the method's own parameters still work
        assert sent[-1].url.params["z"] == "1"

    return check


def text_of(where: Callable[[Sdk], str | None], text: str, first_line: bool = False) -> Check:
    """The text arrives in the generated SDK exactly (a docstring: up to its indentation)."""

    def check(sdk: Sdk) -> None:
        found = where(sdk)
        assert found is not None
        expected = text.strip().splitlines()[0].rstrip(".") if first_line else text.strip()
        if first_line:
            assert expected in found
        else:
            assert inspect.cleandoc(found) == inspect.cleandoc(expected)

    return check


def model_doc(sdk: Sdk) -> str | None:
    return sdk.request.__doc__


def field_description(sdk: Sdk) -> str | None:
    return sdk.request.model_fields["prompt"].description


def submit_doc(sdk: Sdk) -> str | None:
    return getattr(sdk.module, f"{sdk.class_name}Client").submit_text_to_video.__doc__


def get_job_doc(sdk: Sdk) -> str | None:
    return getattr(sdk.module, f"{sdk.class_name}Client").get_job.__doc__


def all_of(*checks: Check) -> Check:
    def check(sdk: Sdk) -> None:
        for one in checks:
            one(sdk)

    return check


def enum_value(value: Any) -> Check:
    def check(sdk: Sdk) -> None:
        assert sdk.request.model_validate({"prompt": "p", "mode": value}).to_wire()["mode"] == value
        with pytest.raises(sdk.invalid):
            sdk.request.model_validate({"prompt": "p", "mode": "not one of them"})

    return check


def default_of(field: str, value: Any) -> Check:
    return lambda sdk: _eq(sdk.request.model_fields[field].default, value)


def no_default(field: str) -> Check:
    return lambda sdk: _eq(sdk.request.model_fields[field].default, None)


def _eq(a: Any, b: Any) -> None:
    assert a == b, (a, b)


def recursive(sdk: Sdk) -> None:
    body = {"prompt": "p", "style": {"name": "a", "parent": {"name": "b", "parent": {"strength": 0.5}}}}
    assert sdk.request.model_validate(body).to_wire() == body


def mutual(sdk: Sdk) -> None:
    body = {"prompt": "p", "a": {"b": {"a": {"b": {}}}}}
    assert sdk.request.model_validate(body).to_wire() == body


def pattern_enforced(sdk: Sdk) -> None:
    assert sdk.request.model_validate({"prompt": 'a"\\'}).to_wire() == {"prompt": 'a"\\'}
    with pytest.raises(sdk.invalid):
        sdk.request.model_validate({"prompt": "A"})


def pattern_not_enforced(sdk: Sdk) -> None:
    assert sdk.request.model_validate({"prompt": "anything"}).to_wire() == {"prompt": "anything"}


def provider_value(attribute: str, value: str) -> Check:
    return lambda sdk: _eq(getattr(sdk.module.PROVIDER, attribute), value)


def titled(title: str) -> Check:
    """The provider's title reaches the docstrings of its client, models and package exactly."""

    def check(sdk: Sdk) -> None:
        for doc in (
            getattr(sdk.module, f"{sdk.class_name}Client").__doc__,
            *(sys.modules[f"{sdk.module.__name__}.{module}.models"].__doc__ for module in sdk.module.MODELS.values()),
            sdk.module.__doc__,
        ):
            _contains(doc, title.replace("\n", "\n    ") if doc and "\n    " + RUN in doc else title)

    return check


def _contains(found: str | None, text: str) -> None:
    assert found is not None and text in found, (text, found)


def path_param(sdk: Sdk) -> None:
    client, sent = sdk.client({"id": "x", "status": "queued"})
    assert next(iter(inspect.signature(client.get_job).parameters)) == "self_"
    client.get_job(self_="abc")
    assert sent[-1].url.path == "/v1/jobs/abc"


def imports(sdk: Sdk) -> None:
    assert sdk.request.model_validate({"prompt": "p"}).to_wire() == {"prompt": "p"}


# ---------------------------------------------------------------------------------------------- the corpus
S = "spec.json#/components/schemas"
P = "spec.json#/paths"
M = "providers.toml#/providers"

NAMES = [
    Case("field-to_wire", prop("to_wire"), check=roundtrip("to_wire")),
    Case("field-schema", prop("schema"), check=roundtrip("schema")),
    Case("field-model_fields_set", prop("model_fields_set"), check=roundtrip("model_fields_set")),
    Case("field-model_dump_json", prop("model_dump_json"), check=roundtrip("model_dump_json")),
    Case("field-model_config", prop("model_config"), check=roundtrip("model_config")),
    Case(
        "field-dict-json-copy-validate",
        props("dict", "json", "copy", "validate", "construct"),
        check=roundtrip("dict", "json", "copy", "validate", "construct"),
    ),
    Case("field-dunder-init", prop("__init__"), check=roundtrip("__init__")),
    Case("field-leading-underscore", props("_private", "_"), check=roundtrip("_private", "_")),
    Case("field-keywords", props("class", "None", "lambda"), check=roundtrip("class", "None", "lambda")),
    Case("field-soft-keywords", props("match", "case", "type"), check=roundtrip("match", "case", "type")),
    Case("field-leading-digit", props("5", "2x"), check=roundtrip("5", "2x")),
    Case(
        "field-dash-and-underscore",
        props("foo-bar", "foo_bar"),
        check=roundtrip("foo-bar", "foo_bar"),
        warns=("#/components/schemas/Input/properties/foo-bar: property 'foo-bar'", "`foo_bar_2`"),
    ),
    Case(
        "field-nfkc-ligature",
        props("ﬁle_url", "file_url"),
        check=roundtrip("ﬁle_url", "file_url"),
        warns=("properties/ﬁle_url: property 'ﬁle_url' of TextToVideoRequest is generated as `file_url_2`",),
    ),
    Case("field-non-ascii", props("größe", "名前", "été"), check=roundtrip("größe", "名前", "été")),
    Case("field-like-a-class", prop("Style"), check=roundtrip("Style")),
    Case(
        "field-like-an-annotation",
        props("str", "Literal", "Field", "Any"),
        check=roundtrip("str", "Literal", "Field", "Any"),
    ),
    Case(
        "field-odd-characters",
        props("a.b", "x y", "", "$ref", "@type"),
        check=roundtrip("a.b", "x y", "", "$ref", "@type"),
    ),
    Case("field-runtime-self", props("self", "request", "timeout"), check=roundtrip("self", "request", "timeout")),
    Case(
        "query-timeout",
        query("timeout"),
        check=sends_query("timeout"),
        warns=("parameters/2: query parameter 'timeout'", "`timeout_`"),
    ),
    Case("query-self", query("self"), check=sends_query("self"), warns=("generated as `self_`",)),
    Case("query-request", query("request"), check=sends_query("request")),
    Case("query-extra_query", query("extra_query"), check=sends_query("extra_query")),
    Case("query-leading-digit", query("5"), check=sends_query("5")),
    Case("query-like-a-model", query("JobList"), check=sends_query("JobList")),
    Case("query-builtin-dict", query("dict"), check=sends_query("dict")),
    Case(
        "path-param-self",
        both(
            lambda s: s["paths"].__setitem__("/jobs/{self}", s["paths"].pop("/jobs/{job_id}")),
            at("paths", "/jobs/{self}", "get", "parameters", 0, "name", value="self"),
        ),
        manifest=(('path = "/jobs/{job_id}"', 'path = "/jobs/{self}"'),),
        check=path_param,
    ),
    Case(
        "class-like-the-client",
        component("AcmeClient", {"type": "object", "properties": {"a": {}}}, "c"),
        error=(f"{S}/AcmeClient", "add a `rename`"),
    ),
    Case(
        "class-like-PROVIDER",
        component("PROVIDER", {"type": "object", "properties": {"a": {}}}, "c"),
        error=(f"{S}/PROVIDER", "add a `rename`"),
    ),
    Case(
        "class-like-typing",
        component("Literal", {"type": "object", "properties": {"a": {}}}, "c"),
        error=(f"{S}/Literal", "add a `rename`"),
    ),
    Case(
        "class-renamed-as-hinted",
        component("AcmeClient", {"type": "object", "properties": {"a": {}}}, "c"),
        manifest=(
            (
                "[providers.acme.specs]",
                '[providers.acme.rename]\nAcmeClient = "AcmeClientInfo"\n\n[providers.acme.specs]',
            ),
        ),
        check=roundtrip("c", value={"a": 1}),
        alone=True,
    ),
    Case(
        "class-title-keyword",
        prop("o", {"type": "object", "title": "None", "properties": {"a": {}}}),
        check=roundtrip("o", value={"a": 1}),
    ),
    Case(
        "class-component-odd-name",
        component("1st thing/≠", {"type": "object", "properties": {"a": {}}}, "odd"),
        check=roundtrip("odd", value={"a": 1}),
    ),
    Case(
        "manifest-provider-dash",
        manifest=(("providers.acme", "providers.fal-mirror"),),
        error=(f"{M}/fal-mirror", "Python module"),
    ),
    Case(
        "manifest-provider-like-a-module",
        manifest=(("providers.acme", "providers.testing"),),
        error=(f"{M}/testing", "Python module"),
    ),
    Case(
        "manifest-class-name",
        manifest=(('class_name = "Acme"', 'class_name = "9Lives"'),),
        error=(f"{M}/acme/class_name", "class name"),
    ),
    Case(
        "manifest-operation-keyword",
        manifest=(('name = "list_jobs"', 'name = "class"'),),
        error=(f"{M}/acme/operations/1/name", "method name"),
    ),
    Case(
        "manifest-operation-like-a-client-method",
        manifest=(('name = "list_jobs"', 'name = "download"'),),
        error=(f"{M}/acme/operations", "replaces the client's own"),
    ),
    Case(
        "manifest-model-keyword",
        manifest=(('response = "JobList"', 'response = "None"'),),
        error=(f"{M}/acme/operations/1/response", "class name"),
    ),
    Case(
        "manifest-rename-value",
        manifest=(("[providers.acme.specs]", '[providers.acme.rename]\nStyle = "my-style"\n\n[providers.acme.specs]'),),
        error=(f"{M}/acme/rename/Style", "class name"),
    ),
    Case(
        "manifest-spec-path-outside",
        manifest=(('path = "spec.json"', 'path = "../../etc/passwd"'),),
        error=(f"{M}/acme/specs/main/path", "relative path below"),
    ),
    Case(
        "manifest-package",
        manifest=(('package = "acme_sdk"', 'package = "acme-sdk"'),),
        error=("providers.toml#/generator/package", "package name"),
    ),
]

T = PAYLOADS
TEXT = [
    *(
        Case(f"summary-{k}", at("paths", "/jobs", "post", "summary", value=v), check=text_of(submit_doc, v, True))
        for k, v in T.items()
        if k in ("triple", "triple_single", "trailing_quote", "jinja", "controls", "html")
    ),
    *(
        Case(
            f"param-description-{k}",
            at("paths", "/jobs/{job_id}", "get", "parameters", 0, "description", value=v),
            check=text_of(get_job_doc, v, True),
        )
        for k, v in T.items()
        if k in ("triple", "cr", "nul", "escapes")
    ),
    *(
        Case(
            f"model-description-{k}",
            at("components", "schemas", "Input", "description", value=v),
            check=text_of(model_doc, v),
        )
        for k, v in T.items()
    ),
    *(
        Case(
            f"field-description-{k}",
            at("components", "schemas", "Input", "properties", "prompt", "description", value=v),
            check=text_of(field_description, v),
        )
        for k, v in T.items()
        if k in ("triple", "line_separators", "quotes", "html")
    ),
    Case(
        "description-huge",
        at("components", "schemas", "Input", "description", value="long " * 40_000),
        check=text_of(model_doc, "long " * 40_000),
    ),
    Case(
        "manifest-title",
        manifest=(('title = "Acme"', f"title = {json.dumps('Acme ' + PAYLOADS['triple'])}"),),
        check=titled("Acme " + PAYLOADS["triple"]),
    ),
    Case(
        "manifest-auth-env",
        manifest=(('env = "ACME_KEY"', 'env = "ACME_\\"KEY\\\\"'),),
        check=provider_value("api_key_env", 'ACME_"KEY\\'),
    ),
    Case(
        "enum-value-payload",
        at("components", "schemas", "Input", "properties", "mode", "enum", value=["std", T["triple"]]),
        check=enum_value(T["triple"]),
    ),
    Case(
        "default-payload",
        both(
            at("components", "schemas", "Input", "properties", "mode", "enum", value=["std", T["cr"]]),
            at("components", "schemas", "Input", "properties", "mode", "default", value=T["cr"]),
        ),
        check=default_of("mode", T["cr"]),
    ),
    Case(
        "pattern-quotes-and-backslashes",
        at("components", "schemas", "Input", "properties", "prompt", "pattern", value="^[a-z\"'\\\\]+$"),
        check=pattern_enforced,
    ),
]

ODDITIES = [
    Case(
        "enum-mixed-types",
        at("components", "schemas", "Input", "properties", "mode", value={"enum": ["a", 1, True]}),
        check=enum_value(1),
    ),
    Case(
        "enum-duplicates",
        at("components", "schemas", "Input", "properties", "mode", "enum", value=["std", "std", "pro"]),
        check=enum_value("pro"),
    ),
    Case(
        "enum-many",
        at("components", "schemas", "Input", "properties", "mode", "enum", value=[f"v{i}" for i in range(2000)]),
        check=enum_value("v1999"),
    ),
    Case(
        "enum-empty",
        at("components", "schemas", "Input", "properties", "mode", "enum", value=[]),
        error=(f"{S}/Input/properties/mode/enum",),
    ),
    Case(
        "enum-of-objects",
        at("components", "schemas", "Input", "properties", "mode", "enum", value=[{"a": 1}]),
        error=(f"{S}/Input/properties/mode/enum",),
    ),
    Case(
        "enum-not-a-list",
        at("components", "schemas", "Input", "properties", "mode", "enum", value="std"),
        error=(f"{S}/Input/properties/mode/enum", "expected an array"),
    ),
    Case(
        "default-not-in-enum",
        at("components", "schemas", "Input", "properties", "mode", "default", value="xl"),
        check=no_default("mode"),
        warns=("properties/mode/default: default 'xl' does not match",),
    ),
    Case(
        "default-wrong-type",
        at("components", "schemas", "Input", "properties", "duration", "default", value="abc"),
        check=no_default("duration"),
    ),
    Case(
        "default-null-not-nullable",
        at("components", "schemas", "Input", "properties", "mode", "default", value=None),
        check=roundtrip("mode", value="std"),
    ),
    Case(
        "default-object-for-string",
        at("components", "schemas", "Input", "properties", "mode", "default", value={"a": 1}),
        check=no_default("mode"),
    ),
    Case(
        "nullable-stays-nullable", prop("n", {"type": "string", "nullable": True}), check=roundtrip("n", nullable=True)
    ),
    Case("number-nan", error=("spec.json", "NaN")),  # raw text edits below
    Case("number-huge-integer", error=("spec.json", "invalid JSON number")),
    Case("number-huge-float", error=("spec.json", "too large")),
    Case("lone-surrogate", error=(f"{S}/Input/description", "surrogate")),
    Case(
        "max-length-negative",
        at("components", "schemas", "Input", "properties", "prompt", "maxLength", value=-1),
        error=(f"{S}/Input/properties/prompt/maxLength", "non-negative integer"),
    ),
    Case(
        "max-length-string",
        at("components", "schemas", "Input", "properties", "prompt", "maxLength", value="10"),
        error=(f"{S}/Input/properties/prompt/maxLength",),
    ),
    Case(
        "minimum-boolean",
        at("components", "schemas", "Style", "properties", "strength", "minimum", value=True),
        error=(f"{S}/Style/properties/strength/minimum", "must be a number"),
    ),
    Case(
        "multiple-of-zero",
        at("components", "schemas", "Style", "properties", "strength", "multipleOf", value=0),
        error=(f"{S}/Style/properties/strength/multipleOf",),
    ),
    Case(
        "pattern-unclosed",
        at("components", "schemas", "Input", "properties", "prompt", "pattern", value="([a-z"),
        error=(f"{S}/Input/properties/prompt/pattern", "invalid regular expression"),
    ),
    Case(
        "pattern-look-around",
        at("components", "schemas", "Input", "properties", "prompt", "pattern", value="^(?=a).*$"),
        check=pattern_not_enforced,
        warns=("properties/prompt/pattern: pydantic's regular-expression engine does not support",),
    ),
    Case(
        "type-list",
        at("components", "schemas", "Input", "properties", "prompt", "type", value=["string", "integer"]),
        error=(f"{S}/Input/properties/prompt/type",),
    ),
    Case(
        "type-number",
        at("components", "schemas", "Input", "properties", "prompt", "type", value=5),
        error=(f"{S}/Input/properties/prompt/type",),
    ),
    Case(
        "properties-as-list",
        at("components", "schemas", "Style", "properties", value=["name"]),
        error=(f"{S}/Style/properties", "expected an object"),
    ),
    Case(
        "required-not-strings",
        at("components", "schemas", "Input", "required", value=[1]),
        error=(f"{S}/Input/required",),
    ),
    Case(
        "items-a-string",
        at("components", "schemas", "Input", "properties", "tags", "items", value="string"),
        error=(f"{S}/Input/properties/tags/items",),
    ),
]

STRUCTURE = [
    Case(
        "cycle-self",
        at("components", "schemas", "Style", "properties", "parent", value={"$ref": "#/components/schemas/Style"}),
        check=recursive,
    ),
    Case(
        "cycle-a-b-a",
        both(
            component("A", {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}}, "a"),
            component("B", {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}}),
        ),
        check=mutual,
    ),
    Case(
        "cycle-allof",
        component("Loop", {"allOf": [{"$ref": "#/components/schemas/Loop"}], "type": "object"}, "l"),
        error=(f"{S}/Loop", "circular allOf"),
    ),
    Case(
        "cycle-ref-to-itself",
        component("Loop", {"$ref": "#/components/schemas/Loop"}, "l"),
        error=(f"{S}/Loop", "recursive schema"),
    ),
    Case(
        "cycle-array-of-itself",
        component("List", {"type": "array", "items": {"$ref": "#/components/schemas/List"}}, "l"),
        error=(f"{S}/List/items/$ref", "recursive schema"),
    ),
    Case("depth-inline", prop("deep", nested(70)), error=(f"{S}/Input/properties/deep", "levels deep")),
    Case("depth-chain-of-components", chain(80), error=(f"{S}/C", "levels deep")),
    Case("depth-chain-within-bounds", chain(20), check=roundtrip("c", value={"n": {"n": {}}})),
    Case("depth-json", error=("spec.json#/x-deep/", "nested more than")),  # raw text edits below
    Case("depth-json-huge", error=("spec.json", "nested more than")),
    Case("size-fan-out", fan_out(24), error=("spec.json#", "more than 100000 nodes")),
    Case("size-document", error=("spec.json", "byte limit")),
    Case("size-many-properties", many_properties(300), check=roundtrip("p299")),
    Case(
        "ref-file-unused",
        component("Passwd", {"$ref": "file:///etc/passwd"}),
        check=imports,
        warns=("#/components/schemas/Passwd/$ref: reference 'file:///etc/passwd' leaves the document",),
    ),
    Case(
        "ref-file-used",
        component("Passwd", {"$ref": "file:///etc/passwd"}, "p"),
        error=(f"{S}/Passwd/$ref", "only local references"),
    ),
    Case(
        "ref-http-used",
        prop("r", {"$ref": "http://127.0.0.1:9/x.json"}),
        error=(f"{S}/Input/properties/r/$ref", "only local references"),
    ),
    Case(
        "ref-relative-file",
        prop("r", {"$ref": "other.json#/components/schemas/X"}),
        error=(f"{S}/Input/properties/r/$ref", "only local references"),
    ),
    Case("ref-dynamic", prop("r", {"$dynamicRef": "#meta"}), error=(f"{S}/Input/properties/r/$dynamicRef",)),
    Case(
        "ref-id-rebases", at("components", "schemas", "Style", "$id", value="http://127.0.0.1:9/base/"), check=imports
    ),
    Case(
        "ref-dangling",
        prop("r", {"$ref": "#/components/schemas/Nothing"}),
        error=(f"{S}/Input/properties/r/$ref", "dangling"),
    ),
    Case(
        "operation-parameters-object",
        at("paths", "/jobs", "get", "parameters", value={"name": "limit"}),
        error=(f"{P}/~1jobs/get/parameters", "expected an array"),
    ),
    Case(
        "operation-parameter-no-name",
        at("paths", "/jobs", "get", "parameters", 0, value={"in": "query"}),
        error=(f"{P}/~1jobs/get/parameters/0", "missing 'name'"),
    ),
    Case(
        "operation-parameter-name-number",
        at("paths", "/jobs", "get", "parameters", 0, "name", value=5),
        error=(f"{P}/~1jobs/get/parameters/0/name", "expected a string"),
    ),
    Case(
        "operation-path-and-query-share-a-name",
        lambda s: s["paths"]["/jobs/{job_id}"]["get"]["parameters"].append({"name": "job_id", "in": "query"}),
        error=(f"{P}/~1jobs~1{{job_id}}/get", "share one name"),
    ),
    Case(
        "operation-content-a-list",
        at("paths", "/jobs", "post", "requestBody", "content", value=[]),
        error=(f"{P}/~1jobs/post/requestBody/content", "expected an object"),
    ),
    Case(
        "operation-responses-a-list",
        at("paths", "/jobs/{job_id}", "get", "responses", value=[]),
        error=(f"{P}/~1jobs~1{{job_id}}/get/responses", "expected an object"),
    ),
    Case(
        "operation-path-item-a-list",
        at("paths", "/jobs/{job_id}", value=[]),
        error=(f"{P}/~1jobs~1{{job_id}}", "expected an object"),
    ),
    Case(
        "operation-header-parameter", at("paths", "/jobs", "get", "parameters", 1, "in", value="header"), check=imports
    ),
    Case("operation-operation-id-a-list", at("paths", "/jobs", "get", "operationId", value=["x"]), check=imports),
    Case("operation-summary-a-list", at("paths", "/jobs", "post", "summary", value=["x"]), check=imports),
    Case(
        "operation-missing-path",
        manifest=(('path = "/jobs/{job_id}"', 'path = "/jobs/{id}"'),),
        error=(f"{P}/~1jobs~1{{id}}", "no path"),
    ),
]

RAW = {  # cases whose edit is to the document's text, not its data
    "number-nan": lambda text: text.replace('"default": 5,', '"default": NaN,'),
    "number-huge-integer": lambda text: text.replace('"default": 5,', '"default": ' + "9" * 5000 + ","),
    "number-huge-float": lambda text: text.replace('"maxLength": 100', '"maxLength": 1e999'),
    "lone-surrogate": lambda text: text.replace('"A text-to-video request."', '"\\ud800 alone"'),
    "depth-json": lambda text: text.replace('"x-deep": 0', '"x-deep": ' + "[" * 200 + "]" * 200),
    "depth-json-huge": lambda text: text.replace('"x-deep": 0', '"x-deep": ' + "[" * 200_000 + "]" * 200_000),
    "size-document": lambda text: text.replace('"x-deep": 0', '"x-deep": "' + "x" * 21_000_000 + '"'),
}
CASES = [*NAMES, *TEXT, *ODDITIES, *STRUCTURE]
OK = [c for c in CASES if c.check is not None]
ERRORS = [c for c in CASES if c.check is None]


def test_the_corpus_is_large_and_every_case_expects_one_outcome() -> None:
    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES)
    assert all((c.check is None) != (not c.error) for c in CASES)


# ---------------------------------------------------------------------------------------------- running cases
def _spec_text(case: Case) -> str:
    spec = json.loads((BASE / "spec.json").read_text())
    spec["x-deep"] = 0
    if case.spec is not None:
        case.spec(spec)
    text = json.dumps(spec, indent=1, ensure_ascii=False)
    return RAW[case.id](text) if case.id in RAW else text


def _manifest_text(case: Case) -> str:
    text = (BASE / "providers.toml").read_text()
    text = text.replace('templates = "../../templates"', f"templates = {json.dumps(str(ROOT / 'templates'))}")
    for old, new in case.manifest:
        assert old in text, (case.id, old)
        text = text.replace(old, new)
    return text


def _provider_section(manifest: str, name: str, class_name: str) -> str:
    section = manifest[manifest.index("[providers.acme]") :]
    section = section.replace("[providers.acme", f"[providers.{name}").replace(
        "[[providers.acme", f"[[providers.{name}"
    )
    section = section.replace('class_name = "Acme"', f'class_name = "{class_name}"')
    return section.replace('path = "spec.json"', f'path = "{name}.json"')


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Sdk]]:
    """Every OK case as one provider of one generated package (or its own, `alone`), imported here."""
    root = tmp_path_factory.mktemp("hostile-batch")
    head = _manifest_text(Case("base")).split("[providers.acme]")[0].replace('"acme_sdk"', '"hostile_sdk"')
    sections, modules = [], {}
    for i, case in enumerate(c for c in OK if not c.alone):
        name, class_name = f"h{i:03d}", f"H{i:03d}"
        modules[case.id] = (f"hostile_sdk.{name}", class_name, f"{name}.json")
        sections.append(_provider_section(_manifest_text(case), name, class_name))
        (root / f"{name}.json").write_text(_spec_text(case), encoding="utf-8")
    (root / "providers.toml").write_text(head + "\n".join(sections), encoding="utf-8")
    err = io.StringIO()
    with redirect_stderr(err):
        code = main(["generate", "-q", "--manifest", str(root / "providers.toml"), "--output", str(root / "out")])
    assert code == 0, f"a case that should generate did not (its spec file is named):\n{err.getvalue()}"
    warnings = err.getvalue().splitlines()
    for i, case in enumerate(c for c in OK if c.alone):
        alone = root / f"alone{i}"
        alone.mkdir()
        (alone / "spec.json").write_text(_spec_text(case), encoding="utf-8")
        (alone / "providers.toml").write_text(_manifest_text(case).replace('"acme_sdk"', f'"alone{i}_sdk"'))
        assert main(["generate", "-q", "--manifest", str(alone / "providers.toml"), "--output", str(root / "out")]) == 0
        modules[case.id] = (f"alone{i}_sdk.acme", "Acme", "spec.json")
    sys.path.insert(0, str(root / "out"))
    try:
        import importlib

        yield {
            cid: Sdk(importlib.import_module(module), c, [w for w in warnings if w.startswith(f"warning: {spec}")])
            for cid, (module, c, spec) in modules.items()
        }
    finally:
        sys.path.remove(str(root / "out"))
        packages = {module.split(".")[0] for module, _, _ in modules.values()}
        for module in [m for m in sys.modules if m.split(".")[0] in packages]:
            del sys.modules[module]
        assert not CANARY.exists(), "a payload ran"


@pytest.mark.parametrize("case", OK, ids=lambda c: c.id)
def test_a_hostile_spec_generates_a_correct_sdk(case: Case, batch: dict[str, Sdk]) -> None:
    assert case.check is not None
    sdk = batch[case.id]
    case.check(sdk)
    for expected in case.warns:
        assert any(expected in line for line in sdk.warnings), (expected, sdk.warnings)
    assert not CANARY.exists(), "a payload ran"


@pytest.fixture(scope="module")
def previous_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tree generated from the unedited inputs: a failed generation must leave it byte for byte."""
    root = tmp_path_factory.mktemp("hostile-base")
    (root / "spec.json").write_text(_spec_text(Case("base")), encoding="utf-8")
    (root / "providers.toml").write_text(_manifest_text(Case("base")), encoding="utf-8")
    assert main(["generate", "-q", "--manifest", str(root / "providers.toml"), "--output", str(root / "out")]) == 0
    return root / "out"


def _snapshot(tree: Path) -> dict[str, bytes]:
    return {p.relative_to(tree).as_posix(): p.read_bytes() for p in sorted(tree.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c.id)
def test_a_hostile_spec_is_refused_clearly(
    case: Case, tmp_path: Path, previous_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "spec.json").write_text(_spec_text(case), encoding="utf-8")
    (tmp_path / "providers.toml").write_text(_manifest_text(case), encoding="utf-8")
    out = tmp_path / "out"
    shutil.copytree(previous_tree, out)
    before = _snapshot(out)

    code = main(["generate", "-q", "--manifest", str(tmp_path / "providers.toml"), "--output", str(out)])

    stderr = capsys.readouterr().err
    assert code == 2, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    for expected in case.error:
        assert expected in errors[0], errors[0]
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert "nothing was written" in stderr
    assert _snapshot(out) == before
    assert not CANARY.exists()


@pytest.mark.parametrize("case", [c for c in [*ODDITIES, *STRUCTURE] if c.spec or c.id in RAW], ids=lambda c: c.id)
def test_drift_and_list_take_a_hostile_candidate_without_a_traceback(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same documents as candidates (drift) and as vendored specs (list): an answer or a located error, quickly."""
    (tmp_path / "spec.json").write_text(_spec_text(Case("base")), encoding="utf-8")
    (tmp_path / "providers.toml").write_text(_manifest_text(Case("base")), encoding="utf-8")
    (tmp_path / "candidates").mkdir()
    (tmp_path / "candidates" / "spec.json").write_text(_spec_text(case), encoding="utf-8")
    manifest = str(tmp_path / "providers.toml")

    drift = main(["drift", "--manifest", manifest, "--against", str(tmp_path / "candidates"), "--no-impact"])
    (tmp_path / "spec.json").write_text(_spec_text(case), encoding="utf-8")
    listing = main(["list", "--manifest", manifest])

    stderr = capsys.readouterr().err
    assert drift in (0, 1, 2) and listing in (0, 2)
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert not CANARY.exists()


@pytest.mark.parametrize("kind", ["fifo", "directory", "symlink-loop", "missing"])
def test_a_spec_path_that_is_no_regular_file_is_refused_without_opening_it(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.json"
    if kind == "fifo":
        os.mkfifo(spec)  # opening it for reading would block for ever
    elif kind == "directory":
        spec.mkdir()
    elif kind == "symlink-loop":
        spec.symlink_to(tmp_path / "loop")
        (tmp_path / "loop").symlink_to(spec)
    (tmp_path / "providers.toml").write_text(_manifest_text(Case("base")), encoding="utf-8")

    code = main(["generate", "-q", "--manifest", str(tmp_path / "providers.toml"), "--output", str(tmp_path / "out")])

    stderr = capsys.readouterr().err
    assert code == 2 and "error: spec.json: " in stderr and "Traceback" not in stderr
    assert not (tmp_path / "out").exists()


def test_an_unexpected_exception_is_reported_where_it_happened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A generator bug (or an input nobody foresaw) is still exit 2 with the location and no traceback."""
    from codegen.pipeline import parse

    def broken(self: Any, node: Any, context: str, role: str) -> Any:
        if node.pointer.endswith("/properties/seed"):
            raise RecursionError("maximum recursion depth exceeded")
        return original(self, node, context, role)

    original = parse._ProviderBuilder._shape_of
    monkeypatch.setattr(parse._ProviderBuilder, "_shape_of", broken)
    (tmp_path / "spec.json").write_text(_spec_text(Case("base")), encoding="utf-8")
    (tmp_path / "providers.toml").write_text(_manifest_text(Case("base")), encoding="utf-8")

    code = main(["generate", "-q", "--manifest", str(tmp_path / "providers.toml"), "--output", str(tmp_path / "out")])

    stderr = capsys.readouterr().err
    assert code == 2 and "Traceback" not in stderr
    expected = "error: internal error while reading spec.json#/components/schemas/Input/properties/seed: input nested"
    assert expected in stderr
    assert not (tmp_path / "out").exists()
