"""Shared wording rules, written once: an event's message, plain (control-free) text, money, summaries."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..media import find_media

__all__ = ["dollars", "event_message", "finite", "plain", "short", "summarize"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_JSON_ITEMS = 200
_JSON_DEPTH = 20


def event_message(event: dict) -> str:
    """An event's human text, as the official CLI shows it: `payload.message or text or status` ("" if none)."""
    payload = event.get("payload") if isinstance(event.get("payload"), dict) else {}
    for key in ("message", "text", "status"):
        if isinstance(payload.get(key), str) and payload[key]:
            return payload[key]
    return ""


def plain(value: Any) -> str:
    """Any value as text for a terminal or text/plain: control characters (escape sequences, carriage
    returns, bells, newlines) each become a space, so untrusted text cannot drive the terminal."""
    return _CONTROL.sub(" ", value if isinstance(value, str) else str(value))


def short(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def finite(value: Any) -> bool:
    """A real, finite number (JSON from the API may say NaN or Infinity; a bool is no count)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def dollars(cost_micros: Any) -> str:
    """`$0.0040` from millionths of a dollar ("" when unknown; "free" for a zero cost)."""
    if not finite(cost_micros):
        return ""
    if cost_micros == 0:
        return "free"
    return f"${cost_micros / 1_000_000:.4f}"


def _summary_value(value: Any, depth: int = 0) -> Any:
    if depth > _JSON_DEPTH:
        return "…"
    if isinstance(value, str):
        media = find_media(value)
        if media:
            return f"<{media[0].mime}>"
        return short(value, 60)
    if isinstance(value, dict):
        found = find_media(value)
        if found and found[0].path == "":
            return f"<{found[0].mime}>"
        return {str(k): _summary_value(v, depth + 1) for k, v in list(value.items())[:_JSON_ITEMS]}
    if isinstance(value, (list, tuple)):
        return [_summary_value(v, depth + 1) for v in value[:_JSON_ITEMS]]
    return value


def summarize(result: Any, limit: int = 300) -> str:
    """A short, stable one-line summary of a result: media replaced by their type, long strings cut."""
    text = json.dumps(_summary_value(result), ensure_ascii=False, default=str)
    return short(text, limit)
