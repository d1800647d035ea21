"""A batch's views: a summary (one bar split by outcome, rows per second, ETA, cost) over a paged table.

The live view is a few widgets whatever the size of the batch (never a widget per row): the summary and
one page of the table are HTML re-rendered on a clock (`HZ`) while the batch runs, and only when what they
show changed; a failed row is opened from a list of the failed ones. The static view (saved notebooks,
nbconvert) keeps the summary, the failed rows and the first page, all escaped.
"""

from __future__ import annotations

from typing import Any

from ..model.batch import PREVIEW_ROWS, Batch
from ..model.group import outcome
from ..model.text import dollars, json_line, summarize
from ..runtime import loop as rt
from ..strings import cut
from .html import NO_MATH, STYLE, badge, esc, outcome_bar, thumbnails_html

__all__ = ["LiveBatch", "batch_html"]

PAGE = PREVIEW_ROWS
#: Failed rows the static view lists (the rest: `batch.failed()`).
FAILED_SHOWN = 50
HZ = 2.0


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


def summary_html(batch: Batch) -> str:
    """The head: skill, the outcome bar, counts, rows/s, ETA, cost, the estimate and why sending stopped."""
    counts = batch.outcomes()
    tally = " · ".join(f"{n} {name}" for name, n in counts.items() if n)
    rate = batch.rate()
    facts = [f"{rate:.1f} rows/s" if rate else "", "" if batch.done() else f"ETA {_clock(batch.eta())}",
             f"cost {dollars(batch.cost_micros)}" if batch.cost_micros else "", "" if batch.done() else batch.estimate]
    version = f" v{batch.version}" if batch.version is not None else ""
    stopped = f'<div class="puras-error">{esc(batch.stopped)}</div>' if batch.stopped else ""
    return (
        f"<div><b>{esc(batch.path)}{esc(version)}</b> · {len(batch.jobs)} rows · {esc(tally)}</div>"
        f"{outcome_bar(counts)}"
        f"<div class=\"puras-facts\"><small>{esc(' · '.join(f for f in facts if f))}</small></div>{stopped}"
    )


def _row_html(batch: Batch, i: int) -> str:
    job = batch.jobs[i]
    status = outcome(job) if job is not None else ("not sent" if batch.stopped else "queued")
    if job is not None and job.status == "succeeded":
        shown = thumbnails_html(job.find_media(), job.media_data) + esc(summarize(job.job.get("result"), 120))
    elif job is not None and job.done():
        shown = esc(cut(job.error_text, 200))
    else:
        shown = ""
    cost = dollars(job.job.get("cost_micros")) if job is not None else ""
    return (
        f"<tr><td>{i + 1}</td><td><code>{esc(json_line(batch.inputs[i], 80))}</code></td>"
        f"<td>{badge(status)}</td><td class=\"puras-nowrap\">{cost}</td><td class=\"puras-wrap\">{shown}</td></tr>"
    )


def rows_html(batch: Batch, rows: list[int]) -> str:
    """A table of the given rows (escaped)."""
    head = "".join(f"<th>{h}</th>" for h in ("#", "inputs", "status", "cost", "result or error"))
    body = "".join(_row_html(batch, i) for i in rows)
    return f'<table class="puras-jobs-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def batch_html(batch: Batch, *, final: bool = False) -> str:
    """The static view: summary, the failed rows (up to `FAILED_SHOWN`), then the first page of rows."""
    failed = [r["row"] for r in batch.failed()]
    parts = [summary_html(batch)]
    if failed:
        more = f" (first {FAILED_SHOWN} of {len(failed)})" if len(failed) > FAILED_SHOWN else ""
        parts.append(f"<div><b>failed rows{more}</b></div>{rows_html(batch, failed[:FAILED_SHOWN])}")
    first = list(range(min(PAGE, len(batch.jobs))))
    rest = len(batch.jobs) - len(first)
    parts.append(rows_html(batch, first))
    if rest > 0:
        parts.append(f"<div><small>… {rest} more rows: batch.to_pandas() or batch.rows()</small></div>")
    cls = "puras-static puras-batch puras-final" if final else "puras-static puras-batch"
    return f'{STYLE}<div class="{cls} {NO_MATH}">{"".join(parts)}</div>'


