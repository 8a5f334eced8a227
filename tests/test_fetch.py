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
from manifest_support import provider, providers, spec_sources

from codegen.cli import main
from codegen.drift.fetch import LOOPBACK_ENV, check_url, retry_delay, schema_pointers
from codegen.pipeline.diagnostics import Location
from codegen.pipeline.manifest import SpecSource, load
from codegen.pipeline.specs import has_pointer, is_whole_answer, resolve_pointer

ROOT = Path(__file__).resolve().parents[1]
KEY = "fetch-key-8d1f2c"


# ---------------------------------------------------------------------------------------------- which documents
# Documents with a source URL, by what each test needs; the first in the manifest with the fact (today Oxen's model
# objects are JSON with an optional key, Oxen's hub document is plain OpenAPI, fal's catalogue entries are vendored
# whole, as the model API answers).
FETCHED = spec_sources(lambda p, s: s.url)
BY_PATH = {source.path: (name, source) for name, source in FETCHED}


def _first(where: Any) -> str | None:
    return next((source.path for name, source in FETCHED if where(provider(name), source)), None)


def _whole(source: SpecSource) -> bool:
    return is_whole_answer(source, json.loads((ROOT / source.path).read_text()))


KEYED = _first(lambda p, s: p.fetch.auth != "none" and s.extract is None)  # fetched with the provider's key
KEYLESS = _first(lambda p, s: p.fetch.auth == "none")  # never sent a key
JSON_DOC = _first(lambda p, s: s.format == "json")
PLAIN = _first(lambda p, s: s.format == "openapi" and s.extract is None)  # served as it is vendored
EXTRACTED = _first(lambda p, s: s.extract is not None and not _whole(s))  # vendored as its extract
CATALOGUED = _first(lambda p, s: s.extract is not None)  # served inside a catalogue answer, vendored either way
WHOLE = _first(lambda p, s: _whole(s))  # a catalogue entry vendored as the provider serves it
ANY = KEYED or PLAIN or (FETCHED[0][1].path if FETCHED else None)
MULTI = next(  # a provider with two or more fetched documents, and one document of someone else
    (
        (docs, other)
        for name in providers()
        if len(docs := [s.path for n, s in FETCHED if n == name]) >= 2
        and (other := next((s.path for n, s in FETCHED if n != name), None))
    ),
    None,
)
UNFETCHED = [source.path for _, source in spec_sources(lambda p, s: not s.url)]


def need(document: str | None, what: str) -> str:
    """The document, or skip the test when the manifest has none with the fact."""
    if document is None:
        pytest.skip(f"no vendored document {what}")
    return document


def owner(document: str) -> str:
    return BY_PATH[document][0]


def extracted(document: str) -> str | None:
    """The extract pointer of a document vendored as its extract (None: vendored as the provider serves it)."""
    source = BY_PATH[document][1]
    return None if _whole(source) else source.extract


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
    for name in providers():
        monkeypatch.delenv(provider(name).auth.env, raising=False)
    if KEYED is not None:
        monkeypatch.setenv(provider(owner(KEYED)).auth.env, KEY)
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
            if extracted(source.path) is not None:
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


def _edited(path: str) -> bytes:
    """Another valid copy of a vendored document, as its provider would serve it (a catalogue wraps extracts)."""
    data = json.loads((ROOT / path).read_text())
    data["x-probe"] = "edited upstream"  # allowed at the root of an OpenAPI document and of a JSON object
    return _served(path, data)


def _served(path: str, data: Any) -> bytes:
    if extracted(path) is None:
        return json.dumps(data, indent=2).encode()
    return json.dumps({"models": [{"endpoint_id": "x", "openapi": data}], "has_more": False}).encode()


def _vendored(path: str, served: bytes) -> bytes:
    """What `codegen fetch` vendors from what was served."""
    if extracted(path) is None:
        return served
    return (json.dumps(json.loads(served)["models"][0]["openapi"], indent=2, ensure_ascii=False) + "\n").encode()


