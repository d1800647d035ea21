"""`puras_nb.Client` against the emulator over loopback: every method, speed, pooling and interrupts."""

from __future__ import annotations

import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

import puras_nb
from puras_nb import Client, JobError, JobInterrupted, PurasAPIError, SubmitInterrupted, local, settings
from puras_nb.api.flows import TERMINAL, USER_AGENT, parse_time


@pytest.fixture
def client(emulator) -> Iterator[Client]:
    with Client(emulator.api_key, "demo", api_base=emulator.url) as c:
        yield c


def stats(url: str, auth: dict[str, str]) -> dict:
    return httpx.get(f"{url}/_emulator/stats", headers=auth, timeout=10).json()


def demo_uuid(client: Client) -> str:
    return next(p["id"] for p in client.skillpacks() if p["slug"] == "demo")


def test_run_returns_the_result_for_every_way_of_naming_the_skill(client: Client) -> None:
    assert client.run("echo", {"a": 1}) == {"a": 1}
    assert client.run("demo/echo", {"b": 2}, skillpack="ignored") == {"b": 2}
    assert client.run("local/demo/count", {"n": 2, "delay": 0}) == {"count": 2}
    assert client.run("echo", {"c": 3}, skillpack=demo_uuid(client)) == {"c": 3}
    assert client.run("echo") == {}


def test_run_of_a_short_job_returns_within_milliseconds_of_it_finishing(
    client: Client, emulator_url: str, auth: dict[str, str]
) -> None:
    before = stats(emulator_url, auth)["requests"]
    assert client.run("slow", {"seconds": 0.3}) == {"slept": 0.3}
    returned = time.time()
    assert stats(emulator_url, auth)["requests"] - before == 1
    job = client.jobs(skill="slow", limit=1)[0]
    assert returned - parse_time(job["finished_at"]) < 0.25


def test_run_raises_job_error_for_a_failed_job(client: Client) -> None:
    with pytest.raises(JobError) as info:
        client.run("fail", {"after": 1, "message": "no luck"})
    assert info.value.job["status"] == "failed" and info.value.job["error"] == "no luck"
    assert str(info.value) == f"job {info.value.job_id} failed: no luck"


def test_run_timeout_raises_job_error_with_the_job_still_running(client: Client) -> None:
    start = time.monotonic()
    with pytest.raises(JobError) as info:
        client.run("hang", {"tag": uuid.uuid4().hex}, timeout=1.2, poll_interval=0.1)
    assert 1.1 < time.monotonic() - start < 3.0
    assert info.value.job["status"] == "running"
    client.cancel(info.value.job_id)


def test_run_pins_a_version(client: Client) -> None:
    client.run("echo", {}, version=1)
    assert client.jobs(skill="echo", limit=1)[0]["version"] == 1
    with pytest.raises(PurasAPIError) as info:
        client.run("echo", {}, version=99)
    assert info.value.status == 404


def test_submit_returns_the_job_and_waits_server_side(client: Client) -> None:
    job = client.submit("count", {"n": 1, "delay": 0})
    assert job["status"] in ("queued", "running", "succeeded") and job["skill_name"] == "count"
    waited = client.submit("slow", {"seconds": 0.2}, wait=True, timeout=10)
    assert waited["status"] == "succeeded" and waited["result"] == {"slept": 0.2}
    short = client.submit("slow", {"seconds": 5}, wait=True, timeout=1)
    assert short["status"] == "running"
    client.cancel(short["id"])


def test_get_and_wait(client: Client) -> None:
    job = client.submit("count", {"n": 3, "delay": 0.05})
    assert client.get(job["id"])["id"] == job["id"]
    done = client.wait(job["id"], poll_interval=0.5)
    assert done["status"] == "succeeded" and done["result"] == {"count": 3}
    with pytest.raises(PurasAPIError) as info:
        client.get("no-such-job")
    assert info.value.status == 404


def test_wait_returns_a_running_job_at_timeout(client: Client) -> None:
    job = client.submit("hang", {"tag": uuid.uuid4().hex})
    still = client.wait(job["id"], timeout=0.3, poll_interval=0.1)
    assert still["status"] == "running"
    assert client.cancel(job["id"])["status"] == "cancelled"


