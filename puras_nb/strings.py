"""Text rules every layer shares, written once: masking a key.

The bottom layer (beside `errors` and `settings`): it imports nothing of puras-nb.
"""

from __future__ import annotations

import re

__all__ = ["mask_key"]


def mask_key(key: str) -> str:
    """`puras_live_…abcd`: enough to tell keys apart, never enough to use one."""
    m = re.match(r"^(puras_[a-z]+_)", key)
    prefix = m.group(1) if m else ""
    tail = key[-4:] if len(key) - len(prefix) >= 12 else ""
    return f"{prefix}…{tail}"
