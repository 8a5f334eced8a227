"""`codegen fetch` against a provider stand-in on loopback: vendors atomically, or changes nothing."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from codegen.cli import main
from codegen.fetch import LOOPBACK_ENV, check_url, retry_delay
from codegen.manifest import load

ROOT = Path(__file__).resolve().parents[1]
KEY = "oxen-fetch-key-8d1f2c"
OXEN_I2V = "specs/oxen/kling-video-v2-6-pro-image-to-video.json"
OXEN_T2V = "specs/oxen/kling-video-v2-6-pro-text-to-video.json"
SUNRA = "specs/sunra/kling-v2.6-pro.json"
FAL_I2V = "specs/fal/kling-video-v2.6-pro-image-to-video.json"
FAL_T2V = "specs/fal/kling-video-v2.6-pro-text-to-video.json"
AIMLAPI_I2V = "specs/aimlapi/Kling-AI__video-v2-6-pro-image-to-video.json"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunked: bool = False


class Upstream:
    """Serves canned replies by path+query; a list of replies is consumed in order, the last one repeats."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                upstream.requests.append((self.path, dict(self.headers)))
                replies = upstream.routes.get(self.path) or [Reply(404, b'{"detail": "not found"}')]
                reply = replies.pop(0) if len(replies) > 1 else replies[0]
                time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if reply.chunked:
                        self.send_header("Transfer-Encoding", "chunked")
                        self.end_headers()
                        for start in range(0, len(reply.body), 65536):
                            chunk = reply.body[start : start + 65536]
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.write(b"0\r\n\r\n")
                    else:
                        self.send_header("Content-Length", str(len(reply.body)))
                        self.end_headers()
                        self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def paths_for(self, host: str) -> list[str]:
        return [p for p, _ in self.requests if p.startswith(f"/{host}/")]


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