def test_cancel_stops_a_job_and_a_finished_job_answers_409(client: Client) -> None:
    job = client.submit("hang", {"tag": uuid.uuid4().hex})
    assert client.cancel(job["id"])["status"] == "cancelled"
    assert client.get(job["id"])["status"] == "cancelled"
    with pytest.raises(PurasAPIError) as info:
        client.cancel(job["id"])
    assert info.value.status == 409 and info.value.job_id == job["id"]


def test_events_and_iter_events_follow_a_job_to_its_end(client: Client) -> None:
    job = client.submit("count", {"n": 4, "delay": 0.05})
    seen = list(client.iter_events(job["id"], poll_interval=0.2))
    progress = [e["payload"]["step"] for e in seen if e["type"] == "progress"]
    assert progress == [1, 2, 3, 4]
    assert [e["id"] for e in seen] == sorted({e["id"] for e in seen})
    assert client.get(job["id"])["status"] in TERMINAL
    assert client.events(job["id"]) == seen
    assert client.events(job["id"], after=seen[-2]["id"]) == seen[-1:]
    assert list(client.iter_events(job["id"], after=seen[-1]["id"])) == []


def test_iter_events_stops_at_its_timeout(client: Client) -> None:
    job = client.submit("hang", {"tag": uuid.uuid4().hex})
    start = time.monotonic()
    seen = list(client.iter_events(job["id"], poll_interval=0.1, timeout=0.5))
    assert 0.4 < time.monotonic() - start < 2.5 and seen
    client.cancel(job["id"])


def test_jobs_lists_newest_first_with_filters(client: Client) -> None:
    tag = uuid.uuid4().hex
    first = client.submit("echo", {"tag": tag, "i": 1}, wait=True)
    second = client.submit("echo", {"tag": tag, "i": 2}, wait=True)
    listed = client.jobs(skill="echo", limit=2)
    assert [j["id"] for j in listed] == [second["id"], first["id"]]
    assert all(j["status"] == "failed" for j in client.jobs(status="failed", limit=5))
    assert len(client.jobs(limit=1)) == 1


def test_replay_and_feedback(client: Client) -> None:
    job = client.submit("count", {"n": 1, "delay": 0}, wait=True)
    again = client.replay(job["id"], version=1)
    assert again["parent_job_id"] == job["id"] and again["id"] != job["id"] and again["inputs"] == job["inputs"]
    stored = client.feedback(job["id"], rating=1, comment="nice", end_user_id="u1")
    assert (stored["job_id"], stored["rating"], stored["comment"], stored["end_user_id"]) == (
        job["id"], 1, "nice", "u1")
    with pytest.raises(ValueError, match="non-zero rating or a comment"):
        client.feedback(job["id"])


def test_skillpacks_describe_the_demo_pack(client: Client) -> None:
    demo = next(p for p in client.skillpacks() if p["slug"] == "demo")
    assert demo["path"] == "local/demo" and {"echo", "count", "hang"} <= {s["name"] for s in demo["skills"]}


def test_one_pooled_connection_and_our_user_agent(emulator) -> None:
    seen: list[httpx.Request] = []
    with Client(emulator.api_key, "demo", api_base=emulator.url) as c:
        c._http.event_hooks["request"].append(seen.append)
        for _ in range(5):
            c.run("echo", {})
        pool = c._http._transport._pool
        assert len(pool.connections) == 1
    assert {r.headers["User-Agent"] for r in seen} == {USER_AGENT}
    assert all(r.headers["Authorization"] == f"Bearer {emulator.api_key}" for r in seen)


def test_repr_and_close(emulator) -> None:
    c = Client("puras_live_0123456789abcdefSECRET", "demo", api_base=emulator.url)
    assert "0123456789abcdef" not in repr(c) and "…CRET" in repr(c)
    c.close()
    with pytest.raises(RuntimeError):
        c.get("x")


def test_a_key_no_header_can_carry_never_reaches_an_error_message(emulator) -> None:
    """A key read from a file keeps its newline: it is trimmed. Any other control (or non-ASCII) character is
    refused up front, without quoting the key: h11 used to put the whole Authorization value in the error."""
    seen: list[httpx.Request] = []
    with Client(emulator.api_key + "\n", "demo", api_base=emulator.url) as c:
        c._http.event_hooks["request"].append(seen.append)
        assert c.skillpacks()
    assert seen[-1].headers["Authorization"] == f"Bearer {emulator.api_key}"
    for bad in ("puras_live_0123456789SECRET\x00", "puras_live_0123456789\r\nX-Evil: SECRET", "puras_live_é0123SECRET"):
        with pytest.raises(ValueError) as info:
            Client(bad, "demo", api_base=emulator.url).get("x")
        assert "SECRET" not in str(info.value) and "0123" not in str(info.value)


