"""Many jobs at once: this kernel's jobs, a live table with one combined progress bar, and event logs.

`table(jobs)` is the view behind `%puras jobs` and behind a fan-out over inputs: one progress bar for
the whole batch and a row per job (status, its own bar, duration, cost, result or error) that updates as
the jobs do. It shows as two outputs like a job (a live widget, and its static view for saved notebooks,
nbconvert and GitHub; see `puras_nb.views.display`). `follow(job_id)` prints a job's events as they
arrive (`%puras logs`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..model.job import LiveJob
from ..model.job import jobs as all_jobs
from ..model.protocols import Change
from ..model.text import dollars, json_line, summarize
from ..runtime.kernel import in_kernel
from ..strings import plain

__all__ = ["JobsTable"]

_HZ = 4.0


def _outcome(job: LiveJob, limit: int = 80) -> str:
    if job.status == "succeeded":
        return summarize(job.job.get("result"), limit)
    if job.done():
        return job.error_text[:limit]
    return job.message[:limit]


class JobsTable:
    """A live table of jobs with one combined progress bar; displays as a widget with text and HTML fallbacks.

    `.wait()` blocks until every job ended (other jobs and widgets keep updating meanwhile);
    `.rows()` gives one dict per job for further analysis.
    """

    def __init__(
        self,
        jobs: Iterable[LiveJob] | None = None,
        *,
        title: str = "jobs",
        starter: Callable[..., LiveJob] | None = None,
    ) -> None:
        self.jobs: list[LiveJob] = _one_per_job(all_jobs()) if jobs is None else list(jobs)
        self.title = title
        #: How `rerun` starts a row again (`puras_nb.notebook.fanout.start_or_reject`, given by its callers).
        self.starter = starter
        self.launch: dict[int, dict[str, Any]] = {}
        self._handle: Any = None
        self._static: Any = None
        self._widget: Any = None
        self._throttle: Any = None
        self._unsubscribe: list[Any] = []

    # -- model ----------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """How many jobs are in each status."""
        out: dict[str, int] = {}
        for job in self.jobs:
            out[job.status] = out.get(job.status, 0) + 1
        return out

    def progress(self) -> float:
        """Combined progress 0..1: ended jobs count fully, running ones by their own progress."""
        if not self.jobs:
            return 1.0
        total = sum(1.0 if j.done() else (j.progress or 0.0) for j in self.jobs)
        return total / len(self.jobs)

    def done(self) -> bool:
        return all(j.done() for j in self.jobs)

    def wait(self, timeout: float | None = None) -> JobsTable:
        """Block until every job ended (or `timeout` seconds passed in total); returns the table."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        for job in self.jobs:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            job.wait(left)
        self._render()
        if self.done():
            self._publish()
        return self

    def display(self) -> JobsTable:
        """Show the table live now; `wait()` later refreshes its static view to the end state."""
        self._ipython_display_()
        return self

    def _ipython_display_(self) -> None:
        """Two outputs with display ids: the live widget, then the static view a saved notebook keeps."""
        from IPython.display import display

        from .outputs import live_bundle

        if not in_kernel():
            display({"text/plain": self.text(), "text/html": self.html()}, raw=True)
            return
        self._handle = display(live_bundle(self._widget_bundle()), raw=True, display_id=True)
        self._static = display(self._static_bundle(), raw=True, display_id=True)

    def _widget_bundle(self) -> dict:
        return {**(self.widget._repr_mimebundle_() or {}), "text/plain": self.text()}

    def _static_bundle(self) -> dict:
        return {"text/plain": self.text(), "text/html": self.html(final=True)}

    def _publish(self) -> None:
        """Bring both outputs to the current state (frontends route updates by display id, even later)."""
        if self._handle is not None:
            from .outputs import live_bundle

            self._handle.update(live_bundle(self._widget_bundle()), raw=True)
        if self._static is not None:
            self._static.update(self._static_bundle(), raw=True)

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
        if self.starter is None:
            raise TypeError("this table was made without a way to start jobs: build it with puras_nb.notebook.fanout")
        job = self.starter(skill, new_inputs, **launch)
        self.launch[index - 1] = {"skill": skill, **launch}
        self.jobs[index - 1] = job
        if self._widget is not None:
            self._unsubscribe.append(job.subscribe(self._changed))
            self._render()
        return job

    def summary(self) -> str:
        counts = self.counts()
        ended = sum(1 for j in self.jobs if j.done())
        parts = [f"{ended}/{len(self.jobs)} done"]
        parts += [f"{n} {status}" for status, n in sorted(counts.items())]
        cost = sum(c for j in self.jobs if isinstance(c := j.job.get("cost_micros"), (int, float)))
        if cost:
            parts.append(f"cost {dollars(cost)}")
        return " · ".join(parts)

    # -- views ----------------------------------------------------------------------------------

    def text(self) -> str:
        """text/plain: stable (no ids, timestamps or durations), one line per job."""
        lines = [f"<JobsTable {self.title}: {self.summary()}>"]
        for i, job in enumerate(self.jobs, 1):
            version = f" v{job.version}" if job.version is not None else ""
            cost = dollars(job.job.get("cost_micros"))
            lines.append(plain(f"{i:>3}  {job.skill}{version}  {job.status}  {cost}  {_outcome(job)}").rstrip())
        return "\n".join(lines)

    def status(self) -> str:
        """The table's overall state for its bar: failed if any failed, succeeded when all ended well."""
        statuses = {j.status for j in self.jobs}
        if "failed" in statuses:
            return "failed"
        if self.done():
            return "succeeded" if statuses <= {"succeeded"} else "cancelled"
        return "running"

    def html(self, *, final: bool = False) -> str:
        """A static HTML table (escaped): one bar for the batch, then a row per job with its own bar.

        `final`: the static output beside the live widget (hidden where the widget renders)."""
        from .html import STYLE, badge, bar_html, esc

        columns = ("#", "skill", "inputs", "status", "progress", "time", "cost", "outcome")
        head = "".join(f"<th>{h}</th>" for h in columns)
        body = []
        for i, job in enumerate(self.jobs, 1):
            version = f" · v{job.version}" if job.version is not None else ""
            frac = job.progress
            progress = "" if frac is None else bar_html(frac, job.status)
            inputs = esc(json_line(job.job.get("inputs")))
            body.append(
                f'<tr><td>{i}</td><td class="puras-nowrap">{esc(job.skill)}{esc(version)}</td>'
                f"<td><code>{inputs}</code></td><td>{badge(job.status)}</td>"
                f'<td style="width:80px;min-width:60px">{progress}</td>'
                f'<td class="puras-nowrap">{job.elapsed:.1f} s</td>'
                f'<td class="puras-nowrap">{dollars(job.job.get("cost_micros"))}</td>'
                f'<td class="puras-wrap">{esc(_outcome(job, 200))}</td></tr>'
            )
        cls = "puras-static puras-jobs puras-final" if final else "puras-static puras-jobs"
        return (
            f'{STYLE}<div class="{cls}"><div><b>{esc(self.title)}</b> · {esc(self.summary())}</div>'
            f"{bar_html(self.progress(), self.status())}"
            f'<table class="puras-jobs-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
            "</div>"
        )

    @property
    def widget(self) -> Any:
        """The live widget: the table with its one bar, re-rendered at most a few times a second."""
        if self._widget is None:
            import ipywidgets as w

            from .job import Throttle

            self._html = w.HTML(self.html(), _dom_classes=("puras-jobs-live",))
            self._widget = self._html
            self._throttle = Throttle(self._render, 1.0 / _HZ)
            for job in self.jobs:
                self._unsubscribe.append(job.subscribe(self._changed))
        return self._widget

    def _changed(self, job: LiveJob, changed: frozenset[Change]) -> None:
        if changed <= {Change.SETTLE, Change.WAITING}:
            return
        if Change.DONE in changed and self.done():
            self._render()
        elif self._throttle is not None:
            self._throttle()

    def _render(self) -> None:
        if self._widget is None:
            return
        self._html.value = self.html()
        if self.done() and self._unsubscribe:
            for unsubscribe in self._unsubscribe:
                unsubscribe()
            self._unsubscribe.clear()
            self._html.send_state()
            self._publish()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        """One output (where `_ipython_display_` is not used): the widget in a kernel, with both fallbacks."""
        data = dict(self.widget._repr_mimebundle_() or {}) if in_kernel() else {}
        data["text/plain"] = self.text()
        data["text/html"] = self.html()
        return data

    def __repr__(self) -> str:
        return self.text()


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
