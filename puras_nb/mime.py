"""Media types from bytes, written once for every layer: what bytes are by their magic numbers, and bytes as a
data URL (the magics' `@file` and `$bytes` inputs, and a file chosen in a form).

The bottom layer (beside `strings`): it imports nothing of puras-nb.
"""

from __future__ import annotations

import base64

__all__ = ["data_url", "sniff_mime"]

# (offset, magic bytes, mime): enough to label the media a notebook user passes as bytes.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (8, b"WEBP", "image/webp"),
    (8, b"WAVE", "audio/wav"),
    (0, b"OggS", "audio/ogg"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"fLaC", "audio/flac"),
    (4, b"ftyp", "video/mp4"),
    (0, b"\x1aE\xdf\xa3", "video/webm"),
    (0, b"%PDF-", "application/pdf"),
)


def sniff_mime(data: bytes) -> str:
    """Guess a mime type from the first bytes of `data` (application/octet-stream if unknown)."""
    for offset, magic, mime in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return mime
    return "application/octet-stream"


def data_url(data: bytes, mime: str | None = None) -> str:
    """`data:<mime>;base64,...` for `data`; the mime is sniffed when not given."""
    return f"data:{mime or sniff_mime(data)};base64,{base64.b64encode(data).decode('ascii')}"
