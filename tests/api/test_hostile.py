"""Hostile servers (issue 22): what a server answers can be shaped, paced or worded to hurt; the client's errors
stay plain, short and ours. The server is tests/harness/hostile.py over loopback, or the emulator."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from puras_nb import AsyncClient, Client, JobError, PurasAPIError, PurasConnectionError
from puras_nb.api import answers, flows
from puras_nb.strings import has_control
from tests.harness.hostile import Hostile, Seen, answer, drip, endless, gzip_bomb

KEY = "puras_live_hostile_test_key_0123456789"
ESCAPES = "\x1b[31mred\x1b[0m \x1b]8;;https://evil.example/\x07link\x1b]8;;\x07 \x1b[2J\rover\x07"


def test_escape_codes_in_a_job_error_never_reach_the_terminal(emulator: Any) -> None:
    with Client(emulator.api_key, "demo", api_base=emulator.url) as client, pytest.raises(JobError) as info:
        client.run("fail", {"after": 0, "message": ESCAPES})
    text = str(info.value)
    assert not has_control(text) and text.endswith("failed: red link over"), text
    assert info.value.job["error"] == ESCAPES  # the job itself is kept as the server sent it


def test_escape_codes_in_an_api_detail_never_reach_the_terminal() -> None:
    routes = {"GET /v1/jobs/": answer(409, {"detail": ESCAPES})}
    with Hostile(routes) as server, Client(KEY, api_base=server.url) as client, pytest.raises(PurasAPIError) as info:
        client.get("j1")
    assert str(info.value) == "409: red link over" and info.value.detail == "red link over"


JOB = {"id": "j1", "status": "running"}
DONE = {"id": "j1", "status": "succeeded", "result": {"ok": True}}


def elapsed(call: Callable[[], Any]) -> tuple[BaseException | None, float]:
    """What `call` raised (None if nothing) and how long it took."""
    began = time.monotonic()
    try:
        call()
    except Exception as exc:  # the error is what the test looks at
        return exc, time.monotonic() - began
    return None, time.monotonic() - began


def on(base: str, method: str, *args: Any, client: dict | None = None, **call: Any) -> Any:
    """`Client(**client).method(*args, **call)`, the client closed afterwards."""
    with Client(KEY, "demo", api_base=base, **(client or {})) as sync:
        return getattr(sync, method)(*args, **call)


def in_loop(base: str, method: str, *args: Any, client: dict | None = None, **call: Any) -> Any:
    """`AsyncClient(**client).method(*args, **call)` in a loop of its own."""
    async def main() -> Any:
        async with AsyncClient(KEY, "demo", api_base=base, **(client or {})) as aio:
            return await getattr(aio, method)(*args, **call)

    return asyncio.run(main())


# ── 22.4: no answer is endless in size or in time ──────────────────────────────────────────────────────────────


def test_an_endless_body_ends_at_the_cap_as_an_error_that_says_so() -> None:
    """An endless body made Client.get eat memory until MemoryError."""
    with Hostile({"GET /v1/jobs/": endless()}) as server, Client(KEY, api_base=server.url) as client:
        tracemalloc.start()
        try:
            error, _ = elapsed(lambda: client.get("j1"))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert isinstance(error, PurasAPIError) and "larger than 64 MB" in str(error), error
        assert str(error).startswith("200: unexpected answer from the server: its body is larger than")
        assert peak < 3 * answers.MAX_BODY
        error, _ = elapsed(lambda: in_loop(server.url, "get", "j1"))
        assert isinstance(error, PurasAPIError) and "larger than 64 MB" in str(error)


#: A job dripped a byte every DRIP s: trailing spaces keep it JSON and make the whole body take minutes, so only a
#: deadline on the whole request ends it; each byte comes well within every read's timeout (TIMEOUT, or a wait's
#: TIMEOUT plus GRACE).
SLOW_JOB = json.dumps(DONE).encode() + b" " * 4000
DRIP = 0.02
TIMEOUT = 0.25
#: A request inside a wait may outlive the wait by `flows.DEADLINE_GRACE` (1 s), scaled down here with the timeouts.
GRACE = 0.25


@pytest.mark.parametrize(
    ("call", "limit"),
    [
        (lambda url: on(url, "get", "j1", client={"timeout": TIMEOUT}), TIMEOUT),
        (lambda url: in_loop(url, "get", "j1", client={"timeout": TIMEOUT}), TIMEOUT),
        (lambda url: on(url, "wait", "j1", timeout=TIMEOUT), TIMEOUT + GRACE),
        (lambda url: on(url, "run", "echo", timeout=TIMEOUT), TIMEOUT + GRACE),
        (lambda url: in_loop(url, "wait", "j1", timeout=TIMEOUT), TIMEOUT + GRACE),
    ],
    ids=["get", "AsyncClient.get", "wait", "run", "AsyncClient.wait"],
)
def test_a_body_dripped_a_byte_a_second_ends_with_the_calls_timeout(
    call: Callable[[str], Any], limit: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body dripped at 1 byte/s never trips a read timeout: get, wait(timeout=4), run(timeout=4) and
    AsyncClient.get ran past 20 s. A whole request is bounded by the call's timeout (a wait's: plus the grace).
    Here a byte comes every 20 ms (the body takes 80 s), well within each read's timeout of 0.25 or 0.5 s."""
    monkeypatch.setattr(flows, "DEADLINE_GRACE", GRACE)
    routes = {"GET /v1/jobs/": drip(SLOW_JOB, DRIP), "POST /v1/jobs": drip(SLOW_JOB, DRIP),
              "GET /v1/jobs": answer(200, [])}
    with Hostile(routes) as server:
        error, took = elapsed(lambda: call(server.url))
    assert isinstance(error, PurasConnectionError), error
    assert "no whole answer within" in str(error) and "the answer was still arriving" in str(error)
    assert took < limit + 3, took  # the whole body would take 80 s


