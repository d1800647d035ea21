"""The drop-in check: one scenario list, run with the official `puras.Client` and with `puras_nb.Client`.

Both must give equal outcomes: the same results, the same job shapes (ids and timestamps aside), the
same exception types, statuses and messages, the same ValueErrors.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import puras
import pytest

import puras_nb
from puras_nb import local

VOLATILE = {"id", "job_id", "created_at", "started_at", "finished_at", "updated_at", "ts", "tag"}
TAGS: set[str] = set()
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
Make = Callable[..., Any]


def norm(value: Any) -> Any:
    """Drop what differs between two runs of the same call: ids, timestamps, URL signatures."""
    if isinstance(value, dict):
        return {k: norm(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [norm(v) for v in value]
    if isinstance(value, str):
        value = re.sub(r"\?(exp|sig)=[^\s\"']*", "", value)
        return UUID.sub("<uuid>", value)
    return value


def outcome(call: Callable[[], Any]) -> tuple:
    """What a user sees from `call`: its normalized value, or the exception's type, status, job and message."""
    try:
        return ("ok", norm(call()))
    except ValueError as exc:
        return ("ValueError", str(exc))
    except RuntimeError as exc:
        job = getattr(exc, "job", None)
        return (type(exc).__name__, getattr(exc, "status", None), norm(job), norm(str(exc)))


def tag() -> dict:
    """Inputs for a `hang` job, tagged so that the module can cancel it afterwards."""
    value = uuid.uuid4().hex
    TAGS.add(value)
    return {"tag": value}


def submitted(make: Make, skill: str, inputs: dict) -> tuple[Any, str]:
    client = make()
    return client, client.submit(skill, inputs, wait=True, timeout=30)["id"]


FAST = {"poll_interval": 0.05}
SCENARIOS: dict[str, Callable[[Make, dict], Any]] = {
    "run echo at default settings": lambda make, ctx: make().run("echo", {"x": 1}),
    "run a qualified path": lambda make, ctx: make().run("local/demo/count", {"n": 2, "delay": 0}, **FAST),
    "run skillpack/skill": lambda make, ctx: make(skillpack=None).run("demo/echo", {"y": [1, 2]}, **FAST),
    "run with a UUID skillpack": lambda make, ctx: make(skillpack=ctx["uuid"]).run("echo", {"u": 1}, **FAST),
    "run with skillpack= per call": lambda make, ctx: make(skillpack=None).run("echo", {}, skillpack="demo", **FAST),
    "run a pinned version": lambda make, ctx: make().run("image", {"prompt": "fox", "width": 32, "height": 32},
                                                          version=1, **FAST),
    "run the active version": lambda make, ctx: make().run("image", {"prompt": "fox", "width": 32, "height": 32},
                                                           **FAST),
    "run a failing job": lambda make, ctx: make().run("fail", {"after": 0, "message": "nope"}, **FAST),
    "run past its timeout": lambda make, ctx: make().run("hang", tag(), timeout=0.3, **FAST),
    "submit and wait server-side": lambda make, ctx: make().submit("slow", {"seconds": 0.05}, wait=True, timeout=10),
    "submit returns a job": lambda make, ctx: sorted(make().submit("echo", {"k": 1})),
    "wait for a job": lambda make, ctx: (lambda c, j: c.wait(j, **FAST))(*submitted(make, "count", {"n": 1})),
    "wait past its timeout": lambda make, ctx: (lambda c: c.wait(c.submit("hang", tag())["id"], timeout=0.2, **FAST))(
        make()),
    "get a finished job": lambda make, ctx: (lambda c, j: c.get(j))(*submitted(make, "echo", {"g": 1})),
    "get an unknown job": lambda make, ctx: make().get("no-such-job"),
    "unknown skill": lambda make, ctx: make().run("demo/nope", {}),
    "unknown skillpack": lambda make, ctx: make().run("nopack/echo", {}),
    "unknown version": lambda make, ctx: make().run("echo", {}, version=99),
    "schema error": lambda make, ctx: make().run("image", {"width": 10}),
    "feedback": lambda make, ctx: (lambda c, j: c.feedback(j, rating=1, comment="ok", end_user_id="u1"))(
        *submitted(make, "echo", {})),
    "feedback comment only": lambda make, ctx: (lambda c, j: c.feedback(j, comment="meh"))(
        *submitted(make, "echo", {})),
    "feedback on an unknown job": lambda make, ctx: make().feedback("no-such-job", rating=-1),
    "feedback without rating or comment": lambda make, ctx: make().feedback("x"),
    "feedback with a bad rating": lambda make, ctx: make().feedback("x", rating=5),
    "bare skill without a skillpack": lambda make, ctx: make(skillpack=None).run("echo", {}),
    "no API key": lambda make, ctx: make(api_key=None),
    "a wrong API key": lambda make, ctx: make(api_key="puras_live_wrong", api_base=ctx["locked"]).get("x"),
}


@pytest.fixture(scope="module")
def ctx(emulator, auth: dict[str, str]) -> Iterator[dict]:
    packs = httpx.get(f"{emulator.url}/v1/skillpacks", headers=auth, timeout=10).json()
    with local.start(require_key="puras_live_right_key_123456", in_process=True) as locked:
        yield {"uuid": next(p["id"] for p in packs if p["slug"] == "demo"), "locked": locked.url}
    running = {"skill": "hang", "status": "running"}
    for job in httpx.get(f"{emulator.url}/v1/jobs", params=running, headers=auth, timeout=10).json():
        if job["inputs"].get("tag") in TAGS:
            httpx.post(f"{emulator.url}/v1/jobs/{job['id']}/cancel", headers=auth, timeout=10)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_same_outcome_as_the_official_client(name: str, ctx: dict, emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PURAS_API_KEY", raising=False)
    monkeypatch.delenv("PURAS_API_BASE", raising=False)
    outcomes = []
    for cls in (puras.Client, puras_nb.Client):

        def make(cls: type = cls, **overrides: Any) -> Any:
            kwargs = {"api_key": emulator.api_key, "skillpack": "demo", "api_base": emulator.url, **overrides}
            return cls(kwargs.pop("api_key"), kwargs.pop("skillpack"), **kwargs)

        outcomes.append(outcome(lambda make=make: SCENARIOS[name](make, ctx)))
    official, ours = outcomes
    assert ours == official


def test_our_exceptions_are_caught_like_the_official_ones() -> None:
    for ours, theirs in ((puras_nb.PurasAPIError, puras.PurasAPIError), (puras_nb.JobError, puras.JobError)):
        assert issubclass(ours, RuntimeError) and issubclass(theirs, RuntimeError)
        assert ours.__name__ == theirs.__name__
    err = puras_nb.PurasAPIError(404, "gone")
    assert (str(err), err.status, err.detail) == (str(puras.PurasAPIError(404, "gone")), 404, "gone")
