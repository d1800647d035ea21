"""An in-process emulator of a test's own, talked to over loopback HTTP with its key."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx

from puras_nb.local.emulator import Emulator
from puras_nb.local.server import ServerThread

KEY = "puras_live_served_test_key"


@contextlib.contextmanager
def served(**settings: Any) -> Iterator[httpx.Client]:
    """An `Emulator(**settings)` serving on a free loopback port for the `with` block: an httpx client on its URL
    (`client.base_url`) that sends its key."""
    thread = ServerThread(Emulator(api_key=KEY, **settings), "127.0.0.1", 0)
    thread.start()
    try:
        with httpx.Client(base_url=thread.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as client:
            yield client
    finally:
        thread.stop()
