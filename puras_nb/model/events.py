"""A job's events read as a run: its steps (each `tool_use`, named by its label), the subagents its events nest
under, and the states it is in that are not a status (cost capped, waiting for approval, resumed).

`RunTree.apply` takes each event once, in order, and says what changed (`Change.STEP`, `Change.STATE`); a job
reads `step`, `steps`, `states` and `nest` (the log's last events, each subagent's inside its group) from it.

Which subagent an event belongs to: the hosted worker stamps a subagent's own events with `ctx` (its `sid`), so
concurrent subagents can interleave; a local run (`puras serve`) stamps nothing, and there an event belongs to the
innermost subagent that started and has not ended. Once any event of the job carries `ctx`, stamps decide.

Every payload is untrusted: names and labels are one line, cut (`strings.flat`); a field of the wrong shape reads
as missing; a subagent that names itself or its own child as its parent is shown at the top.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..api.flows import event_id
from .protocols import Change, Group, JobState, Row, Step, Subagent
from .text import (
    LABEL_MAX,
    approval_words,
    cost_capped_words,
    payload_of,
    resumed_words,
    step_name,
    subagent_label,
    word,
)

__all__ = ["STATE_EVENTS", "RunTree"]

#: Steps kept (the newest): what the steps list and the current step line read.
STEPS_KEPT = 200
#: Subagents nest at most this deep in the log; deeper ones show at this depth.
NEST_MAX = 8
_SID_MAX = 120
#: The event types that say a state beside the status (`states`).
STATE_EVENTS = frozenset({"cost_capped", "approval_required", "confirm_requested", "approval_decided", "resumed"})


@dataclass
class _Step:
    id: str
    name: str
    tool: str
    labelled: bool
    event: int  # the id of its tool_use event (whose owner says where it ran)
    state: str = "running"


@dataclass
class _Approval:
    tool: str
    input: Any
    approval_id: str
    confirm: bool
    event: int
    outcome: str = "waiting"
    reason: str = ""


class RunTree:
    """What a job's events say of its run, built one event at a time (`apply`). Not thread-safe: its job applies
    and reads it under its own lock."""

    def __init__(self) -> None:
        self.stamped = False  #: some event carried `ctx`: stamps say where events belong
        self.stated = False  #: some event said a state (its outcome, or another, may be in the job's last events)
        self._owners: dict[int, tuple[str | None, str | None]] = {}  # event id -> (its ctx, the open subagent)
        self._open: list[str] = []  # subagents started and not ended, innermost last
        self._subagents: dict[str, Subagent] = {}
        self._named: dict[int, str] = {}  # a subagent_start / _end event's id -> the sid it names
        self._steps: list[_Step] = []
        self._by_use: dict[str, _Step] = {}
        self._cost: tuple[Any, Any, Any] | None = None
        self._approval: _Approval | None = None
        self._resumed: tuple[Any, int] | None = None

    # -- applying -------------------------------------------------------------------------------------------

    def apply(self, event: dict) -> set[Change]:
        """Read one more event (each once, in order); what it changed: `Change.STEP`, `Change.STATE`."""
        eid, kind, payload = event_id(event), str(event.get("type") or ""), payload_of(event)
        ctx = word(payload, "ctx", _SID_MAX) or None
        self.stamped = self.stamped or ctx is not None
        self._owners[eid] = (ctx, self._open[-1] if self._open else None)
        changed = self._settle_approval(eid, kind, payload)
        self.stated = self.stated or kind in STATE_EVENTS
        if kind == "subagent_start":
            sid = word(payload, "sid", _SID_MAX) or f"#{eid}"
            self._subagents[sid] = Subagent(sid, subagent_label(payload), eid)
            self._named[eid] = sid
            self._open.append(sid)
        elif kind == "subagent_end":
            sid = word(payload, "sid", _SID_MAX) or (self._open[-1] if self._open else f"#{eid}")
            sub = self._subagents.setdefault(sid, Subagent(sid, subagent_label(payload), 0))
            sub.status = word(payload, "status") or "ended"
            self._named[eid] = sid
            if sid in self._open:
                self._open.remove(sid)
        elif kind == "tool_use":
            use = word(payload, "tool_use_id", _SID_MAX)
            step = _Step(use, step_name(payload), word(payload, "name") or "tool",
                         bool(word(payload, "label", LABEL_MAX)), eid)
            self._steps.append(step)
            if use:
                self._by_use[use] = step
            if len(self._steps) > STEPS_KEPT:
                gone = self._steps.pop(0)
                if self._by_use.get(gone.id) is gone:
                    del self._by_use[gone.id]
            changed.add(Change.STEP)
        elif kind == "tool_result":
            found = self._by_use.get(word(payload, "tool_use_id", _SID_MAX))
            if found is not None and found.state == "running":
                found.state = "failed" if payload.get("ok") is False else "done"
                changed.add(Change.STEP)
        elif kind == "cost_capped":
            self._cost = (payload.get("spent_micros"), payload.get("cap_micros"), payload.get("step"))
            changed.add(Change.STATE)
        elif kind in ("approval_required", "confirm_requested"):
            self._approval = _Approval(word(payload, "tool"), payload.get("input"),
                                       word(payload, "approval_id", _SID_MAX), kind == "confirm_requested", eid)
            changed.add(Change.STATE)
        elif kind == "resumed":
            times = self._resumed[1] + 1 if self._resumed else 1
            self._resumed = (payload.get("from_step"), times)
            changed.add(Change.STATE)
        return changed

    def _settle_approval(self, eid: int, kind: str, payload: dict) -> set[Change]:
        """An approval the run waits for ends with its decision (`approval_decided`: approved clears it, denied or
        expired stay told), or, where no decision is sent (a local run's console), with the next event of the agent
        that waited."""
        wait = self._approval
        if wait is None or wait.outcome != "waiting":
            return set()
        if kind == "approval_decided":
            named = word(payload, "approval_id", _SID_MAX)
            if named and wait.approval_id and named != wait.approval_id:
                return set()
            decision = word(payload, "decision")
            if decision in ("approved", ""):  # approved, or a decision that does not say: nothing to wait for
                self._approval = None
            else:
                wait.outcome, wait.reason = decision, word(payload, "reason", 200)
            return {Change.STATE}
        if self.owner(eid) == self.owner(wait.event):
            self._approval = None
            return {Change.STATE}
        return set()

    def forget_before(self, eid: int) -> None:
        """Drop what is kept of events before `eid` (its job keeps only its newest events)."""
        for old in [k for k in self._owners if k < eid]:
            del self._owners[old]
            self._named.pop(old, None)

    # -- reading --------------------------------------------------------------------------------------------

    def owner(self, eid: int) -> str | None:
        """The sid of the subagent event `eid` belongs to (None: the run itself)."""
        ctx, open_one = self._owners.get(eid, (None, None))
        return ctx if ctx is not None else None if self.stamped else open_one

    def subagent(self, sid: str) -> Subagent:
        """The subagent `sid` (one whose start was never seen is named by its sid)."""
        return self._subagents.get(sid) or Subagent(sid, "subagent", 0)

    def parent(self, sid: str) -> str | None:
        """The subagent that started `sid` (None: the run itself)."""
        sub = self._subagents.get(sid)
        parent = self.owner(sub.start) if sub is not None and sub.start else None
        return None if parent == sid else parent

    def path(self, sid: str | None) -> list[Subagent]:
        """The subagents from the run down to `sid`, outermost first (a loop of parents stops where it closes)."""
        chain: list[Subagent] = []
        seen: set[str] = set()
        while sid is not None and sid not in seen and len(chain) < NEST_MAX:
            seen.add(sid)
            chain.insert(0, self.subagent(sid))
            sid = self.parent(sid)
        return chain

    def where(self, eid: int) -> list[Subagent]:
        """The subagents event `eid` ran in, outermost first ([]: the run itself); a subagent's start and end are
        its parent's events."""
        named = self._named.get(eid)
        return self.path(self.parent(named) if named is not None else self.owner(eid))

    @property
    def step(self) -> str:
        """The latest step's name, after the labels of the subagents it runs in (`layout › Lay out the headline`)."""
        if not self._steps:
            return ""
        last = self._steps[-1]
        return " › ".join([*(s.label for s in self.path(self.owner(last.event))), last.name])

    def steps(self, *, ended: bool, succeeded: bool) -> list[Step]:
        """The labelled steps, oldest first (a step the agent left unlabelled is one it keeps to itself). Once the job
        ended, a step still running reads `done` if it succeeded, else `stopped`."""
        end = "done" if succeeded else "stopped"
        return [
            Step(s.name, s.tool, end if ended and s.state == "running" else s.state,
                 len(self.path(self.owner(s.event))))
            for s in self._steps if s.labelled
        ]

    def states(self, *, ended: bool, succeeded: bool) -> list[JobState]:
        """The states the job is in beside its status: cost capped, an approval (waiting, stopped while waiting,
        denied, expired), resumed."""
        found: list[JobState] = []
        if self._cost is not None:
            found.append(JobState("cost_capped", *cost_capped_words(*self._cost), "warn"))
        wait = self._approval
        if wait is not None and not (ended and succeeded and wait.outcome == "waiting"):
            outcome = "stopped" if ended and wait.outcome == "waiting" else wait.outcome
            words = approval_words(wait.tool, wait.input, confirm=wait.confirm, outcome=outcome, reason=wait.reason)
            found.append(JobState("approval", *words, "warn"))
        if self._resumed is not None:
            found.append(JobState("resumed", *resumed_words(*self._resumed), "info"))
        return found

    def nest(self, events: list[dict], limit: int, *, ended: bool, succeeded: bool) -> list[Row | Group]:
        """The last `limit` of `events` (the job's, oldest first) as the log shows them: each subagent's events inside
        its group, where it started (or where its first event in the window is); its start and end are the group.
        Once the job ended, a subagent that never said it ended reads `stopped` (`ended` if the job succeeded)."""
        window = events[-limit:] if limit > 0 else []
        first = len(events) - len(window) + 1
        root: list[Row | Group] = []
        groups: dict[str, Group] = {}
        end = "ended" if succeeded else "stopped"

        def items(sid: str | None, position: int) -> list[Row | Group]:
            where = root
            for sub in self.path(sid):  # each group of the path that is not there yet is made, outermost first
                group = groups.get(sub.sid)
                if group is None:
                    status = end if ended and sub.status == "running" else sub.status
                    group = groups[sub.sid] = Group(replace(sub, status=status), position)
                    where.append(group)
                where = group.items
            return where

        for offset, event in enumerate(window):
            position, eid = first + offset, event_id(event)
            named = self._named.get(eid)
            if named is not None and (event.get("type") == "subagent_start" or named in groups):
                items(named, position)  # the group is its start and its end
                continue
            items(self.owner(eid), position).append(Row(position, event))
        return root
