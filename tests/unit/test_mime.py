"""`puras_nb.mime`: the one mime table and byte sniffer that the client and the emulator share."""

from __future__ import annotations

import io
import struct

import pytest

from puras_nb.mime import EXTENSIONS, KINDS, dimensions, media_kind, mime_for_name, sniff, sniff_mime


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


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _tkhd(width: int, height: int, matrix: tuple[int, ...], version: int = 0) -> bytes:
    times = b"\0" * (20 if version == 0 else 32)  # times, track id, reserved, duration
    tail = b"\0" * 16 + struct.pack(">9i", *matrix) + struct.pack(">II", width << 16, height << 16)
    return _box(b"tkhd", bytes([version, 0, 0, 3]) + times + tail)


def _mp4(*tracks: bytes, moov_last: bool = False) -> bytes:
    moov = _box(b"moov", _box(b"mvhd", b"\0" * 100) + b"".join(_box(b"trak", t) for t in tracks))
    media = _box(b"mdat", b"\0" * 64)
    return _box(b"ftyp", b"isom\0\0\0\0") + (media + moov if moov_last else moov + media)


UPRIGHT = (0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
QUARTER = (0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_dimensions_of_images_come_from_their_headers(fmt: str) -> None:
    from PIL import Image

    for options in ({}, {"progressive": True} if fmt == "JPEG" else {"lossless": True} if fmt == "WEBP" else {}):
        out = io.BytesIO()
        Image.new("RGB", (123, 45)).save(out, fmt, **options)
        assert dimensions(out.getvalue()) == (123, 45), (fmt, options)


def test_dimensions_of_a_video_are_its_video_track_s_as_shown() -> None:
    audio = _tkhd(0, 0, UPRIGHT)  # an audio track has no size: the video's is read
    assert dimensions(_mp4(audio, _tkhd(540, 960, UPRIGHT))) == (540, 960)
    assert dimensions(_mp4(_tkhd(1920, 1080, UPRIGHT, version=1), moov_last=True)) == (1920, 1080)
    assert dimensions(_mp4(_tkhd(1920, 1080, QUARTER))) == (1080, 1920), "a phone video turned upright"


def test_dimensions_of_a_real_encoded_video() -> None:
    pytest.importorskip("av")
    from PIL import Image

    from puras_nb.local.mediagen import make_video

    assert dimensions(make_video([Image.new("RGB", (90, 160))] * 2, 10)) == (90, 160)


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage", b"\x89PNG\r\n\x1a\n", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\0\0\0\0\1", b"\xff\xd8\xff",
     b"RIFF\x24\x00\x00\x00WAVEfmt ", b"\0\0\0\x08ftyp\0\0\0\x01moov", b"\0\0\0\x10moov\0\0\0\x04tkhd"],
)
def test_dimensions_of_anything_else_or_a_broken_header_are_unknown(data: bytes) -> None:
    assert dimensions(data) is None
