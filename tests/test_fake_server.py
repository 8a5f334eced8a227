"""kling_sdk.testing: the spec-driven fake provider, over real HTTP on loopback."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema
import pytest
from conftest import API_KEY, call
from manifest_support import (
    at,
    can_cancel,
    declared_limits,
    discriminators,
    dotted,
    has_fake,
    image_submit,
    job_field,
    normalised_state,
    operation,
    operations,
    prompt_field,
    protocol,
    providers,
    put,
    route,
    simplest_submit,
    start_image_field,
    status_operation,
    submit_body,
    units,
    wire_body,
    wire_path,
    with_fact,
)
from manifest_support import provider as provider_decl

from kling_sdk._runtime.errors import (
    AuthenticationError,
    DownloadError,
    GenerationFailedError,
    JobCancelledError,
    SubmitOutcomeUnknownError,
)
from kling_sdk._runtime.jobs import pick
from kling_sdk.testing import FakeServer, Fault, sample_video, serve

PROVIDERS = providers(has_fake)
both = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
providers_ = pytest.mark.parametrize("provider", PROVIDERS)
pytestmark = pytest.mark.usefixtures("fresh_fake")


def _run_method(provider: str) -> tuple[str, dict[str, Any]]:
    """The provider's simplest task (text where it serves one) and a minimal request for it."""
    op = simplest_submit(provider)
    return op.name.replace("submit_", "run_"), submit_body(provider, op.name)


def _raw_submit(provider: str) -> tuple[str, str, dict[str, Any]]:
    """(auth scheme, path under the provider's prefix, JSON body) of the simplest submit, as sent on the wire."""
    op = simplest_submit(provider)
    base_path = protocol(provider)["base_path"]
    return (
        provider_decl(provider).auth.scheme,
        base_path + wire_path(op),
        wire_body(provider, op.name, submit_body(provider, op.name)),
    )


def _prompt_pointer(provider: str) -> str:
    """Where the simplest submit's body keeps the prompt (a JSON pointer: "/prompt", "/input/prompt")."""
    return prompt_field(provider, simplest_submit(provider).name)


def _job_url(origin: str, provider: str, op_name: str, job_id: str) -> str:
    """The URL of a job operation (status, result) on the fake: the id in its path segment or query parameter."""
    op = operation(provider, op_name)
    ident = route(provider, op_name)["id"]
    path = re.sub(r"{[^}]+}", quote(job_id, safe=""), wire_path(op))
    query = f"?{ident['name']}={quote(job_id, safe='')}" if ident and ident["in"] == "query" else ""
    return f"{origin}/{provider}{protocol(provider)['base_path']}{path}{query}"


# ---------------------------------------------------------------------------------------------- CLI server


