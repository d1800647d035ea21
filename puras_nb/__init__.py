"""puras-nb: the notebook-native client for Puras.

The public surface, all importable from `puras_nb`:

- `Client`, `AsyncClient`: drop-ins for `puras.Client`, plus cancel, events,
  job listing, replay, pooled connections, retries and fast waits.
- `PurasError`, `PurasAPIError`, `PurasConnectionError`, `JobError`,
  `JobInterrupted`, `SubmitInterrupted`, `NotSupported` (a route the server lacks): every exception (see
  `puras_nb.errors`).
- `LiveJob`, `start`, `run`, `attach`, `show`, `compare`, `configure`: live
  jobs followed on a background thread (they move while a cell computes), shown as widgets.
- `map(skill, rows)`: one skill over a list, DataFrame or JSONL dataset as a `Batch`, queued under a running
  cap, with a ledger so re-runs and restarts reuse what ran, and an optional budget.
- `skill("demo/ugc-ad")`: a skill's card (what it does and takes, with a `%%puras` example);
  its model (`Skill`, `Input`) is `puras_nb.model.skill`, and where schemas come from (`find`, `catalog`: the
  catalog, the deployment bundle, a local skillpack directory, `puras serve`) is `puras_nb.model.schemas`.
- `whoami()`: the API base, key (masked), workspace and balance live jobs use, as `puras whoami` shows them.
- `puras_nb.local`: the local Puras emulator (`pip install 'puras-nb[local]'`).
- `form`: a form for any skill from its input schema (`puras_nb.app`: the stakeholder app on it).
- `%load_ext puras_nb`: the `%puras` / `%%puras` magics, thin over public helpers:
  `puras_nb.notebook.inputs` (magic input parsing), `puras_nb.jobs` (job tables, `fan_out`, `follow`),
  `puras_nb.connection` (skills, login, the local emulator for this kernel).

Names are imported lazily, so `import puras_nb` in a script does not pay for
ipywidgets or IPython.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import JobError, JobInterrupted, PurasAPIError, PurasConnectionError, PurasError, SubmitInterrupted

# The exceptions too: they derive from httpx's, and importing httpx (which brings rich and click along) was 0.4 to
# 0.6 s of each `python -m puras_nb.local` start, a process that never uses it.
_LAZY = {
    **{name: "puras_nb.errors" for name in ("PurasError", "PurasAPIError", "PurasConnectionError", "JobError",
                                             "JobInterrupted", "SubmitInterrupted", "NotSupported")},
    "Client": "puras_nb.api.client",
    "AsyncClient": "puras_nb.api.aio",
    "LiveJob": "puras_nb.model.job",
    "start": "puras_nb.notebook.live",
    "run": "puras_nb.notebook.live",
    "attach": "puras_nb.notebook.live",
    "configure": "puras_nb.settings",
    "compare": "puras_nb.notebook.compare",
    "fan_out": "puras_nb.notebook.fanout",
    "map": "puras_nb.notebook.batch",
    "show": "puras_nb.views.show",
    "skill": "puras_nb.views.skill",
    "form": "puras_nb.notebook.app",
    "app": "puras_nb.notebook.app",
    "whoami": "puras_nb.notebook.connection",
}

__all__ = [
    "AsyncClient",
    "Client",
    "JobError",
    "JobInterrupted",
    "LiveJob",
    "NotSupported",
    "PurasAPIError",
    "PurasConnectionError",
    "PurasError",
    "SubmitInterrupted",
    "attach",
    "compare",
    "configure",
    "form",
    "load_ipython_extension",
    "map",
    "run",
    "show",
    "skill",
    "start",
    "unload_ipython_extension",
    "whoami",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'puras_nb' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext puras_nb`: register the `%puras` and `%%puras` magics."""
    from .notebook.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """`%unload_ext puras_nb`: remove the magics again."""
    from .notebook.magics import unload_ipython_extension as unload

    unload(ipython)
