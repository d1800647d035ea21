"""The views of what a job's events say of its run, driven by a hand-fed LiveJob (no kernel, no HTTP): the
current step line and the steps by their labels, each subagent's events in a group of the log (live, where a
group keeps its widget while its events do not change, and saved), and the states beside the status (cost
capped, an approval, resumed) as a badge and a line that says what to do, escaped wherever they come from."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from html import unescape
from typing import Any

import pytest

from puras_nb.notebook import live
from puras_nb.notebook.live import LiveJob
from puras_nb.views import JobWidget
from puras_nb.views.display import TerminalLine
from puras_nb.views.html import job_html, job_text

# A view asks the runtime session for previews: the shared emulator's, never one of its own.
pytestmark = pytest.mark.usefixtures("configured")

XSS = "<img src=x onerror=alert(1)>"


def _job(status: str = "running", **extra: Any) -> dict:
    return {"id": "0123456789abcdef", "status": status, "skill_name": "poster", "skillpack": "studio",
            "created_at": "2026-01-01T00:00:00Z", **extra}


class Run:
    """Feeds events to a LiveJob the way the worker emits them."""

    def __init__(self, job: LiveJob) -> None:
        self.job, self.next = job, 1

    def __call__(self, kind: str, **payload: Any) -> None:
        self.job._apply(events=[{"id": self.next, "type": kind, "payload": payload}])
        self.next += 1

    def step(self, use: str, label: str, name: str = "bash", ctx: str | None = None) -> None:
        extra = {"ctx": ctx} if ctx else {}
        self("tool_use", name=name, input={}, tool_use_id=use, label=label, **extra)
        self("tool_result", tool_use_id=use, ok=True, preview="ok", **extra)

    def subagent(self, sid: str, label: str, steps: int) -> None:
        self("subagent_start", label=label, depth=2, inproc=True, sid=sid)
        for i in range(steps):
            self.step(f"{sid}-{i}", f"{label} step {i + 1}", ctx=sid)
        self("subagent_end", label=label, status="succeeded", sid=sid)


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html.split("</style>")[-1])).split())


def test_the_step_line_and_the_steps_name_each_step_by_its_label() -> None:
    job = LiveJob(_job(), skill="studio/poster")
    view = JobWidget(job, hz=1e6)
    run = Run(job)
    run("agent_start", skill="poster")
    for i in range(7):
        run.step(f"t{i}", f"Render scene {i + 1}")
    run("tool_use", name="bash", input={}, tool_use_id="t7", label="Mux video and audio")
    assert job.message == job.step == "Mux video and audio"
    assert '<div class="puras-message"><i></i></div>' in view.head.value, "the steps list ends with it: said once"
    steps = view.head.value.split('<ul class="puras-todos puras-steps"', 1)[1].split(">", 1)[1].split("</ul>", 1)[0]
    assert text_of(steps) == ("… 3 earlier steps ✓ Render scene 4 ✓ Render scene 5 ✓ Render scene 6 "
                              "✓ Render scene 7 ▶ Mux video and audio")
    assert "Mux video and audio" in text_of(job_html(job))
    job._apply(_job("failed", error="the muxer crashed"))
    job._finish()
    assert "■ Mux video and audio stopped" in text_of(view.head.value), "where it stopped"
    assert "■ Mux video and audio stopped" in text_of(job_html(job))


def test_a_checklist_stays_the_progress_and_the_step_line_names_the_step() -> None:
    job = LiveJob(_job(), skill="studio/poster")
    view = JobWidget(job, hz=1e6)
    run = Run(job)
    run("tool_use", name="todo_write", input={}, tool_use_id="p", label="Plan the poster")
    run("tool_result", tool_use_id="p", ok=True, todos=[{"content": "Read", "status": "in_progress"}])
    run("tool_use", name="file_read", input={}, tool_use_id="r", label="Read the photo")
    assert "<li>▶ Read</li>" in view.head.value and 'class="puras-todos puras-steps"' not in view.head.value
    assert '<div class="puras-message"><i>Read the photo</i></div>' in view.head.value


def test_each_subagent_is_a_group_of_the_log_that_keeps_its_widget_while_it_does_not_change() -> None:
    job = LiveJob(_job(), skill="studio/poster")
    view = JobWidget(job, hz=1e6)
    run = Run(job)
    run.step("t0", "Plan", name="todo_write")
    view.log_box.selected_index = 0
    assert view.log_box.children == (view.log_html,), "no subagent: the log is one HTML, no widget more"
    run.subagent("s1", "layout", 2)
    run("subagent_start", label="caption", depth=2, inproc=True, sid="s2")
    run.step("c0", "Write the caption", ctx="s2")
    assert '<div class="puras-message"><i>caption › Write the caption</i></div>' in view.head.value, "which subagent"
    (parts,) = view.log_box.children
    assert parts is view._log_parts and len(parts.children) == 3 and parts.children[0] is view.log_html
    layout, caption = parts.children[1:]
    assert '<details class="puras-subagent puras-subagent-succeeded"><summary>' in layout.value, "folded once ended"
    assert "layout</b> <span class=\"puras-subagent-status\">succeeded · 4 events</span>" in layout.value
    assert '<details class="puras-subagent puras-subagent-running" open>' in caption.value, "open while it runs"
    assert '<li value="4">' in layout.value and "tool_use</span> layout step 1 (bash)" in layout.value
    shown = layout.value
    run.step("t9", "Deliver", name="set_output")
    assert parts.children[1] is layout and layout.value == shown, "its widget, and what a person opened, stay"
    assert "Deliver (set_output)" in parts.children[-1].value
    job._apply(_job("succeeded", result={"ok": True}))
    job._finish()
    assert view.details_toggle is not None and view._log_parts in view.details.children, "the one line folds it"
    saved = job_html(job)
    assert saved.count('<details class="puras-subagent') == 2, "saved, each subagent's group folds too"
    assert '<details class="puras-subagent puras-subagent-ended">' in saved, "caption never said it ended"


def test_the_states_are_a_badge_and_a_line_that_says_what_to_do_live_saved_and_as_text() -> None:
    job = LiveJob(_job(), skill="studio/poster")
    view = JobWidget(job, hz=1e6)
    run = Run(job)
    run("resumed", from_step=3)
    run("tool_use", name="send_email", input={"to": "c@x.io"}, tool_use_id="m", label="Email the client")
    run("approval_required", approval_id="ap-1", tool="send_email", input={"to": "c@x.io"})
    for html in (view.head.value, job_html(job)):
        assert '<span class="puras-pill puras-pill-warn puras-pill-approval"' in html
        assert ('needs approval</span><b>waiting for approval of `send_email` {"to": "c@x.io"}</b> '
                "<span class=puras-state-hint>· approve or deny it in the Puras dashboard</span>") in unescape(html)
        assert "resumed from step 3" in text_of(html)
    assert job_text(job).splitlines()[1:] == [
        'waiting for approval of `send_email` {"to": "c@x.io"} · approve or deny it in the Puras dashboard',
        "resumed from step 3 · its worker restarted; the steps before it were not run again",
    ]
    assert "waiting for approval of `send_email`" in TerminalLine(job, stream=_Sink()).line()
    run("approval_decided", approval_id="ap-1", decision="approved")
    run("cost_capped", step=4, spent_micros=12_600, cap_micros=10_000)
    job._apply(_job("failed", error="This run reached its per-run cost limit and was stopped."))
    job._finish()
    for html in (view.head.value, job_html(job)):
        assert "puras-pill-approval" not in html, "approved: nothing to wait for"
        assert "cost capped cost capped at $0.0126 of the $0.0100 limit, at step 4 · the run stopped there" in text_of(
            html)


def test_a_job_that_succeeded_after_a_resume_keeps_one_line_with_the_badge() -> None:
    job = LiveJob(_job(), skill="studio/echo")
    view = JobWidget(job, hz=1e6)
    Run(job)("resumed", from_step=2)
    job._apply(_job("succeeded", result={"ok": True}, finished_at="2026-01-01T00:00:02Z"))
    job._finish()
    assert view.details_toggle is not None
    assert 'title="resumed from step 2 · its worker restarted; the steps before it were not run again">resumed' in (
        view.head.value)
    assert "resumed from step 2" in text_of(job_html(job).split("<summary>", 1)[1])
    assert job_html(job).count('class="puras-pill ') == 1, "the badge on the line, its meaning folded under it"


def test_labels_tools_inputs_and_subagents_from_payloads_are_escaped() -> None:
    job = LiveJob(_job(), skill="studio/poster")
    view = JobWidget(job, hz=1e6)
    run = Run(job)
    run("subagent_start", label=XSS, sid=XSS)
    run("tool_use", name=XSS, input={XSS: XSS}, tool_use_id=XSS, label=XSS, ctx=XSS)
    run("confirm_requested", tool=XSS, input={XSS: XSS}, ctx=XSS)
    view.log_box.selected_index = 0
    shown = [view.head.value, job_html(job), view.log_html.value]
    for html in shown:
        assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert len(job_text(job).splitlines()) == 2, "the state is one line of text/plain, whatever its payload"


def _until(check: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_over_http_a_run_waits_for_approval_beside_its_status_then_its_one_line_keeps_the_decision() -> None:
    job = live.start("demo/storyboard", {"scenes": 2, "delay": 0.02, "approval": "denied", "hold": 2},
                     display=False)
    view = JobWidget(job, hz=1e6)
    _until(lambda: "puras-pill-approval" in view.head.value)
    waiting = text_of(view.head.value)
    assert ('needs approval waiting for approval of `send_email` {"to": "client@example.com", "subject": '
            '"Storyboard: a trail running shoe"} · approve or deny it in the Puras dashboard') in waiting
    assert "✓ Caption scene 2 ▶ Email the client" in waiting and waiting.count("Email the client") == 1
    _until(lambda: view.sent_final)  # no cell waits for it (that would fetch its last events)
    assert job.job["result"]["emailed"] is False
    # the decision came in the job's last events, which a viewed job that succeeded leaves on the server unless
    # its events said a state
    assert [s.badge for s in job.states] == ["approval denied"] and job.events_complete
    line = view.head.value.split("</style>")[-1]
    assert view.details_toggle is not None and 'puras-pill-approval" title="approval of `send_email`' in line
    saved = job_html(job)
    assert '<details class="puras-subagent puras-subagent-succeeded"><summary>' in saved
    assert "captions succeeded · 6 events" in text_of(saved) and "approval denied" in text_of(saved)


def test_over_http_a_run_stopped_at_its_cost_limit_says_so_live_saved_and_as_text() -> None:
    job = live.start("demo/storyboard", {"scenes": 6, "delay": 0, "cap_micros": 10_000}, display=False)
    view = JobWidget(job, hz=1e6)
    with pytest.raises(Exception, match="per-run cost limit"):
        job.result(timeout=20)
    _until(lambda: view.sent_final)
    line = "cost capped at $0.0126 of the $0.0100 limit, at step 4"
    for html in (view.head.value, job_html(job)):
        assert f"cost capped {line} · the run stopped there" in text_of(html)
    assert job_text(job).splitlines()[1].startswith(line)
    assert [(s.name, s.state) for s in job.steps] == [
        ("Read the brief", "done"), ("Sketch scene 1", "done"), ("Sketch scene 2", "done")]


class _Sink:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass
