"""What a job's events say of its run (model/events.py through LiveJob): steps named by their `tool_use` labels,
subagents' events nested under them (stamped with `ctx` as the hosted worker does, or by position as a local run
leaves them), and the states beside the status (cost capped, an approval, resumed), each told as a `Change`.
The payload shapes are the worker's (puras-runner: worker/agent_runner.py, approvals.py, event_ctx.py)."""

from __future__ import annotations

from typing import Any

import pytest

from puras_nb.model.job import LiveJob, job_text
from puras_nb.model.protocols import Change, Group, Row
from puras_nb.model.text import event_text


class Feed:
    """A hand-fed LiveJob (no server) and every change its observers were told."""

    def __init__(self, status: str = "running") -> None:
        self.job = LiveJob({"id": "job-1", "status": status}, skill="studio/poster")
        self.heard: list[frozenset[Change]] = []
        self.job.subscribe(lambda _job, changed: self.heard.append(changed))
        self.next = 1

    def __call__(self, kind: str, **payload: Any) -> frozenset[Change]:
        self.heard.clear()
        self.job._apply(events=[{"id": self.next, "type": kind, "payload": payload}])
        self.next += 1
        return self.heard[-1]

    def end(self, status: str, **job: Any) -> None:
        self.job._apply({"id": "job-1", "status": status, **job})
        self.job._finish()


def tool(feed: Feed, use: str, label: str | None, name: str = "bash", ctx: str | None = None, ok: bool = True) -> None:
    extra = {"ctx": ctx} if ctx else {}
    feed("tool_use", name=name, input={}, tool_use_id=use, **({"label": label} if label else {}), **extra)
    feed("tool_result", tool_use_id=use, ok=ok, preview="exit=0" if ok else "exit=2", **extra)


def shape(items: list[Row | Group]) -> list:
    """The log's items as nested lists: an event's type, or (subagent label, status, [its items])."""
    return [(i.subagent.label, i.subagent.status, shape(i.items)) if isinstance(i, Group) else i.event["type"]
            for i in items]


def test_a_tool_use_label_names_the_step_in_the_step_line_the_steps_and_the_log() -> None:
    feed = Feed()
    feed("agent_start", skill="poster")
    assert feed("tool_use", name="file_read", label="Read the photo", tool_use_id="t1") >= {Change.STEP}
    assert feed.job.message == feed.job.step == "Read the photo"
    assert [(s.name, s.state) for s in feed.job.steps] == [("Read the photo", "running")]
    assert feed("tool_result", tool_use_id="t1", ok=True, preview="read 2 KB") >= {Change.STEP}
    assert feed.job.message == "Read the photo", "a tool's result is part of its step"
    assert [(s.name, s.state) for s in feed.job.steps] == [("Read the photo", "done")]
    tool(feed, "t2", None, name="drive_url")  # unlabelled: an internal call the agent keeps to itself
    assert feed.job.message == "drive_url" and [s.name for s in feed.job.steps] == ["Read the photo"]
    tool(feed, "t3", "Render the poster", ok=False)
    assert [s.state for s in feed.job.steps] == ["done", "failed"]
    lines = [event_text(e) for e in feed.job.known_events]
    assert lines[1:4] == ["tool_use: Read the photo (file_read)", "tool_result: read 2 KB", "tool_use: drive_url"]
    assert lines[-1] == "tool_result: failed: exit=2"
    feed("tool_use", name="bash", label="Try again", tool_use_id="t4")
    feed.end("failed", error="boom")
    assert [s.state for s in feed.job.steps][-1] == "stopped", "the step the job ended on"


