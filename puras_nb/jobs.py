"""Many jobs at once: this kernel's jobs, a live table with one combined progress bar, and event logs.

`table(jobs)` is the view behind `%puras jobs` and behind a fan-out over inputs: one progress bar for
the whole batch and a row per job (status, progress, duration, cost, result or error) that updates as
the jobs do. `follow(job_id)` prints a job's events as they arrive (`%puras logs`).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from typing import Any, TextIO

from .errors import JobInterrupted
from .live import LiveJob, attach
from .live import jobs as all_jobs
from .model.text import dollars, event_message, plain, summarize
from .settings import in_kernel

__all__ = ["JobsTable", "fan_out", "follow", "table"]

_HZ = 4.0
# Frontends right-align rendered table cells; a jobs table reads better left-aligned and top-aligned.
_TABLE_STYLE = (
    "<style>.puras-jobs-table td,.puras-jobs-table th,.jp-RenderedHTMLCommon .puras-jobs-table td,"
    ".jp-RenderedHTMLCommon .puras-jobs-table th{text-align:left;vertical-align:top}</style>"
)


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

    def __init__(self, jobs: Iterable[LiveJob] | None = None, *, title: str = "jobs") -> None:
        self.jobs: list[LiveJob] = list(all_jobs() if jobs is None else jobs)
        self.title = title
        self.launch: dict[int, dict[str, Any]] = {}
        self._handle: Any = None
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
        if self._handle is not None and self.done():
            self._handle.update(self)
        return self

    def display(self) -> JobsTable:
        """Show the table live now; `wait()` later refreshes this output's static views to the end state."""
        from IPython.display import display

        self._handle = display(self, display_id=True)
        return self

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
        job = _start_or_reject(skill, new_inputs, **launch)
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

    def html(self) -> str:
        """A static HTML table (escaped), used for saved and exported notebooks."""
        from .widgets.html import STYLE, badge, esc

        head = "".join(
            f"<th>{h}</th>" for h in ("#", "skill", "inputs", "status", "progress", "duration", "cost", "outcome")
        )
        body = []
        for i, job in enumerate(self.jobs, 1):
            version = f" · v{job.version}" if job.version is not None else ""
            frac = job.progress
            progress = "" if frac is None else f"{frac:.0%}"
            duration = f"{job.elapsed:.1f} s"
            inputs = esc(_short_json(job.job.get("inputs")))
            body.append(
                f"<tr><td>{i}</td><td>{esc(job.skill)}{esc(version)}</td><td><code>{inputs}</code></td>"
                f"<td>{badge(job.status)}</td><td>{progress}</td><td>{duration}</td>"
                f"<td>{dollars(job.job.get('cost_micros'))}</td><td>{esc(_outcome(job, 200))}</td></tr>"
            )
        bar = f'<progress max="1" value="{self.progress():.3f}"></progress>'
        return (
            f"{STYLE}{_TABLE_STYLE}"
            f'<div class="puras-static puras-jobs"><div><b>{esc(self.title)}</b> {bar} '
            f"{esc(self.summary())}</div>"
            f'<table class="puras-jobs-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
            "</div>"
        )

    @property
    def widget(self) -> Any:
        """The live widget: a progress bar and the table, re-rendered at most a few times a second."""
        if self._widget is None:
            import ipywidgets as w

            from .widgets.job import Throttle

            self._bar = w.FloatProgress(value=self.progress(), min=0.0, max=1.0, description=self.title)
            self._html = w.HTML(self.html())
            self._widget = w.VBox([self._bar, self._html])
            self._throttle = Throttle(self._render, 1.0 / _HZ)
            for job in self.jobs:
                self._unsubscribe.append(job.subscribe(self._changed))
        return self._widget

    def _changed(self, job: LiveJob, changed: frozenset) -> None:
        if changed <= {"settle", "waiting"}:
            return
        if "done" in changed and self.done():
            self._render()
        elif self._throttle is not None:
            self._throttle()

    def _render(self) -> None:
        if self._widget is None:
            return
        with self._widget.hold_sync():
            self._bar.value = self.progress()
            self._bar.bar_style = "danger" if any(j.status in ("failed", "cancelled") for j in self.jobs) else (
                "success" if self.done() else ""
            )
            self._html.value = self.html()
        if self.done():
            for unsubscribe in self._unsubscribe:
                unsubscribe()
            self._unsubscribe.clear()
            self._bar.send_state()
            self._html.send_state()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        data = dict(self.widget._repr_mimebundle_() or {}) if in_kernel() else {}
        data["text/plain"] = self.text()
        data["text/html"] = self.html()
        return data

    def __repr__(self) -> str:
        return self.text()


