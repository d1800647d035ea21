"""The comparison grid: inputs as rows, versions as columns, each cell a compact live view of one job.

The inputs read as `key: value` lines. The version columns are as wide as their media need: each one's width goes
with the aspect (width / height) of the widest image or video its cells show, read from the previews' headers, so
the media of a row share one height (at most `MEDIA_HEIGHT`) and no cell keeps empty space beside a tall video;
live (the columns change once the media are in) and saved. Each ended job gets Good and Bad, as a job's view has.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..mime import dimensions
from ..model.protocols import Change, GridView, JobView
from ..model.text import count, input_lines
from .html import NO_MATH, STYLE, badge, ending_html, esc, facts, result_html
from .job import MAX_HZ, Rating, Throttle, set_traits
from .outputs import widget_view
from .result import ResultView

__all__ = ["CellView", "ComparisonWidget", "column_weights", "comparison_html", "heading", "inputs_html"]

#: The tallest a grid's media show (the `.puras-grid` rule of `html.STYLE`): a row of results stays scannable.
MEDIA_HEIGHT = 240
#: The widest the input column gets, and the space between two columns of the live grid.
INPUT_WIDTH = 200
GAP = 8
#: The narrowest a sized version column gets: its status line, Good and Bad and an audio player with its duration
#: fit; a vertical video fills it, taller than `MEDIA_HEIGHT` (up to `TALL`, the `.puras-sized` rule of `html.STYLE`).
MIN_COLUMN = 220
TALL = 480
#: A column's weight (its media's width / height) kept within these: a panorama or a sliver takes neither the whole
#: row nor nothing of it.
ASPECT_RANGE = (0.5, 2.5)
#: The weight of a column whose ended cells show no picture (text, sound, an error): a square's.
PLAIN = 1.0


def _aspect(job: JobView) -> float | None:
    """Width / height of the first image or video the job's result shows, from its preview; None when unknown."""
    for media in job.find_media():
        if media.kind in ("image", "video"):
            data = job.media_data.get(media.url)
            size = dimensions(data) if data else None
            return size[0] / size[1] if size else None
    return None


def column_weights(comparison: GridView) -> list[float] | None:
    """Each version column's width in proportion to the aspect of the widest picture its cells show (`PLAIN` for a
    column whose ended cells show none), so that a row's media share one height; None while a column's media are
    not known yet, or when no column shows a picture (the columns are then even, as wide as the page allows)."""
    weights, pictures = [], False
    low, high = ASPECT_RANGE
    for v in comparison.versions:
        jobs = [comparison.job(i, v) for i in range(len(comparison.inputs))]
        known = [a for job in jobs if (a := _aspect(job)) is not None]
        if known:
            pictures = True
            weights.append(min(high, max(low, max(known))))
        elif all(job.done() and not job.media_pending for job in jobs):
            weights.append(PLAIN)
        else:
            return None
    return weights if pictures else None


def column_widths(weights: list[float]) -> list[float]:
    """The width (px) each version column needs for its media at `MEDIA_HEIGHT`, at least `MIN_COLUMN`: the live
    grid shares its width in these proportions, no wider than their sum; the saved table likewise."""
    return [max(MIN_COLUMN, weight * MEDIA_HEIGHT) for weight in weights]


def heading(comparison: GridView) -> str:
    """"2 inputs × 3 versions", "1 input × 2 versions"; the inputs alone where the columns are no versions."""
    shape = count(len(comparison.inputs), "input")
    if comparison.by_version:
        shape += f" × {count(len(comparison.versions), 'version')}"
    return shape


def inputs_html(inputs: Any) -> str:
    """A job's inputs as `key: value` lines (escaped, each cut to one short line)."""
    lines = input_lines(inputs)
    if not lines:
        return '<div class="puras-inputs"><i>no inputs</i></div>'
    shown = "".join(
        f'<div><span class="puras-input-key">{esc(key)}:</span> {esc(value)}</div>' if key
        else f"<div>{esc(value)}</div>"
        for key, value in lines
    )
    return f'<div class="puras-inputs">{shown}</div>'


class CellView(w.VBox):
    """One job in the grid: badge and progress while it runs, then its result (or error)."""

    def __init__(self, job: JobView) -> None:
        self.job = job
        self.line = w.HTML(_dom_classes=("puras-status",))
        self.bar = w.FloatProgress(
            value=0.0, min=0.0, max=1.0, layout=w.Layout(width="100%"), _dom_classes=("puras-progress",)
        )
        self.body = w.VBox(_dom_classes=("puras-result",))
        self.rating: Rating | None = None
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
                shown: w.Widget = ResultView(job.job.get("result"), media=job.find_media(), data=job.media_data,
                                             fetch=False, texts=job.text_fields())
            else:
                shown = w.HTML(STYLE + ending_html(job))
            if job.id and job.status != "cancelled":  # nothing to rate in a cancelled job
                self.rating = Rating(job)
                rate = w.HBox([self.rating.up, self.rating.down, self.rating.note], _dom_classes=("puras-actions",))
                self.body.children = [shown, rate]
            else:
                self.body.children = [shown]


