"""`JobGroup`: many LiveJobs followed as one (the comparison grid, the jobs table, a batch).

One place for what a group of jobs knows: counts by outcome, combined progress, cost, whether all ended,
one wait for all of them within a single deadline, and observers that views subscribe to. One rejection
policy too (`submit_or_reject`): a submission the server refuses becomes a failed row with its message,
so one bad input never stops the others.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

from ..errors import PurasAPIError
from .job import PREVIEW_GRACE, SLICE, LiveJob, present, presenter_bundle, presenter_static, presenter_widget, tell

__all__ = ["OUTCOMES", "JobGroup", "outcome", "rejected_job", "submit_or_reject"]

#: The outcomes a group counts, in the order views show them.
OUTCOMES = ("succeeded", "failed", "cancelled", "running", "queued")

GroupObserver = Callable[[Any, frozenset], None]


def outcome(job: LiveJob) -> str:
    """Which of `OUTCOMES` a job is in: its terminal status, `running`, or `queued` (queued, submitting)."""
    status = job.status
    if status in OUTCOMES:
        return status
    return "failed" if job.done() else "queued"


def rejected_job(skill: str, inputs: dict, error: BaseException, version: int | None = None) -> LiveJob:
    """The failed row of a submission the server rejected: no job exists for it, its error is the server's."""
    rejected = {"status": "failed", "error": f"rejected: {error}", "inputs": inputs, "skill_name": skill}
    return LiveJob(rejected, skill=skill, version=version)


def submit_or_reject(skill: str, inputs: dict, **launch: Any) -> LiveJob:
    """Submit a job; a submission the server rejects (bad inputs, unknown skill or version) becomes a failed
    LiveJob whose error is the server's message (`rejected_job`)."""
    try:
        return LiveJob.submit(skill, inputs, **launch)
    except PurasAPIError as exc:
        return rejected_job(skill, inputs, exc, launch.get("version"))


