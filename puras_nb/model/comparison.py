"""`Comparison`: a grid of LiveJobs, one per (input, version), that knows when all of them ended."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from .job import PREVIEW_GRACE, LiveJob, present, presenter_bundle

__all__ = ["Comparison"]


class Comparison:
    """A grid of LiveJobs, one per (input, version). `.results()` blocks for all; `.rows()` summarises."""

    def __init__(self, skill: str, inputs_list: Sequence[dict], versions: Sequence[int | None]) -> None:
        self.skill = skill
        self.inputs = list(inputs_list)
        self.versions = list(versions)
        self.jobs: dict[tuple[int, int | None], LiveJob] = {}
        self._observers: list[Callable[[Comparison, frozenset], None]] = []
        self._lock = threading.Lock()
        self._finished = False

    # -- model --------------------------------------------------------------------------------

    def add(self, i: int, version: int | None, job: LiveJob) -> None:
        """Put `job` in the grid at input `i` and `version`."""
        self.jobs[(i, version)] = job
        job.add_done_callback(self._job_done)
        job.subscribe(self._job_changed)

    def _job_changed(self, _job: LiveJob, changed: frozenset) -> None:
        if "media" in changed and self.done():
            for observer in list(self._observers):
                observer(self, frozenset({"media"}))

    def _job_done(self, _job: LiveJob) -> None:
        with self._lock:
            if self._finished or not self.done():
                return
            self._finished = True
        for observer in list(self._observers):
            observer(self, frozenset({"done"}))

    def subscribe(self, observer: Callable[[Comparison, frozenset], None]) -> Callable[[], None]:
        self._observers.append(observer)
        return lambda: self._observers.remove(observer) if observer in self._observers else None

    def done(self) -> bool:
        """True once every job of the grid ended (read from the jobs, so it holds as soon as `wait` returns)."""
        return len(self.jobs) == len(self.inputs) * len(self.versions) and all(j.done() for j in self.jobs.values())

    def job(self, i: int, version: int | None) -> LiveJob:
        """The LiveJob of input number `i` at `version`."""
        return self.jobs[(i, version)]

    def wait(self, timeout: float | None = None) -> Comparison:
        """Block until every job ended or `timeout` seconds passed in all (other LiveJobs keep updating meanwhile)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for job in self.jobs.values():
            job.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if self.done():
            for job in self.jobs.values():
                job.wait_previews(PREVIEW_GRACE)
            self.settle()
        return self

    def results(self, timeout: float | None = None) -> list[list[Any]]:
        """Results as rows (one per input) of columns (one per version); a failed job's cell is its JobError.

        `TimeoutError` if jobs still run after `timeout` seconds in all (they keep running).
        """
        self.wait(timeout)
        running = sum(1 for job in self.jobs.values() if not job.done())
        if running:
            raise TimeoutError(
                f"{running} of {len(self.jobs)} jobs still running after {timeout} s (they keep running)"
            )
        rows = []
        for i in range(len(self.inputs)):
            row = []
            for v in self.versions:
                job = self.jobs[(i, v)]
                try:
                    row.append(job.result(timeout=0))
                except Exception as exc:  # each cell keeps its own outcome
                    row.append(exc)
            rows.append(row)
        return rows

    def rows(self) -> list[dict[str, Any]]:
        """One dict per job: input, version, status, duration (s) and cost (USD), for a summary table."""
        out = []
        for (i, v), job in sorted(self.jobs.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
            cost = job.job.get("cost_micros")
            out.append(
                {
                    "input": self.inputs[i],
                    "version": job.version if v is None else v,
                    "status": job.status,
                    "duration": round(job.duration, 2) if job.duration is not None else None,
                    "cost_usd": cost / 1_000_000 if isinstance(cost, (int, float)) else None,
                }
            )
        return out

    # -- display ------------------------------------------------------------------------------

    def want_media(self) -> None:
        """A view will show the grid's previews: fetch them as each job succeeds."""
        for job in self.jobs.values():
            job.want_media()

    def settle(self) -> None:
        """From a cell that waited for the grid: let views re-send its final state from this cell."""
        if self.done():
            for observer in list(self._observers):
                observer(self, frozenset({"settle"}))

    def text(self) -> str:
        """text/plain: the skill, the shape of the grid and, once done, a tally of outcomes."""
        versions = ", ".join(f"v{v}" if v is not None else "active" for v in self.versions)
        head = f"<Comparison {self.skill}: {len(self.inputs)} inputs x {versions}"
        if not self.done():
            return f"{head}; in progress>"
        counts: dict[str, int] = {}
        for job in self.jobs.values():
            counts[job.status] = counts.get(job.status, 0) + 1
        tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        return f"{head}; {tally}>"

    def _ipython_display_(self) -> None:
        """Displayed: the live grid and its static table, both brought to their end state by display id."""
        present(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return presenter_bundle(self)

    def __repr__(self) -> str:
        return self.text()