def test_a_subagents_stamped_events_nest_under_it_even_when_subagents_interleave() -> None:
    feed = Feed()
    tool(feed, "t1", "Plan", name="todo_write")
    feed("tool_use", name="run_subagent", label="Lay out and caption", tool_use_id="s1")
    feed("subagent_start", label="layout", depth=2, inproc=True, sid="s1")
    feed("subagent_start", label="caption", depth=2, inproc=True, sid="s2")
    feed("agent_start", skill="layout", ctx="s1")
    feed("agent_start", skill="caption", ctx="s2")
    tool(feed, "a", "Lay out the headline", ctx="s1")
    assert feed.job.step == "layout › Lay out the headline"
    feed("subagent_start", label="fonts", depth=3, sid="s3", ctx="s1")  # a subagent of the layout subagent
    tool(feed, "b", "Write the caption", ctx="s2")
    tool(feed, "c", "Pick a font", ctx="s3")
    assert feed.job.step == "layout › fonts › Pick a font"
    feed("subagent_end", label="fonts", status="succeeded", sid="s3", ctx="s1")
    feed("subagent_end", label="caption", status="failed", sid="s2")
    feed("model_response", step=3)  # the run's own, while layout still runs: no ctx
    assert shape(feed.job.log_items()) == [
        "tool_use", "tool_result", "tool_use",
        ("layout", "running", ["agent_start", "tool_use", "tool_result",
                               ("fonts", "succeeded", ["tool_use", "tool_result"])]),
        ("caption", "failed", ["agent_start", "tool_use", "tool_result"]),
        "model_response",
    ]
    assert [(s.name, s.level) for s in feed.job.steps][-3:] == [
        ("Lay out the headline", 1), ("Write the caption", 1), ("Pick a font", 2)]
    group = feed.job.log_items()[3]
    assert isinstance(group, Group) and group.position == 4 and group.size == 5
    feed.end("failed", error="boom")
    assert shape(feed.job.log_items())[3][:2] == ("layout", "stopped"), "it never said it ended"


def test_a_local_runs_unstamped_events_belong_to_the_subagent_that_runs() -> None:
    feed = Feed()  # `puras serve` stamps no ctx: the events between a start and its end are the subagent's
    feed("subagent_start", label="layout", depth=2, sid="s1")
    tool(feed, "a", "Lay out the headline")
    assert feed.job.step == "layout › Lay out the headline"
    feed("subagent_end", label="layout", status="succeeded", sid="s1")
    assert feed.job.message == "layout succeeded", "its status read with its label, never alone"
    assert event_text(feed.job.events[-1]) == "subagent_end: layout succeeded"
    tool(feed, "b", "Deliver")
    assert feed.job.step == "Deliver"
    assert shape(feed.job.log_items()) == [("layout", "succeeded", ["tool_use", "tool_result"]), "tool_use",
                                          "tool_result"]


def test_the_log_window_keeps_the_groups_of_the_events_in_it() -> None:
    feed = Feed()
    feed("subagent_start", label="layout", sid="s1")
    for i in range(30):
        tool(feed, f"a{i}", f"step {i}", ctx="s1")
    feed("subagent_end", label="layout", status="succeeded", sid="s1")
    feed("tool_use", name="set_output", label="Deliver", tool_use_id="z")
    items = feed.job.log_items(10)
    assert [i.position for i in items] == [54, 63], "the group starts at its first event in the window"
    assert shape(items) == [("layout", "succeeded", ["tool_use", "tool_result"] * 4), "tool_use"]
    assert shape(feed.job.log_items(2)) == ["subagent_end", "tool_use"], "an end whose group is out of the window"


def test_cost_capped_is_a_state_with_how_much_of_the_limit_and_what_to_do() -> None:
    feed = Feed()
    tool(feed, "a", "Render")
    assert feed("cost_capped", step=4, spent_micros=12_600, cap_micros=10_000) >= {Change.STATE}
    feed("error", message="This run reached its per-run cost limit and was stopped.")
    feed.end("failed", error="This run reached its per-run cost limit and was stopped.")
    (state,) = feed.job.states
    assert (state.kind, state.badge, state.tone) == ("cost_capped", "cost capped", "warn")
    assert state.text == "cost capped at $0.0126 of the $0.0100 limit, at step 4"
    assert "raise the per-run cost limit" in state.hint
    assert job_text(feed.job).splitlines() == [
        "<LiveJob studio/poster failed>",
        f"{state.text} · {state.hint}",
        "error: This run reached its per-run cost limit and was stopped.",
    ]


def test_an_approval_waits_until_it_is_decided() -> None:
    feed = Feed()
    feed("tool_use", name="send_email", label="Email the client", tool_use_id="m1")
    assert feed("approval_required", approval_id="ap-1", tool="send_email", input={"to": "c@x.io"}) >= {Change.STATE}
    (state,) = feed.job.states
    assert state.badge == "needs approval" and state.text == 'waiting for approval of `send_email` {"to": "c@x.io"}'
    assert state.hint == "approve or deny it in the Puras dashboard"
    assert feed.job.message == "Email the client", "the step line stays on the step; the state says the rest"
    assert "waiting for approval" in job_text(feed.job).splitlines()[1]
    assert feed("approval_decided", approval_id="other", decision="denied") == {Change.EVENTS}, "another approval"
    assert feed("approval_decided", approval_id="ap-1", decision="approved", reason=None) >= {Change.STATE}
    assert feed.job.states == []
    feed("approval_required", approval_id="ap-2", tool="send_email", input={})
    feed("approval_decided", approval_id="ap-2", decision="denied", reason="not this client")
    feed("tool_result", tool_use_id="m1", ok=False, preview="ERROR: denied")
    (state,) = feed.job.states
    assert (state.badge, state.text) == ("approval denied", "approval of `send_email` {} denied: not this client")