def test_a_body_that_stalls_halfway_ends_at_the_deadline_not_a_read_timeout_later() -> None:
    """Half a body, then nothing: each read may wait the whole timeout, so without the watchdog the last read
    began near the deadline ran a timeout past it (1.3 + 1.5 s here). The blocking and the async client are
    called at once, each timed on its own; the stall ends with the test."""
    over = threading.Event()

    def half_then_stall(conn: socket.socket, seen: Seen) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n")
        for byte in b'{"id": "j1", ':
            conn.sendall(bytes([byte]))
            time.sleep(0.11)  # the last byte arrives about 1.3 s in
        over.wait(30)

    client = {"timeout": 1.5, "max_retries": 0}
    with Hostile({"GET /v1/jobs/": half_then_stall}) as server, ThreadPoolExecutor(2) as pool:
        try:
            both = [pool.submit(elapsed, lambda: on(server.url, "get", "j1", client=client)),
                    pool.submit(elapsed, lambda: in_loop(server.url, "get", "j1", client=client))]
            for error, took in (done.result() for done in both):
                assert isinstance(error, PurasConnectionError) and "still arriving" in str(error), error
                assert took < 2.4, took
        finally:
            over.set()


def test_a_gzip_bomb_is_refused_at_the_cap_without_inflating() -> None:
    import gzip

    bomb = gzip_bomb(answers.MAX_BODY + 1024, b" ")  # 64 MB of spaces in ~64 KB
    routes = {"GET /v1/jobs/": answer(200, bomb, (("Content-Encoding", "gzip"),))}
    with Hostile(routes) as server, Client(KEY, api_base=server.url) as client:
        assert server.seen == [] and len(bomb) < 200_000
        error, _ = elapsed(lambda: client.get("j1"))
        assert isinstance(error, PurasAPIError) and "larger than 64 MB" in str(error), error
        assert server.seen[0].headers["accept-encoding"] == "gzip"
        server.routes["GET /v1/jobs/"] = answer(200, gzip.compress(json.dumps(DONE).encode()),
                                                (("Content-Encoding", "gzip"),))
        assert client.get("j1") == DONE
        server.routes["GET /v1/jobs/"] = answer(200, b"x", (("Content-Encoding", "br"),))
        with pytest.raises(PurasAPIError, match="content-encoding br"):
            client.get("j1")


# ── 22.6: redirects: never a POST turned GET, never another origin ───────────────────────────────────────────


def test_a_301_on_the_submission_is_an_error_not_a_get_of_the_job_list() -> None:
    """httpx turned a POST answered 301 into a GET: run() got the job list and died with AttributeError."""
    routes = {"POST /v1/jobs": answer(301, b"", (("Location", "/v1/jobs"),)), "GET /v1/jobs": answer(200, [DONE])}
    with Hostile(routes) as server, Client(KEY, "demo", api_base=server.url) as client:
        with pytest.raises(PurasAPIError, match=r"unexpected answer from the server: a 301 redirect to .*/v1/jobs"):
            client.run("echo", {"a": 1})
        assert [r.method for r in server.seen] == ["POST"]
        with pytest.raises(PurasAPIError, match="a 302 redirect"):
            server.routes["GET /v1/jobs/"] = answer(302, b"", (("Location", "/v1/jobs/j2"),))
            client.get("j1")


