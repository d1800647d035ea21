"""The built-in `local/demo` skillpack (versions 1 and 2): control skills, offline media skills, and an agent's
run as the hosted worker reports it (`storyboard`).

Every skill is deterministic for the same inputs and version, so tests and demos can compare results.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any, TypedDict
from urllib.parse import urlparse

import yaml

from .renders import RenderCache, digest
from .skills import RunContext, SkillFailed, SkillPack

__all__ = ["build_demo_pack"]


def _declared(text: str) -> dict[str, Any]:
    """A skill's declaration written as its skill.yaml would be (schemas in the Puras dialect), as
    `SkillPack.skill` keywords."""
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml's when there: 10x faster
    assert isinstance(data, dict), "a skill.yaml document is a mapping"
    return data


def build_demo_pack() -> SkillPack:
    """A fresh demo skillpack (the registry is per server, so tests can build their own), with a cache of its own
    for the videos it renders (`video`, `ugc-ad`): the same inputs at the same version reuse them."""
    about = "Offline demo skills: control flow, images, speech, video, a UGC ad."
    pack = SkillPack("demo", name="Demo skills", description=about)
    renders = RenderCache()
    _control_skills(pack)
    _image_skills(pack)
    _sound_and_video_skills(pack, renders)
    _ad_skill(pack, renders)
    _storyboard_skill(pack)
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


_ECHO = """
title: Echo
description: Return the inputs unchanged.
input_schema:
  type: object
  properties: {}
output_schema:
  type: object
examples:
  - title: A greeting
    inputs: {message: hello, n: 1}
"""

_COUNT = """
title: Count
description: Count to n, one progress step every `delay` seconds.
input_schema:
  type: object
  required: []
  properties:
    n: {type: integer, description: How many steps, default: 5, minimum: 0, maximum: 10000}
    delay: {type: number, description: Seconds per step, default: 0.2, minimum: 0, maximum: 60}
output_schema:
  type: object
  properties:
    count: {type: integer, description: How many steps were counted}
examples:
  - title: Five quick steps
    inputs: {n: 5, delay: 0.2}
  - title: Twenty slower steps
    inputs: {n: 20, delay: 0.5}
"""

_FAIL = """
title: Fail on purpose
description: Fail with `message` after `after` progress steps.
input_schema:
  type: object
  required: []
  properties:
    after: {type: integer, description: Steps before failing, default: 1, minimum: 0, maximum: 1000}
    message: {type: string, description: The error message, default: boom}
output_schema:
  type: object
  properties: {}
examples:
  - title: Fail after two steps
    inputs: {after: 2, message: the render farm is on fire}
"""

_SLOW = """
title: Slow job
description: Sleep for `seconds` (0 finishes at once); cancellable.
input_schema:
  type: object
  required: []
  properties:
    seconds: {type: number, description: How long to run, default: 1.0, minimum: 0, maximum: 3600}
output_schema:
  type: object
  properties:
    slept: {type: number, description: Seconds slept}
examples:
  - title: Three seconds
    inputs: {seconds: 3}
"""

_HANG = """
title: Hang until cancelled
description: Run until cancelled (for timeout and cancel tests).
input_schema:
  type: object
  properties: {}
output_schema:
  type: object
  properties: {}
examples:
  - title: Hang (press Cancel to stop it)
    inputs: {}
"""


_STORYBOARD = """
title: Storyboard
description: >-
  An agent's run as the hosted worker reports it: labelled steps, a subagent that writes the captions, and on request
  the states a run can be in: stopped at its cost limit, waiting for approval of a gated tool, resumed from a
  checkpoint.
input_schema:
  type: object
  required: []
  properties:
    brief: {type: text, description: What the storyboard is about, default: a trail running shoe, maxLength: 500}
    scenes: {type: integer, description: How many scenes, default: 3, minimum: 1, maximum: 12}
    delay: {type: number, description: Seconds per step, default: 0.3, minimum: 0, maximum: 10}
    cap_micros:
      type: integer
      description: The per-run cost limit in millionths of a dollar (each step costs 4200; 0 for none)
      default: 0
      minimum: 0
    approval:
      type: string
      description: >-
        Email the client through a tool that needs a person's approval, who then approves, denies or lets it expire
      enum: [none, approved, denied, expired]
      default: none
    hold: {type: number, description: Seconds the approval waits for its decision, default: 3, minimum: 0, maximum: 120}
    resume_from:
      type: integer
      description: Resume from this step, as after a worker restart (0 for a fresh run)
      default: 0
      minimum: 0
      maximum: 50
