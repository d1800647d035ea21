"""Still images of media that a page cannot play: a video's poster or first frame, an audio's waveform.

Saved notebooks are read where no `<video>` or `<audio>` plays (GitHub's viewer sets `media-src 'none'`, nbviewer,
VS Code's untrusted mode), while an image always shows. The kernel makes the stills from the bytes it already
fetched for the previews, with what is installed (PyAV and Pillow are the emulator's extras, not the client's):

- a video: the poster the result carries, as it is (at most `STILL_MAX_BYTES`); with PyAV installed, that poster,
  or else the video's first frame, as a JPEG within `STILL_BOX` pixels (a 540x960 PNG poster of 180 KB becomes
  about 12 KB), so a saved notebook stays small;
- an audio: a waveform drawn from the WAV samples with the standard library (`wave`, and the PNG writer below on
  `zlib`): about 1 KB, a PNG because every renderer and sanitizer passes `data:image/png` (the way Jupyter shows
  images itself), where an SVG data URL is refused by many (and by our own `safe_url` rule for results); other
  formats (MP3, Ogg, AAC) only when PyAV is installed to decode them.

Where nothing can be made, `still` is None and the view shows a link line. Results are untrusted: bytes only
reach a decoder when they sniff as the kind the result claims, and any failure to decode means no still.
"""

from __future__ import annotations

import asyncio
import io
import struct
import sys
import threading
import wave
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..api.media import Media
from ..mime import media_kind, sniff_mime

__all__ = ["STILL_BOX", "STILL_MAX_BYTES", "WAVE_COLOR", "Still", "png", "still", "video_still", "warm", "waveform"]

#: The largest side, in pixels, of a still PyAV makes (shown at that size, or narrower in a narrow output).
STILL_BOX = 480
#: A poster embedded as it is (no PyAV to shrink it) up to this size; a larger one is left out for a link.
STILL_MAX_BYTES = 512_000
#: The waveform's size in CSS pixels (drawn at twice that, for sharp lines on high-density screens): as wide as
#: the audio player of the live view.
WAVE_SIZE = (260, 40)
#: The waveform's colour: at least 3:1 (WCAG's contrast for graphics) against white and against dark pages
#: (#0d1117, GitHub's dark theme; JupyterLab's dark #111111).
WAVE_COLOR = (59, 130, 246)
# Samples looked at for one waveform, at most: a long WAV is read with a stride (a picture 130 bars wide).
_MAX_SAMPLES = 500_000
_BARS = 130


@dataclass(frozen=True)
class Still:
    """An image standing in for a video or an audio: its bytes and type, what it is (`poster`, `first frame`,
    `waveform`), and its size in CSS pixels when known."""

    data: bytes
    mime: str
    what: str
    width: int | None = None
    height: int | None = None