class LiveBatch:
    """The live view of a batch (`.widget`): summary, one page of rows with ◀ ▶, and the failed rows to open."""

    def __init__(self, batch: Batch) -> None:
        import ipywidgets as w

        self.batch = batch
        self.page = 0
        self.summary = w.HTML(STYLE + summary_html(batch))
        self.table = w.HTML()
        self.prev = w.Button(description="◀", layout=w.Layout(width="40px"), tooltip="previous page")
        self.next = w.Button(description="▶", layout=w.Layout(width="40px"), tooltip="next page")
        self.where = w.HTML()
        self.pick = w.Dropdown(options=[("open a failed row…", -1)], value=-1, layout=w.Layout(width="auto"))
        self.detail = w.HTML()
        self.ask = w.HBox()
        if batch.awaiting:  # the estimate passed confirm_over_usd: nothing is sent until someone says so
            go = w.Button(description="Confirm", button_style="warning", tooltip=batch.estimate_line())
            go.on_click(lambda _b: self._confirm())
            self.ask.children = (w.HTML(f"<small>{esc(batch.estimate_line())}</small>"), go)
        self.prev.on_click(lambda _b: self.turn(-1))
        self.next.on_click(lambda _b: self.turn(1))
        self.pick.observe(self._open, names="value")
        pager = w.HBox([self.prev, self.where, self.next, self.pick])
        self.widget = w.VBox([self.summary, self.ask, pager, self.detail, self.table],
                             _dom_classes=("puras-batch-live",))
        self._shown: tuple = ()
        self._failed: tuple = ()
        self._ticking = False
        self.render()
        batch.subscribe(self._changed)
        self._start_clock()

    def _confirm(self) -> None:
        self.ask.children = ()
        self.batch.confirm()
        self._start_clock()

    def pages(self) -> int:
        return max(1, -(-len(self.batch.jobs) // PAGE))

    def turn(self, step: int) -> None:
        """Show the page `step` pages away."""
        self.page = min(max(self.page + step, 0), self.pages() - 1)
        self._shown = ()
        self.render()

    def _open(self, change: dict) -> None:
        i = change["new"]
        job = self.batch.jobs[i] if isinstance(i, int) and 0 <= i < len(self.batch.jobs) else None
        if job is None:
            self.detail.value = ""
            return
        job_id = f" · job {job.id}" if job.id else ""
        self.detail.value = (
            f'{STYLE}<div class="puras-static {NO_MATH}"><b>row {i + 1}</b>{esc(job_id)}<br>'
            f"<code>{esc(json_line(self.batch.inputs[i], 2000))}</code>"
            f'<div class="puras-error">{esc(cut(job.error_text, 5000))}</div></div>'
        )

    def _state(self, rows: range) -> tuple:
        jobs = self.batch.jobs
        return tuple((j.status, j.job.get("cost_micros")) if j is not None else None for j in (jobs[i] for i in rows))

    def render(self) -> None:
        """Re-render what changed: the summary always, the page and the failed list only when they moved."""
        batch = self.batch
        self.summary.value = STYLE + summary_html(batch)
        rows = range(self.page * PAGE, min((self.page + 1) * PAGE, len(batch.jobs)))
        state = (self.page, self._state(rows), batch.stopped)
        if state != self._shown:
            self._shown = state
            self.table.value = STYLE + rows_html(batch, list(rows))
            self.where.value = f"<small>page {self.page + 1} of {self.pages()}</small>"
        failed = tuple(r["row"] for r in batch.failed())
        if failed != self._failed:
            self._failed = failed
            self.pick.options = [("open a failed row…", -1)] + [(f"row {i + 1}", i) for i in failed[:1000]]

    def _start_clock(self) -> None:
        if not self._ticking:
            self._ticking = True
            rt.call_later(1.0 / HZ, self._tick)

    def _tick(self) -> None:
        """The clock: re-render while the batch runs (its jobs are not subscribed to, whatever their number)."""
        if self.batch.done() or self.batch.awaiting:
            self._ticking = False
            return
        self.render()
        rt.call_later(1.0 / HZ, self._tick)

    def _changed(self, batch: Any, changed: frozenset) -> None:
        if "done" in changed or "settle" in changed:
            self.render()
        elif "jobs" in changed:
            self._start_clock()  # sending again (resume, retry_failed)
