"""Where live jobs go: the API from the settings, or the embedded emulator, started once when the rule asks.

Settings only say which (`puras_nb.settings.uses_emulator`); starting a server is the runtime's business.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import Any

from ..settings import Settings, current, uses_emulator
from ..strings import Secret
from .kernel import in_kernel

__all__ = ["Endpoint", "embedded_emulator", "endpoint", "prestart"]

_lock = threading.RLock()
_emulator: Any = None
_note_due = False  # the embedded emulator started and no cell has said so yet


@dataclass(frozen=True)
class Endpoint:
    """Where live jobs go: the API's base URL and key (a Secret: its repr, and a traceback's locals, mask it)."""

    api_base: str | None
    api_key: Secret | None


def endpoint(s: Settings | None = None, *, announce: bool = True) -> Endpoint:
    """The API live jobs use, starting the embedded emulator once when the rule asks, and saying so the first time
    it is used after it started (`announce=False`: a page that shows its own note)."""
    global _note_due
    s = s or current()
    if not uses_emulator(s):
        return Endpoint(s.api_base, Secret.of(s.api_key))
    with _lock:
        emulator = _running()
        if _note_due and announce:
            print(
                f"puras-nb: no PURAS_API_KEY set, so jobs run on the local emulator at {emulator.url}"
                " (configure(api_key=...) or a terminal `puras login` for the hosted API)",
                file=sys.stdout if in_kernel() else sys.stderr,
            )
        _note_due = False
        return Endpoint(emulator.url, Secret.of(emulator.api_key))


def prestart(s: Settings | None = None) -> None:
    """Start the embedded emulator now if the settings use it, quietly: the first `endpoint()` says so.

    `%load_ext puras_nb` does this from a background thread, so the first Tab or run does not wait for it."""
    if uses_emulator(s or current()):
        with _lock:
            _running()


def _running() -> Any:
    """The embedded emulator, started if it is not running (call with `_lock` held)."""
    global _emulator, _note_due
    if _emulator is None or not _emulator.running:
        from .. import local

        _emulator = local.start()
        _note_due = True
    return _emulator


def embedded_emulator() -> Any:
    """The embedded emulator's handle, if it was started (else None)."""
    return _emulator
