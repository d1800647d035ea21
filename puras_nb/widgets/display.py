"""Showing a LiveJob where it runs: a live widget in a kernel, one updating text line on stderr elsewhere.

In a kernel the job is displayed with a display id, plus its static summary (hidden by CSS wherever the
live widget rendered). When it ends, both are updated to the final text/html and text/plain, so saved
and exported notebooks and frontends without the widget state show the end state.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from .html import plain
from .job import send_all

__all__ = ["JobDisplay", "TerminalLine", "display_job"]

def _parent_id() -> str | None:
    """The msg_id of the request (cell) that current output is attributed to."""
    try:
        from IPython import get_ipython

        kernel = get_ipython().kernel
        return kernel.get_parent().get("header", {}).get("msg_id")
    except Exception:  # no kernel, or an older one without get_parent
        return None


class JobDisplay:
    """The notebook output of a LiveJob (or a Comparison): live widget plus static fallbacks, finalized at the end.

    Two outputs, both with display ids: the live view (widget, text/html, text/plain) and the static
    summary (hidden by CSS wherever the widget renders). Both are brought to the end state by
    `update_display_data`, which frontends route by display id even after the cell finished (a plain
    `display` from a background task would be dropped once its cell is done). Displayed "in progress"
    first, so a re-run that ignores updates (nbval) sees the same outputs as a saved notebook.
    The shown object provides `done()`, `_subscribe(observer)`, `_widget` and `_static_bundle(final)`.
    """

    def __init__(self, job: Any) -> None:
        from IPython.display import display

        self.job = job
        self.shown_in = _parent_id()
        self.settled_in: set[str | None] = set()
        self.handle = display(job._repr_mimebundle_(), raw=True, display_id=True)
        self.slot = display(job._static_bundle(final=True), raw=True, display_id=True)
        job._subscribe(self._changed)
        if job.done():
            self._final()

    def _changed(self, job: Any, changed: frozenset) -> None:
        if "done" in changed:
            self._final()

    def _publish(self) -> None:
        self.handle.update(self.job._repr_mimebundle_(), raw=True)
        self.slot.update(self.job._static_bundle(final=True), raw=True)

    def _final(self) -> None:
        self.settled_in.add(_parent_id())
        finalize = getattr(self.job._widget, "finalize", None)
        if finalize is not None:
            finalize()
        self._publish()

    def settle(self) -> None:
        """From a later cell that waited for the job: re-send widget state and the final views, once per cell.

        nbclient (ipykernel 7) records only messages tagged with the running cell, so this is what puts
        the end state into a notebook executed headless.
        """
        parent = _parent_id()
        if parent in self.settled_in or not self.job.done():
            return
        self.settled_in.add(parent)
        if self.job._widget is not None:
            send_all(self.job._widget)
        self._publish()


class TerminalLine:
    """Progress as one line rewritten in place on a terminal (`\\r`); in a log, only the final line."""

    def __init__(self, job: Any, stream: TextIO | None = None, hz: float = 10.0) -> None:
        self.job = job
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = 1.0 / hz
        self._last = 0.0
        self._width = 0
        self._ended = False
        self._ending = threading.Lock()  # the final line once, whoever sees the end first
        job._subscribe(self._changed)
        if job.done():  # attached after the end (or it ended before we subscribed): print the outcome now
            self._changed(job, frozenset({"done"}))

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
        if job.done() and job.status != "succeeded":
            err = job.job.get("error") or (str(job.exception) if job.exception else "")
            if err:
                parts.append(f"error: {err}")
        elif job.message:
            parts.append(job.message)
        return plain(" ".join(parts))[:200]

    def _changed(self, job: Any, changed: frozenset) -> None:
        done = "done" in changed
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
    """Show `job` (a LiveJob or Comparison) live: a widget with fallbacks in a kernel, else a progress line.

    Once per cell: `puras_nb.start(...)` as a cell's last line displays the job, then IPython displays the
    returned value; the second call is a no-op.
    """
    from ..live import _in_kernel

    if _in_kernel():
        cell = _parent_id()
        if cell is not None and any(shown.shown_in == cell for shown in job._displays):
            return None
        shown = JobDisplay(job)
        job._displays.append(shown)
        return shown
    return TerminalLine(job) if hasattr(job, "progress_label") else None