@pytest.fixture(scope="module")
def cli_server() -> Iterator[str]:
    """`python -m kling_sdk.testing serve --port 0` in a subprocess; yields its origin."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = ["--port", "0", "--queued", "0.2", "--running", "0.3", "--api-key", API_KEY, "--log-level", "warning"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "kling_sdk.testing", "serve", *args], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    try:
        assert first.startswith("fake Kling providers on http://127.0.0.1:"), first
        yield first.split()[4]
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


@providers_
def test_cli_server_answers_submit_status_result_over_http(cli_server: str, provider: str) -> None:
    scheme, path, body = _raw_submit(provider)
    decl = provider_decl(provider)
    auth = {decl.auth.header: f"{scheme} {API_KEY}"}
    with httpx.Client(headers=auth, timeout=10) as http:
        submitted = http.post(f"{cli_server}/{provider}{path}", json=body)
        assert submitted.status_code == protocol(provider)["submit_status"], submitted.text  # Replicate: 201
        job_id = pick(submitted.json(), job_field(decl, "id"))
        status_url = _job_url(cli_server, provider, status_operation(provider).name, job_id)
        for _ in range(100):
            status = http.get(status_url)
            state = normalised_state(provider, pick(status.json(), job_field(decl, "status")))
            if state == "succeeded":
                break
            assert status.status_code == protocol(provider)["pending_status"]
            time.sleep(0.05)  # this server runs on real time: 0.2 s queued, 0.3 s running
        assert status.status_code == 200 and state == "succeeded"
        finished = status.json()
        results = operations(provider, "result")
        if results:  # the video is in the result document, not in the status
            finished = http.get(_job_url(cli_server, provider, results[0].name, job_id)).json()
        video_url = pick(finished, job_field(decl, "video_url"))
        video = httpx.get(video_url)
        assert video.status_code == 200 and video.content == sample_video()
        assert video.headers["content-type"] == "video/mp4"


@providers_
def test_cli_server_refuses_a_missing_or_wrong_key_in_the_provider_shape(cli_server: str, provider: str) -> None:
    scheme, path, body = _raw_submit(provider)
    url = f"{cli_server}/{provider}{path}"
    header = provider_decl(provider).auth.header
    shape = protocol(provider)["errors"]["unauthorized"]
    for headers in ({}, {header: f"{scheme} wrong-key"}):
        answer = httpx.post(url, json=body, headers=headers)
        assert answer.status_code == shape["status"] == 401
        assert set(answer.json()) == set(shape["body"])  # the provider's own error document


def _placeholders(template: Any, name: str, at: str = "") -> list[str]:
    """The JSON pointers in a document template whose value is exactly `{name}`."""
    if isinstance(template, dict):
        return [p for k, v in template.items() for p in _placeholders(v, name, f"{at}/{k}")]
    if isinstance(template, list):
        return [p for i, v in enumerate(template) for p in _placeholders(v, name, f"{at}/{i}")]
    return [at] if template == "{" + name + "}" else []


@providers_
def test_cli_server_rejects_an_invalid_body_with_the_provider_validation_error(cli_server: str, provider: str) -> None:
    scheme, path, body = _raw_submit(provider)
    url = f"{cli_server}/{provider}{path}"
    proto = protocol(provider)
    op = simplest_submit(provider)
    if proto["validation"] == "deferred":  # the queue checks only its own part (the model id) up front
        field = next(iter(discriminators(provider, op.name)))
        bad = {k: v for k, v in body.items() if k != field}
    else:  # the prompt, wherever the body keeps it (a pointer: "/prompt", "/input/prompt"), is not text
        pointer = prompt_field(provider, op.name)
        field = dotted(pointer)  # how the error names it: "input.prompt"
        bad = put(body, pointer, 42)
    answer = httpx.post(url, json=bad, headers={provider_decl(provider).auth.header: f"{scheme} {API_KEY}"})
    assert answer.status_code == proto["errors"]["invalid"]["status"], answer.text
    assert field in json.dumps(answer.json())
    for pointer in _placeholders(proto["errors"]["invalid"]["body"], "field"):  # where the error names the field
        assert pick(answer.json(), (pointer,)) == field, pointer


# ---------------------------------------------------------------------------------------------- the SDK end to end


@both
@providers_
async def test_failed_generations_surface_as_generation_failed(fake: FakeServer, provider: str, is_async: bool) -> None:
    fake.app.inject(provider, "submit", fail_generation=True)
    client = fake.client(provider, is_async=is_async, api_key=API_KEY)
    method, body = _run_method(provider)
    with pytest.raises(GenerationFailedError) as failure:
        await call(client, method, body)
    assert fake.app.protocols[provider]["failure"]["message"] in str(failure.value)


@providers_
async def test_a_wrong_key_is_refused_before_anything_runs(fake: FakeServer, provider: str) -> None:
    client = fake.client(provider, api_key="not-the-key")
    method, body = _run_method(provider)
    with pytest.raises(AuthenticationError):
        await call(client, method, body)
    assert fake.app.jobs == {}


@providers_
def test_rate_limits_outages_and_cut_downloads_are_ridden_out(fake: FakeServer, provider: str, tmp_path: Path) -> None:
    limits = fake.app.protocols[provider]["rate_limit_status"]
    fake.app.inject(provider, "submit", status=limits[-1], retry_after=0.01)
    fake.app.inject(provider, "status", status=503, times=2)
    fake.app.inject(provider, "download", truncate=3000)
    client = fake.client(provider, api_key=API_KEY)
    method, body = _run_method(provider)
    result = getattr(client, method)(body)
    assert Path(client.download(result, tmp_path / "v.mp4")).read_bytes() == sample_video()
    assert fake.app.count(provider, "submit") == 2  # the refused one and the accepted one
    assert sum(fake.app.submit_counts(provider).values()) == 1
    assert fake.app.count(provider, "download") == 2  # cut, then resumed


@providers_
def test_a_5xx_on_submit_is_not_resent(fake: FakeServer, provider: str) -> None:
    fake.app.inject(provider, "submit", Fault(status=502))
    client = fake.client(provider, api_key=API_KEY)
    method, body = _run_method(provider)
    with pytest.raises(SubmitOutcomeUnknownError):
        getattr(client, method.replace("run_", "submit_"))(body)
    assert fake.app.count(provider, "submit") == 1


@providers_
def test_a_connection_dropped_after_submit_is_not_resent_and_the_job_exists(fake: FakeServer, provider: str) -> None:
    fake.app.inject(provider, "submit", drop=True)
    client = fake.client(provider, api_key=API_KEY)
    method, body = _run_method(provider)
    with pytest.raises(SubmitOutcomeUnknownError):
        getattr(client, method.replace("run_", "submit_"))(body)
    assert fake.app.count(provider, "submit") == 1 and len(fake.app.jobs) == 1


@providers_
def test_a_truncated_download_is_resumed_with_a_range(fake: FakeServer, provider: str, tmp_path: Path) -> None:
    client = fake.client(provider, api_key=API_KEY)
    method, body = _run_method(provider)
    result = getattr(client, method)(body)
    fake.app.inject(provider, "download", truncate=3000)
    path = client.download(result, tmp_path / "v.mp4")
    assert Path(path).read_bytes() == sample_video()
    assert fake.app.count(provider, "download") == 2


@providers_
def test_an_unknown_status_value_is_followed_to_the_end(fake: FakeServer, provider: str) -> None:
    fake.app.inject(provider, "submit", unknown_status="WARMING_UP")
    client = fake.client(provider, api_key=API_KEY)
    method, body = _run_method(provider)
    states: list[str] = []
    getattr(client, method)(body, on_progress=lambda p: states.append(p.state))
    assert states[-1] == "succeeded"


@both
@pytest.mark.parametrize("provider", with_fact(lambda p: has_fake(p) and can_cancel(p), "can cancel"))
async def test_a_cancelled_job_ends_cancelled_on_every_provider(
    fake: FakeServer, provider: str, is_async: bool
) -> None:
    client = fake.client(provider, api_key=API_KEY, is_async=is_async)
    method, body = _run_method(provider)
    job = await call(client, method.replace("run_", "submit_"), body)
    await call(client, "cancel", job)
    status = await call(client, "wait", job, raise_on_failure=False, stream=False)
    assert status.state == "cancelled", status.raw_status
    with pytest.raises(JobCancelledError) as info:
        await call(client, "wait", job.id)
    assert info.value.job_id == job.id


@pytest.mark.parametrize("provider", with_fact(lambda p: has_fake(p) and can_cancel(p), "can cancel"))
def test_cancel_moves_a_job_to_cancelled(fake: FakeServer, provider: str) -> None:
    client = fake.client(provider, api_key=API_KEY)
    method, body = _run_method(provider)
    job = getattr(client, method.replace("run_", "submit_"))(body)
    client.cancel(job)
    assert next(iter(fake.app.jobs.values())).state(fake.app.now()) == "cancelled"
    assert fake.app.count(provider, "cancel") == 1


@providers_
def test_latency_is_injected_on_the_virtual_clock(fake: FakeServer, provider: str) -> None:
    fake.app.inject(provider, "submit", latency=30.0)
    before = fake.app.now()
    method, body = _run_method(provider)
    getattr(fake.client(provider, api_key=API_KEY), method.replace("run_", "submit_"))(body)
    assert fake.app.now() - before >= 30.0 - 1e-9  # float sums of virtual seconds


@pytest.mark.parametrize(
    "provider", with_fact(lambda p: has_fake(p) and p.fake.validation == "deferred", "validates model parameters late")
)
def test_a_deferred_validation_fails_the_job_when_it_runs(fake: FakeServer, provider: str) -> None:
    op = simplest_submit(provider)
    later = route(provider, op.name)["request"][1:]  # the model's own schema, checked when the job runs
    field, schema = next((k, v) for part in later for k, v in part.get("properties", {}).items() if "enum" in v)
    numbers = [v for v in schema["enum"] if isinstance(v, int)]
    body = {**wire_body(provider, op.name, submit_body(provider, op.name)), field: max(numbers) + 1 if numbers else "x"}
    scheme, path, _ = _raw_submit(provider)
    answer = httpx.post(
        f"{fake.url}/{provider}{path}", json=body, headers={provider_decl(provider).auth.header: f"{scheme} {API_KEY}"}
    )
    assert answer.status_code == 200, answer.text  # accepted into the queue ...
    client = fake.client(provider, api_key=API_KEY)
    job = client.job(pick(answer.json(), job_field(provider_decl(provider), "id")), task=op.task)
    with pytest.raises(GenerationFailedError, match=field):  # ... and failed when it runs
        client.wait(job)


@providers_
def test_doubled_slashes_and_every_documented_path_form_are_served(fake: FakeServer, provider: str) -> None:
    """Sunra's Python client sends `//requests/...`; fal's OpenAPI lists a longer form of its queue paths."""
    decl = provider_decl(provider)
    op = simplest_submit(provider)
    headers = {decl.auth.header: f"{decl.auth.scheme} {API_KEY}"}
    submitted = httpx.post(
        f"{fake.url}/{provider}{protocol(provider)['base_path']}{wire_path(op)}",
        json=wire_body(provider, op.name, submit_body(provider, op.name)), headers=headers,
    )  # fmt: skip
    job_id = pick(submitted.json(), job_field(decl, "id"))
    status = _job_url(fake.url, provider, status_operation(provider).name, job_id)
    rest = status.removeprefix(f"{fake.url}/{provider}")
    doubled = f"{fake.url}/{provider}/{rest[1:].replace('/', '//')}"  # every slash inside the provider's path
    assert httpx.get(doubled, headers=headers).status_code in (200, protocol(provider)["pending_status"])
    for r in protocol(provider)["routes"]:
        for template in r["paths"][1:]:  # the spec's own path where the wire path differs
            if r["id"] is None or r["method"] != "GET":
                continue
            url = f"{fake.url}/{provider}{protocol(provider)['base_path']}{re.sub(r'{[^}]+}', job_id, template)}"
            assert httpx.get(url, headers=headers).status_code != 404, url  # routed (a result may still be pending)


@pytest.mark.parametrize("provider", with_fact(lambda p: has_fake(p) and p.files.mode == "upload", "uploads files"))
def test_uploads_land_on_the_fake_storage(fake: FakeServer, tmp_path: Path, provider: str) -> None:
    from test_inputs import png

    op = image_submit(provider)
    assert op is not None
    image = tmp_path / "start.png"
    image.write_bytes(png(640, 480))
    client = fake.client(provider, api_key=API_KEY)
    body = submit_body(provider, op.name, image=image)
    field = start_image_field(provider, op.name)
    assert field is not None and at(body, field) == image
    getattr(client, op.name)(body)
    assert list(fake.app.uploads.values()) == [image.read_bytes()]
    submitted = next(iter(fake.app.jobs.values())).body
    assert httpx.get(at(submitted, field)).content == image.read_bytes()


@providers_
def test_faults_and_counters_are_reachable_over_http(fake: FakeServer, provider: str) -> None:
    status_op = status_operation(provider).name
    added = httpx.post(
        f"{fake.url}/_fake/faults",
        json={"provider": provider, "route": status_op, "fault": {"status": 429, "retry_after": 2}},
    )
    assert added.status_code == 200
    bad = {"provider": provider, "route": "x", "fault": {"nope": 1}}
    assert httpx.post(f"{fake.url}/_fake/faults", json=bad).status_code == 400
    client = fake.client(provider, api_key=API_KEY)
    method, body = _run_method(provider)
    job = getattr(client, method.replace("run_", "submit_"))(body)
    client.status(job)
    stats = httpx.get(f"{fake.url}/_fake/stats").json()
    assert stats["calls"][f"{provider}.status.{status_op}"] == 2  # the 429, then the answer
    assert list(stats["submits"].values()) == [1]
    listed = httpx.get(f"{fake.url}/_fake/jobs").json()["jobs"]
    assert [(j["provider"], j["id"], j["state"]) for j in listed] == [(provider, job.id, "queued")]
    submit = method.replace("run_", "submit_")
    assert listed[0]["prompt"] == at(wire_body(provider, submit, body), prompt_field(provider, submit))


# ---------------------------------------------------------------------------------------------- documents and files


@providers_
def test_every_document_the_fake_sends_validates_against_the_vendored_response_schema(
    fake: FakeServer, provider: str
) -> None:
    proto = fake.app.protocols[provider]
    client = fake.client(provider, api_key=API_KEY)
    method, body = _run_method(provider)
    job = getattr(client, method.replace("run_", "submit_"))(body)
    schemas = {r["kind"]: r["response"] for r in proto["routes"]}
    checked = 0
    for _ in range(300):
        doc = fake.app.status_document(provider, job.id)
        jsonschema.validate(doc, schemas["status"])
        checked += 1
        if fake.app.jobs[(provider, job.id)].state(fake.app.now()) == "succeeded":
            break
        fake.app.clock.sleep(5)
    assert checked > 2
    if "result" in schemas:
        result = httpx.get(job.result_url, headers={"Authorization": f"{proto['auth']['schemes'][0]} {API_KEY}"}).json()
        jsonschema.validate(result, schemas["result"])


def test_the_sample_video_is_a_decodable_mp4() -> None:
    data = sample_video()
    boxes, offset = [], 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        boxes.append(kind.decode())
        offset += size
    assert boxes[0] == "ftyp" and {"moov", "mdat"} <= set(boxes) and offset == len(data)
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    decoded = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", "-", "-f", "null", "-"], input=data, capture_output=True
    )
    assert decoded.returncode == 0 and decoded.stderr == b""
    info = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", "-"], input=data, capture_output=True)
    assert b"Video: h264" in info.stderr and b"Audio: aac" in info.stderr


@providers_
def test_downloads_support_ranges_head_and_content_length(fake: FakeServer, provider: str) -> None:
    client = fake.client(provider, api_key=API_KEY)
    method, body = _run_method(provider)
    url = getattr(client, method)(body).url
    data = sample_video()
    full = httpx.get(url)
    assert full.headers["content-length"] == str(len(data)) and full.headers["accept-ranges"] == "bytes"
    part = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    assert httpx.get(url, headers={"Range": "bytes=-10"}).content == data[-10:]
    assert httpx.get(url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416
    head = httpx.head(url)
    assert head.content == b"" and head.headers["content-length"] == str(len(data))


def test_the_demo_saves_an_mp4_per_provider_with_progress(tmp_path: Path) -> None:
    """The README's main command ends with this: real jobs through the generated clients, MP4s on disk."""
    args = ["demo", "--out", str(tmp_path), "--queued", "0.2", "--running", "0.4"]
    done = subprocess.run(
        [sys.executable, "-m", "kling_sdk.testing", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    served = units(has_fake)  # one job per (provider, model), through that model's client
    for provider, model in served:
        assert (tmp_path / f"kling-{provider}-{model}.mp4").read_bytes() == sample_video()
        shown = f"[{provider}/{model}]"
        assert f"{shown} queued" in done.stdout and f"{shown} succeeded" in done.stdout
    assert sorted(p.name for p in tmp_path.glob("*.mp4")) == sorted(f"kling-{p}-{m}.mp4" for p, m in served)
    assert f"submits per body on the fake: {[1] * len(served)}" in done.stdout


# ---------------------------------------------------------------------------------------------- hostile input


def _submit_url(fake: FakeServer, provider: str) -> str:
    return f"{fake.url}/{provider}{_raw_submit(provider)[1]}"


def _auth(fake: FakeServer, provider: str) -> dict[str, str]:
    auth = fake.app.protocols[provider]["auth"]
    return {auth["header"]: f"{auth['schemes'][0]} {API_KEY}"}


def _invalid_shape(fake: FakeServer, provider: str) -> set[str]:
    body = fake.app.protocols[provider]["errors"]["invalid"]["body"]
    return set(body) if isinstance(body, dict) else set()


@pytest.mark.parametrize(
    ("fault", "field"),
    [
        ({"times": "2"}, "times"),  # accepted and then 500 on every request, before
        ({"times": 0}, "times"),
        ({"status": "429"}, "status"),
        ({"status": 99}, "status"),
        ({"status": True}, "status"),
        ({"retry_after": -1}, "retry_after"),
        ({"drop": "yes"}, "drop"),
        ({"truncate": -5}, "truncate"),
        ({"latency": "slow"}, "latency"),
        ({"skip": 1.5}, "skip"),
        ({"unknown_status": 7}, "unknown_status"),
        ({"honest": 1}, "honest"),
        ({"stall": -1}, "stall"),
        ({"trickle": 0}, "trickle"),
        ({"seconds": 0}, "seconds"),
        ({"seconds": "40"}, "seconds"),
        ({"nope": 1}, "nope"),
    ],
)
def test_a_badly_typed_fault_is_refused_on_arrival_naming_the_field(
    fake: FakeServer, fault: dict[str, Any], field: str
) -> None:
    provider = PROVIDERS[0]
    route_name = status_operation(provider).name
    answer = httpx.post(f"{fake.url}/_fake/faults", json={"provider": provider, "route": route_name, "fault": fault})
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["detail"]
    with pytest.raises((TypeError, ValueError), match=field):
        fake.app.inject(provider, route_name, Fault(**fault)) if field != "nope" else Fault.from_dict(fault)
    # nothing was installed: the route still answers
    client = fake.client(provider, api_key=API_KEY)
    method, body = _run_method(provider)
    job = getattr(client, method.replace("run_", "submit_"))(body)
    assert client.status(job).state == "queued"


@pytest.mark.parametrize(
    ("target", "field"),
    [
        ({"provider": "no-such-provider", "route": "submit"}, "provider"),
        ({"provider": PROVIDERS[0], "route": "nowhere"}, "route"),
    ],
)
def test_a_fault_for_an_unknown_provider_or_route_is_refused(
    fake: FakeServer, target: dict[str, str], field: str
) -> None:
    answer = httpx.post(f"{fake.url}/_fake/faults", json={**target, "fault": {"status": 500}})
    assert answer.status_code == 400 and field in answer.json()["detail"], answer.text


@providers_
def test_deeply_nested_json_is_a_4xx_in_the_provider_shape(fake: FakeServer, provider: str) -> None:
    nested = b"[" * 200_000 + b"]" * 200_000
    answer = httpx.post(
        _submit_url(fake, provider), content=nested,
        headers={**_auth(fake, provider), "Content-Type": "application/json"},
    )  # fmt: skip
    assert 400 <= answer.status_code < 500, answer.text[:300]
    assert set(answer.json()) == _invalid_shape(fake, provider)
    assert len(answer.content) < 4096 and fake.app.jobs == {}


@providers_
def test_an_oversized_body_is_refused_without_echoing_it(fake: FakeServer, provider: str) -> None:
    _, _, body = _raw_submit(provider)
    huge = json.dumps(put(body, _prompt_pointer(provider), "A" * 50_000_000)).encode()
    answer = httpx.post(
        _submit_url(fake, provider), content=huge,
        headers={**_auth(fake, provider), "Content-Type": "application/json"}, timeout=60,
    )  # fmt: skip
    assert 400 <= answer.status_code < 500, answer.text[:300]
    assert set(answer.json()) == _invalid_shape(fake, provider)
    assert len(answer.content) < 4096 and b"AAAA" not in answer.content
    assert fake.app.jobs == {}


@providers_
def test_a_too_long_prompt_is_reported_without_echoing_it(fake: FakeServer, provider: str) -> None:
    _, _, body = _raw_submit(provider)
    long = json.dumps(put(body, _prompt_pointer(provider), "B" * 200_000)).encode()
    answer = httpx.post(
        _submit_url(fake, provider), content=long, headers={**_auth(fake, provider), "Content-Type": "application/json"}
    )
    if fake.app.protocols[provider]["validation"] == "deferred":  # checked when the job runs: it fails
        assert answer.status_code == fake.app.protocols[provider]["submit_status"]
        job = next(iter(fake.app.jobs.values()))
        assert len(json.dumps(job.failure)) < 1024 and "BBBB" not in json.dumps(job.failure)
        return
    op = simplest_submit(provider)
    if "maxLength" not in declared_limits(provider, op.name, _prompt_pointer(provider)):
        # the spec sets no limit (Replicate's Input): the provider takes it, like any other prompt
        assert answer.status_code == fake.app.protocols[provider]["submit_status"], answer.text[:300]
        return
    assert 400 <= answer.status_code < 500 and "prompt" in answer.text
    assert len(answer.content) < 4096 and b"BBBB" not in answer.content


@providers_
def test_a_non_json_content_type_is_refused_and_makes_no_job(fake: FakeServer, provider: str) -> None:
    _, _, body = _raw_submit(provider)
    answer = httpx.post(
        _submit_url(fake, provider),
        content=json.dumps(body),
        headers={**_auth(fake, provider), "Content-Type": "text/plain"},
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert set(answer.json()) == _invalid_shape(fake, provider)
    assert fake.app.jobs == {}


def test_idle_connections_are_closed_after_the_idle_timeout() -> None:
    import socket

    with serve(idle_timeout=0.3) as server:
        host, port = httpx.URL(server.url).host, httpx.URL(server.url).port
        with socket.create_connection((host, port), timeout=5) as sock:  # connects and never speaks
            started = time.monotonic()
            assert sock.recv(1) == b""  # the server hung up
            assert time.monotonic() - started < 3
        with socket.create_connection((host, port), timeout=5) as sock:  # one request, then silence
            sock.sendall(b"GET /_fake/stats HTTP/1.1\r\nHost: x\r\n\r\n")
            received = b""
            while not received.endswith(b"\r\n\r\n") and b"}" not in received:
                received += sock.recv(65536)
            started = time.monotonic()
            while sock.recv(65536):
                pass
            assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    "provider",
    [p for p in PROVIDERS if "video_size" in json.dumps(protocol(p)["documents"])],
)
def test_an_honest_truncation_is_caught_by_the_sdk_size_check(fake: FakeServer, provider: str, tmp_path: Path) -> None:
    client = fake.client(provider, api_key=API_KEY)
    method, body = _run_method(provider)
    result = getattr(client, method)(body)
    fake.app.inject(provider, "download", truncate=3000, honest=True)
    short = httpx.get(result.url)
    assert short.status_code == 200 and short.headers["content-length"] == "3000" and len(short.content) == 3000
    fake.app.inject(provider, "download", truncate=3000, honest=True)  # once: the next try gets the whole file
    assert Path(client.download(result, tmp_path / "v.mp4")).read_bytes() == sample_video()
    fake.app.inject(provider, "download", truncate=3000, honest=True, times=None)  # every time
    with pytest.raises(DownloadError, match="offers 3000 bytes; the provider stated"):
        client.download(result, tmp_path / "w.mp4", max_resumes=1)
    assert not (tmp_path / "w.mp4").exists()
