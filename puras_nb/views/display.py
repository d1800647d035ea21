"""Showing a LiveJob where it runs: a live widget in a kernel, one updating text line on stderr elsewhere.

In a kernel a live view is two outputs with display ids: the widget, and next to it its static view
(`puras-final`). JupyterLab and Notebook 7 render one MIME type per output, the widget when there is one,
so a fallback inside the widget's own output is never seen there; the separate static output is what
a saved notebook reopened without a kernel, nbconvert HTML and GitHub show. CSS in that static output
hides it wherever the widget rendered live, and hides the widget's output right before it wherever the widget
could not: ipywidgets' "Error displaying widget: model not found", a "Loading widget..." that never loads, or
a widget drawn from the notebook's saved widget state with no kernel behind it (see `html.STYLE`). The
widget's own output therefore carries only an empty text/html: its text would repeat the static view in
nbconvert and on GitHub.
When the job ends, both outputs are updated to the end state.
"""

from __future__ import annotations

import sys
import threading
import time
import weakref
from typing import Any, TextIO

from ..model.presenter import set_presenter
from ..model.protocols import Change, GridView, JobView, Shown
from ..runtime.kernel import in_kernel
from ..runtime.kernel import parent_id as _parent_id
from ..strings import plain
from .outputs import live_bundle

__all__ = ["JobDisplay", "TerminalLine", "bundle", "display_job", "static_bundle", "widget_for"]

_widgets: weakref.WeakKeyDictionary[Shown, Any] = weakref.WeakKeyDictionary()
_displays: weakref.WeakKeyDictionary[Shown, list[JobDisplay]] = weakref.WeakKeyDictionary()


def _kind(obj: Any) -> str:
    """Which view shows `obj`: a group of jobs names its own (`JobGroup.kind`), anything else is one job."""
    return str(getattr(obj, "kind", "job"))


def _at_end(obj: Shown) -> bool:
    """A single job that ended with its previews in (a group of jobs is never taken for one)."""
    return _kind(obj) == "job" and obj.done() and not getattr(obj, "media_pending", True)


def widget_for(obj: Any) -> Any:
    """The live widget of a LiveJob or a group of jobs (one per object, made on first use)."""
    widget = _widgets.get(obj)
    if widget is None:
        kind = _kind(obj)
        if kind == "comparison":
            from .grid import ComparisonWidget

            widget = ComparisonWidget(obj)
        elif kind == "table":
            from .table import LiveTable

            widget = LiveTable(obj).widget
        elif kind == "batch":
            from .batch import LiveBatch

            widget = LiveBatch(obj).widget
        else:
            from .job import JobWidget

            widget = JobWidget(obj)
        _widgets[obj] = widget
    return widget


def static_bundle(obj: Any, final: bool = False) -> dict[str, str]:
    """text/plain and text/html of a job or a group as it is now (media embedded where fetched)."""
    kind = _kind(obj)
    if kind == "comparison":
        from .grid import comparison_html

        return {"text/plain": obj.text(), "text/html": comparison_html(obj, final=final)}
    if kind == "table":
        from .table import table_html

        return {"text/plain": obj.text(), "text/html": table_html(obj, final=final)}
    if kind == "batch":
        from .batch import batch_html

        return {"text/plain": obj.text(), "text/html": batch_html(obj, final=final)}
    if kind == "spans":
        from .spans import spans_html

        return {"text/plain": obj.text(), "text/html": spans_html(obj)}
    from .html import job_html, job_text

    return {"text/plain": job_text(obj), "text/html": job_html(obj, data=obj.media_data, final=final)}


def bundle(obj: Shown) -> dict:
    """The live view (the widget plus a compact fallback) in a kernel; the full static view elsewhere."""
    if not in_kernel():
        return static_bundle(obj)
    data = widget_for(obj)._repr_mimebundle_() or {}
    if _kind(obj) in ("table", "batch"):  # plain widgets: the group's own text and HTML beside them
        data = {**data, **static_bundle(obj)}
    return data


