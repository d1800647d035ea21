"""The emulator's skillpack deployments, spans, balance and platform-only answers, over loopback HTTP.

An in-process emulator of its own per test: activating a deployment changes what later jobs run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from puras_nb.local.skills import RunContext, SkillFailed, SkillPack
from tests.harness.served import served


def build_pack(gate: threading.Event) -> SkillPack:
    pack = SkillPack("tools", workspace="acme", name="Acme tools")

    @pack.skill("greet", version=1)
    def greet(ctx: RunContext, inputs: dict) -> dict:
        return {"version": ctx.version}

    @pack.skill("late", version=3)
    def late(ctx: RunContext, inputs: dict) -> dict:
        return {"version": ctx.version}

    @pack.skill("steps", version=1)
    def steps(ctx: RunContext, inputs: dict) -> dict:
        ctx.progress(1, 2, "planning")
        ctx.add_cost(1500)
        ctx.progress(2, 2, "doing")
        if inputs.get("fail"):
            raise SkillFailed("gave up")
        if inputs.get("block"):
            gate.wait(10)
        return {}

    return pack


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    gate = threading.Event()
    try:
        with served(packs=[build_pack(gate)]) as client:
            yield client
    finally:
        gate.set()


def run(http: httpx.Client, skill: str, inputs: dict | None = None, **params: str) -> httpx.Response:
    query = {"skillpack": "acme/tools", "wait": "true", **params}
    return http.post("/v1/jobs", params=query, json={"skill": skill, "inputs": inputs or {}})


def test_activate_changes_what_unpinned_jobs_run(http: httpx.Client) -> None:
    v3, v1 = http.get("/v1/skillpacks/acme/tools/deployments").json()
    assert (v3["version"], v3["is_active"], v3["skills"]) == (3, True, ["greet", "late", "steps"])
    assert (v1["version"], v1["is_active"], v1["skills"], v1["activated_at"]) == (1, False, ["greet", "steps"], None)
    pack = http.get("/v1/skillpacks").json()[0]
    assert pack["name"] == "Acme tools" and pack["active_version"] == 3 and pack["active_deployment_id"] == v3["id"]

    activated = http.post(f"/v1/skillpacks/tools/deployments/{v1['id']}/activate").json()
    assert activated["version"] == 1 and activated["is_active"] and activated["activated_at"]
    pack = http.get("/v1/skillpacks").json()[0]
    assert pack["active_version"] == 1 and pack["active_deployment_id"] == v1["id"]
    assert pack["versions"] == [1, 3]
    job = run(http, "greet").json()
    assert job["result"] == {"version": 1} and job["deployment_id"] == v1["id"]
    missing = run(http, "late")
    assert missing.status_code == 404 and "does not exist in version 1" in missing.json()["detail"]
    assert run(http, "late", version="3").json()["result"] == {"version": 3}
    replayed = http.post(f"/v1/jobs/{run(http, 'greet', version='3').json()['id']}/replay").json()
    assert replayed["version"] == 1, "a replay runs on the active deployment (the official CLI: 'default: active')"


def test_unknown_deployment_or_pack_is_404(http: httpx.Client) -> None:
    r = http.post("/v1/skillpacks/acme/tools/deployments/not-an-id/activate")
    assert r.status_code == 404 and "deployments: v1 " in r.json()["detail"]
    assert http.get("/v1/skillpacks/acme/nope/deployments").status_code == 404
    assert http.get("/v1/skillpacks/acme/tools/nothing").status_code == 404
    assert http.get("/v1/skillpacks/acme/tools/deployments/x/activate").status_code == 405


def test_spans_of_a_failed_and_a_running_job(http: httpx.Client) -> None:
    failed = run(http, "steps", {"fail": True}).json()
    root, planning, doing = http.get(f"/v1/jobs/{failed['id']}/spans").json()
    assert (root["kind"], root["parent_span_id"], root["attributes"]["ok"]) == ("run", None, False)
    assert root["name"] == "skill steps v3" and root["status"] == "failed" and root["end"] == failed["finished_at"]
    assert [s["name"] for s in (planning, doing)] == ["planning", "doing"]
    assert {planning["parent_span_id"], doing["parent_span_id"]} == {root["span_id"]}
    assert planning["attributes"] == {"step": 1, "total": 2} and doing["attributes"]["ok"] is False
    assert planning["end"] == doing["start"] and doing["end"] == root["end"]
    assert all(isinstance(s["duration_ms"], int) and s["duration_ms"] >= 0 for s in (root, planning, doing))

    running = run(http, "steps", {"block": True}, timeout="0.3").json()
    assert running["status"] == "running"
    root, _, doing = http.get(f"/v1/jobs/{running['id']}/spans").json()
    assert root["end"] is None and doing["end"] is None and "ok" not in root["attributes"]


def test_balance_sums_job_costs(http: httpx.Client) -> None:
    before = http.get("/v1/billing/balance").json()
    assert before == {
        "workspace_id": "00000000-0000-0000-0000-000000000000",
        "balance_usd": 0.0,
        "billed": False,
        "jobs_cost_micros": 0,
        "jobs_cost_usd": 0.0,
    }
    run(http, "steps")
    run(http, "steps", {"fail": True})
    after = http.get("/v1/billing/balance").json()
    assert after["jobs_cost_micros"] == 3000 and after["jobs_cost_usd"] == 0.003 and after["balance_usd"] == 0.0


def test_platform_only_routes_answer_501(http: httpx.Client) -> None:
    for method, path in [
        ("POST", "/v1/skillpacks"),
        ("POST", "/v1/skillpacks/acme/tools/deployments"),
        ("DELETE", "/v1/skillpacks/tools/secrets/TOKEN"),
        ("GET", "/v1/evals/e1"),
    ]:
        r = http.request(method, path)
        assert r.status_code == 501 and "needs the hosted Puras platform" in r.json()["detail"], (method, path)
    prompt = http.post("/v1/jobs", json={"prompt": "write a haiku", "inputs": {}})
    assert prompt.status_code == 501 and prompt.json()["detail"].startswith("inline prompt runs: not in the emulator")
    assert http.get("/v1/billing/nothing").status_code == 404
