"""The SDK boundary: hostile job ids, local paths, URL schemes, sizes and types are refused before any request.

Every case must end in an `InvalidRequestError` naming the provider and the field, with zero requests on the
recorder, within a second (a SIGALRM guard turns a hang, e.g. opening a FIFO, into a failure). Providers, their
job operations and their image fields come from the manifest, not from a list written here.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import manifest_support
import pytest
from conftest import API_KEY, ROOT, Recorder, call, make_client
from test_inputs import png

from codegen.pipeline.manifest import ProviderDecl, load
from kling_sdk._runtime import files
from kling_sdk._runtime.boundary import MAX_ID_LENGTH, id_problem
from kling_sdk._runtime.errors import InvalidRequestError
from kling_sdk._runtime.files import DEFAULT_MAX_BYTES, LocalFile, read_local
from kling_sdk._runtime.jobs import Job

pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="the hang guard needs SIGALRM")

MANIFEST = manifest_support.MANIFEST
PROVIDERS = {p.name: p for p in MANIFEST.providers}
GUARD = 1.0  # seconds: every hostile input is refused well within this, or the test fails as a hang
URL = "https://example.com/a.png"


@contextmanager
def within(seconds: float = GUARD) -> Iterator[None]:
    """Fail with TimeoutError instead of blocking when the body takes longer than `seconds`."""

    def on_alarm(signum: int, frame: object) -> None:
        raise TimeoutError(f"no answer within {seconds} s: the SDK hung on a hostile input")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def client_class(provider: ProviderDecl, is_async: bool) -> type:
    return manifest_support.client_class(provider.name, is_async)


async def refused(recorder: Recorder, provider: str, field: str, action: Callable[[], Any]) -> InvalidRequestError:
    """Run `action` under the hang guard; it must raise InvalidRequestError naming provider and field, sending nothing."""
    with within(), pytest.raises(InvalidRequestError) as info:
        result = action()
        if hasattr(result, "__await__"):
            await result
    field = manifest_support.dotted(manifest_support.pointer_of(field))  # how an error names a (nested) field
    assert (info.value.provider, info.value.field) == (provider, field), str(info.value)
    assert f"[{provider}] {field}:" in str(info.value)
    assert recorder.requests == [], "a hostile input reached the network"
    return info.value


both = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


# ------------------------------------------------------------------------------------------------ job ids
HOSTILE_IDS: list[tuple[str, Any]] = [
    ("empty", ""),
    ("dot", "."),
    ("dotdot", ".."),
    ("parent-prefix", "../admin"),
    ("parent-inside", "a/../b"),
    ("dot-inside", "a/./b"),
    ("parent-suffix", "abc/.."),
    ("backslash-parent", "..\\secrets"),
    ("encoded-dotdot", "%2e%2e"),
    ("encoded-parent", "..%2Fadmin"),
    ("nul", "abc\x00def"),
    ("newline", "abc\n"),
    ("header-injection", "abc\r\nX-Injected: 1"),
    ("tab", "a\tb"),
    ("space", "a b"),
    ("encoded-newline", "abc%0Adef"),
    ("bidi-override", "abc\u202edef"),
    ("line-separator", "abc\u2028def"),
    ("too-long", "x" * (MAX_ID_LENGTH + 1)),
    ("none", None),
    ("int", 123),
    ("bytes", b"abc"),
    ("list", ["abc"]),
    ("dict", {"id": "abc"}),
]


def _job_actions(client: Any, job_id: Any) -> dict[str, Callable[[], Any]]:
    """Every way a caller hands a client a job id: the job methods, job() and a Job handle."""
    handle = Job(provider=client._provider.name, operation="", task=None, id=job_id, submitted_at=0.0)
    return {
        "status": lambda: client.status(job_id),
        "wait": lambda: client.wait(job_id, deadline=5),
        "result": lambda: client.result(job_id),
        "cancel": lambda: client.cancel(job_id),
        "job": lambda: client.job(job_id),
        "status(Job)": lambda: client.status(handle),
        "wait(Job)": lambda: client.wait(handle, deadline=5),
    }


@both
@pytest.mark.parametrize("provider", [p for p in PROVIDERS if PROVIDERS[p].jobs], ids=str)
@pytest.mark.parametrize(("case", "job_id"), HOSTILE_IDS, ids=[c for c, _ in HOSTILE_IDS])
async def test_hostile_job_ids_are_refused_by_every_job_method(
    recorder: Recorder, provider: str, case: str, job_id: Any, is_async: bool
) -> None:
    client = make_client(client_class(PROVIDERS[provider], is_async), recorder)
    for name, action in _job_actions(client, job_id).items():
        error = await refused(recorder, provider, "job_id", action)
        assert API_KEY not in str(error), name


@both
@pytest.mark.parametrize("provider", [p for p in PROVIDERS if PROVIDERS[p].jobs], ids=str)
@pytest.mark.parametrize(("case", "job_id"), HOSTILE_IDS[:19], ids=[c for c, _ in HOSTILE_IDS[:19]])
async def test_hostile_ids_are_refused_by_raw_operations_with_a_path_parameter(
    recorder: Recorder, provider: str, case: str, job_id: str, is_async: bool
) -> None:
    client = make_client(client_class(PROVIDERS[provider], is_async), recorder)
    raw = [op for op in manifest_support.operations(provider) if "{" in (op.wire_path or op.path)]
    for op in raw:
        param = (op.wire_path or op.path).split("{", 1)[1].split("}", 1)[0]
        await refused(recorder, provider, param, partial(getattr(client, op.name), job_id))


@pytest.mark.parametrize("provider", [p for p in PROVIDERS if manifest_support.has_mapping(PROVIDERS[p])], ids=str)
@pytest.mark.parametrize(("case", "job_id"), HOSTILE_IDS[:19], ids=[c for c, _ in HOSTILE_IDS[:19]])
async def test_hostile_job_refs_are_refused_by_kling(recorder: Recorder, provider: str, case: str, job_id: str) -> None:
    import httpx

    from kling_sdk.unified import Kling

    with Kling(
        provider,
        api_keys={provider: API_KEY},
        http_client=httpx.Client(transport=httpx.MockTransport(recorder.handler)),
    ) as kling:
        for action in (kling.status, kling.wait, kling.result, kling.cancel, kling.job):
            await refused(recorder, provider, "job_id", partial(action, f"{provider}:{job_id}"))
        await refused(recorder, provider, "job_id", lambda: kling.status(job_id))  # a bare id of the only provider


def test_good_ids_pass_and_query_ids_are_one_encoded_value(recorder: Recorder) -> None:
    """Real ids (AIMLAPI's carry a colon and a slash) and ids with URL syntax in them are sent percent-encoded, as
    exactly one path segment or one query value: nothing in an id can add a segment or a parameter."""
    job_id = "27f25c85-e9db-44e9-909a-0c3ceb35cdd9:klingai/video-v2-6-pro-image-to-video?x=1&y=2#z"
    recorder.body = {}
    for provider in PROVIDERS.values():
        if provider.jobs is None:
            continue
        client = make_client(client_class(provider, False), recorder)
        client.status(job_id)
        sent, op = recorder.last.url, client._provider.jobs.status_op
        declared = sorted(client._provider.jobs.logs_query.items())  # the provider's own query, nothing from the id
        if op.id_in == "path":
            template = op.path.lstrip("/").split("/")
            segments = sent.raw_path.decode().split("?")[0].split("/")[-len(template) :]
            at = template.index("{" + op.id_param + "}")
            assert (
                unquote(segments[at]) == job_id
                and segments[:at] + segments[at + 1 :] == template[:at] + template[at + 1 :]
            )
            assert sorted(sent.params.multi_items()) == declared
        else:
            assert sorted(sent.params.multi_items()) == sorted([(op.id_param, job_id), *declared])
    assert len(recorder.requests) == sum(1 for p in PROVIDERS.values() if p.jobs)


@pytest.mark.parametrize("hostile", ["..", "."])
def test_an_id_from_a_hostile_answer_never_shapes_a_path(recorder: Recorder, hostile: str) -> None:
    """The checks sit where a path is built, so an id the provider itself sends back is refused there too."""
    recorder.body = {"request_id": hostile, "id": hostile, "generation_id": hostile, "status": "?"}
    recorder.body["generations"] = [{"generation_id": hostile, "status": "?"}]
    tested = 0
    for provider, operation, field in TARGETS[::-1]:
        client = make_client(client_class(PROVIDERS[provider], False), recorder)
        op = client._provider.jobs.status_op
        if op.id_in != "path" or (
            client._provider.jobs.stream is not None and client._provider.jobs.stream.kind == "events"
        ):
            continue  # a query value cannot change the path; a user-wide event stream is opened first
        recorder.requests.clear()
        body = body_with(provider, operation, field, URL)
        with within(), pytest.raises(InvalidRequestError) as info:
            getattr(client, operation.replace("submit_", "run_"))(body, stream=False, deadline=5)
        assert (info.value.provider, info.value.field) == (provider, op.id_param)
        assert [r.method for r in recorder.requests] == ["POST"], "only the submit went out"
        tested += 1
    assert tested


@pytest.mark.parametrize(
    ("job_id", "problem"),
    [
        ("6d5fbbbd-411c-4c7a-9249-e297304c87d4", None),
        ("27f25c85-e9db-44e9-909a-0c3ceb35cdd9:klingai/video-v2-6-pro-image-to-video", None),
        ("pd_vXW7VwPN2MbTwT8bzpWrYU5Y", None),
        ("a.b", None),
        ("...", None),
        ("a..b", None),
        ("", "is empty"),
        (".", "path segment"),
        ("a/..", "path segment"),
        ("%2E", "path segment"),
        ("a\x7fb", "U+007F"),
        ("a\u00a0b", "U+00A0"),
        ("x" * MAX_ID_LENGTH, None),
        ("x" * (MAX_ID_LENGTH + 1), "at most"),
    ],
)
def test_id_policy(job_id: str, problem: str | None) -> None:
    found = id_problem(job_id)
    assert found is None if problem is None else (found is not None and problem in found), found


# ------------------------------------------------------------------------------------------------ image inputs
def _module(provider: str) -> Any:
    return manifest_support.sdk_module(provider)


def _image_targets() -> list[tuple[str, str, str]]:
    """(provider, submit operation, field pointer) for every image field the manifest declares rules for (the
    provider's default model's client)."""
    return [
        (name, op.name, field)
        for name in PROVIDERS
        for op in manifest_support.operations(name, "submit")
        if op.request
        for field in manifest_support.image_fields(name, op.name)
    ]


TARGETS = _image_targets()
TARGET_IDS = [f"{p}-{op.removeprefix('submit_')}-{f}" for p, op, f in TARGETS]


def _request_model(provider: str, operation: str) -> Any:
    op = manifest_support.operation(provider, operation)
    return getattr(_module(provider), op.request or "")


def body_with(provider: str, operation: str, field: str, value: Any) -> dict[str, Any]:
    """The smallest valid request of `operation` (the prompt and first frame), with `value` in the image `field`."""
    return manifest_support.put(manifest_support.submit_body(provider, operation), field, value)


def _limit(provider: str, field: str) -> int:
    rule = manifest_support.image_rule(provider, field)
    return rule.max_bytes if rule.max_bytes is not None else DEFAULT_MAX_BYTES


def _takes_local_files(provider: str) -> bool:
    return PROVIDERS[provider].files.mode != "url"


@both
@pytest.mark.parametrize(("provider", "operation", "field"), TARGETS, ids=TARGET_IDS)
async def test_the_control_requests_are_accepted(
    recorder: Recorder, provider: str, operation: str, field: str, is_async: bool
) -> None:
    """The bodies the hostile cases start from are valid: each refusal below is the hostile value's doing."""
    recorder.body = {"request_id": "r", "id": "r", "generation_id": "r", "status": "queued"}
    recorder.body |= {"generations": [{"generation_id": "r", "status": "queued"}]}
    recorder.body |= {"upload_url": "https://storage.example/u", "file_url": "https://cdn.example/f.png"}
    client = make_client(client_class(PROVIDERS[provider], is_async), recorder)
    await call(client, operation, body_with(provider, operation, field, URL))
    if _takes_local_files(provider):
        await call(client, operation, body_with(provider, operation, field, png(640, 480)))
    assert recorder.requests


def _fifo(d: Path) -> Path:
    os.mkfifo(d / "pipe.png")
    return d / "pipe.png"


def _socket(d: Path) -> Path:
    # AF_UNIX paths are short (108 bytes): bind in a short temporary directory, removed with the test's.
    short = Path(tempfile.mkdtemp(prefix="k", dir="/tmp"))
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(short / "s.png"))
    _CLEANUP.append(lambda: (server.close(), (short / "s.png").unlink(), short.rmdir()))
    return short / "s.png"


