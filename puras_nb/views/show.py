"""`puras_nb.show`: a view for any job or result value."""

from __future__ import annotations

from typing import Any

from ..model.job import LiveJob
from .display import widget_for
from .result import ResultView

__all__ = ["show"]


def show(obj: Any, *, max_bytes: int | dict[str, int] | None = None) -> Any:
    """A widget for a LiveJob (its live view), a job dict (its result and outputs), or any result value.

    Media anywhere in the value render inline (fetched in the background by puras-nb's runtime within
    `max_bytes` per item, default a few MB for images, tens of MB for video); the rest as a collapsible
    JSON tree.
    """

    if isinstance(obj, LiveJob):
        return widget_for(obj)
    if isinstance(obj, dict) and "status" in obj and "result" in obj and "id" in obj:
        return ResultView(obj.get("result"), outputs=obj.get("outputs"), max_bytes=max_bytes)
    return ResultView(obj, max_bytes=max_bytes)