def test_a_307_or_308_to_the_api_itself_is_followed_with_the_same_method_body_and_key() -> None:
    routes = {"POST /v1/jobs": answer(307, b"", (("Location", "/v2/jobs?skillpack=demo"),)),
              "POST /v2/jobs": answer(201, DONE), "GET /v1/jobs/j1": answer(308, b"", (("Location", "/v2/jobs/j1"),)),
              "GET /v2/jobs/j1": answer(200, DONE)}
    with Hostile(routes) as server, Client(KEY, "demo", api_base=server.url) as client:
        assert client.run("echo", {"a": 1}) == {"ok": True}
        assert client.get("j1") == DONE
    first, moved = server.seen[0], server.seen[1]
    assert (moved.method, moved.path, moved.body) == ("POST", "/v2/jobs?skillpack=demo", first.body)
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in server.seen)


def test_a_redirect_to_another_origin_is_never_followed() -> None:
    with Hostile({}) as elsewhere:
        routes = {"GET /v1/jobs/": answer(307, b"", (("Location", f"{elsewhere.url}/v1/jobs/j1"),))}
        with Hostile(routes) as server, Client(KEY, api_base=server.url) as client, pytest.raises(
            PurasAPIError, match=r"a 307 redirect to http://127\.0\.0\.1:.*only 307 and 308 to"
        ):
            client.get("j1")
    assert elsewhere.seen == []


def test_redirects_are_not_followed_forever() -> None:
    routes = {"GET /v1/jobs/": answer(307, b"", (("Location", "/v1/jobs/again"),))}
    with Hostile(routes) as server, Client(KEY, api_base=server.url) as client:
        with pytest.raises(PurasAPIError, match="307"):
            client.get("j1")
        assert len(server.seen) == 6


# ── 22.7: wrong-shaped answers are unexpected answers, never raw Python errors ───────────────────────────────

DEEP = b"[" * 100_000 + b"]" * 100_000
WRONG_JOBS = [b"[]", b'"ok"', b"null", b"7", b'{"id": 5}', b'{"id": "j1", "status": 7}', b'{"id": ""}', DEEP,
              b'{"id": "j1", "status": "running", "cost_micros": NaN}']


@pytest.mark.parametrize("body", WRONG_JOBS, ids=lambda b: b[:24].decode())
def test_a_job_of_the_wrong_shape_is_an_unexpected_answer(body: bytes) -> None:
    routes = {"GET /v1/jobs/": answer(200, body), "POST /v1/jobs": answer(201, body)}
    with Hostile(routes) as server, Client(KEY, "demo", api_base=server.url) as client:
        calls = [lambda: client.get("j1"), lambda: client.submit("echo"), lambda: client.run("echo"),
                 lambda: client.wait("j1"), lambda: client.cancel("j1"), lambda: in_loop(server.url, "get", "j1"),
                 lambda: in_loop(server.url, "run", "echo")]
        for call in calls:
            error, _ = elapsed(call)
            assert isinstance(error, PurasAPIError), repr(error)
            assert "unexpected answer from the server: " in str(error) and len(str(error)) < 300


@pytest.mark.parametrize(
    "body",
    [b'[{"id": Infinity, "type": "log"}]', b'[{"id": 1e400}]', b'[{"id": "2"}]', b'[7]', b'{"events": []}', DEEP],
    ids=["Infinity", "1e400", "a string id", "not an object", "not a list", "deep"],
)
def test_events_of_the_wrong_shape_are_an_unexpected_answer(body: bytes) -> None:
    routes = {"GET /v1/jobs/j1/events": answer(200, body), "GET /v1/jobs/j1": answer(200, DONE)}
    with Hostile(routes) as server, Client(KEY, api_base=server.url) as client:
        with pytest.raises(PurasAPIError, match="unexpected answer from the server"):
            client.events("j1")
        with pytest.raises(PurasAPIError, match="unexpected answer from the server"):
            list(client.iter_events("j1"))


def test_a_job_list_of_the_wrong_shape_is_an_unexpected_answer() -> None:
    routes = {"GET /v1/jobs": answer(200, [DONE, "ok"])}
    with Hostile(routes) as server, Client(KEY, api_base=server.url) as client:
        with pytest.raises(PurasAPIError, match="item 1 of the job list: a job should be an object"):
            client.jobs()
        server.routes["GET /v1/jobs"] = answer(200, {"jobs": []})
        with pytest.raises(PurasAPIError, match="a list of jobs should be a list, not an object"):
            client.jobs()
