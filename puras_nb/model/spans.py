"""A job's trace spans (`GET /v1/jobs/{id}/spans`) as the latency waterfall that `puras spans` prints: run, then
its steps, then each step's model call and tools (and subagents), each with how long it took and where in the run
it fell. Pure: no I/O; views draw it (`kind` "spans").

Spans are untrusted server data: a malformed span is skipped, a parent that is missing (or a loop of parents) makes
a root instead of losing the span, text is made plain and cut, depth and row count are bounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..api.flows import parse_time
from ..strings import cut, plain
from .presenter import presenter_static

__all__ = ["MAX_ROWS", "Row", "Spans"]

#: Rows drawn at most (the rest are counted); indentation stops deepening past `MAX_DEPTH`.
MAX_ROWS = 2_000
MAX_DEPTH = 32
NAME_MAX = 200
#: What `puras spans` says when there are none.
NO_SPANS = "no spans recorded for this job (older job, or it failed early)"


def _text(value: Any, limit: int = NAME_MAX) -> str:
    return cut(plain(value), limit) if value is not None else ""


def _ms(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


@dataclass(frozen=True)
class Row:
    """One span as drawn: its depth in the tree, what it is, how long it took, and where in the run it began."""

    depth: int
    kind: str
    name: str
    #: The tool or model it ran (`attributes.tool` or `.model`), as `puras spans` appends it.
    tag: str
    #: `attributes.ok`: False marks a failed span ("[err]").
    ok: bool | None
    duration_ms: float | None
    #: Milliseconds from the start of the trace: the span's own `start` where the server gives one, else right
    #: after its earlier siblings inside its parent (the agent loop runs its steps, and a step's model call and
    #: tools, one after another).
    start_ms: float

    def line(self) -> str:
        """The row as `puras spans` prints it: `  step      812ms  step 1`, `    tool       40ms  tool:bash bash`."""
        duration = f"{self.duration_ms:.0f}" if self.duration_ms is not None else "?"
        extra = (f" {self.tag}" if self.tag else "") + (" [err]" if self.ok is False else "")
        return f"{'  ' * self.depth}{self.kind:<7} {duration:>7}ms  {self.name}{extra}"


class Spans(list):
    """A job's spans (the server's dicts, in its order) that show as a latency waterfall: text as `puras spans`
    prints it, and a drawn view in a notebook. `rows` is the waterfall, `total_ms` its length."""

    kind = "spans"

    def __init__(self, spans: Any, *, job_id: str = "", running: bool = False) -> None:
        super().__init__(s for s in spans if isinstance(s, dict)) if isinstance(spans, list) else super().__init__()
        self.job_id = job_id
        #: The job had not ended when they were read (a server may record spans only at the end of a run).
        self.running = running
        self.rows, self.more = _layout(list(self))
        self.total_ms = max((r.start_ms + (r.duration_ms or 0.0) for r in self.rows), default=0.0)

    def empty_note(self) -> str:
        """What is said when there are no spans."""
        return "no spans recorded for this job yet (it is still running)" if self.running else NO_SPANS

    def text(self) -> str:
        """The waterfall as `puras spans` prints it (one line per span, indented by depth)."""
        if not self.rows:
            return self.empty_note()
        lines = [r.line() for r in self.rows]
        if self.more:
            lines.append(f"… {self.more} more spans")
        return "\n".join(lines)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return presenter_static(self)

    def __repr__(self) -> str:
        return self.text()


def _key(value: Any) -> str | None:
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def _layout(spans: list[dict]) -> tuple[list[Row], int]:
    """The rows depth-first from each root in the server's order, as `puras spans` walks them; how many are left."""
    ids = {key for s in spans if (key := _key(s.get("span_id"))) is not None}
    children: dict[str, list[dict]] = {}
    roots: list[dict] = []
    for span in spans:
        parent = _key(span.get("parent_span_id"))
        if parent is not None and parent in ids and parent != _key(span.get("span_id")):
            children.setdefault(parent, []).append(span)
        else:
            roots.append(span)
    starts = {id(s): t for s in spans if (t := parse_time(s.get("start"))) is not None}
    origin = min(starts.values(), default=0.0)
    rows: list[Row] = []
    seen: set[int] = set()
    more = 0

    def start_of(span: dict, after: float) -> float:
        known = starts.get(id(span))
        return (known - origin) * 1000 if known is not None else after

    def walk(root: dict, at: float) -> float:
        """Draw `root` and what is under it, starting at `at` ms unless it says when; where its run ended."""
        nonlocal more
        first = start_of(root, at)
        stack: list[tuple[dict, int, float]] = [(root, 0, first)]
        cursors: dict[int, float] = {}
        while stack:
            span, depth, begin = stack.pop()
            if id(span) in seen:
                continue
            seen.add(id(span))
            attributes = span["attributes"] if isinstance(span.get("attributes"), dict) else {}
            duration = _ms(span.get("duration_ms"))
            if len(rows) < MAX_ROWS:
                ok = attributes.get("ok")
                rows.append(Row(
                    depth=min(depth, MAX_DEPTH), kind=_text(span.get("kind"), 16) or "span",
                    name=_text(span.get("name")), tag=_text(attributes.get("tool") or attributes.get("model")),
                    ok=ok if isinstance(ok, bool) else None, duration_ms=duration, start_ms=begin,
                ))
            else:
                more += 1
            cursor = begin
            laid: list[tuple[dict, int, float]] = []
            for child in children.get(_key(span.get("span_id")) or "", []):
                child_begin = start_of(child, cursor)
                cursor = child_begin + (_ms(child.get("duration_ms")) or 0.0)
                laid.append((child, depth + 1, child_begin))
            cursors[id(span)] = cursor
            stack.extend(reversed(laid))  # the first child is drawn first
        return max(first + (_ms(root.get("duration_ms")) or 0.0), cursors.get(id(root), first))

    at = 0.0
    for root in roots:
        at = walk(root, at)
    for span in spans:  # a loop of parents reaches no root: draw it from where it starts
        if id(span) not in seen:
            at = walk(span, at)
    return rows, more