output_schema:
  type: object
  properties:
    scenes: {type: array, items: {type: string}, description: One line per scene}
    captions: {type: array, items: {type: string}, description: The subagent's captions}
    emailed: {type: boolean, description: Whether the client was emailed}
examples:
  - title: Three scenes
    inputs: {brief: a trail running shoe, scenes: 3}
  - title: Stopped at its cost limit
    inputs: {brief: a trail running shoe, scenes: 6, cap_micros: 20000}
  - title: Waits for approval
    inputs: {brief: a trail running shoe, scenes: 2, approval: approved, hold: 5}
  - title: Resumed after a restart
    inputs: {brief: a trail running shoe, scenes: 3, resume_from: 3}
"""


def _control_skills(pack: SkillPack) -> None:
    @pack.skill("echo", version=1, **_declared(_ECHO))
    def echo(ctx: RunContext, inputs: dict) -> dict:
        return inputs

    @pack.skill("count", version=1, **_declared(_COUNT))
    def count(ctx: RunContext, inputs: dict) -> dict:
        n = inputs["n"]
        for i in range(1, n + 1):
            ctx.sleep(inputs["delay"])
            ctx.progress(i, n, f"counted {i} of {n}")
        return {"count": n}

    @pack.skill("fail", version=1, **_declared(_FAIL))
    def fail(ctx: RunContext, inputs: dict) -> dict:
        after = inputs["after"]
        for i in range(1, after + 1):
            ctx.progress(i, after + 1, f"step {i} of {after + 1}")
            ctx.sleep(0.05)
        raise SkillFailed(inputs["message"])

    @pack.skill("slow", version=1, **_declared(_SLOW))
    def slow(ctx: RunContext, inputs: dict) -> dict:
        seconds = inputs["seconds"]
        if seconds > 0:
            ctx.sleep(seconds)
        return {"slept": seconds}

    @pack.skill("hang", version=1, **_declared(_HANG))
    def hang(ctx: RunContext, inputs: dict) -> dict:
        ctx.progress(0, 1, "hanging until cancelled")
        while True:
            ctx.sleep(3600)


_IMAGE = """
title: Image
description: A PNG illustration of the prompt.
input_schema:
  type: object
  required: [prompt]
  properties:
    prompt: {type: text, description: What to draw, minLength: 1, maxLength: 2000}
    width: {type: integer, description: Width in pixels, default: 512, minimum: 16, maximum: 1024}
    height: {type: integer, description: Height in pixels, default: 512, minimum: 16, maximum: 1024}
output_schema:
  type: object
  properties:
    image: {type: image, description: The illustration (PNG)}
    prompt: {type: text, description: The prompt drawn}
examples:
  - title: Lighthouse at dusk
    inputs: {prompt: a lighthouse on a cliff at dusk, width: 512, height: 512}
  - title: Wide mountain lake
    inputs: {prompt: a mountain lake at sunrise, width: 768, height: 432}
"""

_GALLERY = """
title: Gallery
description: n variations of the prompt as PNGs.
input_schema:
  type: object
  required: [prompt]
  properties:
    prompt: {type: text, description: What to draw, minLength: 1, maxLength: 2000}
    n: {type: integer, description: How many images, default: 4, minimum: 1, maximum: 12}
output_schema:
  type: object
  properties:
    images: {type: array, items: {type: image}, description: The variations (PNGs)}
    prompt: {type: text, description: The prompt drawn}
examples:
  - title: Four paper boats
    inputs: {prompt: paper boats on a pond, n: 4}
"""


def _image_skills(pack: SkillPack) -> None:
    def image(ctx: RunContext, inputs: dict) -> dict:
        from .mediagen import make_image

        prompt, width, height = inputs["prompt"], inputs["width"], inputs["height"]
        ctx.progress(1, 2, f"drawing {width}x{height} ({_style(ctx)} style)")
        img = make_image(prompt, width, height, _style(ctx))
        ctx.progress(2, 2, "encoding PNG")
        media = _image_media(ctx, img, f"{_slug(prompt, 'image')}.png")
        ctx.add_cost(4000 if ctx.version == 1 else 6000, images=1, pixels=width * height)
        return {"image": media, "prompt": prompt}

    declared = _declared(_IMAGE)
    for version, style in ((1, "flat"), (2, "aurora")):
        about = f"A PNG illustration of the prompt (v{version}: {style} style)."
        pack.skill("image", version=version, **{**declared, "description": about})(image)

    @pack.skill("gallery", version=1, **_declared(_GALLERY))
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


_SPEECH = """
title: Speech
description: A WAV voice reading the text.
input_schema:
  type: object
  required: [text]
  properties:
    text: {type: text, description: What to say, minLength: 1, maxLength: 5000}
    seconds:
      type: [number, "null"]
      description: "Length in seconds (default: natural pace)"
      default: null
      minimum: 0.1
      maximum: 300
output_schema:
  type: object
  properties:
    audio: {type: audio, description: The voice (WAV)}
    duration: {type: number, description: Length in seconds}
    text: {type: text, description: The text read}
examples:
  - title: A welcome
    inputs: {text: "Welcome to the Puras demo. Every sound you hear here is made offline, on your machine."}
"""

_VIDEO = """
title: Video
description: An animated H.264 MP4 of the prompt + poster.
input_schema:
  type: object
  required: [prompt]
  properties:
    prompt: {type: text, description: What to draw, minLength: 1, maxLength: 2000}
    seconds: {type: number, description: Length in seconds, default: 3, minimum: 0.2, maximum: 30}
    fps: {type: integer, description: Frames per second, default: 24, minimum: 1, maximum: 60}
    width: {type: integer, description: Width in pixels (rounded to even), default: 640, minimum: 16, maximum: 1280}
    height: {type: integer, description: Height in pixels (rounded to even), default: 360, minimum: 16, maximum: 720}
output_schema:
  type: object
  properties:
    video: {type: video, description: The clip (H.264 MP4) with its poster frame}
    prompt: {type: text, description: The prompt drawn}
examples:
  - title: Balloon over the hills
    inputs: {prompt: a hot air balloon over rolling hills, seconds: 3, fps: 24}
"""


def _sound_and_video_skills(pack: SkillPack, renders: RenderCache) -> None:
    @pack.skill("speech", version=1, **_declared(_SPEECH))
    def speech(ctx: RunContext, inputs: dict) -> dict:
        from .mediagen import make_speech

        ctx.progress(1, 2, "synthesizing voice")
        data, duration = make_speech(inputs["text"], inputs["seconds"], voice=_style(ctx), check=ctx.check_cancelled)
        ctx.progress(2, 2, f"saving {duration:.1f} s of audio")
        media = ctx.save_file(f"{_slug(inputs['text'], 'speech')}.wav", data, "audio/wav")
        media["duration"] = duration
        ctx.add_cost(int(1000 * duration) + 500, audio_seconds=duration, characters=len(inputs["text"]))
        return {"audio": media, "duration": duration, "text": inputs["text"]}

    @pack.skill("video", version=1, **_declared(_VIDEO))
    def video(ctx: RunContext, inputs: dict) -> dict:
        from .mediagen import animate, encode_png, make_image, make_video

        prompt, fps = inputs["prompt"], inputs["fps"]
        width, height = inputs["width"] // 2 * 2, inputs["height"] // 2 * 2
        count = max(1, round(inputs["seconds"] * fps))
        style = _style(ctx)
        key = ("video", ctx.version, prompt, count, fps, width, height)
        poster_name = f"{_slug(prompt, 'video')}-poster.png"
        made = renders.get(key)
        if made is None:
            ctx.progress(1, 4, "painting the scene")
            base = make_image(prompt, width, height, style)
            ctx.progress(2, 4, "saving the poster frame")
            poster_png = encode_png(base)
            poster = ctx.save_file(poster_name, poster_png, "image/png")
            ctx.progress(3, 4, f"rendering {count} frames at {fps} fps")

            def frames() -> Any:
                for i in range(count):
                    ctx.check_cancelled()
                    yield animate(base, i, count, prompt, style)

            made = (poster_png, make_video(frames(), fps, tmp_dir=ctx.temp_dir()))
            renders.put(key, made)
        else:
            ctx.progress(3, 4, "reusing the video made earlier from the same inputs")
            poster = ctx.save_file(poster_name, made[0], "image/png")
        ctx.progress(4, 4, "saving the MP4")
        media = ctx.save_file(f"{_slug(prompt, 'video')}.mp4", made[1], "video/mp4")
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
"""The tones `ugc-ad` takes (its input_schema's enum)."""

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


_UGC_AD = """
title: UGC ad
description: A product ad video with script, scenes and voiceover.
input_schema:
  type: object
  required: [product]
  properties:
    product: {type: string, description: Product URL or name, minLength: 1, maxLength: 2000}
    duration: {type: integer, description: Length of the ad in seconds, default: 6, minimum: 2, maximum: 60}
    tone:
      type: string
      description: Voice of the script and colours of the scenes
      enum: [friendly, luxury, energetic]
      default: friendly
    photo:
      type: image
      description: "A photo of the product, shown in every scene (a data URL, or a file this emulator made)"
    color: {type: color, description: The brand colour of the progress bar and the product tag}
output_schema:
  type: object
  properties:
    video: {type: video, description: The ad (H.264 MP4 with its voiceover)}
    thumbnail: {type: image, description: A frame of the first scene (PNG)}
    script: {type: text, description: The lines spoken, in order}
    voiceover: {type: audio, description: The voiceover alone (WAV)}
examples:
  - title: A water bottle, from its shop page
    inputs: {product: "https://shop.example/p/aero-bottle", duration: 6, tone: friendly}
  - title: A silk scarf, luxury tone, gold brand colour
    inputs: {product: Midnight Silk Scarf, duration: 8, tone: luxury, color: "#c9a227"}
"""


def _ad_skill(pack: SkillPack, renders: RenderCache) -> None:
    steps = ["Write the script", "Render the frames", "Record the voiceover", "Mux video and audio"]

    def ugc_ad(ctx: RunContext, inputs: dict) -> dict:
        from .mediagen import (
            ad_frame,
            encode_png,
            hex_rgb,
            load_photo,
            make_image,
            make_speech,
            make_video,
            pcm_from_wav,
            with_photo,
        )

        product, duration, tone = inputs["product"], inputs["duration"], inputs["tone"]
        accent = hex_rgb(inputs["color"]) if inputs.get("color") else None
        photo = photo_digest = None
        if inputs.get("photo") is not None:
            photo_bytes = ctx.read_file(inputs["photo"], name="photo")
            try:
                photo = load_photo(photo_bytes)
            except ValueError as exc:
                raise SkillFailed(f"inputs.photo: {exc}") from None
            photo_digest = digest(photo_bytes)
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
        count = duration * fps
        per_scene = count / len(lines)
        key = ("ugc-ad", ctx.version, product, duration, tone, inputs.get("color"), photo_digest)
        made = renders.get(key)  # (thumbnail PNG, MP4) of an earlier run with the same inputs
        if made is None:
            ctx.progress(2, 4, f"rendering {len(lines)} scenes at {width}x{height}")
            backgrounds = [
                make_image(f"{name} {i}", width, height, style, variant=i, caption=False, tone=tone)
                for i in range(len(lines))
            ]
            if photo is not None:
                backgrounds = [with_photo(background, photo, style) for background in backgrounds]

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
                    accent=accent,
                )

            thumb_png = encode_png(frame(int(per_scene * 0.6)))
        else:
            ctx.progress(2, 4, f"reusing the {len(lines)} scenes rendered earlier from the same inputs")
            thumb_png = made[0]
        thumbnail = ctx.save_file(f"{slug}-thumbnail.png", thumb_png, "image/png")
        checklist(2)
        ctx.progress(3, 4, "recording the voiceover")
        wav, spoken = make_speech(script, float(duration), voice=style, check=ctx.check_cancelled)
        voiceover = ctx.save_file(f"{slug}-voiceover.wav", wav, "audio/wav")
        voiceover["duration"] = spoken
        checklist(3)
        if made is None:
            # Muxing is most of the run: the bar stands at 75 % when it starts and moves in 5 % steps as frames go
            # in, so a viewer sees it advance instead of sitting at 100 % while the video is still being made.
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

            made = (thumb_png, make_video(frames(), fps, audio_pcm=pcm_from_wav(wav), tmp_dir=ctx.temp_dir()))
            renders.put(key, made)
        else:
            ctx.progress(75, 100, "reusing the video muxed earlier from the same inputs")
        video = ctx.save_file(f"{slug}-ad.mp4", made[1], "video/mp4")
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

    declared = _declared(_UGC_AD)
    for version, kind in ((1, "landscape 640x360 at 24 fps, classic"), (2, "vertical 540x960 at 30 fps, UGC-style")):
        about = f"A product ad video with script, scenes and voiceover (v{version}: {kind})."
        pack.skill("ugc-ad", version=version, **{**declared, "description": about})(ugc_ad)


#: What a step of `storyboard` costs (a model call), in millionths of a dollar.
STEP_MICROS = 4200
#: The worker's error when a run reaches its per-run cost limit.
COST_CAPPED = "This run reached its per-run cost limit and was stopped."


class _Agent:
    """A storyboard run's steps, reported as the hosted worker does (no `message`): each a `model_response`, a
    `tool_use` labelled for the user and its `tool_result`, the events of a subagent stamped with its `sid` (`ctx`),
    and the per-run cost limit checked before each step (`cost_capped`)."""

    def __init__(self, ctx: RunContext, cap: int, delay: float, start: int) -> None:
        self.ctx, self.cap, self.delay, self.step_no, self.sid = ctx, cap, delay, start - 1, ""
        self.uses = 0

    def event(self, kind: str, payload: dict) -> None:
        self.ctx.worker_event(kind, {**payload, "ctx": self.sid} if self.sid else payload)

    def use(self, tool: str, label: str, tool_input: dict) -> str:
        """A model call that asks for `tool`, and its `tool_use`; the id its `tool_result` names."""
        self.ctx.check_cancelled()
        if self.cap and self.ctx.cost_micros >= self.cap:
            self.event("cost_capped", {"step": self.step_no + 1, "spent_micros": self.ctx.cost_micros,
                                       "cap_micros": self.cap})
            raise SkillFailed(COST_CAPPED)
        self.step_no += 1
        self.ctx.steps = self.step_no
        self.ctx.add_cost(STEP_MICROS, input_tokens=1200, output_tokens=90)
        self.event("model_response", {"step": self.step_no, "stop_reason": "tool_use", "input_tokens": 1200,
                                      "output_tokens": 90, "billed_micros": STEP_MICROS})
        self.uses += 1
        use_id = f"toolu_{self.ctx.job_id[:8]}_{self.uses}"
        self.event("tool_use", {"name": tool, "input": tool_input, "tool_use_id": use_id, "label": label})
        return use_id

    def step(self, tool: str, label: str, tool_input: dict, preview: str) -> None:
        """One step: the tool runs `delay` seconds and succeeds."""
        use_id = self.use(tool, label, tool_input)
        self.ctx.sleep(self.delay)
        self.event("tool_result", {"tool_use_id": use_id, "ok": True, "preview": preview})


def _storyboard_skill(pack: SkillPack) -> None:
    @pack.skill("storyboard", version=1, **_declared(_STORYBOARD))
    def storyboard(ctx: RunContext, inputs: dict) -> dict:
        brief, n = " ".join(str(inputs["brief"]).split()) or "a product", inputs["scenes"]
        start = inputs["resume_from"] or 1
        agent = _Agent(ctx, inputs["cap_micros"], inputs["delay"], start)
        if inputs["resume_from"]:
            agent.event("resumed", {"from_step": start})
        scenes = [f"Scene {i + 1}: {brief}, shot {i + 1} of {n}" for i in range(n)]
        agent.step("file_read", "Read the brief", {"path": "inputs/brief.md"}, f"{len(brief)} characters")
        for i, scene in enumerate(scenes):
            agent.step("bash", f"Sketch scene {i + 1}", {"command": f"sketch --scene {i + 1}"}, scene)
        sid = f"toolu_{ctx.job_id[:8]}_captions"
        agent.event("subagent_start", {"label": "captions", "depth": 2, "inproc": True, "sid": sid})
        agent.sid = sid
        captions = [f"{brief.capitalize()}, {i + 1} of {n}" for i in range(n)]
        for i, caption in enumerate(captions):
            agent.step("set_output", f"Caption scene {i + 1}", {"caption": caption}, caption)
        agent.sid = ""
        agent.event("subagent_end", {"label": "captions", "status": "succeeded", "sid": sid})
        emailed = False
        decision = inputs["approval"]
        if decision != "none":
            email = {"to": "client@example.com", "subject": f"Storyboard: {brief}"}
            use_id = agent.use("send_email", "Email the client", email)
            approval_id = f"ap_{ctx.job_id[:8]}"
            agent.event("approval_required", {"approval_id": approval_id, "tool": "send_email", "input": email})
            ctx.sleep(inputs["hold"])
            reason = {"approved": None, "denied": "not this client", "expired": "timed out"}[decision]
            agent.event("approval_decided", {"approval_id": approval_id, "decision": decision, "reason": reason})
            emailed = decision == "approved"
            preview = "sent" if emailed else f"the `send_email` action needs human approval and was {decision}"
            agent.event("tool_result", {"tool_use_id": use_id, "ok": emailed, "preview": preview})
        output = {"scenes": scenes, "captions": captions, "emailed": emailed}
        agent.step("set_output", "Deliver the storyboard", {"scenes": n}, "delivered")
        return output
