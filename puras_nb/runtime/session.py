"""The session: the API client on the runtime loop, the request budget, and the tracker of live jobs.

The `Tracker` learns job states in rounds. Each round takes the jobs that are due for a check:
- where the server lists jobs (`GET /v1/jobs`, our emulator and `puras serve` do), one list request
  answers for all of them; a job the list does not show is polled on its own (`GET /v1/jobs/{id}`),
  in a task of its own: a poll that drips or stalls holds up its job alone, and gives up after
  `POLL_TIMEOUT` (so do the list and event requests);
- a job that ended gets its remaining events once (unless it succeeded and its owner's views need no
  log), then its owner is told;
- a running job that someone watches (a widget) gets its new events now and then, at a pace that
  shares `EVENTS_RPS` requests a second among all such jobs (at most every `EVENTS_MIN` s, the first
  one that long after its start), so a fan-out costs about as many requests as the official client's polls.
A job is checked often while it is young (every 100 ms at first, then age/10, up to `poll_interval`),
so a short job is known to be done within about 100 ms of its end; a large crowd of listed
jobs is checked at least every `CROWD_EVERY` s, since one request answers for all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..api.aio import AsyncClient
from ..api.answers import Shape, Unexpected, a_job, events_list, jobs_list
from ..api.client import Client
from ..api.flows import LIMITS, TERMINAL, UNEXPECTED, event_id, parse_retry_after
from ..api.media import Media, afetch, afetch_url, max_bytes_for
from ..api.tls import ssl_context
from ..errors import PurasAPIError, PurasConnectionError, PurasError
from ..settings import Settings, current, on_change
from ..strings import Secret
from . import loop as rt
from .budget import Budget
from .endpoint import endpoint

__all__ = ["Session", "Watch", "client_origin", "existing", "session"]

FIRST_CHECK = 0.1  # foreground runs need none: the server holds their submission for the first second
AGE_FACTOR = 1 / 10
LIST_MIN = 2  # jobs followed before a list request pays off
CROWD_SHARE = 8.0  # listed jobs: a round every CROWD_SHARE/n s at the most (1 request a job per 8 s) ...
CROWD_EVERY = 0.25  # ... and at least this often, whatever their age
LIST_MAX = 2000  # a list reaching back over 1 000 live jobs (each listed job costs the round ~0.5 KB)
EVENTS_MIN = 0.5  # seconds between event fetches of one running job, at the most often
EVENTS_RPS = 2.0  # event fetches per second shared by all watched running jobs (20 jobs: each every 10 s)
GIVE_UP = (401, 403, 404)
NO_LISTING = (400, 404, 405, 501)
MEDIA_CONNECT_TIMEOUT = 5.0
MEDIA_TIMEOUT = 30.0
BUNDLE_TTL = 600  # seconds a deployment bundle's signed URL lives, as `puras pull` asks
#: Seconds a background request (a status poll, the job list, an event fetch) may take; the job is checked
#: again later. The client's own request timeout (120 s) is for a user's calls.
POLL_TIMEOUT = 15.0


@dataclass(eq=False)
class Watch:
    """One job the tracker follows, and the callbacks that tell its owner (the model) what it learned.

    Callbacks run on the runtime thread: `on_job(job_dict)`, `on_events(new_events)` (only events past
    `cursor`), `on_trouble(message or None)` and, once, `on_end(error or None)`.
    """

    job_id: str
    on_job: Callable[[dict], Any]
    on_events: Callable[[list[dict]], Any]
    on_trouble: Callable[[str | None], Any]
    on_end: Callable[[BaseException | None], Any]
    wants_events: Callable[[], bool] = lambda: True
    #: Whether a job that succeeded still needs its last events fetched (one request); failures always do.
    wants_last_events: Callable[[], bool] = lambda: True
    client: Any = None
    #: The longest wait between checks; `Session.interval` is the cadence rule up to it.
    poll_interval: float = field(default_factory=lambda: current().poll_interval)
    #: Requests made for this job alone (status polls, event fetches); shared list rounds are not counted.
    requests: int = 0
    started: float = field(default_factory=time.monotonic)
    cursor: int = 0
    status: str = "queued"
    next_check: float = 0.0
    events_at: float = field(default_factory=time.monotonic)  # the last event fetch (at first: the start)
    failures: int = 0
    ended: bool = False
    order: int = 0
    #: A check of this job is under way (its own task): it is not due again until that ends.
    busy: bool = False
    #: Asked to be checked again at once (`Session.check_now`) while a check was under way.
    nudged: bool = False

    def fresh(self, events: Any) -> list[dict]:
        """The events past the cursor (well-formed ones only), advancing it."""
        out = [e for e in events if event_id(e) > self.cursor] if isinstance(events, list) else []
        if out:
            self.cursor = max(event_id(e) for e in out)
        return out


def _observed(budget: Budget, response: httpx.Response, began: float) -> httpx.Response:
    """Feed an answer's status, time and Retry-After to the budget."""
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    budget.answered(response.status_code, time.monotonic() - began, retry_after)
    return response


