"""The public helpers behind the magics, without a kernel: argument parsing, messages, completion,
settings, the jobs table and fan-out, event following, the skills list and the connection helpers."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace
from typing import Any

import pytest
from IPython.core.error import UsageError

from puras_nb import settings as settings_store
from puras_nb.errors import JobError, one_line
from puras_nb.model.protocols import JobState
from puras_nb.model.table import JobsTable
from puras_nb.notebook import connection, live
from puras_nb.notebook.fanout import fan_out, follow, table
from puras_nb.notebook.magics import USAGE, Puras, PurasMagics, _run_parser, failure_message, job_id
from puras_nb.runtime import session as runtime_session

# -- argument parsing and messages ------------------------------------------------------------


def test_options_mix_with_key_value_pairs() -> None:
    args = _run_parser(False).parse_intermixed_args(
        ["demo/echo", "a=1", "--bg", "b=x y", "-o", "v", "--version", "2", "--no-cancel-on-interrupt"]
    )
    assert (args.skill, args.inputs, args.bg, args.out, args.version) == ("demo/echo", ["a=1", "b=x y"], True, "v", 2)
    assert args.cancel_on_interrupt is False and args.display is True
    assert _run_parser(False).parse_intermixed_args(["s"]).cancel_on_interrupt is None


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["demo/echo", "--nope"], "unrecognized arguments: --nope"),
        ([], "required: SKILL"),
        (["demo/echo", "--version", "two"], "argument --version: invalid int value: 'two'"),
        (["demo/echo", "--ver", "2"], "unrecognized arguments: --ver"),
    ],
)
def test_usage_errors_are_one_line_with_the_usage(argv: list[str], fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        _run_parser(False).parse_intermixed_args(argv)
    message = str(info.value)
    assert fragment in message and message.endswith("usage: " + USAGE["run"]) and "\n" not in message


def test_a_short_error_carries_no_control_sequences_from_the_job() -> None:
    """IPython prints the one-line error straight to a terminal: only our own colour codes may be in it."""
    err = JobError({"id": "j-1", "status": "failed", "error": "boom \x1b]52;c;ZXZpbA==\x07\x1b[2J\r\n\x9b31m"})
    (line,) = one_line(err)._render_traceback_()
    assert line == "\x1b[0;31mJobError\x1b[0m: job j-1 failed: boom"
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", line.replace("\x1b[0;31m", "").replace("\x1b[0m", ""))


def test_failure_message_names_status_error_last_event_and_id() -> None:
    job = SimpleNamespace(
        skill="demo/fail",
        status="failed",
        id="j-1",
        job={"error": "kaput"},
        error_text="kaput",
        events=[{"type": "progress", "payload": {"message": "step 1"}}, {"type": "error", "payload": {"message": "x"}}],
        states=[],
    )
    assert failure_message(job) == "demo/fail failed: kaput · last event: error 'x' · job j-1"
    job.states = [JobState("cost_capped", "cost capped", "cost capped at $2.00 of the $2.00 limit", "rerun", "warn"),
                  JobState("resumed", "resumed", "resumed from step 2", "", "info")]
    assert failure_message(job) == ("demo/fail failed: kaput · cost capped at $2.00 of the $2.00 limit · "
                                    "last event: error 'x' · job j-1"), "what stopped it; not an info state"
    job.states = []
    assert failure_message(job, shown=True) == "demo/fail failed: kaput · last event: error 'x' · job j-1"
    job.error_text = "x" * 200
    assert failure_message(job, shown=True) == "demo/fail failed, the error is shown above · job j-1"
    job.events, job.job, job.error_text = [], {}, ""
    assert failure_message(job, RuntimeError("lost")) == "demo/fail failed: lost · job j-1"


def test_a_retold_error_keeps_its_type_and_leaves_the_original_alone() -> None:
    from puras_nb.errors import PurasConnectionError
    from puras_nb.notebook.magics import retold

    original = PurasConnectionError("POST /v1/jobs: cannot reach 127.0.0.1:9", host="127.0.0.1:9")
    twin = retold(original, "demo/echo not sent: the error is shown above")
    assert type(twin) is PurasConnectionError and twin.host == "127.0.0.1:9"
    assert str(twin) == "demo/echo not sent: the error is shown above" and "cannot reach" in str(original)


def test_job_ids_from_variables() -> None:
    ns = {"s": "abc", "d": {"id": "from-dict"}, "j": SimpleNamespace(id="from-job"), "n": 3}
    assert job_id("plain-id", ns) == "plain-id"
    assert job_id("$s", ns) == "abc"
    assert job_id("$d", ns) == "from-dict"
    assert job_id("$j", ns) == "from-job"
    with pytest.raises(UsageError, match=r"\$n is not a job"):
        job_id("$n", ns)
    with pytest.raises(UsageError, match="no variable named 'zz'"):
        job_id("$zz", ns)


def test_help_lists_every_subcommand() -> None:
    text = PurasMagics.help_text()
    for usage in USAGE.values():
        assert usage in text


def test_settings_default_from_the_environment_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from puras_nb import settings as store

    monkeypatch.setenv("PURAS_SKILLPACK", "demo")
    monkeypatch.setenv("PURAS_NB_TIMEOUT", "30")
    monkeypatch.setenv("PURAS_NB_CANCEL_ON_INTERRUPT", "false")
    monkeypatch.delenv("PURAS_API_BASE", raising=False)
    monkeypatch.setattr(store, "_settings", None)
    settings = Puras()
    assert settings.values() == {"skillpack": "demo", "timeout": 30.0, "poll_interval": 1.0,
                                 "cancel_on_interrupt": False}
    assert store.current().cancel_on_interrupt is False, "one store: the magics and puras_nb.start agree"
    monkeypatch.setenv("PURAS_NB_TIMEOUT", "soon")
    assert Puras().timeout == 30.0, "the environment is read once"
    monkeypatch.setattr(store, "_settings", None)
    assert Puras().timeout is None


def test_setting_a_trait_configures_live_jobs() -> None:
    before = live.settings()
    try:
        settings = Puras()
        settings.poll_interval = 0.25
        settings.preview_max_bytes = 1234
        assert (live.settings().poll_interval, live.settings().preview_max_bytes) == (0.25, 1234)
    finally:
        settings_store.restore(before)


def test_the_traits_are_made_from_the_settings_with_their_defaults() -> None:
    from dataclasses import fields

    defaults = {f.name: f.default for f in fields(settings_store.Settings)}
    traits = Puras.class_traits(config=True)
    assert set(traits) == set(Puras.NAMES) == set(settings_store.MAGIC_HELP)
    for name, trait in traits.items():
        assert (trait.default_value, trait.help) == (defaults[name], settings_store.MAGIC_HELP[name])


def test_percent_puras_run_uses_what_configure_set_after_the_magics_loaded(configured: None) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    from puras_nb.notebook import magics

    shell = InteractiveShell.instance()
    magics.load_ipython_extension(shell)
    try:
        settings_store.configure(timeout=0.5)
        with pytest.raises(JobError, match=r"still \w+ after 0.5 s; cancelled it"):
            shell.run_line_magic("puras", "run demo/hang --no-display")
    finally:
        magics.unload_ipython_extension(shell)


def test_a_timed_out_run_whose_cancel_stalls_ends_soon_with_one_line(configured: None, faults,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The cancel after `--timeout` gets the stop budget (injected here: 0.3 s, 5 s by default), not the 10 s
    bridge, and a cancel that does not answer is said in the one-line error instead of a TimeoutError wall."""
    import time

    from IPython.core.interactiveshell import InteractiveShell

    from puras_nb.model import job as model
    from puras_nb.notebook import magics

    monkeypatch.setattr(model, "STOP_TIMEOUT", 0.3)
    shell = InteractiveShell.instance()
    magics.load_ipython_extension(shell)
    # cancels, not submits; a stall far longer than the wait, so that waiting for it cannot pass for ending soon
    faults({"rate": 1, "kinds": "delay", "delay": 10, "methods": "POST", "paths": "/v1/jobs/"})
    began = time.monotonic()
    try:
        with pytest.raises(JobError, match=r"after 0.5 s; could not cancel it \(it may keep running\) · job "):
            shell.run_line_magic("puras", "run demo/hang --timeout 0.5 --no-display")
        # the 1 s hold the server takes to name the job, the 0.3 s stop budget, slack for a loaded machine; not the
        # 10 s stall nor the 10 s bridge
        assert time.monotonic() - began < 6.0
    finally:
        magics.unload_ipython_extension(shell)


