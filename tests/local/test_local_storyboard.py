"""The demo skill `storyboard` reports its run as the hosted worker does (puras-runner's worker/agent_runner.py and
worker/approvals.py), over HTTP: labelled `tool_use` steps with no `message`, a subagent whose own events carry
`ctx` = its `sid`, and on request `cost_capped`, `approval_required` / `approval_decided` and `resumed`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from puras_nb.local.demopack import COST_CAPPED, STEP_MICROS
from tests.harness.served import served


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with served() as client:
        yield client


def run(http: httpx.Client, inputs: dict) -> tuple[dict, list[dict]]:
    r = http.post("/v1/jobs", params={"skillpack": "demo", "wait": "true", "timeout": "60"},
                  json={"skill": "storyboard", "inputs": {"delay": 0, **inputs}})
    assert r.status_code == 201, r.text
    job = r.json()
    return job, http.get(f"/v1/jobs/{job['id']}/events").json()


def test_labelled_steps_and_a_subagent_whose_events_carry_its_sid(http: httpx.Client) -> None:
    job, events = run(http, {"brief": "a kettle", "scenes": 2})
    assert job["status"] == "succeeded" and job["result"]["captions"] == ["A kettle, 1 of 2", "A kettle, 2 of 2"]
    labels = [e["payload"]["label"] for e in events if e["type"] == "tool_use"]
    assert labels == ["Read the brief", "Sketch scene 1", "Sketch scene 2", "Caption scene 1", "Caption scene 2",
                      "Deliver the storyboard"]
    assert all("message" not in e["payload"] for e in events[1:]), "the worker's events carry no message"
    start = next(e for e in events if e["type"] == "subagent_start")["payload"]
    end = next(e for e in events if e["type"] == "subagent_end")["payload"]
    assert start["label"] == end["label"] == "captions" and start["sid"] == end["sid"] and end["status"] == "succeeded"
    stamped = [e for e in events if e["payload"].get("ctx") == start["sid"]]
    assert [e["type"] for e in stamped] == ["model_response", "tool_use", "tool_result"] * 2
    assert "ctx" not in start and "ctx" not in end, "the parent emits the subagent's start and end"
    assert job["steps"] == 6 and job["cost_micros"] == 6 * STEP_MICROS


def test_the_cost_limit_stops_the_run_before_the_step_that_would_pass_it(http: httpx.Client) -> None:
    job, events = run(http, {"scenes": 6, "cap_micros": 3 * STEP_MICROS})
    assert job["status"] == "failed" and job["error"] == COST_CAPPED
    capped = next(e for e in events if e["type"] == "cost_capped")["payload"]
    assert capped == {"step": 4, "spent_micros": 3 * STEP_MICROS, "cap_micros": 3 * STEP_MICROS}
    assert [e["type"] for e in events[-2:]] == ["cost_capped", "error"] and job["cost_micros"] == 3 * STEP_MICROS


@pytest.mark.parametrize(("decision", "emailed"), [("approved", True), ("denied", False), ("expired", False)])
def test_a_gated_tool_waits_for_its_approval(http: httpx.Client, decision: str, emailed: bool) -> None:
    job, events = run(http, {"scenes": 1, "approval": decision, "hold": 0})
    assert job["status"] == "succeeded" and job["result"]["emailed"] is emailed
    kinds = [e["type"] for e in events]
    asked = kinds.index("approval_required")
    assert kinds[asked - 1] == "tool_use" and kinds[asked + 1:asked + 3] == ["approval_decided", "tool_result"]
    required, decided = events[asked]["payload"], events[asked + 1]["payload"]
    assert required["tool"] == "send_email" and required["input"]["to"] == "client@example.com"
    assert decided["approval_id"] == required["approval_id"] and decided["decision"] == decision
    assert events[asked + 2]["payload"]["ok"] is emailed


def test_a_resumed_run_says_from_which_step_and_counts_on_from_there(http: httpx.Client) -> None:
    job, events = run(http, {"scenes": 2, "resume_from": 4})
    assert [e["type"] for e in events[:2]] == ["agent_start", "resumed"] and events[1]["payload"] == {"from_step": 4}
    assert next(e for e in events if e["type"] == "model_response")["payload"]["step"] == 4
    assert job["steps"] == 4 + 6 - 1
