"""The runtime: where live jobs are watched, whatever the kernel is doing.

- `loop`: one private event loop in a daemon thread ("puras-nb-runtime"): every poll, submission,
  cancel and media fetch of a live job runs there, so jobs keep moving while a cell computes;
  `run_sync` bridges a blocking caller (a cell, a script) to it.
- `budget`: one request budget for the process, adapting to 429 / Retry-After / slow answers.
- `session`: the API client on that loop, and the `Tracker` that learns job states in batches
  (`GET /v1/jobs` where the server lists them, per-job polls otherwise).
- `kernel`: what the Jupyter kernel we run in can do (parent cell, subshells for widget clicks).

It knows no job model and no widget: the model hands it `Watch` records and callbacks.
"""
