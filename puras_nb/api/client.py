"""`Client`: a drop-in for `puras.Client` (same calls, answers and errors) on one pooled httpx.Client.

Beyond the official client: retries, a run() that returns as soon as a job ends, cancel, events,
job listing, replay and skillpacks. The job logic lives in `puras_nb.api.flows`; this module only
sends requests and sleeps.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

import httpx

from .answers import Answer, BodyReader
from .flows import POLL_INTERVAL, STOPS, WAIT_TIMEOUT, BaseClient, Emit, Flow, Request, Sleep, Tracer, advance

__all__ = ["Client"]


def connection_socket(response: httpx.Response) -> Any:
    """The socket an answer arrives on (httpcore names its network stream; under asyncio it is the transport's
    socket wrapper), or None (a mock transport)."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    return sock if callable(getattr(sock, "shutdown", None)) else None


def shut(sock: Any) -> None:
    """End a connection whose answer is out of time: a read blocked on it returns at once (a close would not
    wake it), and the pool drops the connection. A TLS socket is shut below its TLS layer: `SSLSocket.shutdown`
    would drop its SSL object under the reading thread, whose next read then raises a raw ValueError."""
    with contextlib.suppress(OSError, ValueError):
        if isinstance(sock, socket.socket):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        else:
            sock.shutdown(socket.SHUT_RDWR)


