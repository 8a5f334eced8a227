"""Fetch provider documents from the URLs the manifest declares, validate them, and vendor them with their lock entry.

Only https, only allow-listed hosts (a redirect elsewhere is refused), bounded in time and size, retried with
backoff on 429, 5xx and network errors. A provider's documents are written together or not at all, each file and
the lock atomically; a failed or invalid fetch leaves `specs/` and the lock as they were.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from codegen.pipeline.diagnostics import Diagnostics, GenerationError, Location
from codegen.pipeline.lock import read_document, read_entries
from codegen.pipeline.manifest import FetchSettings, Manifest, ProviderDecl, SpecSource
from codegen.pipeline.specs import (
    Document,
    has_pointer,
    is_supported_openapi,
    is_whole_answer,
    resolve_pointer,
    validate_document,
    validate_json_schema,
)

LOOPBACK_ENV = "CODEGEN_FETCH_ALLOW_LOOPBACK_HTTP"  # test-only: lets http://127.0.0.1 stand in for a provider
USER_AGENT = "kling-codegen-fetch/1"
MAX_REDIRECTS = 5
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class FetchError(Exception):
    """A document could not be fetched or is not what the manifest says it is; nothing was written for it."""

    def __init__(self, source: SpecSource, message: str) -> None:
        super().__init__(f"{source.path}: {message}")
        self.source = source


@dataclass(frozen=True)
class Fetched:
    """One document as fetched and validated: the bytes to vendor and the provenance for the lock."""

    provider: str
    source: SpecSource
    body: bytes
    url: str
    etag: str | None
    last_modified: str | None
    upstream_sha256: str
    not_modified: bool = False
    warnings: tuple[str, ...] = ()
    whole: bool = False  # the body is the provider's whole answer (a catalogue entry), not its extract

    @property
    def whole_answer(self) -> bool:
        """Whether the lock records the file as the answer itself (no extract: `fetched`)."""
        return self.whole or self.source.extract is None

    @property
    def sha256(self) -> str:
        """Digest of the bytes that would be vendored."""
        return hashlib.sha256(self.body).hexdigest()


@dataclass
class Outcome:
    """What one `codegen fetch` run did per document."""

    fetched: list[Fetched] = field(default_factory=list)
    failed: list[FetchError] = field(default_factory=list)
    skipped: list[tuple[SpecSource, str]] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    held_back: list[str] = field(default_factory=list)  # fetched fine, but a sibling document of the provider failed


def retry_delay(attempt: int, retry_after: str | None, backoff: float, cap: float, now: float | None = None) -> float:
    """Seconds before retry `attempt` (0 = first): the server's Retry-After, else backoff·2^attempt; at most `cap`."""
    if retry_after:
        value = retry_after.strip()
        if value.isdigit():
            return min(float(value), cap)
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            pass
        else:
            return min(max(0.0, when - (time.time() if now is None else now)), cap)
    return float(min(backoff * 2**attempt, cap))


def check_url(url: str, hosts: Sequence[str], allow_loopback_http: bool = False) -> str | None:
    """Why `url` may not be fetched (None when it may): https only, host allow-listed."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    loopback = allow_loopback_http and parts.scheme == "http" and host == "127.0.0.1"
    if parts.scheme != "https" and not loopback:
        return f"{parts.scheme or 'no'} scheme in {url!r}: only https is fetched"
    if parts.username or parts.password:
        return f"credentials in {url!r} are not allowed"
    if host not in hosts:
        allowed = ", ".join(hosts) or "none"
        return f"host {host!r} is not in the provider's fetch allow-list ({allowed})"
    return None


def fetch_all(
    manifest: Manifest,
    providers: Sequence[str] | None,
    *,
    allow_loopback_http: bool = False,
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Fetch and validate every document with a source URL of the selected providers; writes nothing."""
    import httpx

    env = os.environ if env is None else env
    lock = read_entries(manifest.lock)
    outcome = Outcome()
    settings = manifest.fetch
    timeout = httpx.Timeout(settings.timeout, connect=min(settings.timeout, 10.0))
    with httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}) as client:
        for decl in manifest.providers:
            if providers and decl.name not in providers:
                continue
            for source in decl.specs:
                if source.url is None:
                    outcome.skipped.append((source, "no source URL in the manifest (transcribed from docs)"))
                    continue
                vendored = manifest.root / source.path
                entry = lock.get(source.path, {})
                current = hashlib.sha256(vendored.read_bytes()).hexdigest() if vendored.exists() else None
                # Conditional headers only when the vendored copy is the one the lock describes.
                conditional = entry if current is not None and entry.get("sha256") == current else {}
                # A vendored catalogue entry stays the provider's answer byte for byte; else the extract is kept.
                whole = current is not None and is_whole_answer(source, _json_or_none(vendored.read_bytes()))
                try:
                    outcome.fetched.append(
                        _fetch_one(client, decl, source, settings, conditional, env, allow_loopback_http, sleep, whole)
                    )
                except FetchError as exc:
                    outcome.failed.append(exc)
    return outcome


