"""Validation before paying: every invalid input is rejected locally, naming the field, with zero requests."""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from conftest import Recorder, call, make_client
from manifest_support import (
    client_class,
    dotted,
    fixture_for,
    image_fields,
    image_rule,
    invalid_requests,
    provider,
    put,
    submit_body,
    submits,
    units,
)

from kling_sdk._runtime.errors import InvalidRequestError
from kling_sdk._runtime.files import ImageInfo, LocalFile, image_info


def png(width: int, height: int) -> bytes:
    """A valid PNG (grey, 8-bit)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def jpeg(width: int, height: int) -> bytes:
    """A baseline JPEG header: SOI, APP0 (JFIF), SOF0, EOI."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + b";"


def webp(width: int, height: int, kind: str = "VP8X") -> bytes:
    if kind == "VP8X":
        payload = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    elif kind == "VP8L":
        bits = (width - 1) | (height - 1) << 14
        payload = b"\x2f" + bits.to_bytes(4, "little")
    else:
        payload = b"\x00\x00\x00\x9d\x01\x2a" + struct.pack("<HH", width, height)
    chunk = kind.encode() + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (png(640, 480), ImageInfo("png", 640, 480)),
        (jpeg(1920, 1080), ImageInfo("jpeg", 1920, 1080)),
        (gif(300, 301), ImageInfo("gif", 300, 301)),
        (webp(1024, 768), ImageInfo("webp", 1024, 768)),
        (webp(333, 444, "VP8L"), ImageInfo("webp", 333, 444)),
        (webp(500, 250, "VP8 "), ImageInfo("webp", 500, 250)),
        (b"not an image", None),
        (b"\x89PNG\r\n\x1a\n", None),
        (b"\xff\xd8\xff\xe0\x00", None),
        (b"", None),
    ],
    ids=[
        "png",
        "jpeg",
        "gif",
        "webp-vp8x",
        "webp-vp8l",
        "webp-vp8",
        "text",
        "png-truncated",
        "jpeg-truncated",
        "empty",
    ],
)
def test_image_headers(data: bytes, expected: ImageInfo | None) -> None:
    assert image_info(data) == expected


def test_local_file_repr_does_not_dump_bytes() -> None:
    assert repr(LocalFile(b"x" * 10_000, "a.png")) == "LocalFile('a.png', 10000 bytes)"


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


MAKERS = {"png": png, "jpeg": jpeg, "gif": gif, "webp": webp}
DATA_URI = "data:image/png;base64," + base64.b64encode(png(400, 400)).decode()


def _image_cases(name: str, model: str | None, field: str) -> list[tuple[str, Any]]:
    """(what is wrong, value) for one image field, from the (provider, model)'s effective rule and file transport."""
    decl = provider(name)
    rule = image_rule(name, field, model)
    cases: list[tuple[str, Any]] = []
    if "data" not in decl.files.url_schemes:
        cases.append(("a data URI where only URLs are taken", DATA_URI))
    if decl.files.mode == "url":  # no way to send a local file: refused, whatever the file
        return [*cases, ("a local file where only URLs are taken", lambda d: _file(d, "a.png", png(640, 480)))]
    cases += [
        ("bytes that are no image", b"\x00\x01garbage"),
        ("no bytes", b""),
        ("a file that is no image", lambda d: _file(d, "notes.png", b"just some text")),
        ("a missing file", lambda d: d / "missing.png"),
    ]
    width, height = rule.min_width or 1, rule.min_height or 1
    if rule.min_width:
        cases.append(("narrower than the minimum", png(rule.min_width - 1, max(height, rule.min_width))))
    if rule.min_height:
        cases.append(
            (
                "lower than the minimum",
                lambda d: _file(d, "low.gif", gif(max(width, rule.min_height), rule.min_height - 1)),
            )
        )
    if rule.max_bytes:
        big = b"\x89PNG" + b"\x00" * rule.max_bytes
        cases.append(("larger than the limit", lambda d: _file(d, "big.png", big)))
    if rule.min_aspect:
        side = max(width, height)
        cases.append(("taller than the aspect ratio allows", webp(side, int(side / rule.min_aspect) + 2)))
    if rule.max_aspect:
        side = max(width, height)
        cases.append(
            (
                "wider than the aspect ratio allows",
                lambda d: _file(d, "wide.jpg", jpeg(int(side * rule.max_aspect) + 2, side)),
            )
        )
    for fmt in sorted(set(MAKERS) - set(rule.formats)):
        cases.append((f"a {fmt} image", MAKERS[fmt](max(width, 400), max(height, 400))))
    return cases


