"""Image limits a spec states on its own fields (`[inputs] image_limits`) are checked locally before paying.

The providers, models, fields and limits all come from the manifest and the generated clients; the limits
themselves come from the vendored documents (the last test changes one in a copy and regenerates).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Recorder
from manifest_support import MANIFEST, ROOT, client_class, models, providers, put, sdk_module, submit_body
from test_inputs import png

from codegen import generate
from kling_sdk.errors import InvalidRequestError
from kling_sdk.unified import ADAPTERS, ImageToVideo, Kling

STATING = providers(lambda p: p.image_limits is not None)


def _stated() -> list[tuple[str, str, str, Any]]:
    """(provider, model, field, rule) for every image rule whose limits a spec states."""
    found = []
    for name in STATING:
        for model in models(name):
            for field, rule in sdk_module(name, model).PROVIDER.images.items():
                if rule.min_width or rule.max_aspect:
                    found.append((name, model, field, rule))
    return found


STATED = _stated()


def _refusing_client() -> tuple[httpx.Client, list[httpx.Request]]:
    """An http client that records what it is asked to send (the tests expect nothing)."""
    recorder = Recorder(status=500)
    return httpx.Client(transport=httpx.MockTransport(recorder.handler)), recorder.requests


def _bad_images(rule: Any) -> list[tuple[str, bytes, str]]:
    """(what is wrong, image, what the error must say) for the limits the rule has."""
    cases = []
    if rule.min_width:
        small = max(1, rule.min_width * 2 // 3)
        cases.append(("too small", png(small, small), f"the minimum is {rule.min_width}x{rule.min_height or 1} px"))
    if rule.max_aspect:
        side = max(rule.min_height or 1, 64)
        wide = int(side * max(4, rule.max_aspect + 1))
        cases.append(("too wide", png(wide, side), f"allowed {rule.min_aspect or 0:.2f}-{rule.max_aspect:.2f}"))
    return cases


def test_some_provider_reads_image_limits_from_its_specs() -> None:
    if not STATING:
        pytest.skip("no provider declares [inputs] image_limits")
    assert STATED, f"{STATING} declare image_limits, but no generated rule carries a limit from the specs"


@pytest.mark.parametrize(("name", "model", "field", "rule"), STATED, ids=[f"{s[0]}-{s[1]}-{s[2]}" for s in STATED])
def test_an_image_outside_the_specs_limits_is_refused_before_any_request(
    tmp_path: Path, name: str, model: str, field: str, rule: Any
) -> None:
    client = client_class(name, model=model)
    adapter = _adapter(name, model)
    if adapter is None:
        pytest.skip(f"{name} serves no {ImageToVideo.task} for {model}")
    submit = adapter.operation
    for why, data, says in _bad_images(rule):
        image = tmp_path / f"{why.replace(' ', '-')}.png"
        image.write_bytes(data)
        http, sent = _refusing_client()
        body = put(submit_body(name, submit, model=model), field, image)
        with client("k", http_client=http) as sdk, pytest.raises(InvalidRequestError) as refused:
            getattr(sdk, submit)(body)
        assert (refused.value.provider, refused.value.field) == (name, field), why
        assert says in str(refused.value), (why, str(refused.value))
        assert sent == [], why


def _adapter(name: str, model: str) -> Any:
    """The unified adapter of the provider's image-to-video for the model, if it serves it."""
    return ADAPTERS.get((name, model, ImageToVideo.task))


def _neutral_param(name: str, model: str, field: str) -> str | None:
    """The neutral parameter the unified adapter maps onto the provider's image field, if any."""
    adapter = _adapter(name, model)
    found = [w.param for w in adapter.fields if w.pointer in (field, f"/{field}")] if adapter else []
    return found[0] if found else None


@pytest.mark.parametrize(("name", "model", "field", "rule"), STATED, ids=[f"{s[0]}-{s[1]}-{s[2]}" for s in STATED])
def test_the_same_image_through_kling_is_refused_before_any_request(
    tmp_path: Path, name: str, model: str, field: str, rule: Any
) -> None:
    param = _neutral_param(name, model, field)
    if param is None:
        pytest.skip(f"no neutral parameter maps onto {name} {field}")
    for why, data, says in _bad_images(rule):
        image = tmp_path / f"{why.replace(' ', '-')}.png"
        image.write_bytes(data)
        http, sent = _refusing_client()
        request = ImageToVideo.model_validate(
            {"model": model, "prompt": "a hiker", "start_image": "https://example.com/a.png", param: image}
        )
        with (
            Kling(name, api_keys={name: "k"}, http_client=http) as kling,
            pytest.raises(InvalidRequestError) as refused,
        ):
            kling.submit(request)
        assert refused.value.provider == name and says in str(refused.value), (why, str(refused.value))
        assert sent == [], why


def _retyped(document: Any, extension: str, key: str, value: float) -> int:
    """Set `key` of every `extension` object in a document; how many were set."""
    count = 0
    if isinstance(document, dict):
        if isinstance(document.get(extension), dict) and key in document[extension]:
            document[extension][key] = value
            count += 1
        return count + sum(_retyped(v, extension, key, value) for v in document.values())
    if isinstance(document, list):
        return sum(_retyped(v, extension, key, value) for v in document)
    return 0


def test_the_limits_are_the_vendored_documents() -> None:
    if not STATING:
        pytest.skip("no provider declares [inputs] image_limits")
    name = STATING[0]
    decl = next(d for d in MANIFEST.providers if d.name == name)
    assert decl.image_limits is not None
    key = dict(decl.image_limits.keys).get("min_width")
    if key is None:
        pytest.skip(f"{name}'s image_limits name no min_width")
    overlay = {}
    for spec in decl.specs:
        document = json.loads((ROOT / spec.path).read_text())
        if _retyped(document, decl.image_limits.extension, key, 777):
            overlay[spec.path] = json.dumps(document).encode()
    assert overlay, f"no {name} document states {decl.image_limits.extension}.{key}"
    files = generate(MANIFEST, [name], overlay=overlay, verify=False)
    clients = {path: text for path, text in files.items() if path.endswith("client.py") and f"/{name}/" in path}
    assert any("min_width=777," in str(text) for text in clients.values()), "the changed limit did not reach a client"
    before = {rule.min_width for n, _, _, rule in STATED if n == name and rule.min_width}
    assert all(f"min_width={v}," not in str(text) for v in before for text in clients.values())
