"""The pieces of a view (a head, a note, a button, a box of them) share their layout and style models.

Every ipywidgets widget opens a Layout model and, for most kinds, a style model beside its own: three comm opens
and about 2.2 KB for one HTML, most of a view's cost in a cell. The pieces a view makes with `part` share one
Layout per distinct set of CSS values and one style model per kind instead, within the cell that made them: a
headless run (nbclient) keeps only the messages of the cell it runs, so a model opened in another cell could be
missing from the saved notebook and break every piece that names it.

A shared model cannot change (every piece that shares it would): setting a trait of one raises. A piece whose
layout or style changes while it is shown gets its own (`w.Layout(...)`, as before).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, TypeVar

import ipywidgets as w

from ..runtime.kernel import parent_id

__all__ = ["SharedModelError", "part"]

W = TypeVar("W", bound=w.Widget)

#: The cells whose shared models are kept for more pieces (a background job's view may still grow in an older one).
CELLS_KEPT = 8


class SharedModelError(AttributeError):
    """A shared layout or style was told to change."""


class _Frozen(w.Widget):
    """A layout or style model shared by the pieces of views: its state is set once, when it is made."""

    _shared = False

    def __setattr__(self, name: str, value: Any) -> None:
        if self._shared and name in self.keys:  # a synced trait: what every piece that shares it shows
            raise SharedModelError(
                f"this {type(self).__name__} is shared by the pieces of views; give the piece its own to change {name}"
            )
        super().__setattr__(name, value)


_kinds: dict[type, type] = {}
_lock = threading.Lock()
_cells: OrderedDict[str | None, dict[tuple, w.Widget]] = OrderedDict()


def _shared(kind: type[W], values: dict[str, Any]) -> W:
    """This cell's one `kind` model with these trait values, made on first use (again if it was closed)."""
    key = (kind, tuple(sorted(values.items())))
    with _lock:
        cell = parent_id()
        models = _cells.setdefault(cell, {})
        _cells.move_to_end(cell)
        while len(_cells) > CELLS_KEPT:
            _cells.popitem(last=False)
        model = models.get(key)
        if model is None or model.comm is None:
            frozen = _kinds.get(kind)
            if frozen is None:
                frozen = _kinds[kind] = type(kind.__name__, (_Frozen, kind), {"__module__": __name__})
            model = models[key] = frozen(**values)
            model._shared = True
        return model


def part(kind: type[W], *, layout: dict[str, str] | None = None, **traits: Any) -> W:
    """`kind(**traits)`, a piece of a view, on this cell's shared Layout for the `layout` CSS values (none: the
    plain one) and, where `kind` has a style, its shared default style (unless `style=` gives one)."""
    traits["layout"] = _shared(w.Layout, layout or {})
    style = kind.class_traits().get("style")
    if style is not None and "style" not in traits:
        traits["style"] = _shared(style.klass, {})
    return kind(**traits)
