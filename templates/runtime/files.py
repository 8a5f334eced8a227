"""File inputs: read image headers, check the provider's limits locally, and encode what it accepts.

Only the first bytes of an image are parsed (PNG, JPEG, WebP, GIF); no imaging library is needed. A local path
must be a regular file (no FIFO, device, directory or symlink loop), is size-checked from `stat` before it is
opened, and is read with a bounded read, so a file that grows meanwhile cannot be read past its limit.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .boundary import DEFAULT_URL_SCHEMES
from .errors import InvalidRequestError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FileTransport",
    "ImageInfo",
    "ImageRule",
    "LocalFile",
    "check_image",
    "image_info",
    "is_data_uri",
    "is_local",
    "read_local",
]

MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}
# The cap for an image field whose provider declares no limit: the largest any of them documents for an image
# (AIMLAPI's Kling v3: 50 MB), so a 2 GB file is refused from its size instead of being read into memory.
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ImageRule:
    """Limits of one image field, from the manifest."""

    formats: tuple[str, ...] = ("png", "jpeg", "webp", "gif")
    max_bytes: int | None = None
    min_width: int | None = None
    min_height: int | None = None
    min_aspect: float | None = None
    max_aspect: float | None = None

    @property
    def limit(self) -> int:
        """The byte limit checked before reading: the declared one, else `DEFAULT_MAX_BYTES`."""
        return self.max_bytes if self.max_bytes is not None else DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class FileTransport:
    """How image inputs reach the provider: URL schemes taken; local files refused (`url`), inlined or uploaded."""

    mode: Literal["url", "data_uri", "upload"] = "url"
    upload_path: str | None = None
    upload_url: tuple[str, ...] = ()
    file_url: tuple[str, ...] = ()
    url_schemes: tuple[str, ...] = DEFAULT_URL_SCHEMES


class _Refused(Exception):
    """A local file that cannot be used; the message says why, without the provider or field."""


@dataclass(frozen=True)
class LocalFile:
    """Bytes to send as a file input, with a name and content type."""

    data: bytes
    file_name: str = "input"
    content_type: str | None = None

    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        provider: str = "local",
        field: str = "path",
    ) -> LocalFile:
        """Read a regular file of at most `max_bytes` from disk; anything else is an `InvalidRequestError`."""
        try:
            p = Path(os.fsdecode(os.fspath(path)))  # str or bytes paths
            data = _read_regular(p, max_bytes)
        except TypeError as exc:
            raise InvalidRequestError(provider, field, f"is not a usable path ({exc})") from None
        except _Refused as exc:
            raise InvalidRequestError(provider, field, str(exc)) from None
        return cls(data, p.name, mimetypes.guess_type(p.name)[0])

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


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _check_stat(path: Path, st: os.stat_result, limit: int) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise _Refused(f"{path} is {_kind(st.st_mode)}, not a regular file")
    if st.st_size > limit:
        raise _Refused(f"{path.name} is {st.st_size} bytes; the limit is {limit} bytes")


def _read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; never reads more than `limit + 1`."""
    try:
        _check_stat(path, os.stat(path), limit)
        # Non-blocking: if the path was swapped for a FIFO since the stat, opening must not wait for a writer.
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
        )
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL
        raise _Refused(f"cannot read {path!s:.200}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        _check_stat(path, os.fstat(fd), limit)  # what was opened, not what was stat'ed
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _Refused(f"cannot read {path!s:.200}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise _Refused(f"{path.name} grew past the limit of {limit} bytes while it was read")
    return b"".join(chunks)


def is_data_uri(value: Any) -> bool:
    """Whether `value` is a `data:` URI (the scheme is case-insensitive)."""
    return isinstance(value, str) and value[:5].lower() == "data:"


def is_local(value: Any, schemes: tuple[str, ...] = DEFAULT_URL_SCHEMES) -> bool:
    """Whether a request value is a local file (path, bytes, LocalFile) or an inline data URI the provider takes."""
    return isinstance(value, os.PathLike | bytes | bytearray | LocalFile) or ("data" in schemes and is_data_uri(value))


def _too_big(size: int, limit: int) -> str:
    return f"is {size} bytes; the limit is {limit} bytes"


def read_local(value: Any, *, field: str, provider: str, max_bytes: int | None) -> LocalFile:
    """Load a local file value, refusing anything over `max_bytes` (default `DEFAULT_MAX_BYTES`) before it is read."""
    limit = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    if isinstance(value, LocalFile):
        if not isinstance(value.data, bytes | bytearray):
            raise InvalidRequestError(provider, field, f"LocalFile.data must be bytes, not {type(value.data).__name__}")
        if len(value.data) > limit:
            raise InvalidRequestError(provider, field, _too_big(len(value.data), limit))
        return value
    if isinstance(value, bytes | bytearray):
        if len(value) > limit:
            raise InvalidRequestError(provider, field, _too_big(len(value), limit))
        return LocalFile(bytes(value))
    if isinstance(value, str):
        comma = value.find(",")
        if comma < 0:
            raise InvalidRequestError(provider, field, "is a data URI without a ',' before its payload")
        header, encoded = value[:comma], len(value) - comma - 1
        is_base64 = header.lower().endswith(";base64")
        # Decoded size from the encoded length: an oversized URI is refused before it is copied or decoded.
        size = encoded * 3 // 4 - value[-2:].count("=") if is_base64 else encoded
        if size > limit:
            raise InvalidRequestError(provider, field, _too_big(size, limit))
        payload = value[comma + 1 :]
        try:
            data = base64.b64decode(payload, validate=True) if is_base64 else payload.encode()
        except (ValueError, binascii.Error):
            raise InvalidRequestError(provider, field, "is a data URI whose base64 payload is invalid") from None
        if len(data) > limit:
            raise InvalidRequestError(provider, field, _too_big(len(data), limit))
        return LocalFile(data, field, header[5:].split(";")[0] or None)
    return LocalFile.from_path(value, max_bytes=limit, provider=provider, field=field)


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
    if len(file.data) > rule.limit:
        raise InvalidRequestError(provider, field, _too_big(len(file.data), rule.limit))
    info = image_info(file.data)
    if info is None:
        raise InvalidRequestError(provider, field, f"is not a readable image ({', '.join(rule.formats)} expected)")
    if info.format not in rule.formats:
        raise InvalidRequestError(provider, field, f"is {info.format}; accepted formats: {', '.join(rule.formats)}")
    if info.width == 0 or info.height == 0:
        raise InvalidRequestError(provider, field, "has a zero width or height")
    if (rule.min_width and info.width < rule.min_width) or (rule.min_height and info.height < rule.min_height):
        minimum = f"{rule.min_width or 1}x{rule.min_height or 1} px"
        raise InvalidRequestError(provider, field, f"is {info.width}x{info.height} px; the minimum is {minimum}")
    aspect = info.width / info.height
    if (rule.min_aspect is not None and aspect < rule.min_aspect) or (
        rule.max_aspect is not None and aspect > rule.max_aspect
    ):
        low = "0" if rule.min_aspect is None else f"{rule.min_aspect:.2f}"
        high = "any" if rule.max_aspect is None else f"{rule.max_aspect:.2f}"
        raise InvalidRequestError(
            provider, field, f"has aspect ratio {aspect:.2f} (width/height); allowed {low}-{high}"
        )
    return info


def as_local_file(file: LocalFile, info: ImageInfo | None) -> LocalFile:
    """The file with its content type taken from the image header when known."""
    if info is not None and file.content_type != MIME[info.format]:
        name = file.file_name if "." in file.file_name else f"{file.file_name}.{info.format.replace('jpeg', 'jpg')}"
        return LocalFile(file.data, name, MIME[info.format])
    return file
