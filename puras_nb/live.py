"""Live jobs: a `LiveJob` model of one remote job, polled in the background, plus kernel-wide settings.

In a kernel (or any running asyncio loop) each LiveJob polls in a task on that loop, so cells keep
running while jobs progress; in a script the poller runs on a private loop in a daemon thread.
All LiveJobs of a process share one AsyncClient (one connection pool) per loop and a request budget:

- at most `max_concurrency` (default 8) API requests in flight, kernel-wide;
- background polls at most `max_rps` (default 40) requests per second, kernel-wide (a pacer with
  bursts of 20); a user's own calls (submit, cancel, feedback) skip the pacer queue;
- each poll costs 2 requests (GET the job, then GET its events `after=` the last seen id);
- a job polls 0.1 s after start, every 0.25 s while events flow, backing off ×1.6 to `poll_interval`
  (default 1 s) when nothing changes. So a 3 s job costs about 20-30 requests, and 200 live jobs
  share the same 40 req/s (each then polls about every 10 s).

The model knows nothing of widgets; views subscribe to it (`_subscribe`) and are told what changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

from ._http import TERMINAL, mask_key, parse_time
from .errors import JobError, JobInterrupted, PurasAPIError, PurasError
from .media import Media, afetch, fetch, find_media, max_bytes_for

__all__ = ["LiveJob", "Settings", "attach", "configure", "event_message", "jobs", "run", "settings", "start"]

T = TypeVar("T")
Observer = Callable[["LiveJob", frozenset], None]

FAST_WAIT = 0.25
FIRST_WAIT = 0.1
BACKOFF = 1.6
_MAX_EVENTS = 5_000
#: How many LiveJobs `jobs()` remembers (and keeps alive), newest kept.
MAX_REMEMBERED = 1_000
_remembered: deque[LiveJob] = deque(maxlen=MAX_REMEMBERED)


@dataclass
class Settings:
    """Kernel-wide defaults for live jobs (see `configure`)."""

    api_key: str | None = None
    api_base: str | None = None
    skillpack: str | None = None
    poll_interval: float = 1.0
    timeout: float | None = None
    cancel_on_interrupt: bool = False
    preview_max_bytes: int | dict[str, int] | None = None
    local: bool | None = None
    max_concurrency: int = 8
    max_rps: float = 40.0

    def __repr__(self) -> str:
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        if shown["api_key"]:
            shown["api_key"] = mask_key(shown["api_key"])
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


_settings = Settings()
_lock = threading.RLock()


def settings() -> Settings:
    """The current kernel-wide settings (a copy)."""
    return replace(_settings)


def configure(
    api_key: str | None = None,
    api_base: str | None = None,
    skillpack: str | None = None,
    *,
    poll_interval: float | None = None,
    timeout: float | None = None,
    cancel_on_interrupt: bool | None = None,
    preview_max_bytes: int | dict[str, int] | None = None,
    local: bool | None = None,
    max_concurrency: int | None = None,
    max_rps: float | None = None,
) -> Settings:
    """Set kernel-wide defaults for live jobs; arguments left as None keep their value.

    `local=True` always uses the embedded emulator, `local=False` never; by default it starts only
    when neither `api_key` nor `PURAS_API_KEY` is set. Changing the connection starts a fresh client.
    """
    global _settings
    changes = {
        k: v
        for k, v in {
            "api_key": api_key,
            "api_base": api_base,
            "skillpack": skillpack,
            "poll_interval": poll_interval,
            "timeout": timeout,
            "cancel_on_interrupt": cancel_on_interrupt,
            "preview_max_bytes": preview_max_bytes,
            "local": local,
            "max_concurrency": max_concurrency,
            "max_rps": max_rps,
        }.items()
        if v is not None
    }
    with _lock:
        _settings = replace(_settings, **changes)
        if changes.keys() & {"api_key", "api_base", "skillpack", "local", "max_concurrency", "max_rps"}:
            for session in list(_sessions.values()):
                session.retire()
            _sessions.clear()
    return settings()


# ----------------------------------------------------------------------------------------------
# Where jobs run: the kernel's loop, or a private loop thread.


class _LoopThread:
    """A daemon thread running a private event loop, for scripts and terminals."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="puras-nb-live", daemon=True)
        self.thread.start()


_loop_thread: _LoopThread | None = None


