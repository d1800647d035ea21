"""The tracker follows each live job on its own (issue 22.5): one job whose status request drips, stalls or
fails never holds up another, and a poll has a deadline of its own."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from puras_nb import settings
from puras_nb.notebook import live
from puras_nb.runtime import session as runtime_session
from tests.harness.hostile import Hostile, Seen, answer, drip

KEY = "puras_live_tracker_test_key_0123456789"


def submissions(ids: list[str]) -> object:
    """POST /v1/jobs: each submission creates the next of `ids`, running."""
    names = itertools.cycle(ids)

    def handle(conn: socket.socket, seen: Seen) -> None:
        answer(201, {"id": next(names), "status": "running"})(conn, seen)

    return handle


@pytest.fixture
def server() -> Iterator[Hostile]:
    """An API where job `slow`'s status drips a byte a second and job `fast` has succeeded; it lists no jobs, so
    each job is polled on its own (as with a client of the job's own, or a server without the list route)."""
    slow = json.dumps({"id": "slow", "status": "running", "pad": " " * 50}).encode()
    done = threading.Event()
    routes = {
        "POST /v1/jobs": submissions(["slow", "fast"]),
        # each status takes about 6 s, until the test is over
        "GET /v1/jobs/slow": drip(slow, 1.0, chunk=len(slow) // 6 + 1, until=done),
        "GET /v1/jobs/fast": answer(200, {"id": "fast", "status": "succeeded", "result": {"n": 1}}),
        "GET /v1/jobs/slow/events": answer(200, []),
        "GET /v1/jobs/fast/events": answer(200, []),
        "GET /v1/jobs": answer(404, {"detail": "no job list here"}),
        "POST /v1/jobs/slow/cancel": answer(200, {"id": "slow", "status": "cancelled"}),
    }
    before = settings.current()
    with Hostile(routes) as hostile:
        settings.configure(api_key=KEY, api_base=hostile.url, local=False, poll_interval=0.1)
        yield hostile
        hostile.routes["GET /v1/jobs/slow"] = answer(200, {"id": "slow", "status": "cancelled"})
        done.set()  # the status still dripping is cut short: the next poll finds the job ended
        for job in live.jobs():
            if job.id == "slow":
                job.cancel()  # checked again at once, not after the backoff its trouble earned
                job.wait(timeout=20)  # it ends, so that no job of this test is followed after it
    settings.restore(before)


def test_a_job_whose_poll_drips_never_holds_up_another(server: Hostile) -> None:
    """A tracker round waited for all its requests: the job that had succeeded timed out in result(timeout=8)."""
    slow = live.start("demo/slow", display=False)
    fast = live.start("demo/fast", display=False)
    assert (slow.id, fast.id) == ("slow", "fast")
    began = time.monotonic()
    assert fast.result(timeout=8) == {"n": 1}
    assert time.monotonic() - began < 4
    assert not slow.done()


def test_a_poll_has_a_deadline_of_its_own(server: Hostile, monkeypatch: pytest.MonkeyPatch) -> None:
    """A status request still dripping at the poll deadline is given up on: the job shows the trouble and is
    checked again later, rather than waiting out the client's whole request timeout (120 s). The deadline (15 s) is
    scaled down to 0.3 s, well within the 6 s the status takes."""
    monkeypatch.setattr(runtime_session, "POLL_TIMEOUT", 0.3)
    slow = live.start("demo/slow", display=False)
    deadline = time.monotonic() + 6
    while slow.last_error is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert slow.last_error is not None and "took longer than 0.3 s" in slow.last_error
    polls = [r for r in server.seen if r.path == "/v1/jobs/slow"]
    deadline = time.monotonic() + 6
    while len(polls) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
        polls = [r for r in server.seen if r.path == "/v1/jobs/slow"]
    assert len(polls) >= 2, "checked again after the poll that ran out of time"
