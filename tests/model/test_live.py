"""LiveJob against the emulator outside a kernel: followed by the runtime thread, awaited under asyncio."""

from __future__ import annotations

import asyncio
import io
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from puras_nb import Client, settings
from puras_nb.errors import JobError, JobInterrupted, PurasAPIError, PurasError, SubmitInterrupted
from puras_nb.notebook import live
from puras_nb.notebook.compare import compare
from puras_nb.runtime import endpoint as runtime_endpoint
from puras_nb.runtime import loop as rt
from puras_nb.runtime import session as runtime_session
from puras_nb.runtime.budget import Budget
from puras_nb.views.display import TerminalLine, static_bundle

pytestmark = pytest.mark.usefixtures("configured")


def test_start_returns_at_once_and_result_blocks_until_done() -> None:
    # a first job beforehand: a process's first request on the runtime thread also imports httpx's async stack
    live.start("demo/echo", {}, display=False).result(timeout=10)
    began = time.monotonic()
    job = live.start("demo/count", {"n": 4, "delay": 0.1}, display=False)
    assert time.monotonic() - began < 0.5 and job.id and not job.done()
    assert job.result(timeout=10) == {"count": 4}
    assert job.status == "succeeded" and job.progress == 1.0 and job.progress_label == "4/4"
    ids = [e["id"] for e in job.events]
    assert ids == sorted(set(ids)) and ids[-1] >= 4, "events fetched incrementally, none twice"
    assert job.requests <= 20 and job.skill == "demo/count" and job.duration is not None


def test_failed_job_raises_job_error_with_the_job() -> None:
    job = live.start("demo/fail", {"after": 1, "message": "kaput"}, display=False)
    with pytest.raises(JobError, match="kaput") as info:
        job.result(timeout=10)
    assert info.value.job_id == job.id and job.status == "failed"
    assert job.wait()["error"] == "kaput"


def test_submit_errors_raise_at_the_call_site() -> None:
    with pytest.raises(PurasAPIError) as info:
        live.start("demo/no-such-skill", {}, display=False)
    assert info.value.status == 404
    with pytest.raises(TypeError, match="unknown option"):
        live.start("demo/echo", {}, display=False, bogus=1)


def test_result_timeout_leaves_the_job_running() -> None:
    job = live.start("demo/slow", {"seconds": 0.5}, display=False)
    with pytest.raises(TimeoutError):
        job.result(timeout=0.1)
    assert job.wait(timeout=0.05)["status"] in ("queued", "running")
    assert job.result(timeout=10) == {"slept": 0.5}


def test_cancel_stops_the_job_on_the_server(emulator: Any) -> None:
    job = live.start("demo/hang", {}, display=False)
    answered = job.cancel()
    assert answered["id"] == job.id
    assert job.wait(timeout=5)["status"] == "cancelled"
    with pytest.raises(JobError):
        job.result()
    server = httpx.get(f"{emulator.url}/v1/jobs/{job.id}", headers={"Authorization": f"Bearer {emulator.api_key}"})
    assert server.json()["status"] == "cancelled"
    assert job.cancel()["status"] == "cancelled"


def test_done_callbacks_run_once_and_late_ones_at_once() -> None:
    job = live.start("demo/slow", {"seconds": 0.2}, display=False)
    seen: list[str] = []
    fired = threading.Event()
    job.add_done_callback(lambda j: (seen.append(j.status), fired.set()))
    assert fired.wait(10)
    job.add_done_callback(lambda j: seen.append("late"))
    assert seen == ["succeeded", "late"]


def test_attach_replays_a_finished_job_and_follows_a_running_one() -> None:
    first = live.start("demo/count", {"n": 3, "delay": 0.05}, display=False)
    first.result(timeout=10)
    again = live.attach(first.id, display=False)
    assert again.done() and again.result() == {"count": 3}
    assert [e["id"] for e in again.events] == [e["id"] for e in first.events]
    running = live.start("demo/count", {"n": 5, "delay": 0.1}, display=False)
    follower = live.attach(running.id, display=False)
    assert follower.result(timeout=10) == {"count": 5} and follower.skill == running.skill == "demo/count"
    with pytest.raises(PurasAPIError):
        live.attach("00000000-0000-0000-0000-000000000000", display=False)


