"""JobWidget: the live view of a LiveJob (header, progress, latest message, log, cancel, result, feedback).

It subscribes to the model and re-renders at most `MAX_HZ` (3) times a second, setting only the traits
that changed (traitlets sends nothing for an equal value; `hold_sync` batches the rest into one message
per widget): a render touches at most the head and the bar (and the log while it is open), so a widget
stays under 10 messages a second. A cell that waits for the job re-sends every model's full state
(`send_all`), because nbclient on ipykernel 7 records only messages tagged with the running cell.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..errors import NotSupported
from ..model.protocols import Change, JobView
from ..runtime import loop as rt
from ..runtime.kernel import clicks_reach_blocked_cells, free_clicks, has_subshells
from .html import (
    NEUTRAL,
    STYLE,
    badge,
    details_html,
    ending_html,
    esc,
    facts,
    line_html,
    log_groups_html,
    one_line,
    progress_html,
    states_html,
    step_line,
    title_html,
)
from .outputs import widget_view
from .parts import part

__all__ = ["MAX_HZ", "JobWidget", "Rating", "Throttle", "details_toggle", "send_all", "set_traits"]

MAX_HZ = 3.0
#: The live log shows the last this many events.
LOG_EVENTS = 50
TICK = 1.0
RECHECK = 0.25  # seconds between looks for a comm subshell while a cell blocks on the job


class Throttle:
    """Call `fn` at most once per `interval` seconds, trailing calls coalesced, from any thread.

    The delayed calls run on puras-nb's runtime thread, which keeps running while a cell computes.
    """

    def __init__(self, fn: Callable[[], None], interval: float) -> None:
        self.fn = fn
        self.interval = interval
        self._last = 0.0
        self._pending = False
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            if self._pending:
                return
            delay = self._last + self.interval - time.monotonic()
            if delay > 0:
                self._pending = True
        if delay > 0:
            rt.call_later(delay, self._fire)
        else:
            self._fire()

    def _fire(self) -> None:
        with self._lock:
            self._pending = False
            self._last = time.monotonic()
        self.fn()


def set_traits(widget: w.Widget, **traits: Any) -> None:
    """Set only the traits whose value differs, in one comm message."""
    changed = {k: v for k, v in traits.items() if getattr(widget, k) != v}
    if changed:
        with widget.hold_sync():
            for k, v in changed.items():
                setattr(widget, k, v)


def details_toggle(tooltip: str, css_class: str, on_toggle: Callable[[bool], Any]) -> w.ToggleButton:
    """A "details" toggle, its arrow pointing the way it folds; `on_toggle(opened)` shows or hides what it folds."""
    toggle = part(w.ToggleButton, description="details", icon="angle-down", tooltip=tooltip, layout={"width": "auto"},
                  _dom_classes=(css_class,))

    def toggled(change: dict) -> None:
        opened = bool(change["new"])
        set_traits(toggle, icon="angle-up" if opened else "angle-down")
        on_toggle(opened)

    toggle.observe(toggled, names="value")
    return toggle


class JobWidget(w.VBox):
    """The live view of one LiveJob; knows the model only through its public surface and `subscribe`.

    Few models on purpose (a head HTML, the bar, the log, the buttons, the result box), so that a
    notebook with hundreds of jobs opens few comms and each render sends at most a couple of messages.
    The head's parts carry stable CSS classes: `puras-status`, `puras-progress-label`, `puras-message`,
    `puras-summary`, `puras-error`.
    """

    def __init__(self, job: JobView, *, hz: float = MAX_HZ) -> None:
        self.job = job
        self.sent_final = False
        self.head = part(w.HTML, value=self._head_html(), _dom_classes=("puras-header",))  # opened with its value
        self.log_html = part(w.HTML, _dom_classes=("puras-log-body",))
        # the pieces of the running layout are made when first needed: a job that ended before its view was made
        # as one line never shows them (the bar, the log accordion, the Cancel button, the action and result boxes)
        self._bar: w.FloatProgress | None = None
        self._log_box: w.Accordion | None = None
        self._actions: w.HBox | None = None
        self._result_box: w.VBox | None = None
        self._cancel: w.Button | None = None
        self._stop_note: w.HTML | None = None
        self.up: w.Button | None = None
        self.down: w.Button | None = None
        self.feedback_note: w.HTML | None = None
        #: A finished job's one line folds its log and raw result away: the toggle that shows them, and them.
        self.details_toggle: w.ToggleButton | None = None
        self.details: w.VBox | None = None
        self._rendered_result = False
        self._log_shown: tuple = ()
        #: With subagents in the log, a box of its parts (`_show_log`), and the parts after the first by key.
        self._log_parts: w.VBox | None = None
        self._log_segments: dict[str, w.HTML] = {}
        self._unsubscribe_log: Callable[[], None] | None = None
        if self._ended() and one_line(job):  # made at its end, as one line: that line and what it folds, only
            self._rendered_result = True
            children = self._line(self._rate())
        else:
            children = [self.head, self.bar, self.result_box, self.actions, self.log_box]
        super().__init__(children, _dom_classes=("puras-job",))
        self._throttle = Throttle(self._render, 1.0 / hz)
        job.want_media()
        self._unsubscribe = job.subscribe(self._changed)
        _live_views.add(self)
        self._render()
        self._tick()

    @property
    def bar(self) -> w.FloatProgress:
        """The progress bar (made when first needed)."""
        if self._bar is None:
            self._bar = w.FloatProgress(  # its own layout and style: they change (hidden, a neutral colour)
                value=0.0, min=0.0, max=1.0, layout=w.Layout(width="100%"), _dom_classes=("puras-progress",)
            )
        return self._bar

    @property
    def log_box(self) -> w.Accordion:
        """The running layout's log, folded (made when first needed)."""
        if self._log_box is None:
            self._log_box = w.Accordion(  # its own layout: it is hidden for a job that never ran
                children=[self._log_parts or self.log_html], selected_index=None,
                titles=(f"Log (last {LOG_EVENTS} events)",),
                _dom_classes=("puras-log",),
            )
            self._log_box.observe(lambda change: self._log_toggled(change["new"] is not None), names="selected_index")
        return self._log_box

    @property
    def actions(self) -> w.HBox:
        """The row of Cancel, the stop note or the feedback buttons (made when first needed)."""
        if self._actions is None:
            running = not self._ended()  # a job that ended never shows Cancel
            self._actions = part(
                w.HBox, children=[self.cancel_button] if running else [], _dom_classes=("puras-actions",)
            )
        return self._actions

    @property
    def result_box(self) -> w.VBox:
        """Where the result of a job that does not end as one line shows (made when first needed)."""
        if self._result_box is None:
            self._result_box = part(w.VBox, _dom_classes=("puras-result",))
        return self._result_box

    @property
    def cancel_button(self) -> w.Button:
        """The Cancel button, made when first needed (a job that ended before its view was made never needs it)."""
        if self._cancel is None:
            self._cancel = part(
                w.Button, description="Cancel", icon="stop", button_style="warning", _dom_classes=("puras-cancel",)
            )
            self._cancel.on_click(lambda _b: self._on_cancel())
            free_clicks(self._cancel)  # a click can cancel while a cell blocks on this job (JupyterLab >= 4.4)
        return self._cancel

    @property
    def stop_note(self) -> w.HTML:
        """How to stop the job where a click cannot reach a blocked cell (made when first needed)."""
        if self._stop_note is None:
            self._stop_note = part(w.HTML, _dom_classes=("puras-stop-note",))
        return self._stop_note

    # -- model -> view ------------------------------------------------------------------------

    def _changed(self, job: JobView, changed: frozenset[Change]) -> None:
        if Change.DONE in changed or Change.MEDIA in changed:
            self._render()
            if not job.media_pending:
                self.finalize()
        elif Change.WAITING in changed:
            self._render_actions()
        elif Change.SETTLE not in changed:
            self._throttle()

    def _log_toggled(self, opened: bool) -> None:
        """The log opened: ask the model for every event. A view that stopped following its ended job (`finalize`)
        listens again until the last events are in, so the log fills on its first open."""
        job = self.job
        if opened:
            if self.sent_final and self._unsubscribe_log is None and not job.events_complete:
                self._unsubscribe_log = job.subscribe(self._log_changed)
            job.want_log()
        self._render()

    def _log_open(self) -> bool:
        accordion = self._log_box is not None and self._log_box.selected_index == 0
        return accordion or bool(self.details_toggle is not None and self.details_toggle.value)

    def _log_changed(self, job: JobView, changed: frozenset[Change]) -> None:
        if Change.EVENTS in changed or Change.ERROR in changed:
            self._render_log()
        if job.events_complete and self._unsubscribe_log is not None:
            self._unsubscribe_log()

    def _render_log(self) -> None:
        """The open log: the last 50 events, each subagent's in a group that folds (an error shown above is not
        repeated), and a note while an ended job's last events are still on their way."""
        job = self.job
        if not self._log_open():
            return
        events = job.known_events
        missing = job.done() and not job.events_complete
        shown = (len(events), job.done(), missing, job.last_error if missing else None)
        if shown == self._log_shown:
            return
        self._log_shown = shown
        note = ""
        if missing:
            trouble = job.last_error
            note = f"could not fetch the last events: {trouble}" if trouble else "loading the last events…"
            note = f'<div class="puras-log-note"><i>{esc(note)}</i></div>'
        skip = job.error_text if job.done() else ""
        parts = log_groups_html(job.log_items(LOG_EVENTS), skip=skip)
        parts[0] = (parts[0][0], STYLE + parts[0][1])
        parts[-1] = (parts[-1][0], parts[-1][1] + note)
        self._show_log(parts)

    def _show_log(self, parts: list[tuple[str, str]]) -> None:
        """Put the log's parts in place: one HTML while it has no subagent (the common case, no widget more); with
        subagents, a box of parts in which a part keeps its widget (and what a person opened or folded in it) for
        as long as its HTML stays the same."""
        if len(parts) == 1 and self._log_parts is None:
            set_traits(self.log_html, value=parts[0][1])
            return
        widgets: list[w.HTML] = []
        kept: dict[str, w.HTML] = {}
        for i, (key, html) in enumerate(parts):
            widget = self.log_html if i == 0 else self._log_segments.get(key)
            if widget is None:
                widget = part(w.HTML, _dom_classes=("puras-log-part",))
            if i:
                kept[key] = widget
            set_traits(widget, value=html)
            widgets.append(widget)
        for key, widget in self._log_segments.items():
            if kept.get(key) is not widget:
                widget.close()
        self._log_segments = kept
        if self._log_parts is None:
            self._log_parts = part(w.VBox, children=widgets, _dom_classes=("puras-log-parts",))
            if self._log_box is not None:
                self._log_box.children = [self._log_parts]
            if self.details is not None:
                self.details.children = [self._log_parts if c is self.log_html else c for c in self.details.children]
        elif tuple(widgets) != self._log_parts.children:
            self._log_parts.children = widgets

    def _tick(self) -> None:
        """While running, refresh the elapsed time (the only change with no event behind it).

        Once a second, slower when many jobs are live, so ticks alone stay under ~50 messages a second.
        """
        if self.job.done():
            return
        self._throttle()
        rt.call_later(max(TICK, len(_live_views) / 50), self._tick)

    def _ended(self) -> bool:
        """The job ended and its previews are in: the moment the view switches to its final layout, once."""
        return self.job.done() and not self.job.media_pending

    def _head_html(self) -> str:
        if self._ended() and one_line(self.job):
            return STYLE + line_html(self.job)
        return self._full_head_html()

    def _full_head_html(self) -> str:
        """The header: a title line (skill, version, id, badge, progress), the states beside the status (cost
        capped, an approval, resumed: what happened and what to do), the checklist (or the labelled steps), and one
        line that holds the current step while the job runs and its duration and cost once it ended. The running
        layout stays until the previews are in; the checklist stays too (a record of what the skill did, or
        where it stopped), so the view only grows at the end, once, instead of shrinking, then growing."""
        job = self.job
        parts = [
            f"{STYLE}{title_html(job)}",
            f'<span class="puras-status">{badge(job.status)}</span>',
        ]
        ended = self._ended()
        if not ended:
            label = " · ".join(x for x in (job.progress_label, f"{job.elapsed:.0f} s") if x)
            if job.done():
                label = "loading previews…"
            parts.append(f' <span class="puras-progress-label">{esc(label)}</span>')
        parts.append(states_html(job.states))
        parts.append(progress_html(job))
        if not ended:
            message = step_line(job)
            if job.last_error:
                message = f"connection trouble, retrying: {job.last_error}"
            parts.append(f'<div class="puras-message"><i>{esc(message[:300])}</i></div>')
            return "".join(parts)
        if job.id:  # a submission that made no job has no run time or cost to tell
            parts.append(f'<div class="puras-message"><span class="puras-summary">{esc(facts(job))}</span></div>')
        if job.status != "succeeded" or job.exception is not None:
            parts.append(ending_html(job))
        return "".join(parts)

    def _render(self) -> None:
        job = self.job
        set_traits(self.head, value=self._head_html())
        self._render_progress()
        self._render_log()
        if self._ended():
            self._render_end()
        elif job.done() and self._cancel is not None:  # previews still loading: nothing left to cancel
            set_traits(self._cancel, disabled=True)

    def _render_progress(self) -> None:
        job = self.job
        if self.details is not None:  # one line: no bar
            return
        frac = job.progress
        if job.done() and (not job.id or (job.status == "cancelled" and frac is None)):
            set_traits(self.bar.layout, display="none")  # nothing ran, or how far it got is unknown: no bar
            if not job.id:  # and no events either
                set_traits(self.log_box.layout, display="none")
        elif job.done():  # a cancel is an expected ending: a neutral bar, left where the job stopped
            style = {"succeeded": "success", "failed": "danger"}.get(job.status, "")
            value = (0.0 if job.status == "cancelled" else 1.0) if frac is None else frac
            set_traits(self.bar, value=value, bar_style=style)
            set_traits(self.bar.style, bar_color=NEUTRAL if job.status == "cancelled" else None)
        elif frac is None:
            set_traits(self.bar, value=1.0, bar_style="info")
        else:
            set_traits(self.bar, value=frac, bar_style="")

    def _render_actions(self) -> None:
        """While a cell blocks on the job where a click cannot reach the kernel, say how to stop instead."""
        job = self.job
        if job.done() or self.up is not None:
            return
        if job.waiting_in_cell and not clicks_reach_blocked_cells():
            after = "which cancels the job" if job.cancel_on_interrupt else "the job keeps running"
            set_traits(self.stop_note, value=f"<small>To stop, interrupt the kernel (■ or I,I), {after}.</small>")
            self.actions.children = [self.stop_note]
            if has_subshells():  # JupyterLab starts its comm subshell when it first sees a widget: look again
                rt.call_later(RECHECK, self._render_actions)
        else:
            self.actions.children = [self.cancel_button]

    def _rate(self) -> list[w.Widget]:
        """The feedback buttons and their note, made once (none for a job with nothing to rate)."""
        job = self.job
        if self.up is None and job.id and job.status != "cancelled":  # nothing to rate in a cancelled job
            # on the one line, the buttons are icons (their tooltips say what they do)
            rating = Rating(job, labels=not one_line(job))
            self.up, self.down, self.feedback_note = rating.up, rating.down, rating.note
        return [self.up, self.down, self.feedback_note] if self.up is not None else []

    def _render_end(self) -> None:
        job = self.job
        rate = self._rate()
        if job.status == "succeeded" and not self._rendered_result and not job.media_pending:
            self._rendered_result = True
            if one_line(job):
                self.children = self._line(rate)
                return
            from .result import ResultView

            self.result_box.children = [
                ResultView(job.job.get("result"), media=job.find_media(), data=job.media_data, fetch=False,
                           texts=job.text_fields())
            ]
        if self.details is None:
            set_traits(self.actions, children=tuple(rate))

    def _line(self, rate: list[w.Widget]) -> list[w.Widget]:
        """The end of a job that succeeded with no media: one line (the head, feedback, a toggle), with its raw
        result and log folded below it, as small as a finished tqdm bar. The view's children then."""
        self.details_toggle = details_toggle(
            "the log and the raw result", "puras-details-toggle", self._details_toggled
        )
        raw = part(w.HTML, value=STYLE + details_html(self.job), _dom_classes=("puras-raw-view",))
        # its own layout: it is shown and hidden
        log = self._log_parts or self.log_html
        self.details = w.VBox([raw, log], layout=w.Layout(display="none"), _dom_classes=("puras-details",))
        line = part(w.HBox, children=[self.head, *rate, self.details_toggle], _dom_classes=("puras-line-box",))
        return [line, self.details]

    def _details_toggled(self, opened: bool) -> None:
        if self.details is not None:
            set_traits(self.details.layout, display="" if opened else "none")
        self._log_toggled(opened)

    def finalize(self) -> None:
        """Stop following the model once the job ended and its previews are in."""
        if self.sent_final:
            return
        self.sent_final = True
        self._unsubscribe()
        _live_views.discard(self)

    # -- view -> model ------------------------------------------------------------------------

    def _on_cancel(self) -> None:
        set_traits(self.cancel_button, description="Cancelling…", disabled=True)
        self.job.request_cancel(on_error=self._cancel_failed)

    def _cancel_failed(self, exc: BaseException) -> None:
        """The server refused or could not be reached: say so on the button and let the user retry; a server with
        no cancel route (`puras serve`) gets a button that says so, and nothing to retry."""
        if isinstance(exc, NotSupported):  # as wide as its words (a layout of its own), neutral: nothing to retry
            set_traits(self.cancel_button, description="No cancel on this server", disabled=True, button_style="",
                       tooltip=str(exc), layout=w.Layout(width="auto"))
            return
        set_traits(self.cancel_button, description="Cancel failed, retry", disabled=False, tooltip=str(exc)[:300])

    # -- static fallback ----------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        from .html import job_html, job_text

        data = widget_view(self)
        data["text/plain"] = job_text(self.job)
        data["text/html"] = job_html(self.job, compact=True)
        return data


