"""Stills of media a saved page cannot play: a video's poster or first frame, an audio's waveform (model/stills.py),
where a result names a video's poster (model/media.py), and the one plain line that names each media item.

Real media: the emulator's own generators make the WAV, the PNG poster and the H.264 MP4; Pillow (a test extra)
reads back what the stills are.
"""

from __future__ import annotations

import io
import math
import struct
import sys
import wave
from typing import Any

import pytest
from PIL import Image

from puras_nb.api.media import Media
from puras_nb.local.mediagen import encode_png, make_image, make_speech, make_video
from puras_nb.model import stills
from puras_nb.model.media import describe, find_media, posters
from puras_nb.model.stills import STILL_BOX, STILL_MAX_BYTES, png, still, video_still, waveform


@pytest.fixture(scope="module")
def poster() -> bytes:
    return encode_png(make_image("a lighthouse at dawn", 540, 960))


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    frames = (make_image(f"frame {i}", 320, 180) for i in range(3))
    return make_video(frames, 12, tmp_dir=tmp_path_factory.mktemp("video"))


@pytest.fixture
def no_av(monkeypatch: pytest.MonkeyPatch) -> None:
    """PyAV not installed, as for the client alone (`import av` raises ImportError)."""
    monkeypatch.setitem(sys.modules, "av", None)


