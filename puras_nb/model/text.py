"""Shared wording rules, written once: an event's message, plain (control-free) text, money, summaries."""

from __future__ import annotations

import json
import math
from typing import Any, TypeGuard

from ..mime import DATA_URL
from ..strings import cut, flat
from .media import find_media

__all__ = [
    "LABEL_MAX", "approval_words", "cost_capped_words", "count", "dollars", "event_message", "event_parts",
    "event_text", "finite", "input_lines", "json_line", "payload_of", "resumed_words", "step_name", "subagent_label",
    "summarize", "word",
]

_JSON_ITEMS = 200
_JSON_DEPTH = 20
#: A step's name (a `tool_use` label), a subagent's label: at most this long, as the worker cuts labels.
LABEL_MAX = 80
#: A tool's name, a status word from a payload: at most this long.
NAME_MAX = 60
#: A tool's input, as one JSON line in a state line or the log.
INPUT_MAX = 80


def payload_of(event: dict) -> dict:
    """An event's payload ({} when it has none, or one that is not an object: events are untrusted)."""
    payload = event.get("payload")
    return payload if isinstance(payload, dict) else {}


def event_message(event: dict) -> str:
    """An event's human text, as the official CLI shows it: `payload.message or text or status` ("" if none); but a
    `subagent_end`'s status is its subagent's, which reads after the subagent's label (`event_parts`), never alone."""
    payload = payload_of(event)
    keys = ("message", "text") if event.get("type") == "subagent_end" else ("message", "text", "status")
    for key in keys:
        if isinstance(text := payload.get(key), str) and text:
            return text
    return ""


def word(payload: dict, key: str, limit: int = NAME_MAX) -> str:
    """A payload's string field as one line cut to `limit` ("" when absent or not a string): payloads are untrusted."""
    value = payload.get(key)
    return flat(value, limit) if isinstance(value, str) else ""


def step_name(payload: dict) -> str:
    """A `tool_use` step's name: its label (what the agent says it does), else the tool's name."""
    return word(payload, "label", LABEL_MAX) or word(payload, "name") or "tool"


def subagent_label(payload: dict) -> str:
    """A `subagent_start`/`_end` event's subagent: its label, else "subagent"."""
    return word(payload, "label", LABEL_MAX) or "subagent"


def _tool_words(kind: str, payload: dict) -> str:
    """The words of the run's own event types, which carry no message: a step's name and tool, a subagent's label
    and end, a result's preview, a model call's step, a cost cap, an approval asked or decided, a resume ("" for
    any other type)."""
    if kind == "tool_use":
        label, name = word(payload, "label", LABEL_MAX), word(payload, "name")
        return f"{label} ({name})" if label and name and label != name else label or name
    if kind == "tool_result":
        preview = word(payload, "preview", 160)
        return (f"failed: {preview}" if preview else "failed") if payload.get("ok") is False else preview
    if kind == "model_response":
        step = payload.get("step")
        return f"step {int(step)}" if finite(step) else ""
    if kind in ("subagent_start", "subagent_end"):
        label = subagent_label(payload)
        return label if kind == "subagent_start" else " ".join(x for x in (label, word(payload, "status")) if x)
    if kind == "cost_capped":
        return cost_capped_words(payload.get("spent_micros"), payload.get("cap_micros"), payload.get("step"))[1]
    if kind in ("approval_required", "confirm_requested"):
        return " ".join(x for x in (word(payload, "tool"), json_line(payload.get("input"), INPUT_MAX)) if x)
    if kind == "approval_decided":
        return ": ".join(x for x in (word(payload, "decision"), word(payload, "reason", 200)) if x)
    if kind == "resumed":
        step = payload.get("from_step")
        return f"from step {step}" if finite(step) else ""
    return ""