class Watchdog:
    """One thread for every blocking client of the process: at each answer's deadline it shuts the connection
    the answer is still arriving on, so a body that stalls ends at the deadline, not a read timeout later."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Any, list[bool]]] = []
        self._wake = threading.Condition()
        self._count = itertools.count()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def guard(self, deadline: float, response: httpx.Response) -> Iterator[None]:
        """While the block reads `response`, shut its connection at `deadline` (time.monotonic())."""
        sock = connection_socket(response)
        if sock is None:
            yield
            return
        live = [True]
        with self._wake:
            heapq.heappush(self._due, (deadline, next(self._count), sock, live))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="puras-nb-watchdog", daemon=True)
                self._thread.start()
            self._wake.notify()
        try:
            yield
        finally:
            live[0] = False

    def _run(self) -> None:
        with self._wake:
            while True:
                while self._due and not self._due[0][3][0]:
                    heapq.heappop(self._due)  # read in time: nothing to do
                if not self._due:
                    self._wake.wait()
                    continue
                left = self._due[0][0] - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                _, _, sock, live = heapq.heappop(self._due)
                if live[0]:
                    shut(sock)


WATCHDOG = Watchdog()


class Client(BaseClient):
    """Call deployed skills (blocking). Thread-safe; use as a context manager or call `close()`.

    Pass a fully-qualified `workspace/skillpack/skill` path to `run`/`submit`, or set a default
    `skillpack` (slug or UUID) and call skills by bare name. The key comes from `api_key=` or
    `PURAS_API_KEY`, the base URL from `api_base=` or `PURAS_API_BASE`. Beyond puras.Client:
    `max_retries=3` (retries of safe calls) and `transport=` (an httpx transport, e.g. for tests)."""

    def _open(self, transport: httpx.BaseTransport | None) -> httpx.Client:
        http = httpx.Client(**self._http_options(transport))
        # puras.Client needs no close (a connection per call), so its drop-in closes its pool when it is collected:
        # no socket left for the garbage collector to find open. close() before that is fine (closing twice is).
        weakref.finalize(self, http.close)
        return http

    # ── the official API ─────────────────────────────────────────────────────
    def submit(
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
        return self._drive(self._submit(skill, inputs, skillpack, version, wait, timeout))

    def run(
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

        Ctrl-C raises JobInterrupted naming the job (cancelled first with `cancel_on_interrupt=True`)."""
        return self._drive(
            self._run_flow(skill, inputs, skillpack, version, timeout, poll_interval, cancel_on_interrupt)
        )

    def get(self, job_id: str) -> dict:
        """Fetch a job by id."""
        return self._drive(self._call(self._get_request(job_id)))

    def wait(
        self,
        job_id: str,
        *,
        timeout: float = WAIT_TIMEOUT,
        poll_interval: float = POLL_INTERVAL,
        cancel_on_interrupt: bool = False,
    ) -> dict:
        """Poll until the job is terminal or `timeout` s pass; return the last job object (check `status`)."""
        return self._drive(self._wait_flow(job_id, timeout, poll_interval, cancel_on_interrupt))

    def feedback(
        self, job_id: str, *, rating: int = 0, comment: str | None = None, end_user_id: str | None = None
    ) -> dict:
        """Record end-user feedback (rating -1/0/+1 and/or a comment) on a job; returns the stored feedback."""
        return self._drive(self._call(self._feedback_request(job_id, rating, comment, end_user_id)))

    # ── beyond it ────────────────────────────────────────────────────────────
    def cancel(self, job_id: str) -> dict:
        """Ask the server to cancel a job; returns the job object."""
        return self._drive(self._call(self._cancel_request(job_id)))

    def events(self, job_id: str, after: int = 0) -> list[dict]:
        """The job's events with an id greater than `after`."""
        return self._drive(self._call(self._events_request(job_id, after)))

    def spans(self, job_id: str) -> list[dict]:
        """The job's trace spans (`GET /v1/jobs/{id}/spans`: run, step, model call and tool, each with its
        `duration_ms` and `parent_span_id`), what `puras spans` draws; `NotSupported` where the server has none."""
        return self._drive(self._call(self._spans_request(job_id)))

    def iter_events(
        self, job_id: str, *, after: int = 0, poll_interval: float = POLL_INTERVAL, timeout: float | None = None
    ) -> Iterator[dict]:
        """Yield the job's events as they happen until it is terminal (or `timeout` s pass)."""
        return self._steps(self._events_flow(job_id, after, poll_interval, timeout))

    def jobs(self, *, status: str | None = None, skill: str | None = None, limit: int | None = None) -> list[dict]:
        """List jobs, newest first, optionally filtered by status and skill name."""
        return self._drive(self._call(self._jobs_request(status, skill, limit)))

    def replay(self, job_id: str, *, version: int | None = None) -> dict:
        """Run a past job's inputs again as a new job (optionally on another version); returns the new job."""
        return self._drive(self._call(self._replay_request(job_id, version)))

    def skillpacks(self) -> list[dict]:
        """The skillpacks this key can run, with their skills, versions and input schemas."""
        return self._drive(self._call(self._skillpacks_request()))

    def balance(self) -> dict:
        """The workspace's balance (`GET /v1/billing/balance`: `balance_usd`, and what jobs cost so far)."""
        return self._drive(self._call(self._balance_request()))

    def pull(self, skillpack: str, *, ttl: int = 600) -> dict:
        """Where to download the active deployment's bundle of `skillpack` (its id), as `puras pull` asks:
        `{download_url, version}`; the URL is signed, valid `ttl` seconds, and needs no key."""
        return self._drive(self._call(self._pull_request(skillpack, ttl)))

    def health(self) -> dict:
        """The server's `GET /health` (`puras serve` names its `bundle_dir` and `skills` there)."""
        return self._drive(self._call(self._health_request()))

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ── I/O ──────────────────────────────────────────────────────────────────
    def _perform(self, step: Request | Sleep) -> tuple[Any, BaseException | None]:
        """Do one step of a flow; a failure is returned, to be thrown back into the flow."""
        try:
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
                return None, None
            return self._send(step), None
        except (httpx.RequestError, KeyboardInterrupt) as exc:
            return None, exc

    def _send(self, req: Request) -> Answer:
        """Send one request and read its whole answer within `req.request_timeout`: each connect, write and read
        within it, the body through a BodyReader (its cap, and the deadline at every chunk), and the watchdog
        shutting the connection at the deadline should the body stall."""
        url = httpx.URL(req.url or self.api_base + req.path)
        deadline = time.monotonic() + req.request_timeout
        tracer = Tracer()
        reader: BodyReader | None = None
        try:
            with self._http.stream(req.method, url, params=req.params, json=req.json, timeout=req.request_timeout,
                                   extensions={"trace": tracer}) as response:
                reader = BodyReader(response, deadline)
                with WATCHDOG.guard(deadline, response):
                    for chunk in () if reader.done else response.iter_raw():
                        reader.feed(chunk)
                return reader.answer()
        except httpx.TransportError as exc:
            raise tracer.check(reader.failed(exc) if reader else exc)  # noqa: B904 - the cause is kept where it counts
        except STOPS as stop:
            tracer.mark(stop)
            raise

    def _steps(self, flow: Flow[Any]) -> Iterator[Any]:
        """Drive a flow to its end, yielding whatever it emits; the flow's result is the StopIteration value."""
        value, error = None, None
        while True:
            done, step = advance(flow, value, error)
            if done:
                return step
            if isinstance(step, Emit):
                yield from step.events
                value, error = None, None
            else:
                value, error = self._perform(step)

    def _drive(self, flow: Flow[Any]) -> Any:
        steps = self._steps(flow)
        while True:
            try:
                next(steps)
            except StopIteration as stop:
                return stop.value
