"""Offline media for the demo skills: PNG images (Pillow), WAV speech (stdlib `wave`), H.264 MP4 (PyAV).

Everything is derived from a hash of the inputs, so the same inputs always give the same pictures and
sounds; two styles ("v1" flat, "v2" aurora) make version differences visible.
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import io
import math
import random
import re
import tempfile
import textwrap
import warnings
import wave
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

if TYPE_CHECKING:
    from av.audio.stream import AudioStream
    from av.container import OutputContainer

__all__ = [
    "MAX_PHOTO_PIXELS",
    "SAMPLE_RATE",
    "Palette",
    "encode_png",
    "hex_rgb",
    "load_photo",
    "make_image",
    "make_speech",
    "make_video",
    "palette_for",
    "speech_seconds",
    "with_photo",
]

SAMPLE_RATE = 22050
_FONT_CACHE: dict[int, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled scalable font at `size` px (cached)."""
    if size not in _FONT_CACHE:
        try:
            _FONT_CACHE[size] = ImageFont.load_default(size=size)
        except (TypeError, ImportError, OSError):  # Pillow < 10.1 or without FreeType: the small bitmap font
            _FONT_CACHE[size] = ImageFont.load_default()
    return _FONT_CACHE[size]


@dataclass(frozen=True)
class Palette:
    """Background pair, accents and text colour, all RGB tuples."""

    top: tuple[int, int, int]
    bottom: tuple[int, int, int]
    accents: tuple[tuple[int, int, int], ...]
    ink: tuple[int, int, int]


