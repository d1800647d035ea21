"""Many jobs from a cell: `fan_out` (one skill over many inputs, as one live table), `table`, and `follow`
(a job's events printed as they arrive, `%puras logs`)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from .. import views  # noqa: F401  (registers how jobs and tables are displayed)
from ..api.flows import event_id
from ..errors import JobInterrupted
from ..model.group import submit_or_reject
from ..model.job import LiveJob
from ..model.table import JobsTable
from ..model.text import event_text
from ..runtime.kernel import in_kernel
from ..strings import plain
from .live import attach

__all__ = ["event_line", "fan_out", "follow", "table"]


def table(jobs: Iterable[LiveJob] | None = None, *, title: str = "jobs") -> JobsTable:
    """A live table of `jobs` (default: every job of this kernel) with one combined progress bar."""
    return JobsTable(jobs, title=title)


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
    jobs = [submit_or_reject(skill, dict(inputs), **launch) for inputs in inputs_list]
    batch = JobsTable(jobs, title=title or skill)
    batch.launch = {i: {"skill": skill, **launch} for i in range(len(jobs))}
    return batch.display() if display and in_kernel() else batch


def event_line(event: dict, path: Sequence[str] = ()) -> str:
    """One event as a log line: `[id] type: message` (control characters blanked); an event a subagent emitted
    (`path`: the labels of the subagents it ran in) is indented under it and names the innermost one."""
    nested = f"{'  ' * len(path)}{path[-1]} › " if path else ""
    return plain(f"[{event.get('id')}] {nested}{event_text(event)}")


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
                if event_id(event) > last:
                    print(event_line(event, live.event_path(event)), file=out, flush=True)
                    last = event_id(event)
            if ended:
                break
            news.wait(interval)  # short waits: Ctrl-C gets through
            news.clear()
    except KeyboardInterrupt:
        raise JobInterrupted(live.id or "", cancelled=False) from None
    finally:
        unsubscribe()
    print(f"job {live.id} {live.status}", file=out, flush=True)
    for state in live.states:  # what stopped it or what it waited for, with what to do
        print(plain(f"  {state.line}"), file=out, flush=True)
    return live
