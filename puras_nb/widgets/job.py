"""JobWidget: the live view of a LiveJob (header, progress, latest message, log, cancel, result, feedback).

It subscribes to the model and re-renders at most `MAX_HZ` (3) times a second, setting only the traits
that changed (traitlets sends nothing for an equal value; `hold_sync` batches the rest into one message
per widget): a render touches at most the head and the bar (and the log while it is open), so a widget
stays under 10 messages a second. A cell that waits for the job re-sends every model's full state
(`send_all`), because nbclient on ipykernel 7 records only messages tagged with the running cell.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from .html import STYLE, badge, esc, events_html, facts

__all__ = ["MAX_HZ", "JobWidget", "Throttle"]

MAX_HZ = 3.0
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
            now = time.monotonic()
            # A pending call lost to an interrupt (Ctrl-C inside the loop) must not freeze the view.
            if self._pending and now - self._last < 2 * self.interval + 1:
                return
            delay = self._last + self.interval - now
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


_MARKS = {"completed": "✓", "in_progress": "▶"}


def _checklist(todos: list[dict]) -> str:
    """The skill's live todo list, one escaped line per item, marked done / in progress / pending."""
    items = "".join(
        f"<li>{_MARKS.get(str(t.get('status')), '○')} {esc(str(t.get('content', ''))[:200])}</li>" for t in todos[:20]
    )
    return f'<ul class="puras-todos" style="list-style:none;margin:2px 0;padding-left:4px">{items}</ul>'