def test_ctrl_c_while_the_server_holds_a_runs_submission_is_one_line_naming_the_job(configured: None) -> None:
    """Ctrl-C lands while `%puras run` still waits for the server to name the job (it holds demo/hang's
    submission for 1 s): one line that names the job and cancels it, not a traceback through puras-nb
    (JobInterrupted escaped the launch; only the wait after it made it one line)."""
    import _thread
    import threading

    from IPython.core.interactiveshell import InteractiveShell

    from puras_nb.errors import JobInterrupted
    from puras_nb.notebook import magics

    shell = InteractiveShell.instance()
    magics.load_ipython_extension(shell)
    try:
        runtime_session.session()  # made beforehand: the interrupt must land in the submission, not in set-up
        threading.Timer(0.4, _thread.interrupt_main).start()
        with pytest.raises(JobInterrupted) as info:
            shell.run_line_magic("puras", "run demo/hang --no-display")
        (line,) = info.value._render_traceback_()  # type: ignore[attr-defined]
        assert "JobInterrupted" in line and info.value.job_id and info.value.job_id in line, line
        assert info.value.cancelled
    finally:
        magics.unload_ipython_extension(shell)


# -- connection helpers -------------------------------------------------------------------------


def test_mask_never_shows_the_whole_key() -> None:
    assert connection.mask("puras_live_abcdefgh1234") == "puras_live_…1234"
    assert connection.mask("shortkey") == "…"
    assert connection.mask(None) == "(none)"
    assert connection.mask("puras_live_abcd_efgh_ijkl_mnop_1234") == "puras_live_…1234", "underscores in the secret"
    assert connection.mask("a_b") == "…"