def _symlink(d: Path, name: str, target: Path) -> Path:
    (d / name).symlink_to(target)
    return d / name


def _loop(d: Path) -> Path:
    (d / "a.png").symlink_to(d / "b.png")
    (d / "b.png").symlink_to(d / "a.png")
    return d / "a.png"


def _sparse(d: Path, size: int) -> Path:
    with open(d / "huge.png", "wb") as out:
        out.truncate(size)
    return d / "huge.png"


def _write(d: Path, name: str, data: bytes) -> Path:
    (d / name).write_bytes(data)
    return d / name


def _unreadable(d: Path) -> Path:
    if os.geteuid() == 0:
        pytest.skip("root reads a file whatever its mode (the /proc/self/mem case covers an unreadable file)")
    path = _write(d, "secret.png", png(640, 480))
    path.chmod(0)
    return path


class _BytesPath:
    """A path-like object whose `__fspath__` gives bytes (allowed by os.PathLike)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __fspath__(self) -> bytes:
        return os.fsencode(self.path)


_CLEANUP: list[Callable[[], object]] = []
# name, path builder (tmp dir, byte limit of the field), what the refusal says where the provider takes files
PATHS: list[tuple[str, Callable[[Path, int], Path], str]] = [
    ("fifo", lambda d, n: _fifo(d), "FIFO"),
    ("directory", lambda d, n: d, "directory"),
    ("dev-zero", lambda d, n: Path("/dev/zero"), "character device"),
    ("dev-null", lambda d, n: Path("/dev/null"), "character device"),
    ("unix-socket", lambda d, n: _socket(d), "socket"),
    ("missing", lambda d, n: d / "missing.png", "No such file"),
    ("dangling-symlink", lambda d, n: _symlink(d, "link.png", d / "gone.png"), "No such file"),
    ("symlink-loop", lambda d, n: _loop(d), "symbolic links"),
    ("symlink-to-fifo", lambda d, n: _symlink(d, "link.png", _fifo(d)), "FIFO"),
    ("symlink-to-directory", lambda d, n: _symlink(d, "link.png", d), "directory"),
    ("not-a-directory", lambda d, n: _write(d, "f.png", png(640, 480)) / "x.png", "Not a directory"),
    ("name-too-long", lambda d, n: d / ("x" * 300 + ".png"), "too long"),
    ("nul-in-name", lambda d, n: d / "a\x00b.png", "null byte"),
    ("bytes-fspath", lambda d, n: _BytesPath(_write(d, "b.png", b"text, not an image")), "not a readable image"),
    ("unreadable-proc-mem", lambda d, n: Path("/proc/self/mem"), "Input/output error"),
    ("unreadable-mode-000", lambda d, n: _unreadable(d), "Permission denied"),
    ("huge-sparse-2gb", lambda d, n: _sparse(d, 2 * 1024**3 + 1), "the limit is"),
    ("over-the-field-limit", lambda d, n: _sparse(d, n + 1), "the limit is"),
    ("empty-file", lambda d, n: _write(d, "empty.png", b""), "not a readable image"),
    ("text-file", lambda d, n: _write(d, "notes.png", b"just some text"), "not a readable image"),
]


@pytest.fixture
def cleanup() -> Iterator[None]:
    yield
    while _CLEANUP:
        _CLEANUP.pop()()


@both
@pytest.mark.usefixtures("cleanup")
@pytest.mark.parametrize(("provider", "operation", "field"), TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize(("case", "make", "reason"), PATHS, ids=[c for c, _, _ in PATHS])
async def test_odd_local_paths_are_refused_without_hanging(
    recorder: Recorder, tmp_path: Path, provider: str, operation: str, field: str, is_async: bool,
    case: str, make: Callable[[Path, int], Path], reason: str,
) -> None:  # fmt: skip
    if case == "unreadable-proc-mem" and not Path("/proc/self/mem").exists():
        pytest.skip("needs Linux /proc")
    path = make(tmp_path, _limit(provider, field))
    client = make_client(client_class(PROVIDERS[provider], is_async), recorder)
    error = await refused(
        recorder, provider, field, lambda: getattr(client, operation)(body_with(provider, operation, field, path))
    )
    if _takes_local_files(provider):
        assert reason in error.message, error.message
    else:
        assert "image URLs only" in error.message, error.message


def _data_uri_of(size: int) -> str:
    """A base64 data URI whose payload decodes to `size` bytes (built without encoding them)."""
    return "data:image/png;base64," + "A" * (4 * (size // 3)) + {0: "", 1: "AA==", 2: "AAA="}[size % 3]


# name, value builder (byte limit of the field); every one is over the field's limit or malformed
SIZES: list[tuple[str, Callable[[int], Any]]] = [
    ("bytes-over-limit", lambda n: b"\x89PNG" + bytes(n - 3)),
    ("bytearray-over-limit", lambda n: bytearray(n + 1)),
    ("local-file-over-limit", lambda n: LocalFile(bytes(n + 1), "big.png", "image/png")),
    ("data-uri-over-limit", lambda n: _data_uri_of(n + 1)),
    ("data-uri-bad-base64", lambda n: "data:image/png;base64,@@@@"),
    ("data-uri-without-comma", lambda n: "data:image/png;base64"),
    ("empty-bytes", lambda n: b""),
]


@both
@pytest.mark.parametrize(("provider", "operation", "field"), TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize(("case", "make"), SIZES, ids=[c for c, _ in SIZES])
async def test_in_memory_files_are_checked_against_the_same_cap(
    recorder: Recorder, provider: str, operation: str, field: str, is_async: bool, case: str, make: Callable[[int], Any]
) -> None:
    limit = _limit(provider, field)
    client = make_client(client_class(PROVIDERS[provider], is_async), recorder)
    body = body_with(provider, operation, field, make(limit))
    error = await refused(recorder, provider, field, lambda: getattr(client, operation)(body))
    if case.endswith("over-limit") and _takes_local_files(provider):
        assert f"the limit is {limit} bytes" in error.message


URLS: list[tuple[str, str]] = [
    ("file", "file:///etc/passwd"),
    ("file-localhost", "file://localhost/etc/passwd"),
    ("file-uppercase", "FILE:///etc/passwd"),
    ("javascript", "javascript:alert(1)"),
    ("vbscript", "vbscript:msgbox(1)"),
    ("ftp", "ftp://example.com/a.png"),
    ("gopher", "gopher://127.0.0.1:6379/_FLUSHALL"),
    ("blob", "blob:https://example.com/0f3c"),
    ("bare-word", "hello"),
    ("absolute-path-string", "/etc/passwd"),
    ("relative-path-string", "images/a.png"),
    ("windows-path-string", "C:\\images\\a.png"),
    ("scheme-relative", "//example.com/a.png"),
    ("no-host", "https:///a.png"),
    ("no-slashes", "https:example.com/a.png"),
    ("leading-space", " https://example.com/a.png"),
    ("header-injection", "https://example.com/a.png\r\nHost: evil"),
    ("nul", "https://example.com/a\x00.png"),
]


def _schemes_not_taken(provider: str) -> list[tuple[str, str]]:
    """A valid URL of each scheme the SDK knows that this provider's manifest does not accept."""
    valid = {"https": URL, "http": "http://example.com/a.png", "data": "data:image/png;base64,iVBORw0KGgo="}
    return [(f"{s}-not-accepted", u) for s, u in valid.items() if s not in PROVIDERS[provider].files.url_schemes]


