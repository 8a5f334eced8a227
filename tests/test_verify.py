"""The checks before writing: a failure names the spec location, and the import check runs nothing it should not.

These feed the checks a rendering with one line spliced in, as an escaping bug would: the corpus shows that the
real templates never produce such code, this shows what happens if one ever did.
"""

from __future__ import annotations

import pytest
from test_hostile_specs import BASE

from codegen.pipeline import ir, verify
from codegen.pipeline.diagnostics import Diagnostics, GenerationError
from codegen.pipeline.manifest import load
from codegen.pipeline.parse import build_api
from codegen.pipeline.render import render_files

MODELS = "acme_sdk/acme/acme_video/models.py"
CLIENT = "acme_sdk/acme/acme_video/client.py"


@pytest.fixture(scope="module")
def rendered() -> tuple[ir.Api, dict[str, str | bytes]]:
    manifest = load(BASE / "providers.toml")
    api = build_api(manifest, None, Diagnostics())
    return api, render_files(api, manifest.templates)


def _splice(files: dict[str, str | bytes], path: str, after: str, line: str) -> dict[str, str | bytes]:
    text = str(files[path])
    assert after in text
    return {**files, path: text.replace(after, after + line, 1)}


def _model(api: ir.Api, name: str) -> ir.Model:
    return next(m for p in api.providers for u in p.units for m in u.models if m.name == name)


@pytest.mark.parametrize(
    ("payload", "refused"),
    [
        ("__import__('socket').create_connection(('127.0.0.1', 9))", "socket"),
        ("open('kling-verify-canary', 'w')", "open("),
        ("__import__('os').system('true')", "os.system"),
        ("__import__('subprocess').run(['true'])", "subprocess.Popen"),
        ("__import__('os').remove('/nonexistent')", "os.remove"),
    ],
)
def test_the_import_check_refuses_network_processes_and_writes(
    rendered: tuple[ir.Api, dict[str, str | bytes]], payload: str, refused: str
) -> None:
    api, files = rendered
    hostile = _splice(files, MODELS, "class Style(RequestModel):\n", f"    {payload}\n")
    with pytest.raises(GenerationError) as caught:
        verify.import_check(hostile, api)
    assert "the import check refused" in caught.value.message and refused in caught.value.message
    assert caught.value.location is not None and str(caught.value.location) == _model(api, "Style").source


def test_the_import_runs_without_the_callers_secrets(
    rendered: tuple[ir.Api, dict[str, str | bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, files = rendered
    monkeypatch.setenv("ACME_KEY", "acme-secret-3f9a")
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    hostile = _splice(
        files, MODELS, "class Style(RequestModel):\n", "    raise RuntimeError(sorted(__import__('os').environ))\n"
    )
    with pytest.raises(GenerationError) as caught:
        verify.import_check(hostile, api)
    assert "RuntimeError: ['LC_ALL', 'PATH']" in caught.value.message


def test_a_module_that_does_not_compile_names_the_operation(rendered: tuple[ir.Api, dict[str, str | bytes]]) -> None:
    api, files = rendered
    broken = _splice(files, CLIENT, "    def get_job(\n        self,\n", "        self,\n")
    with pytest.raises(GenerationError) as caught:
        verify.compile_all(broken, api)
    op = next(op for op in api.providers[0].units[0].operations if op.name == "get_job")
    assert str(caught.value.location) == op.source and "does not compile" in caught.value.message


def test_a_field_the_model_generator_renamed_is_an_error_at_its_pointer(
    rendered: tuple[ir.Api, dict[str, str | bytes]],
) -> None:
    api, files = rendered
    text = str(files[MODELS]).replace("    seed:", "    field_seed:", 1)
    with pytest.raises(GenerationError) as caught:
        verify.check_names({**files, MODELS: text}, api, str(files["acme_sdk/_runtime/base_client.py"]))
    seed = next(f for f in _model(api, "TextToVideoRequest").fields if f.wire_name == "seed")
    assert str(caught.value.location) == seed.source


def test_a_name_bound_twice_in_a_module_is_an_error(rendered: tuple[ir.Api, dict[str, str | bytes]]) -> None:
    api, files = rendered
    hostile = _splice(files, MODELS, "from __future__ import annotations\n", "Style = None\n")
    with pytest.raises(GenerationError) as caught:
        verify.check_names(hostile, api, str(files["acme_sdk/_runtime/base_client.py"]))
    assert str(caught.value.location) == _model(api, "Style").source and "add a `rename`" in caught.value.message