def test_skills_list_from_skillpacks() -> None:
    packs = [
        {
            "slug": "demo",
            "path": "local/demo",
            "versions": [1, 2],
            "skills": [
                {"name": "image", "description": "draw", "versions": [1, 2], "input_schema": {
                    "properties": {"prompt": {}, "width": {}}, "required": ["prompt"]}},
                {"name": "echo", "description": "", "input_schema": {}},
            ],
        }
    ]
    found = connection.skills(SimpleNamespace(skillpacks=lambda: packs))
    assert found.names() == ["demo/image", "demo/echo"]
    assert found.names("local/demo") == ["demo/image", "demo/echo", "image", "echo"]
    assert found.text().splitlines() == ["<2 skills>", "  demo/image  v1,2  prompt=… [width]", "  demo/echo   v1,2"]
    assert '<td><code class="puras-word">demo/image</code></td>' in found.html()


def test_login_and_describe_mask_the_key() -> None:
    before = live.settings()
    try:
        assert connection.login("  puras_live_secretsecret9876 ") == "puras_live_…9876"
        assert live.settings().api_key == "puras_live_secretsecret9876"
        assert connection.describe()["api_key"] == "puras_live_…9876"
        with pytest.raises(ValueError, match="no API key"):
            connection.login("  ")
    finally:
        settings_store.restore(before)


def test_skills_from_the_emulator(configured: None) -> None:
    assert "demo/ugc-ad" in connection.skills().names()


# -- jobs table, fan-out, follow ----------------------------------------------------------------


def _job(status: str, **extra: Any) -> live.LiveJob:
    return live.LiveJob({"id": f"id-{status}", "status": status, "cost_micros": 1500, **extra}, skill="demo/x")


def test_table_of_finished_jobs() -> None:
    jobs = [_job("succeeded", result={"n": 1}, inputs={"a": "<b>"}), _job("failed", error="nope")]
    view = table(jobs, title="t")
    assert view.counts() == {"succeeded": 1, "failed": 1}
    assert view.done() and view.progress() == 1.0
    assert view.text().splitlines() == [
        "<JobsTable t: 2/2 done · 1 failed · 1 succeeded · cost $0.0030>",
        '  1  demo/x  succeeded  $0.0015  {"n": 1}',
        "  2  demo/x  failed  $0.0015  nope",
    ]
    html = view.html()
    assert "&lt;b&gt;" in html and "<b>" not in html.replace("<b>t</b>", "")
    assert [r["status"] for r in view.rows()] == ["succeeded", "failed"]
    assert JobsTable([]).progress() == 1.0


def test_fan_out_keeps_going_past_a_rejected_input_and_reruns_it(configured: None) -> None:
    batch = fan_out("demo/count", [{"n": 2, "delay": 0.05}, {"n": -1}, {"n": 1, "delay": 0.05}], display=False)
    rejected = batch.jobs[1]
    assert rejected.status == "failed" and rejected.job["error"].startswith("rejected: 422")
    batch.wait(30)
    assert [r["status"] for r in batch.rows()] == ["succeeded", "failed", "succeeded"]
    assert batch.rows()[0]["result"] == {"count": 2}
    rerun = batch.rerun(2, n=3, delay=0.01)
    assert batch.jobs[1] is rerun
    batch.wait(30)
    assert batch.rows()[1]["result"] == {"count": 3} and batch.rows()[1]["inputs"] == {"n": 3, "delay": 0.01}
    assert batch.text().startswith("<JobsTable demo/count: 3/3 done · 3 succeeded")


def test_follow_prints_every_event_then_the_end(configured: None) -> None:
    job = live.start("demo/count", {"n": 3, "delay": 0.05}, display=False)
    out = io.StringIO()
    assert follow(job.id, file=out).status == "succeeded"
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[1] ")
    assert [line for line in lines if "progress" in line] == [
        f"[{i + 2}] progress: counted {i + 1} of 3" for i in range(3)
    ]
    assert lines[-1] == f"job {job.id} succeeded"


