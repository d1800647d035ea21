"""What the widget's own output of a live view carries (every live view is two outputs: the widget, and its
static view beside it; see `puras_nb.views.display`). Below the views that show themselves so, so that
each of them (job, grid, result, table) and the display layer use one rule.
"""

from __future__ import annotations

from typing import Any

__all__ = ["WIDGET_VIEW", "live_bundle", "widget_view"]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def live_bundle(data: dict) -> dict:
    """The widget's output of a two-output display: the widget view, its text/plain, and an empty text/html
    (the static output beside it is the view every frontend without the widget shows)."""
    if WIDGET_VIEW in data:
        data = {**data, "text/html": '<div class="puras-live-fallback"></div>'}
    return data


def widget_view(widget: Any) -> dict:
    """A widget's own entry of a mimebundle (its view), as ipywidgets gives it, without ipywidgets' text/plain:
    that is the widget's repr, which walks every child, and each of our views gives its own text."""
    return {WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}}
