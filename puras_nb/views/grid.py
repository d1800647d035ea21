"""The comparison grid: inputs as rows, versions as columns, each cell a compact live view of one job."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..model.protocols import Change, GridView, JobView
from ..model.text import json_line
from .html import STYLE, badge, ending_html, esc, facts, result_html
from .job import MAX_HZ, Throttle, set_traits
from .outputs import widget_view
from .result import ResultView

__all__ = ["CellView", "ComparisonWidget", "comparison_html"]


class CellView(w.VBox):
    """One job in the grid: badge and progress while it runs, then its result (or error)."""

    def __init__(self, job: JobView) -> None:
        self.job = job
        self.line = w.HTML(_dom_classes=("puras-status",))
        self.bar = w.FloatProgress(
            value=0.0, min=0.0, max=1.0, layout=w.Layout(width="100%"), _dom_classes=("puras-progress",)
        )
        self.body = w.VBox(_dom_classes=("puras-result",))
        super().__init__([self.line, self.bar, self.body], _dom_classes=("puras-cell",))
        self._throttle = Throttle(self._render, 1.0 / MAX_HZ)
        job.want_media()
        self._unsubscribe = job.subscribe(self._changed)
        self._ended = False
        self._render()

    def _changed(self, job: JobView, changed: frozenset[Change]) -> None:
        if Change.DONE in changed or Change.MEDIA in changed:
            self._render()
            if self._ended:
                self._unsubscribe()
        elif Change.SETTLE not in changed and Change.WAITING not in changed:
            self._throttle()

    def _render(self) -> None:
        job = self.job
        label = job.progress_label if not job.done() else facts(job)
        set_traits(self.line, value=f"{badge(job.status)} <small>{esc(label)}</small>")
        frac = job.progress
        style = {"succeeded": "success", "failed": "danger", "cancelled": ""}.get(job.status, "info")
        set_traits(self.bar, value=frac if frac is not None else (1.0 if job.done() else 0.0), bar_style=style)
        if job.done() and not self._ended and not job.media_pending:
            self._ended = True
            self.bar.layout.display = "none"
            if job.status == "succeeded" and job.exception is None:
                result = ResultView(job.job.get("result"), media=job.find_media(), data=job.media_data, fetch=False,
                                    texts=job.text_fields())
                self.body.children = [result]
            else:
                self.body.children = [w.HTML(STYLE + ending_html(job))]


class ComparisonWidget(w.VBox):
    """The live grid of a Comparison."""

    def __init__(self, comparison: GridView) -> None:
        self.comparison = comparison
        versions = comparison.versions
        heads = [w.HTML("<b>input</b>")] + [w.HTML(f"<b>{esc(comparison.label(v))}</b>") for v in versions]
        cells: list[w.Widget] = list(heads)
        for i, inputs in enumerate(comparison.inputs):
            cells.append(w.HTML(f"<code>{esc(json_line(inputs))}</code>", _dom_classes=("puras-input",)))
            cells.extend(CellView(comparison.job(i, v)) for v in versions)
        # the input column only as wide as its text needs (up to 200 px); the versions share the rest evenly
        columns = f"fit-content(200px) repeat({len(versions)}, minmax(0, 1fr))"
        layout = w.Layout(grid_template_columns=columns, grid_gap="8px")
        grid = w.GridBox(cells, layout=layout, _dom_classes=("puras-grid",))
        shape = f"{len(comparison.inputs)} inputs" + (f" × {len(versions)}" if len(versions) > 1 else "")
        title = w.HTML(f"{STYLE}<b>{esc(comparison.skill)}</b>: {shape}")
        super().__init__([title, grid], _dom_classes=("puras-comparison",))

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        data = widget_view(self)
        text = self.comparison.text()
        return {**data, "text/plain": text, "text/html": f"<div class='puras-static'>{esc(text)}</div>"}


_TOP = "vertical-align:top;text-align:left"


def comparison_html(comparison: GridView, *, final: bool = False) -> str:
    """The grid as a static HTML table: each cell its status, duration, cost and result (media embedded).

    Fixed layout at the page's width, left- and top-aligned, so an export neither right-aligns nor clips it; the
    alignment and the input's wrapping are inline (`_TOP`), for pages that strip our `<style>` (GitHub)."""
    head = "".join(f'<th style="{_TOP}">{esc(comparison.label(v))}</th>' for v in comparison.versions)
    rows = []
    for i, inputs in enumerate(comparison.inputs):
        cells = []
        for v in comparison.versions:
            job = comparison.job(i, v)
            inner = f"{badge(job.status)} <small>{esc(facts(job))}</small>"
            if job.status == "succeeded":
                inner += result_html(job.job.get("result"), media=job.find_media(), data=job.media_data,
                                     texts=job.text_fields())
            elif job.done():
                inner += ending_html(job)
            cells.append(f'<td style="{_TOP}">{inner}</td>')
        given = f'<td class="puras-input" style="{_TOP};overflow-wrap:anywhere"><code>{esc(json_line(inputs))}</code>'
        rows.append(f'<tr>{given}</td>{"".join(cells)}</tr>')
    cls = "puras-static puras-final" if final else "puras-static"
    return (
        f'{STYLE}<div class="{cls}"><b>{esc(comparison.skill)}</b>'
        f'<table class="puras-grid" style="table-layout:fixed;width:100%">'
        f'<tr><th style="width:20%;{_TOP}">input</th>{head}</tr>{"".join(rows)}</table></div>'
    )