_live_views: weakref.WeakSet[JobWidget] = weakref.WeakSet()


class Rating:
    """Good and Bad for one ended job, and a note that says how the feedback went: sent through the job's feedback
    path (`send_feedback`, never blocking the kernel); a server with no feedback route (`puras serve`) gets one short
    note and the buttons disabled, as nothing can be retried. `labels` off: icons, their tooltips say which."""

    def __init__(self, job: JobView, *, labels: bool = True) -> None:
        self.job = job
        self.up = part(
            w.Button, description="Good" if labels else "", icon="thumbs-up", tooltip="good result",
            layout={"width": "auto"}, _dom_classes=("puras-feedback-up",),
        )
        self.down = part(
            w.Button, description="Bad" if labels else "", icon="thumbs-down", tooltip="bad result",
            layout={"width": "auto"}, _dom_classes=("puras-feedback-down",),
        )
        self.note = part(w.HTML, _dom_classes=("puras-feedback-note",))
        self.up.on_click(lambda _b: self.send(1))
        self.down.on_click(lambda _b: self.send(-1))

    def send(self, rating: int) -> None:
        """Record `rating` (+1 Good, -1 Bad) as a click does."""
        if not self.job.id:
            return

        def done(error: BaseException | None) -> None:
            if isinstance(error, NotSupported):  # a server that keeps no feedback (`puras serve`): nothing to retry
                set_traits(self.up, disabled=True)
                set_traits(self.down, disabled=True)
                route = esc(f"{error.route} answered {error.status}")  # the note short, for a line or a grid cell
                set_traits(self.note, value=f'<span title="{route}">no feedback on this server</span>')
                return
            if error is not None:
                set_traits(self.note, value=f"feedback failed: {esc(error)}")
                return
            set_traits(self.up, button_style="success" if rating > 0 else "")
            set_traits(self.down, button_style="danger" if rating < 0 else "")
            set_traits(self.note, value="thanks, feedback recorded")

        self.job.send_feedback(rating, done)


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
