"""What views may know of the model: the topics an observer is told (`Change`), the public surface of a job
(`JobView`) and of a grid of jobs (`GridView`), and what a job's events say of its run (`Step`, `JobState`, the log's
`Row`s and subagent `Group`s). A view types its model with these, never with a model class,
so it sees what every view may use and nothing private.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, runtime_checkable

from ..api.media import Media

__all__ = ["Change", "GridView", "Group", "JobState", "JobView", "Row", "Shown", "Step", "Subagent"]


class Change(str, Enum):
    """What changed, as a LiveJob or a Comparison tells its observers (`subscribe`): a set of these a call.

    Members are str (`"done" in changed` still holds), so observers written against the bare names keep working.
    """

    STATUS = "status"  #: the job's status moved
    JOB = "job"  #: the job dict changed (status, result, cost, late details of an ended job)
    EVENTS = "events"  #: new events arrived (or an ended job's last ones were fetched: `events_complete`)
    ERROR = "error"  #: connection trouble began or cleared (`last_error`)
    DONE = "done"  #: the job (or every job of the grid) ended
    MEDIA = "media"  #: previews arrived (or their fetch ended)
    SETTLE = "settle"  #: a cell that waited wants the final state re-sent from its own context
    WAITING = "waiting"  #: a cell started or stopped blocking on the job (`waiting_in_cell`)
    STEP = "step"  #: a step began or ended (`step`, `steps`: a `tool_use`, its `tool_result`)
    STATE = "state"  #: a state beside the status began or ended (`states`: cost capped, an approval, resumed)

    __hash__ = str.__hash__  # as its bare name hashes, so `"done" in changed` finds Change.DONE
    __str__ = str.__str__


@dataclass
class Subagent:
    """A subagent the run started: its `sid`, label, and status (`running` until its `subagent_end`)."""

    sid: str
    label: str
    start: int  #: the id of its `subagent_start` event (0: its start was never seen)
    status: str = "running"


@dataclass(frozen=True)
class Step:
    """One labelled step (a `tool_use`) as views list it: its name, `running` / `done` / `failed` / `stopped`,
    and how deep it ran (0: the run itself, 1: a subagent of it, …)."""

    name: str
    tool: str
    state: str
    level: int


@dataclass(frozen=True)
class JobState:
    """A state the job is in beside its status, worded once (`model/text.py`): `kind` is `cost_capped`,
    `approval` or `resumed`; `badge` a word or two, `text` what happened, `hint` what to do; `tone` `warn` (it
    needs someone, or stopped the run) or `info`."""

    kind: str
    badge: str
    text: str
    hint: str
    tone: str

    @property
    def line(self) -> str:
        """`text · hint`, as one line."""
        return f"{self.text} · {self.hint}" if self.hint else self.text


@dataclass
class Row:
    """One event in the log, at its position among the job's events (1, 2, …)."""

    position: int
    event: dict


@dataclass
class Group:
    """A subagent in the log: its events (rows and its own subagents' groups), from `position` on."""

    subagent: Subagent
    position: int
    items: list[Row | Group] = field(default_factory=list)

    @property
    def size(self) -> int:
        """How many of the log's events it holds, its subagents' included."""
        return sum(item.size if isinstance(item, Group) else 1 for item in self.items)


class JobView(Protocol):
    """A job as views see it (`LiveJob` is one): its state to render and the actions a person takes on it."""

    @property
    def id(self) -> str | None: ...
    @property
    def skill(self) -> str: ...
    @property
    def job(self) -> dict: ...
    @property
    def known_events(self) -> list[dict]: ...
    @property
    def events_complete(self) -> bool: ...
    @property
    def exception(self) -> BaseException | None: ...
    @property
    def media(self) -> list[Media] | None: ...
    @property
    def media_data(self) -> dict[str, bytes | None]: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def waiting_in_cell(self) -> bool: ...
    @property
    def cancel_on_interrupt(self) -> bool: ...
    @property
    def status(self) -> str: ...
    @property
    def version(self) -> int | None: ...
    @property
    def short_id(self) -> str: ...
    @property
    def error_text(self) -> str: ...
    @property
    def todos(self) -> list[dict] | None: ...
    @property
    def progress(self) -> float | None: ...
    @property
    def progress_label(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def elapsed(self) -> float: ...
    @property
    def duration(self) -> float | None: ...
    @property
    def media_pending(self) -> bool: ...
    @property
    def step(self) -> str: ...
    @property
    def steps(self) -> list[Step]: ...
    @property
    def states(self) -> list[JobState]: ...

    def log_items(self, limit: int = 50) -> list[Row | Group]: ...

    def done(self) -> bool: ...
    def find_media(self) -> list[Media]: ...
    def text_fields(self) -> list[tuple[str, str]]: ...
    def want_media(self) -> None: ...
    def want_log(self) -> None: ...
    def subscribe(
        self, observer: Callable[[JobView, frozenset[Change]], None], *, log: bool = False
    ) -> Callable[[], None]: ...
    def request_cancel(self, on_error: Callable[[BaseException], Any] | None = None) -> None: ...
    def send_feedback(self, rating: int, on_done: Callable[[BaseException | None], Any]) -> None: ...


@runtime_checkable
class GridView(Protocol):
    """A grid of jobs as views see it (`Comparison` is one): one job per (input, version). Runtime-checkable, so
    a view tells a grid from a job with isinstance."""

    @property
    def skill(self) -> str: ...
    @property
    def inputs(self) -> Sequence[dict]: ...
    @property
    def versions(self) -> Sequence[int | None]: ...
    @property
    def by_version(self) -> bool: ...

    def job(self, i: int, version: int | None) -> JobView: ...
    def label(self, version: int | None) -> str: ...
    def done(self) -> bool: ...
    def text(self) -> str: ...
    def want_media(self) -> None: ...
    def subscribe(self, observer: Callable[[GridView, frozenset[Change]], None]) -> Callable[[], None]: ...


#: What the display layer shows live: a job or a grid.
Shown = JobView | GridView
