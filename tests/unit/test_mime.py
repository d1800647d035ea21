"""`puras_nb.mime`: the one mime table and byte sniffer that the client and the emulator share."""

from __future__ import annotations

import pytest

from puras_nb.mime import EXTENSIONS, KINDS, media_kind, mime_for_name, sniff, sniff_mime


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF87a\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"ID3\x04\x00\x00\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x64", "audio/mpeg"),
        (b"\xff\xf1\x50\x80", "audio/aac"),
        (b"fLaC\x00\x00\x00\x22", "audio/flac"),
        (b"OggS\x00\x02", "audio/ogg"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86", "video/webm"),
        (b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
        (b"%PDF-1.7", "application/pdf"),
        (b"\x00\x00\x00\x00WAVEfmt ", None),  # WAVE without its RIFF header
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"", None),
    ],
)
def test_sniff_mime_and_sniff_tell_the_same_story(head: bytes, mime: str | None) -> None:
    assert sniff_mime(head) == mime
    kinds = sniff(head)
    if media_kind(mime) is None:
        assert kinds == frozenset()
    else:
        assert media_kind(mime) in kinds


def test_every_extension_names_a_type_we_render_and_names_are_case_blind() -> None:
    assert all(media_kind(mime) for mime in EXTENSIONS.values())
    assert mime_for_name("Clip.WAV") == "audio/wav" and mime_for_name("a/b.jpeg") == "image/jpeg"
    assert mime_for_name("page.html") is None and mime_for_name("logo.svg") is None
    assert "image/svg+xml" not in KINDS and media_kind("Video/WebM; codecs=vp9") == "video"