def test_a_local_confirmation_ends_with_the_next_event_of_the_agent_that_waits() -> None:
    feed = Feed()
    feed("subagent_start", label="mailer", sid="s1")
    feed("confirm_requested", tool="send_email", input={"to": "c@x.io"}, ctx="s1")
    (state,) = feed.job.states
    assert state.badge == "needs confirmation" and "answer y or n in the terminal" in state.hint
    assert feed("tool_use", name="bash", label="Meanwhile", tool_use_id="x") == {Change.EVENTS, Change.STEP}
    assert feed.job.states, "another agent's event says nothing of this wait"
    assert Change.STATE in feed("tool_result", tool_use_id="y", ok=True, ctx="s1")
    assert feed.job.states == []


def test_a_job_that_ended_while_waiting_says_so() -> None:
    feed = Feed()
    feed("approval_required", approval_id="ap-1", tool="deploy", input={"env": "prod"})
    feed.end("cancelled")
    (state,) = feed.job.states
    assert state.text == 'stopped while waiting for approval of `deploy` {"env": "prod"}'


def test_resumed_says_from_which_step_and_how_often() -> None:
    feed = Feed()
    assert feed("resumed", from_step=3) >= {Change.STATE}
    assert [s.text for s in feed.job.states] == ["resumed from step 3"]
    feed("resumed", from_step=7)
    feed.end("succeeded", result={"ok": True})
    shown = [(s.badge, s.text, s.tone) for s in feed.job.states]
    assert shown == [("resumed", "resumed from step 7 (2 times)", "info")]
    assert job_text(feed.job).splitlines()[1].startswith("resumed from step 7 (2 times) · its worker restarted")


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>\x1b[31m\r\nred",
    "x" * 5000,
    "\u202eevil\u2028line",
])
def test_untrusted_payloads_are_one_line_cut_and_never_raise(hostile: str) -> None:
    feed = Feed()
    feed("tool_use", name=hostile, label=hostile, tool_use_id=hostile)
    feed("subagent_start", label=hostile, sid=hostile)
    feed("cost_capped", step=hostile, spent_micros=float("nan"), cap_micros=[1])
    feed("resumed", from_step={"x": 1})
    feed("approval_required", approval_id=5, tool=hostile, input={hostile: hostile})
    for text in [feed.job.step, feed.job.message, *(s.name for s in feed.job.steps),
                 *(s.line for s in feed.job.states), job_text(feed.job)]:
        assert "\x1b" not in text and "\r" not in text and "\u2028" not in text
    assert len(feed.job.steps[0].name) <= 80 and len(feed.job.step) <= 2 * 80 + 3
    assert [s.text for s in feed.job.states] == [
        "cost capped: the run reached its cost limit", feed.job.states[1].text, "resumed"]
    assert feed.job.states[1].text.startswith("waiting for approval of `") and len(feed.job.states[1].text) < 200


@pytest.mark.parametrize("payload", [None, [], "text", {"label": 5, "sid": ["x"], "ctx": 7, "tool_use_id": {}}])
def test_payloads_of_the_wrong_shape_read_as_missing(payload: Any) -> None:
    job = LiveJob({"id": "j", "status": "running"})
    kinds = ("tool_use", "tool_result", "subagent_start", "subagent_end", "cost_capped", "approval_required",
             "confirm_requested", "approval_decided", "resumed")
    job._apply(events=[{"id": i + 1, "type": kind, "payload": payload} for i, kind in enumerate(kinds)])
    assert job.step in ("tool", "subagent › tool") and [s.kind for s in job.states] == ["cost_capped", "resumed"]
    assert sum(1 for _ in job.log_items()) >= 1


def test_a_loop_of_parents_shows_at_the_top_instead_of_hanging() -> None:
    feed = Feed()
    feed("subagent_start", label="a", sid="A", ctx="B")
    feed("subagent_start", label="b", sid="B", ctx="A")
    feed("tool_use", name="x", label="inside", tool_use_id="t", ctx="A")
    assert feed.job.step in ("b › a › inside", "a › inside")
    assert len(feed.job.log_items()) == 1