@pytest.fixture
def sigint_after():
    """Deliver a real SIGINT to the main thread after a delay (as Ctrl-C or the kernel's stop button)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timers: list[threading.Timer] = []

    def arm(seconds: float) -> None:
        main = threading.main_thread().ident
        timer = threading.Timer(seconds, signal.pthread_kill, (main, signal.SIGINT))
        timers.append(timer)
        timer.start()

    yield arm
    for timer in timers:
        timer.cancel()
    signal.signal(signal.SIGINT, previous)


class Armed(httpx.HTTPTransport):
    """The real loopback transport that calls `then` (once, then clears it) when a request to a path starting with
    `prefix` reaches `event` of httpcore's trace (by default: its body is sent whole): a Ctrl-C armed there comes
    while the server has the request, however loaded the machine, instead of after a sleep that hopes so."""

    def __init__(self, event: str = ".send_request_body.complete") -> None:
        super().__init__()
        self.event = event
        self.prefix = ""
        self.then: Callable[[], None] | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.then is not None and request.url.path.startswith(self.prefix):
            inner = request.extensions.get("trace")

            def trace(name: str, info: dict) -> None:
                if inner is not None:
                    inner(name, info)
                if name.endswith(self.event) and self.then is not None:
                    then, self.then = self.then, None
                    then()

            request.extensions["trace"] = trace
        return super().handle_request(request)


@pytest.fixture
def armed(emulator) -> Iterator[tuple[Client, Armed]]:
    """A client on the emulator whose transport can arm a Ctrl-C on a request's delivery."""
    transport = Armed()
    with Client(emulator.api_key, "demo", api_base=emulator.url, transport=transport) as c:
        yield c, transport


def find_by_tag(client: Client, tag: str) -> dict:
    return next(j for j in client.jobs(skill="hang", limit=50) if j["inputs"].get("tag") == tag)


def ctrl_c_once_sent(transport: Armed, prefix: str, sigint_after: Callable[[float], None]) -> None:
    """A Ctrl-C 50 ms after the next request to `prefix` has reached the server (the call then waits on it), or
    its connect began (an `Armed` for "connect_tcp.started")."""
    transport.prefix, transport.then = prefix, lambda: sigint_after(0.05)


def test_ctrl_c_during_run_cancels_the_job_when_asked(armed: tuple[Client, Armed], sigint_after) -> None:
    client, transport = armed
    tag = uuid.uuid4().hex
    ctrl_c_once_sent(transport, "/v1/jobs", sigint_after)
    start = time.monotonic()
    with pytest.raises(JobInterrupted) as info:
        client.run("hang", {"tag": tag}, cancel_on_interrupt=True)
    assert time.monotonic() - start < 2.5  # the server-side wait alone would hold it 60 s
    job = find_by_tag(client, tag)
    assert info.value.job_id == job["id"] and info.value.cancelled and job["id"] in str(info.value)
    assert client.wait(job["id"], timeout=5, poll_interval=0.1)["status"] == "cancelled"


def test_ctrl_c_while_polling_leaves_the_job_running_by_default(armed: tuple[Client, Armed], sigint_after) -> None:
    client, transport = armed
    tag = uuid.uuid4().hex
    client.max_server_wait = 0
    ctrl_c_once_sent(transport, "/v1/jobs/", sigint_after)  # a status poll: the submission was answered at once
    with pytest.raises(JobInterrupted) as info:
        client.run("hang", {"tag": tag}, poll_interval=0.1)
    job = find_by_tag(client, tag)
    assert info.value.job_id == job["id"] and not info.value.cancelled
    assert client.get(job["id"])["status"] == "running"
    ctrl_c_once_sent(transport, "/v1/jobs/", sigint_after)
    with pytest.raises(JobInterrupted) as again:
        client.wait(job["id"], cancel_on_interrupt=True)
    assert again.value.cancelled
    assert client.wait(job["id"], timeout=5, poll_interval=0.1)["status"] == "cancelled"