class _Observed(httpx.AsyncBaseTransport):
    """A transport that feeds every answer's status, time and Retry-After to the budget."""

    def __init__(self, budget: Budget) -> None:
        self.inner = httpx.AsyncHTTPTransport(limits=LIMITS, verify=ssl_context())
        self.budget = budget

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        began = time.monotonic()
        return _observed(self.budget, await self.inner.handle_async_request(request), began)

    async def aclose(self) -> None:
        await self.inner.aclose()


class _ObservedBlocking(httpx.BaseTransport):
    """`_Observed` for the blocking client."""

    def __init__(self, budget: Budget) -> None:
        self.inner = httpx.HTTPTransport(limits=LIMITS, verify=ssl_context())
        self.budget = budget

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        began = time.monotonic()
        return _observed(self.budget, self.inner.handle_request(request), began)

    def close(self) -> None:
        self.inner.close()


def client_origin(client: Any) -> tuple[str | None, Secret | None]:
    """The API base and key of a caller's own client (ours, or `puras.Client`, which keeps its key as a string),
    for the media and the catalog of the jobs it ran: (None, None) for a client that says no API base."""
    api_base = getattr(client, "api_base", None)
    if not isinstance(api_base, str):
        return None, None
    secret = getattr(client, "secret", None)
    if isinstance(secret, Secret):
        return api_base, secret
    key = getattr(client, "api_key", None)
    return api_base, Secret.of(key) if isinstance(key, str) and key else None


def _ours(fn: Callable[..., Any]) -> bool:
    """Whether `fn` is a method of our own `Client` or `AsyncClient` (not a subclass's override), which checks each
    answer's shape itself (`Request.expect`)."""
    func = getattr(fn, "__func__", None)
    return func is not None and any(func is getattr(cls, func.__name__, None) for cls in (Client, AsyncClient))


