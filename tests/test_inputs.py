"""Validation before paying: every invalid input is rejected locally, naming the field, with zero requests."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from conftest import Recorder, call, make_client
from test_wire import client_class

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


BIG = 10 * 1024 * 1024 + 1
LONG = "x" * 2501


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


URL = "https://example.com/a.png"
# provider, method, request (callables get tmp_path), field the error must name
INVALID: list[tuple[str, str, Any, str]] = [
    ("oxen", "submit_image_to_video", {"prompt": "p", "duration": 7}, "duration"),
    ("oxen", "submit_image_to_video", {"prompt": "p", "num_generations": 5}, "num_generations"),
    ("oxen", "submit_image_to_video", {"duration": 5}, "prompt"),
    ("oxen", "submit_image_to_video", {"prompt": "p", "seed": 3}, "seed"),
    ("oxen", "submit_image_to_video", {"prompt": "p", "response_format": "mp4"}, "response_format"),
    ("oxen", "submit_image_to_video", lambda d: {"prompt": "p", "input_image": _file(d, "a.png", png(640, 480))}, "input_image"),
    ("oxen", "submit_image_to_video", {"prompt": "p", "input_image": "data:image/png;base64,bm90IGFuIGltYWdl"}, "input_image"),
    ("oxen", "submit_text_to_video", {"prompt": "p", "aspect_ratio": "4:3"}, "aspect_ratio"),
    ("oxen", "submit_text_to_video", {"prompt": "p", "cfg_scale": 11}, "cfg_scale"),
    ("aimlapi", "submit_image_to_video", {"prompt": LONG, "image_url": URL}, "prompt"),
    ("aimlapi", "submit_image_to_video", {"prompt": "p", "image_url": URL, "duration": 7}, "duration"),
    ("aimlapi", "submit_image_to_video", {"prompt": "p"}, "image_url"),
    ("aimlapi", "submit_image_to_video", {"prompt": "p", "image_url": b"not an image"}, "image_url"),
    ("aimlapi", "submit_image_to_video", {"prompt": "p", "image_url": URL, "generate_audio": "maybe"}, "generate_audio"),
    ("aimlapi", "submit_text_to_video", {"prompt": "p", "cfg_scale": 1.5}, "cfg_scale"),
    ("aimlapi", "submit_text_to_video", {"prompt": "p", "aspect_ratio": "4:3"}, "aspect_ratio"),
    ("aimlapi", "submit_text_to_video", {"prompt": "p", "model": "klingai/other"}, "model"),
    ("sunra", "submit_image_to_video", {"prompt": LONG, "start_image_url": URL}, "prompt"),
    ("sunra", "submit_image_to_video", {"prompt": "p", "start_image_url": URL, "duration": "7"}, "duration"),
    ("sunra", "submit_image_to_video", {"prompt": "p", "start_image_url": URL, "duration": 5}, "duration"),
    ("sunra", "submit_image_to_video", {"prompt": "p", "start_image_url": URL, "voice_ids": ["a", "b", "c"]}, "voice_ids"),
    ("sunra", "submit_image_to_video", {"prompt": "p", "start_image_url": URL, "negative_prompt": LONG}, "negative_prompt"),
    ("sunra", "submit_image_to_video", {"prompt": "p", "start_image_url": None}, "start_image_url"),
    ("sunra", "submit_image_to_video", lambda d: {"prompt": "p", "start_image_url": _file(d, "tiny.png", png(200, 200))}, "start_image_url"),
    ("sunra", "submit_image_to_video", lambda d: {"prompt": "p", "start_image_url": _file(d, "big.png", b"\x89PNG" + b"\x00" * BIG)}, "start_image_url"),
    ("sunra", "submit_image_to_video", lambda d: {"prompt": "p", "start_image_url": _file(d, "wide.jpg", jpeg(1000, 300))}, "start_image_url"),
    ("sunra", "submit_image_to_video", lambda d: {"prompt": "p", "start_image_url": URL, "end_image_url": _file(d, "tall.webp", webp(300, 800))}, "end_image_url"),
    ("sunra", "submit_image_to_video", lambda d: {"prompt": "p", "start_image_url": _file(d, "notes.png", b"just some text")}, "start_image_url"),
    ("sunra", "submit_image_to_video", lambda d: {"prompt": "p", "start_image_url": d / "missing.png"}, "start_image_url"),
    ("sunra", "submit_image_to_video", {"prompt": "p", "start_image_url": gif(299, 600)}, "start_image_url"),
    ("fal", "submit_image_to_video", {"prompt": "p", "start_image_url": URL, "voice_ids": ["a", "b", "c"]}, "voice_ids"),
    ("fal", "submit_image_to_video", {"prompt": LONG, "start_image_url": URL}, "prompt"),
    ("fal", "submit_image_to_video", {"prompt": "p", "start_image_url": URL, "duration": 5}, "duration"),
    ("fal", "submit_image_to_video", {"prompt": "p", "start_image_url": URL, "end_image_url": b"\x00\x01garbage"}, "end_image_url"),
    ("fal", "submit_image_to_video", {"prompt": "p", "start_image_url": b""}, "start_image_url"),
    ("fal", "submit_text_to_video", {"prompt": "p", "cfg_scale": -0.1}, "cfg_scale"),
    ("fal", "submit_text_to_video", {"prompt": "p", "aspect_ratio": "21:9"}, "aspect_ratio"),
    ("fal", "submit_text_to_video", {"prompt": "p", "start_image_url": URL}, "start_image_url"),
]  # fmt: skip


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("provider", "method", "request_", "field"),
    INVALID,
    ids=[f"{c[0]}-{c[1].removeprefix('submit_')}-{c[3]}-{i}" for i, c in enumerate(INVALID)],
)
async def test_invalid_input_is_rejected_before_any_request(
    recorder: Recorder, tmp_path: Path, is_async: bool, provider: str, method: str, request_: Any, field: str
) -> None:
    client = make_client(client_class(provider, is_async), recorder)
    body = request_(tmp_path) if callable(request_) else request_
    with pytest.raises(InvalidRequestError) as info:
        await call(client, method, body)
    assert info.value.field == field, str(info.value)
    assert field in str(info.value) and provider in str(info.value)
    assert recorder.requests == []
    # The one-call path validates before it opens any connection too (Oxen subscribes to its events first).
    with pytest.raises(InvalidRequestError):
        await call(client, method.replace("submit_", "run_"), body)
    assert recorder.requests == []


def test_at_least_thirty_invalid_inputs() -> None:
    assert len(INVALID) >= 30
    assert {c[0] for c in INVALID} == {"oxen", "aimlapi", "sunra", "fal"}


@pytest.mark.parametrize(
    ("provider", "field", "data"),
    [
        ("sunra", "start_image_url", png(300, 300)),
        ("sunra", "start_image_url", jpeg(1000, 400)),
        ("sunra", "start_image_url", webp(300, 750)),
        ("fal", "start_image_url", jpeg(64, 64)),
        ("aimlapi", "image_url", gif(10, 10)),
    ],
)
def test_images_at_the_limits_are_accepted(recorder: Recorder, provider: str, field: str, data: bytes) -> None:
    recorder.body = {"request_id": "r1", "id": "r1", "status": "IN_QUEUE"}
    if provider == "sunra":
        recorder.body = {
            "upload_url": "https://storage.fake.test/u",
            "file_url": "https://cdn.fake.test/f.png",
            **recorder.body,
        }
    client = make_client(client_class(provider, False), recorder)
    client.submit_image_to_video({"prompt": "p", field: data})
    assert recorder.requests[-1].method == "POST"
