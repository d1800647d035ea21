"""`map()`: one skill over a table of rows as a Batch, shown live, that a re-run or a restart picks up again.

(The name shadows the builtin here on purpose: it is the front door's `puras_nb.map`.)"""

from __future__ import annotations

from typing import Any

from .. import views  # noqa: F401  (registers how batches are displayed)
from ..model.batch import Batch
from ..model.job import present

__all__ = ["Batch", "map"]


def map(
    skill: str,
    rows: Any,
    *,
    version: int | None = None,
    max_running: int = 16,
    reuse: bool = True,
    budget_usd: float | None = None,
    display: bool = True,
    retry_failed: bool = False,
    skillpack: str | None = None,
    **opts: Any,
) -> Batch:
    """Run `skill` once per row, at most `max_running` at a time; show and return the Batch at once.

    `rows`: a list of input dicts, a pandas DataFrame (one column per input) or a JSONL eval dataset's path.
    With `reuse` (the ledger, see `configure(ledger=...)`) a re-run of the cell reattaches running jobs,
    reuses succeeded rows and sends only the missing ones (failed ones too with `retry_failed`).
    `budget_usd` stops sending before the spend would pass it (`batch.resume(budget_usd=...)` goes on).
    Options go to each job (`poll_interval`, ...).
    """
    batch = Batch(skill, rows, skillpack=skillpack, version=version, max_running=max_running, reuse=reuse,
                  budget_usd=budget_usd, retry_failed=retry_failed, **opts)
    batch.start()
    if display:
        present(batch)
    return batch
