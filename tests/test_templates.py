"""Templates cannot emit unescaped text: `trusted` only on literals and macro calls, plain strings refused."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from conftest import ROOT
from jinja2 import nodes

from codegen.pipeline import pycode
from codegen.pipeline.diagnostics import GenerationError
from codegen.pipeline.render import jinja_env

TEMPLATES = ROOT / "templates"
RENDERED = sorted(p for p in TEMPLATES.rglob("*.jinja") if "models" not in p.parts)


def _ast(path: Path) -> nodes.Template:
    env = jinja_env(TEMPLATES)
    return env.parse(path.read_text(encoding="utf-8"), path.name)


@pytest.mark.parametrize("path", RENDERED, ids=lambda p: p.relative_to(TEMPLATES).as_posix())
def test_trusted_marks_only_template_literals_and_macro_calls(path: Path) -> None:
    tree = _ast(path)
    macros = {m.name for m in tree.find_all(nodes.Macro)}
    for node in (f for f in tree.find_all(nodes.Filter) if f.name == "trusted"):
        target = node.node
        literal = isinstance(target, nodes.Const) and isinstance(target.value, str)
        macro_call = (
            isinstance(target, nodes.Call) and isinstance(target.node, nodes.Name) and target.node.name in macros
        )
        assert literal or macro_call, f"{path.name}:{node.lineno}: `trusted` applied to {type(target).__name__}"


def test_the_lint_sees_the_marker() -> None:
    assert sum(1 for p in RENDERED for f in _ast(p).find_all(nodes.Filter) if f.name == "trusted") > 20


def test_the_model_template_emits_no_raw_spec_text() -> None:
    """datamodel-code-generator's own template variables would carry the description and comments unescaped."""
    path = TEMPLATES / "models" / "pydantic_v2" / "BaseModel.jinja2"
    tree = jinja2.Environment().parse(path.read_text(encoding="utf-8"))
    output = {n.name for out in tree.find_all(nodes.Output) for n in out.find_all(nodes.Name)}
    assert not output & {"description", "comment", "title"}
    assert "kling_doc" in output


def _render(source: str, **context: object) -> str:
    env = jinja_env(TEMPLATES)
    return str(env.from_string(source).render(**context))


@pytest.mark.parametrize(
    "source",
    [
        "{{ text }}",
        "{{ text | upper }}",
        '{{ name | ident ~ "x" }}',
        "{{ (name | ident)[1:] }}",
        "{{ text | safe }}",
        "{{ 5 }}",
        "{{ none }}",
        '{% set x = "literal" %}{{ x }}',
    ],
)
def test_text_that_skipped_escaping_fails_the_generation(source: str) -> None:
    with pytest.raises(GenerationError, match="unescaped"):
        _render(source, text='x"""\nimport os', name="ok", none=None)


def test_escaped_values_and_marked_literals_render() -> None:
    out = _render(
        '{{ "async " | trusted if flag }}def {{ name | ident }}(): return {{ text | pystr }}  # {{ text | comment }}',
        flag=True,
        name="f",
        text='a"b',
    )
    assert out == 'async def f(): return "a\\"b"  # a"b'
    assert _render('{{ "x" | trusted if flag }}', flag=False) == ""
    assert isinstance(pycode.pystr("x"), pycode.Code) and not isinstance(pycode.pystr("x") + "y", pycode.Code)