def _target_loop() -> asyncio.AbstractEventLoop:
    """The loop to poll on: the running one (a kernel cell, async code), else the private loop thread."""
    global _loop_thread
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    with _lock:
        if _loop_thread is None or not _loop_thread.thread.is_alive():
            _loop_thread = _LoopThread()
        return _loop_thread.loop


class _Pacer:
    """Kernel-wide request pacing: at most `rate` requests per second with bursts of `burst`."""

    def __init__(self, rate: float, burst: int = 20) -> None:
        self.rate = rate
        self.burst = burst
        self._next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        self._next = max(self._next, now - self.burst / self.rate)
        slot = self._next
        self._next += 1 / self.rate
        if slot > now:
            await asyncio.sleep(slot - now)


_emulator: Any = None


def _configured(s: Settings) -> tuple[str | None, str | None, bool]:
    """(api_base, api_key) from the settings or the environment, and whether the embedded emulator serves
    instead: always with `local=True`, never with `local=False`, else when neither key nor base is set."""
    key = s.api_key or os.environ.get("PURAS_API_KEY")
    base = s.api_base or os.environ.get("PURAS_API_BASE")
    return base, key, s.local is True or (s.local is None and not (key or base))


def _connection(s: Settings) -> tuple[str | None, str | None]:
    """(api_base, api_key), starting the embedded emulator once when nothing is configured."""
    global _emulator
    base, key, use_local = _configured(s)
    if not use_local:
        return base, key
    with _lock:
        if _emulator is None:
            from . import local

            _emulator = local.start()
            print(
                f"puras-nb: no PURAS_API_KEY set, so jobs run on the local emulator at {_emulator.url}"
                " (configure(api_key=...) for the hosted API)",
                file=sys.stdout if _in_kernel() else sys.stderr,
            )
    return _emulator.url, _emulator.api_key


class _Session:
    """Per-loop shared state: one AsyncClient, the request budget, and strong refs to poller tasks."""

    def __init__(self, loop: asyncio.AbstractEventLoop, s: Settings) -> None:
        from .aio import AsyncClient

        self.loop = loop
        self.settings = s
        self.api_base, api_key = _connection(s)
        self.client = AsyncClient(api_key=api_key, skillpack=s.skillpack, api_base=self.api_base)
        self.api_base = self.client.api_base
        self._api_key = self.client.api_key  # as the client cleaned it: media on the API origin get the same key
        self.semaphore = asyncio.Semaphore(s.max_concurrency)
        self.media_semaphore = asyncio.Semaphore(4)
        self.pacer = _Pacer(s.max_rps)
        self.tasks: set[asyncio.Task] = set()
        self.requests = 0
        self._media_http: Any = None

    async def call(self, method: str, *args: Any, client: Any = None, paced: bool = False, **kwargs: Any) -> Any:
        """One API call under the kernel-wide concurrency cap, on `client` if given.

        Background polls are `paced` (they queue for the kernel-wide rate); a user's own calls (submit,
        cancel, feedback) are not, so they never wait behind hundreds of polls.
        """
        if paced:
            await self.pacer.wait()
        fn = getattr(client or self.client, method)
        async with self.semaphore:
            self.requests += 1
            if asyncio.iscoroutinefunction(fn):
                return await fn(*args, **kwargs)
            return await asyncio.to_thread(fn, *args, **kwargs)

    async def fetch_media(self, media: Media, cap: int) -> bytes | None:
        import httpx

        async with self.media_semaphore:
            if self._media_http is None:
                self._media_http = httpx.AsyncClient(timeout=60.0)
            return await afetch(media, cap, api_base=self.api_base, api_key=self._api_key, http=self._media_http)

    def media_auth(self) -> dict[str, str | None]:
        return {"api_base": self.api_base, "api_key": self._api_key}

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run `coro` as a task on this session's loop (thread-safe), keeping a strong reference."""

        def create() -> None:
            task = self.loop.create_task(coro)
            self.tasks.add(task)
            task.add_done_callback(self._reap)

        if _on_loop_thread(self.loop):
            create()
        else:
            self.loop.call_soon_threadsafe(create)

    def _reap(self, task: asyncio.Task) -> None:
        """Drop a finished task; a Ctrl-C it passed on to a blocked cell is no error to log later."""
        self.tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not isinstance(exc, KeyboardInterrupt):
            self.loop.call_exception_handler({"message": "puras-nb task failed", "exception": exc, "task": task})

    def retire(self) -> None:
        """Stop handing this session to new jobs; close its client once its pollers are done."""
        if self.loop.is_closed() or not self.loop.is_running():
            return

        async def close() -> None:
            while any(not t.done() for t in self.tasks if t is not asyncio.current_task()):
                await asyncio.sleep(0.5)
            await self.client.aclose()
            if self._media_http is not None:
                await self._media_http.aclose()

        self.spawn(close())


