"""Media types, written once: the types we render and their kinds, what a file name announces, and what bytes
really are (their magic numbers).

The bottom layer (beside `strings`): it imports nothing of puras-nb, so the client (`api.media`, the inputs
of the magics) and the emulator (`local/`) share one table and one sniffer.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from urllib.parse import unquote_to_bytes

__all__ = [
    "EXTENSIONS",
    "KINDS",
    "data_url",
    "decode_data_url",
    "dimensions",
    "media_kind",
    "mime_for_name",
    "sniff",
    "sniff_mime",
]

#: Media types we render, and their kind. SVG is left out on purpose: it is a document that can carry script.
KINDS: dict[str, str] = {
    "image/png": "image",
    "image/jpeg": "image",
    "image/gif": "image",
    "image/webp": "image",
    "audio/wav": "audio",
    "audio/x-wav": "audio",
    "audio/wave": "audio",
    "audio/mpeg": "audio",
    "audio/mp3": "audio",
    "audio/ogg": "audio",
    "audio/flac": "audio",
    "audio/aac": "audio",
    "audio/mp4": "audio",
    "audio/webm": "audio",
    "video/mp4": "video",
    "video/webm": "video",
    "video/ogg": "video",
    "video/quicktime": "video",
}
#: The media type each file extension announces (lower case, with the dot).
EXTENSIONS: dict[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".mov": "video/quicktime",
}
# Containers that hold audio or video alike: bytes in them can be either kind.
_CONTAINERS = frozenset({"audio/ogg", "video/webm", "video/mp4"})


def media_kind(mime: str | None) -> str | None:
    """`image` / `audio` / `video` for a media type we render (parameters such as `; codecs=` ignored), else None."""
    if not mime:
        return None
    return KINDS.get(mime.split(";", 1)[0].strip().lower())


def mime_for_name(name: str) -> str | None:
    """The media type a file name or URL path announces by its extension, else None."""
    name = name.lower()
    return next((mime for ext, mime in EXTENSIONS.items() if name.endswith(ext)), None)


def sniff_mime(data: bytes) -> str | None:
    """The type `data` is by its magic numbers (a media type of `KINDS`, or a PDF), else None: HTML, JSON, text
    and SVG are never recognised. MP4, WebM and Ogg name the container (see `sniff` for what it may hold)."""
    head = data[:16]
    riff = head[8:12] if head[:4] == b"RIFF" else b""
    for magic, mime in _PREFIXES:
        if head.startswith(magic):
            return mime
    if riff == b"WEBP":
        return "image/webp"
    if riff == b"WAVE":
        return "audio/wav"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # an MPEG audio frame: AAC (ADTS) or MP3
        return "audio/aac" if head[1] & 0x06 == 0 else "audio/mpeg"
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free"):
        return "video/mp4"
    return None


_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"ID3", "audio/mpeg"),
    (b"fLaC", "audio/flac"),
    (b"OggS", "audio/ogg"),
    (b"\x1a\x45\xdf\xa3", "video/webm"),
    (b"%PDF-", "application/pdf"),
)


def sniff(data: bytes) -> frozenset[str]:
    """The kinds (`image`, `audio`, `video`) that `data` can be, by its magic numbers; empty for anything else.
    A container shared by audio and video (MP4, WebM, Ogg) is both."""
    mime = sniff_mime(data)
    if mime in _CONTAINERS:
        return frozenset({"audio", "video"})
    kind = media_kind(mime)
    return frozenset({kind}) if kind else frozenset()


def data_url(data: bytes, mime: str | None = None) -> str:
    """`data:<mime>;base64,...` for `data` (the magics' `@file` and `$bytes` inputs, a file chosen in a form); the
    mime is sniffed when not given (application/octet-stream if unknown)."""
    mime = mime or sniff_mime(data) or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+)((?:;[\w.+-]+=[\w.+-]+)*)(;base64)?,", re.ASCII)
"""The head of a `data:` URL: its media type, its parameters, `;base64`."""


def decode_data_url(url: str, max_bytes: int) -> bytes | None:
    """The bytes a `data:` URL holds, or None when it is not one, is malformed or holds more than `max_bytes`
    (measured before anything is decoded: base64 holds 3 bytes in 4 characters, percent-encoding 1 in 1 to 3)."""
    m = DATA_URL.match(url)
    if m is None:
        return None
    size = len(url) - m.end()
    if (size * 3 // 4 > max_bytes + 3) if m.group(3) else (size > max_bytes * 3):
        return None
    payload = url[m.end() :]
    if m.group(3):
        try:
            data = base64.b64decode(payload, validate=False)
        except (binascii.Error, ValueError):
            return None
    else:
        data = unquote_to_bytes(payload)
    return data if len(data) <= max_bytes else None


def dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) in pixels as `data` shows, read from its header without decoding it: PNG, JPEG, GIF and
    WebP images, and the video track of an MP4 or QuickTime file (turned a quarter when its matrix says so);
    None for anything else or a header that says nothing sane. What sizes a grid's columns by their media."""
    try:
        size = _dimensions(data)
    except (struct.error, IndexError, ValueError):
        return None
    return size if size is not None and 0 < size[0] <= 100_000 and 0 < size[1] <= 100_000 else None


def _dimensions(data: bytes) -> tuple[int, int] | None:
    mime = sniff_mime(data)
    if mime == "image/png" and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if mime == "image/gif":
        return struct.unpack("<HH", data[6:10])
    if mime == "image/webp":
        return _webp(data)
    if mime == "image/jpeg":
        return _jpeg(data)
    if mime == "video/mp4":
        return _mp4(data, 0, len(data), 0)
    return None


def _webp(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


# JPEG's start-of-frame markers (baseline, progressive, lossless, arithmetic), which carry the image's size.
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _jpeg(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            at += 2
            continue
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]
    return None


# MP4 boxes that hold the boxes on the way to a track's header.
_MP4_PARENTS = (b"moov", b"trak")


def _mp4(data: bytes, start: int, end: int, depth: int) -> tuple[int, int] | None:
    """The size of the first track with one (a video's `tkhd`), walking `moov` and its `trak`s."""
    at = start
    while at + 8 <= end and depth < 4:
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        head = 8
        if size == 1:
            size, head = struct.unpack(">Q", data[at + 8 : at + 16])[0], 16
        elif size == 0:
            size = end - at
        if size < head:
            return None
        if kind in _MP4_PARENTS:
            found = _mp4(data, at + head, min(at + size, end), depth + 1)
            if found is not None:
                return found
        elif kind == b"tkhd":
            body = data[at + head : at + size]
            fixed = 24 if body[0] == 0 else 36  # version and flags, then 32- or 64-bit times (version 0 or 1)
            matrix = struct.unpack(">9i", body[fixed + 16 : fixed + 52])
            width, height = (v >> 16 for v in struct.unpack(">II", body[fixed + 52 : fixed + 60]))
            if width and height:
                quarter = matrix[0] == 0 and matrix[4] == 0  # rotated by 90 or 270 degrees
                return (height, width) if quarter else (width, height)
        at += size
    return None
