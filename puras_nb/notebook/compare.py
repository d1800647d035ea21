"""compare(): run one skill over several inputs and versions at once, as a grid of inputs x versions.

Every cell is a LiveJob started concurrently; the grid fills in as results arrive (status and progress
while running, the result with its media once done). Static text/html and text/plain views keep the
final grid in saved and exported notebooks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from ..errors import PurasError
from ..model.comparison import Comparison
from ..model.job import LiveJob, present
from .live import start

__all__ = ["Comparison", "compare"]


def compare(
    skill: str,
    inputs_list: Sequence[dict],
    versions: Sequence[int | None] = (1, 2),
    *,
    skillpack: str | None = None,
    display: bool = True,
    **opts: Any,
) -> Comparison:
    """Start `skill` for every input at every version concurrently; return the Comparison grid at once.

    The grid (inputs as rows, versions as columns) fills in as results arrive. `versions=[None]` uses
    the active deployment. Options are passed to each `start` (e.g. `poll_interval`).
    """
    if not inputs_list:
        raise ValueError("compare() needs at least one input")
    if not versions:
        raise ValueError("compare() needs at least one version")
    comparison = Comparison(skill, inputs_list, versions)
    started: list[LiveJob] = []
    try:
        for i, inputs in enumerate(comparison.inputs):
            for v in comparison.versions:
                started.append(start(skill, inputs, skillpack=skillpack, version=v, display=False, **opts))
                comparison.add(i, v, started[-1])
    except PurasError as exc:
        # One rejected cell (an unknown version, a bad input) fails the whole grid: stop what it started.
        for job in started:
            with contextlib.suppress(PurasError):
                job.cancel()
        if started:
            exc.args = (f"{exc} (compare() cancelled the {len(started)} job(s) it had already started)",)
        raise
    if display:
        present(comparison)
    return comparison
