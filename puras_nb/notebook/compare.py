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
from ..errors import PurasError
from ..model.comparison import Comparison
from ..model.group import submit_or_reject
from ..model.job import present
from ..model.schemas import catalog
from ..model.skill import resolve
from ..settings import current

__all__ = ["MAX_VERSIONS", "Comparison", "compare", "known_versions"]

#: The newest known versions that a `compare()` without `versions=` puts side by side.
MAX_VERSIONS = 4


def known_versions(skill: str, skillpack: str | None = None) -> list[int]:
    """The versions the connection's catalog lists for `skill`, oldest first (the newest `MAX_VERSIONS`); [] where
    it lists none: a server with no catalog or no versions (`puras serve`), or a skill it does not know."""
    try:
        found = resolve(skill, catalog(), skillpack or current().skillpack)
    except (PurasError, OSError, TimeoutError):
        return []
    return sorted(set(found.versions))[-MAX_VERSIONS:]


def compare(
    skill: str,
    inputs_list: Sequence[dict],
    versions: Sequence[int | None] | None = None,
    *,
    skillpack: str | None = None,
    display: bool = True,
    **opts: Any,
) -> Comparison:
    """Start `skill` for every input at every version concurrently; return the Comparison grid at once.

    The grid (inputs as rows, versions as columns) fills in as results arrive. Without `versions`, the columns are
    the skill's known versions (`known_versions`); where the server knows none, the inputs alone are compared, on
    the active deployment, in one column. `versions=[None]` uses the active deployment. Options are passed to each
    `start` (e.g. `poll_interval`).
    """
    if not inputs_list:
        raise ValueError("compare() needs at least one input")
    if versions is not None and not versions:
        raise ValueError("compare() needs at least one version")
    if versions is None:
        versions = known_versions(skill, skillpack) or None
    comparison = Comparison(skill, inputs_list, versions)
    for i, inputs in enumerate(comparison.inputs):
        for v in comparison.versions:
            comparison.add(i, v, submit_or_reject(skill, dict(inputs), skillpack=skillpack, version=v, **opts))
    if display:
        present(comparison)
    return comparison
