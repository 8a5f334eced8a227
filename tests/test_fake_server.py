"""kling_sdk.testing: the spec-driven fake provider, over real HTTP on loopback."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from conftest import API_KEY, call

from kling_sdk._runtime.errors import (
    AuthenticationError,
    DownloadError,
    GenerationFailedError,
    JobCancelledError,
    SubmitOutcomeUnknownError,
)
from kling_sdk.testing import FakeServer, Fault, load_protocols, sample_video, serve

PROVIDERS = ("oxen", "aimlapi", "sunra", "fal")
IMAGE = "https://example.com/hiker.png"
T2V = {"oxen": {"prompt": "a fox"}, "aimlapi": {"prompt": "a fox"}, "fal": {"prompt": "a fox"}}
I2V = {
    "oxen": {"prompt": "a hiker", "input_image": IMAGE},
    "aimlapi": {"prompt": "a hiker", "image_url": IMAGE},
    "sunra": {"prompt": "a hiker", "start_image_url": IMAGE},
    "fal": {"prompt": "a hiker", "start_image_url": IMAGE},
}
# The raw wire requests of each provider's submit -> status -> result, as its docs spell them (dossier §5.1).
WIRE = {
    "oxen": ("Bearer", "/api/ai/queue", {"model": "kling-video-v2-6-pro-text-to-video", "prompt": "a fox"}),
    "aimlapi": (
        "Bearer",
        "/v2/video/generations",
        {"model": "klingai/video-v2-6-pro-text-to-video", "prompt": "a fox"},
    ),
    "sunra": ("Key", "/v1/queue/kling/kling-v2.6-pro/image-to-video", I2V["sunra"]),
    "fal": ("Key", "/fal-ai/kling-video/v2.6/pro/text-to-video", {"prompt": "a fox"}),
}
both = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
providers = pytest.mark.parametrize("provider", PROVIDERS)
pytestmark = pytest.mark.usefixtures("fresh_fake")


def _run_method(provider: str) -> tuple[str, dict[str, Any]]:
    return ("run_text_to_video", T2V[provider]) if provider in T2V else ("run_image_to_video", I2V[provider])


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


@providers
def test_cli_server_answers_submit_status_result_over_http(cli_server: str, provider: str) -> None:
    scheme, path, body = WIRE[provider]
    auth = {"Authorization": f"{scheme} {API_KEY}"}
    with httpx.Client(headers=auth, timeout=10) as http:
        submitted = http.post(f"{cli_server}/{provider}{path}", json=body)
        assert submitted.status_code == 200, submitted.text
        doc = submitted.json()
        job_id = {"oxen": lambda d: d["generations"][0]["generation_id"]}.get(
            provider, lambda d: d.get("request_id") or d["id"]
        )(doc)
        status_url = {
            "oxen": f"{cli_server}/oxen/api/ai/queue/{job_id}",
            "aimlapi": f"{cli_server}/aimlapi/v2/video/generations?generation_id={job_id}",
        }.get(provider) or doc["status_url"]
        for _ in range(100):
            status = http.get(status_url)
            state = status.json().get("status") or status.json()["status"]
            if state in ("succeeded", "completed", "COMPLETED"):
                break
            assert status.status_code == (202 if provider == "fal" else 200)
            time.sleep(0.05)  # this server runs on real time: 0.2 s queued, 0.3 s running
        assert status.status_code == 200 and state in ("succeeded", "completed", "COMPLETED")
        if provider in ("sunra", "fal"):
            video_url = http.get(doc["response_url"]).json()["video"]["url"]
        else:
            video_url = status.json().get("result_url") or status.json()["video"]["url"]
        video = httpx.get(video_url)
        assert video.status_code == 200 and video.content == sample_video()
        assert video.headers["content-type"] == "video/mp4"


@providers
def test_cli_server_refuses_a_missing_or_wrong_key_in_the_provider_shape(cli_server: str, provider: str) -> None:
    scheme, path, body = WIRE[provider]
    url = f"{cli_server}/{provider}{path}"
    for headers in ({}, {"Authorization": f"{scheme} wrong-key"}):
        answer = httpx.post(url, json=body, headers=headers)
        assert answer.status_code == 401
        shape = answer.json()
        expected_keys = {"oxen": {"error", "status", "status_message"}, "aimlapi": {"message", "path", "requestId", "statusCode", "timestamp"},
                         "sunra": {"error", "timestamp"}, "fal": {"detail"}}[provider]  # fmt: skip
        assert set(shape) == expected_keys


@providers
def test_cli_server_rejects_an_invalid_body_with_the_provider_validation_error(cli_server: str, provider: str) -> None:
    scheme, path, body = WIRE[provider]
    url = f"{cli_server}/{provider}{path}"
    bad = {**body, "prompt": 42} if provider != "oxen" else {"prompt": "x"}  # Oxen's queue checks `model` up front
    answer = httpx.post(url, json=bad, headers={"Authorization": f"{scheme} {API_KEY}"})
    expected = {"oxen": 400, "aimlapi": 400, "sunra": 422, "fal": 422}[provider]
    assert answer.status_code == expected, answer.text
    text = json.dumps(answer.json())
    assert ("prompt" in text) if provider != "oxen" else ("model" in text)
    if provider == "fal":
        assert answer.json()["detail"][0]["loc"] == ["body", "prompt"]


# ---------------------------------------------------------------------------------------------- the SDK end to end


@both
@providers
async def test_failed_generations_surface_as_generation_failed(fake: FakeServer, provider: str, is_async: bool) -> None:
    fake.app.inject(provider, "submit", fail_generation=True)
    client = fake.client(provider, is_async=is_async, api_key=API_KEY)
    method, body = _run_method(provider)
    with pytest.raises(GenerationFailedError) as failure:
        await call(client, method, body)
    assert fake.app.protocols[provider]["failure"]["message"] in str(failure.value)


@providers
async def test_a_wrong_key_is_refused_before_anything_runs(fake: FakeServer, provider: str) -> None:
    client = fake.client(provider, api_key="not-the-key")
    method, body = _run_method(provider)
    with pytest.raises(AuthenticationError):
        await call(client, method, body)
    assert fake.app.jobs == {}


@providers
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


@providers
def test_a_5xx_on_submit_is_not_resent(fake: FakeServer, provider: str) -> None:
    fake.app.inject(provider, "submit", Fault(status=502))
    client = fake.client(provider, api_key=API_KEY)
    method, body = _run_method(provider)
    with pytest.raises(SubmitOutcomeUnknownError):
        getattr(client, method.replace("run_", "submit_"))(body)
    assert fake.app.count(provider, "submit") == 1


@providers
def test_a_connection_dropped_after_submit_is_not_resent_and_the_job_exists(fake: FakeServer, provider: str) -> None:
    fake.app.inject(provider, "submit", drop=True)
    client = fake.client(provider, api_key=API_KEY)
    method, body = _run_method(provider)
    with pytest.raises(SubmitOutcomeUnknownError):
        getattr(client, method.replace("run_", "submit_"))(body)
    assert fake.app.count(provider, "submit") == 1 and len(fake.app.jobs) == 1


@providers
def test_a_truncated_download_is_resumed_with_a_range(fake: FakeServer, provider: str, tmp_path: Path) -> None:
    client = fake.client(provider, api_key=API_KEY)
    method, body = _run_method(provider)
    result = getattr(client, method)(body)
    fake.app.inject(provider, "download", truncate=3000)
    path = client.download(result, tmp_path / "v.mp4")
    assert Path(path).read_bytes() == sample_video()
    assert fake.app.count(provider, "download") == 2


@providers
def test_an_unknown_status_value_is_followed_to_the_end(fake: FakeServer, provider: str) -> None:
    fake.app.inject(provider, "submit", unknown_status="WARMING_UP")
    client = fake.client(provider, api_key=API_KEY)
    method, body = _run_method(provider)
    states: list[str] = []
    getattr(client, method)(body, on_progress=lambda p: states.append(p.state))
    assert states[-1] == "succeeded"


CANCELLING = [
    p for p, proto in load_protocols()["providers"].items() if any(r["kind"] == "cancel" for r in proto["routes"])
]


@both
@pytest.mark.parametrize("provider", CANCELLING)
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


@pytest.mark.parametrize("provider", CANCELLING)
def test_cancel_moves_a_job_to_cancelled(fake: FakeServer, provider: str) -> None:
    client = fake.client(provider, api_key=API_KEY)
    method, body = _run_method(provider)
    job = getattr(client, method.replace("run_", "submit_"))(body)
    client.cancel(job)
    assert next(iter(fake.app.jobs.values())).state(fake.app.now()) == "cancelled"
    assert fake.app.count(provider, "cancel") == 1


def test_latency_is_injected_on_the_virtual_clock(fake: FakeServer) -> None:
    fake.app.inject("fal", "submit", latency=30.0)
    before = fake.app.now()
    fake.client("fal", api_key=API_KEY).submit_text_to_video({"prompt": "x"})
    assert fake.app.now() - before >= 30.0


def test_oxen_checks_model_parameters_when_the_job_runs(fake: FakeServer) -> None:
    client = fake.client("oxen", api_key=API_KEY)
    body = {"model": "kling-video-v2-6-pro-text-to-video", "prompt": "x", "duration": 7}
    doc = httpx.post(
        fake.base_url("oxen") + "/ai/queue", json=body, headers={"Authorization": f"Bearer {API_KEY}"}
    ).json()
    job = client.job(doc["generations"][0]["generation_id"], task="text-to-video")
    with pytest.raises(GenerationFailedError, match="duration"):
        client.wait(job)


def test_sunra_double_slash_and_fal_full_endpoint_paths_are_served(fake: FakeServer) -> None:
    headers = {"Authorization": f"Key {API_KEY}"}
    sunra = httpx.post(
        fake.base_url("sunra") + "/queue/kling/kling-v2.6-pro/image-to-video", json=I2V["sunra"], headers=headers
    )
    job_id = sunra.json()["request_id"]
    assert httpx.get(fake.base_url("sunra") + f"/queue//requests/{job_id}/status", headers=headers).status_code == 200
    fal = httpx.post(
        fake.base_url("fal") + "/fal-ai/kling-video/v2.6/pro/text-to-video", json={"prompt": "x"}, headers=headers
    )
    # the per-endpoint OpenAPI form of the status path (dossier §4.3 [conflict]) is served as well
    full = (
        fake.base_url("fal") + f"/fal-ai/kling-video/v2.6/pro/image-to-video/requests/{fal.json()['request_id']}/status"
    )
    assert httpx.get(full, headers=headers).status_code == 202


def test_sunra_uploads_land_on_the_fake_storage(fake: FakeServer, tmp_path: Path) -> None:
    from test_inputs import png

    image = tmp_path / "start.png"
    image.write_bytes(png(640, 480))
    client = fake.client("sunra", api_key=API_KEY)
    client.submit_image_to_video({"prompt": "x", "start_image_url": image})
    assert list(fake.app.uploads.values()) == [image.read_bytes()]
    body = next(iter(fake.app.jobs.values())).body
    assert httpx.get(body["start_image_url"]).content == image.read_bytes()


def test_faults_and_counters_are_reachable_over_http(fake: FakeServer) -> None:
    added = httpx.post(
        f"{fake.url}/_fake/faults",
        json={"provider": "fal", "route": "get_status", "fault": {"status": 429, "retry_after": 2}},
    )
    assert added.status_code == 200
    assert (
        httpx.post(f"{fake.url}/_fake/faults", json={"provider": "fal", "route": "x", "fault": {"nope": 1}}).status_code
        == 400
    )
    client = fake.client("fal", api_key=API_KEY)
    job = client.submit_text_to_video({"prompt": "x"})
    client.status(job)
    stats = httpx.get(f"{fake.url}/_fake/stats").json()
    assert stats["calls"]["fal.status.get_status"] == 2
    assert list(stats["submits"].values()) == [1]
    listed = httpx.get(f"{fake.url}/_fake/jobs").json()["jobs"]
    assert [(j["provider"], j["id"], j["state"], j["prompt"]) for j in listed] == [("fal", job.id, "queued", "x")]


# ---------------------------------------------------------------------------------------------- documents and files


@providers
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


def test_downloads_support_ranges_head_and_content_length(fake: FakeServer) -> None:
    client = fake.client("fal", api_key=API_KEY)
    url = client.run_text_to_video({"prompt": "x"}).url
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
    for provider in PROVIDERS:
        assert (tmp_path / f"kling-{provider}.mp4").read_bytes() == sample_video()
        assert f"[{provider}] queued" in done.stdout and f"[{provider}] succeeded" in done.stdout
    assert "submits per body on the fake: [1, 1, 1, 1]" in done.stdout


# ---------------------------------------------------------------------------------------------- hostile input


def _submit_url(fake: FakeServer, provider: str) -> str:
    return f"{fake.url}/{provider}{WIRE[provider][1]}"


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
    answer = httpx.post(f"{fake.url}/_fake/faults", json={"provider": "fal", "route": "get_status", "fault": fault})
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["detail"]
    with pytest.raises((TypeError, ValueError), match=field):
        fake.app.inject("fal", "get_status", Fault(**fault)) if field != "nope" else Fault.from_dict(fault)
    # nothing was installed: the route still answers
    client = fake.client("fal", api_key=API_KEY)
    job = client.submit_text_to_video({"prompt": "x"})
    assert client.status(job).state == "queued"


@pytest.mark.parametrize(
    ("target", "field"),
    [({"provider": "replicate", "route": "submit"}, "provider"), ({"provider": "fal", "route": "nowhere"}, "route")],
)
def test_a_fault_for_an_unknown_provider_or_route_is_refused(
    fake: FakeServer, target: dict[str, str], field: str
) -> None:
    answer = httpx.post(f"{fake.url}/_fake/faults", json={**target, "fault": {"status": 500}})
    assert answer.status_code == 400 and field in answer.json()["detail"], answer.text


@providers
def test_deeply_nested_json_is_a_4xx_in_the_provider_shape(fake: FakeServer, provider: str) -> None:
    nested = b"[" * 200_000 + b"]" * 200_000
    answer = httpx.post(
        _submit_url(fake, provider), content=nested,
        headers={**_auth(fake, provider), "Content-Type": "application/json"},
    )  # fmt: skip
    assert 400 <= answer.status_code < 500, answer.text[:300]
    assert set(answer.json()) == _invalid_shape(fake, provider)
    assert len(answer.content) < 4096 and fake.app.jobs == {}


@providers
def test_an_oversized_body_is_refused_without_echoing_it(fake: FakeServer, provider: str) -> None:
    _, _, body = WIRE[provider]
    huge = json.dumps({**body, "prompt": "A" * 50_000_000}).encode()
    answer = httpx.post(
        _submit_url(fake, provider), content=huge,
        headers={**_auth(fake, provider), "Content-Type": "application/json"}, timeout=60,
    )  # fmt: skip
    assert 400 <= answer.status_code < 500, answer.text[:300]
    assert set(answer.json()) == _invalid_shape(fake, provider)
    assert len(answer.content) < 4096 and b"AAAA" not in answer.content
    assert fake.app.jobs == {}


@providers
def test_a_too_long_prompt_is_reported_without_echoing_it(fake: FakeServer, provider: str) -> None:
    _, _, body = WIRE[provider]
    long = json.dumps({**body, "prompt": "B" * 200_000}).encode()
    answer = httpx.post(
        _submit_url(fake, provider), content=long, headers={**_auth(fake, provider), "Content-Type": "application/json"}
    )
    if fake.app.protocols[provider]["validation"] == "deferred":  # checked when the job runs: it fails
        assert answer.status_code == 200
        job = next(iter(fake.app.jobs.values()))
        assert len(json.dumps(job.failure)) < 1024 and "BBBB" not in json.dumps(job.failure)
        return
    assert 400 <= answer.status_code < 500 and "prompt" in answer.text
    assert len(answer.content) < 4096 and b"BBBB" not in answer.content


@providers
def test_a_non_json_content_type_is_refused_and_makes_no_job(fake: FakeServer, provider: str) -> None:
    _, _, body = WIRE[provider]
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
    [p for p, proto in load_protocols()["providers"].items() if "video_size" in json.dumps(proto["documents"])],
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