def write_fetched(manifest: Manifest, outcome: Outcome, today: str | None = None) -> Outcome:
    """Vendor what changed, provider by provider and only where all of a provider's fetches succeeded."""
    failed_providers = {_provider_of(manifest, exc.source) for exc in outcome.failed}
    lock_data = read_document(manifest.lock)
    entries: dict[str, Any] = lock_data.setdefault("files", {})
    writes: dict[Path, bytes] = {}
    date = today or datetime.now(UTC).date().isoformat()
    for item in outcome.fetched:
        if item.provider in failed_providers:
            outcome.held_back.append(item.source.path)
            continue
        path = manifest.root / item.source.path
        if item.not_modified or (path.exists() and path.read_bytes() == item.body):
            outcome.unchanged.append(item.source.path)
            continue
        writes[path] = item.body
        entry: dict[str, Any] = {
            "provider": item.provider,
            "url": item.url,
            "sha256": item.sha256,
            "date": date,
            "origin": "fetched" if item.whole_answer else f"fetched, extracted {item.source.extract}",
        }
        if not item.whole_answer:
            entry["upstream_sha256"] = item.upstream_sha256
        if item.etag:
            entry["etag"] = item.etag
        if item.last_modified:
            entry["last_modified"] = item.last_modified
        entries[item.source.path] = entry
        outcome.written.append(item.source.path)
    if writes:
        writes[manifest.lock] = (json.dumps(lock_data, indent=2, ensure_ascii=False) + "\n").encode()
        _replace_all(writes)
    return outcome