class ComparisonWidget(w.VBox):
    """The live grid of a Comparison; its columns are sized by their media once those are in."""

    def __init__(self, comparison: GridView) -> None:
        self.comparison = comparison
        versions = comparison.versions
        heads = [w.HTML("<b>input</b>")] + [w.HTML(f"<b>{esc(comparison.label(v))}</b>") for v in versions]
        cells: list[w.Widget] = list(heads)
        for i, inputs in enumerate(comparison.inputs):
            cells.append(w.HTML(inputs_html(inputs), _dom_classes=("puras-input",)))
            cells.extend(CellView(comparison.job(i, v)) for v in versions)
        self.grid = w.GridBox(cells, layout=w.Layout(grid_gap=f"{GAP}px"), _dom_classes=("puras-grid",))
        title = w.HTML(f"{STYLE}<b>{esc(comparison.skill)}</b>: {esc(heading(comparison))}")
        super().__init__([title, self.grid], _dom_classes=("puras-comparison",))
        self._sized = False
        self._throttle = Throttle(self._size_columns, 1.0 / MAX_HZ)
        self._unsubscribe: Callable[[], None] | None = comparison.subscribe(lambda _grid, _changed: self._throttle())
        self._size_columns()

    def _size_columns(self) -> None:
        """The input column only as wide as its text needs (up to `INPUT_WIDTH`); the versions share the rest by
        their media (`column_weights`), the grid no wider than the media need at `MEDIA_HEIGHT`; evenly until the
        media are known. Sized for good once they are (then the grid stops listening)."""
        if self._sized:
            return
        weights = column_weights(self.comparison)
        if weights is None:
            columns = f"repeat({len(self.comparison.versions)}, minmax(0, 1fr))"
            set_traits(self.grid.layout, grid_template_columns=f"fit-content({INPUT_WIDTH}px) {columns}")
            return
        widths = column_widths(weights)
        columns = " ".join(f"minmax(0, {width:.0f}fr)" for width in widths)
        set_traits(self.grid.layout, grid_template_columns=f"fit-content({INPUT_WIDTH}px) {columns}",
                   max_width=f"{INPUT_WIDTH + GAP * len(widths) + round(sum(widths))}px")
        self.grid.add_class("puras-sized")  # once: a class already there is not added again
        if self.comparison.done() and not any(
            self.comparison.job(i, v).media_pending for i in range(len(self.comparison.inputs))
            for v in self.comparison.versions
        ):
            self._sized = True
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        data = widget_view(self)
        text = self.comparison.text()
        return {**data, "text/plain": text, "text/html": f"<div class='puras-static'>{esc(text)}</div>"}


_TOP = "vertical-align:top;text-align:left"


def comparison_html(comparison: GridView, *, final: bool = False) -> str:
    """The grid as a static HTML table: each cell its status, duration, cost and result (media embedded).

    Fixed layout, left- and top-aligned, so an export neither right-aligns nor clips it: at the page's width, or,
    once the media are known, the version columns sized by them (`column_weights`) and the table no wider than
    they need. The alignment, the input's wrapping and the widths are inline (`_TOP`, `<col>`), for pages that
    strip our `<style>` (GitHub)."""
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
        given = f'<td class="puras-input" style="{_TOP};overflow-wrap:anywhere">{inputs_html(inputs)}</td>'
        rows.append(f'<tr>{given}{"".join(cells)}</tr>')
    weights = column_weights(comparison)
    if weights is None:
        cols, width, sized = '<col style="width:20%">', "width:100%", ""
    else:  # each cell also has 8 px of padding on either side
        pixels = [INPUT_WIDTH + 16] + [px + 16 for px in column_widths(weights)]
        total = sum(pixels)
        cols = "".join(f'<col style="width:{100 * px / total:.2f}%">' for px in pixels)
        width, sized = f"width:100%;max-width:{round(total)}px", " puras-sized"
    cls = "puras-static puras-final" if final else "puras-static"
    return (
        f'{STYLE}<div class="{cls} {NO_MATH}"><b>{esc(comparison.skill)}</b>: {esc(heading(comparison))}'
        f'<table class="puras-grid{sized}" style="table-layout:fixed;{width}"><colgroup>{cols}</colgroup>'
        f'<tr><th style="{_TOP}">input</th>{head}</tr>{"".join(rows)}</table></div>'
    )
