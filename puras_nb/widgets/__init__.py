"""Views of live jobs and results: `JobWidget`, the comparison grid, `ResultView`, `show`, static HTML.

Importing this package registers how LiveJobs and Comparisons display (`display.py`); the ipywidgets
parts load only when a widget is made, so a script never imports ipywidgets.
"""

from __future__ import annotations

from typing import Any

from . import display  # noqa: F401  (registers the presenter)

__all__ = ["JobWidget", "ResultView", "show"]

_LAZY = {"JobWidget": ".job", "ResultView": ".result", "ComparisonWidget": ".grid"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'puras_nb.widgets' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_LAZY[name], __name__), name)


def show(obj: Any, *, max_bytes: int | dict[str, int] | None = None) -> Any:
    """A widget for a LiveJob (its live view), a job dict (its result and outputs), or any result value.

    Media anywhere in the value render inline (fetched in the background by puras-nb's runtime within
    `max_bytes` per item, default a few MB for images, tens of MB for video); the rest as a collapsible
    JSON tree.
    """
    from ..model.job import LiveJob
    from .display import widget_for
    from .result import ResultView

    if isinstance(obj, LiveJob):
        return widget_for(obj)
    if isinstance(obj, dict) and "status" in obj and "result" in obj and "id" in obj:
        return ResultView(obj.get("result"), outputs=obj.get("outputs"), max_bytes=max_bytes)
    return ResultView(obj, max_bytes=max_bytes)
