"""Shared wording rules, written once: an event's message, plain (control-free) text, money, summaries."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .media import find_media

__all__ = [
    "count", "dollars", "event_line", "event_message", "event_parts", "finite", "plain", "short", "short_json",
    "summarize",
]

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


def event_parts(event: dict) -> tuple[str, str]:
    """An event as (type, message) for a log line, each word once: a message that only repeats the type
    ("cancelled" for a `cancelled` event) is dropped, and one that starts with it ("error: boom") loses it."""
    kind = str(event.get("type") or "")
    message = event_message(event).strip()
    if kind and message.lower() == kind.lower():
        return kind, ""
    for sep in (":", " "):
        if kind and message.lower().startswith(kind.lower() + sep):
            message = message[len(kind) + 1 :].strip()
            break
    return kind, message


def event_line(event: dict) -> str:
    """`type: message` (or just `type`), the words of `event_parts`."""
    kind, message = event_parts(event)
    return f"{kind}: {message}" if kind and message else kind or message


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`1 key`, `3 keys`: a number with its noun in the right form."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def plain(value: Any) -> str:
    """Any value as text for a terminal or text/plain: control characters (escape sequences, carriage
    returns, bells, newlines) each become a space, so untrusted text cannot drive the terminal."""
    return _CONTROL.sub(" ", value if isinstance(value, str) else str(value))


def short(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_json(value: Any, limit: int = 80) -> str:
    """`value` as one line of JSON cut to `limit` characters ("" for None): inputs in tables and grids."""
    return "" if value is None else short(json.dumps(value, ensure_ascii=False, default=str), limit)


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
