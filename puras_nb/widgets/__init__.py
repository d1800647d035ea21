"""Views of live jobs and results: `JobWidget`, `ResultView`, `show`, and static HTML renderers."""

from __future__ import annotations

import os
from typing import Any

from .job import JobWidget
from .result import ResultView

__all__ = ["JobWidget", "ResultView", "show"]


def show(obj: Any, *, max_bytes: int | dict[str, int] | None = None) -> Any:
    """A widget for a LiveJob (its live view), a job dict (its result and outputs), or any result value.

    Media anywhere in the value render inline (fetched by the kernel within `max_bytes` per item,
    default a few MB for images, tens of MB for video); everything else as a collapsible JSON tree.
    """
    from ..live import LiveJob, settings

    if isinstance(obj, LiveJob):
        return obj.widget
    current = settings()
    caps = max_bytes if max_bytes is not None else current.preview_max_bytes
    # The key goes only to the configured API origin (signed media URLs on it may need it), never elsewhere.
    auth = {
        "api_base": current.api_base or os.environ.get("PURAS_API_BASE"),
        "api_key": current.api_key or os.environ.get("PURAS_API_KEY"),
    }
    if isinstance(obj, dict) and "status" in obj and "result" in obj and "id" in obj:
        return ResultView(obj.get("result"), outputs=obj.get("outputs"), max_bytes=caps, auth=auth)
    return ResultView(obj, max_bytes=caps, auth=auth)
