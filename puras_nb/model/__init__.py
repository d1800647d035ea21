"""The model: what a live job (or a grid of them) is, knowing nothing of how it is shown.

- `job`: `LiveJob` (state, events, progress, result, media bytes), its actions (cancel, feedback),
  `subscribe()` for views, and the registry of this kernel's jobs;
- `group`: `JobGroup`, many LiveJobs as one (counts by outcome, progress, cost, one wait, observers) and
  the one rejection policy (`submit_or_reject`: a refused submission is a failed row with its message);
- `comparison`: `Comparison`, a grid of LiveJobs (inputs x versions); `table`: `JobsTable`, a list of jobs;
- `batch`: `Batch`, one skill over many rows under a running cap and a budget; `ledger`: the sqlite record of
  which row ran as which job, so re-runs and restarts reuse it;
- `text`: the shared wording rules (a job's error text, an event's message, plain text, money,
  result summaries) used by every view, the magics and the terminal line.
"""
