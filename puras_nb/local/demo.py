"""The built-in `local/demo` skillpack (versions 1 and 2): control skills plus offline media skills.

Every skill is deterministic for the same inputs and version, so tests and demos can compare results.
"""

from __future__ import annotations

from typing import Any

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
    pack = SkillPack("demo", description="Offline demo skills: control flow, images, speech, video, a UGC ad.")
    _control_skills(pack)
    return pack


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