class JobDisplay:
    """The notebook output of a LiveJob (or a Comparison): live widget plus static fallbacks, finalized at the end.

    Two outputs, both with display ids: the live view (widget, text/html, text/plain) and the static
    summary (hidden by CSS wherever the widget renders). Both are brought to the end state by
    `update_display_data`, which frontends route by display id even after the cell finished (a plain
    `display` from a background task would be dropped once its cell is done). Displayed "in progress"
    first, so a re-run that ignores updates (nbval) sees the same outputs as a saved notebook.
    The shown object provides `done()`, `subscribe(observer)` and `want_media()`.
    """

    def __init__(self, job: Shown) -> None:
        from IPython.display import display

        self.job = job
        self.shown_in = _parent_id()
        self.settled_in: set[str | None] = set()
        job.want_media()
        # a job at its end, its widget made here and now: every message of this view is this cell's, so this cell
        # has nothing to re-send when it waits for the job (`settle`)
        if _at_end(job) and job not in _widgets:
            self.settled_in.add(self.shown_in)
        self._lock = threading.Lock()
        self.handle: Any = None
        self._missed = False
        job.subscribe(self._changed)  # before displaying: an end while we display is not lost
        handle = display(live_bundle(bundle(job)), raw=True, display_id=True)
        self.slot = display(static_bundle(job, final=True), raw=True, display_id=True)
        with self._lock:
            self.handle = handle
        if self._missed:
            self._publish()

    def _changed(self, job: Shown, changed: frozenset[Change]) -> None:
        if Change.SETTLE in changed:
            self.settle()
        elif Change.DONE in changed or Change.MEDIA in changed or (Change.EVENTS in changed and job.done()):
            self._publish()  # an ended job's last events, fetched later, go into its saved view too

    def _publish(self) -> None:
        with self._lock:
            if self.handle is None:
                self._missed = True
                return
            self.handle.update(live_bundle(bundle(self.job)), raw=True)
            self.slot.update(static_bundle(self.job, final=True), raw=True)

    def settle(self) -> None:
        """From a later cell that waited for the job: re-send widget state and the final views, once per cell.

        nbclient (ipykernel 7) records only messages tagged with the running cell, so this is what puts
        the end state into a notebook executed headless.
        """
        parent = _parent_id()
        if parent in self.settled_in or not self.job.done():
            return
        self.settled_in.add(parent)
        widget = _widgets.get(self.job)
        if widget is not None:
            from .job import send_all

            send_all(widget)
        self._publish()


class TerminalLine:
    """Progress as one line rewritten in place on a terminal (`\\r`); in a log, only the final line."""

    def __init__(self, job: JobView, stream: TextIO | None = None, hz: float = 10.0) -> None:
        self.job = job
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = 1.0 / hz
        self._last = 0.0
        self._width = 0
        self._ended = False
        self._ending = threading.Lock()  # the final line once, whoever sees the end first
        job.subscribe(self._changed, log=True)  # the final line quotes the last step and message
        if job.done():  # attached after the end (or it ended before we subscribed): print the outcome now
            self._changed(job, frozenset({Change.DONE}))

    def line(self) -> str:
        job = self.job
        parts = [f"[{job.skill or 'job'}]", job.status]
        frac = job.progress
        if frac is not None and not job.done():
            filled = int(frac * 20)
            parts.append("▕" + "█" * filled + " " * (20 - filled) + "▏")
        if job.progress_label:
            parts.append(job.progress_label)
        parts.append(f"{job.elapsed:.1f}s")
        parts += [state.text for state in job.states]
        if job.done() and job.error_text and job.error_text != job.status:
            parts.append(f"error: {job.error_text}")
        elif job.message:
            parts.append(job.message)
        return plain(" ".join(parts))[:200]

    def _changed(self, job: JobView, changed: frozenset[Change]) -> None:
        done = Change.DONE in changed
        now = time.monotonic()
        if not done and (not self.tty or now - self._last < self.interval):
            return
        if done:
            with self._ending:
                if self._ended:
                    return
                self._ended = True
        self._last = now
        text = self.line()
        if self.tty:
            pad = " " * max(0, self._width - len(text))
            self._width = len(text)
            self.stream.write("\r" + text + pad + ("\n" if done else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def display_job(job: Any) -> Any:
    """Show `job` (a LiveJob or a group of jobs) live: a widget with fallbacks in a kernel, else a progress line.

    Once per cell: `puras_nb.start(...)` as a cell's last line displays the job, then IPython displays the
    returned value; the second call is a no-op.
    """
    if in_kernel():
        cell = _parent_id()
        shown_before = _displays.setdefault(job, [])
        if cell is not None and any(shown.shown_in == cell for shown in shown_before):
            return None
        shown = JobDisplay(job)
        shown_before.append(shown)
        return shown
    if not isinstance(job, GridView):
        return TerminalLine(job)
    print(repr(job))
    return None


set_presenter(display=display_job, bundle=bundle, widget=widget_for, static=static_bundle)