def test_fetch_updates_changed_specs_and_their_lock_entries(
    project: Path, upstream: Upstream, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = need(KEYED, "fetched with the provider's key")
    routes = _serve_current(upstream)
    new = _edited(changed)
    last_modified = "Sat, 21 Nov 2026 10:00:00 GMT"
    _route(upstream, routes[changed], Reply(200, new, {"ETag": '"v2"', "Last-Modified": last_modified}))
    before = _snapshot(project)

    assert _fetch(project) == 0
    out = capsys.readouterr()
    after = _snapshot(project)
    assert after[changed] == new  # vendored byte for byte
    lock = json.loads(after["specs/lock.json"])["files"]
    entry = lock[changed]
    assert entry["sha256"] == hashlib.sha256(new).hexdigest()
    assert entry["etag"] == '"v2"' and entry["last_modified"] == last_modified
    assert entry["url"].endswith("/" + str(BY_PATH[changed][1].url).removeprefix("https://"))
    assert entry["origin"] == "fetched" and re.fullmatch(r"\d{4}-\d\d-\d\d", entry["date"])
    assert f"updated   {changed}" in out.out
    # Unchanged documents and their lock entries are left alone; transcribed documents are not fetched.
    for path in [*(p for p in BY_PATH if p != changed), *UNFETCHED]:
        assert after[path] == before[path]
        assert lock[path] == json.loads(before["specs/lock.json"])["files"][path]
    for path in UNFETCHED:
        assert f"skipped   {path}" in out.out
    assert not [p for p in (project / "specs").rglob("*.tmp")]
    # The optional key went to its provider and to nobody else, and appears in no output.
    sent = {path: headers for path, headers in upstream.requests}
    auth = provider(owner(changed)).auth
    assert sent[routes[changed]][auth.header] == f"{auth.scheme} {KEY}"
    for path, (name, _) in BY_PATH.items():
        if name != owner(changed):
            assert auth.header not in sent[routes[path]], path
    if KEYLESS is not None:
        assert "Authorization" not in sent[routes[KEYLESS]]
    assert KEY not in out.out + out.err


def test_a_catalogue_is_extracted_and_the_upstream_digest_recorded(project: Path, upstream: Upstream) -> None:
    document = need(EXTRACTED or CATALOGUED, "fetched from a catalogue")
    name, source = BY_PATH[document]
    assert source.extract is not None
    routes = _serve_current(upstream)
    data = json.loads((ROOT / document).read_text())
    if _whole(source):  # in the copy, vendor it as its extract: the shape a first fetch of a new document writes
        data = resolve_pointer(data, source.extract, Location(document))
        (project / document).write_text(json.dumps(data, indent=2) + "\n")
    data["x-probe"] = "edited upstream"
    catalogue = json.dumps({"models": [{"endpoint_id": "x", "openapi": data}], "has_more": False}).encode()
    _route(upstream, routes[document], Reply(200, catalogue, {"Content-Type": "application/json"}))
    assert _fetch(project, "--provider", name) == 0
    vendored = (project / document).read_text()
    assert json.loads(vendored) == data and vendored.endswith("}\n")
    entry = json.loads((project / "specs/lock.json").read_text())["files"][document]
    assert entry["origin"] == f"fetched, extracted {source.extract}"
    assert entry["upstream_sha256"] == hashlib.sha256(catalogue).hexdigest()
    fetched = {path for path, _ in upstream.requests}
    assert fetched <= {routes[p] for p, (n, _) in BY_PATH.items() if n == name}  # --provider fetched that one only


def test_a_catalogue_entry_vendored_whole_stays_the_providers_answer(project: Path, upstream: Upstream) -> None:
    document = need(WHOLE, "vendored as the provider's whole answer")
    routes = _serve_current(upstream)
    data = json.loads((ROOT / document).read_text())
    data["x-probe"] = "edited upstream"
    answer = json.dumps(data).encode()
    _route(upstream, routes[document], Reply(200, answer, {"Content-Type": "application/json"}))
    assert _fetch(project, "--provider", owner(document)) == 0
    assert (project / document).read_bytes() == answer  # byte for byte, its extract validated on the way
    entry = json.loads((project / "specs/lock.json").read_text())["files"][document]
    assert entry["origin"] == "fetched" and entry["sha256"] == hashlib.sha256(answer).hexdigest()
    broken = json.loads((ROOT / document).read_text())
    broken["models"] = []  # nothing at the extract pointer: refused, the vendored copy is left as it was
    _route(upstream, routes[document], Reply(200, json.dumps(broken).encode(), {"Content-Type": "application/json"}))
    assert _fetch(project, "--provider", owner(document)) == 1
    assert (project / document).read_bytes() == answer


def test_a_second_fetch_is_conditional_and_changes_nothing(project: Path, upstream: Upstream) -> None:
    document = need(ANY, "with a source URL")
    routes = _serve_current(upstream)
    new = _edited(document)
    _route(upstream, routes[document], Reply(200, new, {"ETag": '"s1"'}), Reply(304, b"", {"ETag": '"s1"'}))
    assert _fetch(project, "--provider", owner(document)) == 0
    first = _snapshot(project)
    assert _fetch(project, "--provider", owner(document)) == 0
    assert _snapshot(project) == first
    assert [h for p, h in upstream.requests if p == routes[document]][-1].get("If-None-Match") == '"s1"'


def test_dry_run_reports_and_writes_nothing(
    project: Path, upstream: Upstream, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = need(ANY, "with a source URL")
    routes = _serve_current(upstream)
    _route(upstream, routes[changed], Reply(200, _edited(changed)))
    before = _snapshot(project)
    assert _fetch(project, "--dry-run") == 0
    assert _snapshot(project) == before
    out = capsys.readouterr().out
    assert f"would update {changed}" in out
    assert all(f"unchanged {path}" in out for path in BY_PATH if path != changed)


def _json_pointer(document: str | None) -> str:
    if document is None:
        return ""
    data = json.loads((ROOT / document).read_text())
    return next(p for p in _json_pointers(document) if has_pointer(data, p))


def _json_pointers(document: str | None) -> tuple[str, ...]:
    """Where the request schema may sit in a JSON document: the manifest's alternatives, first found is read."""
    if document is None:
        return ()
    name, source = BY_PATH[document]
    return schema_pointers(provider(name), source)[0]


def _case(document: str | None, reply: Reply, message: str, case_id: str) -> Any:
    if document is None:
        return pytest.param(
            None, reply, message, id=case_id, marks=pytest.mark.skip(reason="no document with the fact")
        )
    return pytest.param(document, reply, message, id=case_id)


INVALID = [
    _case(ANY, Reply(200, b"<html>Just a moment...</html>", {"Content-Type": "text/html"}),
          "the response is not JSON (Content-Type text/html)", "html"),
    _case(JSON_DOC, Reply(200, b'{"id": "kling", "object": "model"}'),
          f"the schema the SDK is generated from is missing at {' and '.join(_json_pointers(JSON_DOC))}", "no-schema"),
    _case(PLAIN, Reply(200, b'{"swagger": "2.0", "paths": {}}'), "not an OpenAPI 3.0/3.1 document", "swagger-2"),
    _case(CATALOGUED, Reply(200, b'{"models": [], "has_more": false}'),
          f"nothing at {BY_PATH[CATALOGUED][1].extract if CATALOGUED else ''} in the response", "extract-missing"),
    _case(ANY, Reply(500, b"oops"), "HTTP 500 from", "5xx"),
    _case(ANY, Reply(404, b"{}"), "HTTP 404 from", "404"),
    _case(ANY, Reply(200, b"{" + b" " * 400_000 + b"}"), "exceeds the 300000-byte cap", "oversized"),
    _case(ANY, Reply(200, b"{" + b" " * 400_000 + b"}", chunked=True), "exceeds the 300000-byte cap", "oversized-chunked"),
    _case(ANY, Reply(200, b"{}", delay=1.6), "timed out", "timeout"),
]  # fmt: skip


@pytest.mark.parametrize(("document", "reply", "message"), INVALID)
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
    if MULTI is None:
        pytest.skip("no provider has two documents with a source URL")
    (good, failing, *_), other = MULTI
    routes = _serve_current(upstream)
    _route(upstream, routes[good], Reply(200, _edited(good)))
    _route(upstream, routes[failing], Reply(503, b"busy"))
    new_other = _edited(other)
    _route(upstream, routes[other], Reply(200, new_other))
    before = _snapshot(project)
    assert _fetch(project) == 1
    after = _snapshot(project)
    assert after[good] == before[good] and after[failing] == before[failing]
    assert after[other] == _vendored(other, new_other)  # another provider's complete set still lands
    assert f"held back {good}" in capsys.readouterr().out
    assert [p for p, _ in upstream.requests].count(routes[failing]) == 3  # retries = 2 in the test manifest


def test_5xx_and_429_are_retried_with_backoff(project: Path, upstream: Upstream) -> None:
    document = need(ANY, "with a source URL")
    routes = _serve_current(upstream)
    new = _edited(document)
    _route(
        upstream,
        routes[document],
        Reply(503, b"busy"),
        Reply(429, b"slow down", {"Retry-After": "0"}),
        Reply(200, new),
    )
    assert _fetch(project, "--provider", owner(document)) == 0
    assert [p for p, _ in upstream.requests].count(routes[document]) == 3
    assert (project / document).read_bytes() == _vendored(document, new)


def test_redirects_are_followed_only_to_allow_listed_hosts(
    project: Path, upstream: Upstream, capsys: pytest.CaptureFixture[str]
) -> None:
    document = need(ANY, "with a source URL")
    name = owner(document)
    routes = _serve_current(upstream)
    moved = "/" + routes[document].split("/")[1] + "/moved.json"  # the same allow-listed host
    new = _edited(document)
    _route(upstream, routes[document], Reply(302, b"", {"Location": moved}))
    _route(upstream, moved, Reply(200, new))
    assert _fetch(project, "--provider", name) == 0
    assert (project / document).read_bytes() == _vendored(document, new)

    before = _snapshot(project)
    elsewhere = f"http://localhost:{upstream.port}{moved}"
    _route(upstream, routes[document], Reply(301, b"", {"Location": elsewhere}))
    assert _fetch(project, "--provider", name) == 1
    err = capsys.readouterr().err
    assert f"error: {document}: redirect refused: " in err and "'http://localhost:" in err
    assert _snapshot(project) == before


def test_plain_http_is_refused_without_the_test_allowance(
    project: Path, upstream: Upstream, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _serve_current(upstream)
    monkeypatch.delenv(LOOPBACK_ENV)
    before = _snapshot(project)
    assert _fetch(project, "--provider", owner(need(ANY, "with a source URL"))) == 1
    assert "only https is fetched" in capsys.readouterr().err
    assert upstream.requests == [] and _snapshot(project) == before


def test_drift_live_compares_fetched_candidates_without_writing(
    project: Path, upstream: Upstream, capsys: pytest.CaptureFixture[str]
) -> None:
    document = need(JSON_DOC, "that is a bare JSON Schema document")
    pointer = _json_pointer(document)
    routes = _serve_current(upstream)
    data = json.loads((ROOT / document).read_text())
    schema = data
    for token in pointer.strip("/").split("/"):
        schema = schema[token]
    optional = next(name for name in schema["properties"] if name not in schema.get("required", []))
    schema.setdefault("required", []).append(optional)
    _route(upstream, routes[document], Reply(200, json.dumps(data).encode()))
    before = _snapshot(project)
    code = main(["drift", "--manifest", str(project / "providers.toml"), "--live", "--provider", owner(document),
                 "--format", "json", "--no-impact"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["candidate"] == "live"
    assert [(c["rule"], c["pointer"]) for c in report["changes"]] == [
        ("request-property-became-required", f"{pointer}/properties/{optional}")
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