def test_follow_nests_a_subagents_events_and_ends_with_the_states_and_what_to_do(configured: None) -> None:
    inputs = {"scenes": 2, "delay": 0, "approval": "denied", "hold": 0, "resume_from": 3}
    job = live.start("demo/storyboard", inputs, display=False)
    out = io.StringIO()
    follow(job, file=out)
    lines = [line.split("] ", 1)[1] for line in out.getvalue().splitlines() if line.startswith("[")]
    assert lines[1:3] == ["resumed: from step 3", "model_response: step 3"]
    start = lines.index("subagent_start: captions")
    assert lines[start + 1:start + 4] == ["  captions › model_response: step 6",
                                          "  captions › tool_use: Caption scene 1 (set_output)",
                                          "  captions › tool_result: A trail running shoe, 1 of 2"]
    assert lines[start + 7] == "subagent_end: captions succeeded", "the parent's event: not indented"
    assert "tool_use: Email the client (send_email)" in lines
    assert "approval_decided: denied: not this client" in lines
    assert out.getvalue().splitlines()[-3:] == [
        f"job {job.id} succeeded",
        '  approval of `send_email` {"to": "client@example.com", "subject": "Storyboard: a trail running shoe"} '
        "denied: not this client · the run went on without it",
        "  resumed from step 3 · its worker restarted; the steps before it were not run again",
    ]


def test_follow_and_the_table_text_carry_no_control_sequences_from_events() -> None:
    tricks = "\x1b]52;c;ZXZpbA==\x07\x1b[2J\r\x9b31m"
    job = _job("failed", error=f"boom {tricks}")
    job.events.extend([{"id": 1, "type": "log", "payload": {"message": f"hi {tricks}"}}])
    out = io.StringIO()
    follow(job, file=out)
    printed = out.getvalue()
    assert printed.splitlines()[0].startswith("[1] log: hi ")
    assert printed.count("\n") == 2 and not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", printed)
    text = table([job], title="t").text()
    assert text.splitlines()[1].startswith("  1  demo/x  failed  $0.0015  boom")
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", text)


def test_table_widget_follows_its_jobs() -> None:
    running = live.LiveJob({"id": "r", "status": "running", "cost_micros": 0}, skill="demo/x")
    done = _job("succeeded", result={"n": 1})
    view = table([running, done], title="live")
    widget = view.widget
    assert widget is view.widget and "running" in widget.value
    assert widget.value.count('class="puras-bar') == 2, "the table's bar and the finished row's, nothing else"
    running._apply({"id": "r", "status": "succeeded", "cost_micros": 2000, "result": {"n": 2}})
    running._finish()
    assert "running" not in widget.value and "$0.0020" in widget.value
    assert widget.value.count("var(--jp-success-color1") == 3 and "<progress" not in widget.value
    assert running._observers == []


def test_table_bar_gives_a_failure_its_red_share_and_a_cancel_stays_neutral() -> None:
    def head(jobs: list) -> str:  # the table's line and bar, after the style sheet and before the rows
        return table(jobs).html().split("</style>", 1)[1].split("<table")[0]

    mixed = head([_job("failed", error="boom"), _job("succeeded")])
    assert "width:50.00%;background:var(--jp-error-color1" in mixed
    assert "width:50.00%;background:var(--jp-success-color1" in mixed
    neutral = head([_job("cancelled")])
    assert 'class="puras-bar' in neutral and "error-color" not in neutral and "success-color" not in neutral


def test_the_table_shows_each_job_once_named_as_it_was_started(configured: None) -> None:
    started = live.start("demo/count", {"n": 1, "delay": 0.01}, display=False)
    started.wait(20)
    again = live.attach(started.id, display=False)
    assert again is not started and again.skill == started.skill == "demo/count"
    rows = [line for line in table().text().splitlines() if started.id and "demo/count" in line]
    assert len([job for job in table().jobs if job.id == started.id]) == 1, rows


def test_form_with_the_server_unreachable_is_one_line() -> None:
    """`form()` reports an unreachable server as the magics do: one line naming the host, no chained traceback."""
    from puras_nb.errors import PurasError
    from puras_nb.notebook.app import form

    before = settings_store.current()
    try:
        settings_store.configure(api_key="puras_live_nothing_here_0000", api_base="http://127.0.0.1:9", local=False)
        with pytest.raises(PurasError) as info:
            form("demo/ugc-ad")
    finally:
        settings_store.restore(before)
    (line,) = info.value._render_traceback_()  # type: ignore[attr-defined]
    assert "127.0.0.1:9" in line and "Traceback" not in line and "\n" not in line
    assert info.value.__suppress_context__, "no chained traceback behind the line"
