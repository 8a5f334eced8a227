"""Resumable downloads that cannot splice two files: the `.part` record (URL + validator), If-Range, the
Content-Range of a resumed answer, redirects without the key leaving the provider's origin."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import API_KEY, call
from test_wire import client_class

from kling_sdk._runtime.downloads import PartRecord, judge_answer, parse_content_range, record_path
from kling_sdk._runtime.errors import DownloadError
from kling_sdk._runtime.jobs import VideoResult
from kling_sdk.testing import load_protocols

PROVIDER = next(iter(load_protocols()["providers"]))
BASE = "https://api.provider.test"
CDN = "https://cdn.elsewhere.test"
A = bytes(range(256)) * 40  # two videos of the same size
B = bytes(reversed(range(256))) * 40

both = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


@dataclass
class Cdn:
    """A file server: files by path with ETags, Range and If-Range, scripted cuts, redirects and lies."""

    files: dict[str, bytes]
    is_async: bool
    cuts: list[int] = field(default_factory=list)  # the next answers drop after this many bytes
    redirects: dict[str, str] = field(default_factory=dict)
    bad_range_start: int | None = None  # answer Range requests with a 206 from this byte instead
    validators: bool = True
    requests: list[httpx.Request] = field(default_factory=list)

    def etag(self, path: str) -> str:
        return '"' + hashlib.sha256(self.files[path]).hexdigest()[:16] + '"'

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path in self.redirects:
            return httpx.Response(302, headers={"location": self.redirects[path]})
        data = self.files[path]
        headers = {"content-type": "video/mp4", "accept-ranges": "bytes"}
        if self.validators:
            headers["etag"] = self.etag(path)
        start, status = 0, 200
        wanted = request.headers.get("range")
        if_range = request.headers.get("if-range")
        if wanted and (if_range is None or if_range == headers.get("etag")):
            start = int(wanted.removeprefix("bytes=").split("-")[0])
            if self.bad_range_start is not None:
                start = self.bad_range_start
            if start >= len(data):
                return httpx.Response(416, headers={"content-range": f"bytes */{len(data)}"})
            status = 206
            headers["content-range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        headers["content-length"] = str(len(body))
        cut = self.cuts.pop(0) if self.cuts else None

        def chunks() -> Iterator[bytes]:
            for i in range(0, len(body), 1024):
                if cut is not None and start + i >= cut:
                    raise httpx.ReadError("connection dropped mid-body")
                yield body[i : i + 1024]

        async def achunks() -> AsyncIterator[bytes]:
            for chunk in chunks():
                yield chunk

        return httpx.Response(status, headers=headers, content=achunks() if self.is_async else chunks())


def _client(cdn: Cdn) -> Any:
    transport = httpx.MockTransport(cdn.handler)
    http = httpx.AsyncClient(transport=transport) if cdn.is_async else httpx.Client(transport=transport)
    client = client_class(PROVIDER, cdn.is_async)(api_key=API_KEY, base_url=BASE, http_client=http)

    class NoWait:
        def now(self) -> float:
            return 0.0

        def sleep(self, seconds: float) -> None:
            pass

        async def asleep(self, seconds: float) -> None:
            pass

    client._clock = NoWait()
    return client


def _video(url: str, size: int | None = len(A)) -> VideoResult:
    return VideoResult(job_id="job-1", provider=PROVIDER, url=url, file_size=size)


@both
async def test_a_leftover_part_of_one_video_is_never_resumed_into_another(is_async: bool, tmp_path: Path) -> None:
    cdn = Cdn({"/a.mp4": A, "/b.mp4": B}, is_async, cuts=[3072])
    client = _client(cdn)
    target = tmp_path / "clip.mp4"
    with pytest.raises(DownloadError):
        await call(client, "download", _video(f"{CDN}/a.mp4"), target, max_resumes=0)
    part = target.with_name("clip.mp4.part")
    assert part.read_bytes() == A[:3072]
    assert PartRecord.load(record_path(part)) == PartRecord(url=f"{CDN}/a.mp4", etag=cdn.etag("/a.mp4"))
    saved = await call(client, "download", _video(f"{CDN}/b.mp4"), target)
    assert saved.read_bytes() == B  # not A's first 3000 bytes and B's rest
    assert "range" not in cdn.requests[-1].headers
    assert not part.exists() and not record_path(part).exists()


@both
async def test_a_resume_asks_if_range_and_a_changed_file_comes_whole(is_async: bool, tmp_path: Path) -> None:
    cdn = Cdn({"/v.mp4": A}, is_async, cuts=[3072])
    client = _client(cdn)
    target = tmp_path / "clip.mp4"
    with pytest.raises(DownloadError):
        await call(client, "download", _video(f"{CDN}/v.mp4"), target, max_resumes=0)
    first_etag = cdn.etag("/v.mp4")
    cdn.files["/v.mp4"] = B  # the same URL now serves another file
    saved = await call(client, "download", _video(f"{CDN}/v.mp4"), target)
    resumed = cdn.requests[-1]
    assert resumed.headers["range"] == "bytes=3072-" and resumed.headers["if-range"] == first_etag
    assert saved.read_bytes() == B


@both
async def test_an_unchanged_file_is_resumed_from_where_it_stopped(is_async: bool, tmp_path: Path) -> None:
    cdn = Cdn({"/v.mp4": A}, is_async, cuts=[3072, 7168])
    client = _client(cdn)
    saved = await call(client, "download", _video(f"{CDN}/v.mp4"), tmp_path / "clip.mp4")
    assert saved.read_bytes() == A
    assert [r.headers.get("range") for r in cdn.requests] == [None, "bytes=3072-", "bytes=7168-"]


@both
async def test_without_a_validator_a_part_is_started_over(is_async: bool, tmp_path: Path) -> None:
    cdn = Cdn({"/v.mp4": A}, is_async, cuts=[3072], validators=False)
    client = _client(cdn)
    saved = await call(client, "download", _video(f"{CDN}/v.mp4"), tmp_path / "clip.mp4")
    assert saved.read_bytes() == A
    assert [r.headers.get("range") for r in cdn.requests] == [None, None]


@both
async def test_a_resumed_answer_from_the_wrong_byte_is_not_appended(is_async: bool, tmp_path: Path) -> None:
    cdn = Cdn({"/v.mp4": A}, is_async, cuts=[3072], bad_range_start=1000)
    client = _client(cdn)
    saved = await call(client, "download", _video(f"{CDN}/v.mp4"), tmp_path / "clip.mp4")
    assert saved.read_bytes() == A
    assert [r.headers.get("range") for r in cdn.requests] == [None, "bytes=3072-", None]


@both
async def test_redirects_are_followed_and_the_key_never_leaves_the_provider(is_async: bool, tmp_path: Path) -> None:
    cdn = Cdn({"/v.mp4": A}, is_async, redirects={"/files/v": "/files/w", "/files/w": f"{CDN}/v.mp4"})
    client = _client(cdn)
    saved = await call(client, "download", _video(f"{BASE}/files/v"), tmp_path / "clip.mp4")
    assert saved.read_bytes() == A
    header = client._provider.auth_header.lower()
    assert [(r.url.host, header in r.headers) for r in cdn.requests] == [
        ("api.provider.test", True),  # the provider's own host
        ("api.provider.test", True),
        ("cdn.elsewhere.test", False),  # another origin: no key
    ]
    assert API_KEY not in json.dumps([dict(r.headers) for r in cdn.requests[2:]])


@both
async def test_too_many_redirects_are_an_error(is_async: bool, tmp_path: Path) -> None:
    cdn = Cdn({}, is_async, redirects={"/loop": "/loop"})
    with pytest.raises(DownloadError, match="redirect"):
        await call(_client(cdn), "download", _video(f"{CDN}/loop"), tmp_path / "clip.mp4")


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("bytes 0-99/100", (0, 99, 100)),
        ("bytes 10-99/*", (10, 99, None)),
        ("bytes */100", (None, None, 100)),
        ("bytes 9-3/100", None),
        ("items 0-1/2", None),
        (None, None),
    ],
)
def test_parse_content_range(value: str | None, parsed: tuple[Any, ...] | None) -> None:
    span = parse_content_range(value)
    assert (None if span is None else (span.first, span.last, span.total)) == parsed


RECORD = PartRecord(url="u", etag='"e1"')


@pytest.mark.parametrize(
    ("status", "content_range", "length", "etag", "offset", "expected", "action"),
    [
        (200, None, "100", None, 0, 100, "write"),
        (200, None, "90", None, 0, 100, "error"),  # the provider said 100: an honest short answer is refused
        (200, None, "100", None, 50, 100, "write"),  # Range ignored or If-Range failed: the whole file
        (206, "bytes 50-99/100", "50", '"e1"', 50, 100, "append"),
        (206, "bytes 40-99/100", "60", '"e1"', 50, 100, "restart"),  # does not start where the part ends
        (206, "bytes 50-89/100", "40", '"e1"', 50, 100, "restart"),  # does not run to the end
        (206, "bytes 50-99/120", "70", '"e1"', 50, 100, "error"),  # another size than stated
        (206, "bytes 50-99/100", "50", '"e2"', 50, 100, "restart"),  # another file behind the same URL
        (206, None, "50", '"e1"', 50, 100, "restart"),
        (416, "bytes */100", None, None, 100, 100, "complete"),
        (416, "bytes */120", None, None, 100, 100, "restart"),
        (416, None, None, None, 100, None, "restart"),
    ],
)
def test_judge_answer(
    status: int, content_range: str | None, length: str | None, etag: str | None, offset: int, expected: int,
    action: str,
) -> None:  # fmt: skip
    verdict = judge_answer(status, content_range, length, etag, offset=offset, expected=expected, record=RECORD)
    assert verdict.action == action, verdict