class JobGroup:
    """LiveJobs followed as one. Subclasses say which jobs belong (`members`) and whether all are there yet
    (`complete`); observers hear `jobs` (a member ended, or changed where the group follows changes), `done`
    (once, when all ended), `media` and `settle` (a cell that waited wants views re-sent from its context)."""

    #: Which view shows the group (the view layer's registration, `puras_nb.views.display`).
    kind: ClassVar[str] = "group"
    #: Subscribe to every member's changes. Off for groups that may be large: a subscribed job has its events
    #: fetched, so their views read the members' state on their own clock instead.
    follows_changes: ClassVar[bool] = False

    def __init__(self) -> None:
        self._observers: list[GroupObserver] = []
        self._lock = threading.Lock()
        self._finished = False
        self._ended = threading.Event()
        self._unsubscribe: dict[int, Callable[[], None]] = {}

    # -- membership -----------------------------------------------------------------------------

    def members(self) -> list[LiveJob]:
        """The group's jobs so far."""
        raise NotImplementedError

    def complete(self) -> bool:
        """True once every job the group will have is in it (a batch still sending rows is not)."""
        return True

    def _track(self, job: LiveJob) -> None:
        """Follow a new member: hear its end (and its changes, where the group follows them)."""
        if self.follows_changes:
            self._unsubscribe[id(job)] = job.subscribe(self._job_changed)
        with self._lock:
            self._finished = False
            self._ended.clear()
        job.add_done_callback(self._job_done)

    def _untrack(self, job: LiveJob) -> None:
        """Stop following a job that left the group (a rerun replaced it)."""
        unsubscribe = self._unsubscribe.pop(id(job), None)
        if unsubscribe is not None:
            unsubscribe()

    def _job_changed(self, _job: LiveJob, changed: frozenset) -> None:
        if changed <= {"settle", "waiting"}:
            return
        if "media" in changed and self.done():
            self._notify({"media"})
        elif "done" not in changed:
            self._notify({"jobs"})

    def _job_done(self, _job: LiveJob) -> None:
        self.check_done()

    def check_done(self) -> None:
        """Tell observers `done` once all members ended (and `jobs` until then)."""
        with self._lock:
            finished = not self._finished and self.done()
            self._finished = self._finished or finished
        if finished:
            self._ended.set()
            self._notify({"done"})
        else:
            self._notify({"jobs"})

    def subscribe(self, observer: GroupObserver) -> Callable[[], None]:
        """Call `observer(group, changed)` after every change (on the runtime thread); returns an unsubscribe."""
        self._observers.append(observer)
        return lambda: self._observers.remove(observer) if observer in self._observers else None

    def _notify(self, changed: set[str]) -> None:
        tell(self._observers, self, changed, type(self).__name__)

    # -- state ----------------------------------------------------------------------------------

    def done(self) -> bool:
        """True once every job of the group ended (read from the jobs, so it holds as soon as `wait` returns)."""
        return self.complete() and all(job.done() for job in self.members())

    def outcomes(self) -> dict[str, int]:
        """How many jobs are in each of `OUTCOMES` (every key present, zeros included)."""
        counts = dict.fromkeys(OUTCOMES, 0)
        for job in self.members():
            counts[outcome(job)] += 1
        return counts

    def counts(self) -> dict[str, int]:
        """How many jobs are in each status (only the statuses present)."""
        out: dict[str, int] = {}
        for job in self.members():
            out[job.status] = out.get(job.status, 0) + 1
        return out

    def progress(self) -> float:
        """Combined progress 0..1: ended jobs count fully, running ones by their own progress."""
        jobs = self.members()
        if not jobs:
            return 1.0
        return sum(1.0 if j.done() else (j.progress or 0.0) for j in jobs) / len(jobs)

    @property
    def cost_micros(self) -> int:
        """What the jobs cost so far, in millionths of a dollar (jobs without a cost count nothing)."""
        return int(sum(c for j in self.members() if isinstance(c := j.job.get("cost_micros"), (int, float))))

    @property
    def cost(self) -> float:
        """What the jobs cost so far, in USD."""
        return self.cost_micros / 1_000_000

    # -- waiting --------------------------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> Any:
        """Block until every job ended or `timeout` seconds passed in all; returns the group.

        One wait for all jobs at once (other jobs and views keep updating meanwhile); Ctrl-C stops waiting,
        the jobs keep running."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self.check_done()
        try:
            while not self.done():
                left = SLICE if deadline is None else min(SLICE, deadline - time.monotonic())
                if left <= 0:
                    break
                self._ended.wait(left)  # in slices: Ctrl-C gets through, and a group still filling is re-read
        except KeyboardInterrupt:
            running = sum(1 for job in self.members() if not job.done())
            raise KeyboardInterrupt(f"interrupted while waiting; {running} jobs keep running (wait() again, "
                                    "or cancel())") from None
        if self.done():
            self.check_done()  # views hear the end before `settle` re-sends them, even if the runtime is slow to tell
            grace = time.monotonic() + PREVIEW_GRACE
            for job in self.members():
                job.wait_previews(max(0.0, grace - time.monotonic()))
            self.settle()
        return self

    def settle(self) -> None:
        """From a cell that waited for the group: let views re-send its final state from this cell."""
        if self.done():
            self._notify({"settle"})

    def want_media(self) -> None:
        """A view is shown: a group whose views show previews fetches them (see `Comparison`); others none."""

    # -- display --------------------------------------------------------------------------------

    def text(self) -> str:
        raise NotImplementedError

    def html(self, *, final: bool = False) -> str:
        """The static HTML view (escaped) from the registered views; `final`: the output beside the live widget."""
        return presenter_static(self, final).get("text/html", "")

    @property
    def widget(self) -> Any:
        """The group's live widget (made on first use by the registered views)."""
        return presenter_widget(self)

    def display(self) -> Any:
        """Show the group live now; `wait()` later brings its static view to the end state."""
        present(self)
        return self

    def _ipython_display_(self) -> None:
        """Displayed: the live view and its static view, both brought to their end state by display id."""
        present(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return presenter_bundle(self)

    def __repr__(self) -> str:
        return self.text()
