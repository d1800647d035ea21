"""`puras_nb.AsyncClient` against the emulator over loopback: every method, concurrency, task cancellation."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from puras_nb import AsyncClient, JobError, PurasAPIError, PurasConnectionError
from puras_nb.api.flows import USER_AGENT


@pytest.fixture
def arun(emulator) -> Callable[[Callable[[AsyncClient], Awaitable[Any]]], Any]:
    """Run `fn(client)` on a fresh event loop with an AsyncClient on the emulator; return its value."""

    def run(fn: Callable[[AsyncClient], Awaitable[Any]]) -> Any:
        async def main() -> Any:
            async with AsyncClient(emulator.api_key, "demo", api_base=emulator.url) as client:
                return await fn(client)

        return asyncio.run(main())

    return run


def test_run_submit_get_wait(arun) -> None:
    async def scenario(c: AsyncClient) -> None:
        assert await c.run("echo", {"a": 1}) == {"a": 1}
        assert await c.run("local/demo/count", {"n": 2, "delay": 0}) == {"count": 2}
        job = await c.submit("count", {"n": 2, "delay": 0.05})
        assert (await c.get(job["id"]))["id"] == job["id"]
        done = await c.wait(job["id"], poll_interval=0.5)
        assert done["status"] == "succeeded" and done["result"] == {"count": 2}
        waited = await c.submit("slow", {"seconds": 0.1}, wait=True, timeout=5)
        assert waited["status"] == "succeeded"

    arun(scenario)


def test_run_errors(arun) -> None:
    async def scenario(c: AsyncClient) -> None:
        with pytest.raises(JobError) as failed:
            await c.run("fail", {"message": "bad"})
        assert failed.value.job["status"] == "failed" and failed.value.job["error"] == "bad"
        with pytest.raises(JobError) as late:  # under a second: no server-side hold, it polls (Client's test holds)
            await c.run("hang", {"tag": uuid.uuid4().hex}, timeout=0.3, poll_interval=0.1)
        assert late.value.job["status"] == "running"
        await c.cancel(late.value.job_id)
        with pytest.raises(PurasAPIError) as missing:
            await c.get("no-such-job")
        assert missing.value.status == 404
        with pytest.raises(ValueError, match="no skillpack"):
            await AsyncClient(c.api_key, api_base=c.api_base).run("echo")

    arun(scenario)


def test_cancel_events_iter_events(arun) -> None:
    async def scenario(c: AsyncClient) -> None:
        job = await c.submit("count", {"n": 3, "delay": 0.05})
        seen = [e async for e in c.iter_events(job["id"], poll_interval=0.2)]
        assert [e["payload"]["step"] for e in seen if e["type"] == "progress"] == [1, 2, 3]
        assert await c.events(job["id"]) == seen
        assert await c.events(job["id"], after=seen[-1]["id"]) == []
        hang = await c.submit("hang", {"tag": uuid.uuid4().hex})
        assert (await c.cancel(hang["id"]))["status"] == "cancelled"
        with pytest.raises(PurasAPIError) as info:
            await c.cancel(hang["id"])
        assert info.value.status == 409

    arun(scenario)


def test_jobs_replay_feedback_skillpacks(arun) -> None:
    async def scenario(c: AsyncClient) -> None:
        tag = uuid.uuid4().hex
        job = await c.submit("echo", {"tag": tag}, wait=True)
        assert (await c.jobs(skill="echo", limit=1))[0]["id"] == job["id"]
        again = await c.replay(job["id"])
        assert again["parent_job_id"] == job["id"] and again["inputs"] == {"tag": tag}
        stored = await c.feedback(job["id"], rating=-1)
        assert stored["job_id"] == job["id"] and stored["rating"] == -1
        packs = await c.skillpacks()
        assert any(p["path"] == "local/demo" for p in packs)
        assert repr(c).startswith("AsyncClient(") and c._http.headers["User-Agent"] == USER_AGENT

    arun(scenario)


def test_concurrent_runs_share_the_loop(arun) -> None:
    async def scenario(c: AsyncClient) -> float:
        start = time.monotonic()
        results = await asyncio.gather(*(c.run("slow", {"seconds": 0.5}) for _ in range(20)))
        assert results == [{"slept": 0.5}] * 20
        return time.monotonic() - start

    assert arun(scenario) < 3.0  # one after another they would take 10 s


class Armed(httpx.AsyncHTTPTransport):
    """The real loopback transport that calls `then` (once) when a request to `/v1/jobs` has left whole (httpcore's
    trace: its body is sent): a task cancelled there is cancelled while the server has the request, however loaded
    the machine, instead of after a sleep that hopes so."""

    def __init__(self) -> None:
        super().__init__()
        self.then: Callable[[], Any] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.then is not None and request.url.path == "/v1/jobs":
            inner = request.extensions.get("trace")

            async def trace(name: str, info: dict) -> None:
                if inner is not None:
                    await inner(name, info)
                if name.endswith(".send_request_body.complete") and self.then is not None:
                    then, self.then = self.then, None
                    then()

            request.extensions["trace"] = trace
        return await super().handle_async_request(request)


async def cancelled_once_sent(c: AsyncClient, transport: Armed, tag: str) -> None:
    """Run the `hang` job `tag`, cancel_on_interrupt, and cancel its task 50 ms after the submission was sent."""
    task = asyncio.create_task(c.run("hang", {"tag": tag}, cancel_on_interrupt=True))
    transport.then = lambda: asyncio.get_running_loop().call_later(0.05, task.cancel)
    with pytest.raises(asyncio.CancelledError):
        await task


def test_cancelling_the_task_cancels_the_job_when_asked(emulator) -> None:
    async def scenario() -> None:
        transport = Armed()
        async with AsyncClient(emulator.api_key, "demo", api_base=emulator.url, transport=transport) as c:
            tag = uuid.uuid4().hex
            await cancelled_once_sent(c, transport, tag)
            job = next(j for j in await c.jobs(skill="hang", limit=50) if j["inputs"].get("tag") == tag)
            assert (await c.wait(job["id"], timeout=5, poll_interval=0.1))["status"] == "cancelled"

    asyncio.run(scenario())


def test_cancelling_the_task_while_a_slow_server_holds_the_submission_cancels_the_job_it_creates(
    emulator, faults
) -> None:
    """The server has the submission (the task is cancelled 50 ms after it was sent whole) and creates the job 0.6 s
    later, after the first look for it: the job is still found and cancelled."""
    async def scenario() -> None:
        transport = Armed()
        async with AsyncClient(emulator.api_key, "demo", api_base=emulator.url, transport=transport) as c:
            tag = uuid.uuid4().hex
            faults({"rate": 1, "kinds": "delay", "delay": 0.6, "methods": "POST", "paths": "/v1/jobs"})
            await cancelled_once_sent(c, transport, tag)
            faults({})
            job = next(j for j in await c.jobs(skill="hang", limit=50) if j["inputs"].get("tag") == tag)
            assert (await c.wait(job["id"], timeout=5, poll_interval=0.1))["status"] == "cancelled"

    asyncio.run(scenario())


def test_connection_error_names_the_host() -> None:
    async def scenario() -> None:
        async with AsyncClient("puras_live_secretsecretsecret", api_base="http://127.0.0.1:9", max_retries=0) as c:
            with pytest.raises(PurasConnectionError) as info:
                await c.get("j1")
        assert "127.0.0.1:9" in str(info.value) and "secret" not in str(info.value)

    asyncio.run(scenario())