@pytest.fixture
def project(tmp_path: Path, upstream: Upstream, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the manifest and specs whose source URLs point at the loopback upstream."""
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    text = (ROOT / "providers.toml").read_text()
    text = re.sub(r'url = "https://([^"/]+)/', rf'url = "http://127.0.0.1:{upstream.port}/\1/', text)
    text = re.sub(r"hosts = \[[^\]]*\]", 'hosts = ["127.0.0.1"]', text)
    settings = "[fetch]\ntimeout = 1\nmax_bytes = 300_000\nretries = 2\nbackoff = 0.01\n\n"
    text = re.sub(r"^\[fetch\]\n(?:(?!\[).*\n)*", settings, text, flags=re.M)
    (tmp_path / "providers.toml").write_text(text)
    monkeypatch.setenv(LOOPBACK_ENV, "1")
    monkeypatch.delenv("FAL_KEY", raising=False)
    monkeypatch.setenv("OXEN_API_KEY", KEY)
    return tmp_path


def _route(upstream: Upstream, url_path: str, *replies: Reply) -> None:
    upstream.routes[url_path] = list(replies)


def _serve_current(upstream: Upstream) -> dict[str, str]:
    """Serve every vendored document with a source URL as its provider would (fal wrapped in its catalogue)."""
    routes = {}
    for decl in load(ROOT / "providers.toml").providers:
        for source in decl.specs:
            if source.url is None:
                continue
            route = "/" + source.url.removeprefix("https://")
            body = (ROOT / source.path).read_bytes()
            if source.extract is not None:
                body = json.dumps({"models": [{"endpoint_id": "x", "openapi": json.loads(body)}], "has_more": False})
                body = body.encode()
            headers = {"Content-Type": "application/json", "ETag": f'"{source.path[-12:]}"'}
            _route(upstream, route, Reply(200, body, headers))
            routes[source.path] = route
    return routes


def _snapshot(project: Path) -> dict[str, bytes]:
    return {str(p.relative_to(project)): p.read_bytes() for p in sorted((project / "specs").rglob("*")) if p.is_file()}


def _fetch(project: Path, *args: str) -> int:
    return main(["fetch", "--manifest", str(project / "providers.toml"), *args])


def _edited(path: str, **extra: Any) -> bytes:
    data = json.loads((ROOT / path).read_text())
    schema = data["json_request_schema"] if "json_request_schema" in data else data
    schema.setdefault("properties", {}).update(extra)
    return json.dumps(data, indent=2).encode()


def test_fetch_updates_changed_specs_and_their_lock_entries(
    project: Path, upstream: Upstream, capsys: pytest.CaptureFixture[str]
) -> None:
    routes = _serve_current(upstream)
    new_oxen = _edited(OXEN_I2V, seed={"type": "integer"})
    last_modified = "Sat, 21 Nov 2026 10:00:00 GMT"
    _route(upstream, routes[OXEN_I2V], Reply(200, new_oxen, {"ETag": '"v2"', "Last-Modified": last_modified}))
    before = _snapshot(project)

    assert _fetch(project) == 0
    out = capsys.readouterr()
    after = _snapshot(project)
    assert after[OXEN_I2V] == new_oxen  # vendored byte for byte
    lock = json.loads(after["specs/lock.json"])["files"]
    entry = lock[OXEN_I2V]
    assert entry["sha256"] == hashlib.sha256(new_oxen).hexdigest()
    assert entry["etag"] == '"v2"' and entry["last_modified"] == last_modified
    assert entry["url"].endswith("/hub.oxen.ai/api/ai/models/kling-video-v2-6-pro-image-to-video")
    assert entry["origin"] == "fetched" and re.fullmatch(r"\d{4}-\d\d-\d\d", entry["date"])
    assert f"updated   {OXEN_I2V}" in out.out
    # Unchanged documents and their lock entries are left alone; the transcribed queue spec is not fetched.
    for path in (OXEN_T2V, AIMLAPI_I2V, SUNRA, "specs/oxen/queue-api.json"):
        assert after[path] == before[path]
        assert lock[path] == json.loads(before["specs/lock.json"])["files"][path]
    assert "skipped   specs/oxen/queue-api.json" in out.out
    assert not [p for p in (project / "specs").rglob("*.tmp")]
    # The optional key went to Oxen and to nobody else, and appears in no output.
    sent = {path: headers for path, headers in upstream.requests}
    assert sent[routes[OXEN_I2V]]["Authorization"] == f"Bearer {KEY}"
    assert "Authorization" not in sent[routes[AIMLAPI_I2V]]
    assert KEY not in out.out + out.err


def test_fal_catalogue_is_extracted_and_the_upstream_digest_recorded(project: Path, upstream: Upstream) -> None:
    routes = _serve_current(upstream)
    data = json.loads((ROOT / FAL_I2V).read_text())
    data["components"]["schemas"]["KlingVideoV26ProImageToVideoInput"]["properties"]["seed"] = {"type": "integer"}
    catalogue = json.dumps({"models": [{"endpoint_id": "fal-ai/kling-video/v2.6/pro/image-to-video", "openapi": data}]})
    _route(upstream, routes[FAL_I2V], Reply(200, catalogue.encode(), {"Content-Type": "application/json"}))
    assert "expand=openapi-3.0" in routes[FAL_I2V]
    assert _fetch(project, "--provider", "fal") == 0
    vendored = (project / FAL_I2V).read_text()
    assert json.loads(vendored) == data and vendored.endswith("}\n")
    entry = json.loads((project / "specs/lock.json").read_text())["files"][FAL_I2V]
    assert entry["origin"] == "fetched, extracted /models/0/openapi"
    assert entry["upstream_sha256"] == hashlib.sha256(catalogue.encode()).hexdigest()
    assert upstream.paths_for("hub.oxen.ai") == []  # --provider fal fetched fal only


def test_a_second_fetch_is_conditional_and_changes_nothing(project: Path, upstream: Upstream) -> None:
    routes = _serve_current(upstream)
    new_sunra = _edited(SUNRA)
    new_sunra = new_sunra.replace(b'"title"', b'"x-title"', 1)
    _route(upstream, routes[SUNRA], Reply(200, new_sunra, {"ETag": '"s1"'}), Reply(304, b"", {"ETag": '"s1"'}))
    assert _fetch(project, "--provider", "sunra") == 0
    first = _snapshot(project)
    assert _fetch(project, "--provider", "sunra") == 0
    assert _snapshot(project) == first
    assert upstream.requests[-1][1].get("If-None-Match") == '"s1"'


def test_dry_run_reports_and_writes_nothing(
    project: Path, upstream: Upstream, capsys: pytest.CaptureFixture[str]
) -> None:
    routes = _serve_current(upstream)
    _route(upstream, routes[OXEN_I2V], Reply(200, _edited(OXEN_I2V, seed={"type": "integer"})))
    before = _snapshot(project)
    assert _fetch(project, "--dry-run") == 0
    assert _snapshot(project) == before
    out = capsys.readouterr().out
    assert f"would update {OXEN_I2V}" in out and f"unchanged {OXEN_T2V}" in out


@pytest.mark.parametrize(
    ("document", "reply", "message"),
    [
        (OXEN_I2V, Reply(200, b"<html>Just a moment...</html>", {"Content-Type": "text/html"}),
         "the response is not JSON (Content-Type text/html)"),
        (OXEN_I2V, Reply(200, b'{"id": "kling", "object": "model"}'),
         "the schema the SDK is generated from is missing at /json_request_schema"),
        (SUNRA, Reply(200, b'{"swagger": "2.0", "paths": {}}'), "not an OpenAPI 3.0/3.1 document"),
        (FAL_I2V, Reply(200, b'{"models": [], "has_more": false}'), "nothing at /models/0/openapi in the response"),
        (SUNRA, Reply(500, b"oops"), "HTTP 500 from"),
        (SUNRA, Reply(404, b"{}"), "HTTP 404 from"),
        (SUNRA, Reply(200, b"{" + b" " * 400_000 + b"}"), "exceeds the 300000-byte cap"),
        (SUNRA, Reply(200, b"{" + b" " * 400_000 + b"}", chunked=True), "exceeds the 300000-byte cap"),
        (SUNRA, Reply(200, b"{}", delay=1.6), "timed out"),
    ],
    ids=["html", "no-schema", "swagger-2", "extract-missing", "5xx", "404", "oversized", "oversized-chunked", "timeout"],
)  # fmt: skip
def test_an_invalid_or_failing_fetch_changes_nothing(
    project: Path, upstream: Upstream, capsys: pytest.CaptureFixture[str], document: str, reply: Reply, message: str
) -> None:
    routes = _serve_current(upstream)
    _route(upstream, routes[document], reply)
    before = _snapshot(project)
    assert _fetch(project) == 1
    err = capsys.readouterr().err
    assert f"error: {document}: " in err and message in err, err
    assert _snapshot(project) == before
    assert not [p for p in (project / "specs").rglob("*.tmp")]


def test_a_failing_document_holds_back_its_providers_other_documents_only(
    project: Path, upstream: Upstream, capsys: pytest.CaptureFixture[str]
) -> None:
    routes = _serve_current(upstream)
    fal_data = json.loads((ROOT / FAL_I2V).read_text())
    fal_data["info"]["version"] = "2"
    _route(upstream, routes[FAL_I2V], Reply(200, json.dumps({"models": [{"openapi": fal_data}]}).encode()))
    _route(upstream, routes[FAL_T2V], Reply(503, b"busy"))
    new_oxen = _edited(OXEN_I2V, seed={"type": "integer"})
    _route(upstream, routes[OXEN_I2V], Reply(200, new_oxen))
    before = _snapshot(project)
    assert _fetch(project) == 1
    after = _snapshot(project)
    assert after[FAL_I2V] == before[FAL_I2V] and after[FAL_T2V] == before[FAL_T2V]
    assert after[OXEN_I2V] == new_oxen  # another provider's complete set still lands
    assert f"held back {FAL_I2V}" in capsys.readouterr().out
    assert [p for p, _ in upstream.requests].count(routes[FAL_T2V]) == 3  # retries = 2 in the test manifest


def test_5xx_and_429_are_retried_with_backoff(project: Path, upstream: Upstream) -> None:
    routes = _serve_current(upstream)
    new_sunra = _edited(SUNRA).replace(b'"title"', b'"x-title"', 1)
    _route(
        upstream,
        routes[SUNRA],
        Reply(503, b"busy"),
        Reply(429, b"slow down", {"Retry-After": "0"}),
        Reply(200, new_sunra),
    )
    assert _fetch(project, "--provider", "sunra") == 0
    assert [p for p, _ in upstream.requests].count(routes[SUNRA]) == 3
    assert (project / SUNRA).read_bytes() == new_sunra


def test_redirects_are_followed_only_to_allow_listed_hosts(
    project: Path, upstream: Upstream, capsys: pytest.CaptureFixture[str]
) -> None:
    routes = _serve_current(upstream)
    new_sunra = _edited(SUNRA).replace(b'"title"', b'"x-title"', 1)
    _route(upstream, routes[SUNRA], Reply(302, b"", {"Location": "/oapi.sunra.ai/moved.json"}))
    _route(upstream, "/oapi.sunra.ai/moved.json", Reply(200, new_sunra))
    assert _fetch(project, "--provider", "sunra") == 0
    assert (project / SUNRA).read_bytes() == new_sunra

    before = _snapshot(project)
    elsewhere = f"http://localhost:{upstream.port}/oapi.sunra.ai/moved.json"
    _route(upstream, routes[SUNRA], Reply(301, b"", {"Location": elsewhere}))
    assert _fetch(project, "--provider", "sunra") == 1
    err = capsys.readouterr().err
    assert f"error: {SUNRA}: redirect refused: " in err and "'http://localhost:" in err
    assert _snapshot(project) == before


def test_plain_http_is_refused_without_the_test_allowance(
    project: Path, upstream: Upstream, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _serve_current(upstream)
    monkeypatch.delenv(LOOPBACK_ENV)
    before = _snapshot(project)
    assert _fetch(project, "--provider", "sunra") == 1
    assert "only https is fetched" in capsys.readouterr().err
    assert upstream.requests == [] and _snapshot(project) == before


def test_drift_live_compares_fetched_candidates_without_writing(
    project: Path, upstream: Upstream, capsys: pytest.CaptureFixture[str]
) -> None:
    routes = _serve_current(upstream)
    data = json.loads((ROOT / OXEN_I2V).read_text())
    data["json_request_schema"]["required"].append("duration")
    _route(upstream, routes[OXEN_I2V], Reply(200, json.dumps(data).encode()))
    before = _snapshot(project)
    code = main(["drift", "--manifest", str(project / "providers.toml"), "--live", "--provider", "oxen",
                 "--format", "json", "--no-impact"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["candidate"] == "live"
    assert [(c["rule"], c["pointer"]) for c in report["changes"]] == [
        ("request-property-became-required", "/json_request_schema/properties/duration")
    ]
    assert _snapshot(project) == before


@pytest.mark.parametrize(
    ("attempt", "retry_after", "expected"),
    [
        (0, None, 1.0),
        (1, None, 2.0),
        (3, None, 8.0),
        (10, None, 30.0),  # capped
        (0, "5", 5.0),
        (0, "120", 30.0),  # the server's wish, capped too
        (2, "0", 0.0),
        (0, "Sat, 21 Nov 2026 10:00:10 GMT", 10.0),
        (1, "not a date", 2.0),
    ],
)
def test_retry_delay(attempt: int, retry_after: str | None, expected: float) -> None:
    now = 1795255200.0  # Sat, 21 Nov 2026 10:00:00 GMT
    assert retry_delay(attempt, retry_after, backoff=1.0, cap=30.0, now=now) == expected


@pytest.mark.parametrize(
    ("url", "allow_loopback", "problem"),
    [
        ("https://api.fal.ai/v1/models?x=1", False, None),
        ("http://api.fal.ai/v1/models", False, "only https is fetched"),
        ("https://evil.example/v1", False, "host 'evil.example' is not in the provider's fetch allow-list"),
        ("https://api.fal.ai.evil.example/", False, "is not in the provider's fetch allow-list"),
        ("https://user:pw@api.fal.ai/", False, "credentials"),
        ("http://127.0.0.1:8000/x", False, "only https is fetched"),
        ("http://127.0.0.1:8000/x", True, "host '127.0.0.1' is not in"),
        ("http://localhost:8000/x", True, "only https is fetched"),
    ],
)
def test_check_url(url: str, allow_loopback: bool, problem: str | None) -> None:
    found = check_url(url, ["api.fal.ai"], allow_loopback)
    assert (found is None) if problem is None else (found is not None and problem in found)