@pytest.mark.parametrize("cancel", [True, False])
def test_ctrl_c_while_a_slow_server_still_holds_the_submission_finds_the_job_it_creates_later(
    armed: tuple[Client, Armed], faults, sigint_after, cancel: bool
) -> None:
    """The request reached the server (the Ctrl-C comes 50 ms after it was sent whole), which creates the job
    0.6 s later, after the first look for it: it is still named."""
    client, transport = armed
    tag = uuid.uuid4().hex
    faults({"rate": 1, "kinds": "delay", "delay": 0.6, "methods": "POST", "paths": "/v1/jobs"})
    ctrl_c_once_sent(transport, "/v1/jobs", sigint_after)
    start = time.monotonic()
    with pytest.raises(JobInterrupted) as info:
        client.run("hang", {"tag": tag}, cancel_on_interrupt=cancel)
    assert time.monotonic() - start < 5.5
    faults({})
    job = find_by_tag(client, tag)
    assert info.value.job_id == job["id"] and job["id"] in str(info.value) and info.value.cancelled is cancel
    if cancel:
        assert client.wait(job["id"], timeout=5, poll_interval=0.1)["status"] == "cancelled"
    else:
        assert client.get(job["id"])["status"] == "running"
        client.cancel(job["id"])


def test_ctrl_c_before_the_submission_left_this_machine_says_no_job_exists(sigint_after) -> None:
    """A server whose accept queue is full: the connect hangs, so the request never reached it."""
    with socket.socket() as server, socket.socket() as filler:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        filler.connect(server.getsockname())
        host, port = server.getsockname()
        transport = Armed("connection.connect_tcp.started")
        ctrl_c_once_sent(transport, "/v1/jobs", sigint_after)
        start = time.monotonic()
        with Client("puras_test_key", "demo", api_base=f"http://{host}:{port}", transport=transport) as c, \
                pytest.raises(SubmitInterrupted) as info:
            c.run("hang", {}, cancel_on_interrupt=True)
    assert time.monotonic() - start < 1.5
    assert info.value.job_id is None and "never reached the server" in str(info.value)
    assert "demo/hang" in str(info.value) or "hang" in str(info.value)


@pytest.fixture
def nowhere() -> Iterator[None]:
    """Kernel-wide settings for a server that is never reached (so no embedded emulator starts for them either)."""
    before = settings.current()
    settings.configure(api_key="puras_live_never_called_0000", api_base="http://127.0.0.1:9", local=False)
    yield
    settings.restore(before)


def test_start_returns_a_live_job_polled_with_this_client(client: Client, nowhere: None) -> None:
    """The kernel-wide connection leads nowhere: the job is submitted and followed with the client it was given."""
    job = puras_nb.start("count", {"n": 2, "delay": 0.05}, client=client, display=False)
    assert job.result(timeout=10) == {"count": 2}
    assert job.status == "succeeded" and client.get(job.id)["status"] == "succeeded"


def test_health_over_http_and_the_pull_request() -> None:
    """`health()` reads `/health`; `pull()` asks for a pack's deployment bundle as `puras pull` does (GET with
    ttl=600), the ref escaped so that it cannot point at another route."""
    with Client("puras_live_k", api_base="http://127.0.0.1:9") as offline:
        req = offline._pull_request("a/../b", 600)
    assert (req.method, req.path, req.params) == ("GET", "/v1/skillpacks/a%2F..%2Fb/deployments/pull", {"ttl": "600"})


def test_health(client: Client) -> None:
    health = client.health()
    assert health["ok"] is True and "demo/echo" in health["skills"]


def test_a_client_nobody_closes_closes_its_connections_when_collected(emulator: local.LocalServer) -> None:
    """puras.Client needs no close (it opens a connection per call), so its drop-in must not leave pooled sockets
    for the garbage collector to find open (a ResourceWarning each, and sockets held until a cycle collection)."""
    import gc
    import warnings

    gc.collect()  # what earlier tests left is found now, not below
    port = httpx.URL(emulator.url).port
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(3):
            Client(emulator.api_key, "demo", api_base=emulator.url).run("echo", {"a": 1})
        gc.collect()
    ours = [str(w.message) for w in caught if f"raddr=('127.0.0.1', {port})" in str(w.message)]
    assert not ours, ours