class JobWidget(w.VBox):
    """The live view of one LiveJob; knows the model only through its attributes and `_subscribe`.

    Few models on purpose (a head HTML, the bar, the log, the buttons, the result box), so that a
    notebook with hundreds of jobs opens few comms and each render sends at most a couple of messages.
    The head's parts carry stable CSS classes: `puras-status`, `puras-progress-label`, `puras-message`,
    `puras-summary`, `puras-error`.
    """

    def __init__(self, job: Any, *, hz: float = MAX_HZ) -> None:
        self.job = job
        self.sent_final = False
        self.head = w.HTML(_dom_classes=("puras-header",))
        self.bar = w.FloatProgress(value=0.0, min=0.0, max=1.0, _dom_classes=("puras-progress",))
        self.log_html = w.HTML(_dom_classes=("puras-log-body",))
        self.log_box = w.Accordion(
            children=[self.log_html], selected_index=None, titles=("Log (last 50 events)",), _dom_classes=("puras-log",)
        )
        self.cancel_button = w.Button(
            description="Cancel", icon="stop", button_style="warning", _dom_classes=("puras-cancel",)
        )
        self.actions = w.HBox([self.cancel_button], _dom_classes=("puras-actions",))
        self.result_box = w.VBox(_dom_classes=("puras-result",))
        self.up: w.Button | None = None
        self.down: w.Button | None = None
        self.feedback_note: w.HTML | None = None
        self._rendered_result = False
        self._log_count = -1
        self.cancel_button.on_click(lambda _b: self._on_cancel())
        self.log_box.observe(lambda _c: self._render(), names="selected_index")
        children = [self.head, self.bar, self.result_box, self.actions, self.log_box]
        super().__init__(children, _dom_classes=("puras-job",))
        session = getattr(job, "_session", None)
        self._loop = session.loop if session is not None else None
        self._throttle = Throttle(self._render, 1.0 / hz, self._loop)
        self._unsubscribe = job._subscribe(self._changed)
        _live_views.add(self)
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
        """While running, refresh the elapsed time (the only change with no event behind it).

        Once a second, slower when many jobs are live, so ticks alone stay under ~50 messages a second.
        """
        if self.job.done() or self._loop is None or self._loop.is_closed():
            return
        self._throttle()
        every = max(TICK, len(_live_views) / 50)
        if _in_thread_of(self._loop):
            self._loop.call_later(every, self._tick)
        else:
            self._loop.call_soon_threadsafe(self._loop.call_later, every, self._tick)

    def _head_html(self) -> str:
        job = self.job
        version = f" · v{esc(job.version)}" if job.version is not None else ""
        parts = [
            f"{STYLE}<b>{esc(job.skill or 'job')}</b>{version} · <code>{esc(job.short_id)}</code> ",
            f'<span class="puras-status">{badge(job.status)}</span>',
        ]
        if not job.done():
            label = " · ".join(x for x in (job.progress_label, f"{job.elapsed:.0f} s") if x)
            parts.append(f' <span class="puras-progress-label">{esc(label)}</span>')
            todos = job.todos
            if todos:
                parts.append(_checklist(todos))
            message = job.message
            if getattr(job, "last_error", None):
                message = f"connection trouble, retrying: {job.last_error}"
            if message:
                parts.append(f'<div class="puras-message"><i>{esc(message[:500])}</i></div>')
            return "".join(parts)
        parts.append(f' <span class="puras-summary">{esc(facts(job))}</span>')
        if job.status != "succeeded":
            err = job.job.get("error") or (str(job.exception) if job.exception else "") or job.status
            parts.append(
                f'<div class="puras-error" style="color:#b91c1c"><b>{esc(str(err)[:2000])}</b>'
                f"{events_html(job.events, 10)}</div>"
            )
        return "".join(parts)

    def _render(self) -> None:
        job = self.job
        _set(self.head, value=self._head_html())
        self._render_progress()
        n = len(job.events)
        if self.log_box.selected_index == 0 and n != self._log_count:
            self._log_count = n
            _set(self.log_html, value=events_html(job.events))
        if job.done():
            self._render_end()

    def _render_progress(self) -> None:
        job = self.job
        frac = job.progress
        if job.done():
            style = {"succeeded": "success", "failed": "danger", "cancelled": "warning"}.get(job.status, "")
            _set(self.bar, value=1.0 if frac is None else frac, bar_style=style)
        elif frac is None:
            _set(self.bar, value=1.0, bar_style="info")
        else:
            _set(self.bar, value=frac, bar_style="")

    def _render_end(self) -> None:
        job = self.job
        if self.up is None and job.id:
            thumb = w.Layout(width="48px")
            self.up = w.Button(
                description="👍", tooltip="good result", layout=thumb, _dom_classes=("puras-feedback-up",)
            )
            self.down = w.Button(
                description="👎", tooltip="bad result", layout=thumb, _dom_classes=("puras-feedback-down",)
            )
            self.feedback_note = w.HTML(_dom_classes=("puras-feedback-note",))
            self.up.on_click(lambda _b: self._on_feedback(1))
            self.down.on_click(lambda _b: self._on_feedback(-1))
            self.actions.children = [self.up, self.down, self.feedback_note]
        if job.status == "succeeded" and not self._rendered_result:
            self._rendered_result = True
            from .result import ResultView

            data = job._fetch_media()
            self.result_box.children = [ResultView(job.job.get("result"), media=job.media, data=data)]

    def finalize(self) -> None:
        """Stop following the model once the job ended (every change was already sent as it happened)."""
        if self.sent_final:
            return
        self.sent_final = True
        self._unsubscribe()
        _live_views.discard(self)

    # -- view -> model ------------------------------------------------------------------------

    def _on_cancel(self) -> None:
        _set(self.cancel_button, description="Cancelling…", disabled=True)
        self.job._request_cancel(on_error=self._cancel_failed)

    def _cancel_failed(self, exc: BaseException) -> None:
        """The server refused or could not be reached: say so on the button and let the user retry."""
        _set(self.cancel_button, description="Cancel failed, retry", disabled=False, tooltip=str(exc)[:300])

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
        data["text/html"] = job_html(self.job, compact=True)
        return data


_live_views: weakref.WeakSet[JobWidget] = weakref.WeakSet()


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