def _invalid() -> list[tuple[str, str | None, str, str, str, Any]]:
    found = [(n, op.model, op.name, *case) for n, op in submits() for case in invalid_requests(n, op.name, op.model)]
    for name, op in submits():
        base = submit_body(name, op.name, model=op.model)
        for field in image_fields(name, op.name, op.model):
            for why, value in _image_cases(name, op.model, field):
                found.append(
                    (name, op.model, op.name, f"{dotted(field)}: {why}", dotted(field), _with(base, field, value))
                )
    return found


def _with(base: dict[str, Any], field: str, value: Any) -> Any:
    if callable(value):
        return lambda d: put(base, field, value(d))
    return put(base, field, value)


# provider, model, operation, what is wrong, the field the error must name, request (callables get tmp_path)
INVALID = _invalid()


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("provider_name", "model", "method", "why", "field", "request_"),
    INVALID,
    ids=[f"{c[0]}-{c[1]}-{c[2].removeprefix('submit_')}-{c[3]}" for c in INVALID],
)
async def test_invalid_input_is_rejected_before_any_request(
    recorder: Recorder, tmp_path: Path, is_async: bool, provider_name: str, model: str | None, method: str, why: str,
    field: str, request_: Any,
) -> None:  # fmt: skip
    client = make_client(client_class(provider_name, is_async, model), recorder)
    body = request_(tmp_path) if callable(request_) else request_
    with pytest.raises(InvalidRequestError) as info:
        await call(client, method, body)
    assert info.value.field == field, f"{why}: {info.value}"
    assert field in str(info.value) and provider_name in str(info.value)
    assert recorder.requests == []
    # The one-call path validates before it opens any connection too (an events stream is subscribed to first).
    with pytest.raises(InvalidRequestError):
        await call(client, method.replace("submit_", "run_"), body)
    assert recorder.requests == []


def test_every_provider_and_every_image_rule_has_invalid_inputs() -> None:
    assert {c[:2] for c in INVALID} == set(units())
    for name, op in submits():
        for field in image_fields(name, op.name, op.model):
            assert any(c[:3] == (name, op.model, op.name) and c[4] == dotted(field) for c in INVALID), (name, op, field)


def _at_the_limits(name: str, model: str | None, field: str) -> list[tuple[str, bytes]]:
    """Images exactly at the (provider, model)'s effective limits (or a small one where it has none): each must be
    accepted."""
    rule = image_rule(name, field, model)
    width, height = rule.min_width or 10, rule.min_height or 10
    fmt = MAKERS[rule.formats[0]]
    found = [("at the minimum size", fmt(width, height))]
    if rule.min_aspect:
        found.append(("at the lowest aspect ratio", fmt(width, round(width / rule.min_aspect))))
    if rule.max_aspect:
        found.append(("at the highest aspect ratio", fmt(round(height * rule.max_aspect), height)))
    return found


LIMITS = [
    (name, op.model, op.name, field, why, data)
    for name, op in submits(lambda p: p.files.mode != "url")
    for field in image_fields(name, op.name, op.model)
    for why, data in _at_the_limits(name, op.model, field)
]


@pytest.mark.parametrize(
    ("provider_name", "model", "method", "field", "why", "data"),
    LIMITS,
    ids=[f"{c[0]}-{c[1]}-{c[3]}-{c[4]}" for c in LIMITS],
)
def test_images_at_the_limits_are_accepted(
    recorder: Recorder, provider_name: str, model: str | None, method: str, field: str, why: str, data: bytes
) -> None:
    decl = provider(provider_name)
    answer = fixture_for(provider_name, method, "submit_", model).data["exchanges"][0]["response"]["json"]
    recorder.body = answer  # one answer for every request: with an upload, also the upload's two URLs
    if decl.files.mode == "upload":
        urls = zip(
            (decl.files.upload_url[0], decl.files.file_url[0]),
            ("https://storage.fake.test/u", "https://cdn.fake.test/f.png"),
            strict=True,
        )
        recorder.body = {**answer, **{pointer.strip("/"): url for pointer, url in urls}}
    client = make_client(client_class(provider_name, False, model), recorder)
    getattr(client, method)(put(submit_body(provider_name, method, model=model), field, data))
    assert recorder.requests[-1].method == "POST", why
