"""`AsyncClient`: the `Client` API as coroutines on one pooled httpx.AsyncClient, for event loops and notebooks.

Same calls, defaults, answers and errors as `puras_nb.Client`; waiting never blocks the loop.
Cancelling a task that awaits `run(..., cancel_on_interrupt=True)` cancels the remote job too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from .answers import Answer, BodyReader
from .client import connection_socket, shut
from .flows import POLL_INTERVAL, STOPS, WAIT_TIMEOUT, BaseClient, Emit, Flow, Request, Sleep, Tracer, advance

__all__ = ["AsyncClient"]


class AsyncClient(BaseClient):
    """Call deployed skills from asyncio. Use `async with` or `await aclose()`.

    Takes the same arguments as `Client`; every method is a coroutine and `iter_events` an async generator."""

    def _open(self, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
        return httpx.AsyncClient(**self._http_options(transport))

    # ── the official API ─────────────────────────────────────────────────────
    async def submit(
        self,
        skill: str,
        inputs: dict | None = None,
        *,
        skillpack: str | None = None,
        version: int | None = None,
        wait: bool = False,
        timeout: int = 60,
    ) -> dict:
        """Submit a job and return the job object; `wait=True` blocks server-side up to `timeout` s (max 60)."""
        return await self._drive(self._submit(skill, inputs, skillpack, version, wait, timeout))

    async def run(
        self,
        skill: str,
        inputs: dict | None = None,
        *,
        skillpack: str | None = None,
        version: int | None = None,
        timeout: float = WAIT_TIMEOUT,
        poll_interval: float = POLL_INTERVAL,
        cancel_on_interrupt: bool = False,
    ) -> dict:
        """Submit, wait and return the job's `result`; JobError if it failed, was cancelled or outlived `timeout`.

        The server holds the submission until the job ends (up to 60 s), so a short job returns the moment
        it finishes; a longer one is then polled every `poll_interval` s.

        Interrupted (Ctrl-C or task cancellation) with `cancel_on_interrupt=True`, it cancels the job first."""
        return await self._drive(
            self._run_flow(skill, inputs, skillpack, version, timeout, poll_interval, cancel_on_interrupt)
        )

    async def get(self, job_id: str) -> dict:
        """Fetch a job by id."""
        return await self._drive(self._call(self._get_request(job_id)))

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float = WAIT_TIMEOUT,
        poll_interval: float = POLL_INTERVAL,
        cancel_on_interrupt: bool = False,
    ) -> dict:
        """Poll until the job is terminal or `timeout` s pass; return the last job object (check `status`)."""
        return await self._drive(self._wait_flow(job_id, timeout, poll_interval, cancel_on_interrupt))

    async def feedback(
        self, job_id: str, *, rating: int = 0, comment: str | None = None, end_user_id: str | None = None
    ) -> dict:
        """Record end-user feedback (rating -1/0/+1 and/or a comment) on a job; returns the stored feedback."""
        return await self._drive(self._call(self._feedback_request(job_id, rating, comment, end_user_id)))

    # ── beyond it ────────────────────────────────────────────────────────────
    async def cancel(self, job_id: str) -> dict:
        """Ask the server to cancel a job; returns the job object."""
        return await self._drive(self._call(self._cancel_request(job_id)))

    async def events(self, job_id: str, after: int = 0) -> list[dict]:
        """The job's events with an id greater than `after`."""
        return await self._drive(self._call(self._events_request(job_id, after)))

    async def spans(self, job_id: str) -> list[dict]:
        """The job's trace spans (`GET /v1/jobs/{id}/spans`: run, step, model call and tool, each with its
        `duration_ms` and `parent_span_id`), what `puras spans` draws; `NotSupported` where the server has none."""
        return await self._drive(self._call(self._spans_request(job_id)))

    async def iter_events(
        self, job_id: str, *, after: int = 0, poll_interval: float = POLL_INTERVAL, timeout: float | None = None
    ) -> AsyncIterator[dict]:
        """Yield the job's events as they happen until it is terminal (or `timeout` s pass)."""
        flow = self._events_flow(job_id, after, poll_interval, timeout)
        value, error = None, None
        while True:
            done, step = advance(flow, value, error)
            if done:
                return
            if isinstance(step, Emit):
                for event in step.events:
                    yield event
                value, error = None, None
            else:
                value, error = await self._perform(step)

    async def jobs(
        self, *, status: str | None = None, skill: str | None = None, limit: int | None = None
    ) -> list[dict]:
        """List jobs, newest first, optionally filtered by status and skill name."""
        return await self._drive(self._call(self._jobs_request(status, skill, limit)))

    async def replay(self, job_id: str, *, version: int | None = None) -> dict:
        """Run a past job's inputs again as a new job (optionally on another version); returns the new job."""
        return await self._drive(self._call(self._replay_request(job_id, version)))

    async def skillpacks(self) -> list[dict]:
        """The skillpacks this key can run, with their skills, versions and input schemas."""
        return await self._drive(self._call(self._skillpacks_request()))

    async def balance(self) -> dict:
        """The workspace's balance (`GET /v1/billing/balance`: `balance_usd`, and what jobs cost so far)."""
        return await self._drive(self._call(self._balance_request()))

    async def pull(self, skillpack: str, *, ttl: int = 600) -> dict:
        """Where to download the active deployment's bundle of `skillpack` (its id), as `puras pull` asks:
        `{download_url, version}`; the URL is signed, valid `ttl` seconds, and needs no key."""
        return await self._drive(self._call(self._pull_request(skillpack, ttl)))

    async def health(self) -> dict:
        """The server's `GET /health` (`puras serve` names its `bundle_dir` and `skills` there)."""
        return await self._drive(self._call(self._health_request()))

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ── I/O ──────────────────────────────────────────────────────────────────
    async def _perform(self, step: Request | Sleep) -> tuple[Any, BaseException | None]:
        """Do one step of a flow; a failure (or a cancellation) is returned, to be thrown back into the flow."""
        try:
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
                return None, None
            return await self._send(step), None
        except (httpx.RequestError, KeyboardInterrupt, asyncio.CancelledError) as exc:
            return None, exc

    async def _send(self, req: Request) -> Answer:
        """`Client._send` on the event loop: the connection of a body still arriving at the deadline is shut by a
        timer of the loop instead of the watchdog thread."""
        url = httpx.URL(req.url or self.api_base + req.path)
        deadline = time.monotonic() + req.request_timeout
        tracer = Tracer()
        reader: BodyReader | None = None
        try:
            async with self._http.stream(req.method, url, params=req.params, json=req.json,
                                         timeout=req.request_timeout, extensions={"trace": tracer.atrace}) as response:
                reader = BodyReader(response, deadline)
                sock = connection_socket(response)
                timer = asyncio.get_running_loop().call_at(deadline, shut, sock) if sock is not None else None
                try:
                    if not reader.done:
                        async for chunk in response.aiter_raw():
                            reader.feed(chunk)
                finally:
                    if timer is not None:
                        timer.cancel()
                return reader.answer()
        except httpx.TransportError as exc:
            raise tracer.check(reader.failed(exc) if reader else exc)  # noqa: B904 - the cause is kept where it counts
        except STOPS as stop:
            tracer.mark(stop)
            raise

    async def _drive(self, flow: Flow[Any]) -> Any:
        """Drive a flow to its end and return its result; what it emits is passed over, as `Client._drive` does
        (an `Emit` is no request to send)."""
        value, error = None, None
        while True:
            done, step = advance(flow, value, error)
            if done:
                return step
            value, error = (None, None) if isinstance(step, Emit) else await self._perform(step)
