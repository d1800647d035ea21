"""Text rules every layer shares, written once: masking a key, cutting text with an ellipsis, plain text, one line.

The bottom layer (beside `errors` and `settings`): it imports nothing of puras-nb.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

__all__ = ["Secret", "cut", "flat", "has_control", "mask_key", "plain"]

# C0 and C1 control characters and DEL: what lets untrusted text drive a terminal or hide part of a URL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# A terminal escape sequence as a whole: CSI (colours, cursor moves, clearing; ESC [ or the C1 CSI), OSC
# (titles, hyperlinks; ended by BEL or ESC \) and the short ESC ones; a stray ESC is a control character.
_ESCAPE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c\x9d]*(?:\x07|\x1b\\|\x9c)"  # OSC
    r"|\x1b[ -/]*[0-~]"  # the short ones (ESC c, ESC 7, ESC ( B, ...)
)


def mask_key(key: str) -> str:
    """`puras_live_…abcd`: enough to tell keys apart, never enough to use one."""
    m = re.match(r"^(puras_[a-z]+_)", key)
    prefix = m.group(1) if m else ""
    tail = key[-4:] if len(key) - len(prefix) >= 12 else ""
    return f"{prefix}…{tail}"


class Secret:
    """A credential (the API key) whose repr and str mask it, so that no traceback printing each frame's locals
    (`%xmode Verbose`, `capture_locals=True`), log or notebook shows it; `reveal()` gives the value, only where it
    goes into a request. Equal to another Secret with the same value; false when empty."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    @classmethod
    def of(cls, value: str | Secret | None) -> Secret | None:
        """`value` as a Secret (None stays None; a Secret is kept as it is)."""
        return value if value is None or isinstance(value, Secret) else cls(value)

    def reveal(self) -> str:
        """The value itself: for the Authorization header, and nowhere else."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({mask_key(self._value)!r})"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))


def cut(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, the last one an ellipsis when anything was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def has_control(text: str) -> bool:
    """Whether `text` holds a control character (see `plain`)."""
    return _CONTROL.search(text) is not None


def plain(value: Any) -> str:
    """Any value as text for a terminal or text/plain, so untrusted text cannot drive the terminal: escape
    sequences (colours, cursor moves, hyperlinks) are dropped whole, and every other control character
    (carriage returns, bells, newlines, a stray ESC) becomes a space."""
    text = value if isinstance(value, str) else str(value)
    return _CONTROL.sub(" ", _ESCAPE.sub("", text)) if has_control(text) else text


def flat(value: Any, limit: int | None = None) -> str:
    """Any value as one line of text: control characters blanked (`plain`), and every run of whitespace, line
    and paragraph separators included (U+2028, U+2029, which YAML and editors break lines at), one space; cut
    to `limit` characters when given."""
    text = " ".join(plain(value).split())
    return cut(text, limit) if limit is not None else text
