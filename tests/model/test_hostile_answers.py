"""Live jobs against a server whose answers have the wrong shape (issue 22.7): `start`, `run` and `attach` raise
a PurasAPIError "unexpected answer from the server: ...", with our clients and with the official `puras.Client`
(which checks nothing), never a raw AttributeError or RecursionError from deep inside the model."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import puras
import pytest

from puras_nb import PurasAPIError, settings
from puras_nb.notebook import live
from tests.harness.hostile import Hostile, answer

KEY = "puras_live_hostile_model_key_0123456789"
DEEP = b"[" * 100_000 + b"]" * 100_000
WRONG = [b"[]", b'"ok"', b"null", b"7", b'{"id": 5}', b'{"id": "j1", "status": 7}', DEEP]


@pytest.fixture
def server() -> Iterator[Hostile]:
    before = settings.current()
    with Hostile({"GET /v1/jobs": answer(200, [])}) as hostile:
        settings.configure(api_key=KEY, api_base=hostile.url, local=False, poll_interval=0.1)
        yield hostile
    settings.restore(before)


def clients(server: Hostile) -> list[Any]:
    """The kernel-wide connection (ours), and the official client handed to `client=`."""
    return [None, puras.Client(KEY, api_base=server.url)]


@pytest.mark.parametrize("body", WRONG, ids=lambda b: b[:16].decode())
def test_start_run_and_attach_raise_an_unexpected_answer(server: Hostile, body: bytes) -> None:
    server.routes["POST /v1/jobs"] = answer(201, body)
    server.routes["GET /v1/jobs/"] = answer(200, body)
    for client in clients(server):
        calls = (lambda c=client: live.start("demo/echo", display=False, client=c),
                 lambda c=client: live.run("demo/echo", display=False, client=c, timeout=5),
                 lambda c=client: live.attach("j1", display=False, client=c))
        for call in calls:
            with pytest.raises(PurasAPIError, match="unexpected answer from the server: ") as info:
                call()
            assert len(str(info.value)) < 300


def test_a_followed_job_whose_status_turns_wrong_shaped_ends_with_the_error(server: Hostile) -> None:
    """A job that started well and whose later status answers are garbage is not left hanging: the error shows
    as trouble and, since it is no passing blip but the server's answer, the job is checked again later."""
    server.routes["POST /v1/jobs"] = answer(201, {"id": "j1", "status": "running"})
    server.routes["GET /v1/jobs/j1/events"] = answer(200, b'[{"id": Infinity}]')
    server.routes["GET /v1/jobs/j1"] = answer(200, b'"ok"')
    job = live.start("demo/echo", display=False)
    assert job.id == "j1"
    deadline = time.monotonic() + 10
    while job.last_error is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not job.done() and job.last_error is not None
    assert "unexpected answer from the server" in job.last_error
    server.routes["GET /v1/jobs/j1"] = answer(200, {"id": "j1", "status": "succeeded", "result": {"k": 1}})
    server.routes["GET /v1/jobs/j1/events"] = answer(200, [{"id": 1, "type": "log", "payload": {}}])
    assert job.result(timeout=10) == {"k": 1}