def event_parts(event: dict) -> tuple[str, str]:
    """An event as (type, message) for a log line, each word once: a message that only repeats the type
    ("cancelled" for a `cancelled` event) is dropped, and one that starts with it ("error: boom") loses it. The
    run's own events, which carry no message, say what they are about (`_tool_words`): a step by its label."""
    kind = str(event.get("type") or "")
    message = event_message(event).strip() or _tool_words(kind, payload_of(event))
    if kind and message.lower() == kind.lower():
        return kind, ""
    for sep in (":", " "):
        if kind and message.lower().startswith(kind.lower() + sep):
            message = message[len(kind) + 1 :].strip()
            break
    return kind, message


def event_text(event: dict) -> str:
    """`type: message` (or just `type`), the words of `event_parts` (a log line adds the id: fanout's `event_line`)."""
    kind, message = event_parts(event)
    return f"{kind}: {message}" if kind and message else kind or message


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`1 key`, `3 keys`: a number with its noun in the right form."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def finite(value: Any) -> TypeGuard[int | float]:
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
        return cut(value, 60)
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
    return cut(text, limit)


def json_line(value: Any, limit: int = 80) -> str:
    """A value (a job's inputs) as one JSON line cut to `limit` characters ("" for None): line separators and
    other controls in its strings, which JSON keeps, blanked (`flat`)."""
    return flat(json.dumps(value, ensure_ascii=False, default=str), limit) if value is not None else ""


# -- the states a job is in that are not a status (model/events.py finds them): (badge, what happened, what to do) --


def cost_capped_words(spent: Any, cap: Any, step: Any) -> tuple[str, str, str]:
    """A run the worker stopped at its per-run cost limit (`cost_capped`)."""
    where = f", at step {int(step)}" if finite(step) else ""
    if finite(spent) and finite(cap) and cap > 0:
        text = f"cost capped at {dollars(spent)} of the {dollars(cap)} limit{where}"
    else:
        text = f"cost capped: the run reached its cost limit{where}"
    return "cost capped", text, "the run stopped there; raise the per-run cost limit or ask for less, then rerun"


def approval_words(
    tool: str, tool_input: Any, *, confirm: bool, outcome: str, reason: str = ""
) -> tuple[str, str, str]:
    """A tool the skill marked `confirm: true` (`approval_required` on the hosted API, `confirm_requested` on a local
    run): waiting for a person, stopped while waiting, or denied / expired (the run went on without it)."""
    shown = " ".join(x for x in (f"`{tool}`" if tool else "a gated tool", json_line(tool_input, INPUT_MAX)) if x)
    if outcome == "waiting":
        if confirm:
            return ("needs confirmation", f"waiting for confirmation of {shown}",
                    "answer y or n in the terminal running the job (puras serve, puras run --local)")
        return "needs approval", f"waiting for approval of {shown}", "approve or deny it in the Puras dashboard"
    if outcome == "stopped":
        return "not approved", f"stopped while waiting for approval of {shown}", "rerun it, and approve it in time"
    why = f": {reason}" if reason else ""
    return f"approval {outcome}", f"approval of {shown} {outcome}{why}", "the run went on without it"


def resumed_words(from_step: Any, times: int) -> tuple[str, str, str]:
    """A run a worker resumed from its last checkpoint (`resumed`), `times` times."""
    step = f" from step {int(from_step)}" if finite(from_step) else ""
    again = f" ({times} times)" if times > 1 else ""
    return "resumed", f"resumed{step}{again}", "its worker restarted; the steps before it were not run again"


def input_lines(inputs: Any, limit: int = 60) -> list[tuple[str, str]]:
    """A job's inputs as (key, value) lines for people to read: a string as it is, anything else as JSON, each one
    line cut to `limit` characters; a file sent inline (a data URL) as its type and size, not its base64."""
    if not isinstance(inputs, dict):
        return [("", json_line(inputs, limit))] if inputs is not None else []
    lines = []
    for key, value in inputs.items():
        if isinstance(value, str) and (data := DATA_URL.match(value)):
            size = (len(value) - data.end()) * (3 / 4 if data.group(3) else 1)  # about: base64 holds 3 bytes in 4
            shown = f"{data.group(1)} file, {max(1, round(size / 1000))} kB"
        else:
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        lines.append((flat(key, 40), flat(shown, limit)))
    return lines
