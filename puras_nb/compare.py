"""compare(): run one skill over several inputs and versions at once, as a grid of inputs x versions.

Every cell is a LiveJob started concurrently; the grid fills in as results arrive (status and progress
while running, the result with its media once done). Static text/html and text/plain views keep the
final grid in saved and exported notebooks.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from .errors import PurasError
from .live import LiveJob, _in_kernel, start

__all__ = ["Comparison", "compare"]


class Comparison:
    """A grid of LiveJobs, one per (input, version). `.results()` blocks for all; `.rows()` summarises."""

    def __init__(self, skill: str, inputs_list: Sequence[dict], versions: Sequence[int | None]) -> None:
        self.skill = skill
        self.inputs = list(inputs_list)
        self.versions = list(versions)
        self.jobs: dict[tuple[int, int | None], LiveJob] = {}
        self._observers: list[Callable[[Comparison, frozenset], None]] = []
        self._widget: Any = None
        self._displays: list[Any] = []
        self._lock = threading.Lock()
        self._finished = False

    # -- model --------------------------------------------------------------------------------

    def _add(self, i: int, version: int | None, job: LiveJob) -> None:
        self.jobs[(i, version)] = job
        job.add_done_callback(self._job_done)

    def _job_done(self, _job: LiveJob) -> None:
        with self._lock:
            if self._finished or not self.done():
                return
            self._finished = True
        for observer in list(self._observers):
            observer(self, frozenset({"done"}))

    def _subscribe(self, observer: Callable[[Comparison, frozenset], None]) -> Callable[[], None]:
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
            for shown in self._displays:
                shown.settle()
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

    # -- views --------------------------------------------------------------------------------

    @property
    def widget(self) -> Any:
        """The live grid (created on first use)."""
        if self._widget is None:
            from .widgets.grid import ComparisonWidget

            for job in self.jobs.values():
                job._wants_media = True
            self._widget = ComparisonWidget(self)
        return self._widget

    def _static_bundle(self, final: bool = False) -> dict[str, str]:
        from .widgets.grid import comparison_html

        for job in self.jobs.values():
            if job.done() and job.status == "succeeded":
                job._fetch_media()
        return {"text/plain": self._text(), "text/html": comparison_html(self, final=final)}

    def _text(self) -> str:
        versions = ", ".join(f"v{v}" if v is not None else "active" for v in self.versions)
        head = f"<Comparison {self.skill}: {len(self.inputs)} inputs x {versions}"
        if not self.done():
            return f"{head}; in progress>"
        counts: dict[str, int] = {}
        for job in self.jobs.values():
            counts[job.status] = counts.get(job.status, 0) + 1
        tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        return f"{head}; {tally}>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        """The live grid plus a one-line fallback (in a kernel); the full static table elsewhere."""
        if not _in_kernel():
            return self._static_bundle()
        return self.widget._repr_mimebundle_() or {}

    def _ipython_display_(self) -> None:
        """Displayed: the live grid and its static table, both brought to their end state by display id."""
        from .widgets.display import display_job

        if _in_kernel():
            display_job(self)
        else:
            print(self._text())

    def __repr__(self) -> str:
        return self._text()


def compare(
    skill: str,
    inputs_list: Sequence[dict],
    versions: Sequence[int | None] = (1, 2),
    *,
    skillpack: str | None = None,
    display: bool = True,
    **opts: Any,
) -> Comparison:
    """Start `skill` for every input at every version concurrently; return the Comparison grid at once.

    The grid (inputs as rows, versions as columns) fills in as results arrive. `versions=[None]` uses
    the active deployment. Options are passed to each `start` (e.g. `poll_interval`).
    """
    if not inputs_list:
        raise ValueError("compare() needs at least one input")
    if not versions:
        raise ValueError("compare() needs at least one version")
    comparison = Comparison(skill, inputs_list, versions)
    started: list[LiveJob] = []
    try:
        for i, inputs in enumerate(comparison.inputs):
            for v in comparison.versions:
                started.append(start(skill, inputs, skillpack=skillpack, version=v, display=False, **opts))
                comparison._add(i, v, started[-1])
    except PurasError as exc:
        # One rejected cell (an unknown version, a bad input) fails the whole grid: stop what it started.
        for job in started:
            with contextlib.suppress(PurasError):
                job.cancel()
        if started:
            exc.args = (f"{exc} (compare() cancelled the {len(started)} job(s) it had already started)",)
        raise
    if display:
        from .widgets.display import display_job

        display_job(comparison)
    return comparison
