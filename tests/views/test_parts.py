"""The pieces of views share their layout and style models, per cell, and a shared model never changes."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import pytest

from puras_nb.model.job import LiveJob
from puras_nb.views import parts
from puras_nb.views.job import JobWidget
from puras_nb.views.parts import SharedModelError, part


@pytest.fixture
def cell(monkeypatch: Any) -> list[str]:
    """The cell the pieces are made in (what `parent_id()` says in a kernel): set `cell[0]`."""
    current = ["cell-1"]
    monkeypatch.setattr(parts, "parent_id", lambda: current[0])
    return current


def test_pieces_of_a_cell_share_one_layout_per_css_values_and_one_style_per_kind(cell: list[str]) -> None:
    head, note = part(w.HTML, value="a"), part(w.HTML, value="b")
    good, bad = (part(w.Button, description=d, layout={"width": "auto"}) for d in ("Good", "Bad"))
    assert head.layout is note.layout and head.style is note.style
    assert good.layout is bad.layout and good.style is bad.style
    assert good.layout is not head.layout and good.layout.width == "auto" and head.layout.width is None
    assert part(w.VBox, children=[head, note]).layout is head.layout
    assert (head.value, note.value, good.description) == ("a", "b", "Good")


def test_another_cell_gets_models_of_its_own(cell: list[str]) -> None:
    first = part(w.HTML)
    cell[0] = "cell-2"
    second = part(w.HTML)
    assert second.layout is not first.layout and second.style is not first.style
    cell[0] = "cell-1"
    assert part(w.HTML).layout is first.layout


def test_a_shared_model_refuses_changes_and_a_closed_one_is_made_again(cell: list[str]) -> None:
    piece = part(w.HTML)
    with pytest.raises(SharedModelError, match="give the piece its own"):
        piece.layout.display = "none"
    with pytest.raises(SharedModelError):
        piece.style.font_size = "20px"
    assert piece.layout.display is None
    piece.layout.close()
    assert part(w.HTML).layout is not piece.layout
    own = w.HTML(layout=w.Layout())
    own.layout.display = "none"  # a piece with its own layout changes as before


def _finished() -> LiveJob:
    return LiveJob(
        {"id": "0123456789abcdef", "status": "succeeded", "result": {"hi": 1}, "skillpack": "local/demo",
         "skill_name": "echo", "created_at": "2025-01-01T00:00:00Z", "finished_at": "2025-01-01T00:00:01Z"},
    )


def test_a_view_of_a_job_dict_with_nothing_configured_starts_no_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its declared outputs come from a catalog already loaded, never a request: with no key there is no connection
    to ask, and making one would start the embedded emulator (2 s and a process) to show a finished job."""
    from puras_nb import settings
    from puras_nb.runtime import endpoint
    from puras_nb.runtime import session as runtime_session

    monkeypatch.setattr(endpoint, "_emulator", None)
    before = settings.current()
    settings.restore(settings.Settings())  # no key, no session
    try:
        view = JobWidget(_finished())
        assert view.head.value and runtime_session.existing() is None
    finally:
        settings.restore(before)
    assert endpoint.embedded_emulator() is None


def test_a_view_made_at_the_jobs_end_as_one_line_makes_that_line_only() -> None:
    """No Cancel button, stop note, bar, log accordion, or action and result boxes: only the line and what it folds,
    each opened once with its content (no update follows)."""
    view = JobWidget(_finished())
    made = (view._cancel, view._stop_note, view._bar, view._log_box, view._actions, view._result_box)
    assert made == (None,) * 6
    line, details = view.children
    assert details is view.details and view.details_toggle in line.children and view.head in line.children
    # a job that succeeded with no media is one line: its Good and Bad are icons, their tooltips say which
    assert [b.tooltip for b in line.children if isinstance(b, w.Button)] == ["good result", "bad result"]
    assert view.log_html in details.children
    failed = JobWidget(LiveJob({"id": "0123456789abcdef", "status": "failed", "error": "kaput"}, skill="demo/fail"))
    assert failed._cancel is None and failed.children == (
        failed.head, failed.bar, failed.result_box, failed.actions, failed.log_box
    ), "a job that does not end as one line keeps the full layout"
    running = JobWidget(LiveJob({"id": "fedcba9876543210", "status": "running"}, skill="demo/hang"))
    assert running.actions.children == (running.cancel_button,)
    assert running.cancel_button is running.cancel_button, "made once"
