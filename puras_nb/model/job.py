"""`LiveJob`: one remote job, kept up to date by the runtime, with the actions a person takes on it.

The runtime's tracker feeds it (job dicts, new events, trouble, the end) on the runtime thread; anything
may read it from any thread. Views subscribe (`subscribe`) and are told what changed, a set of `Change`
topics (`model/protocols.py`): status, job, events, error (connection trouble), done, media (previews
arrived), settle (a cell that waited for the job wants the final state re-sent from its own context) and
waiting (a cell began or stopped blocking on it). Views see a job as a `JobView`. The model imports no view:
a view package registers how jobs are displayed (`set_presenter`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from ..api.flows import NEVER_SENT, STOP_TIMEOUT, TERMINAL, answer_lost, event_id, parse_time
from ..api.media import Media
from ..errors import JobError, JobInterrupted, NotSupported, PurasAPIError, PurasError, SubmitInterrupted
from ..runtime import loop as rt
from ..runtime.kernel import deferred_interrupts
from ..runtime.session import Session, Watch, session
from ..settings import current
from ..strings import cut, plain
from .events import STATE_EVENTS, RunTree
from .media import describe, find_media, posters, text_fields
from .presenter import present, presenter_bundle, presenter_static, presenter_widget, set_presenter
from .protocols import Change, Group, JobState, JobView, Row, Step
from .schemas import declared_outputs, explain_not_found
from .spans import Spans
from .stills import warm
from .text import event_message, event_parts, finite, payload_of, summarize

__all__ = [
    "LiveJob", "check_options", "job_text", "jobs", "present", "presenter_bundle", "presenter_static",
    "presenter_widget", "set_presenter", "skill_path", "tell",
]

Observer = Callable[["LiveJob", frozenset[Change]], None]

MAX_EVENTS = 5_000
#: How many LiveJobs `jobs()` remembers (and keeps alive), newest kept.
MAX_REMEMBERED = 1_000
#: After a job ends, how long a blocking wait also waits for its previews before returning.
PREVIEW_GRACE = 2.0
#: The hold: how long the server may hold a foreground submission; a job that ends within it needs no poll.
HOLD = 1
#: The cancel's bridge timeout: how long `cancel()` waits for the server (and `%puras cancel` for the job to stop).
CANCEL_WAIT = 10.0
#: How long reading `events` of an ended job waits for the last events it left on the server.
EVENTS_WAIT = 10.0
SLICE = 0.25

_remembered: deque[LiveJob] = deque(maxlen=MAX_REMEMBERED)
#: Whether jobs of a skill (path, version) keep a checklist, learned from one whose last events were fetched: a
#: viewed job that ended before its first event fetch cannot tell from its own events.
_checklists: dict[tuple[str, int | None], bool] = {}


async def _submitted(
    sess: Session, skill: str, inputs: dict | None, skillpack: str | None, version: int | None, client: Any,
    hold: int | None = None,
) -> dict:
    """The server's answer to a submission; a 404 for a skill it does not have names close matches."""
    try:
        return await sess.submit(skill, inputs or {}, skillpack=skillpack, version=version, hold=hold, client=client)
    except PurasAPIError as exc:
        raise await explain_not_found(exc, skill, skillpack or sess.settings.skillpack, sess) from None


class _LateShow:
    """`show(job)` on the runtime thread `after` s from now, unless `claim`ed first: a blocking call's job is shown
    only if the call takes long."""

    def __init__(self, job: LiveJob, show: Callable[[LiveJob], Any], after: float) -> None:
        self.job, self.show = job, show
        self._lock = threading.Lock()
        self._state = "waiting"
        self._shown = threading.Event()
        rt.call_later(after, self._fire)

    def _fire(self) -> None:
        with self._lock:
            if self._state != "waiting":
                return
            self._state = "showing"
        try:
            self.show(self.job)
        finally:
            self._shown.set()

    def claim(self) -> bool:
        """True when the show had not begun (now it never will); else False, once it is over (so what it displays
        belongs to the cell that is still running)."""
        with self._lock:
            if self._state == "waiting":
                self._state = "claimed"
                return True
        self._shown.wait(CANCEL_WAIT)
        return False


def tell(observers: list, subject: Any, changed: set[Change] | set[str], name: str) -> None:
    """Call each of `observers` with `(subject, changed)`; a failing view is reported, never fatal to tracking."""
    frozen = frozenset(changed)
    for observer in list(observers):
        try:
            observer(subject, frozen)
        except Exception as exc:  # one broken view must not stop the model or the others
            print(f"puras-nb: a view of {name} failed: {exc!r}", file=sys.stderr)


def jobs() -> list[LiveJob]:
    """Every LiveJob this kernel made (started, attached, compared; the last 1000), oldest first."""
    return sorted(_remembered, key=lambda job: job.started)


