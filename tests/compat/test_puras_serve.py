"""The test peer itself: puras-runner's own `puras serve` over the test skillpack, only its skill runner replaced.

What the notebook tests rely on is checked here against the official client and puras-runner's own parser: the
server is the real one (its routes, auth and answers), the skillpack is one `puras init` could have written, and the
deterministic runner emits its events and spans through the server's own paths.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import puras
import pytest

from tests.harness.puras_serve import PurasServe

pytest.importorskip("worker.local_server", reason="puras-runner (the test extra) provides puras serve")


def test_health_names_the_bundle_and_its_top_level_skills(puras_serve: PurasServe) -> None:
    health = httpx.get(f"{puras_serve.url}/health", timeout=10).json()
    assert health["service"] == "puras-local" and "bundle_error" not in health
    assert Path(health["bundle_dir"]) == puras_serve.bundle_dir.resolve()
    assert sorted(health["skills"]) == ["budget", "count", "echo", "flaky", "gated", "poster", "resume", "wait"], (
        "no subskill, no lib/")


def test_the_skillpack_parses_with_puras_runner_s_own_parser(puras_serve: PurasServe) -> None:
    from worker.manifest import parse_bundle_dir

    manifest = parse_bundle_dir(puras_serve.bundle_dir)
    poster = next(s for s in manifest.skills if s.name == "poster")
    assert poster.input_schema["properties"]["photo"]["type"] == "image"
    assert poster.input_schema["properties"]["accent"]["type"] == "color"
    assert poster.output_schema["properties"]["poster"]["type"] == "image"
    assert [s.name for s in manifest.skills if s.parent_skill == "poster"] == ["poster/layout"]


def test_the_server_requires_its_key(puras_serve: PurasServe) -> None:
    answer = httpx.get(f"{puras_serve.url}/v1/jobs", timeout=10)
    assert answer.status_code == 401


def test_the_official_client_runs_a_dialect_skill(puras_serve: PurasServe) -> None:
    client = puras.Client(api_key=puras_serve.api_key, api_base=puras_serve.url, skillpack="studio")
    result = client.run("poster", {"photo": "https://example.com/a.png", "headline": "Hello", "accent": "#0f0"},
                        poll_interval=0.1)
    assert result["caption"] == "Hello (#0f0)"
    assert result["poster"].startswith("data:image/png;base64,")


def test_events_and_spans_come_through_the_server_s_own_routes(puras_serve: PurasServe) -> None:
    headers = {"Authorization": f"Bearer {puras_serve.api_key}"}
    job = httpx.post(f"{puras_serve.url}/v1/jobs", params={"wait": "true", "timeout": "30"}, headers=headers,
                     json={"skill": "studio/count", "inputs": {"n": 2, "delay": 0}}, timeout=40).json()
    assert job["status"] == "succeeded" and job["result"] == {"count": 2}
    events = httpx.get(f"{puras_serve.url}/v1/jobs/{job['id']}/events", headers=headers, timeout=10).json()
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    kinds = [e["type"] for e in events]
    assert kinds[0] == "agent_start" and {"model_response", "tool_use", "tool_result"} <= set(kinds)
    labels = [e["payload"].get("label") for e in events if e["type"] == "tool_use"]
    assert labels == ["Counting 1 of 2", "Counting 2 of 2", "Report the count"]
    todos = [e["payload"]["todos"] for e in events if e["type"] == "tool_result" and "todos" in e["payload"]]
    assert [t["status"] for t in todos[-1]] == ["completed", "completed"]
    spans = httpx.get(f"{puras_serve.url}/v1/jobs/{job['id']}/spans", headers=headers, timeout=10).json()
    assert sorted({s["kind"] for s in spans}) == ["llm", "run", "step", "tool"]
    root = [s for s in spans if s["parent_span_id"] is None]
    assert len(root) == 1 and root[0]["name"] == "run:count"
    ids = {s["span_id"] for s in spans}
    assert all(s["parent_span_id"] in ids for s in spans if s is not root[0])


def test_a_bad_input_fails_the_job_with_the_schema_s_words(puras_serve: PurasServe) -> None:
    client = puras.Client(api_key=puras_serve.api_key, api_base=puras_serve.url, skillpack="studio")
    with pytest.raises(puras.JobError, match="n: 'many' is not of type 'integer'"):
        client.run("count", {"n": "many"}, poll_interval=0.1)


def test_the_routes_puras_serve_lacks(puras_serve: PurasServe) -> None:
    """What the notebook path must cope with: no catalog, cancel, feedback, replay, versions or billing."""
    headers = {"Authorization": f"Bearer {puras_serve.api_key}"}
    job = httpx.post(f"{puras_serve.url}/v1/jobs", headers=headers, timeout=10,
                     json={"skill": "echo", "inputs": {"prompt": "hi"}}).json()
    for method, path in [
        ("GET", "/v1/skillpacks"),
        ("GET", "/v1/skillpacks/studio/deployments"),
        ("GET", "/v1/billing/balance"),
        ("POST", f"/v1/jobs/{job['id']}/cancel"),
        ("POST", f"/v1/jobs/{job['id']}/feedback"),
        ("POST", f"/v1/jobs/{job['id']}/replay"),
    ]:
        answer = httpx.request(method, f"{puras_serve.url}{path}", headers=headers, timeout=10)
        assert answer.status_code == 404 and answer.json()["detail"].startswith("no route for"), path
