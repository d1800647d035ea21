"""Media the demo skills rendered, kept in memory by what determines them, so a repeated run reuses them.

The demo's media are deterministic in a skill's inputs and version: a cell run again, a comparison whose columns
share an input, or a form submitted twice would encode the same H.264 video again (seconds of CPU each). The
cache is bounded (least recently used out first) and belongs to one server's demo pack.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable

__all__ = ["RENDER_CACHE_BYTES", "RenderCache", "digest"]

RENDER_CACHE_BYTES = 64 * 1024 * 1024
"""Bytes of rendered media one server keeps for reuse."""


def digest(data: bytes) -> str:
    """A short fingerprint of an input file's bytes, for a cache key (the file itself is not kept)."""
    return hashlib.sha256(data).hexdigest()


class RenderCache:
    """Rendered media (a tuple of bytes and numbers) by key; `get` and `put` are thread-safe, since jobs run on
    a pool. An entry larger than a quarter of the budget is not kept."""

    def __init__(self, max_bytes: int = RENDER_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple] = OrderedDict()
        self._sizes: dict[Hashable, int] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple | None:
        """What `put` kept under `key` (now the most recently used), or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: tuple) -> None:
        """Keep `value` under `key`, dropping the least recently used entries past the budget."""
        size = sum(len(part) for part in value if isinstance(part, bytes))
        if size > self.max_bytes // 4:
            return
        with self._lock:
            if key in self._items:
                self._bytes -= self._sizes[key]
            self._items[key] = value
            self._items.move_to_end(key)
            self._sizes[key] = size
            self._bytes += size
            while self._bytes > self.max_bytes:
                old, _ = self._items.popitem(last=False)
                self._bytes -= self._sizes.pop(old)