class LiveJob:
    """One remote job, kept up to date in the background: `.status`, `.job`, `.events`, `.result()`.

    `await job` returns the result (or raises `JobError`); `job.result()` blocks the cell (Ctrl-C or the
    ■ button stops it, cancelling the job when `cancel_on_interrupt` is on). Displayed in a notebook it
    is a live widget, with text/html and text/plain fallbacks for saved and exported notebooks.
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
        s = current()
        self.job: dict = dict(job or {})
        self.id: str | None = self.job.get("id")
        self.skill = skill or self._skill_from_job()
        self._version = version
        self.client = client
        self._events: list[dict] = []
        self._run = RunTree()
        self.exception: BaseException | None = None
        self.media: list[Media] | None = None
        self.media_data: dict[str, bytes | None] = {}
        self._declared: dict[str, str] | None = None
        self.poll_interval = poll_interval if poll_interval is not None else s.poll_interval
        self.preview_max_bytes = preview_max_bytes if preview_max_bytes is not None else s.preview_max_bytes
        self.cancel_on_interrupt = cancel_on_interrupt if cancel_on_interrupt is not None else s.cancel_on_interrupt
        #: The wait timeout: how long `result()` (and `%puras run`) waits for the end unless told otherwise.
        self.wait_timeout = timeout if timeout is not None else s.timeout
        self.started = time.time()
        self.last_error: str | None = None
        self.submitting = False
        #: True while a cell blocks in `wait()` / `result()` on this job (views say how to stop it then).
        self.waiting_in_cell = False
        #: True once someone here asked to cancel the job (`cancel`, the Cancel button): its end was wanted.
        self.cancel_requested = False
        #: Whether a job nobody views fetches its last events when it succeeds (False for a batch's rows, whose
        #: results matter: one request a row less); `want_log()` fetches them all the same.
        self.keep_log = True
        self._observers: list[Observer] = []
        self._log_wanted = False
        #: Set once every event of the ended job is here (the last ones fetched, or none left to fetch).
        self._events_final = False
        self._last_asked = False
        self._rest: threading.Event | None = None  # a fetch of the last events on its way
        self._callbacks: list[Callable[[LiveJob], Any]] = []
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []
        self._done = threading.Event()
        #: Set once observers and done callbacks have seen the end: what waiters wait for, so a cell that
        #: waited re-sends views that are already at their final state.
        self._told = threading.Event()
        self._previews = threading.Event()
        self._mutex = threading.RLock()
        self._session: Session | None = None
        self._watch: Watch | None = None
        self._cancel_wanted = False
        self._wants_media = False
        self._media_started = False
        self._finished_at: float | None = None
        self._ended_once = False
        self._learns_checklist = False
        self._submitted_event: threading.Event | None = None
        _remembered.append(self)
        if self.status in TERMINAL:
            self._mark_done()
            self._told.set()

    # -- starting ---------------------------------------------------------------------------------

    @classmethod
    def submit(
        cls,
        skill: str,
        inputs: dict | None = None,
        *,
        skillpack: str | None = None,
        version: int | None = None,
        client: Any = None,
        hold: bool = False,
        **opts: Any,
    ) -> LiveJob:
        """Submit a job and return its LiveJob, followed by the runtime from then on.

        `hold=False` returns once the server answered (the job has an id). `hold=True` (a foreground run)
        returns at once in the `submitting` state while the server holds the submission up to `HOLD` s, so a
        short job comes back finished with no poll at all; a rejected submission then ends the LiveJob with
        the API's error.
        """
        if not hold:
            return rt.run_sync(cls.asubmit(skill, inputs, skillpack=skillpack, version=version, client=client, **opts))
        job, sess, submitted_event = cls._held(skill, skillpack, version, client, opts)

        async def send() -> None:
            try:
                answer = await _submitted(sess, skill, inputs, skillpack, version, client, hold=HOLD)
            except asyncio.CancelledError:
                job.submitting = False
                job._finish(PurasError("the submission was stopped before the server answered"))
                raise
            except Exception as error:  # rejected or unreachable: no job exists; waiters get the error
                job._not_sent(error)
            else:
                job._submitted(answer)
                ending = job._track(sess)
                if ending is not None:  # it ended within the hold: its last events, and its end, before waiters wake
                    await ending
            finally:  # once the answer is in the model: a waiter that wakes reads its status, not `submitting`
                submitted_event.set()

        rt.spawn(send())
        return job

    @classmethod
    def submit_here(
        cls,
        skill: str,
        inputs: dict | None = None,
        *,
        skillpack: str | None = None,
        version: int | None = None,
        show: Callable[[LiveJob], Any] | None = None,
        show_after: float = 0.15,
        **opts: Any,
    ) -> LiveJob:
        """`submit(hold=True)` sent by the calling thread, which blocks for the answer (a foreground run's cell
        waits for it anyway): no hop to the runtime thread and back, nor asyncio's cost, around its requests. A job
        that ended within the hold gets its last events here too and returns ended; a running one is followed by
        the runtime from then on; a rejected one returns ended with the API's error (`rejected`).

        `show(job)` is called (on the runtime thread) if the answer takes more than `show_after` s, so a longer
        submission is seen at once; `shown` then says so. A Ctrl-C while the server holds the submission is acted on
        once its answer names the job (cancelled when `cancel_on_interrupt`); a second one stops the wait at once.
        On the kernel-wide connection only (`submit(hold=True)` takes a `client`)."""
        job, sess, submitted_event = cls._held(skill, skillpack, version, None, opts)
        late = _LateShow(job, show, show_after) if show is not None else None
        try:
            with deferred_interrupts() as interrupts:
                job._send_here(sess, skill, inputs, skillpack, version)
        except KeyboardInterrupt:  # a second Ctrl-C: the request was dropped, and the server may still make the job
            dropped = SubmitInterrupted(job.skill, "the job may still be created; list it with Client().jobs()")
            job._not_sent(dropped)
            raise dropped from None
        finally:
            submitted_event.set()
            if late is not None:
                late.claim()  # from here on the caller shows the job, unless the late show already did
        if interrupts.pending:
            job._interrupted()
        return job

    @classmethod
    def _held(
        cls, skill: str, skillpack: str | None, version: int | None, client: Any, opts: dict
    ) -> tuple[LiveJob, Session, threading.Event]:
        """A job for a held submission, in the `submitting` state; its session, and the event set once the server
        answered."""
        sess = session(connect=client is None)  # a job on the caller's own client starts no embedded emulator
        path = skill_path(skill, skillpack or sess.settings.skillpack)
        check_options(opts)
        job = cls({"status": "submitting"}, skill=path, version=version, client=client, **opts)
        job._session = sess
        job.submitting = True
        job._submitted_event = submitted = threading.Event()
        return job, sess, submitted

    def _send_here(self, sess: Session, skill: str, inputs: dict | None, skillpack: str | None, version: int | None,
                   ) -> None:
        """`submit_here`'s requests: the held submission, then, for a job that ended within it, its last events."""
        try:
            answer = sess.submit_here(skill, inputs or {}, skillpack=skillpack, version=version, hold=HOLD)
        except PurasAPIError as exc:  # a missing skill's 404 names close matches (the catalog, on the runtime loop)
            self._not_sent(rt.run_sync(explain_not_found(exc, skill, skillpack or sess.settings.skillpack, sess)))
            return
        except Exception as error:  # refused or unreachable: no job exists; waiters get the error
            self._not_sent(error)
            return
        self._submitted(answer)
        if self.id and self.status in TERMINAL:  # it ended within the hold: its last events here too
            self._end_here(sess)
        else:
            self._follow(sess)

    def _not_sent(self, error: BaseException) -> None:
        """The held submission made no job (refused, unreachable, dropped): it ends with `error` for its waiters."""
        self.submitting = False
        with contextlib.suppress(ValueError):
            _remembered.remove(self)
        self._finish(error)

    @classmethod
    async def asubmit(
        cls,
        skill: str,
        inputs: dict | None = None,
        *,
        skillpack: str | None = None,
        version: int | None = None,
        client: Any = None,
        keep_log: bool = True,
        **opts: Any,
    ) -> LiveJob:
        """On the runtime loop: submit a job once the server answered and return its LiveJob, followed from then
        on (what `submit` runs, and how a batch sends its rows without a thread each). `keep_log`: see the
        attribute."""
        sess = session(connect=client is None)  # a job on the caller's own client starts no embedded emulator
        path = skill_path(skill, skillpack or sess.settings.skillpack)
        check_options(opts)
        answer = await _submitted(sess, skill, inputs, skillpack, version, client)
        job = cls(answer, skill=path, version=version, client=client, **opts)
        job.keep_log = keep_log
        job._follow(sess)
        return job

    def wait_submitted(self, timeout: float) -> bool:
        """For a held submission: wait up to `timeout` s for the server's answer; True once it came (and, for a job
        that ended within the hold, once its end was told: one wake of the waiting thread for the whole run)."""
        event = self._submitted_event
        try:
            return event is None or event.wait(timeout)
        except KeyboardInterrupt:
            self._interrupted()
            raise

    def wait_ended(self, timeout: float) -> bool:
        """Block up to `timeout` s until the job ended, what follows it heard so, and its previews are in; True if
        so. A view made then is made at its end, once (`foreground` waits so for a job that ended within the hold)."""
        deadline = time.monotonic() + timeout
        try:
            return self._told.wait(timeout) and self.wait_previews(max(0.0, deadline - time.monotonic()))
        except KeyboardInterrupt:
            self._interrupted()
            raise

    @property
    def rejected(self) -> BaseException | None:
        """The error of a submission that created no job (the server refused it or could not be reached)."""
        return self.exception if self.id is None and not self.submitting and self.done() else None

    def _submitted(self, answer: dict) -> None:
        """Take the held submission's answer (and cancel the job now if that was asked meanwhile)."""
        self.submitting = False
        self._apply(answer)
        if self._cancel_wanted and not self.done():
            rt.spawn(self._cancel())

    @classmethod
    def attach(cls, job_id: str, *, client: Any = None, **opts: Any) -> LiveJob:
        """A LiveJob for a job started elsewhere (another kernel, before a restart), with its events so far."""
        return rt.run_sync(cls.aattach(job_id, client=client, **opts))

    @classmethod
    async def aattach(cls, job_id: str, *, client: Any = None, events: bool = True, **opts: Any) -> LiveJob:
        """On the runtime loop: `attach`. `events=False` leaves a finished job's events on the server (a batch
        reusing its rows needs their results, not their logs)."""
        sess = session(connect=client is None)
        fetched = await sess.get(job_id, client=client)
        # a job this kernel already follows keeps the name it was started with (one job, named one way)
        known = next((j.skill for j in _remembered if j.id == job_id and j.skill), "")
        job = cls(fetched, skill=known, client=client, **check_options(opts))
        job.started = parse_time(fetched.get("created_at")) or job.started  # started elsewhere, earlier
        job._session = sess
        if job.done():
            if events:
                job._apply(events=await sess.events(job_id, after=0, client=client))
                job._events_final = True
            job._finish()
        else:
            job._follow(sess)
        return job

    def _follow(self, sess: Session) -> None:
        """Hand the job to the runtime's tracker; a job that already ended only gets its events."""
        ending = self._track(sess)
        if ending is not None:
            rt.spawn(ending)

    def _track(self, sess: Session) -> Coroutine[Any, Any, None] | None:
        """`_follow`, but a job that already ended is not spawned: the coroutine that fetches its last events and
        ends it is given back, for a caller on the runtime loop to await."""
        self._session = sess
        if not self.id:
            self._finish(PurasError("the server's answer to the submission had no job id"))
            return None
        if self.status in TERMINAL:
            pending = self._expect_rest()

            async def last_events() -> None:
                self._learns_checklist = True
                await self._rest_of(sess, pending)
                self._finish()

            return last_events()
        self._watch = Watch(
            self.id,
            on_job=lambda job: self._apply(job),
            on_events=lambda events: self._apply(events=events),
            on_trouble=self._trouble,
            on_end=self._finish,
            wants_events=lambda: bool(self._observers),
            wants_last_events=self._wants_last_events,
            client=self.client,
            poll_interval=self.poll_interval,
        )
        # a job already known on another clock started when we submitted it
        self._watch.started = time.monotonic() - max(0.0, time.time() - self.started)
        self._watch.cursor = self._cursor()
        sess.watch(self._watch)
        return None

    def _wants_last_events(self) -> bool:
        """Whether a job that succeeded needs its last events: for a log, when nobody views it, when a cell waits
        for it (its saved view keeps them), for a view's checklist (shown to its end) or its states (an approval's
        decision), also when the job ended
        before its first event fetch unless its skill is known to keep none. The others fetch them when someone
        reads `events` or opens the log."""
        unknown = not self._events and _checklists.get((self.skill, self.version)) is not False
        waited = self.waiting_in_cell or bool(self._waiters)  # the cell that waits records the final view
        stated = self._run.stated  # a state's outcome (an approval decided) may be in them: views show it
        wanted = self._log_wanted or not self._observers or self.todos is not None or unknown or waited or stated
        self._learns_checklist = self._learns_checklist or wanted  # it will have all its events
        self._last_asked = wanted
        return wanted

    # -- read-only views of the state -----------------------------------------------------------

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

    @property
    def requests(self) -> int:
        """HTTP requests the runtime made for this job alone since it was followed (status polls, event
        fetches); the submission and list rounds shared with other jobs are not counted."""
        return self._watch.requests if self._watch is not None else 0

    def done(self) -> bool:
        """True once the job reached a terminal status (or following it failed for good)."""
        return self._done.is_set()

    @property
    def error_text(self) -> str:
        """What went wrong, in one place for every view: the job's error, else the failure, else its status."""
        if self.status == "succeeded" and self.exception is None:
            return ""
        err = self.job.get("error") or (str(self.exception) if self.exception is not None else "")
        return str(err) if err else (self.status if self.done() else "")

    @property
    def todos(self) -> list[dict] | None:
        """The latest checklist (`tool_result` events with `payload.todos`), if the skill keeps one. Once the job
        ended without succeeding, the step it was on reads `stopped` (it will not finish)."""
        for event in reversed(self._events):
            todos = payload_of(event).get("todos")
            if isinstance(todos, list) and todos:
                items = [t for t in todos if isinstance(t, dict)]
                if self.done() and self.status != "succeeded":
                    items = [{**t, "status": "stopped"} if t.get("status") == "in_progress" else t for t in items]
                return items
        return None

    def _step(self) -> tuple[int, int, str] | None:
        """(done, total, unit) from the latest progress event or todo checklist, whichever is newer."""
        for event in reversed(self._events):
            payload = payload_of(event)
            step, total = payload.get("step"), payload.get("total")
            if event.get("type") == "progress" and finite(step) and finite(total) and total > 0:
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
        """`2/4` (or `2/5 tasks`); `finishing` while the last step still runs (never `4/4` before the end)."""
        step = self._step()
        if not step:
            return ""
        if self.status == "succeeded":
            return f"{step[1]}/{step[1]}{step[2]}"
        if step[0] >= step[1] and not self.done():
            return "finishing"
        return f"{step[0]}/{step[1]}{step[2]}"

    @property
    def message(self) -> str:
        """The current step line: the latest step's name (its `tool_use` label, after the subagents it runs in) or
        the latest event's message, whichever is newer; the latest event's type when neither says anything."""
        with self._mutex:
            for event in reversed(self._events):
                kind = event.get("type")
                if kind == "tool_use":
                    return self._run.step
                if said := event_message(event).strip():
                    return said
                if kind not in _NOT_A_STEP and (words := event_parts(event)[1]):
                    return words
            return str(self._events[-1].get("type") or "") if self._events else ""

    @property
    def step(self) -> str:
        """The latest step's name: its `tool_use` label (else the tool's), after the labels of the subagents it runs
        in (`layout › Lay out the headline`); "" before the first step."""
        with self._mutex:
            return self._run.step

    @property
    def steps(self) -> list[Step]:
        """The labelled steps the run took, oldest first (the last 200): each `tool_use`'s label, its state (`running`,
        `done`, `failed`, `stopped` where the job ended on it) and how deep in subagents it ran. Steps the agent left
        unlabelled (internal calls) are not listed; the log shows them."""
        with self._mutex:
            return self._run.steps(ended=self.done(), succeeded=self.status == "succeeded")

    @property
    def states(self) -> list[JobState]:
        """The states the job is in beside its status, each with what happened and what to do: its cost was capped
        (`cost_capped`), it waits for a person to approve a tool (`approval_required`, a local run's
        `confirm_requested`; once it ended without one, stopped while waiting; denied or expired), it was
        resumed from a checkpoint (`resumed`)."""
        with self._mutex:
            return self._run.states(ended=self.done(), succeeded=self.status == "succeeded")

    def event_path(self, event: dict) -> list[str]:
        """The labels of the subagents `event` ran in, outermost first ([]: the run itself), for a log printed as
        text (`%puras logs`)."""
        with self._mutex:
            return [sub.label for sub in self._run.where(event_id(event))]

    def log_items(self, limit: int = 50) -> list[Row | Group]:
        """The last `limit` events as the log shows them: each subagent's events in its `Group` (its label, status
        and events), the others as `Row`s, each at its position among the events (1, 2, …)."""
        with self._mutex:
            return self._run.nest(self._events, limit, ended=self.done(), succeeded=self.status == "succeeded")

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
        return self.elapsed if self.done() else None

    @property
    def media_pending(self) -> bool:
        """True while the previews of a finished job are still being fetched."""
        return self._media_started and not self._previews.is_set()

    def _cursor(self) -> int:
        return max((event_id(e) for e in self._events), default=0)

    # -- changes --------------------------------------------------------------------------------

    def subscribe(self, observer: Observer, *, log: bool = False) -> Callable[[], None]:
        """Call `observer(job, changed)` after every change (on the runtime thread); returns an unsubscribe.

        `log=True` for an observer that shows the whole event log (see `want_log`)."""
        self._observers.append(observer)
        if log:
            self.want_log()
        return lambda: self._observers.remove(observer) if observer in self._observers else None

    @property
    def events(self) -> list[dict]:
        """The job's events, oldest first (the last `MAX_EVENTS`). Read after the end, complete: the last events a
        viewed job left on the server are fetched on the first read (waiting up to `EVENTS_WAIT` s; on the runtime
        thread, which cannot wait on itself, they are asked for and arrive with an `events` change)."""
        if self.done() and not self._events_final:
            self._fetch_rest(wait=not rt.on_runtime_thread())
        return self._events

    @property
    def known_events(self) -> list[dict]:
        """The events known so far, never fetching: what views render (`want_log` asks for the rest)."""
        return self._events

    @property
    def events_complete(self) -> bool:
        """True once the job ended and every one of its events is here."""
        return self.done() and self._events_final

    def want_log(self) -> None:
        """Someone shows this job's whole event log: fetch its last events too, now if it already ended.

        Views of a job show its progress and outcome, not its log, so when views watch a job that succeeds
        its last events are left on the server until someone opens the log or reads `events`: one request less
        a job, which is what keeps a fan-out of live widgets as cheap as the official client's polling. A job
        nobody views, one that failed, one a cell waits for, and one that keeps a checklist (views show it to the
        end; a job that ended before its first event fetch, unless its skill is known to keep none) always get
        them."""
        self._log_wanted = True
        if self.done() and not self._events_final:
            self._fetch_rest(wait=False)

    def _fetch_rest(self, *, wait: bool) -> None:
        """Fetch the events an ended job left on the server, once at a time; `wait`: up to `EVENTS_WAIT` s."""
        sess = self._session
        if sess is None or not self.id:  # a job made by hand, or none on a server: nothing to fetch
            self._events_final = True
            return
        with self._mutex:
            pending, start = self._rest, self._rest is None
            if pending is None:
                pending = self._rest = threading.Event()
        if start:
            rt.spawn(self._rest_of(sess, pending))
        if wait:
            pending.wait(EVENTS_WAIT)

    def _expect_rest(self) -> threading.Event:
        """A fetch of the last events is on its way: a read of `events` meanwhile waits for it, fetching nothing."""
        with self._mutex:
            pending = self._rest = threading.Event()
        return pending

    async def _rest_of(self, sess: Session, pending: threading.Event) -> None:
        changed: set[Change] = set()
        try:
            changed = await self._catch_up(sess)
        finally:
            self._rest_in(pending, changed)

    def _end_here(self, sess: Session) -> None:
        """A job that ended within its held submission, from the calling thread: its last events, then its end."""
        pending = self._expect_rest()
        self._learns_checklist = True
        changed: set[Change] = set()
        try:
            try:
                fetched = sess.events_here(self._known_id("read the events of"), after=self._cursor())
            except (PurasError, OSError) as exc:
                changed = self._rest_missing(exc)
            else:
                changed = self._rest_fetched(fetched)
        finally:
            self._rest_in(pending, changed)
        self._finish()

    def _rest_in(self, pending: threading.Event, changed: set[Change]) -> None:
        """The fetch of the last events is over (`changed`: what it changed): reads waiting for it go on, and
        views waiting for the rest hear that none was left."""
        with self._mutex:
            self._rest = None
        pending.set()
        if self._events_final and Change.EVENTS not in changed:
            self._notify({Change.EVENTS})

    async def _catch_up(self, sess: Session) -> set[Change]:
        """Fetch and apply the events past the cursor (of an ended job: then they are all here); what changed. On
        failure they stay on the server, and a later read tries again."""
        try:
            job_id = self._known_id("read the events of")
            fetched = await sess.events(job_id, after=self._cursor(), client=self.client)
        except (PurasError, OSError) as exc:
            return self._rest_missing(exc)
        return self._rest_fetched(fetched)

    def _rest_missing(self, error: BaseException) -> set[Change]:
        self._trouble(str(error))  # the log says why its last events are missing
        return {Change.ERROR}

    def _rest_fetched(self, fetched: list[dict]) -> set[Change]:
        if self.last_error:
            self._trouble(None)
        self._events_final = self._events_final or self.status in TERMINAL
        return self._apply(events=fetched)

    def _notify(self, changed: set[Change]) -> None:
        """Tell every observer what changed; a failing view is reported, never fatal to tracking."""
        if changed:
            tell(self._observers, self, changed, f"job {self.id}")

    def _apply(self, job: dict | None = None, events: list[dict] | None = None) -> set[Change]:
        """Merge a fresh job dict and new events into the model; notify observers of what changed."""
        changed: set[Change] = set()
        with self._mutex:
            if job and not self.done():
                if job.get("status") != self.job.get("status"):
                    changed.add(Change.STATUS)
                if job != self.job:
                    changed.add(Change.JOB)
                self.job = dict(job)
                self.id = self.id or job.get("id")
                if not self.skill:
                    self.skill = self._skill_from_job()
            elif job and job != self.job and job.get("status") == self.job.get("status"):
                self.job = dict(job)  # a terminal job's late details (result, cost): same status, more fields
                changed.add(Change.JOB)
            cursor = self._cursor()
            fresh = [e for e in events or () if event_id(e) > cursor]
            if fresh:
                self._events.extend(fresh)
                for event in fresh:
                    changed |= self._run.apply(event)
                if len(self._events) > MAX_EVENTS:
                    del self._events[:-MAX_EVENTS]
                    self._run.forget_before(event_id(self._events[0]))
                changed.add(Change.EVENTS)
        self._notify(changed)
        return changed

    def _trouble(self, message: str | None) -> None:
        self.last_error = message
        self._notify({Change.ERROR})

    def _mark_done(self) -> None:
        self._finished_at = self._finished_at or time.time()
        self._done.set()

    def _finish(self, exception: BaseException | None = None) -> None:
        """Enter the terminal state once: tell observers, run done callbacks, then wake waiters (so a cell that
        waited finds every view at the end), and fetch previews."""
        with self._mutex:
            if self._ended_once:
                return
            self._ended_once = True
            if exception is not None and self.exception is None:
                self.exception = exception
            if not self.id and self.job.get("status") == "submitting" and self.exception is not None:
                self.job = {**self.job, "status": _unsent_status(self.exception)}
            if not self.id:  # no job on the server: no events to fetch
                self._events_final = True
            elif self._watch is not None and exception is None:  # the tracker fetched the last events when a
                # failure ended the job or they were asked for, unless it gave up on the server
                asked = self.status != "succeeded" or self._last_asked
                self._events_final = self._events_final or (asked and not self._watch.failures)
            if self.todos is not None or (self._learns_checklist and self._events and self.status == "succeeded"):
                _checklists[(self.skill, self.version)] = self.todos is not None
            previews = self._wants_media and self.status == "succeeded" and not self._media_started
            previews = previews and bool(self.find_media())
            self._media_started = self._media_started or previews  # before waiters wake: they wait for previews
            self._mark_done()
            callbacks, self._callbacks = self._callbacks, []
        self._notify({Change.DONE})
        for fn in callbacks:
            self._call_back(fn)
        with self._mutex:
            self._told.set()
            waiters, self._waiters = self._waiters, []
        for loop, fut in waiters:
            # a waiter's loop may close at any moment (an asyncio.run() that ended); nothing waits there then
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_wake, fut)
        if previews:
            rt.spawn(self._fetch_media())

    def _call_back(self, fn: Callable[[LiveJob], Any]) -> None:
        try:
            fn(self)
        except Exception as exc:  # a user callback must not kill the tracker
            print(f"puras-nb: done callback {fn!r} raised {exc!r}", file=sys.stderr)

    def add_done_callback(self, fn: Callable[[LiveJob], Any]) -> None:
        """Call `fn(job)` when the job ends (at once if it already has). It runs on puras-nb's runtime thread:
        keep it short, and do not block there (start a job from a cell instead)."""
        with self._mutex:
            if not self.done():
                self._callbacks.append(fn)
                return
        self._call_back(fn)

    # -- media ----------------------------------------------------------------------------------

    def find_media(self) -> list[Media]:
        """The media items of the result (images, audio, video), found once the job ended (before, the result may
        still come: nothing is kept); a field its skill's output schema declares as media is that media even when
        its value says nothing of its type."""
        if self.media is None:
            found = find_media(self.job.get("result"), self.job.get("outputs"), self.declared_outputs())
            if not self.done():
                return found
            self.media = found
        return self.media

    def _runtime(self) -> Session:
        """The session that follows this job, or the current one for a job not followed yet (not connected for a
        job on the caller's own client: its calls go to that client)."""
        return self._session or session(connect=self.client is None)

    def declared_outputs(self) -> dict[str, str]:
        """`{result field: dialect type}` that the skill's output schema declares (from the catalog already loaded
        on this connection, never a request; {} when unknown)."""
        if self._declared is None:
            self._declared = declared_outputs(self.skill, self._session, client=self.client) if self.skill else {}
        return self._declared

    def text_fields(self) -> list[tuple[str, str]]:
        """`(field, text)` of the result's fields declared `text`, shown as text rather than a JSON string."""
        return text_fields(self.job.get("result"), self.declared_outputs())

    def want_media(self) -> None:
        """A view will show previews: fetch them (in the background) once the job succeeded."""
        self._wants_media = True
        if self.done():
            self._load_media()

    def _load_media(self) -> None:
        with self._mutex:
            if self._media_started or self.status != "succeeded" or not self.find_media():
                return
            self._media_started = True
        rt.spawn(self._fetch_media())

    async def _fetch_media(self) -> None:
        """Fetch previews within the per-job budget (items, total bytes, per-kind cap); the rest stay links. The
        videos' posters come too, and the stills of videos and audio are made (off this loop) for saved views."""
        try:
            media = self.find_media()
            wanted = [m for m in [*media, *posters(media)] if m.url not in self.media_data]
            sess = self._runtime()
            self.media_data.update(await sess.fetch_previews(wanted, self.preview_max_bytes, client=self.client))
            await warm(media, self.media_data)
        finally:
            self._previews.set()
            self._notify({Change.MEDIA})

    def wait_previews(self, timeout: float) -> bool:
        """Block up to `timeout` s for the previews of a finished job; True when there is nothing left to fetch."""
        if not self._media_started:
            return True
        return self._previews.wait(timeout)

    # -- waiting --------------------------------------------------------------------------------

    def _outcome(self) -> Any:
        if self.exception is not None:
            raise self.exception
        if self.status != "succeeded":
            raise JobError(self.job)
        return self.job.get("result")

    async def _wait_done(self) -> None:
        if self._told.is_set():
            return
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        with self._mutex:
            if self._told.is_set():
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
            self.settle()
            return self._outcome()

        return outcome().__await__()

    def wait(self, timeout: float | None = None) -> dict:
        """Block until the job ends or `timeout` seconds pass; return the latest job dict either way."""
        if not self._told.is_set():
            self._block(timeout)
        if self._told.is_set():
            self.wait_previews(PREVIEW_GRACE)
            self.settle()
        return self.job

    def result(self, timeout: float | None = None) -> Any:
        """Block for the result; `JobError` unless it succeeded.

        `TimeoutError` if still running after `timeout` (the job keeps running); Ctrl-C raises
        `JobInterrupted`, cancelling the job first when `cancel_on_interrupt` is set.
        """
        limit = timeout if timeout is not None else self.wait_timeout
        self.wait(limit)
        if not self.done():
            raise TimeoutError(f"job {self.id} still {self.status} after {limit} s (it keeps running)")
        return self._outcome()

    def _block(self, timeout: float | None) -> None:
        self.waiting_in_cell = True
        self._notify({Change.WAITING})
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            # in slices: a lock wait with no timeout is not woken by a simulated Ctrl-C (_thread.interrupt_main)
            while not self._told.wait(SLICE if deadline is None else max(0.0, min(SLICE, deadline - time.monotonic()))):
                if deadline is not None and time.monotonic() >= deadline:
                    break
        except KeyboardInterrupt:
            self._interrupted()
        finally:
            self.waiting_in_cell = False
            self._notify({Change.WAITING})

    def await_held(self) -> None:
        """For a wait that gave up while the server still holds the submission (up to `HOLD` s): wait for its
        answer, which names the job, so that the job can be cancelled or named. Ctrl-C ends it early."""
        if not self.id and self._submitted_event is not None:
            with contextlib.suppress(KeyboardInterrupt):
                self._submitted_event.wait(HOLD + 1.0)

    def _interrupted(self) -> None:
        """Ctrl-C during a blocking wait: cancel (when asked) and raise JobInterrupted naming the job."""
        self.await_held()
        if self.done():
            raise JobInterrupted(self.id or "", cancelled=False) from None
        if not self.id:  # still being submitted: cancel as soon as the server answers
            self._cancel_wanted = self._cancel_wanted or self.cancel_on_interrupt
            what = "it will be cancelled as soon as the server answers" if self.cancel_on_interrupt else (
                "the job may still be created; list it with puras_nb.Client().jobs()")
            raise SubmitInterrupted(self.skill, what) from None
        raise JobInterrupted(self.id, cancelled=self.cancel_on_interrupt and self.try_cancel()) from None

    def settle(self) -> None:
        """From a cell that waited for the job: let views re-send the final state from this cell's context.

        nbclient (ipykernel 7) records only messages tagged with the running cell, so this is what puts the
        end state into a notebook executed headless."""
        if self.done():
            self._notify({Change.SETTLE})

    # -- actions --------------------------------------------------------------------------------

    def _known_id(self, action: str) -> str:
        """The job's id; a PurasError saying to `action` the job later while its submission is unanswered."""
        if not self.id:
            raise PurasError(f"this job has no id yet (its submission has not been answered); {action} it once it has")
        return self.id

    def cancel(self, bridge_timeout: float = CANCEL_WAIT) -> dict:
        """Ask the server to cancel the job; returns the job dict it answered (it may still be stopping).
        `TimeoutError` when the server has not answered within `bridge_timeout` s."""
        if self.done():
            return self.job
        self.cancel_requested = True
        if not self.id:
            self._cancel_wanted = True
            return self.job
        return rt.run_sync(self._cancel(), bridge_timeout)

    def try_cancel(self) -> bool:
        """Cancel for a wait that gave up (Ctrl-C, its timeout): within `STOP_TIMEOUT` s, as `Client` does, and
        never raising, so the wait ends soon with its own error. True when the server took the cancel (a job still
        being submitted is cancelled once the server answers: False)."""
        self.await_held()
        if not self.id:
            self._cancel_wanted = True
            return False
        try:
            self.cancel(STOP_TIMEOUT)
        except (PurasError, OSError, TimeoutError):
            return False
        return True

    async def _cancel(self) -> dict:
        sess = self._runtime()
        job_id = self._known_id("cancel")
        try:
            job = await sess.cancel(job_id, client=self.client)
        except PurasAPIError as exc:
            if exc.status != 409:
                raise
            job = await sess.get(job_id, client=self.client)
        self._apply(job)
        if self._watch is not None:
            sess.check_now(self._watch)
        return self.job

    def request_cancel(self, on_error: Callable[[BaseException], Any] | None = None) -> None:
        """Cancel without blocking (a button click, from any thread); a failure goes to `on_error`.

        While the submission is still on its way, the job is cancelled as soon as the server answers."""
        if self.done():
            return
        self.cancel_requested = True
        if not self.id:
            self._cancel_wanted = True
            return

        async def cancel() -> None:
            try:
                await self._cancel()
            except (PurasError, OSError) as exc:
                if on_error is not None:
                    on_error(exc)

        rt.spawn(cancel())

    def feedback(self, rating: int = 0, comment: str | None = None) -> dict:
        """Record feedback on this job's result (`rating` +1 / -1, or 0 with a comment)."""
        sess = self._runtime()
        job_id = self._known_id("give feedback on")
        return rt.run_sync(sess.feedback(job_id, rating=rating, comment=comment, client=self.client))

    def rerun(
        self, inputs: dict | None = None, /, *, version: int | None = None, display: bool = True, **changes: Any
    ) -> LiveJob:
        """Start this job's skill again with its inputs changed by `changes` (and/or the `inputs` dict, for keys
        that clash with the keywords here), on this job's version unless `version` is given. Shown like `start`."""
        same = version if version is not None else self.version
        return self._resubmit({**self._inputs("rerun"), **(inputs or {}), **changes}, same, display)

    def _inputs(self, action: str) -> dict:
        """The inputs this job ran with (asked of the server when the job dict we hold lacks them)."""
        job_id = self._known_id(action)
        old = self.job.get("inputs")
        if not isinstance(old, dict):  # a job dict without its inputs (a list row, another server's shape)
            sess = self._runtime()
            old = rt.run_sync(sess.get(job_id, client=self.client)).get("inputs")
        if not isinstance(old, dict):
            raise PurasError(f"the server does not say which inputs job {job_id} ran with; start it anew instead")
        return old

    def _resubmit(self, inputs: dict, version: int | None, display: bool) -> LiveJob:
        """This job's skill submitted anew with `inputs` on `version` (None: the active deployment)."""
        # a bare skill name (a server whose jobs name no pack path) is found through the job's own skillpack id
        pack = None if "/" in self.skill else self.job.get("skillpack_id")
        job = LiveJob.submit(self.skill, inputs, skillpack=pack, version=version, client=self.client)
        if display:
            present(job)
        return job

    def replay(self, *, version: int | None = None, display: bool = True) -> LiveJob:
        """Run this job's inputs again as a new job through the API's replay: on the active deployment unless
        `version` pins one (`rerun` keeps this job's version). Shown like `start`. A server with no replay route
        (`puras serve`) gets the same inputs submitted anew, which is what its replay would do."""
        job_id = self._known_id("replay")
        sess = self._runtime()
        try:
            answer = rt.run_sync(sess.replay(job_id, version=version, client=self.client))
        except NotSupported:
            return self._resubmit(dict(self._inputs("replay")), version, display)
        job = LiveJob(answer, skill=self.skill, version=version, client=self.client)
        job._follow(sess)
        if display:
            present(job)
        return job

    def spans(self) -> Spans:
        """The job's trace spans as the latency waterfall `puras spans` prints (run, steps, model calls, tools):
        drawn in a notebook, text elsewhere, and the server's span dicts as a list. `NotSupported` where the server
        has no spans route."""
        sess = self._runtime()
        answer = rt.run_sync(sess.spans(self._known_id("trace"), client=self.client))
        return Spans(answer, job_id=self.id or "", running=not self.done())

    def send_feedback(self, rating: int, on_done: Callable[[BaseException | None], Any]) -> None:
        """Record feedback without blocking (a button click); `on_done(error or None)` says how it went."""
        sess = self._runtime()

        async def send() -> None:
            try:
                await sess.feedback(self._known_id("rate"), rating=rating, client=self.client)
            except Exception as exc:  # told to the view, never raised into the kernel
                on_done(exc)
                return
            on_done(None)

        rt.spawn(send())

    # -- display --------------------------------------------------------------------------------

    @property
    def widget(self) -> Any:
        """The live widget of this job (made on first use by the registered views)."""
        return presenter_widget(self)

    def _ipython_display_(self) -> None:
        """`display(job)` or a job as a cell's value: the live view (a widget with static fallbacks)."""
        present(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return presenter_bundle(self)

    def __repr__(self) -> str:
        return job_text(self)


#: Events that say nothing of the current step unless they carry a message: a model's answer, a tool's result (the
#: step they belong to says it), and the events of states (`states` says them, with what to do).
_NOT_A_STEP = frozenset({"model_response", "tool_result"}) | STATE_EVENTS


def _wake(waiter: asyncio.Future) -> None:
    """Resolve a waiter's future on its own loop, unless it was already (cancelled by a timeout)."""
    if not waiter.done():
        waiter.set_result(None)


def _unsent_status(error: BaseException) -> str:
    """The status of a submission that ended without a job: `rejected` when the server refused it, `not sent` when
    it never reached the server, else `failed` (the answer was lost: its error says a job may exist)."""
    if isinstance(error, PurasAPIError) and not answer_lost(error):
        return "rejected"
    if isinstance(error.__cause__, NEVER_SENT):  # a connection that failed before the request left
        return "not sent"
    return "failed"


def job_text(job: JobView) -> str:
    """text/plain for a job: no ids, timestamps or URLs, and no racy state (nbval compares it).

    A job still in flight reads `in progress` (queued vs running depends on timing); a finished one
    its status plus a short result summary (and a line naming each of its media) or the error. A state beside the
    status (cost capped, an approval, resumed) is a line of its own, with what to do.
    """
    states = "".join(f"\n{plain(state.line)}" for state in job.states)
    if not job.done():
        return plain(f"<LiveJob {job.skill or 'job'} in progress>") + states
    head = plain(f"<LiveJob {job.skill or 'job'} {job.status}>") + states
    if job.status == "succeeded" and job.exception is None:
        lines = [head, f"result: {plain(summarize(job.job.get('result')))}", *map(describe, job.find_media())]
        return "\n".join(lines)
    err = job.error_text
    return f"{head}\nerror: {plain(cut(err, 300))}" if err and err != job.status else head


OPTIONS = ("poll_interval", "preview_max_bytes", "cancel_on_interrupt", "timeout")


def check_options(opts: dict) -> dict:
    """The per-job options, refusing unknown ones with the list of known ones."""
    unknown = set(opts) - set(OPTIONS)
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(OPTIONS))})")
    return opts


def skill_path(skill: str, skillpack: str | None) -> str:
    """`pack/skill` as jobs are named in views and tables: the skill's own pack, else the default one."""
    s = skill.strip().strip("/")
    return s if "/" in s or not skillpack else f"{skillpack}/{s}"
