"""The name sanitiser and the escaping functions, as pure tables and properties."""

from __future__ import annotations

import ast

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from codegen.pipeline import names, pycode
from codegen.pipeline.diagnostics import Diagnostics
from codegen.pipeline.manifest import load
from codegen.pipeline.parse import build_api

RESERVED = names.field_reserved(ROOT / "templates" / "runtime" / "models.py", ["Style"])


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("prompt", "prompt"),
        ("requestId", "requestId"),
        ("aspect-ratio", "aspect_ratio"),
        ("to_wire", "to_wire_"),
        ("schema", "schema_"),
        ("model_fields_set", "model_fields_set_"),
        ("model_dump_json", "field_model_dump_json"),
        ("model_name", "model_name"),
        ("__init__", "init"),
        ("_", "value"),
        ("", "value"),
        ("class", "class_"),
        ("None", "none"),
        ("type", "type"),
        ("5", "n5"),
        ("ﬁle_url", "file_url"),
        ("größe", "grosse"),
        ("été", "ete"),
        ("名前", "u540d_u524d"),
        ("Style", "style"),
        ("str", "str_"),
        ("a.b c", "a_b_c"),
    ],
)
def test_python_name(wire: str, expected: str) -> None:
    assert names.python_name(wire, RESERVED) == expected


def test_clashing_names_are_told_apart_in_document_order_the_exact_spelling_first() -> None:
    assigned, renamed = names.assign(["foo-bar", "foo_bar", "Foo Bar", "ﬁle_url", "file_url"], RESERVED)
    assert assigned == {
        "foo-bar": "foo_bar_2", "foo_bar": "foo_bar", "Foo Bar": "foo_bar_3", "ﬁle_url": "file_url_2", "file_url": "file_url",
    }  # fmt: skip
    assert renamed == ["foo-bar", "Foo Bar", "ﬁle_url"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("image-to-video", "ImageToVideo"), ("1st", "Model1St"), ("None", "NoneModel"), ("", "Model")],
)
def test_class_name(text: str, expected: str) -> None:
    assert names.class_name(text) == expected
    assert names.is_class_name(expected)


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        (
            names.is_module_name,
            ["fal", "fal_mirror", "oxen2"],
            ["fal-mirror", "Fal", "class", "testing", "_runtime", "2x"],
        ),
        (names.is_class_name, ["Fal", "FalMirror"], ["fal", "None", "Fal_Mirror", "9Lives", "Fal-Mirror"]),
        (names.is_method_name, ["get_status", "listJobs"], ["class", "_private", "Get", "get-status"]),
    ],
)
def test_manifest_name_rules(check: object, good: list[str], bad: list[str]) -> None:
    assert callable(check)
    assert all(check(name) for name in good) and not any(check(name) for name in bad)


TEXT = st.text(st.characters(exclude_categories=()), max_size=40)


@settings(max_examples=300)
@given(TEXT)
def test_a_string_literal_evaluates_to_the_text(text: str) -> None:
    assert ast.literal_eval(pycode.pystr(text)) == text


@settings(max_examples=300)
@given(TEXT)
def test_docstring_text_cannot_close_the_docstring(text: str) -> None:
    source = f'def f():\n    """{pycode.doc(text, 4)}"""\n'
    tree = ast.parse(source)
    [function] = tree.body
    assert isinstance(function, ast.FunctionDef) and len(function.body) == 1
    indented = "\n".join([line if i == 0 or not line else "    " + line for i, line in enumerate(text.split("\n"))])
    assert ast.get_docstring(function, clean=False) == indented


@settings(max_examples=300)
@given(TEXT)
def test_comment_text_stays_one_comment(text: str) -> None:
    assert len(ast.parse(f"x = 1  # {pycode.comment(text)}\n").body) == 1


def test_literals_of_json_values() -> None:
    value = {"a": [1, 2.5, True, None, 'x"y'], "b": (1,)}
    assert ast.literal_eval(pycode.pyrepr(value)) == {"a": [1, 2.5, True, None, 'x"y'], "b": (1,)}
    with pytest.raises(ValueError):
        pycode.pyrepr(float("inf"))
    with pytest.raises(ValueError):
        pycode.ident("not an identifier")


def test_method_names_cover_what_the_client_methods_use() -> None:
    """A path or query parameter may not take a name a client method declares or reads (names.METHOD_NAMES)."""
    api = build_api(load(ROOT / "providers.toml"), None, Diagnostics())
    units = [(provider, unit) for provider in api.providers for unit in provider.units]
    assert units
    for provider, unit in units:
        ops = {op.name: op for op in unit.operations}
        models = {m.name for m in unit.models}
        client = ROOT / "generated" / api.package / provider.name / unit.module / "client.py"
        tree = ast.parse(client.read_text())
        for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
            for method in (n for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
                op = ops.get(method.name) or ops.get(method.name.replace("run_", "submit_", 1))
                assert op is not None, method.name
                spec_params = {p.name for p in op.params}
                arguments = {a.arg for a in [*method.args.args, *method.args.kwonlyargs]} - spec_params
                read = {n.id for n in ast.walk(method) if isinstance(n, ast.Name)} - spec_params - models
                assert arguments | read <= names.METHOD_NAMES, (method.name, (arguments | read) - names.METHOD_NAMES)


def test_package_modules_are_what_generation_puts_at_the_package_root() -> None:
    """A provider may not be named like one of the package's own modules (kling_sdk.errors, .cli, ...)."""
    manifest = load(ROOT / "providers.toml")
    root = ROOT / "generated" / manifest.package
    entries = {p.stem for p in root.iterdir() if (p.is_dir() and p.name != "__pycache__") or p.suffix == ".py"}
    own = entries - {"__init__"} - {d.name for d in manifest.providers}
    assert own == set(names.PACKAGE_MODULES)