def test_rerun_changes_only_the_given_inputs_and_keeps_the_version() -> None:
    first = live.start("demo/echo", {"a": 1, "b": "x"}, version=1, display=False)
    assert first.result(timeout=10) == {"a": 1, "b": "x"}
    again = first.rerun(b="y", display=False)
    assert again.result(timeout=10) == {"a": 1, "b": "y"} and again.id != first.id
    assert again.version == 1 and again.skill == first.skill
    clash = first.rerun({"version": 7}, display=False)  # an input named like a keyword goes in the dict
    assert clash.result(timeout=10) == {"a": 1, "b": "x", "version": 7}
    attached = live.attach(first.id, display=False)
    assert attached.rerun(a=2, display=False).result(timeout=10) == {"a": 2, "b": "x"}


def test_rerun_on_another_version_and_replay_use_the_server() -> None:
    first = live.start("demo/image", {"prompt": "a cat", "width": 16, "height": 16}, version=1, display=False)
    first.result(timeout=10)
    replayed = first.replay(display=False)
    assert replayed.result(timeout=10)["prompt"] == "a cat" and replayed.job["parent_job_id"] == first.id
    assert replayed.version == 2  # the active deployment: replay, unlike rerun, does not keep the job's version
    assert first.replay(version=2, display=False).wait(10)["version"] == 2
    tweaked = first.rerun(prompt="a dog", version=2, display=False)
    assert tweaked.result(timeout=10)["prompt"] == "a dog" and tweaked.version == 2
    assert tweaked.job["inputs"] == {"prompt": "a dog", "width": 16, "height": 16}
    with pytest.raises(PurasAPIError):
        first.replay(version=9, display=False)


def test_rerun_replay_and_feedback_need_a_job_with_an_id() -> None:
    job = live.LiveJob({"status": "queued"})
    with pytest.raises(PurasError, match=r"no id yet.*rerun it"):
        job.rerun(a=1)
    with pytest.raises(PurasError, match=r"no id yet.*replay it"):
        job.replay(display=False)
    with pytest.raises(PurasError, match=r"no id yet.*give feedback on it"):  # not a 404 for a job named None
        job.feedback(1)


def test_await_on_the_callers_loop() -> None:
    async def main() -> tuple[Any, Any]:
        job = live.start("demo/count", {"n": 2, "delay": 0.05}, display=False)
        failing = live.start("demo/fail", {"after": 0}, display=False)
        with pytest.raises(JobError):
            await failing
        return await job, job.result()

    assert asyncio.run(main()) == ({"count": 2}, {"count": 2})


def test_many_jobs_share_one_client_and_one_list_request_per_round() -> None:
    live.configure(max_rps=200)
    session = runtime_session.session()
    before = session.requests
    jobs = [live.start("demo/count", {"n": 3, "delay": 0.15}, display=False) for _ in range(30)]
    assert all(j.result(timeout=30) == {"count": 3} for j in jobs)
    assert {id(j._session) for j in jobs} == {id(session)} and session.lists is True
    per_job = (session.requests - before) / len(jobs)
    assert per_job <= 4, per_job  # submit, a share of the list rounds, the last events


def _ended(job: live.LiveJob, timeout: float = 10) -> None:
    """Wait for the end without a blocking wait (a cell that waits keeps the last events)."""
    ended = threading.Event()
    job.add_done_callback(lambda _job: ended.set())
    assert ended.wait(timeout), f"{job.skill} did not end in {timeout} s"


def test_a_viewed_job_that_succeeds_leaves_its_last_events_until_they_are_read() -> None:
    """Views show progress and outcome: a watched job that succeeds costs no last event fetch (fan-outs of
    widgets stay as cheap as the official client's polls) once its skill is known to keep no checklist (here
    from the unviewed job's events). Reading `events` after the end fetches them, once: it is always complete."""
    unviewed = live.start("demo/count", {"n": 3, "delay": 0.05}, display=False)
    assert unviewed.result(timeout=10) == {"count": 3}
    viewed = live.start("demo/count", {"n": 3, "delay": 0.05}, display=False)
    viewed.subscribe(lambda *_: None)
    failed = live.start("demo/fail", {"after": 2}, display=False)
    failed.subscribe(lambda *_: None)
    _ended(viewed)
    with pytest.raises(JobError):
        failed.result(timeout=10)
    assert len(unviewed.events) >= 4 and any(e["type"] == "error" for e in failed.known_events)
    assert unviewed.events_complete and failed.events_complete
    assert len(viewed.known_events) < 4 and not viewed.events_complete  # not fetched at the end
    before = viewed.requests
    assert [e["payload"].get("step") for e in viewed.events if e["type"] == "progress"] == [1, 2, 3]
    assert viewed.events_complete and viewed.events == viewed.known_events
    assert viewed.requests == before, "the rest is fetched outside the tracker's rounds"


