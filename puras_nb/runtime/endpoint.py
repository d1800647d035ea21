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

__all__ = ["Endpoint", "embedded_emulator", "endpoint"]

_lock = threading.RLock()
_emulator: Any = None


@dataclass(frozen=True)
class Endpoint:
    """Where live jobs go: the API's base URL and key (a Secret: its repr, and a traceback's locals, mask it)."""

    api_base: str | None
    api_key: Secret | None


def endpoint(s: Settings | None = None, *, announce: bool = True) -> Endpoint:
    """The API live jobs use, starting the embedded emulator once (and saying so, unless `announce=False`: a page
    that shows its own note) when the rule asks for it."""
    global _emulator
    s = s or current()
    if not uses_emulator(s):
        return Endpoint(s.api_base, Secret.of(s.api_key))
    with _lock:
        if _emulator is None or not _emulator.running:
            from .. import local

            _emulator = local.start()
            if announce:
                print(
                    f"puras-nb: no PURAS_API_KEY set, so jobs run on the local emulator at {_emulator.url}"
                    " (configure(api_key=...) or a terminal `puras login` for the hosted API)",
                    file=sys.stdout if in_kernel() else sys.stderr,
                )
        return Endpoint(_emulator.url, Secret.of(_emulator.api_key))


def embedded_emulator() -> Any:
    """The embedded emulator's handle, if it was started (else None)."""
    return _emulator
