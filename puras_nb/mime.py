"""Media types, written once: the types we render and their kinds, what a file name announces, and what bytes
really are (their magic numbers).

The bottom layer (beside `strings`): it imports nothing of puras-nb, so the client (`api.media`, the inputs
of the magics) and the emulator (`local/`) share one table and one sniffer.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote_to_bytes

__all__ = [
    "EXTENSIONS",
    "KINDS",
    "data_url",
    "decode_data_url",
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
