"""`JobsTable`: a list of jobs with one combined progress bar (`%puras jobs`, a fan-out over inputs).

The model only: rows, counts, progress, reruns, its text. How it shows (a live widget and a static
HTML table) is the view layer's (`puras_nb.views.table`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..strings import plain
from .group import JobGroup, submit_or_reject
from .job import LiveJob
from .job import jobs as all_jobs
from .text import dollars, summarize

__all__ = ["JobsTable", "job_outcome"]


def job_outcome(job: LiveJob, limit: int = 80) -> str:
    """A row's last column: the result summary, the error, or while it runs what it waits for (an approval) or its
    current step."""
    if job.status == "succeeded":
        return summarize(job.job.get("result"), limit)
    if job.done():
        return job.error_text[:limit]
    waiting = [state.text for state in job.states if state.kind == "approval"]
    return (waiting[0] if waiting else job.message)[:limit]


class JobsTable(JobGroup):
    """A live table of jobs with one combined progress bar; displays as a widget with text and HTML fallbacks.

    `.wait()` blocks until every job ended (other jobs and widgets keep updating meanwhile);
    `.rows()` gives one dict per job for further analysis.
    """

    kind = "table"

    def __init__(
        self,
        jobs: Iterable[LiveJob] | None = None,
        *,
        title: str = "jobs",
        starter: Callable[..., LiveJob] | None = None,
    ) -> None:
        super().__init__()
        self.jobs: list[LiveJob] = _one_per_job(all_jobs()) if jobs is None else list(jobs)
        self.title = title
        #: How `rerun` starts a row again (default: submit, a rejected submission becoming a failed row).
        self.starter = starter or submit_or_reject
        self.launch: dict[int, dict[str, Any]] = {}
        for job in self.jobs:
            self._track(job)

    def members(self) -> list[LiveJob]:
        return self.jobs

    def rows(self) -> list[dict[str, Any]]:
        """One dict per job: skill, version, inputs, status, duration, cost_micros, result, error, id."""
        return [
            {
                "skill": j.skill,
                "version": j.version,
                "inputs": j.job.get("inputs"),
                "status": j.status,
                "duration": j.duration,
                "cost_micros": j.job.get("cost_micros"),
                "result": j.job.get("result"),
                "error": j.job.get("error"),
                "id": j.id,
            }
            for j in self.jobs
        ]

    def rerun(self, index: int, inputs: dict | None = None, **changes: Any) -> LiveJob:
        """Start row `index` again (1-based, as shown), with `inputs` or its old inputs updated by `changes`.

        The new job replaces the row, so the table and its progress bar follow the rerun.
        """
        old = self.jobs[index - 1]
        launch = dict(self.launch.get(index - 1) or {"skill": old.skill, "version": old.version})
        skill = launch.pop("skill")
        new_inputs = {**(inputs if inputs is not None else old.job.get("inputs") or {}), **changes}
        job = self.starter(skill, new_inputs, **launch)
        self.launch[index - 1] = {"skill": skill, **launch}
        self._untrack(old)
        self.jobs[index - 1] = job
        self._track(job)
        self.check_done()
        return job

    def summary(self) -> str:
        """`2/3 done · 1 failed · 1 succeeded · cost $0.0030`."""
        ended = sum(1 for j in self.jobs if j.done())
        parts = [f"{ended}/{len(self.jobs)} done"]
        parts += [f"{n} {status}" for status, n in sorted(self.counts().items())]
        if self.cost_micros:
            parts.append(f"cost {dollars(self.cost_micros)}")
        return " · ".join(parts)

    def text(self) -> str:
        """text/plain: stable (no ids, timestamps or durations), one line per job."""
        lines = [f"<JobsTable {self.title}: {self.summary()}>"]
        for i, job in enumerate(self.jobs, 1):
            version = f" v{job.version}" if job.version is not None else ""
            cost = dollars(job.job.get("cost_micros"))
            lines.append(plain(f"{i:>3}  {job.skill}{version}  {job.status}  {cost}  {job_outcome(job)}").rstrip())
        return "\n".join(lines)


def _one_per_job(jobs: list[LiveJob]) -> list[LiveJob]:
    """One row per job: the first LiveJob of each job id, in order (attaching to a job this kernel already
    follows makes a second LiveJob of the same job, under the same name)."""
    seen: set[str] = set()
    out = []
    for job in jobs:
        if job.id and job.id in seen:
            continue
        if job.id:
            seen.add(job.id)
        out.append(job)
    return out
