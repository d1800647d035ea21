"""JobWidget: the live view of a LiveJob (header, progress, latest message, log, cancel, result, feedback).

It subscribes to the model and re-renders at most `MAX_HZ` times a second, setting only the traits that
changed (traitlets sends nothing for an equal value; `hold_sync` batches the rest into one message per
widget). When the job ends it renders once more and re-sends every model's full state.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from .html import STYLE, badge, esc, events_html

__all__ = ["MAX_HZ", "JobWidget", "Throttle"]

MAX_HZ = 10.0
TICK = 1.0


class Throttle:
    """Call `fn` at most once per `interval` seconds, trailing calls coalesced, on `loop` when it runs.

    Without a running loop (a hand-fed model in a test) every call goes through at once.
    """

    def __init__(self, fn: Callable[[], None], interval: float, loop: asyncio.AbstractEventLoop | None) -> None:
        self.fn = fn
        self.interval = interval
        self.loop = loop
        self._last = 0.0
        self._pending = False
        self._lock = threading.Lock()

    def __call__(self) -> None:
        loop = self.loop
        if loop is None or loop.is_closed() or not loop.is_running():
            self._fire()
            return
        with self._lock:
            if self._pending:
                return
            delay = self._last + self.interval - time.monotonic()
            if delay > 0:
                self._pending = True
        if delay <= 0:
            if _in_thread_of(loop):
                self._fire()
            else:
                loop.call_soon_threadsafe(self._fire)
            return
        if _in_thread_of(loop):
            loop.call_later(delay, self._fire)
        else:
            loop.call_soon_threadsafe(loop.call_later, delay, self._fire)

    def _fire(self) -> None:
        with self._lock:
            self._pending = False
            self._last = time.monotonic()
        self.fn()


def _in_thread_of(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _set(widget: w.Widget, **traits: Any) -> None:
    """Set only the traits whose value differs, in one comm message."""
    changed = {k: v for k, v in traits.items() if getattr(widget, k) != v}
    if changed:
        with widget.hold_sync():
            for k, v in changed.items():
                setattr(widget, k, v)


def _dollars(cost: Any) -> str:
    return f"${cost / 1_000_000:.4f}" if isinstance(cost, (int, float)) and not isinstance(cost, bool) else ""


def _classed(widget: w.Widget, *classes: str) -> w.Widget:
    """Add stable CSS classes (for styling and browser tests) before the widget is ever sent."""
    widget._dom_classes = (*widget._dom_classes, *classes)
    return widget


class JobWidget(w.VBox):
    """The live view of one LiveJob; knows the model only through its attributes and `_subscribe`."""

    def __init__(self, job: Any, *, hz: float = MAX_HZ) -> None:
        self.job = job
        self.sent_final = False
        self.header = _classed(w.HTML(), "puras-header")
        self.status = _classed(w.HTML(), "puras-status")
        bar = w.FloatProgress(value=0.0, min=0.0, max=1.0, layout=w.Layout(width="60%"))
        self.bar = _classed(bar, "puras-progress")
        self.bar_label = _classed(w.HTML(), "puras-progress-label")
        self.message = _classed(w.HTML(), "puras-message")
        self.log_html = _classed(w.HTML(), "puras-log-body")
        self.log_box = _classed(w.Accordion(children=[self.log_html], selected_index=None), "puras-log")
        cancel = w.Button(description="Cancel", icon="stop", button_style="warning")
        self.cancel_button = _classed(cancel, "puras-cancel")
        self.summary = _classed(w.HTML(), "puras-summary")
        self.error = _classed(w.HTML(), "puras-error")
        self.result_box = _classed(w.VBox(), "puras-result")
        thumb = w.Layout(width="48px")
        self.up = _classed(w.Button(description="👍", tooltip="good result", layout=thumb), "puras-feedback-up")
        self.down = _classed(w.Button(description="👎", tooltip="bad result", layout=thumb), "puras-feedback-down")
        self.feedback_note = _classed(w.HTML(), "puras-feedback-note")
        self.feedback_box = _classed(w.HBox([self.up, self.down, self.feedback_note]), "puras-feedback")
        self.feedback_box.layout.display = "none"
        self._rendered_result = False
        self._log_count = -1
        self.cancel_button.on_click(lambda _b: self._on_cancel())
        self.up.on_click(lambda _b: self._on_feedback(1))
        self.down.on_click(lambda _b: self._on_feedback(-1))
        self.log_box.observe(lambda _c: self._render(), names="selected_index")
        super().__init__(
            [
                w.HBox([self.header, self.status]),
                w.HBox([self.bar, self.bar_label]),
                self.message,
                self.summary,
                self.error,
                self.result_box,
                self.feedback_box,
                w.HBox([self.cancel_button]),
                self.log_box,
            ]
        )
        self.add_class("puras-job")
        session = getattr(job, "_session", None)
        self._loop = session.loop if session is not None else None
        self._throttle = Throttle(self._render, 1.0 / hz, self._loop)
        self._unsubscribe = job._subscribe(self._changed)
        self._render()
        self._tick()

    # -- model -> view ------------------------------------------------------------------------

    def _changed(self, job: Any, changed: frozenset) -> None:
        if "done" in changed:
            self._render()
            self.finalize()
        else:
            self._throttle()

    def _tick(self) -> None:
        """While running, refresh the elapsed time once a second (the only change with no event behind it)."""
        if self.job.done() or self._loop is None or self._loop.is_closed():
            return
        self._throttle()
        if _in_thread_of(self._loop):
            self._loop.call_later(TICK, self._tick)
        else:
            self._loop.call_soon_threadsafe(self._loop.call_later, TICK, self._tick)

    def _render(self) -> None:
        job = self.job
        status = job.status
        version = f" · v{esc(job.version)}" if job.version is not None else ""
        _set(
            self.header,
            value=f"{STYLE}<b>{esc(job.skill or 'job')}</b>{version} · <code>{esc(job.short_id)}</code>",
        )
        _set(self.status, value=badge(status))
        self._render_progress()
        message = job.message if not job.done() else ""
        if getattr(job, "last_error", None) and not job.done():
            message = f"connection trouble, retrying: {job.last_error}"
        _set(self.message, value=f"<i>{esc(message[:500])}</i>" if message else "")
        n = len(job.events)
        _set(self.log_box, titles=(f"Log ({n} events)",))
        if self.log_box.selected_index == 0 and n != self._log_count:
            self._log_count = n
            _set(self.log_html, value=events_html(job.events))
        if job.done():
            self._render_end()

    def _render_progress(self) -> None:
        job = self.job
        frac = job.progress
        elapsed = f"{job.elapsed:.1f} s" if not job.done() else ""
        label = " · ".join(x for x in (job.progress_label, elapsed) if x)
        if job.done():
            style = {"succeeded": "success", "failed": "danger", "cancelled": "warning"}.get(job.status, "")
            _set(self.bar, value=1.0 if frac is None else frac, bar_style=style)
            self.bar.remove_class("puras-indeterminate")
        elif frac is None:
            _set(self.bar, value=1.0, bar_style="info")
            self.bar.add_class("puras-indeterminate")
        else:
            _set(self.bar, value=frac, bar_style="")
            self.bar.remove_class("puras-indeterminate")
        _set(self.bar_label, value=esc(label))

    def _render_end(self) -> None:
        job = self.job
        self.cancel_button.layout.display = "none"
        facts = [f"{job.duration:.1f} s" if job.duration is not None else "", _dollars(job.job.get("cost_micros"))]
        _set(self.summary, value=esc(" · ".join(f for f in facts if f)))
        self.feedback_box.layout.display = "flex" if job.id else "none"
        if job.status == "succeeded" and not self._rendered_result:
            self._rendered_result = True
            from .result import ResultView

            data = job._fetch_media()
            self.result_box.children = [ResultView(job.job.get("result"), media=job.media, data=data)]
        elif job.status != "succeeded":
            err = job.job.get("error") or (str(job.exception) if job.exception else "") or job.status
            _set(
                self.error,
                value=f'<div style="color:#b91c1c"><b>{esc(str(err)[:2000])}</b></div>{events_html(job.events, 10)}',
            )

    def finalize(self) -> None:
        """Send every model's full state once the job ended, so saved notebooks keep the end state."""
        if self.sent_final:
            return
        self.sent_final = True
        self._unsubscribe()
        send_all(self)

    # -- view -> model ------------------------------------------------------------------------

    def _on_cancel(self) -> None:
        _set(self.cancel_button, description="Cancelling…", disabled=True)
        self.job._request_cancel()

    def _on_feedback(self, rating: int) -> None:
        job = self.job
        session = getattr(job, "_session", None)
        if session is None or not job.id:
            return

        async def send() -> None:
            try:
                await session.call("feedback", job.id, rating=rating, client=getattr(job, "_client", None))
            except Exception as exc:  # shown to the user, never raised into the kernel
                _set(self.feedback_note, value=f"feedback failed: {esc(exc)}")
                return
            _set(self.up, button_style="success" if rating > 0 else "")
            _set(self.down, button_style="danger" if rating < 0 else "")
            _set(self.feedback_note, value="thanks, feedback recorded")

        session.spawn(send())

    # -- static fallback ----------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        from .html import job_html, job_text

        data = super()._repr_mimebundle_(**kwargs) or {}
        data["text/plain"] = job_text(self.job)
        data["text/html"] = job_html(self.job, data=self.job.media_data)
        return data


def descendants(widget: w.Widget) -> list[w.Widget]:
    """The widget and every widget below it (children of boxes and accordions)."""
    out, stack = [], [widget]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(getattr(current, "children", ()) or ())
    return out


def send_all(widget: w.Widget) -> None:
    """`send_state()` on a widget tree (layouts included), e.g. from the cell that waited for the job."""
    for item in descendants(widget):
        item.send_state()
        layout = getattr(item, "layout", None)
        if isinstance(layout, w.Widget):
            layout.send_state()
