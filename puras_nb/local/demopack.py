"""The built-in `local/demo` skillpack (versions 1 and 2): control skills plus offline media skills.

Every skill is deterministic for the same inputs and version, so tests and demos can compare results.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any, TypedDict
from urllib.parse import urlparse

from .skills import RunContext, SkillFailed, SkillPack

__all__ = ["build_demo_pack"]


def _str(description: str, **extra: Any) -> dict:
    return {"type": "string", "description": description, **extra}


def _int(description: str, default: int, lo: int, hi: int) -> dict:
    return {"type": "integer", "description": description, "default": default, "minimum": lo, "maximum": hi}


def _num(description: str, default: float | None, lo: float, hi: float, *, nullable: bool = False) -> dict:
    kind: Any = ["number", "null"] if nullable else "number"
    return {"type": kind, "description": description, "default": default, "minimum": lo, "maximum": hi}


def build_demo_pack() -> SkillPack:
    """A fresh demo skillpack (the registry is per server, so tests can build their own)."""
    about = "Offline demo skills: control flow, images, speech, video, a UGC ad."
    pack = SkillPack("demo", name="Demo skills", description=about)
    _control_skills(pack)
    _image_skills(pack)
    _sound_and_video_skills(pack)
    _ad_skill(pack)
    return pack


def _style(ctx: RunContext) -> str:
    return "v2" if ctx.version >= 2 else "v1"


def _slug(text: str, default: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or default


def _image_media(ctx: RunContext, img: Any, name: str) -> dict:
    from .mediagen import encode_png

    media = ctx.save_file(name, encode_png(img), "image/png")
    media.update(width=img.width, height=img.height)
    return media


def _control_skills(pack: SkillPack) -> None:
    @pack.skill("echo", version=1, description="Return the inputs unchanged.")
    def echo(ctx: RunContext, inputs: dict) -> dict:
        return inputs

    @pack.skill(
        "count",
        version=1,
        description="Count to n, one progress step every `delay` seconds.",
        schema={
            "properties": {
                "n": _int("How many steps", 5, 0, 10_000),
                "delay": _num("Seconds per step", 0.2, 0, 60),
            }
        },
    )
    def count(ctx: RunContext, inputs: dict) -> dict:
        n = inputs["n"]
        for i in range(1, n + 1):
            ctx.sleep(inputs["delay"])
            ctx.progress(i, n, f"counted {i} of {n}")
        return {"count": n}

    @pack.skill(
        "fail",
        version=1,
        description="Fail with `message` after `after` progress steps.",
        schema={
            "properties": {
                "after": _int("Steps before failing", 1, 0, 1000),
                "message": _str("The error message", default="boom"),
            }
        },
    )
    def fail(ctx: RunContext, inputs: dict) -> dict:
        after = inputs["after"]
        for i in range(1, after + 1):
            ctx.progress(i, after + 1, f"step {i} of {after + 1}")
            ctx.sleep(0.05)
        raise SkillFailed(inputs["message"])

    @pack.skill(
        "slow",
        version=1,
        description="Sleep for `seconds` (0 finishes at once); cancellable.",
        schema={"properties": {"seconds": _num("How long to run", 1.0, 0, 3600)}},
    )
    def slow(ctx: RunContext, inputs: dict) -> dict:
        seconds = inputs["seconds"]
        if seconds > 0:
            ctx.sleep(seconds)
        return {"slept": seconds}

    @pack.skill("hang", version=1, description="Run until cancelled (for timeout and cancel tests).")
    def hang(ctx: RunContext, inputs: dict) -> dict:
        ctx.progress(0, 1, "hanging until cancelled")
        while True:
            ctx.sleep(3600)


_PROMPT = {"type": "string", "description": "What to draw", "minLength": 1, "maxLength": 2000}


def _image_skills(pack: SkillPack) -> None:
    size_schema = {
        "properties": {
            "prompt": _PROMPT,
            "width": _int("Width in pixels", 512, 16, 1024),
            "height": _int("Height in pixels", 512, 16, 1024),
        },
        "required": ["prompt"],
    }

    def image(ctx: RunContext, inputs: dict) -> dict:
        from .mediagen import make_image

        prompt, width, height = inputs["prompt"], inputs["width"], inputs["height"]
        ctx.progress(1, 2, f"drawing {width}x{height} ({_style(ctx)} style)")
        img = make_image(prompt, width, height, _style(ctx))
        ctx.progress(2, 2, "encoding PNG")
        media = _image_media(ctx, img, f"{_slug(prompt, 'image')}.png")
        ctx.add_cost(4000 if ctx.version == 1 else 6000, images=1, pixels=width * height)
        return {"image": media, "prompt": prompt}

    for version, style in ((1, "flat"), (2, "aurora")):
        about = f"A PNG illustration of the prompt (v{version}: {style} style)."
        pack.skill("image", version=version, schema=size_schema, description=about)(image)

    gallery_schema = {
        "properties": {"prompt": _PROMPT, "n": _int("How many images", 4, 1, 12)},
        "required": ["prompt"],
    }

    @pack.skill("gallery", version=1, schema=gallery_schema, description="n variations of the prompt as PNGs.")
    def gallery(ctx: RunContext, inputs: dict) -> dict:
        from .mediagen import make_image

        prompt, n = inputs["prompt"], inputs["n"]
        images = []
        for i in range(n):
            ctx.progress(i + 1, n, f"drawing variation {i + 1} of {n}")
            img = make_image(prompt, 384, 384, _style(ctx), variant=i)
            images.append(_image_media(ctx, img, f"{_slug(prompt, 'gallery')}-{i + 1}.png"))
        ctx.add_cost(3000 * n, images=n, pixels=384 * 384 * n)
        return {"images": images, "prompt": prompt}


def _sound_and_video_skills(pack: SkillPack) -> None:
    speech_schema = {
        "properties": {
            "text": {"type": "string", "description": "What to say", "minLength": 1, "maxLength": 5000},
            "seconds": _num("Length in seconds (default: natural pace)", None, 0.1, 300, nullable=True),
        },
        "required": ["text"],
    }

    @pack.skill("speech", version=1, schema=speech_schema, description="A WAV voice reading the text.")
    def speech(ctx: RunContext, inputs: dict) -> dict:
        from .mediagen import make_speech

        ctx.progress(1, 2, "synthesizing voice")
        data, duration = make_speech(inputs["text"], inputs["seconds"], voice=_style(ctx), check=ctx.check_cancelled)
        ctx.progress(2, 2, f"saving {duration:.1f} s of audio")
        media = ctx.save_file(f"{_slug(inputs['text'], 'speech')}.wav", data, "audio/wav")
        media["duration"] = duration
        ctx.add_cost(int(1000 * duration) + 500, audio_seconds=duration, characters=len(inputs["text"]))
        return {"audio": media, "duration": duration, "text": inputs["text"]}

    video_schema = {
        "properties": {
            "prompt": _PROMPT,
            "seconds": _num("Length in seconds", 3, 0.2, 30),
            "fps": _int("Frames per second", 24, 1, 60),
            "width": _int("Width in pixels (rounded to even)", 640, 16, 1280),
            "height": _int("Height in pixels (rounded to even)", 360, 16, 720),
        },
        "required": ["prompt"],
    }

    @pack.skill("video", version=1, schema=video_schema, description="An animated H.264 MP4 of the prompt + poster.")
    def video(ctx: RunContext, inputs: dict) -> dict:
        from .mediagen import animate, encode_png, make_image, make_video

        prompt, fps = inputs["prompt"], inputs["fps"]
        width, height = inputs["width"] // 2 * 2, inputs["height"] // 2 * 2
        count = max(1, round(inputs["seconds"] * fps))
        style = _style(ctx)
        ctx.progress(1, 4, "painting the scene")
        base = make_image(prompt, width, height, style)
        ctx.progress(2, 4, "saving the poster frame")
        poster = ctx.save_file(f"{_slug(prompt, 'video')}-poster.png", encode_png(base), "image/png")
        ctx.progress(3, 4, f"rendering {count} frames at {fps} fps")

        def frames() -> Any:
            for i in range(count):
                ctx.check_cancelled()
                yield animate(base, i, count, prompt, style)

        data = make_video(frames(), fps)
        ctx.progress(4, 4, "saving the MP4")
        media = ctx.save_file(f"{_slug(prompt, 'video')}.mp4", data, "video/mp4")
        duration = count / fps
        media.update(duration=duration, poster=poster["url"], width=width, height=height, fps=fps)
        ctx.add_cost(int(8000 * duration) + 2000, video_seconds=duration, frames=count)
        return {"video": media, "prompt": prompt}


# Lines by tone; "friendly" has a classic (v1) and a UGC (v2) voice, the other tones one voice each.
_HOOKS = {
    "v1": ["Meet {name}.", "Introducing {name}.", "Say hello to {name}."],
    "v2": [
        "Okay, I did not expect {name} to be this good.",
        "POV: you finally tried {name}.",
        "Stop scrolling: {name}.",
    ],
    "luxury": ["{name}. Quietly exceptional.", "Some things are made to last: {name}.", "Discover {name}."],
    "energetic": ["Ready? This is {name}!", "Game changer alert: {name}!", "Three words: {name}. Right. Now."],
}
_BENEFITS = {
    "v1": [
        "Designed for every day.",
        "Built to last, priced to love.",
        "Quality you can feel from day one.",
        "Simple, reliable, beautifully made.",
    ],
    "v2": [
        "It fits right into my morning routine.",
        "Honestly? Worth every cent.",
        "My friends keep asking where I got it.",
        "Three weeks in and I use it daily.",
    ],
    "luxury": [
        "Crafted from materials chosen one by one.",
        "Every detail considered, nothing left to chance.",
        "Made in small batches, finished by hand.",
        "Understated, and unmistakably yours.",
    ],
    "energetic": [
        "It keeps up with everything you throw at it!",
        "Faster, lighter, louder. Let's go!",
        "You will wonder how you lived without it!",
        "Zero to hero in one morning!",
    ],
}
_CTAS = {
    "v1": ["Order {name} today.", "Find {name} at your favourite store."],
    "v2": ["Link below. Go get your {name}!", "Try {name} now, thank me later."],
    "luxury": ["{name}. By appointment and online.", "Reserve your {name} today."],
    "energetic": ["Grab {name} NOW!", "Tap the link and get {name} today!"],
}
TONES = ("friendly", "luxury", "energetic")

# What each version renders: v2 is vertical at a higher resolution and frame rate, with one more scene.
class _AdFormat(TypedDict):
    size: tuple[int, int]
    fps: int
    extra_scenes: int


_AD_FORMATS: dict[str, _AdFormat] = {
    "v1": {"size": (640, 360), "fps": 24, "extra_scenes": 0},
    "v2": {"size": (540, 960), "fps": 30, "extra_scenes": 1},
}


def product_name(product: str) -> str:
    """A readable product name from a product URL or text (`https://shop.example/p/aero-bottle` → Aero Bottle)."""
    text = product.strip()
    if re.match(r"^https?://", text):
        parsed = urlparse(text)
        segments = [s for s in parsed.path.split("/") if s]
        raw = re.sub(r"\.[a-z0-9]{2,5}$", "", segments[-1]) if segments else parsed.netloc.split(".")[-2:][0]
        text = re.sub(r"[-_+]+", " ", raw).strip().title() or "Your Product"
    return text[:40]


def ad_script(product: str, duration: int, style: str, tone: str = "friendly") -> list[str]:
    """The ad's lines: a hook, benefits (one or two; v2 one more), a call to action; deterministic per product,
    style and tone."""
    name = product_name(product)
    voice = style if tone == "friendly" else tone
    seed = f"{style}|{product}" if tone == "friendly" else f"{style}|{tone}|{product}"
    rng = random.Random(hashlib.sha256(seed.encode()).digest())
    count = (2 if duration >= 5 else 1) + _AD_FORMATS[style]["extra_scenes"]
    benefits = rng.sample(_BENEFITS[voice], count)
    return [rng.choice(_HOOKS[voice]).format(name=name), *benefits, rng.choice(_CTAS[voice]).format(name=name)]


# What an ad costs, in micro-dollars: a script, each scene, each million rendered pixels, each voiced second.
AD_SCRIPT_MICROS = 15_000
AD_SCENE_MICROS = 2_500
AD_RENDER_MICROS = 400
AD_VOICE_MICROS = 1_500


def _ad_skill(pack: SkillPack) -> None:
    schema = {
        "properties": {
            "product": {"type": "string", "description": "Product URL or name", "minLength": 1, "maxLength": 2000},
            "duration": _int("Length of the ad in seconds", 6, 2, 60),
            "tone": _str("Voice of the script and colours of the scenes", enum=list(TONES), default="friendly"),
        },
        "required": ["product"],
    }
    steps = ["Write the script", "Render the frames", "Record the voiceover", "Mux video and audio"]

    def ugc_ad(ctx: RunContext, inputs: dict) -> dict:
        from .mediagen import ad_frame, encode_png, make_image, make_speech, make_video, pcm_from_wav

        product, duration, tone = inputs["product"], inputs["duration"], inputs["tone"]
        style = _style(ctx)
        look = _AD_FORMATS[style]
        name = product_name(product)
        slug = _slug(name, "ad")

        def checklist(done: int) -> None:
            ctx.todos(
                [
                    (s, "completed" if i < done else "in_progress" if i == done else "pending")
                    for i, s in enumerate(steps)
                ]
            )

        checklist(0)
        ctx.progress(1, 4, f"writing a {duration} s {tone} script for {name}")
        lines = ad_script(product, duration, style, tone)
        script = " ".join(lines)
        checklist(1)
        width, height = look["size"]
        fps = look["fps"]
        ctx.progress(2, 4, f"rendering {len(lines)} scenes at {width}x{height}")
        backgrounds = [
            make_image(f"{name} {i}", width, height, style, variant=i, caption=False, tone=tone)
            for i in range(len(lines))
        ]
        count = duration * fps
        per_scene = count / len(lines)

        def frame(i: int) -> Any:
            scene = min(len(lines) - 1, int(i / per_scene))
            t = (i - scene * per_scene) / per_scene
            return ad_frame(
                backgrounds[scene],
                lines[scene],
                scene=scene,
                scenes=len(lines),
                t=t,
                progress=(i + 1) / count,
                style=style,
                product=name,
                tone=tone,
            )

        thumb = frame(int(per_scene * 0.6))
        thumbnail = ctx.save_file(f"{slug}-thumbnail.png", encode_png(thumb), "image/png")
        checklist(2)
        ctx.progress(3, 4, "recording the voiceover")
        wav, spoken = make_speech(script, float(duration), voice=style, check=ctx.check_cancelled)
        voiceover = ctx.save_file(f"{slug}-voiceover.wav", wav, "audio/wav")
        voiceover["duration"] = spoken
        checklist(3)
        # Muxing is most of the run: the bar stands at 75 % when it starts and moves in 5 % steps as frames go in,
        # so a viewer sees it advance instead of sitting at 100 % while the video is still being made.
        ctx.progress(75, 100, f"muxing {count} frames at {fps} fps with the voiceover")

        def frames() -> Any:
            shown = 75
            for i in range(count):
                ctx.check_cancelled()
                percent = 75 + 25 * i // count
                if percent >= shown + 5:
                    shown = percent
                    ctx.progress(percent, 100, f"muxing frame {i + 1} of {count}")
                yield frame(i)

        data = make_video(frames(), fps, audio_pcm=pcm_from_wav(wav))
        video = ctx.save_file(f"{slug}-ad.mp4", data, "video/mp4")
        video.update(duration=float(duration), poster=thumbnail["url"], width=width, height=height, fps=fps)
        checklist(4)
        megapixel_frames = count * width * height / 1e6
        ctx.add_cost(
            AD_SCRIPT_MICROS + AD_SCENE_MICROS * len(lines) + round(AD_RENDER_MICROS * megapixel_frames)
            + round(AD_VOICE_MICROS * spoken),
            video_seconds=duration,
            audio_seconds=spoken,
            frames=count,
            scenes=len(lines),
            megapixel_frames=round(megapixel_frames, 1),
        )
        return {"video": video, "thumbnail": thumbnail["url"], "script": script, "voiceover": voiceover}

    for version, kind in ((1, "landscape 640x360 at 24 fps, classic"), (2, "vertical 540x960 at 30 fps, UGC-style")):
        about = f"A product ad video with script, scenes and voiceover (v{version}: {kind})."
        pack.skill("ugc-ad", version=version, schema=schema, description=about)(ugc_ad)
