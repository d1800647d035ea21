"""The request budget: how fast background polls may go, adapting to what the server says.

One budget for the process. Background requests (status rounds, event fetches, media) take a slot
from a pacer whose rate starts at the configured ceiling (`max_rps`). A 429 or 503 halves the rate and
pauses every background request until its `Retry-After` has passed; a slow answer (over 1 s) trims
it by a tenth; each quick answer adds a little back, up to the ceiling (additive increase,
multiplicative decrease, as TCP does). A user's own calls (submit, cancel, feedback) never queue here.
"""

from __future__ import annotations

import asyncio
import threading
import time

__all__ = ["Budget"]

SLOW = 1.0
FLOOR = 0.5
BURST = 10
RETRY_AFTER_MAX = 60.0


class Budget:
    """A pacer with an adaptive rate (requests per second) below `ceiling`."""

    def __init__(self, ceiling: float) -> None:
        self.ceiling = max(FLOOR, float(ceiling))
        self.rate = self.ceiling
        self.paused_until = 0.0
        self.throttles = 0
        self._next = 0.0
        self._lock = threading.Lock()

    async def take(self) -> None:
        """Wait for the next background slot."""
        while True:
            with self._lock:
                now = time.monotonic()
                if self.paused_until > now:
                    wait = self.paused_until - now
                else:
                    self._next = max(self._next, now - BURST / self.rate)
                    slot = self._next
                    self._next += 1 / self.rate
                    wait = slot - now
                    if wait <= 0:
                        return
            await asyncio.sleep(wait)
            if self.paused_until <= time.monotonic():
                return

    async def unpaused(self) -> None:
        """Wait out a pause the server asked for (429 / 503 with Retry-After), without taking a slot: what a
        batch's submissions, which are capped by their running count instead, respect."""
        while (wait := self.paused_until - time.monotonic()) > 0:
            await asyncio.sleep(wait)

    def answered(self, status: int, seconds: float, retry_after: float | None) -> None:
        """Feed one answer back: its status, how long it took and its Retry-After (if any)."""
        with self._lock:
            if status in (429, 503):
                self.throttles += 1
                self.rate = max(FLOOR, self.rate / 2)
                pause = min(retry_after if retry_after is not None else 1.0, RETRY_AFTER_MAX)
                self.paused_until = max(self.paused_until, time.monotonic() + pause)
            elif seconds > SLOW:
                self.rate = max(FLOOR, self.rate * 0.9)
            else:
                self.rate = min(self.ceiling, self.rate + 0.5)