URL_CASES = [(t, case, url) for t in TARGETS for case, url in URLS + _schemes_not_taken(t[0])]


@both
@pytest.mark.parametrize(("target", "case", "url"), URL_CASES, ids=[f"{'-'.join(t)}-{c}" for t, c, _ in URL_CASES])
async def test_image_urls_outside_the_accepted_schemes_are_refused(
    recorder: Recorder, target: tuple[str, str, str], case: str, url: str, is_async: bool
) -> None:
    provider, operation, field = target
    client = make_client(client_class(PROVIDERS[provider], is_async), recorder)
    await refused(
        recorder, provider, field, lambda: getattr(client, operation)(body_with(provider, operation, field, url))
    )
    # A request model built by hand is checked the same way, and so is the one-call path.
    model = _request_model(provider, operation)
    built = model.model_validate(body_with(provider, operation, field, url))
    await refused(recorder, provider, field, lambda: getattr(client, operation)(built))
    await refused(recorder, provider, field, lambda: getattr(client, operation.replace("submit_", "run_"))(built))


TYPES: list[tuple[str, Any]] = [
    ("int", 123),
    ("float", 1.5),
    ("bool", True),
    ("list", [URL]),
    ("dict", {"url": URL}),
    ("object", object()),
]


@both
@pytest.mark.parametrize(("provider", "operation", "field"), TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize(("case", "value"), TYPES, ids=[c for c, _ in TYPES])
async def test_wrong_types_in_image_fields_are_refused(
    recorder: Recorder, provider: str, operation: str, field: str, is_async: bool, case: str, value: Any
) -> None:
    client = make_client(client_class(PROVIDERS[provider], is_async), recorder)
    await refused(
        recorder, provider, field, lambda: getattr(client, operation)(body_with(provider, operation, field, value))
    )


# ------------------------------------------------------------------------------------------------ files growing
def test_a_file_larger_than_stat_said_is_read_no_further_than_the_limit() -> None:
    """/proc files report size 0 and then yield more: the stand-in for a file that grew after stat."""
    proc = Path("/proc/self/status")
    if not proc.exists():
        pytest.skip("needs Linux /proc")
    with within(), pytest.raises(InvalidRequestError, match="grew past the limit of 100 bytes") as info:
        LocalFile.from_path(proc, max_bytes=100, provider="fal", field="start_image_url")
    assert (info.value.provider, info.value.field) == ("fal", "start_image_url")
    assert len(LocalFile.from_path(proc, max_bytes=1 << 20).data) > 100  # under a larger limit it is read


def test_a_file_growing_while_it_is_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "growing.png"
    path.write_bytes(png(640, 480))
    stop = threading.Event()

    def grow() -> None:
        with open(path, "ab") as out:
            while not stop.is_set():
                out.write(bytes(64 * 1024))
                out.flush()

    writer = threading.Thread(target=grow, daemon=True)
    writer.start()
    try:
        while path.stat().st_size < 1024 * 1024:
            pass  # let it grow past the limit below, wherever the read catches it
        with within(), pytest.raises(InvalidRequestError, match="limit") as info:
            read_local(path, field="image_url", provider="aimlapi", max_bytes=512 * 1024)
    finally:
        stop.set()
        writer.join()
    assert info.value.field == "image_url"


def test_a_path_swapped_for_a_fifo_after_stat_is_refused_without_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check is repeated on what was opened (non-blocking), so a swap between stat and open cannot hang."""
    regular = tmp_path / "a.png"
    regular.write_bytes(png(640, 480))
    pipe = _fifo(tmp_path)
    real_stat = os.stat
    monkeypatch.setattr(files.os, "stat", lambda p, *a, **k: real_stat(regular if Path(p) == pipe else p, *a, **k))
    with within(), pytest.raises(InvalidRequestError, match="FIFO"):
        read_local(pipe, field="start_image_url", provider="fal", max_bytes=1 << 20)
    monkeypatch.undo()
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)


# ------------------------------------------------------------------------------------------------ unified, CLI
UNIFIED_IMAGES: list[tuple[str, Callable[[Path], Any]]] = [
    ("fifo", _fifo),
    ("directory", lambda d: d),
    ("dev-zero", lambda d: Path("/dev/zero")),
    ("file-url", lambda d: "file:///etc/passwd"),
    ("javascript-url", lambda d: "javascript:alert(1)"),
]


@pytest.mark.parametrize(("case", "make"), UNIFIED_IMAGES, ids=[c for c, _ in UNIFIED_IMAGES])
async def test_kling_refuses_hostile_images_before_any_request(
    recorder: Recorder, tmp_path: Path, case: str, make: Callable[[Path], Any]
) -> None:
    import httpx

    from kling_sdk.unified import ADAPTERS, ImageToVideo, Kling

    image = make(tmp_path)
    for (provider, model, task), adapter in ADAPTERS.items():
        if task != ImageToVideo.task:
            continue
        request = ImageToVideo(model=model, prompt="p", start_image=image)
        wire = next(field.pointer for field in adapter.fields if field.param == "start_image")
        http = httpx.Client(transport=httpx.MockTransport(recorder.handler))
        with Kling(provider, api_keys={provider: API_KEY}, http_client=http) as kling:
            await refused(recorder, provider, wire, partial(kling.submit, request))


@pytest.mark.parametrize(("case", "make"), UNIFIED_IMAGES[:3], ids=[c for c, _ in UNIFIED_IMAGES[:3]])
def test_the_cli_refuses_odd_image_paths_without_hanging(
    tmp_path: Path, case: str, make: Callable[[Path], Any]
) -> None:
    from kling_sdk.cli.inputs import neutral_request

    image = make(tmp_path)
    with within(), pytest.raises(ValueError, match="start_image"):
        neutral_request({"prompt": "p", "start_image": str(image)}, tmp_path)


def test_at_least_forty_hostile_inputs() -> None:
    growing = 3  # the three tests above: stat under-reports, a file growing, a path swapped for a FIFO
    hostile = len(HOSTILE_IDS) + len(PATHS) + len(SIZES) + len(URLS) + len(TYPES) + growing
    assert hostile >= 40, hostile
    assert {p for p, _, _ in TARGETS} == {p.name for p in MANIFEST.providers if p.images}


@pytest.mark.parametrize(
    ("schemes", "error"),
    [
        ('["https", "file"]', "'file' is not one of https, http, data"),
        ('["javascript"]', "'javascript' is not one of"),
        ("[]", "non-empty"),
        ('["https", "https"]', "distinct"),
        ('["https"]', 'url_schemes must include "data"'),  # a data_uri provider must take what it sends
    ],
)
def test_the_manifest_refuses_unknown_or_inconsistent_url_schemes(tmp_path: Path, schemes: str, error: str) -> None:
    from codegen.pipeline.diagnostics import GenerationError

    name = next(p.name for p in MANIFEST.providers if p.files.mode == "data_uri")
    text = (ROOT / "providers.toml").read_text(encoding="utf-8")
    marker = f"[providers.{name}.inputs]\n"
    (tmp_path / "providers.toml").write_text(
        text.replace(marker, f"{marker}url_schemes = {schemes}\n"), encoding="utf-8"
    )
    with pytest.raises(GenerationError) as info:
        load(tmp_path / "providers.toml")
    assert error in str(info.value) and f"providers.toml#/providers/{name}/inputs/url_schemes:" in str(info.value)


def test_url_schemes_reach_the_generated_clients() -> None:
    for provider in MANIFEST.providers:
        assert _module(provider.name).PROVIDER.files.url_schemes == provider.files.url_schemes