def png(width: int, height: int, rows: bytes, palette: Iterable[tuple[int, int, int]], transparent: int = -1) -> bytes:
    """A PNG of 8-bit palette indices (`rows`: `height` rows of `width` bytes); palette index `transparent`, if
    given, is see-through."""
    colors = list(palette)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = b"".join(b"\0" + rows[y * width : (y + 1) * width] for y in range(height))
    head = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0))
    head += chunk(b"PLTE", bytes(c for rgb in colors for c in rgb))
    if 0 <= transparent < len(colors):
        head += chunk(b"tRNS", bytes(0 if i == transparent else 255 for i in range(transparent + 1)))
    return b"\x89PNG\r\n\x1a\n" + head + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _wav_samples(data: bytes) -> array | None:
    """The first channel of a PCM WAV as signed samples scaled to 16 bits, read with a stride past
    `_MAX_SAMPLES`; None for what `wave` cannot read (float or compressed WAV, a broken header)."""
    try:
        with wave.open(io.BytesIO(data)) as wav:
            width, channels, frames = wav.getsampwidth(), wav.getnchannels(), wav.getnframes()
            raw = wav.readframes(frames)
    except (wave.Error, EOFError, struct.error, ValueError):
        return None
    if width == 1:  # unsigned 8-bit
        samples = array("h", ((b - 128) << 8 for b in raw[:: channels * max(1, frames // _MAX_SAMPLES)]))
        return samples
    if width not in (2, 3, 4):
        return None
    # the top two bytes of each little-endian sample, as a 16-bit one
    step = width * channels * max(1, frames // _MAX_SAMPLES)
    high = bytearray(len(raw) // step * 2)
    high[0::2] = raw[width - 2 :: step][: len(high) // 2]
    high[1::2] = raw[width - 1 :: step][: len(high) // 2]
    samples = array("h", bytes(high))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def _av_samples(data: bytes) -> array | None:
    """The audio of any format PyAV decodes, mixed to mono 16-bit at 8 kHz; None without PyAV or audio."""
    try:
        import av
    except ImportError:
        return None
    samples = array("h")
    try:
        with av.open(io.BytesIO(data)) as container:
            resampler = av.AudioResampler(format="s16", layout="mono", rate=8000)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    samples.frombytes(bytes(out.planes[0])[: out.samples * 2])
                if len(samples) >= _MAX_SAMPLES:
                    break
    except Exception:  # untrusted bytes into a C decoder: whatever it raises, there is no waveform
        return None
    if sys.byteorder == "big":
        samples.byteswap()
    return samples or None


def waveform(data: bytes, mime: str = "audio/wav") -> Still | None:
    """A waveform PNG of an audio (`WAVE_SIZE`, bars of the peak level, the loudest at full height); None when its
    samples cannot be read (not a PCM WAV, and no PyAV to decode it)."""
    samples = _wav_samples(data) if "wav" in mime else None
    if samples is None:
        samples = _av_samples(data)
    if not samples:
        return None
    width, height = WAVE_SIZE[0] * 2, WAVE_SIZE[1] * 2
    pitch = width // _BARS
    per_bar = len(samples) / _BARS
    peaks = []
    for i in range(_BARS):
        part = samples[int(i * per_bar) : max(int((i + 1) * per_bar), int(i * per_bar) + 1)]
        peaks.append(max(max(part), -min(part)) if part else 0)
    loudest = max(peaks) or 1
    rows = bytearray(width * height)
    middle = height / 2
    for i, peak in enumerate(peaks):
        half = max(1.0, peak / loudest * (middle - 1))  # silence is a thin line, not nothing
        for y in range(int(middle - half), int(middle + half + 0.5)):
            start = y * width + i * pitch
            rows[start : start + pitch - 1] = b"\1" * (pitch - 1)
    image = png(width, height, bytes(rows), [(0, 0, 0), WAVE_COLOR], transparent=0)
    return Still(image, "image/png", "waveform", *WAVE_SIZE)


def _av_jpeg(data: bytes, box: int = STILL_BOX) -> Still | None:
    """The first frame of a video (or an image's only one) as a JPEG within `box` pixels, made with PyAV; None
    without PyAV or when the bytes do not decode."""
    try:
        import av
    except ImportError:
        return None
    try:
        with av.open(io.BytesIO(data)) as container:
            frame = next(container.decode(video=0))
        scale = min(1.0, box / max(frame.width, frame.height))
        width, height = max(2, round(frame.width * scale) // 2 * 2), max(2, round(frame.height * scale) // 2 * 2)
        codec: Any = av.CodecContext.create("mjpeg", "w")
        codec.width, codec.height, codec.pix_fmt = width, height, "yuvj420p"
        codec.time_base = Fraction(1, 25)
        codec.qmin, codec.qmax = 2, 5  # a sharp still: 10-40 KB at 480 px
        small = frame.reformat(width=width, height=height, format="yuvj420p")
        jpeg = b"".join(bytes(packet) for packet in [*codec.encode(small), *codec.encode(None)])
    except Exception:  # untrusted bytes into a C decoder: whatever it raises, there is no still
        return None
    return Still(jpeg, "image/jpeg", "", width, height) if jpeg.startswith(b"\xff\xd8") else None


def video_still(video: bytes | None, poster: bytes | None) -> Still | None:
    """A video's still: its poster (made small with PyAV when installed, else as it is up to `STILL_MAX_BYTES`),
    else its first frame (with PyAV); None when there is neither."""
    poster_mime = (sniff_mime(poster) or "") if poster is not None else ""
    if poster is not None and media_kind(poster_mime) == "image":
        small = _av_jpeg(poster)
        if small is not None:
            return Still(small.data, small.mime, "poster", small.width, small.height)
        if len(poster) <= STILL_MAX_BYTES:
            return Still(poster, poster_mime, "poster")
    if video is not None and media_kind(sniff_mime(video)) in ("video", "audio"):  # an MP4/WebM sniffs as either
        frame = _av_jpeg(video)
        if frame is not None:
            return Still(frame.data, frame.mime, "first frame", frame.width, frame.height)
    return None


_CACHE: OrderedDict[tuple, Still | None] = OrderedDict()
_CACHE_SIZE = 256
_LOCK = threading.Lock()


def _print(data: bytes | None) -> tuple:
    """A cheap fingerprint of bytes (views are redrawn often; the bytes of one URL do not change)."""
    return (None,) if data is None else (len(data), data[:64], data[-64:])


def still(media: Media, data: Mapping[str, bytes | None]) -> Still | None:
    """The still of a video or an audio from the preview bytes in `data` (`{url: bytes}`, a video's poster under
    its own URL); None for an image, or where none can be made. Made once per media item and remembered."""
    if media.kind not in ("video", "audio"):
        return None
    own, poster = data.get(media.url), data.get(media.poster) if media.poster else None
    key = (media.kind, hash(media.url), _print(own), _print(poster))
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    if media.kind == "video":
        made = video_still(own, poster)
    else:
        made = waveform(own, sniff_mime(own) or media.mime) if own is not None else None
    with _LOCK:
        _CACHE[key] = made
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return made


async def warm(media: Iterable[Media], data: Mapping[str, bytes | None]) -> None:
    """Make the stills of `media` now, in a worker thread (decoders are slow and hold no lock the loop needs), so
    that drawing a view never waits on a decoder; no hop at all when no item is a video or an audio."""
    wanted = [m for m in media if m.kind in ("video", "audio")]
    if wanted:
        await asyncio.to_thread(_make, wanted, dict(data))


def _make(media: list[Media], data: Mapping[str, bytes | None]) -> None:
    for item in media:
        still(item, data)