_sessions: dict[asyncio.AbstractEventLoop, _Session] = {}


def _session() -> _Session:
    loop = _target_loop()
    with _lock:
        for gone in [old for old in _sessions if old.is_closed()]:
            del _sessions[gone]
        session = _sessions.get(loop)
        if session is None:
            session = _sessions[loop] = _Session(loop, _settings)
        return session


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


#: Per loop, how many blocking calls (`_run_sync` from the loop's own thread) are re-entering it right now.
_nested: dict[asyncio.AbstractEventLoop, int] = {}


def _run_sync(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run `coro` on `loop` and block for its value.

    From the loop's own thread (a kernel cell) the loop is re-entered through nest-asyncio2, so every
    other task (other LiveJobs, widget traffic) keeps running meanwhile; from another thread it is a
    plain cross-thread future.
    """
    if _on_loop_thread(loop):
        import nest_asyncio2

        nest_asyncio2.apply(loop)
        _nested[loop] = _nested.get(loop, 0) + 1
        try:
            return loop.run_until_complete(asyncio.wait_for(coro, timeout))
        finally:
            _nested[loop] -= 1
            if not _nested[loop]:
                del _nested[loop]
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return future.result(timeout)
    except BaseException:  # a timeout or Ctrl-C: the work stops with the wait instead of carrying on unseen
        future.cancel()
        raise


# ----------------------------------------------------------------------------------------------
# The model.


def _finite(value: Any) -> bool:
    """A real, finite number (JSON from the API may say NaN or Infinity; a bool is no count)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def event_message(event: dict) -> str:
    """An event's human text, as the official CLI shows it: `payload.message or text or status` ("" if none)."""
    payload = event.get("payload") if isinstance(event.get("payload"), dict) else {}
    for key in ("message", "text", "status"):
        if isinstance(payload.get(key), str) and payload[key]:
            return payload[key]
    return ""


class LiveJob:
    """One remote job, kept up to date in the background: `.status`, `.job`, `.events`, `.result()`.

    `await job` returns the result (or raises `JobError`); `job.result()` blocks the cell while other
    LiveJobs keep updating. Displayed in a notebook it is a live widget, with text/html and text/plain
    fallbacks for saved and exported notebooks.
    """

    def __init__(
        self,
        job: dict | None = None,
        *,
        skill: str = "",
        version: int | None = None,
        poll_interval: float | None = None,
        preview_max_bytes: int | dict[str, int] | None = None,
        cancel_on_interrupt: bool | None = None,
        timeout: float | None = None,
        client: Any = None,
    ) -> None:
        self.job: dict = dict(job or {})
        self._client = client
        self.id: str | None = self.job.get("id")
        self.skill = skill or self._skill_from_job()
        self._version = version
        self.events: list[dict] = []
        self.exception: BaseException | None = None
        self.media: list[Media] | None = None
        self.media_data: dict[str, bytes | None] = {}
        self.poll_interval = poll_interval if poll_interval is not None else _settings.poll_interval
        self.preview_max_bytes = preview_max_bytes if preview_max_bytes is not None else _settings.preview_max_bytes
        self.cancel_on_interrupt = (
            cancel_on_interrupt if cancel_on_interrupt is not None else _settings.cancel_on_interrupt
        )
        self.timeout = timeout if timeout is not None else _settings.timeout
        self.started = time.time()
        self.requests = 0
        self.last_error: str | None = None
        self._cursor = 0
        self._observers: list[Observer] = []
        self._callbacks: list[Callable[[LiveJob], Any]] = []
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []
        self._done = threading.Event()
        self._mutex = threading.RLock()
        self._session: _Session | None = None
        self._wake: asyncio.Event | None = None
        self._widget: Any = None
        self._displays: list[Any] = []
        self._wants_media = False
        self._finished_at: float | None = None
        _remembered.append(self)
        if self.status in TERMINAL:
            self._mark_done()

    # -- read-only views of the state ---------------------------------------------------------

    def _skill_from_job(self) -> str:
        pack, name = self.job.get("skillpack"), self.job.get("skill_name")
        if pack and name:
            return f"{pack}/{name}"
        return str(name or "")

    @property
    def status(self) -> str:
        return str(self.job.get("status") or "queued")

    @property
    def version(self) -> int | None:
        v = self.job.get("version")
        return v if isinstance(v, int) else self._version

    @property
    def short_id(self) -> str:
        return (self.id or "")[:8]

    def done(self) -> bool:
        """True once the job reached a terminal status (or polling failed for good)."""
        return self._done.is_set()

    @property
    def todos(self) -> list[dict] | None:
        """The latest checklist (`tool_result` events with `payload.todos`), if the skill keeps one."""
        for event in reversed(self.events):
            todos = (event.get("payload") or {}).get("todos") if isinstance(event.get("payload"), dict) else None
            if isinstance(todos, list) and todos:
                return [t for t in todos if isinstance(t, dict)]
        return None

    def _step(self) -> tuple[int, int, str] | None:
        """(done, total, unit) from the latest progress event or todo checklist, whichever is newer."""
        for event in reversed(self.events):
            payload = event.get("payload") if isinstance(event.get("payload"), dict) else {}
            step, total = payload.get("step"), payload.get("total")
            numeric = _finite(step) and _finite(total)
            if event.get("type") == "progress" and numeric and total > 0:
                return int(min(max(step, 0), total)), int(total), ""
            todos = payload.get("todos")
            if isinstance(todos, list) and todos:
                done = sum(1 for t in todos if isinstance(t, dict) and t.get("status") == "completed")
                return done, len(todos), " tasks"
        return None

    @property
    def progress(self) -> float | None:
        """Fraction done (0..1) from progress events or the checklist; 1.0 once succeeded; None if unknown."""
        if self.status == "succeeded":
            return 1.0
        step = self._step()
        return step[0] / step[1] if step else None

    @property
    def progress_label(self) -> str:
        step = self._step()
        if self.status == "succeeded" and step:
            return f"{step[1]}/{step[1]}{step[2]}"
        return f"{step[0]}/{step[1]}{step[2]}" if step else ""

    @property
    def message(self) -> str:
        """The latest event's human message."""
        return (event_message(self.events[-1]) or str(self.events[-1].get("type") or "")) if self.events else ""

    @property
    def elapsed(self) -> float:
        """Seconds the job has taken so far: from the server's own timestamps once it finished; while it
        runs, on the local clock from when it was submitted (a skewed server clock cannot distort it)."""
        start, end = parse_time(self.job.get("created_at")), parse_time(self.job.get("finished_at"))
        if self.done() and start is not None and end is not None:
            return max(0.0, end - start)
        return max(0.0, (self._finished_at or time.time()) - self.started)

    @property
    def duration(self) -> float | None:
        """Run time of a finished job, from the server's timestamps when present."""
        if not self.done():
            return None
        return self.elapsed

    # -- changes ------------------------------------------------------------------------------

    def _subscribe(self, observer: Observer) -> Callable[[], None]:
        """Call `observer(job, changed)` after every change; returns an unsubscribe function."""
        self._observers.append(observer)
        return lambda: self._observers.remove(observer) if observer in self._observers else None

    def _notify(self, changed: set[str]) -> None:
        """Tell every observer what changed; a failing view is reported, never fatal to polling."""
        if changed:
            frozen = frozenset(changed)
            for observer in list(self._observers):
                try:
                    observer(self, frozen)
                except Exception as exc:  # one broken view must not stop the model or the others
                    print(f"puras-nb: a view of job {self.id} failed: {exc!r}", file=sys.stderr)

    def _apply(self, job: dict | None = None, events: list[dict] | None = None) -> set[str]:
        """Merge a fresh job dict and new events into the model; notify observers of what changed."""
        changed: set[str] = set()
        with self._mutex:
            if job:
                if job.get("status") != self.job.get("status"):
                    changed.add("status")
                if job != self.job:
                    changed.add("job")
                self.job = dict(job)
                self.id = self.id or job.get("id")
                if not self.skill:
                    self.skill = self._skill_from_job()
            fresh = [e for e in events or () if isinstance(e, dict) and int(e.get("id") or 0) > self._cursor]
            if fresh:
                self.events.extend(fresh)
                del self.events[:-_MAX_EVENTS]
                self._cursor = max(int(e.get("id") or 0) for e in fresh)
                changed.add("events")
        self._notify(changed)
        return changed

    def _mark_done(self) -> None:
        self._finished_at = self._finished_at or time.time()
        self._done.set()

    def _finish(self, exception: BaseException | None = None) -> None:
        """Enter the terminal state once: wake waiters, run done callbacks, tell observers."""
        with self._mutex:
            if self.done():
                return
            self.exception = exception
            self._mark_done()
            waiters, self._waiters = self._waiters, []
            callbacks, self._callbacks = self._callbacks, []
        for loop, fut in waiters:
            # a waiter's loop may close at any moment (an asyncio.run() that ended); nothing waits there then
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(lambda f=fut: f.done() or f.set_result(None))
        for fn in callbacks:
            self._call_back(fn)
        self._notify({"done"})

    def _call_back(self, fn: Callable[[LiveJob], Any]) -> None:
        try:
            fn(self)
        except Exception as exc:  # a user callback must not kill the poller
            print(f"puras-nb: done callback {fn!r} raised {exc!r}", file=sys.stderr)

    def add_done_callback(self, fn: Callable[[LiveJob], Any]) -> None:
        """Call `fn(job)` when the job ends (at once if it already has)."""
        with self._mutex:
            if not self.done():
                self._callbacks.append(fn)
                return
        self._call_back(fn)

    # -- waiting ------------------------------------------------------------------------------

    def _outcome(self) -> Any:
        if self.exception is not None:
            raise self.exception
        if self.status != "succeeded":
            raise JobError(self.job)
        return self.job.get("result")

    async def _wait_done(self) -> None:
        if self.done():
            return
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        with self._mutex:
            if self.done():
                return
            self._waiters.append((loop, fut))
        try:
            await fut
        finally:  # a wait that timed out or was cancelled must not leave its future behind
            with self._mutex, contextlib.suppress(ValueError):
                self._waiters.remove((loop, fut))

    def __await__(self):
        """`await job`: the result, or `JobError` if the job failed or was cancelled."""

        async def outcome() -> Any:
            await self._wait_done()
            self._settle_display()
            return self._outcome()

        return outcome().__await__()

    def wait(self, timeout: float | None = None) -> dict:
        """Block until the job ends or `timeout` seconds pass; return the latest job dict either way."""
        if not self.done():
            self._block(timeout)
        if self.done():
            self._settle_display()
        return self.job

    def result(self, timeout: float | None = None) -> Any:
        """Block for the result (other LiveJobs keep updating meanwhile); `JobError` unless it succeeded.

        `TimeoutError` if still running after `timeout` (the job keeps running); Ctrl-C raises
        `JobInterrupted`, cancelling the job first when `cancel_on_interrupt` is set.
        """
        limit = timeout if timeout is not None else self.timeout
        self.wait(limit)
        if not self.done():
            raise TimeoutError(f"job {self.id} still {self.status} after {limit} s (it keeps running)")
        return self._outcome()

    def _block(self, timeout: float | None) -> None:
        session = self._session
        try:
            if session is not None and _on_loop_thread(session.loop):
                with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                    _run_sync(session.loop, self._wait_done(), timeout)
            else:
                self._done.wait(timeout)
        except KeyboardInterrupt:
            cancelled = False
            if self.cancel_on_interrupt and self.id and not self.done():
                with contextlib.suppress(PurasError, OSError, TimeoutError, asyncio.TimeoutError):
                    self.cancel()
                    cancelled = True
            raise JobInterrupted(self.id or "", cancelled=cancelled) from None

    # -- actions ------------------------------------------------------------------------------

    def cancel(self) -> dict:
        """Ask the server to cancel the job; returns the job dict it answered (it may still be stopping)."""
        if self.done():
            return self.job
        return _run_sync(self._require_session().loop, self._cancel(), 30.0)

    async def _cancel(self) -> dict:
        session = self._require_session()
        try:
            job = await session.call("cancel", self.id, client=self._client)
        except PurasAPIError as exc:
            if exc.status != 409:
                raise
            job = await session.call("get", self.id, client=self._client)
        self._apply(job)
        if self._wake is not None:
            self._wake.set()
        return self.job

    def _request_cancel(self, on_error: Callable[[BaseException], Any] | None = None) -> None:
        """Fire-and-forget cancel (for a button click): never blocks; a failure goes to `on_error`."""
        if self._session is None or self.done():
            return

        async def cancel() -> None:
            try:
                await self._cancel()
            except (PurasError, OSError) as exc:
                if on_error is not None:
                    on_error(exc)

        self._session.spawn(cancel())

    def feedback(self, rating: int = 0, comment: str | None = None) -> dict:
        """Record feedback on this job's result (`rating` +1 / -1, or 0 with a comment)."""
        session = self._require_session()
        return _run_sync(
            session.loop, session.call("feedback", self.id, rating=rating, comment=comment, client=self._client)
        )

    def _require_session(self) -> _Session:
        if self._session is None:
            self._session = _session()
        return self._session

    # -- polling ------------------------------------------------------------------------------

    def _start_polling(self, session: _Session) -> None:
        self._session = session
        if not self.done():
            session.spawn(self._poll())

    async def _poll(self) -> None:
        session = self._require_session()
        self._wake = asyncio.Event()
        wait = FIRST_WAIT
        failures = 0
        try:
            while True:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                self._wake.clear()
                try:
                    job = await session.call("get", self.id, client=self._client, paced=True)
                    events = await session.call("events", self.id, after=self._cursor, client=self._client, paced=True)
                    self.requests += 2
                except PurasAPIError as exc:
                    if exc.status in (401, 403, 404):
                        self._finish(exc)
                        return
                    failures += 1
                    self.last_error = str(exc)
                    self._notify({"error"})
                    wait = min(self.poll_interval * 2**failures, 30.0)
                    continue
                except (PurasError, OSError) as exc:
                    failures += 1
                    self.last_error = str(exc)
                    self._notify({"error"})
                    wait = min(self.poll_interval * 2**failures, 30.0)
                    continue
                failures = 0
                if self.last_error:
                    self.last_error = None
                changed = self._apply(job, events)
                if self.status in TERMINAL:
                    break
                moving = "events" in changed or "status" in changed
                wait = FAST_WAIT if moving else min(wait * BACKOFF, self.poll_interval)
            if self.status == "succeeded" and self._wants_media:
                try:
                    await self._fetch_media_async()
                except Exception as exc:  # the result stands; views fall back to links
                    self.last_error = f"media fetch failed: {exc!r}"
        except asyncio.CancelledError:
            self._finish(PurasError(f"polling of job {self.id} was stopped"))
            raise
        except Exception as exc:  # anything unforeseen ends the job for its waiters instead of hanging them
            failure = PurasError(f"polling of job {self.id} failed: {exc!r}")
            failure.__cause__ = exc
            self._finish(failure)
            return
        except KeyboardInterrupt:
            # Ctrl-C during a blocking result() re-enters the loop, so it can land inside this task.
            # Keep polling in a fresh task, and pass the interrupt on (asyncio re-raises it out of the
            # nested run_until_complete) to the call that blocks the cell; with none, drop it.
            session.loop.call_soon(session.spawn, self._poll())
            if _nested.get(session.loop):
                raise
            return
        self._finish()

    # -- media --------------------------------------------------------------------------------

    def _find_media(self) -> list[Media]:
        if self.media is None:
            self.media = find_media(self.job.get("result"), self.job.get("outputs"))
        return self.media

    async def _fetch_media_async(self) -> None:
        session = self._require_session()
        media = [m for m in self._find_media() if m.url not in self.media_data]
        caps = [max_bytes_for(m.kind, self.preview_max_bytes) for m in media]
        data = await asyncio.gather(*(session.fetch_media(m, cap) for m, cap in zip(media, caps, strict=True)))
        self.media_data.update(zip((m.url for m in media), data, strict=True))

    def _fetch_media(self) -> dict[str, bytes | None]:
        """The result's media bytes (cached), fetched now if the poller did not already."""
        auth = self._session.media_auth() if self._session else {}
        for m in self._find_media():
            if m.url not in self.media_data:
                self.media_data[m.url] = fetch(m, max_bytes_for(m.kind, self.preview_max_bytes), **auth)
        return self.media_data

    # -- display ------------------------------------------------------------------------------

    @property
    def widget(self) -> Any:
        """The live `JobWidget` view of this job (created on first use)."""
        if self._widget is None:
            from .widgets import JobWidget

            self._wants_media = True
            self._widget = JobWidget(self)
        return self._widget

    def _settle_display(self) -> None:
        """After a wait in a cell: re-send the final widget state and static views from this cell's context."""
        for shown in self._displays:
            shown.settle()

    def _ipython_display_(self) -> None:
        """`display(job)` or a job as a cell's value: the live outputs (with display ids, so they reach
        their end state even after the cell finished); plain text outside a kernel."""
        from .widgets.display import display_job

        if _in_kernel():
            display_job(self)
        else:
            print(repr(self))

    def _static_bundle(self, final: bool = False) -> dict[str, str]:
        """text/plain (no ids, timestamps or URLs) and text/html (status, result, embedded media)."""
        from .widgets.html import job_html, job_text

        if self.done() and self.status == "succeeded":
            self._fetch_media()
        return {"text/plain": job_text(self), "text/html": job_html(self, data=self.media_data, final=final)}

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        """The live view: the widget plus a compact fallback (in a kernel); the full static view elsewhere."""
        if not _in_kernel():
            return self._static_bundle()
        return self.widget._repr_mimebundle_() or {}

    def __repr__(self) -> str:
        from .widgets.html import job_text

        return job_text(self)


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (widgets can render), False in a terminal IPython or a script."""
    ip = sys.modules.get("IPython")
    if ip is None:
        return False
    shell = ip.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


# ----------------------------------------------------------------------------------------------
# Public entry points.


def _opts(opts: dict) -> dict:
    allowed = {"poll_interval", "preview_max_bytes", "cancel_on_interrupt", "timeout"}
    unknown = set(opts) - allowed
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(allowed))})")
    return opts


def _launch(job: LiveJob, session: _Session, display: bool) -> LiveJob:
    job._start_polling(session)
    if display:
        from .widgets.display import display_job

        display_job(job)
    return job


def jobs() -> list[LiveJob]:
    """Every LiveJob this kernel made (started, attached, compared; the last 1000), oldest first."""
    return sorted(_remembered, key=lambda job: job.started)


def start(
    skill: str,
    inputs: dict | None = None,
    *,
    skillpack: str | None = None,
    version: int | None = None,
    client: Any = None,
    display: bool = True,
    **opts: Any,
) -> LiveJob:
    """Submit a job and return its LiveJob at once; it polls in the background (and shows a live widget).

    `client`: an `AsyncClient` (or a sync `Client`, called from worker threads) to submit and poll with
    instead of the kernel-wide one.
    Options: `poll_interval`, `timeout` (default for `.result()`), `cancel_on_interrupt`, `preview_max_bytes`.
    """
    session = _session()
    submitted = _run_sync(
        session.loop,
        session.call("submit", skill, inputs or {}, skillpack=skillpack, version=version, client=client),
    )
    path = _skill_path(skill, skillpack or session.settings.skillpack)
    job = LiveJob(submitted, skill=path, version=version, client=client, **_opts(opts))
    return _launch(job, session, display)


def attach(job_id: str, *, display: bool = True, client: Any = None, **opts: Any) -> LiveJob:
    """A LiveJob for a job started elsewhere (another kernel, before a restart); replays its events."""
    session = _session()
    fetched = _run_sync(session.loop, session.call("get", job_id, client=client))
    job = LiveJob(fetched, client=client, **_opts(opts))
    job.started = parse_time(fetched.get("created_at")) or job.started  # started elsewhere, earlier
    if job.done():
        job._session = session
        job._apply(events=_run_sync(session.loop, session.call("events", job_id, after=0, client=client)))
    return _launch(job, session, display)


def run(skill: str, inputs: dict | None = None, **opts: Any) -> Any:
    """Start a job, show it, and block for its result (other LiveJobs keep updating meanwhile)."""
    timeout = opts.pop("timeout", None)
    job = start(skill, inputs, **opts)
    return job.result(timeout)


def _skill_path(skill: str, skillpack: str | None) -> str:
    s = skill.strip().strip("/")
    return s if "/" in s or not skillpack else f"{skillpack}/{s}"
