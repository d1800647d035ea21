"""A job view's log against the session emulator: a viewed job that succeeded left its last events on the
server, and the log (live and saved) still shows every one of them."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from puras_nb.notebook import live
from puras_nb.views import JobWidget
from puras_nb.views.html import job_html

pytestmark = pytest.mark.usefixtures("configured")


def _until(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_log_of_an_ended_job_fills_on_its_first_open() -> None:
    # an unviewed job first, so the model knows demo/count keeps no checklist (else views get its last events)
    assert live.start("demo/count", {"n": 1, "delay": 0}, display=False).result(timeout=10) == {"count": 1}
    job = live.start("demo/count", {"n": 3, "delay": 0.05}, display=False)
    view = JobWidget(job, hz=1e6)
    _until(lambda: view.sent_final)
    assert not job.events_complete, "a viewed job that succeeded leaves its last events on the server"
    assert view.details_toggle is not None, "a job that succeeded with no media folds its log behind a toggle"
    view.details_toggle.value = True
    _until(lambda: "counted 3 of 3" in view.log_html.value)
    assert view.log_html.value.count("<li value=") >= 4 and "loading" not in view.log_html.value
    assert job.events_complete


def test_the_saved_view_keeps_the_last_50_events_folded() -> None:
    job = live.start("demo/count", {"n": 60, "delay": 0}, display=False)
    assert job.result(timeout=20) == {"count": 60}
    html = job_html(job)
    assert html.count('<details class="puras-line-details">') == 1, "one line, the log and raw result folded in it"
    log = html.split('<details class="puras-log-static">', 1)[1]
    assert log.startswith("<summary>Log (last 50 events)</summary>") and log.count("<li value=") == 50
    assert "counted 60 of 60" in log and "counted 10 of 60" not in log
    failed = live.start("demo/fail", {"after": 1, "message": "out of credits"}, display=False)
    with pytest.raises(Exception, match="out of credits"):
        failed.result(timeout=10)
    html = job_html(failed)
    assert html.count("out of credits") == 1, "the error reads once: above the log, not in it"