def _short_json(value: Any, limit: int = 80) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False, default=str) if value is not None else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def table(jobs: Iterable[LiveJob] | None = None, *, title: str = "jobs") -> JobsTable:
    """A live table of `jobs` (default: every job of this kernel) with one combined progress bar."""
    return JobsTable(jobs, title=title)


def _start_or_reject(skill: str, inputs: dict, **launch: Any) -> LiveJob:
    """Start a job; a submission the server rejects (bad inputs, unknown skill) becomes a failed LiveJob."""
    from .errors import PurasAPIError
    from .live import start

    try:
        return start(skill, inputs, display=False, **launch)
    except PurasAPIError as exc:
        rejected = {"status": "failed", "error": f"rejected: {exc}", "inputs": inputs, "skill_name": skill}
        return LiveJob(rejected, skill=skill, version=launch.get("version"))


def fan_out(
    skill: str,
    inputs_list: Iterable[dict],
    *,
    skillpack: str | None = None,
    version: int | None = None,
    title: str | None = None,
    display: bool = True,
    **opts: Any,
) -> JobsTable:
    """Start `skill` once per inputs, all at once; show and return their live table (one combined progress bar).

    A rejected submission (say a 422 for a bad input) becomes a failed row instead of stopping the batch;
    fix it with `table.rerun(i, ...)`. Options go to each `puras_nb.start` (e.g. `poll_interval`).
    """
    launch = {"skillpack": skillpack, "version": version, **opts}
    jobs = [_start_or_reject(skill, dict(inputs), **launch) for inputs in inputs_list]
    batch = JobsTable(jobs, title=title or skill)
    batch.launch = {i: {"skill": skill, **launch} for i in range(len(jobs))}
    return batch.display() if display and in_kernel() else batch


def event_line(event: dict) -> str:
    """One event as a log line: `[id] type: message` (control characters blanked)."""
    return plain(f"[{event.get('id')}] {event.get('type', '')}: {event_message(event)}").rstrip(": ")


def follow(job: LiveJob | str, *, file: TextIO | None = None, interval: float = 0.25) -> LiveJob:
    """Print a job's events (all so far, then new ones as they arrive) until it ends; returns the LiveJob.

    Interrupting stops following (`JobInterrupted`); a job given by id keeps running.
    """
    live = job if isinstance(job, LiveJob) else attach(job, display=False, cancel_on_interrupt=False)
    out = file or sys.stdout
    news = threading.Event()
    unsubscribe = live.subscribe(lambda _job, changed: news.set(), log=True)  # the runtime fetches every event
    last = 0
    try:
        while True:
            ended = live.done()
            for event in list(live.events):
                if int(event.get("id") or 0) > last:
                    print(event_line(event), file=out, flush=True)
                    last = int(event.get("id") or 0)
            if ended:
                break
            news.wait(interval)  # short waits: Ctrl-C gets through
            news.clear()
    except KeyboardInterrupt:
        raise JobInterrupted(live.id or "", cancelled=False) from None
    finally:
        unsubscribe()
    print(f"job {live.id} {live.status}", file=out, flush=True)
    return live