def test_a_job_a_cell_waits_for_keeps_its_last_events_and_the_log_fetches_them_on_demand() -> None:
    waited = live.start("demo/count", {"n": 3, "delay": 0.05}, display=False)
    waited.subscribe(lambda *_: None)
    assert waited.result(timeout=10) == {"count": 3}
    assert waited.events_complete and len(waited.known_events) >= 4
    logged = live.start("demo/count", {"n": 3, "delay": 0.05}, display=False)
    heard: list[frozenset] = []
    logged.subscribe(lambda _job, changed: heard.append(changed))
    _ended(logged)
    logged.want_log()
    deadline = time.monotonic() + 5
    while not logged.events_complete and time.monotonic() < deadline:
        time.sleep(0.02)
    assert logged.events_complete and len(logged.known_events) >= 4 and any("events" in c for c in heard[-2:])


def test_reading_events_on_the_runtime_thread_asks_for_them_without_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    # its skill known to keep no checklist (from a job whose events were all read), so its end fetches no events;
    # and no event fetch while it runs (on a loaded machine the run outlasted EVENTS_MIN and one fetched them all)
    taught = live.start("demo/count", {"n": 2, "delay": 0.05}, display=False)
    assert taught.result(timeout=10) == {"count": 2} and len(taught.events) >= 3
    monkeypatch.setattr(runtime_session, "EVENTS_MIN", 3600.0)
    job = live.start("demo/count", {"n": 2, "delay": 0.05}, display=False)
    job.subscribe(lambda *_: None)
    _ended(job)
    seen: list[int] = []
    rt.run_sync(_read_events(job, seen))
    assert seen and seen[0] < 3, "on the runtime thread the read returns what is here"
    deadline = time.monotonic() + 5
    while not job.events_complete and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(job.known_events) >= 3


async def _read_events(job: live.LiveJob, seen: list[int]) -> None:
    seen.append(len(job.events))


def test_a_viewed_job_with_a_checklist_gets_its_last_state() -> None:
    """Views show a checklist to the end: its final state (every step done) must not be left on the server."""
    job = live.start("demo/ugc-ad", {"product": "lamp", "duration": 2}, version=1, display=False)
    job.subscribe(lambda *_: None)
    job.result(timeout=60)
    assert job.todos and {t["status"] for t in job.todos} == {"completed"}, job.todos


