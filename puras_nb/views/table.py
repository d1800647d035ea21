"""The jobs table's views: a static HTML table (escaped) and a live widget that re-renders it.

One bar for the whole table, split by outcome, and a row per job (status, its own bar, duration, cost, result or
error). It shows as two outputs like a job (the live widget, and its static view for saved notebooks,
nbconvert and GitHub; see `puras_nb.views.display`). The model is `puras_nb.model.table.JobsTable`.
"""

from __future__ import annotations

from typing import Any

from ..model.table import JobsTable, job_outcome
from ..model.text import dollars, json_line
from .html import NO_MATH, STYLE, badge, bar_html, esc, outcome_bar

__all__ = ["LiveTable", "table_html"]

_HZ = 4.0


def table_html(table: JobsTable, *, final: bool = False) -> str:
    """A static HTML table (escaped): one bar for the table split by outcome (as a batch's), then a row per job
    with its own bar.

    `final`: the static output beside the live widget (hidden where the widget renders)."""
    columns = ("#", "skill", "inputs", "status", "progress", "time", "cost", "outcome")
    head = "".join(f"<th>{h}</th>" for h in columns)
    body = []
    for i, job in enumerate(table.jobs, 1):
        version = f" · v{job.version}" if job.version is not None else ""
        frac = job.progress
        progress = "" if frac is None else bar_html(frac, job.status)
        shown = esc(json_line(job.job.get("inputs")))
        body.append(
            f'<tr><td>{i}</td><td class="puras-nowrap">{esc(job.skill)}{esc(version)}</td>'
            f"<td><code>{shown}</code></td><td>{badge(job.status)}</td>"
            f'<td style="width:80px;min-width:60px">{progress}</td>'
            f'<td class="puras-nowrap">{job.elapsed:.1f} s</td>'
            f'<td class="puras-nowrap">{dollars(job.job.get("cost_micros"))}</td>'
            f'<td class="puras-wrap">{esc(job_outcome(job, 200))}</td></tr>'
        )
    cls = "puras-static puras-jobs puras-final" if final else "puras-static puras-jobs"
    return (
        f'{STYLE}<div class="{cls} {NO_MATH}"><div><b>{esc(table.title)}</b> · {esc(table.summary())}</div>'
        f"{outcome_bar(table.outcomes())}"
        f'<table class="puras-jobs-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
        "</div>"
    )


class LiveTable:
    """The live table: an HTML widget (`.widget`) whose table is re-rendered at most a few times a second
    while the jobs move (ipywidgets loads only here)."""

    def __init__(self, table: JobsTable) -> None:
        import ipywidgets as w

        from .job import Throttle

        self.table = table
        self.widget = w.HTML(table_html(table), _dom_classes=("puras-jobs-live",))
        self._throttle = Throttle(self._render, 1.0 / _HZ)
        self._followed: dict[int, Any] = {}
        self._follow()
        table.subscribe(self._group_changed)

    def _follow(self) -> None:
        """Hear every running row's changes (a rerun puts a new job in a row)."""
        for job in self.table.jobs:
            if id(job) not in self._followed and not job.done():
                self._followed[id(job)] = job.subscribe(self._changed)

    def _changed(self, job: Any, changed: frozenset) -> None:
        if not changed <= {"settle", "waiting"}:
            self._throttle()

    def _group_changed(self, table: Any, changed: frozenset) -> None:
        if "done" in changed:
            self._render()
        elif "jobs" in changed:
            self._follow()
            self._throttle()

    def _render(self) -> None:
        self.widget.value = table_html(self.table)
        if self.table.done() and self._followed:
            for unsubscribe in self._followed.values():
                unsubscribe()
            self._followed.clear()
