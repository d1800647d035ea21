"""The view layer's registration: how jobs, groups of jobs and the other things the model hands out (spans) are
shown, without the model importing any view (`puras_nb.views.display` registers itself on import)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["present", "presenter_bundle", "presenter_static", "presenter_widget", "set_presenter"]

_presenter: dict[str, Callable[..., Any]] = {}


def set_presenter(
    *,
    display: Callable[[Any], Any],
    bundle: Callable[[Any], dict],
    widget: Callable[[Any], Any],
    static: Callable[[Any, bool], dict],
) -> None:
    """Register the view layer for jobs and groups of jobs (`model.group`, told apart by their `kind`):
    `display(obj)` shows one live in a kernel (or as a terminal line), `bundle(obj)` gives its mimebundle,
    `widget(obj)` its live widget, `static(obj, final)` its text/plain and escaped text/html."""
    _presenter.update(display=display, bundle=bundle, widget=widget, static=static)


def present(obj: Any) -> None:
    """Display `obj` through the registered views (its text elsewhere)."""
    show = _presenter.get("display")
    if show is None:
        print(repr(obj))
    else:
        show(obj)


def presenter_bundle(obj: Any) -> dict:
    """`obj`'s mimebundle through the registered views (its text where none are registered)."""
    bundle = _presenter.get("bundle")
    return bundle(obj) if bundle is not None else {"text/plain": repr(obj)}


def presenter_static(obj: Any, final: bool = False) -> dict:
    """`obj`'s static text/plain and text/html through the registered views (its text where none are)."""
    static = _presenter.get("static")
    return static(obj, final) if static is not None else {"text/plain": repr(obj)}


def presenter_widget(obj: Any) -> Any:
    """`obj`'s live widget from the registered views (made on first use)."""
    make = _presenter.get("widget")
    if make is None:
        raise RuntimeError("no view layer is loaded: import puras_nb.views")
    return make(obj)
