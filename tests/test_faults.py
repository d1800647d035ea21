"""Fault tolerance: the emulator's fault injection over loopback, and a mock transport only for fault
shapes a server cannot produce (a refused first connect, an HTML proxy page, a redirect to another host)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from puras_nb import AsyncClient, Client, PurasAPIError, PurasConnectionError

KEY = "puras_live_fault_test_key_0123456789"
TRANSIENT_GET_FAULTS = {"rate": 0.3, "seed": 11, "kinds": "502|503|reset", "methods": "GET"}


def stats(url: str) -> dict:
    return httpx.get(f"{url}/_emulator/stats", headers={"Authorization": f"Bearer {KEY}"}, timeout=10).json()


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
    assert after["jobs_created"] - before["jobs_created"] == 50
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


def test_429_retry_after_is_honoured(emulator_url: str, faults) -> None:
    with Client(KEY, "demo", api_base=emulator_url) as client:
        job = client.submit("echo", {}, wait=True)
        faults({"rate": 1, "kinds": "429", "retry_after": 1, "methods": "GET"})
        off = {"json": {}, "headers": {"Authorization": f"Bearer {KEY}"}, "timeout": 10}
        threading.Timer(0.3, lambda: httpx.put(f"{emulator_url}/_emulator/faults", **off)).start()
        start = time.monotonic()
        assert client.get(job["id"])["status"] == "succeeded"
        assert time.monotonic() - start >= 1.0


def test_exhausted_retries_during_a_wait_name_the_job(emulator_url: str, faults) -> None:
    with Client(KEY, "demo", api_base=emulator_url, max_retries=1) as client:
        job = client.submit("echo", {})
        faults({"rate": 1, "kinds": "503", "methods": "GET"})
        with pytest.raises(PurasAPIError) as info:
            client.wait(job["id"], poll_interval=0.1)
    assert info.value.status == 503 and info.value.job_id == job["id"] and job["id"] in str(info.value)


@pytest.mark.parametrize("kind", ["503", "502", "429", "reset"])
def test_a_submission_is_not_resent_once_it_may_have_arrived(emulator_url: str, faults, kind: str) -> None:
    before = stats(emulator_url)
    faults({"rate": 1, "kinds": kind, "methods": "POST", "paths": "/v1/jobs", "retry_after": 0})
    with Client(KEY, "demo", api_base=emulator_url) as client, pytest.raises((PurasAPIError, PurasConnectionError)):
        client.run("echo", {})
    after = stats(emulator_url)
    assert after["requests"] - before["requests"] == 1
    assert after["jobs_created"] == before["jobs_created"]


class RefuseFirstConnect(httpx.HTTPTransport):
    """The real loopback transport, except that the first request fails to connect (never sent)."""

    refused = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.refused:
            self.refused += 1
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return super().handle_request(request)


def test_a_submission_is_resent_after_a_connect_error(emulator_url: str) -> None:
    before = stats(emulator_url)["jobs_created"]
    transport = RefuseFirstConnect()
    with Client(KEY, "demo", api_base=emulator_url, transport=transport) as client:
        assert client.run("echo", {"once": True}) == {"once": True}
    assert transport.refused == 1
    assert stats(emulator_url)["jobs_created"] - before == 1


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
    """An unclosed tag repeated over a big error page made the summary regexes quadratic (minutes of CPU)."""
    page = tag * 20_000 + "<p>end</p>"

    def proxy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text=page, headers={"Content-Type": "text/html"})

    started = time.monotonic()
    with Client(KEY, "demo", api_base="https://api.example.test", max_retries=0,
                transport=httpx.MockTransport(proxy)) as client, pytest.raises(PurasAPIError) as err:
        client.get("j1")
    assert time.monotonic() - started < 1.5
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
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers.get("Authorization")))
        if request.url.host == "api.example.test":
            if request.url.path == "/v1/jobs/moved":
                return httpx.Response(302, headers={"Location": "/v1/jobs/j1"})
            if request.url.path == "/v1/jobs/j1":
                return httpx.Response(307, headers={"Location": "https://files.elsewhere.test/j1"})
        return httpx.Response(200, json={"id": "j1", "status": "succeeded"})

    with Client(KEY, api_base="https://api.example.test", transport=httpx.MockTransport(handler)) as client:
        assert client.get("moved")["id"] == "j1"
    assert seen == [
        ("api.example.test", f"Bearer {KEY}"),
        ("api.example.test", f"Bearer {KEY}"),
        ("files.elsewhere.test", None),
    ]
