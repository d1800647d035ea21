"""Live jobs, the entry points: `start`, `run`, `attach`, `jobs`, plus `configure` / `settings`.

A LiveJob is followed by puras-nb's runtime thread (see `puras_nb.runtime`), so it keeps moving while
the kernel computes; in a kernel it shows as a live widget (`puras_nb.views`), in a script as one
progress line on stderr.
"""

from __future__ import annotations

from typing import Any

from .. import views  # noqa: F401  (registers how jobs are displayed; imports no ipywidgets by itself)
from ..api.flows import TERMINAL
from ..model.batch import reuse_or_submit
from ..model.job import LiveJob, jobs, present
from ..model.text import event_message
from ..settings import Settings, configure, current

__all__ = [
    "LiveJob", "Settings", "attach", "configure", "event_message", "jobs", "rerun", "run", "settings", "start"
]

#: How long a foreground run waits for the server before showing its widget: a job that ends (or is
#: rejected) within it is shown once, finished, and a bad request raises with nothing displayed.
SHOW_AFTER = 0.15


def settings() -> Settings:
    """The current kernel-wide settings (a copy)."""
    return current()


def start(
    skill: str,
    inputs: dict | None = None,
    *,
    skillpack: str | None = None,
    version: int | None = None,
    client: Any = None,
    display: bool = True,
    reuse: bool = False,
    **opts: Any,
) -> LiveJob:
    """Submit a job and return its LiveJob at once; it is followed in the background (and shows a live widget).

    `client`: a `Client` or `AsyncClient` to submit and poll with instead of the kernel-wide one.
    `reuse=True`: through the batch ledger, the job these inputs already ran as (running or succeeded) if
    there is one, so a re-run cell does not pay twice (kernel-wide connection only).
    Options: `poll_interval`, `timeout` (default for `.result()`), `cancel_on_interrupt`, `preview_max_bytes`.
    """
    job = _launch(skill, inputs, skillpack=skillpack, version=version, client=client, reuse=reuse, **opts)
    if display:
        present(job)
    return job


def run(skill: str, inputs: dict | None = None, *, timeout: float | None = None, **opts: Any) -> Any:
    """Run a job in the foreground: show it live and block for its result (`JobError` unless it succeeded).

    The server holds the submission for up to a second, so a short job comes back finished without a poll.
    A rejected submission (unknown skill, bad inputs) raises the API's error with nothing displayed.
    Takes the options of `start` (`skillpack`, `version`, `client`, `display`, `poll_interval`, …).
    """
    return foreground(skill, inputs, **opts).result(timeout)


def _launch(skill: str, inputs: dict | None, *, reuse: bool, client: Any = None, **launch: Any) -> LiveJob:
    if not reuse:
        return LiveJob.submit(skill, inputs, client=client, **launch)
    if client is not None:
        raise ValueError("reuse=True runs on the kernel-wide connection; leave out client=")
    launch.pop("hold", None)
    return reuse_or_submit(skill, inputs, **launch)


def foreground(
    skill: str, inputs: dict | None = None, *, display: bool = True, reuse: bool = False, client: Any = None,
    **opts: Any,
) -> LiveJob:
    """`start` for a blocking run: the server holds the submission, and the job is shown once its first state
    is known. Raises the submission's error (nothing displayed) when the server rejects it within `SHOW_AFTER`.
    `reuse=True` goes through the batch ledger as `start(..., reuse=True)` does.

    On the kernel-wide connection the cell's own thread sends the submission (`LiveJob.submit_here`): a job that
    ends within the hold comes back ended, and is shown once, at its end; a longer one shows after `SHOW_AFTER`.
    """
    if reuse or client is not None:
        job = _launch(skill, inputs, reuse=reuse, hold=True, client=client, **opts)
        job.wait_submitted(SHOW_AFTER)
    else:
        shown: list[LiveJob] = []

        def show(late: LiveJob) -> None:
            present(late)
            shown.append(late)

        job = LiveJob.submit_here(skill, inputs, show=show if display else None, show_after=SHOW_AFTER, **opts)
        display = display and not shown
    if job.rejected is not None:
        raise job.rejected
    if display:
        if job.status in TERMINAL:  # it ended within the hold: its view is made at its end, once, from this cell
            job.wait_ended(SHOW_AFTER)
        present(job)
    return job


def attach(job_id: str, *, display: bool = True, client: Any = None, **opts: Any) -> LiveJob:
    """A LiveJob for a job started elsewhere (another kernel, before a restart); replays its events."""
    job = LiveJob.attach(job_id, client=client, **opts)
    if display:
        present(job)
    return job


def rerun(job_id: str, changes: dict | None = None, *, version: int | None = None, display: bool = True) -> LiveJob:
    """Start the skill of job `job_id` (this kernel's, or any the server knows) again with `changes` to its
    inputs, on its version unless `version` is given; the new LiveJob is shown like `start`'s."""
    known = next((job for job in reversed(jobs()) if job.id == job_id), None)
    source = known if known is not None else LiveJob.attach(job_id)
    return source.rerun(changes or {}, version=version, display=display)