class Session:
    """One connection's client, budget and tracker; lives on the runtime loop."""

    def __init__(self, s: Settings) -> None:
        self.settings = s
        self.budget = Budget(s.max_rps)
        self._client: AsyncClient | None = None
        self._connect_lock = threading.Lock()
        self.requests = 0
        self.lists: bool | None = None  # does the server list jobs? None: not tried yet
        self.watches: list[Watch] = []
        self.added = 0  # jobs handed to the tracker so far (a Watch's `order` is its number)
        self.retired = False
        self._semaphore: asyncio.Semaphore | None = None
        self._media_semaphore: asyncio.Semaphore | None = None
        self._media_http: httpx.AsyncClient | None = None
        self._wake: asyncio.Event | None = None
        self._runner: asyncio.Task | None = None
        self._checks: set[asyncio.Task] = set()
        self._listing = False  # a list request is under way (it answers for the jobs of this session's client)
        self._blocking: Client | None = None
        self._blocking_lock = threading.Lock()

    # -- the connection -------------------------------------------------------------------------

    def connect(self) -> AsyncClient:
        """This connection's own client, made by the first call that needs it, for where the settings send jobs
        (the embedded emulator is started then, when they use it: `runtime.endpoint`). A job that brings its own
        `client=` never needs it, so it starts no emulator and prints no note about one."""
        if self._client is not None:  # every request asks: no lock once it is made
            return self._client
        with self._connect_lock:
            if self._client is None:
                where = endpoint(self.settings)
                self._client = AsyncClient(
                    api_key=where.api_key, skillpack=self.settings.skillpack, api_base=where.api_base,
                    transport=_Observed(self.budget),
                )
            return self._client

    @property
    def connected(self) -> bool:
        """Whether `connect` made this connection's client (a session only jobs on their own clients used has none)."""
        return self._client is not None

    @property
    def client(self) -> AsyncClient:
        """This connection's own client (`connect`)."""
        return self.connect()

    @property
    def api_base(self) -> str:
        """The base URL of this connection's API (`connect`)."""
        return self.connect().api_base

    # -- calls ----------------------------------------------------------------------------------

    def _here(self) -> Client:
        """The connection's blocking client (made on first use), for a call the calling thread makes itself."""
        with self._blocking_lock:
            if self._blocking is None:
                self._blocking = Client(
                    api_key=self.client.api_key, skillpack=self.settings.skillpack, api_base=self.api_base,
                    transport=_ObservedBlocking(self.budget),
                )
            return self._blocking

    def submit_here(
        self, skill: str, inputs: dict, *, skillpack: str | None = None, version: int | None = None, hold: int
    ) -> dict:
        """`submit` with a hold, from the calling thread, blocking: a foreground run's submission, which its cell
        waits for anyway, without a hop to the runtime thread and back (or asyncio's cost) around it."""
        self.requests += 1
        return self._here().submit(skill, inputs, skillpack=skillpack, version=version, wait=True, timeout=hold)

    def events_here(self, job_id: str, *, after: int = 0) -> list[dict]:
        """`events` from the calling thread, blocking (the last events of a foreground run that ended)."""
        self.requests += 1
        return self._here().events(job_id, after=after)

    async def _request(
        self, fn: Callable[..., Any], *args: Any, background: str = "", expect: Shape | None = None, **kwargs: Any
    ) -> Any:
        """Call the bound client method `fn` under the concurrency cap (a sync `Client`'s in a worker thread).

        `background` calls (polls, events, the job list; the string names the call) take a slot from the budget
        first, and end after `POLL_TIMEOUT` as a PurasConnectionError saying that what it names took too long; a
        user's own calls do not. `expect` checks the answer's shape when a foreign client (`puras.Client`) gave
        it: our clients' methods check it themselves. A wrong one is a PurasAPIError.
        """
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.settings.max_concurrency)
        if background:
            await self.budget.take()
        async with self._semaphore:
            self.requests += 1
            call = fn(*args, **kwargs) if asyncio.iscoroutinefunction(fn) else asyncio.to_thread(fn, *args, **kwargs)
            try:
                answer = await (asyncio.wait_for(call, POLL_TIMEOUT) if background else call)
            except RecursionError:  # `puras.Client` reading JSON nested 100 000 deep (ours refuse it themselves)
                raise PurasAPIError(200, f"{UNEXPECTED}: JSON nested too deep to read") from None
            except asyncio.TimeoutError:  # wait_for's, or a foreign client's own
                if not background:
                    raise
                raise PurasConnectionError(f"{background} took longer than {POLL_TIMEOUT:g} s") from None
        if expect is None or _ours(fn):
            return answer
        try:
            return expect(answer)
        except Unexpected as exc:
            raise PurasAPIError(200, f"{UNEXPECTED}: {exc}") from None

    def _on(self, client: Any) -> Any:
        """The client a call goes to: the caller's own (a `Client`, an `AsyncClient` or `puras.Client`), else ours."""
        return client if client is not None else self.client

    async def submit(
        self,
        skill: str,
        inputs: dict,
        *,
        skillpack: str | None = None,
        version: int | None = None,
        hold: int | None = None,
        client: Any = None,
    ) -> dict:
        """Submit a job; the server's job dict. `hold`: the server may hold its answer that many seconds, so a short
        job comes back finished (`wait=True, timeout=hold`); else the client's own submit defaults apply."""
        held: dict[str, Any] = {"wait": True, "timeout": hold} if hold is not None else {}
        return await self._request(
            self._on(client).submit, skill, inputs, skillpack=skillpack, version=version, expect=a_job, **held
        )

    async def get(self, job_id: str, *, client: Any = None, background: bool = False) -> dict:
        """The job dict as the server has it now."""
        return await self._request(self._on(client).get, job_id, background="the status check" if background else "",
                                   expect=a_job)

    async def events(self, job_id: str, *, after: int = 0, client: Any = None, background: bool = False) -> list[dict]:
        """The job's events with an id greater than `after`."""
        return await self._request(self._on(client).events, job_id, after=after,
                                   background="fetching the events" if background else "", expect=events_list)

    async def spans(self, job_id: str, *, client: Any = None) -> list[dict]:
        """The job's trace spans (`GET /v1/jobs/{id}/spans`)."""
        return await self._request(self._on(client).spans, job_id)

    async def cancel(self, job_id: str, *, client: Any = None) -> dict:
        """Ask the server to cancel the job; the job dict it answers."""
        return await self._request(self._on(client).cancel, job_id, expect=a_job)

    async def feedback(self, job_id: str, *, rating: int, comment: str | None = None, client: Any = None) -> dict:
        """Record feedback on the job's result; the stored feedback."""
        return await self._request(self._on(client).feedback, job_id, rating=rating, comment=comment)

    async def replay(self, job_id: str, *, version: int | None = None, client: Any = None) -> dict:
        """Run the job's inputs again as a new job (on `version`, else the active deployment); the new job."""
        return await self._request(self._on(client).replay, job_id, version=version, expect=a_job)

    async def jobs(self, *, skill: str | None = None, limit: int | None = None, background: bool = False) -> list[dict]:
        """The newest jobs on our client's server (of `skill` when given), newest first."""
        return await self._request(self.client.jobs, skill=skill, limit=limit,
                                   background="the job list" if background else "", expect=jobs_list)

    async def balance(self) -> dict:
        """The key's balance (`GET /v1/billing/balance`), where the server has that route."""
        return await self._request(self.client.balance)

    async def skillpacks(self) -> list[dict]:
        """The skillpacks our client's key can run, with their skills."""
        return await self._request(self.client.skillpacks)

    async def pull(self, skillpack_id: str) -> dict:
        """Where the active deployment's bundle of the pack can be downloaded: `{download_url, version}`."""
        return await self._request(self.client.pull, skillpack_id, ttl=BUNDLE_TTL)

    async def health(self) -> dict:
        """The server's `/health` answer (`puras serve` names its `bundle_dir` and `skills` there)."""
        return await self._request(self.client.health)

    async def fetch_bundle(self, url: str, cap: int) -> bytes | None:
        """A deployment bundle's bytes (a zip) from its signed `download_url`, within `cap`: never with the key, to
        the addresses a media fetch may reach (public ones, the API's file routes, `preview_allow_hosts`)."""
        return await afetch_url(
            url, cap, keep=lambda data: data.startswith(b"PK"), api_base=self.api_base, http=self._media(),
            allow_hosts=self.settings.preview_allow_hosts,
        )

    def _media(self) -> httpx.AsyncClient:
        if self._media_http is None:
            timeout = httpx.Timeout(MEDIA_TIMEOUT, connect=MEDIA_CONNECT_TIMEOUT)
            self._media_http = httpx.AsyncClient(timeout=timeout, verify=ssl_context())
        return self._media_http

    async def fetch_media(self, media: Media, cap: int, *, client: Any = None) -> bytes | None:
        """A media item's bytes within `cap` (None past it or when unreachable); the key only to the API origin,
        which is that of `client` (the caller's own, that ran the job) when given, else this connection's."""
        if self._media_semaphore is None:
            self._media_semaphore = asyncio.Semaphore(4)
        api_base, api_key = client_origin(client) if client is not None else (self.api_base, self.client.secret)
        async with self._media_semaphore:
            await self.budget.take()
            return await afetch(
                media, cap, api_base=api_base, api_key=api_key, http=self._media(),
                allow_hosts=self.settings.preview_allow_hosts,
            )

    async def fetch_previews(
        self, media: list[Media], caps: int | dict[str, int] | None = None, *, client: Any = None
    ) -> dict[str, bytes | None]:
        """Preview bytes for one result's media, within its budget: the per-kind cap (`caps`, default the
        `preview_max_bytes` setting), at most `preview_max_items` items and `preview_total_bytes` in all.
        Every item gets an entry: None past the budget or when unreachable (the view shows a link). `client`: the
        caller's own client that ran the job, whose API the media's file routes are on (`fetch_media`)."""
        s = current()
        caps = caps if caps is not None else s.preview_max_bytes
        out: dict[str, bytes | None] = {m.url: None for m in media}
        left = s.preview_total_bytes

        async def one(m: Media) -> None:
            nonlocal left
            cap = min(max_bytes_for(m.kind, caps), max(0, left))
            data = await self.fetch_media(m, cap, client=client) if cap > 0 else None
            if data is not None and len(data) <= left:  # no await between the check and the claim
                left -= len(data)
                out[m.url] = data

        await asyncio.gather(*(one(m) for m in media[: s.preview_max_items]), return_exceptions=True)
        return out

    # -- the tracker ----------------------------------------------------------------------------

    def watch(self, w: Watch) -> None:
        """Follow `w` until its job ends (thread-safe)."""
        rt.call_soon(self._add, w)

    def check_now(self, w: Watch) -> None:
        """Check `w` in the next round (after a cancel, say) (thread-safe)."""

        def now() -> None:
            w.next_check = 0.0
            w.nudged = w.busy  # a check under way may have begun before what this one is for
            self._nudge()

        rt.call_soon(now)

    def _add(self, w: Watch) -> None:
        self.added += 1
        w.order = self.added
        w.next_check = time.monotonic() + FIRST_CHECK
        self.watches.append(w)
        if self._wake is None:
            self._wake = asyncio.Event()
        self._wake.set()
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._run())

    def interval(self, w: Watch, now: float) -> float:
        """Seconds until `w`'s next check: short while the job is young, `poll_interval` when it is old.

        Where one list request answers for a crowd of jobs, the crowd is checked more often as it grows
        (every `CROWD_SHARE / n` s, but at most every `CROWD_EVERY` s), since a round costs each job little."""
        if w.failures:
            return min(w.poll_interval * 2**w.failures, 30.0)
        every = (now - w.started) * AGE_FACTOR
        if self.lists and w.client is None:
            every = min(every, max(CROWD_EVERY, CROWD_SHARE / len(self.watches)))
        return min(w.poll_interval, max(FIRST_CHECK, every))

    async def _run(self) -> None:
        """Start the checks of the jobs that are due, each in a task of its own, until no job is followed: the
        runner itself never waits on the network, so no answer, however slow, holds up another job's check."""
        assert self._wake is not None
        while self.watches:
            now = time.monotonic()
            waiting = [w for w in self.watches if not w.busy and not (self._listing and w.client is None)]
            due = [w for w in waiting if w.next_check <= now]
            if due:
                try:
                    self._round(due)
                except Exception as exc:  # a bug, not the network: end these jobs for their waiters, say why
                    for w in due:
                        self._fail(w, exc)
                self.watches = [w for w in self.watches if not w.ended]
                continue
            self._wake.clear()
            upcoming = min((w.next_check for w in waiting), default=None)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), None if upcoming is None else max(0.0, upcoming - now))
            self.watches = [w for w in self.watches if not w.ended]
        if self.retired:
            await self.close()

    def _round(self, due: list[Watch]) -> None:
        """Check the due jobs. Where the server lists jobs, one list request (one at a time, in a task) answers for
        the jobs this session follows with its own client; any other job is polled in a task of its own."""
        listening = sum(1 for w in self.watches if w.status not in TERMINAL and w.wants_events())
        every = max(EVENTS_MIN, listening / EVENTS_RPS)
        shared = [w for w in self.watches if w.client is None and not w.ended]
        listable = self.lists is not False and len(shared) >= LIST_MIN
        listed: list[Watch] = []
        for w in due:
            if listable and w.client is None:
                listed.append(w)
            else:
                self._start(w, self._check(w, every))
        if listed:
            self._listing = True
            for w in listed:
                w.busy = True
            self._spawn(self._list_round(listed, every))

    async def _list_round(self, due: list[Watch], every: float) -> None:
        """The list request of a round, then each job it shows is checked from its row (and any other job this
        session follows that it shows, due or not); a due job it does not show is polled on its own."""
        rows: dict[str, dict] | None = None
        try:
            shared = [w for w in self.watches if w.client is None and not w.ended]
            if shared:
                rows = await self._list(self.added - min(w.order for w in shared) + 1)
        finally:
            self._listing = False
        for w in due:
            w.busy = False
        if rows is not None:  # the list answered for every job it shows: all of them are checked now
            due = due + [w for w in self.watches if w.job_id in rows and w.client is None and not w.busy
                         and not w.ended and w not in due]
        for w in due:
            if w.ended:
                continue
            if rows is None or w.job_id not in rows:
                self._start(w, self._check(w, every))
                continue
            try:
                self._seen(w, rows[w.job_id])
                step = None if w.ended else self._then(w, every)
            except Exception as exc:  # a bug in a callback: this job ends, the others go on
                self._fail(w, exc)
                continue
            if step is not None:
                self._start(w, step)
        self._nudge()

    async def _check(self, w: Watch, every: float) -> None:
        """One job's own check: its status, then its events or its end when due."""
        await self._poll(w)
        step = None if w.ended else self._then(w, every)
        if step is not None:
            await step

    def _then(self, w: Watch, every: float) -> Coroutine[Any, Any, Any] | None:
        """After a job's status was learnt: when to check it next, and what to fetch now (its last events and end,
        or its new events when it is watched and they are due), if anything."""
        now = time.monotonic()
        w.next_check = now + self.interval(w, now)
        if w.status in TERMINAL:
            return self._end(w)
        if w.wants_events() and now - w.events_at >= every:
            return self._events(w)
        return None

    def _start(self, w: Watch, work: Coroutine[Any, Any, Any]) -> None:
        """Run `work` for `w` in a task of its own; `w` is not due again until it ends."""
        w.busy = True

        async def guarded() -> None:
            try:
                await work
            except Exception as exc:  # a bug, not the network (that is trouble): end this job, say why
                self._fail(w, exc)
            finally:
                w.busy = False
                if w.nudged:
                    w.next_check, w.nudged = 0.0, False
                self._nudge()

        self._spawn(guarded())

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._checks.add(task)  # held until done: the loop keeps only weak references to tasks
        task.add_done_callback(self._checks.discard)

    def _nudge(self) -> None:
        """Wake the runner: a check ended, so a job may be due, or done with."""
        if self._wake is not None:
            self._wake.set()

    def _fail(self, w: Watch, exc: BaseException) -> None:
        failure = PurasError(f"following job {w.job_id} failed: {exc!r}")
        failure.__cause__ = exc
        self._stop(w, failure)

    async def _list(self, span: int) -> dict[str, dict] | None:
        """The newest jobs, keyed by id, enough to show every job followed: the list is newest first, so the
        oldest job followed sits behind the `span` jobs started here since (ended or not) and any others'."""
        limit = min(LIST_MAX, max(50, 2 * span))
        try:
            listed = await self.jobs(limit=limit, background=True)
        except PurasAPIError as exc:
            if exc.status in NO_LISTING:
                self.lists = False
            return None
        except (PurasError, OSError):
            return None
        self.lists = True
        return {j["id"]: j for j in listed}

    async def _poll(self, w: Watch) -> None:
        w.requests += 1
        try:
            job = await self.get(w.job_id, client=w.client, background=True)
        except PurasAPIError as exc:
            if exc.status in GIVE_UP:
                self._stop(w, exc)
            else:
                self._trouble(w, str(exc))
            return
        except (PurasError, OSError) as exc:
            self._trouble(w, str(exc))
            return
        self._seen(w, job)

    def _seen(self, w: Watch, job: dict) -> None:
        if w.failures:
            w.failures = 0
            w.on_trouble(None)
        w.status = str(job.get("status") or w.status)
        w.on_job(job)

    async def _events(self, w: Watch) -> bool:
        w.requests += 1
        try:
            events = await self.events(w.job_id, after=w.cursor, client=w.client, background=True)
        except (PurasError, OSError) as exc:
            self._trouble(w, str(exc))
            return False
        w.events_at = time.monotonic()
        fresh = w.fresh(events)
        if fresh:
            w.on_events(fresh)
        return True

    async def _end(self, w: Watch) -> None:
        """A job that ended: its last events (when wanted), then its owner is told (once)."""
        wanted = w.status != "succeeded" or w.wants_last_events()
        if wanted and not await self._events(w) and w.failures < 3:
            return  # try again next round
        self._stop(w, None)

    def _stop(self, w: Watch, error: BaseException | None) -> None:
        if not w.ended:
            w.ended = True
            w.on_end(error)

    def _trouble(self, w: Watch, message: str) -> None:
        w.failures += 1
        w.next_check = time.monotonic() + self.interval(w, time.monotonic())
        w.on_trouble(message)

    # -- life -----------------------------------------------------------------------------------

    def retire(self) -> None:
        """New jobs go elsewhere; close the client once the jobs still followed here have ended."""
        self.retired = True

        def maybe_close() -> None:
            if not self.watches:
                rt.spawn(self.close())

        rt.call_soon(maybe_close)

    async def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
        if self._blocking is not None:
            with contextlib.suppress(Exception):
                self._blocking.close()
        if self._media_http is not None:
            with contextlib.suppress(Exception):
                await self._media_http.aclose()


_lock = threading.Lock()
_current: Session | None = None


def session(*, connect: bool = True) -> Session:
    """The session of the current settings (made on first use, and again after the connection changed), connected
    by the calling thread (`Session.connect`: where a first connection starts the embedded emulator and says so).
    `connect=False` for a job that brings its own client: it needs the session's runtime, not its connection."""
    global _current
    with _lock:
        if _current is None:
            _current = Session(current())
        made = _current
    if connect:
        made.connect()
    return made


def existing() -> Session | None:
    """The session of the current settings if one was made, else None: for reads that need a connection only when
    there is one (asking makes none, so starts no embedded emulator)."""
    with _lock:
        return _current


def _retire() -> None:
    global _current
    with _lock:
        old, _current = _current, None
    if old is not None:
        old.retire()


on_change(_retire)
