"""`Client`: a drop-in for `puras.Client` (same calls, answers and errors) on one pooled httpx.Client.

Beyond the official client: retries, a run() that returns as soon as a job ends, cancel, events,
job listing, replay and skillpacks. The job logic lives in `puras_nb.api.flows`; this module only
sends requests and sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx

from .flows import POLL_INTERVAL, STOPS, WAIT_TIMEOUT, BaseClient, Emit, Flow, Request, Sleep, Tracer, advance

__all__ = ["Client"]


class Client(BaseClient):
    """Call deployed skills (blocking). Thread-safe; use as a context manager or call `close()`.

    Pass a fully-qualified `workspace/skillpack/skill` path to `run`/`submit`, or set a default
    `skillpack` (slug or UUID) and call skills by bare name. The key comes from `api_key=` or
    `PURAS_API_KEY`, the base URL from `api_base=` or `PURAS_API_BASE`. Beyond puras.Client:
    `max_retries=3` (retries of safe calls) and `transport=` (an httpx transport, e.g. for tests)."""

    def _open(self, transport: httpx.BaseTransport | None) -> httpx.Client:
        return httpx.Client(**self._http_options(transport, self._strip_foreign_auth))

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

    def _send(self, req: Request) -> httpx.Response:
        url = httpx.URL(self.api_base + req.path)
        tracer = Tracer()
        try:
            return self._http.request(req.method, url, params=req.params, json=req.json, timeout=req.request_timeout,
                                      extensions={"trace": tracer})
        except httpx.TransportError as exc:
            raise tracer.check(exc)  # noqa: B904 - a StaleConnection has exc as its cause already
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
