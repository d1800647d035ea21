"""Fault tolerance: the emulator's fault injection over loopback, and a mock transport only for fault
shapes a server cannot produce (a refused first connect, an HTML proxy page, a redirect to another host)."""

from __future__ import annotations

import asyncio
import http.server
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from puras_nb import AsyncClient, Client, PurasAPIError, PurasConnectionError
from puras_nb.api import flows
from puras_nb.api.tls import ssl_context
from tests.harness import chaos

KEY = "puras_live_fault_test_key_0123456789"


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries back off from 10 ms instead of 200 ms: the same retries and deadlines, less waiting between
    them (backoff's growth and cap are checked in test_client_http; Retry-After still sets its own pause)."""
    monkeypatch.setattr(flows, "BACKOFF_BASE", 0.01)
TRANSIENT_GET_FAULTS = {"rate": 0.3, "seed": 11, "kinds": "502|503|reset", "methods": "GET"}


def stats(url: str) -> dict:
    headers = {"Authorization": f"Bearer {KEY}"}
    return httpx.get(f"{url}/_emulator/stats", headers=headers, timeout=10, verify=ssl_context()).json()


class Counting(httpx.HTTPTransport):
    """The real loopback transport, counting the requests this client sends (the emulator's own counters are
    the session's: a job another test left behind is still polled, and its requests count there too)."""

    sent: list[str]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent = [*getattr(self, "sent", []), f"{request.method} {request.url.path}"]
        return super().handle_request(request)


def jobs_with(url: str, key: str, value: str) -> int:
    """How many of the emulator's jobs were created with `inputs[key] == value` (a tag no other test uses)."""
    headers = {"Authorization": f"Bearer {KEY}"}
    jobs = httpx.get(f"{url}/v1/jobs", headers=headers, timeout=10, verify=ssl_context()).raise_for_status().json()
    return sum(1 for job in jobs if (job.get("inputs") or {}).get(key) == value)


def polling_client(url: str) -> Client:
    """A client whose run() polls with GETs from the start (no server-side wait), to put the GETs under fire."""
    client = Client(KEY, "demo", api_base=url)
    client.max_server_wait = 0
    return client


def test_fifty_runs_succeed_through_30_percent_failing_gets_without_duplicates(emulator_url: str, faults) -> None:
    """At default settings run() makes no GET for a job this short (the server-side wait answers it), so
    these runs poll from the start; the emulator's fault counter shows the GETs really were hit."""
    tag = uuid.uuid4().hex
    before = stats(emulator_url)
    faults(TRANSIENT_GET_FAULTS)
    with polling_client(emulator_url) as client, ThreadPoolExecutor(5) as pool:
        results = list(pool.map(lambda i: client.run("count", {"n": 2, "delay": 0.01, "tag": tag, "i": i},
                                                     poll_interval=0.1), range(50)))
    after = stats(emulator_url)
    faults({})
    assert results == [{"count": 2}] * 50
    assert sum(after["faults"].values()) - sum(before["faults"].values()) >= 15
    with Client(KEY, api_base=emulator_url) as client:
        mine = [j for j in client.jobs(skill="count", limit=500) if j["inputs"].get("tag") == tag]
    assert sorted(j["inputs"]["i"] for j in mine) == list(range(50))


def test_async_runs_succeed_through_failing_gets(emulator_url: str, faults) -> None:
    async def main() -> list:
        async with AsyncClient(KEY, "demo", api_base=emulator_url) as client:
            client.max_server_wait = 0
            return await asyncio.gather(*(client.run("count", {"n": 2, "delay": 0.01}, poll_interval=0.1)
                                          for _ in range(20)))

    faults(TRANSIENT_GET_FAULTS)
    assert asyncio.run(main()) == [{"count": 2}] * 20


class FaultsOffAfter(httpx.HTTPTransport):
    """The real loopback transport that calls `off` (once) when an answer with `status` comes back: the emulator's
    faults are turned off on the event itself, so the retry after it meets none, however late it comes."""

    def __init__(self, status: int, off: Callable[[], None]) -> None:
        super().__init__()
        self.status, self.off = status, off
        self.answers: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.answers.append(response.status_code)
        if response.status_code == self.status and self.answers.count(self.status) == 1:
            self.off()
        return response


def test_429_retry_after_is_honoured(emulator_url: str, faults) -> None:
    """The retry waits the Retry-After (0.3 s), not the backoff (10 ms here)."""
    transport = FaultsOffAfter(429, lambda: faults({}))
    with Client(KEY, "demo", api_base=emulator_url, transport=transport) as client:
        job = client.submit("echo", {}, wait=True)
        faults({"rate": 1, "kinds": "429", "retry_after": 0.3, "methods": "GET"})
        start = time.monotonic()
        assert client.get(job["id"])["status"] == "succeeded"
        assert time.monotonic() - start >= 0.3
    assert transport.answers == [201, 429, 200]


def test_exhausted_retries_during_a_wait_name_the_job(emulator_url: str, faults) -> None:
    with Client(KEY, "demo", api_base=emulator_url, max_retries=1) as client:
        job = client.submit("echo", {})
        faults({"rate": 1, "kinds": "503", "methods": "GET"})
        with pytest.raises(PurasAPIError) as info:
            client.wait(job["id"], poll_interval=0.1)
    assert info.value.status == 503 and info.value.job_id == job["id"] and job["id"] in str(info.value)


@pytest.mark.parametrize(("kind", "lookups"), [("503", 0), ("502", 1), ("reset", 1)])
def test_a_submission_is_not_resent_once_it_may_have_arrived(emulator_url: str, faults, kind: str,
                                                             lookups: int) -> None:
    """A 503 was refused as a whole; after a 502 or a reset on a fresh connection the job may exist, so it is
    looked for (one GET) and the error says so, but the submission is never sent twice. Its inputs are its own:
    the lookup would take another test's recent echo of the same inputs for the job this one created. Its
    requests are counted by its own transport: the shared emulator's counter also counted the polls of jobs
    that earlier tests on this worker left running, and failed this test now and then."""
    faults({"rate": 1, "kinds": kind, "methods": "POST", "paths": "/v1/jobs"})
    errors = (PurasAPIError, PurasConnectionError)
    tag = uuid.uuid4().hex
    transport = Counting()
    with Client(KEY, "demo", api_base=emulator_url, transport=transport) as client, pytest.raises(errors) as info:
        client.run("echo", {"tag": tag})
    assert transport.sent == ["POST /v1/jobs"] + ["GET /v1/jobs"] * lookups
    assert jobs_with(emulator_url, "tag", tag) == 0
    assert ("may have been created" in str(info.value)) == bool(lookups)


@pytest.mark.parametrize("kind", [chaos.REFUSE_429, chaos.REFUSE_503])
def test_a_submission_refused_with_retry_after_is_retried(emulator_url: str, kind: str) -> None:
    """A 429 or 503 with Retry-After was not processed: the submission is retried (here until the limit clears)."""
    refusals = iter([kind, kind])

    def decide(method: str, path: str, n: int) -> str:
        return next(refusals, chaos.PASS) if method == "POST" else chaos.PASS

    tag = uuid.uuid4().hex
    with chaos.ChaosProxy(emulator_url, decide, retry_after=0.05) as proxy, \
            Client(KEY, "demo", api_base=proxy.url) as client:
        assert client.run("echo", {"limited": kind, "tag": tag}) == {"limited": kind, "tag": tag}
    assert proxy.counts[kind] == 2 and jobs_with(emulator_url, "tag", tag) == 1


def test_a_submission_refused_with_retry_after_past_the_deadline_fails_at_once(emulator_url: str, faults) -> None:
    faults({"rate": 1, "kinds": "429", "methods": "POST", "paths": "/v1/jobs", "retry_after": 30})
    started = time.monotonic()
    with Client(KEY, "demo", api_base=emulator_url) as client, pytest.raises(PurasAPIError) as info:
        client.run("echo", {}, timeout=5)
    assert info.value.status == 429 and time.monotonic() - started < 2


class RefuseFirstConnect(httpx.HTTPTransport):
    """The real loopback transport, except that the first request fails to connect (never sent)."""

    refused = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.refused:
            self.refused += 1
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return super().handle_request(request)


def test_a_submission_is_resent_after_a_connect_error(emulator_url: str) -> None:
    tag = uuid.uuid4().hex
    transport = RefuseFirstConnect()
    with Client(KEY, "demo", api_base=emulator_url, transport=transport) as client:
        assert client.run("echo", {"once": tag}) == {"once": tag}
    assert transport.refused == 1
    assert jobs_with(emulator_url, "once", tag) == 1


PROXY_PAGE = """<!DOCTYPE html><html><head><title>503 Service Temporarily Unavailable</title>
<style>body { font: 12px sans-serif }</style></head><body><center><h1>503 Service Temporarily Unavailable</h1>
</center><hr><center>nginx</center></body></html>"""


def test_a_non_json_error_body_gives_a_short_detail() -> None:
    calls: list[str] = []

    def proxy(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(503, text=PROXY_PAGE, headers={"Content-Type": "text/html"})

    with Client(KEY, "demo", api_base="https://api.example.test", transport=httpx.MockTransport(proxy)) as client:
        with pytest.raises(PurasAPIError) as submit:
            client.submit("echo", {})
        assert calls == ["POST"]
        with pytest.raises(PurasAPIError) as get:
            client.get("j1")
    assert submit.value.status == 503 and submit.value.detail == "503 Service Temporarily Unavailable"
    assert str(get.value).startswith("503: 503 Service Temporarily Unavailable") and len(calls) == 1 + 4


@pytest.mark.parametrize("tag", ["<title>", "<script>"])
def test_a_huge_non_json_error_body_is_summarised_in_linear_time(tag: str) -> None:
    """An unclosed tag repeated over a big error page made the summary regexes quadratic (minutes of CPU).
    Counted in this thread's CPU time (the sync client summarises in the calling thread), which a loaded
    machine does not stretch as it does wall time."""
    page = tag * 20_000 + "<p>end</p>"

    def proxy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text=page, headers={"Content-Type": "text/html"})

    started = time.thread_time()
    with Client(KEY, "demo", api_base="https://api.example.test", max_retries=0,
                transport=httpx.MockTransport(proxy)) as client, pytest.raises(PurasAPIError) as err:
        client.get("j1")
    assert time.thread_time() - started < 1.5
    assert err.value.status == 502 and len(err.value.detail) <= 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_closed_port_gives_a_connection_error_naming_the_host() -> None:
    port = free_port()
    with Client(KEY, "demo", api_base=f"http://127.0.0.1:{port}", max_retries=1) as client:
        with pytest.raises(PurasConnectionError) as info:
            client.run("echo", {})
        with pytest.raises(httpx.TransportError):
            client.get("j1")
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "Connection refused" in message
    assert info.value.host == f"127.0.0.1:{port}"


def test_the_key_is_never_in_a_repr_or_a_message(emulator_url: str, faults) -> None:
    texts = []
    with Client(KEY, "demo", api_base=emulator_url, max_retries=0) as client:
        texts.append(repr(client))
        for call in (lambda: client.get("nope"), lambda: client.run("fail", {}), lambda: client.run("x/y/z")):
            with pytest.raises(Exception) as info:
                call()
            texts.append(str(info.value))
        faults({"rate": 1, "kinds": "reset", "methods": "GET"})
        with pytest.raises(PurasConnectionError) as reset:
            client.get("nope")
        texts.append(str(reset.value))
    with Client(KEY, api_base=f"http://127.0.0.1:{free_port()}", max_retries=0) as dead:
        with pytest.raises(PurasConnectionError) as refused:
            dead.get("j")
        texts += [str(refused.value), repr(dead)]
    assert all(KEY not in text and KEY[11:] not in text for text in texts)
    assert "puras_live_…6789" in texts[0]


def test_authorization_never_follows_a_redirect_to_another_host() -> None:
    """A 307 within the API is followed with the key; one to another host is an error, and that host never sees
    a request (let alone the key); a 302 is never followed (issue 22.6: only 307 and 308 keep the method)."""
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers.get("Authorization")))
        if request.url.host == "api.example.test":
            if request.url.path == "/v1/jobs/moved":
                return httpx.Response(307, headers={"Location": "/v1/jobs/j1"})
            if request.url.path == "/v1/jobs/j1":
                return httpx.Response(307, headers={"Location": "https://files.elsewhere.test/j1"})
            if request.url.path == "/v1/jobs/found":
                return httpx.Response(302, headers={"Location": "/v1/jobs/j1"})
        return httpx.Response(200, json={"id": "j1", "status": "succeeded"})

    with Client(KEY, api_base="https://api.example.test", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(PurasAPIError, match=r"a 307 redirect to https://files\.elsewhere\.test/j1"):
            client.get("moved")
        with pytest.raises(PurasAPIError, match="a 302 redirect"):
            client.get("found")
    assert seen == [("api.example.test", f"Bearer {KEY}")] * 3


@pytest.mark.parametrize("fault", [chaos.CLOSE_BEFORE, chaos.RESET_BEFORE])
def test_a_post_on_a_keep_alive_connection_the_server_closed_is_resent(emulator_url: str, fault: str) -> None:
    """A server that answered, kept the connection alive (no Connection: close) and closed it as the next
    request came (as the emulator did after a 500, and any server's idle timeout does): that request never
    reached it, so it is resent on a new connection, and the run creates exactly one job. (The official client
    opens a connection per request and never meets this; it created 1 job per run here too.)"""
    faults = iter([fault])

    def decide(method: str, path: str, n: int) -> str:
        return next(faults, chaos.PASS) if method == "POST" and n == 2 else chaos.PASS

    tag = uuid.uuid4().hex
    with chaos.ChaosProxy(emulator_url, decide) as proxy, Client(KEY, "demo", api_base=proxy.url) as client:
        assert client.run("echo", {"first": fault}) == {"first": fault}
        assert client.run("echo", {"second": tag}) == {"second": tag}
        assert client.feedback(client.jobs(skill="echo", limit=1)[0]["id"], rating=1)["rating"] == 1
    assert proxy.counts[fault] == 1 and jobs_with(emulator_url, "second", tag) == 1


def test_an_async_post_on_a_closed_keep_alive_connection_is_resent(emulator_url: str) -> None:
    faults = iter([chaos.CLOSE_BEFORE])

    def decide(method: str, path: str, n: int) -> str:
        return next(faults, chaos.PASS) if method == "POST" and n == 2 else chaos.PASS

    async def main(url: str) -> list:
        async with AsyncClient(KEY, "demo", api_base=url) as client:
            return [await client.run("echo", {"n": i, "tag": tag}) for i in range(2)]

    tag = uuid.uuid4().hex
    with chaos.ChaosProxy(emulator_url, decide) as proxy:
        assert asyncio.run(main(proxy.url)) == [{"n": 0, "tag": tag}, {"n": 1, "tag": tag}]
    assert proxy.counts[chaos.CLOSE_BEFORE] == 1 and jobs_with(emulator_url, "tag", tag) == 2


async def arun(url: str, skill: str, inputs: dict) -> dict:
    async with AsyncClient(KEY, "demo", api_base=url) as client:
        return await client.run(skill, inputs)


@pytest.mark.parametrize("fault", [chaos.RESET_AFTER, chaos.BAD_GATEWAY_AFTER, chaos.TRUNCATE_AFTER])
@pytest.mark.parametrize("call", ["run", "submit", "async run"])
def test_a_submission_whose_answer_is_lost_returns_the_job_it_created(emulator_url: str, fault: str,
                                                                       call: str) -> None:
    """The server created the job, then the answer was lost: the job is found (skill, inputs, time), not
    submitted again."""
    faults = iter([fault])

    def decide(method: str, path: str, n: int) -> str:
        return next(faults, chaos.PASS) if method == "POST" else chaos.PASS

    tag = uuid.uuid4().hex
    with chaos.ChaosProxy(emulator_url, decide) as proxy, Client(KEY, "demo", api_base=proxy.url) as client:
        if call == "run":
            assert client.run("echo", {"tag": tag}) == {"tag": tag}
        elif call == "submit":
            assert client.submit("echo", {"tag": tag}, wait=True)["inputs"] == {"tag": tag}
        else:
            assert asyncio.run(arun(proxy.url, "echo", {"tag": tag})) == {"tag": tag}
    assert proxy.counts[fault] == 1 and jobs_with(emulator_url, "tag", tag) == 1


def test_a_lost_answer_that_cannot_be_told_apart_says_a_job_may_exist(emulator_url: str) -> None:
    faults = iter([chaos.PASS, chaos.PASS, chaos.RESET_AFTER])

    def decide(method: str, path: str, n: int) -> str:
        return next(faults, chaos.PASS) if method == "POST" else chaos.PASS

    inputs = {"twin": uuid.uuid4().hex}
    with chaos.ChaosProxy(emulator_url, decide) as proxy, Client(KEY, "demo", api_base=proxy.url) as client:
        client.run("echo", inputs)
        client.run("echo", inputs)
        with pytest.raises(PurasConnectionError) as info:
            client.run("echo", inputs)
    assert jobs_with(emulator_url, "twin", inputs["twin"]) == 3
    assert "may have been created" in str(info.value) and "client.jobs(skill='echo')" in str(info.value)


@pytest.mark.parametrize("call", ["wait", "run"])
def test_a_timeout_is_a_deadline_even_under_retry_after(emulator_url: str, faults, call: str) -> None:
    """Every GET answered 429 with Retry-After: 5 and a 2 s timeout: the call ends within the timeout
    (it took 73 s), with an error naming the job."""
    with Client(KEY, "demo", api_base=emulator_url) as client:
        job = client.submit("slow", {"seconds": 30})
        faults({"rate": 1, "kinds": "429", "retry_after": 5, "methods": "GET"})
        started = time.monotonic()
        with pytest.raises(PurasAPIError) as info:
            if call == "wait":
                client.wait(job["id"], timeout=2)
            else:
                client.max_server_wait = 0  # the POST returns a running job at once; then the GETs meet the 429s
                client.run("slow", {"seconds": 30}, timeout=2)
        elapsed = time.monotonic() - started
        faults({})
        client.cancel(job["id"])
    assert info.value.status == 429 and info.value.job_id and elapsed <= 3.0


def test_a_wait_asked_to_pause_past_its_deadline_asks_once_and_says_how_long(emulator_url: str, faults) -> None:
    """Every GET answered 429 with Retry-After: 30 and a 5 s wait: one GET, then the error at once, carrying the
    pause asked for. The wait's outer retry took the error for a blip and asked again after its own backoff (1.6
    to 3.2 s at default settings), against what the server said."""
    transport = Counting()
    with Client(KEY, "demo", api_base=emulator_url, transport=transport) as client:
        job = client.submit("slow", {"seconds": 30})
        sent = len(transport.sent)
        faults({"rate": 1, "kinds": "429", "retry_after": 30, "methods": "GET"})
        with pytest.raises(PurasAPIError) as info:
            client.wait(job["id"], timeout=5)
        asked = transport.sent[sent:]
        faults({})
        client.cancel(job["id"])
    assert asked == [f"GET /v1/jobs/{job['id']}"], asked
    assert info.value.status == 429 and info.value.retry_after == 30 and info.value.job_id == job["id"]


class EchoHeaders(http.server.BaseHTTPRequestHandler):
    """An error page that echoes the request's headers, as debugging proxies and some frameworks do."""

    def do_GET(self) -> None:
        if self.path.startswith("/v1/jobs/json"):
            body = json.dumps({"detail": f"bad request, headers: {dict(self.headers)}"}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
        else:
            body = f"<html><title>Bad Gateway: {self.headers}</title><pre>{self.headers}</pre></html>".encode()
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_an_error_page_echoing_the_request_headers_never_shows_the_key() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoHeaders)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()  # shutdown() waits a poll
    texts = []
    try:
        with Client(KEY, "demo", api_base=f"http://127.0.0.1:{server.server_port}", max_retries=0) as client:
            for job_id in ("html", "json"):
                with pytest.raises(PurasAPIError) as info:
                    client.get(job_id)
                texts += [str(info.value), info.value.detail]
    finally:
        server.shutdown()
        server.server_close()
    assert "Bad Gateway" in texts[0] and "bad request" in texts[2]
    assert all(KEY not in t and KEY[11:] not in t and "Bearer puras" not in t for t in texts), texts
    assert all("[redacted]" in t for t in texts)