def test_a_viewed_job_that_ends_before_its_first_event_fetch_still_gets_its_checklist(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its own events cannot say it keeps a checklist: unless its skill is known to keep none, it gets them."""
    monkeypatch.setattr(runtime_session, "EVENTS_MIN", 3600.0)  # no event fetch while it runs
    job = live.start("demo/ugc-ad", {"product": "desk", "duration": 2}, version=1, display=False)
    job.subscribe(lambda *_: None)
    job.result(timeout=60)
    assert job.todos and {t["status"] for t in job.todos} == {"completed"}, job.todos


def test_the_first_jobs_of_a_crowd_stay_in_the_list_after_later_ones_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """The list is newest first: once 60 later jobs have ended, it must still reach back to the 5 first."""
    live.configure(max_rps=200)
    session = runtime_session.session()
    lists: list[int] = []
    real_jobs = session.jobs

    async def counted(*args: Any, **kwargs: Any) -> Any:
        lists.append(kwargs.get("limit", 0))
        return await real_jobs(*args, **kwargs)

    monkeypatch.setattr(session, "jobs", counted)
    first = [live.start("demo/hang", {}, display=False) for _ in range(5)]
    later = [live.start("demo/echo", {"i": i}, display=False) for i in range(60)]
    assert all(j.result(timeout=30) == {"i": i} for i, j in enumerate(later))
    assert not any(j.done() for j in first), "the first jobs outlive the later ones"
    rounds = len(lists) + 8  # 8 list rounds with the first jobs alone: polled one by one, that is 40 requests
    deadline = time.monotonic() + 20
    while len(lists) < rounds and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(lists) >= rounds, lists
    for j in first:
        j.cancel()
    assert all(j.wait(10)["status"] == "cancelled" for j in first)
    # each: its last events (1), and the first job a few polls of its own while the others are being submitted
    requests = [j.requests for j in first]
    assert sum(requests) < 30, f"polled one by one instead of seen in the list: {requests}"


def test_a_job_the_list_does_not_show_is_polled_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    session = runtime_session.session()

    async def no_listing(*args: Any, **kwargs: Any) -> Any:
        raise PurasAPIError(404, "Not Found")

    monkeypatch.setattr(session.client, "jobs", no_listing)
    monkeypatch.setattr(session, "lists", None)
    jobs = [live.start("demo/count", {"n": 2, "delay": 0.1}, display=False) for _ in range(4)]
    assert [j.result(timeout=20) for j in jobs] == [{"count": 2}] * 4 and session.lists is False


def test_the_budget_holds_its_rate_and_backs_off_on_retry_after() -> None:
    async def burst(budget: Budget, n: int) -> float:
        began = time.monotonic()
        await asyncio.gather(*(budget.take() for _ in range(n)))
        return time.monotonic() - began

    budget = Budget(200)
    assert asyncio.run(burst(budget, 60)) >= (60 - 10) / 200 * 0.9
    budget.answered(429, 0.01, 0.5)
    assert budget.rate == 100 and budget.throttles == 1
    assert asyncio.run(burst(budget, 1)) >= 0.4, "a Retry-After pauses every background request"
    for _ in range(400):
        budget.answered(200, 0.01, None)
    assert budget.rate == 200, "quick answers bring the rate back to the ceiling"


def test_jobs_keep_moving_while_the_caller_blocks_its_own_thread() -> None:
    job = live.start("demo/count", {"n": 3, "delay": 0.1}, display=False)
    deadline = time.monotonic() + 10
    while not job.done() and time.monotonic() < deadline:  # the caller's thread only sleeps (done() asks nothing):
        time.sleep(0.05)  # the runtime thread follows the job meanwhile
    assert job.done() and job.status == "succeeded" and len(job.events) >= 3


def test_a_foreground_run_needs_no_poll_for_a_short_job() -> None:
    session = runtime_session.session()
    before = session.requests
    began = time.monotonic()
    assert live.run("demo/slow", {"seconds": 0.3}, display=False) == {"slept": 0.3}
    assert time.monotonic() - began < 0.6
    assert session.requests - before <= 2, "the held submission and the last events"


def test_a_job_that_ends_within_the_hold_is_told_before_its_waiter_wakes() -> None:
    """A held submission answered finished: the one wake of the waiting cell finds the job ended, its last events in
    (a cell that shows it builds its view once, at the end, with no second wait on the runtime thread)."""
    job = live.LiveJob.submit("demo/echo", {"told": 1}, hold=True)
    assert job.wait_submitted(30)
    assert job.done() and job.events_complete and job.status == "succeeded"
    assert job.wait_ended(0), "nothing left to wait for"


def test_a_foreground_submission_is_sent_by_the_calling_thread() -> None:
    """`submit_here`: the held submission and, for a job that ended within it, its last events are requests of the
    calling thread (no hop to the runtime thread); a job that outlives the hold is followed by the runtime."""
    session = runtime_session.session()
    before, shown = session.requests, []
    job = live.LiveJob.submit_here("demo/echo", {"here": 1}, show=shown.append, show_after=30)
    assert job.done() and job.events_complete and job.result(0) == {"here": 1}
    assert session.requests - before == 2 and shown == [], "answered within show_after: the caller shows it"
    slow = live.LiveJob.submit_here("demo/slow", {"seconds": 1.5}, show=shown.append, show_after=0.05)
    assert shown == [slow] and not slow.done(), "shown from the runtime thread while the server held it"
    assert slow.result(10) == {"slept": 1.5}


def test_a_foreground_submission_the_server_refuses_is_rejected_and_forgotten() -> None:
    count = len(live.jobs())
    job = live.LiveJob.submit_here("demo/no-such-skill", {})
    assert job.done() and isinstance(job.rejected, PurasAPIError) and job.rejected.status == 404
    assert "did you mean" in str(job.rejected) and len(live.jobs()) == count


def test_a_second_ctrl_c_drops_a_held_submission() -> None:
    import os
    import signal

    runtime_session.session()
    for at in (0.3, 0.5):  # the server holds demo/hang's submission for 1 s; a real SIGINT ends a blocking read
        threading.Timer(at, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(SubmitInterrupted, match="may still be created") as info:
        live.run("demo/hang", {}, display=False, cancel_on_interrupt=True)
    assert info.value.job_id is None


def test_a_rejected_foreground_run_raises_and_registers_no_job() -> None:
    count = len(live.jobs())
    with pytest.raises(PurasAPIError, match="no skill 'demo/no-such-skill'") as caught:
        live.run("demo/no-such-skill", {}, display=False)
    assert caught.value.status == 404 and len(live.jobs()) == count


def test_a_held_submission_that_reaches_no_server_ends_not_sent() -> None:
    """No network: the job ends in a failed `not sent` state with the connection error (no job, no events)."""
    before = settings.current()
    try:
        live.configure(api_key="puras_live_nothing_here_0000", api_base="http://127.0.0.1:9", local=False)
        job = live.LiveJob.submit("demo/echo", {"hi": 1}, hold=True)
        with pytest.raises(PurasError, match=r"cannot reach 127\.0\.0\.1:9"):
            job.result(timeout=30)
    finally:
        settings.restore(before)
    assert job.status == "not sent" and job.done() and job.id is None and job.rejected is job.exception
    assert job.events == [] and job.events_complete and job.progress is None


def test_a_held_submission_the_server_refuses_ends_rejected() -> None:
    job = live.LiveJob.submit("demo/count", {"n": -1}, hold=True)
    with pytest.raises(PurasAPIError):
        job.result(timeout=10)
    assert job.status == "rejected" and job.id is None


def test_a_cancel_asked_for_here_is_remembered_and_a_script_still_gets_job_error() -> None:
    job = live.start("demo/hang", {}, display=False)
    assert not job.cancel_requested
    job.request_cancel()
    with pytest.raises(JobError, match="cancelled"):
        job.result(timeout=10)
    assert job.cancel_requested and job.status == "cancelled"


def test_polling_survives_a_flaky_server(faults: Any) -> None:
    job = live.start("demo/count", {"n": 4, "delay": 0.1}, display=False)
    faults({"rate": 0.4, "seed": 3, "kinds": "503|reset", "methods": "GET", "paths": "/v1/jobs"})
    assert job.result(timeout=30) == {"count": 4}


def test_feedback_button_and_call(emulator: Any) -> None:
    job = live.start("demo/echo", {"a": 1}, display=False)
    job.result(timeout=10)
    stored = job.feedback(1, comment="nice")
    assert stored["rating"] == 1 and stored["job_id"] == job.id
    view = job.widget
    view.down.click()
    deadline = time.monotonic() + 5
    while "recorded" not in view.feedback_note.value and time.monotonic() < deadline:
        time.sleep(0.02)
    assert view.feedback_note.value == "thanks, feedback recorded" and view.down.button_style == "danger"


def test_media_is_fetched_once_for_views() -> None:
    job = live.start("demo/gallery", {"prompt": "boats", "n": 3}, display=False)
    view = job.widget
    job.result(timeout=20)
    deadline = time.monotonic() + 5
    while not view.result_box.children and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(job.media or []) == 3 and all(v and v.startswith(b"\x89PNG") for v in job.media_data.values())
    bundle = static_bundle(job, final=True)
    assert bundle["text/html"].count('<img src="data:image/png;base64,') == 3


def test_small_preview_cap_gives_links() -> None:
    job = live.start("demo/image", {"prompt": "x"}, display=False, preview_max_bytes=100)
    job.result(timeout=10)
    job.want_media()
    assert job.wait_previews(10) and list(job.media_data.values()) == [None]
    html = static_bundle(job)["text/html"]
    assert '<img src="http' in html and "open</a>" in html


def test_terminal_progress_line_for_scripts() -> None:
    job = live.start("demo/count", {"n": 2, "delay": 0.05}, display=False)
    out = io.StringIO()
    TerminalLine(job, stream=out)
    job.result(timeout=10)
    assert out.getvalue().startswith("[demo/count] succeeded 2/2")


def test_configure_masks_the_key_and_keeps_unset_values() -> None:
    s = live.configure(api_key="puras_live_abcdef123456", poll_interval=0.7)
    assert s.poll_interval == 0.7 and "abcdef123456" not in repr(s) and "…3456" in repr(s)
    assert live.configure().poll_interval == 0.7


@pytest.fixture
def nothing_configured(configured: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No key, no API base, no settings or session yet, no embedded emulator (after the module's `configured`);
    the one a test starts is stopped."""
    monkeypatch.delenv("PURAS_API_KEY", raising=False)
    monkeypatch.delenv("PURAS_API_BASE", raising=False)
    monkeypatch.setattr(settings, "_settings", None)
    monkeypatch.setattr(runtime_endpoint, "_emulator", None)
    monkeypatch.setattr(runtime_session, "_current", None)
    yield
    if runtime_endpoint.embedded_emulator() is not None:
        runtime_endpoint.embedded_emulator().stop()


@pytest.mark.usefixtures("nothing_configured")
def test_with_nothing_configured_the_emulator_starts_once(capsys: Any) -> None:
    assert live.start("demo/echo", {"hi": 1}, display=False).result(timeout=20) == {"hi": 1}
    assert live.start("demo/echo", {"hi": 2}, display=False).result(timeout=20) == {"hi": 2}
    said = capsys.readouterr().err
    assert said.count("local emulator") == 1 and said.count("\n") == 1


@pytest.mark.usefixtures("nothing_configured")
def test_a_job_on_its_own_client_starts_no_emulator_and_gets_its_previews_from_that_client(
    emulator: Any, capsys: Any
) -> None:
    """With nothing configured, a job started or attached with `client=` runs on that client alone: no embedded
    emulator starts and no note says jobs run on one; its previews come from the client's server (a loopback
    address, fetched only because it is that client's API)."""
    with Client(api_key=emulator.api_key, api_base=emulator.url) as client:
        job = live.start("demo/image", {"prompt": "a lamp"}, client=client, display=False)
        image = job.result(timeout=20)["image"]
        job.want_media()
        assert job.wait_previews(20) and (job.media_data[image["url"]] or b"").startswith(b"\x89PNG")
        assert live.attach(job.id, client=client, display=False).status == "succeeded"
    assert runtime_endpoint.embedded_emulator() is None
    assert "local emulator" not in capsys.readouterr().err


def test_a_callers_own_client_sync_or_async(emulator: Any) -> None:
    from puras_nb import AsyncClient

    with Client(api_key=emulator.api_key, api_base=emulator.url) as client:
        job = live.start("demo/count", {"n": 2, "delay": 0.05}, client=client, display=False)
        assert job.result(timeout=10) == {"count": 2} and job.client is client

    async def main() -> Any:
        async with AsyncClient(api_key=emulator.api_key, api_base=emulator.url) as aclient:
            return await live.start("demo/echo", {"via": "async"}, client=aclient, display=False)

    assert asyncio.run(main()) == {"via": "async"}


# compare(): a grid of inputs x versions, started concurrently.


def test_grid_of_inputs_by_versions_with_rows_and_static_views() -> None:
    grid = compare("demo/image", [{"prompt": "a cat"}, {"prompt": "a dog"}], versions=[1, 2], display=False)
    assert len(grid.jobs) == 4 and {v for _, v in grid.jobs} == {1, 2}
    results = grid.results(timeout=20)
    assert [[r["image"]["mime"] for r in row] for row in results] == [["image/png"] * 2] * 2
    assert [r["prompt"] for r in results[1]] == ["a dog", "a dog"]
    rows = grid.rows()
    assert [(r["input"]["prompt"], r["version"], r["status"]) for r in rows] == [
        ("a cat", 1, "succeeded"),
        ("a cat", 2, "succeeded"),
        ("a dog", 1, "succeeded"),
        ("a dog", 2, "succeeded"),
    ]
    assert all(r["duration"] is not None and r["cost_usd"] > 0 for r in rows)
    assert grid.job(0, 2).version == 2
    grid.want_media()
    grid.wait(20)
    bundle = static_bundle(grid, final=True)
    head, *named = bundle["text/plain"].splitlines()
    assert head == "<Comparison demo/image: 2 inputs x v1, v2; 4 succeeded>"
    assert [line.split(" · image: ")[0] for line in named] == ["input 1 · v1", "input 1 · v2", "input 2 · v1",
                                                                "input 2 · v2"], "a line names each cell's image"
    assert all(line.endswith(".png (image/png)") and "http" not in line for line in named), named
    assert bundle["text/html"].count('<img src="data:image/png;base64,') == 4
    html = bundle["text/html"]
    assert re.search(r"<th[^>]*>v1</th><th[^>]*>v2</th>", html) and "puras-final" in html


def test_a_failing_cell_keeps_its_error_and_the_rest_succeed() -> None:
    grid = compare("demo/fail", [{"after": 0, "message": "<b>nope</b>"}], versions=[None], display=False)
    [[outcome]] = grid.results(timeout=20)
    assert isinstance(outcome, JobError) and grid.done()
    html = static_bundle(grid)["text/html"]
    assert "&lt;b&gt;nope&lt;/b&gt;" in html and "<b>nope" not in html
    assert repr(grid) == "<Comparison demo/fail: 1 input x active; 1 failed>"


def test_compare_needs_inputs_and_versions() -> None:
    with pytest.raises(ValueError, match="input"):
        compare("demo/echo", [], display=False)
    with pytest.raises(ValueError, match="version"):
        compare("demo/echo", [{}], versions=[], display=False)


def test_compare_with_a_rejected_cell_keeps_it_as_a_failed_cell_and_runs_the_rest(emulator: Any) -> None:
    # One rejection policy for groups of jobs: a refused cell (here an unknown version) is a failed cell
    # with the server's message; the grid neither raises nor cancels the cells that started.
    grid = compare("demo/hang", [{}], versions=[1, 99], display=False)
    rejected, started = grid.job(0, 99), grid.job(0, 1)
    assert rejected.done() and rejected.status == "failed" and rejected.id is None
    assert rejected.error_text.startswith("rejected: 404")
    assert started.id and not started.done()
    assert grid.outcomes()["failed"] == 1 and not grid.done()
    started.cancel()
    assert grid.wait(10).done() and repr(grid) == "<Comparison demo/hang: 1 input x v1, v99; 1 cancelled, 1 failed>"


def test_ctrl_c_during_a_blocking_wait_names_and_cancels_the_job() -> None:
    import _thread

    job = live.start("demo/hang", {}, display=False, cancel_on_interrupt=True)
    threading.Timer(0.3, _thread.interrupt_main).start()
    with pytest.raises(JobInterrupted) as info:
        job.result(timeout=10)
    assert info.value.cancelled and job.id in str(info.value)
    assert job.wait(5)["status"] == "cancelled"


def test_ctrl_c_while_a_held_submission_is_in_flight_cancels_the_job_once_it_exists() -> None:
    import _thread

    runtime_session.session()  # made beforehand: the interrupt must land in the wait, not in set-up
    threading.Timer(0.4, _thread.interrupt_main).start()  # the server holds demo/hang's submission for 1 s
    with pytest.raises(JobInterrupted) as info:
        live.run("demo/hang", {}, display=False, cancel_on_interrupt=True)
    job = live.jobs()[-1]
    assert info.value.cancelled and job.id and job.id in str(info.value), "waits for the server's answer, names it"
    assert job.wait(10)["status"] == "cancelled"


def test_show_a_job_dict_fetches_its_media_through_the_kernel(emulator: Any) -> None:
    import ipywidgets as w

    from puras_nb.views.job import descendants
    from puras_nb.views.show import show

    with Client(api_key=emulator.api_key, api_base=emulator.url) as client:
        done = client.submit("demo/speech", {"text": "hello there"}, wait=True)
    view = show(done)  # returns at once; the bytes arrive from the runtime thread
    deadline = time.monotonic() + 10
    while not [x for x in descendants(view) if isinstance(x, w.Audio)] and time.monotonic() < deadline:
        time.sleep(0.02)
    audio = [x for x in descendants(view) if isinstance(x, w.Audio)]
    assert len(audio) == 1 and bytes(audio[0].value).startswith(b"RIFF") and audio[0].format == "wav"


def test_a_shown_result_leaves_a_static_view_with_its_media_embedded(emulator: Any) -> None:
    """What a saved notebook keeps of `show(...)`: the media themselves, not links to a host that is gone."""
    from puras_nb.views.show import show

    with Client(api_key=emulator.api_key, api_base=emulator.url) as client:
        done = client.submit("demo/image", {"prompt": "a kite", "width": 64, "height": 64}, wait=True)
    html = show(done).static_bundle()["text/html"]
    assert 'class="puras-static puras-final mathjax_ignore' in html and '<img src="data:image/png;base64,' in html
    shown = html.split('class="puras-raw"')[0]
    assert shown.count(emulator.url.split("//")[1]) == 1 and '<a href="http' in shown, "the image, and one link to it"


def test_a_refused_cancel_click_reenables_the_button(monkeypatch: pytest.MonkeyPatch) -> None:
    job = live.start("demo/hang", {}, display=False)
    view = job.widget

    async def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PurasAPIError(405, "Method Not Allowed")

    monkeypatch.setattr(job._session.client, "cancel", refuse)
    view.cancel_button.click()
    deadline = time.monotonic() + 5
    while view.cancel_button.disabled and time.monotonic() < deadline:
        time.sleep(0.02)
    assert view.cancel_button.description == "Cancel failed, retry" and "405" in view.cancel_button.tooltip
    monkeypatch.undo()
    assert job.cancel()["id"] == job.id and job.wait(5)["status"] == "cancelled"


def test_malformed_event_ids_are_skipped_and_the_job_still_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    job = live.start("demo/count", {"n": 2, "delay": 0.05}, display=False)
    session = job._session
    real = type(session).events

    async def odd_event_ids(self: Any, job_id: str, **kwargs: Any) -> Any:
        return [{"id": "evt_1", "type": "log"}, *await real(self, job_id, **kwargs)]  # not an int: skipped

    monkeypatch.setattr(type(session), "events", odd_event_ids)
    assert job.result(timeout=5) == {"count": 2}
    assert all(isinstance(e["id"], int) for e in job.events)


def test_an_unexpected_error_while_following_ends_the_job_instead_of_hanging(monkeypatch: pytest.MonkeyPatch) -> None:
    job = live.start("demo/count", {"n": 2, "delay": 0.5}, display=False)
    session = job._session

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(session, "interval", broken)
    with pytest.raises(PurasError, match=r"following job .* failed"):
        job.result(timeout=3)
    assert job.done()


def test_waits_that_time_out_leave_no_waiters_behind() -> None:
    job = live.start("demo/hang", {}, display=False)

    async def impatient() -> None:
        for _ in range(5):
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(job, 0.01)

    asyncio.run(impatient())
    assert job._waiters == []
    job.cancel()


def test_compare_results_timeout_is_for_the_whole_grid_and_raises() -> None:
    grid = compare("demo/slow", [{"seconds": 1.5}, {"seconds": 1.5}, {"seconds": 1.5}], versions=[None], display=False)
    began = time.monotonic()
    with pytest.raises(TimeoutError, match="3 of 3 jobs still running"):
        grid.results(timeout=0.2)
    assert time.monotonic() - began < 0.5, "one deadline for the grid, not 0.2 s per job"
    assert not grid.done() and all(not job.done() for job in grid.jobs.values()), "the jobs keep running"
    for job in grid.jobs.values():
        job.cancel()


def test_a_comparison_is_done_as_soon_as_wait_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    # The comparison learns of its jobs' ends from done callbacks on the poller's thread; a slow one
    # must not leave wait() returning while done() (and the text view) still say "in progress".
    from puras_nb.model.comparison import Comparison

    real = Comparison._job_done

    def slow_to_hear(self: Comparison, job: Any) -> None:
        time.sleep(0.3)
        real(self, job)

    monkeypatch.setattr(Comparison, "_job_done", slow_to_hear)
    grid = compare("demo/echo", [{"text": "hi"}], versions=[None], display=False)
    assert grid.wait(10).done() and "in progress" not in repr(grid)


def test_attaching_a_finished_job_in_a_script_prints_its_outcome(capsys: pytest.CaptureFixture) -> None:
    first = live.start("demo/echo", {"text": "hi"}, display=False)
    first.result(timeout=10)
    capsys.readouterr()
    again = live.attach(first.id)
    assert again.done() and "demo/echo] succeeded" in capsys.readouterr().err


def test_a_blocking_call_given_up_off_the_loop_stops_its_coroutine() -> None:
    # The work runs on the runtime thread; when the caller stops waiting (timeout,
    # Ctrl-C) the coroutine must stop too, not carry on (a submit would start a job nobody holds).
    stopped = threading.Event()

    async def long_call() -> None:
        try:
            await asyncio.sleep(5)
        finally:
            stopped.set()

    with pytest.raises(TimeoutError):
        rt.run_sync(long_call(), bridge_timeout=0.1)
    assert stopped.wait(2)


def test_a_jobs_own_poll_interval_sets_how_often_it_is_checked() -> None:
    eager = live.start("demo/slow", {"seconds": 0.5}, display=False, poll_interval=0.01)
    eager.result(timeout=10)
    default = live.start("demo/slow", {"seconds": 0.5}, display=False)
    default.result(timeout=10)
    assert eager.requests >= 2 * default.requests, (eager.requests, default.requests)


def test_previews_past_the_per_job_budget_are_links_not_pending() -> None:
    live.configure(preview_max_items=2)
    job = live.start("demo/gallery", {"prompt": "boats", "n": 3}, display=False)
    job.want_media()
    job.result(timeout=20)
    assert job.wait_previews(10) and not job.media_pending
    assert sorted(v is None for v in job.media_data.values()) == [False, False, True]
    assert static_bundle(job)["text/html"].count('<img src="data:image/png;base64,') == 2