def _wav(samples: list[int], *, width: int = 2, channels: int = 1, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        frames = bytearray()
        for s in samples:
            value = (s >> 8) + 128 if width == 1 else s << (8 * (width - 2))
            one = struct.pack("<B", value) if width == 1 else value.to_bytes(width, "little", signed=True)
            frames += one * channels
        wav.writeframes(bytes(frames))
    return out.getvalue()


def _image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def _column_heights(data: bytes) -> list[int]:
    """How many opaque pixels each column of a waveform PNG has."""
    img = _image(data).convert("RGBA")
    alpha = img.getchannel("A")
    return [sum(1 for y in range(img.height) if alpha.getpixel((x, y))) for x in range(img.width)]


def test_the_png_writer_makes_a_palette_image_with_a_transparent_index() -> None:
    rows = bytes([0, 1, 1, 0, 1, 0])
    img = _image(png(3, 2, rows, [(0, 0, 0), (10, 20, 30)], transparent=0)).convert("RGBA")
    assert img.size == (3, 2)
    assert img.getpixel((1, 0)) == (10, 20, 30, 255) and img.getpixel((0, 0))[3] == 0


def test_a_speech_wav_gets_a_small_waveform_png_with_quiet_and_loud_bars() -> None:
    wav, _ = make_speech("Welcome to the demo. Every sound here is made offline.", 4.0)
    made = waveform(wav)
    assert made is not None and made.mime == "image/png" and made.what == "waveform"
    assert (made.width, made.height) == stills.WAVE_SIZE and len(made.data) < 4_000, "about a kilobyte"
    img = _image(made.data)
    assert img.size == (stills.WAVE_SIZE[0] * 2, stills.WAVE_SIZE[1] * 2), "drawn at twice its size: sharp on HiDPI"
    heights = [h for h in _column_heights(made.data) if h]
    assert max(heights) >= img.height - 4 and min(heights) <= 4, "the loudest bar is full height, pauses a line"


@pytest.mark.parametrize(("width", "channels"), [(1, 1), (2, 2), (3, 1), (4, 2)])
def test_every_pcm_width_and_channel_count_is_read(width: int, channels: int, no_av: None) -> None:
    """8-bit (unsigned), 16, 24 and 32-bit WAVs, mono and stereo: a tone that swells draws rising bars."""
    samples = [int(30_000 * (i / 8000) * math.sin(i / 5)) for i in range(8000)]
    made = waveform(_wav(samples, width=width, channels=channels))
    assert made is not None
    heights = _column_heights(made.data)
    quarter = len(heights) // 4
    assert sum(heights[:quarter]) < sum(heights[-quarter:]), "louder at the end than at the start"


def test_silence_is_a_thin_line_and_what_cannot_be_read_is_no_waveform(no_av: None) -> None:
    flat = waveform(_wav([0] * 4000))
    assert flat is not None and max(_column_heights(flat.data)) <= 2
    assert waveform(b"RIFF0000WAVEfmt ") is None
    assert waveform(b"ID3\x03" + b"\0" * 100, "audio/mpeg") is None, "an MP3 needs PyAV to be decoded"


def test_with_pyav_other_audio_formats_get_a_waveform_too(video: bytes) -> None:
    """An AAC track in an MP4 (what PyAV decodes and `wave` cannot)."""
    pytest.importorskip("av")
    wav, _ = make_speech("A voice in a box.", 1.5)
    with wave.open(io.BytesIO(wav)) as w:
        pcm = w.readframes(w.getnframes())
    frames = (make_image(f"frame {i}", 64, 64) for i in range(18))
    mp4 = make_video(frames, 12, audio_pcm=pcm)
    made = waveform(mp4, "audio/mp4")
    assert made is not None and max(_column_heights(made.data)) > 20


def test_with_pyav_a_poster_becomes_a_small_jpeg_and_without_it_the_first_frame(poster: bytes, video: bytes) -> None:
    pytest.importorskip("av")
    made = video_still(video, poster)
    assert made is not None and made.what == "poster" and made.mime == "image/jpeg"
    assert (made.width, made.height) == (270, 480) and _image(made.data).size == (270, 480)
    assert len(made.data) < len(poster) / 4, f"{len(made.data)} bytes against the PNG's {len(poster)}"
    first = video_still(video, None)
    assert first is not None and first.what == "first frame" and _image(first.data).size == (320, 180)
    assert max(first.width or 0, first.height or 0) <= STILL_BOX


def test_without_pyav_the_poster_is_kept_as_it_is_within_the_cap(poster: bytes, video: bytes, no_av: None) -> None:
    made = video_still(video, poster)
    assert made is not None and made.data == poster and made.mime == "image/png" and made.width is None
    big = poster + b"\0" * (STILL_MAX_BYTES - len(poster) + 1)
    assert video_still(video, big) is None, "past the cap: a link line rather than a heavy notebook"
    assert video_still(video, None) is None, "no poster and no decoder: no still"


def test_bytes_that_are_not_what_they_claim_make_no_still(video: bytes) -> None:
    assert video_still(b"<html>not a video</html>", b"<svg/>") is None
    assert video_still(b"\0\0\0\x18ftypmp42" + b"\0" * 200, None) is None, "a broken MP4 fails quietly"


def test_a_still_is_made_once_per_media_item(poster: bytes, video: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    media = Media(url="https://cdn.example/v.mp4", kind="video", mime="video/mp4", poster="https://cdn.example/p.png")
    data: dict[str, Any] = {media.url: video, media.poster: poster}
    first = still(media, data)
    calls: list[Any] = []
    monkeypatch.setattr(stills, "video_still", lambda *a: calls.append(a))
    assert still(media, data) is first and not calls, "remembered: views are redrawn often"
    image = Media(url="https://cdn.example/p.png", kind="image", mime="image/png")
    assert still(image, data) is None


def test_a_poster_is_found_on_the_video_or_beside_it() -> None:
    own = find_media({"clip": {"url": "https://c/v.mp4", "mime": "video/mp4", "thumbnail_url": "https://c/t.jpg"}})
    assert [(m.kind, m.poster) for m in own] == [("video", "https://c/t.jpg")], "a video's own thumbnail stays on it"
    as_dict = find_media({"url": "https://c/v.mp4", "poster": {"url": "https://c/s?sig=1", "mime": "image/jpeg"}})
    assert as_dict[0].poster == "https://c/s?sig=1"
    beside = find_media({"video": "https://c/v.mp4", "thumbnail": "https://c/t.png", "n": 1})
    assert [(m.path, m.poster) for m in beside] == [("video", "https://c/t.png"), ("thumbnail", None)]
    declared = find_media({"video": "jobs/1/v.mp4", "poster": "https://c/p.png"},
                          [{"drive_path": "jobs/1/v.mp4", "url": "https://c/f/v.mp4"}], {"video": "video"})
    assert declared[0].poster == "https://c/p.png", "a field declared video takes its sibling's poster too"
    nested = find_media({"shots": [{"video": "https://c/a.mp4", "poster": "https://c/a.png"}]})
    assert nested[0].poster == "https://c/a.png" and nested[0].path == "shots[0].video"
    unsafe = find_media({"url": "https://c/v.mp4", "poster": "javascript:alert(1)"})
    assert unsafe[0].poster is None
    not_an_image = find_media({"url": "https://c/v.mp4", "poster": "https://c/a.wav"})
    assert not_an_image[0].poster is None


def test_a_poster_listed_in_outputs_is_not_shown_again_and_is_fetched_with_the_previews() -> None:
    result = {"video": {"url": "https://c/v.mp4?sig=1", "mime": "video/mp4", "poster": "https://c/p.png?sig=2"}}
    outputs = [{"url": "https://c/p.png?sig=3", "mime": "image/png", "name": "p.png"},
               {"url": "https://c/extra.wav", "mime": "audio/wav"}]
    media = find_media(result, outputs)
    assert [m.path for m in media] == ["video", "outputs[1]"]
    [fetch] = posters(media)
    assert (fetch.url, fetch.kind, fetch.mime, fetch.name, fetch.path) == (
        "https://c/p.png?sig=2", "image", "image/png", "p.png", "video.poster")
    shown = find_media({"video": result["video"], "thumbnail": "https://c/p.png?sig=4"})
    assert [m.path for m in shown] == ["video", "thumbnail"] and posters(shown) == [], "named in the result: shown"


def test_one_plain_line_names_each_media_item() -> None:
    media = find_media({
        "video": {"url": "https://c/files/ad%20v2.mp4?sig=1", "mime": "video/mp4"},
        "voice": {"url": "https://c/x?sig=2", "mime": "audio/wav", "name": "vo\x1b[31m.wav"},
        "clip": "data:audio/wav;base64,UklGRg==",
    })
    assert [describe(m) for m in media] == [
        "video: ad v2.mp4 (video/mp4)",
        "voice: vo.wav (audio/wav)",  # no terminal escape from a result's name
        "clip: audio (audio/wav, embedded)",
    ]


def test_a_poster_at_an_internal_address_is_never_fetched() -> None:
    """A result cannot make the kernel read an internal address by naming it as a video's poster: the poster goes
    through the media rules of every preview (public hosts, or the API's own file routes)."""
    import http.server
    import threading

    from puras_nb.api.media import fetch

    hits: list[str] = []

    class Count(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.end_headers()
            self.wfile.write(encode_png(make_image("secret", 8, 8)))

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Count)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        inside = f"http://127.0.0.1:{server.server_port}/poster.png"
        [poster] = posters(find_media({"video": {"url": "https://cdn.example/v.mp4", "mime": "video/mp4",
                                                 "poster": inside}}))
        assert poster.url == inside
        assert fetch(poster, 1_000_000, api_base="https://api.example") is None and hits == []
    finally:
        server.shutdown()
        server.server_close()


def test_warm_makes_the_stills_in_a_worker_and_skips_images(
    poster: bytes, video: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A view drawn after `warm` finds its stills made; a result of images only makes no thread hop at all."""
    import asyncio
    import threading

    media = Media(url="https://cdn.example/w.mp4", kind="video", mime="video/mp4", poster="https://cdn.example/w.png")
    made_in: list[str] = []
    real = stills.video_still
    def spy(*args: Any) -> Any:
        made_in.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(stills, "video_still", spy)
    asyncio.run(stills.warm([media], {media.url: video, media.poster: poster}))
    assert len(made_in) == 1 and made_in[0] != threading.main_thread().name, "made off the calling thread"
    assert still(media, {media.url: video, media.poster: poster}) is not None and len(made_in) == 1, "and remembered"
    hops: list[Any] = []
    monkeypatch.setattr(asyncio, "to_thread", lambda *a: hops.append(a))
    image = Media(url="https://cdn.example/i.png", kind="image", mime="image/png")
    asyncio.run(stills.warm([image], {image.url: poster}))
    assert hops == []
