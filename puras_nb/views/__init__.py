"""Views of live jobs and results: `JobWidget`, the comparison grid, `ResultView`, `show`, static HTML.

Importing this package registers how LiveJobs and Comparisons display (`display.py`); the ipywidgets
parts load only when a widget is made, so a script never imports ipywidgets.
"""

from __future__ import annotations

from typing import Any

from . import display  # noqa: F401  (registers the presenter)

__all__ = ["ComparisonWidget", "JobWidget", "ResultView", "show"]

_LAZY = {"JobWidget": ".job", "ResultView": ".result", "ComparisonWidget": ".grid", "show": ".show"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'puras_nb.views' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_LAZY[name], __name__), name)
