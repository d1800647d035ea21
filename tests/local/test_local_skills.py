"""The skill registry as a skill author uses it: decorator, schemas, versions, run context, over HTTP."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import puras
import pytest

from puras_nb import local
from puras_nb.local.skills import RunContext, SchemaError, SkillFailed, SkillPack, validate_inputs
from tests.harness.served import served

SCHEMA = {
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "times": {"type": "integer", "default": 2, "minimum": 1, "maximum": 5},
        "ratio": {"type": ["number", "null"], "default": None},
        "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
    },
    "required": ["name"],
}


def test_validate_inputs_fills_defaults_and_names_fields() -> None:
    assert validate_inputs(SCHEMA, {"name": "x"}) == {"name": "x", "times": 2, "ratio": None, "mode": "a"}
    assert validate_inputs(SCHEMA, {"name": "x", "times": 3.0, "extra": 1})["times"] == 3
    cases = [
        ({}, "inputs.name is required"),
        ({"name": None}, "inputs.name must be a string, got null"),
        ({"name": ""}, "inputs.name must not be empty"),
        ({"name": "x", "times": "2"}, "inputs.times must be an integer, got '2'"),
        ({"name": "x", "times": 9}, "inputs.times must be <= 5"),
        ({"name": "x", "times": 0}, "inputs.times must be >= 1"),
        ({"name": "x", "ratio": "high"}, "inputs.ratio must be a number or null, got 'high'"),
        ({"name": "x", "mode": "c"}, "inputs.mode must be one of"),
        ({"name": "x", "times": "9" * 100}, "inputs.times must be an integer, got '" + "9" * 39 + "…'$"),
    ]
    for inputs, message in cases:
        with pytest.raises(SchemaError, match=message.replace("(", r"\(")):
            validate_inputs(SCHEMA, inputs)


def build_pack(gate: threading.Event) -> SkillPack:
    pack = SkillPack("tools", workspace="acme")

    @pack.skill("greet", version=1, schema=SCHEMA)
    def greet_v1(ctx: RunContext, inputs: dict) -> dict:
        """Greets someone."""
        return {"text": f"hello {inputs['name']}", "times": inputs["times"]}

    @pack.skill("greet", version=3, schema=SCHEMA)
    def greet_v3(ctx: RunContext, inputs: dict) -> dict:
        return {"text": f"HELLO {inputs['name'].upper()}!", "times": inputs["times"]}

    @pack.skill("crash", version=1)
    def crash(ctx: RunContext, inputs: dict) -> dict:
        raise ValueError("bad thing")

    @pack.skill("report", version=1)
    def report(ctx: RunContext, inputs: dict) -> dict:
        ctx.todos([("plan", "completed"), ("do", "in_progress")])
        ctx.event("model_response", {"text": "thinking"})
        ctx.add_cost(1500, tokens=10)
        ctx.add_cost(500, tokens=5)
        gate.wait(5)
        return {"ok": True}

    @pack.skill("bad-result", version=1)
    def bad_result(ctx: RunContext, inputs: dict) -> dict:
        return {"tags": {"a", "b"}}

    @pack.skill("bad-event", version=1)
    def bad_event(ctx: RunContext, inputs: dict) -> dict:
        ctx.event("model_response", {"raw": object()})
        return {}

    @pack.skill("unanswerable", version=1, description="Returns or reports what JSON cannot carry.")
    def unanswerable(ctx: RunContext, inputs: dict) -> dict:
        deep: object = []
        for _ in range(960):
            deep = [deep]
        kind = inputs.get("kind")
        if kind == "nan-event":
            ctx.progress(1, 2, "half")
            ctx.event("metric", {"loss": float("nan")})
        if kind == "nan-usage":
            ctx.add_cost(5, tokens=float("inf"))
        if kind == "bad-mime":
            ctx.save_file("x.bin", b"x", "\ud800")
        if kind == "surrogate-error":
            raise SkillFailed("broken \ud800 text")
        return {"deep": deep} if kind == "deep" else {"ok": float("inf")} if kind == "inf" else {"ok": 1}

    @pack.skill("late", version=3, description="Only in version 3.")
    def late(ctx: RunContext, inputs: dict) -> dict:
        return {"version": ctx.version}

    return pack


@pytest.fixture
def acme() -> Iterator[tuple[httpx.Client, threading.Event]]:
    gate = threading.Event()
    try:
        with served(packs=[build_pack(gate)], workers=1) as client:
            yield client, gate
    finally:
        gate.set()


def run(client: httpx.Client, skill: str, inputs: dict | None = None, **params: str) -> httpx.Response:
    query = {"skillpack": "acme/tools", "wait": "true", **params}
    return client.post("/v1/jobs", params=query, json={"skill": skill, "inputs": inputs or {}})


def test_versions_inherit_and_pin(acme: tuple[httpx.Client, threading.Event]) -> None:
    client, _ = acme
    pack = client.get("/v1/skillpacks").json()[0]
    assert pack["path"] == "acme/tools" and pack["versions"] == [1, 3] and pack["active_version"] == 3
    skills = {s["name"]: s for s in pack["skills"]}
    assert skills["greet"]["description"] == "Greets someone." and skills["greet"]["versions"] == [1, 3]
    assert skills["late"]["versions"] == [3] and skills["crash"]["versions"] == [1, 3]
    assert run(client, "greet", {"name": "ada"}).json()["result"]["text"] == "HELLO ADA!"
    assert run(client, "greet", {"name": "ada"}, version="1").json()["result"] == {"text": "hello ada", "times": 2}
    crash_v3 = run(client, "crash", version="3").json()
    assert crash_v3["version"] == 3 and crash_v3["status"] == "failed"
    missing = run(client, "late", version="1")
    assert missing.status_code == 404 and "version 1" in missing.json()["detail"]
    assert run(client, "greet", {"name": "x"}, version="2").status_code == 404
    assert run(client, "greet", {}).status_code == 422


def test_exception_fails_job_with_message(acme: tuple[httpx.Client, threading.Event]) -> None:
    client, _ = acme
    job = run(client, "crash").json()
    assert job["status"] == "failed" and job["error"] == "ValueError: bad thing"
    events = client.get(f"/v1/jobs/{job['id']}/events").json()
    assert events[-1]["type"] == "error" and events[-1]["payload"]["message"] == "ValueError: bad thing"


def test_non_json_results_and_events_fail_the_job(acme: tuple[httpx.Client, threading.Event]) -> None:
    client, _ = acme
    job = run(client, "bad-result").json()
    assert job["status"] == "failed" and "not JSON" in job["error"] and job["result"] is None
    job = run(client, "bad-event").json()
    assert job["status"] == "failed" and "not JSON" in job["error"]
    assert client.get(f"/v1/jobs/{job['id']}/events").status_code == 200
    assert client.get("/v1/jobs").status_code == 200


@pytest.mark.parametrize(
    ("kind", "status", "needle"),
    [
        ("deep", "failed", "nested deeper than 64 levels"),
        ("inf", "failed", "must be finite"),
        ("nan-event", "failed", "must be finite"),
        ("bad-mime", "failed", "mime type must be a string"),
        ("surrogate-error", "failed", "broken \\ud800 text"),
        ("nan-usage", "succeeded", ""),
    ],
)
def test_no_skill_output_can_break_a_listing(
    acme: tuple[httpx.Client, threading.Event], kind: str, status: str, needle: str
) -> None:
    """Whatever a skill returns, reports or raises, the job, its events and every listing still render (issue 12 #7)."""
    client, _ = acme
    job = run(client, "unanswerable", {"kind": kind}).json()
    assert job["status"] == status and needle in (job["error"] or "")
    assert client.get(f"/v1/jobs/{job['id']}").status_code == 200
    assert client.get(f"/v1/jobs/{job['id']}/events").status_code == 200
    assert client.get("/v1/jobs").status_code == 200
    if kind == "nan-usage":
        assert job["usage"] == {} and job["cost_micros"] == 0


def test_context_events_cost_and_queued_cancel(acme: tuple[httpx.Client, threading.Event]) -> None:
    client, gate = acme
    job = run(client, "report", timeout="0").json()
    queued = run(client, "greet", {"name": "q"}, timeout="0").json()
    assert queued["status"] == "queued" and queued["started_at"] is None
    cancelled = client.post(f"/v1/jobs/{queued['id']}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["started_at"] is None and cancelled["finished_at"]
    assert [e["type"] for e in client.get(f"/v1/jobs/{queued['id']}/events").json()] == ["cancelled"]
    events = client.get(f"/v1/jobs/{job['id']}/events").json()
    while len(events) < 3:
        events = client.get(f"/v1/jobs/{job['id']}/events").json()
    todo = next(e for e in events if e["type"] == "tool_result")
    assert todo["payload"]["todos"] == [
        {"content": "plan", "status": "completed"},
        {"content": "do", "status": "in_progress"},
    ]
    assert todo["payload"]["message"] == "checklist: 1/2 done"
    response = next(e for e in events if e["type"] == "model_response")
    assert response["payload"] == {"text": "thinking", "message": "model response"}
    gate.set()
    done = run(client, "report").json()
    assert done["status"] == "succeeded" and done["cost_micros"] == 2000 and done["usage"] == {"tokens": 15}
    after = client.get(f"/v1/jobs/{queued['id']}").json()
    assert after["status"] == "cancelled" and after["started_at"] is None and after["result"] is None


MY_SKILLS = """
from puras_nb.local import SkillPack

pack = SkillPack("tools", workspace="acme")


@pack.skill("greet", version=1, schema={"properties": {"name": {"type": "string"}}, "required": ["name"]})
def greet(ctx, inputs):
    ctx.progress(1, 1, "greeting")
    return {"text": "hello " + inputs["name"]}


def make():
    return pack


not_a_pack = 42
"""


@pytest.fixture
def my_skills(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "my_skills_mod.py").write_text(MY_SKILLS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    return "my_skills_mod"


@pytest.mark.parametrize("in_process", [True, False])
def test_serving_your_own_skillpack(my_skills: str, in_process: bool) -> None:
    with local.start(skillpacks=[f"{my_skills}:pack"], in_process=in_process) as server:
        client = puras.Client(api_key=server.api_key, api_base=server.url)
        assert client.run("acme/tools/greet", {"name": "ada"}, poll_interval=0.05) == {"text": "hello ada"}
        assert client.run("demo/echo", {"a": 1}, poll_interval=0.05) == {"a": 1}
        auth = {"Authorization": f"Bearer {server.api_key}"}
        paths = [p["path"] for p in httpx.get(f"{server.url}/v1/skillpacks", headers=auth).json()]
        assert paths == ["acme/tools", "local/demo"]


def test_bad_skillpack_refs(my_skills: str) -> None:
    with local.start(skillpacks=[f"{my_skills}:make"], in_process=True) as server:
        assert "tools/greet" in httpx.get(f"{server.url}/health").json()["skills"]
    with pytest.raises(TypeError, match=r"is a int, not a puras_nb\.local\.SkillPack"):
        local.start(skillpacks=[f"{my_skills}:not_a_pack"], in_process=True)
    with pytest.raises(RuntimeError, match=r"bad --skillpack: 'nowhere': expected 'module:attribute'"):
        local.start(skillpacks=["nowhere"])
