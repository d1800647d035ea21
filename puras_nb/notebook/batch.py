"""`map()`: one skill over a table of rows as a Batch, shown live, that a re-run or a restart picks up again.

(The name shadows the builtin here on purpose: it is the front door's `puras_nb.map`.)"""

from __future__ import annotations

import sys
from typing import Any

from .. import views  # noqa: F401  (registers how batches are displayed)
from ..errors import PurasError
from ..model.batch import Batch
from ..model.job import present
from ..runtime.kernel import headless, in_kernel
from ..settings import current

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
    confirm: bool = False,
    **opts: Any,
) -> Batch:
    """Run `skill` once per row, at most `max_running` at a time; show and return the Batch at once.

    `rows`: a list of input dicts, a pandas DataFrame (one column per input) or a JSONL eval dataset's path.
    With `reuse` (the ledger, see `configure(ledger=...)`) a re-run of the cell reattaches running jobs,
    reuses succeeded rows and sends only the missing ones (failed ones too with `retry_failed`).
    `budget_usd` stops sending before the spend would pass it (`batch.resume(budget_usd=...)` goes on).
    With `configure(confirm_over_usd=X)` a batch estimated above X is confirmed first: a Confirm button in a
    notebook, a prompt in a terminal, a refusal in a headless run (papermill, nbclient) unless `confirm=True`.
    Options go to each job (`poll_interval`, ...).
    """
    batch = Batch(skill, rows, skillpack=skillpack, version=version, max_running=max_running, reuse=reuse,
                  budget_usd=budget_usd, retry_failed=retry_failed, **opts).prepare()
    limit = current().confirm_over_usd
    estimate = batch.estimate_usd
    if confirm or limit is None or estimate is None or estimate <= limit:
        batch.start(estimate=False)
    elif headless() or (not in_kernel() and not sys.stdin.isatty()):
        raise PurasError(f"{batch.estimate_line()}, over confirm_over_usd=${limit:.2f}; nothing was sent "
                         "(pass confirm=True to send it)")
    elif in_kernel():
        batch.awaiting = True  # the batch's view shows Confirm
    elif input(f"{batch.estimate_line()}, over ${limit:.2f}. Send {batch.new_rows()} rows? [y/N] ").strip().lower() \
            in ("y", "yes"):
        batch.start(estimate=False)
    else:
        raise PurasError("nothing was sent (not confirmed)")
    if display or batch.awaiting:
        present(batch)
    return batch
