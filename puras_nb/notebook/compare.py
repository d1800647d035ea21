"""compare(): run one skill over several inputs and versions at once, as a grid of inputs x versions.

Every cell is a LiveJob started concurrently; the grid fills in as results arrive (status and progress
while running, the result with its media once done). A cell the server rejects (an unknown version, a
bad input) is a failed cell with the server's message; the other cells run on. Static text/html and
text/plain views keep the final grid in saved and exported notebooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import views  # noqa: F401  (registers how groups are displayed)
from ..model.comparison import Comparison
from ..model.group import submit_or_reject
from ..model.job import present

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
    for i, inputs in enumerate(comparison.inputs):
        for v in comparison.versions:
            comparison.add(i, v, submit_or_reject(skill, dict(inputs), skillpack=skillpack, version=v, **opts))
    if display:
        present(comparison)
    return comparison