def prepare(decl: ProviderDecl, source: SpecSource, raw: bytes, content_type: str = "") -> tuple[bytes, list[str]]:
    """Validate a fetched body and extract the part we vendor; returns (bytes to vendor, the provider's defects)."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        kind = f" (Content-Type {content_type})" if content_type and "json" not in content_type else ""
        raise FetchError(source, f"the response is not JSON{kind}: {exc}") from None
    body = raw
    if source.extract is not None:
        try:
            data = resolve_pointer(data, source.extract, Location(source.path))
        except GenerationError:
            raise FetchError(source, f"nothing at {source.extract} in the response to extract") from None
        body = (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()
    diagnostics = Diagnostics()
    if source.format == "openapi":
        if not is_supported_openapi(data):
            version = data.get("openapi") if isinstance(data, dict) else None
            raise FetchError(source, f"not an OpenAPI 3.0/3.1 document (openapi: {version!r})")
        if not isinstance(data.get("paths"), dict):
            raise FetchError(source, "an OpenAPI document without a `paths` object")
        validate_document(Document(source=source, data=data, sha256=""), diagnostics)
    else:
        if not isinstance(data, dict):
            raise FetchError(source, f"expected a JSON object, got {type(data).__name__}")
        for alternatives in schema_pointers(decl, source):
            pointer = next((p for p in alternatives if has_pointer(data, p)), None)
            if pointer is None:
                raise FetchError(
                    source, f"the schema the SDK is generated from is missing at {' and '.join(alternatives)}"
                )
            schema = resolve_pointer(data, pointer, Location(source.path))
            if not isinstance(schema, dict):
                raise FetchError(source, f"{pointer} is not a JSON Schema object")
            validate_json_schema(schema, Location(source.path, pointer), diagnostics)
    return body, [str(item) for item in diagnostics.items if item.level == "warning"]


def schema_pointers(decl: ProviderDecl, source: SpecSource) -> tuple[tuple[str, ...], ...]:
    """The pointers of a JSON document the operations take request bodies from: per body part, its alternatives.

    The first alternative that exists in the document is the one read.
    """
    found: list[tuple[str, ...]] = []
    for op in decl.operations:
        for part in op.body:
            pointers = tuple(ref.partition("#")[2] for ref in part if ref.partition("#")[0] == source.id)
            if pointers and pointers not in found:
                found.append(pointers)
    return tuple(found)


# --------------------------------------------------------------------------------------------- internals
def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _fetch_one(
    client: Any,
    decl: ProviderDecl,
    source: SpecSource,
    settings: FetchSettings,
    lock_entry: Mapping[str, Any],
    env: Mapping[str, str],
    allow_loopback_http: bool,
    sleep: Callable[[float], None],
    whole: bool = False,
) -> Fetched:
    import httpx

    assert source.url is not None
    headers = {"Accept": "application/json"}
    if decl.fetch.auth != "none":
        key = env.get(decl.auth.env)
        if key:
            headers[decl.auth.header] = f"{decl.auth.scheme} {key}".strip()
        elif decl.fetch.auth == "required":
            raise FetchError(source, f"this endpoint needs an API key: set {decl.auth.env}")
    if lock_entry.get("etag"):
        headers["If-None-Match"] = str(lock_entry["etag"])
    if lock_entry.get("last_modified"):
        headers["If-Modified-Since"] = str(lock_entry["last_modified"])
    attempt = 0
    while True:
        try:
            status, response_headers, raw, url = _get(
                client, source, source.url, headers, decl, settings.max_bytes, allow_loopback_http
            )
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            if attempt >= settings.retries:
                raise FetchError(source, f"{_describe(exc)} after {attempt + 1} attempt(s)") from None
            sleep(retry_delay(attempt, None, settings.backoff, settings.backoff_cap))
            attempt += 1
            continue
        if status in _RETRY_STATUSES and attempt < settings.retries:
            sleep(retry_delay(attempt, response_headers.get("retry-after"), settings.backoff, settings.backoff_cap))
            attempt += 1
            continue
        break
    if status == 304:
        current = lock_entry.get("sha256", "")
        return Fetched(decl.name, source, b"", url, None, None, str(current), not_modified=True)
    if status in (401, 403):
        raise FetchError(source, f"HTTP {status} from {url}: check {decl.auth.env}")
    if not 200 <= status < 300:
        raise FetchError(source, f"HTTP {status} from {url} after {attempt + 1} attempt(s)")
    body, warnings = prepare(decl, source, raw, response_headers.get("content-type", ""))
    if whole:
        body = raw  # validated through its extract, vendored as it came
    return Fetched(
        provider=decl.name,
        source=source,
        body=body,
        url=source.url,
        etag=response_headers.get("etag"),
        last_modified=response_headers.get("last-modified"),
        upstream_sha256=hashlib.sha256(raw).hexdigest(),
        warnings=tuple(warnings),
        whole=whole,
    )


def _get(
    client: Any,
    source: SpecSource,
    url: str,
    headers: dict[str, str],
    decl: ProviderDecl,
    max_bytes: int,
    allow_loopback_http: bool,
) -> tuple[int, Any, bytes, str]:
    """GET following allow-listed redirects by hand; the body is read up to `max_bytes`."""
    first_host = urlsplit(url).hostname
    for _ in range(MAX_REDIRECTS + 1):
        problem = check_url(url, decl.fetch.hosts, allow_loopback_http)
        if problem:
            raise FetchError(source, problem if url == source.url else f"redirect refused: {problem}")
        sent = headers if urlsplit(url).hostname == first_host else _without_auth(headers, decl.auth.header)
        with client.stream("GET", url, headers=sent) as response:
            if response.status_code in _REDIRECT_STATUSES and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                continue
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(source, f"response of {declared} bytes exceeds the {max_bytes}-byte cap")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(source, f"response exceeds the {max_bytes}-byte cap")
                chunks.append(chunk)
            return response.status_code, response.headers, b"".join(chunks), url
    raise FetchError(source, f"more than {MAX_REDIRECTS} redirects")


def _without_auth(headers: dict[str, str], auth_header: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() != auth_header.lower()}


def _describe(exc: Exception) -> str:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return f"network error ({type(exc).__name__}: {exc})"


def _provider_of(manifest: Manifest, source: SpecSource) -> str:
    for decl in manifest.providers:
        if source in decl.specs:
            return decl.name
    raise KeyError(source.path)


def _replace_all(writes: Mapping[Path, bytes]) -> None:
    """Write every file to a temporary sibling first, then rename each into place (the lock last)."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in writes.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((Path(name), path))
            # mkstemp creates 0600 files; a vendored spec keeps the mode it had (0644 when new).
            os.fchmod(fd, path.stat().st_mode & 0o777 if path.exists() else 0o644)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
    except BaseException:
        for staged_path, _ in staged:
            staged_path.unlink(missing_ok=True)
        raise
    for staged_path, path in staged:
        os.replace(staged_path, path)
