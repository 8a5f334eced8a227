"""File inputs: read image headers, check the provider's limits locally, and encode what it accepts.

Only the first bytes of an image are parsed (PNG, JPEG, WebP, GIF); no imaging library is needed.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import InvalidRequestError

__all__ = [
    "FileTransport",
    "ImageInfo",
    "ImageRule",
    "LocalFile",
    "check_image",
    "image_info",
    "is_local",
    "read_local",
]

MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}


@dataclass(frozen=True)
class ImageRule:
    """Limits of one image field, from the manifest."""

    formats: tuple[str, ...] = ("png", "jpeg", "webp", "gif")
    max_bytes: int | None = None
    min_width: int | None = None
    min_height: int | None = None
    min_aspect: float | None = None
    max_aspect: float | None = None


@dataclass(frozen=True)
class FileTransport:
    """How local files reach the provider: refused (`url`), inlined as a data URI, or uploaded first."""

    mode: Literal["url", "data_uri", "upload"] = "url"
    upload_path: str | None = None
    upload_url: tuple[str, ...] = ()
    file_url: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocalFile:
    """Bytes to send as a file input, with a name and content type."""

    data: bytes
    file_name: str = "input"
    content_type: str | None = None

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> LocalFile:
        """Read a file from disk."""
        p = Path(path)
        return cls(p.read_bytes(), p.name, mimetypes.guess_type(p.name)[0])

    def __repr__(self) -> str:
        return f"LocalFile({self.file_name!r}, {len(self.data)} bytes)"

    def data_uri(self) -> str:
        """The file as a `data:` URI."""
        return f"data:{self.content_type or 'application/octet-stream'};base64,{base64.b64encode(self.data).decode()}"


@dataclass(frozen=True)
class ImageInfo:
    """Format and pixel size read from an image header."""

    format: str
    width: int
    height: int


def is_local(value: Any) -> bool:
    """Whether a request value is a local file (path, bytes, LocalFile) or an inline data URI."""
    return isinstance(value, os.PathLike | bytes | bytearray | LocalFile) or (
        isinstance(value, str) and value.startswith("data:")
    )


def read_local(value: Any, *, field: str, provider: str, max_bytes: int | None) -> LocalFile:
    """Load a local file value; an oversized file is refused from its size alone, before it is read."""
    if isinstance(value, LocalFile):
        return value
    if isinstance(value, bytes | bytearray):
        return LocalFile(bytes(value))
    if isinstance(value, str):
        header, _, payload = value.partition(",")
        try:
            data = base64.b64decode(payload, validate=True) if header.endswith(";base64") else payload.encode()
        except ValueError:
            raise InvalidRequestError(provider, field, "is a data URI whose base64 payload is invalid") from None
        return LocalFile(data, field, header.removeprefix("data:").split(";")[0] or None)
    path = Path(value)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidRequestError(provider, field, f"cannot read {path}: {exc.strerror}") from None
    if max_bytes is not None and size > max_bytes:
        raise InvalidRequestError(provider, field, f"{path.name} is {size} bytes; the limit is {max_bytes} bytes")
    return LocalFile.from_path(path)


def image_info(data: bytes) -> ImageInfo | None:
    """Format and size from the header of a PNG, JPEG, WebP or GIF image; None when unreadable."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return ImageInfo("png", width, height)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            width, height = struct.unpack("<HH", data[6:10])
            return ImageInfo("gif", width, height)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp(data)
        if data[:2] == b"\xff\xd8":
            return _jpeg(data)
    except (struct.error, IndexError):
        return None
    return None


def _webp(data: bytes) -> ImageInfo | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return ImageInfo("webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and data[20] == 0x2F:
        b = data[21:25]
        width = 1 + (b[0] | (b[1] & 0x3F) << 8)
        height = 1 + (b[1] >> 6 | b[2] << 2 | (b[3] & 0x0F) << 10)
        return ImageInfo("webp", width, height)
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return ImageInfo("webp", width, height)
    return None


def _jpeg(data: bytes) -> ImageInfo | None:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return ImageInfo("jpeg", width, height)
        i += 2 + length
    return None


def check_image(file: LocalFile, rule: ImageRule, *, field: str, provider: str) -> ImageInfo:
    """Check an image against the provider's limits; the error names the field and the limit."""
    if rule.max_bytes is not None and len(file.data) > rule.max_bytes:
        raise InvalidRequestError(provider, field, f"is {len(file.data)} bytes; the limit is {rule.max_bytes} bytes")
    info = image_info(file.data)
    if info is None:
        raise InvalidRequestError(provider, field, f"is not a readable image ({', '.join(rule.formats)} expected)")
    if info.format not in rule.formats:
        raise InvalidRequestError(provider, field, f"is {info.format}; accepted formats: {', '.join(rule.formats)}")
    if info.width == 0 or info.height == 0:
        raise InvalidRequestError(provider, field, "has a zero width or height")
    if (rule.min_width and info.width < rule.min_width) or (rule.min_height and info.height < rule.min_height):
        raise InvalidRequestError(
            provider, field, f"is {info.width}x{info.height} px; the minimum is {rule.min_width}x{rule.min_height} px"
        )
    aspect = info.width / info.height
    if (rule.min_aspect is not None and aspect < rule.min_aspect) or (
        rule.max_aspect is not None and aspect > rule.max_aspect
    ):
        raise InvalidRequestError(
            provider,
            field,
            f"has aspect ratio {aspect:.2f} (width/height); allowed {rule.min_aspect:.2f}-{rule.max_aspect:.2f}",
        )
    return info


def as_local_file(file: LocalFile, info: ImageInfo | None) -> LocalFile:
    """The file with its content type taken from the image header when known."""
    if info is not None and file.content_type != MIME[info.format]:
        name = file.file_name if "." in file.file_name else f"{file.file_name}.{info.format.replace('jpeg', 'jpg')}"
        return LocalFile(file.data, name, MIME[info.format])
    return file
