"""`Comparison`: a grid of LiveJobs, one per (input, version), that knows when all of them ended."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .group import JobGroup
from .job import LiveJob
from .media import describe
from .text import count

__all__ = ["Comparison"]


class Comparison(JobGroup):
    """A grid of LiveJobs, one per (input, version). `.results()` blocks for all; `.rows()` summarises."""

    kind = "comparison"
    follows_changes = True  # a small grid whose cells each show a live job anyway

    def __init__(self, skill: str, inputs_list: Sequence[dict], versions: Sequence[int | None] | None) -> None:
        """`versions` None: the inputs only, on the active deployment (a server that knows no versions), in one
        column that is not labelled as a version."""
        super().__init__()
        self.skill = skill
        self.inputs = list(inputs_list)
        self.by_version = versions is not None
        self.versions: list[int | None] = list(versions) if versions is not None else [None]
        self.jobs: dict[tuple[int, int | None], LiveJob] = {}

    def add(self, i: int, version: int | None, job: LiveJob) -> None:
        """Put `job` in the grid at input `i` and `version`."""
        self.jobs[(i, version)] = job
        self._track(job)

    def members(self) -> list[LiveJob]:
        return list(self.jobs.values())

    def complete(self) -> bool:
        return len(self.jobs) == len(self.inputs) * len(self.versions)

    def want_media(self) -> None:
        """A view will show the grid's previews: fetch them as each job succeeds."""
        for job in self.members():
            job.want_media()

    def job(self, i: int, version: int | None) -> LiveJob:
        """The LiveJob of input number `i` at `version`."""
        return self.jobs[(i, version)]

    def label(self, version: int | None) -> str:
        """The heading of `version`'s column: "v2", "active version", or "result" when only inputs are compared."""
        if not self.by_version:
            return "result"
        return f"v{version}" if version is not None else "active version"

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

    def text(self) -> str:
        """text/plain: the skill, the shape of the grid and, once done, a tally of outcomes and a line naming each
        media item of each succeeded cell (`input 1 · v2 · video: ad.mp4 (video/mp4)`)."""
        head = f"<Comparison {self.skill}: {count(len(self.inputs), 'input')}"
        if self.by_version:
            head += " x " + ", ".join(f"v{v}" if v is not None else "active" for v in self.versions)
        if not self.done():
            return f"{head}; in progress>"
        tally = ", ".join(f"{n} {status}" for status, n in sorted(self.counts().items()))
        lines = [f"{head}; {tally}>"]
        for (i, v), job in sorted(self.jobs.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
            if job.status == "succeeded":
                where = f"input {i + 1}" + (f" · {self.label(v)}" if self.by_version else "")
                lines += [f"{where} · {describe(m)}" for m in job.find_media()]
        return "\n".join(lines)