def _hls(h: float, lum: float, s: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hls_to_rgb(h % 1.0, lum, s)
    return int(r * 255), int(g * 255), int(b * 255)


def palette_for(text: str, style: str, tone: str = "friendly") -> Palette:
    """A harmonious palette seeded by `text`: v1 light pastel, v2 dark neon; another `tone` sets the mood instead
    ("luxury": navy and gold, "energetic": saturated magenta to orange)."""
    rng = _rng("palette", style, text)
    hue = rng.random()
    if tone == "luxury":
        return Palette(
            top=_hls(0.62 + 0.04 * hue, 0.08, 0.45),
            bottom=_hls(0.66, 0.18, 0.40),
            accents=tuple(_hls(0.11 + 0.015 * k, 0.50 + 0.06 * (k % 3), 0.80) for k in range(5)),
            ink=(250, 234, 196),
        )
    if tone == "energetic":
        hue = 0.92 + 0.16 * hue  # magenta through red to orange
        return Palette(
            top=_hls(hue, 0.52, 0.95),
            bottom=_hls(hue + 0.07, 0.40, 0.95),
            accents=tuple(_hls(hue + 0.45 + 0.08 * k, 0.58, 1.0) for k in range(5)),
            ink=(255, 255, 255),
        )
    if style == "v2":
        return Palette(
            top=_hls(hue + 0.55, 0.12, 0.55),
            bottom=_hls(hue + 0.70, 0.22, 0.60),
            accents=tuple(_hls(hue + k * 0.13, 0.60, 0.95) for k in range(5)),
            ink=(245, 246, 255),
        )
    return Palette(
        top=_hls(hue, 0.90, 0.65),
        bottom=_hls(hue + 0.08, 0.74, 0.60),
        accents=tuple(_hls(hue + 0.5 + k * 0.09, 0.55, 0.70) for k in range(5)),
        ink=_hls(hue + 0.5, 0.18, 0.40),
    )


def hex_rgb(color: str) -> tuple[int, int, int]:
    """`#1a2b3c`, `1a2b3c`, `#abc` or `abc` (the dialect's `color`) as an RGB tuple."""
    digits = color.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _readable_ink(color: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on `color` (by its relative luminance)."""
    luminance = 0.2126 * color[0] + 0.7152 * color[1] + 0.0722 * color[2]
    return (20, 20, 20) if luminance > 150 else (255, 255, 255)


MAX_PHOTO_PIXELS = 40_000_000
"""Largest photo a skill decodes (width x height); larger is refused before it is decoded."""
_PHOTO_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")


def load_photo(data: bytes, max_side: int = 1024) -> Image.Image:
    """A photo's bytes as an RGB image at most `max_side` pixels wide and high; ValueError that says why when the
    bytes are not a PNG, JPEG, GIF or WebP, or hold more than `MAX_PHOTO_PIXELS` pixels."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            opened = Image.open(io.BytesIO(data))
            if opened.format not in _PHOTO_FORMATS:
                raise ValueError(f"it is a {opened.format} image; use PNG, JPEG, GIF or WebP")
            if opened.width * opened.height > MAX_PHOTO_PIXELS:
                size = f"{opened.width}x{opened.height}"
                raise ValueError(f"it has {size} pixels (limit {MAX_PHOTO_PIXELS // 10**6} million)")
            opened.draft("RGB", (max_side, max_side))
            img = ImageOps.exif_transpose(opened).convert("RGB")
        except (OSError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ValueError(f"it is not an image Pillow can read ({type(exc).__name__})") from None
    img.thumbnail((max_side, max_side))
    return img


def with_photo(background: Image.Image, photo: Image.Image, style: str) -> Image.Image:
    """`background` with `photo` on a white card in the space above the ad's caption (centred), shadowed."""
    width, height = background.size
    top, bottom = (0.10, 0.54) if style == "v2" else (0.12, 0.58)
    box_w, box_h = width * (0.8 if style == "v2" else 0.5), height * (bottom - top)
    border = max(2, round(min(width, height) * 0.012))
    scale = min((box_w - 2 * border) / photo.width, (box_h - 2 * border) / photo.height)
    size = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
    card = Image.new("RGB", (size[0] + 2 * border, size[1] + 2 * border), (255, 255, 255))
    card.paste(photo.resize(size, Image.Resampling.LANCZOS), (border, border))
    x, y = round((width - card.width) / 2), round(height * top + (box_h - card.height) / 2)
    shadow = Image.new("RGBA", background.size, (0, 0, 0, 0))
    shade = (x + border, y + border * 2, x + card.width + border, y + card.height + border * 2)
    ImageDraw.Draw(shadow).rectangle(shade, fill=(0, 0, 0, 90))
    out = Image.alpha_composite(background.convert("RGBA"), shadow.filter(ImageFilter.GaussianBlur(border * 2)))
    out = out.convert("RGB")
    out.paste(card, (x, y))
    return out


def _gradient(
    size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int], diagonal: bool
) -> Image.Image:
    ramp = Image.linear_gradient("L")
    if diagonal:
        ramp = ramp.rotate(45, resample=Image.Resampling.BILINEAR, expand=True).crop((91, 91, 271, 271))
    return ImageOps.colorize(ramp.resize(size, Image.Resampling.BILINEAR), top, bottom).convert("RGB")


def _wrap(text: str, fnt: ImageFont.FreeTypeFont | ImageFont.ImageFont, max_width: int, max_lines: int) -> list[str]:
    avg = max(1.0, fnt.getlength("abcdefghijklmnopqrstuvwxyz") / 26)
    lines = textwrap.wrap(text, width=max(4, int(max_width / avg))) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(" .,") + "…"
    return lines


def draw_text_block(
    img: Image.Image,
    text: str,
    *,
    center: tuple[float, float],
    size: int,
    fill: tuple[int, int, int],
    max_width: int,
    max_lines: int = 3,
    shadow: bool = True,
) -> None:
    """Centered, wrapped text with a soft drop shadow."""
    fnt = font(size)
    lines = _wrap(text, fnt, max_width, max_lines)
    line_h = int(size * 1.25)
    y = center[1] - line_h * len(lines) / 2
    draw = ImageDraw.Draw(img)
    for line in lines:
        width = fnt.getlength(line)
        x = center[0] - width / 2
        if shadow:
            draw.text((x + 2, y + 2), line, font=fnt, fill=(0, 0, 0))
        draw.text((x, y), line, font=fnt, fill=fill)
        y += line_h


def make_image(
    prompt: str,
    width: int,
    height: int,
    style: str = "v2",
    *,
    variant: int = 0,
    caption: bool = True,
    tone: str = "friendly",
) -> Image.Image:
    """An illustration of `prompt`: gradient sky, seeded shapes, the prompt as a caption (colours by `tone`)."""
    pal = palette_for(f"{prompt}#{variant}", style, tone)
    rng = _rng("image", style, prompt, variant, width, height)
    scale = min(width, height)
    img = _gradient((width, height), pal.top, pal.bottom, diagonal=style == "v2")
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    if style == "v2":
        for _ in range(7):
            r = rng.uniform(0.12, 0.35) * scale
            cx, cy = rng.uniform(0, width), rng.uniform(0, height * 0.8)
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*rng.choice(pal.accents), 150))
        layer = layer.filter(ImageFilter.GaussianBlur(scale / 14))
        rings = ImageDraw.Draw(layer)
        cx, cy = width * rng.uniform(0.3, 0.7), height * rng.uniform(0.3, 0.5)
        for k in range(1, 6):
            r = k * scale * 0.07
            rings.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(*pal.ink, 90), width=max(1, scale // 170))
    else:
        _landscape(draw, rng, pal, width, height)
    img = Image.alpha_composite(img.convert("RGBA"), layer)
    if not caption:
        return img.convert("RGB")
    band = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(band).rectangle((0, height * 0.8, width, height), fill=(0, 0, 0, 110 if style == "v2" else 70))
    img = Image.alpha_composite(img, band).convert("RGB")
    draw_text_block(
        img,
        prompt,
        center=(width / 2, height * 0.9),
        size=max(10, scale // 22),
        fill=(255, 255, 255),
        max_width=int(width * 0.9),
        max_lines=2,
    )
    return img


def _landscape(draw: ImageDraw.ImageDraw, rng: random.Random, pal: Palette, width: int, height: int) -> None:
    """The v1 scene: a glowing sun, soft clouds, three rolling hill layers and a row of trees in front."""
    scale = min(width, height)
    sun_r = scale * 0.09
    sx, sy = width * rng.uniform(0.55, 0.85), height * rng.uniform(0.14, 0.3)
    for k, alpha in ((2.2, 40), (1.6, 70), (1.0, 240)):
        r = sun_r * k
        draw.ellipse((sx - r, sy - r, sx + r, sy + r), fill=(255, 240, 190, alpha))
    for _ in range(rng.randint(2, 4)):
        cx, cy, size = rng.uniform(0, width), height * rng.uniform(0.08, 0.4), scale * rng.uniform(0.05, 0.09)
        for dx, dy, k in ((-1.1, 0.25, 0.8), (0, 0, 1.0), (1.1, 0.2, 0.85), (0.5, 0.35, 0.9)):
            r = size * k
            x, y = cx + dx * size, cy + dy * size
            draw.ellipse((x - r * 1.3, y - r, x + r * 1.3, y + r), fill=(255, 255, 255, 190))
    layers = ((0.56, 0.06, 0.75), (0.66, 0.05, 0.55), (0.76, 0.04, 0.35))
    front: list[tuple[float, float]] = []
    for idx, (base, amp, light) in enumerate(layers):
        hue, _, sat = colorsys.rgb_to_hls(*(c / 255 for c in pal.accents[idx % len(pal.accents)]))
        color = _hls(hue, light * 0.9, min(1.0, sat * 0.8))
        phase, freq = rng.uniform(0, 6.28), rng.uniform(2.0, 3.5)
        points = [
            (
                width * i / 64,
                height * (base + amp * (math.sin(i / 64 * freq * math.pi + phase) + 0.4 * math.sin(i / 9))),
            )
            for i in range(65)
        ]
        draw.polygon([(0, height), *points, (width, height)], fill=(*color, 255))
        front = points
    trunk = _hls(0.07, 0.25, 0.4)
    leaves = _hls(colorsys.rgb_to_hls(*(c / 255 for c in pal.accents[0]))[0] + 0.3, 0.3, 0.45)
    for _ in range(rng.randint(3, 7)):
        x, ground = rng.choice(front[4:-4])
        h = scale * rng.uniform(0.08, 0.14)
        draw.rectangle((x - h * 0.05, ground - h * 0.4, x + h * 0.05, ground + 2), fill=(*trunk, 255))
        draw.polygon(
            [(x - h * 0.3, ground - h * 0.3), (x, ground - h * 1.1), (x + h * 0.3, ground - h * 0.3)],
            fill=(*leaves, 255),
        )


def encode_png(img: Image.Image) -> bytes:
    """PNG bytes of an image (deterministic for the same pixels)."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def animate(base: Image.Image, index: int, count: int, seed: str, style: str) -> Image.Image:
    """Frame `index` of `count` over a still: a slow zoom-and-pan plus drifting sparkles."""
    width, height = base.size
    t = index / max(1, count - 1)
    zoom = 1.0 + 0.12 * t
    cw, ch = width / zoom, height / zoom
    x0 = (width - cw) * (0.5 + 0.3 * math.sin(t * math.pi - math.pi / 2))
    y0 = (height - ch) * 0.5
    frame = base.resize((width, height), Image.Resampling.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))
    draw = ImageDraw.Draw(frame)
    rng = _rng("sparkles", seed, style)
    scale = min(width, height)
    for k in range(10):
        speed, phase = rng.uniform(0.4, 1.2), rng.uniform(0, 2 * math.pi)
        angle = phase + 2 * math.pi * speed * t
        cx = width * (0.5 + 0.38 * math.cos(angle) * rng.uniform(0.5, 1.0))
        cy = height * (0.45 + 0.3 * math.sin(angle * 1.3) * rng.uniform(0.5, 1.0))
        r = scale * (0.008 + 0.006 * (1 + math.sin(angle * 3 + k)))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 255, 255))
    return frame


def ad_frame(
    background: Image.Image,
    line: str,
    *,
    scene: int,
    scenes: int,
    t: float,
    progress: float,
    style: str,
    product: str,
    tone: str = "friendly",
    accent: tuple[int, int, int] | None = None,
) -> Image.Image:
    """One frame of the UGC ad: the scene's background, its line fading in, a progress bar, the product tag;
    `accent` (a brand colour) paints the bar and the tag instead of the palette's."""
    width, height = background.size
    zoom = 1.0 + 0.06 * t
    cw, ch = width / zoom, height / zoom
    left, top = (width - cw) / 2, (height - ch) / 2
    frame = background.resize((width, height), Image.Resampling.BILINEAR, box=(left, top, left + cw, top + ch))
    alpha = int(255 * min(1.0, t * 4))
    overlay = _ad_overlay((width, height), line, scene, scenes, alpha, style, product, tone, accent)
    frame.paste(overlay, (0, 0), overlay)
    scale = min(width, height)
    pal = palette_for(product, style, tone)
    ImageDraw.Draw(frame).rectangle((0, height - scale * 0.02, width * progress, height), fill=accent or pal.accents[0])
    return frame


@functools.lru_cache(maxsize=4)
def _ad_overlay(
    size: tuple[int, int],
    line: str,
    scene: int,
    scenes: int,
    alpha: int,
    style: str,
    product: str,
    tone: str,
    accent: tuple[int, int, int] | None,
) -> Image.Image:
    """What an ad frame lays over its background: the caption card at `alpha`, its line once the card shows, the
    product tag. The same for most of a scene's frames (all but its fade-in), so it is drawn once for them."""
    width, height = size
    pal = palette_for(product, style, tone)
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    scale = min(width, height)
    light_box = style != "v2" and tone == "friendly"  # v1's white caption card; every other look is dark
    if style == "v2":
        box = (width * 0.06, height * 0.58, width * 0.94, height * 0.86)
        radius, text_size = scale * 0.05, max(12, scale // 15)
    else:
        box = (width * 0.08, height * 0.63, width * 0.92, height * 0.89)
        radius, text_size = scale * 0.04, max(12, scale // 14)
    card = (255, 255, 255, int(alpha * 0.88)) if light_box else (*pal.top, int(alpha * 0.8))
    draw.rounded_rectangle(box, radius=radius, fill=card)
    tag = f"{product[:28]} · {scene + 1}/{scenes}"
    tag_size = max(10, scale // 26)
    tag_font = font(tag_size)
    pad = scale * 0.015
    x, y = scale * 0.04, scale * 0.04
    draw.rounded_rectangle(
        (x - pad, y - pad, x + tag_font.getlength(tag) + pad, y + tag_size + pad * 1.5),
        radius=pad * 2,
        fill=(*accent, 220) if accent else (0, 0, 0, 120),
    )
    tag_ink = _readable_ink(accent) if accent else (255, 255, 255)
    draw.text((x, y), tag, font=tag_font, fill=(*tag_ink, 235))
    if alpha > 40:
        ink = (255, 255, 255) if style == "v2" and tone == "friendly" else pal.ink
        draw_text_block(
            overlay,
            line,
            center=((box[0] + box[2]) / 2, (box[1] + box[3]) / 2),
            size=text_size,
            fill=ink,
            max_width=int(width * 0.8),
            max_lines=4,
            shadow=not light_box,
        )
    return overlay


# ── speech ──────────────────────────────────────────────────────────────────
_FORMANTS = {"a": (800, 1200), "e": (500, 1900), "i": (320, 2300), "o": (500, 900), "u": (350, 800), "y": (400, 2000)}
_SYLLABLE = re.compile(r"[^aeiouy\W\d_]*[aeiouy]+", re.IGNORECASE)


def _syllables(text: str) -> list[tuple[str, str]]:
    """(vowel, pause-after) per syllable: pause is '' within a word, ' ' between words, '.' at sentence ends."""
    out: list[tuple[str, str]] = []
    for word in re.findall(r"[\w']+[.!?,;:]?", text):
        found = _SYLLABLE.findall(word) or [word[:1] or "a"]
        for k, syl in enumerate(found):
            vowel = next((c for c in syl.lower() if c in _FORMANTS), "a")
            last = k == len(found) - 1
            out.append((vowel, ("." if word[-1] in ".!?,;:" else " ") if last else ""))
    return out or [("a", ".")]


def speech_seconds(text: str) -> float:
    """The natural length of `text` when spoken by `make_speech` (about 4 syllables a second)."""
    total = 0.0
    for _, pause in _syllables(text):
        total += 0.19 + {"": 0.02, " ": 0.07, ".": 0.3}[pause]
    return round(total, 3)


def _cycle(f0: float, vowel: str, voice: str) -> list[float]:
    """One period of a voiced sound: harmonics of f0 shaped by the vowel's two formants."""
    n = max(8, int(SAMPLE_RATE / f0))
    f1, f2 = _FORMANTS[vowel]
    bright = 1.0 if voice == "v2" else 0.7
    weights = []
    for h in range(1, 16):
        freq = f0 * h
        w = 1.0 / h + 1.4 * math.exp(-(((freq - f1) / 180) ** 2)) + bright * math.exp(-(((freq - f2) / 260) ** 2))
        weights.append(w)
    norm = sum(weights)
    return [sum(w * math.sin(2 * math.pi * (h + 1) * i / n) for h, w in enumerate(weights)) / norm for i in range(n)]


def make_speech(
    text: str, seconds: float | None = None, voice: str = "v2", *, check: Callable[[], None] | None = None
) -> tuple[bytes, float]:
    """A mono 16-bit WAV 'reading' `text` (syllable-timed tones with vowel formants); returns (bytes, duration).

    With `seconds`, the reading is stretched or squeezed to exactly that length. `check` runs before each
    syllable (a skill passes `ctx.check_cancelled` so a long reading stops promptly).
    """
    natural = speech_seconds(text)
    duration = natural if seconds is None else float(seconds)
    total = max(1, round(duration * SAMPLE_RATE))
    pace = duration / natural if natural else 1.0
    base_f0 = 190.0 if voice == "v2" else 125.0
    samples = array("h", bytes(2 * total))
    pos = 0.0
    cycles: dict[tuple[int, str], list[float]] = {}
    syllables = _syllables(text)
    rng = _rng("speech", voice, text)
    for idx, (vowel, pause) in enumerate(syllables):
        if check is not None:
            check()
        decline = 1.0 - 0.18 * (idx % 7) / 7
        f0 = round(base_f0 * decline * rng.uniform(0.94, 1.08))
        cycle = cycles.setdefault((f0, vowel), _cycle(f0, vowel, voice))
        length = int(0.19 * pace * SAMPLE_RATE)
        start = int(pos)
        n = len(cycle)
        attack = max(1, length // 8)
        for i in range(min(length, total - start)):
            env = min(1.0, i / attack) * min(1.0, (length - i) / (length * 0.35))
            samples[start + i] = int(11000 * env * cycle[i % n])
        pos += (0.19 + {"": 0.02, " ": 0.07, ".": 0.3}[pause]) * pace * SAMPLE_RATE
        if pos >= total:
            break
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(samples.tobytes())
    return buf.getvalue(), total / SAMPLE_RATE


def pcm_from_wav(data: bytes) -> bytes:
    """The raw 16-bit mono frames of a WAV made by `make_speech`."""
    with wave.open(io.BytesIO(data)) as wav:
        return wav.readframes(wav.getnframes())


# ── video ───────────────────────────────────────────────────────────────────
def make_video(
    frames: Iterable[Image.Image],
    fps: int,
    *,
    audio_pcm: bytes | None = None,
    on_frame: Callable[[int], None] | None = None,
    tmp_dir: Path | None = None,
) -> bytes:
    """Encode RGB frames as an H.264 (yuv420p) MP4, optionally with a mono AAC track from 16-bit PCM; the file is
    encoded in a temporary folder under `tmp_dir` (default: the system's)."""
    import av

    with tempfile.TemporaryDirectory(prefix="puras-nb-video-", dir=tmp_dir) as tmp:
        path = Path(tmp) / "video.mp4"
        _encode_video(av, str(path), frames, fps, audio_pcm, on_frame)
        return path.read_bytes()


def _encode_video(
    av: Any,
    path: str,
    frames: Iterable[Image.Image],
    fps: int,
    audio_pcm: bytes | None,
    on_frame: Callable[[int], None] | None,
) -> None:
    # faststart (index first) lets browsers start playing before the whole file arrives; it needs a real file.
    with av.open(path, mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = None
        audio = None
        count = 0
        for img in frames:
            if stream is None:
                stream = container.add_stream("libx264", rate=fps)
                stream.width, stream.height = img.size
                stream.pix_fmt = "yuv420p"
                stream.time_base = Fraction(1, fps)
                stream.options = {"preset": "veryfast", "crf": "23", "tune": "animation"}
                if audio_pcm:
                    audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
            frame = av.VideoFrame.from_image(img)
            frame.pts = count
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
            count += 1
            if on_frame is not None:
                on_frame(count)
        if stream is None:
            raise ValueError("a video needs at least one frame")
        for packet in stream.encode(None):
            container.mux(packet)
        if audio is not None and audio_pcm:
            _encode_audio(container, audio, audio_pcm, limit=count / fps)


def _encode_audio(container: OutputContainer, stream: AudioStream, pcm: bytes, limit: float) -> None:
    import av

    max_bytes = int(limit * SAMPLE_RATE) * 2
    pcm = pcm[:max_bytes]
    chunk = 1024
    for offset in range(0, len(pcm) // 2, chunk):
        part = pcm[offset * 2 : (offset + chunk) * 2]
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(part) // 2)
        frame.planes[0].update(part)
        frame.sample_rate = SAMPLE_RATE
        frame.pts = offset
        frame.time_base = Fraction(1, SAMPLE_RATE)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
