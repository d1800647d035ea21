"""The comparison grid (`compare`, the app's "compare v1 and v2") against the session emulator, outside a kernel: its
heading, its inputs as lines, its columns sized by their media (live and saved), and Good/Bad in every cell."""

from __future__ import annotations

import time
from typing import Any

import ipywidgets as w
import pytest

from puras_nb.notebook.compare import compare
from puras_nb.views.display import static_bundle
from puras_nb.views.grid import ComparisonWidget, column_weights, heading, inputs_html
from puras_nb.views.html import NO_MATH
from puras_nb.views.job import descendants

pytestmark = pytest.mark.usefixtures("configured")


def _until(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the deadline"
        time.sleep(0.05)


class _Shape:
    """Just what `heading` reads of a grid."""

    def __init__(self, inputs: int, versions: int, by_version: bool = True) -> None:
        self.inputs, self.versions, self.by_version = [{}] * inputs, [1] * versions, by_version


@pytest.mark.parametrize(
    ("inputs", "versions", "by_version", "shown"),
    [
        (1, 2, True, "1 input × 2 versions"),
        (2, 1, True, "2 inputs × 1 version"),
        (3, 4, True, "3 inputs × 4 versions"),
        (1, 1, False, "1 input"),
        (5, 1, False, "5 inputs"),
    ],
)
def test_the_heading_counts_inputs_and_versions_in_words(inputs: int, versions: int, by_version: bool,
                                                        shown: str) -> None:
    assert heading(_Shape(inputs, versions, by_version)) == shown  # type: ignore[arg-type]


def test_inputs_read_as_escaped_key_value_lines_each_cut_to_one_line() -> None:
    html = inputs_html({"prompt": "a <b>fox</b>\nat dawn", "width": 384, "tags": ["a", 1], "photo": "x" * 500,
                        "file": "data:image/png;base64," + "A" * 4000})
    assert '<span class="puras-input-key">prompt:</span> a &lt;b&gt;fox&lt;/b&gt; at dawn</div>' in html
    assert "width:</span> 384<" in html and 'tags:</span> [&quot;a&quot;, 1]<' in html
    assert "x" * 59 + "…" in html and "x" * 61 not in html, "the one cut rule: 60 characters, the last an ellipsis"
    assert "file:</span> image/png file, 3 kB<" in html and "AAAA" not in html
    assert "<b>" not in html and "{" not in html, "no raw JSON of the inputs"
    assert "no inputs" in inputs_html({})


def test_columns_are_sized_by_their_media_live_and_saved() -> None:
    """ugc-ad v1 makes landscape video (640x360), v2 vertical (540x960): the columns go with their aspects, so both
    videos are one height and the vertical one is not squeezed into a wide, half-empty column."""
    grid = compare("demo/ugc-ad", [{"product": "a <lamp>", "duration": 2}], versions=[1, 2], display=False)
    view = ComparisonWidget(grid)
    even = "fit-content(200px) repeat(2, minmax(0, 1fr))"
    assert view.grid.layout.grid_template_columns == even and not view.grid.layout.max_width, "even until known"
    assert view.children[0].value.endswith("<b>demo/ugc-ad</b>: 1 input × 2 versions")
    grid.want_media()
    grid.wait(120)
    _until(lambda: view.grid.layout.max_width)
    weights = column_weights(grid)
    assert weights == [pytest.approx(640 / 360, rel=0.01), pytest.approx(540 / 960, rel=0.01)]
    # the landscape column as wide as its video at 240 px high, the vertical one at least 220 px (its video fills it)
    assert view.grid.layout.grid_template_columns == "fit-content(200px) minmax(0, 427fr) minmax(0, 220fr)"
    assert view.grid.layout.max_width == f"{200 + 2 * 8 + 427 + 220}px" and "puras-sized" in view.grid._dom_classes
    html = static_bundle(grid, final=True)["text/html"]
    pixels = [216, 640 / 360 * 240 + 16, 220 + 16]
    cols = "".join(f'<col style="width:{100 * px / sum(pixels):.2f}%">' for px in pixels)
    assert f"max-width:{round(sum(pixels))}px" in html and f"<colgroup>{cols}</colgroup>" in html
    assert 'class="puras-grid puras-sized"' in html
    assert f'<div class="puras-static puras-final {NO_MATH}">' in html, "'$0.0299 … $0.0404' is never typeset as math"
    assert "<b>demo/ugc-ad</b>: 1 input × 2 versions" in html and "product:</span> a &lt;lamp&gt;" in html


def test_text_results_keep_even_columns_as_wide_as_the_page() -> None:
    grid = compare("demo/echo", [{"text": "hi"}], versions=[1, 2], display=False)
    grid.wait(30)
    assert column_weights(grid) is None
    assert 'style="table-layout:fixed;width:100%"' in static_bundle(grid)["text/html"]


def test_every_ended_cell_gets_good_and_bad_through_the_job_feedback_path(emulator: Any) -> None:
    grid = compare("demo/image", [{"prompt": "a kite", "width": 32, "height": 32}], versions=[1, 2], display=False)
    view = ComparisonWidget(grid)
    grid.wait(30)
    cells = [c for c in view.grid.children if c.__class__.__name__ == "CellView"]
    _until(lambda: all(c.rating is not None for c in cells))
    labels = [b.description for c in cells for b in (c.rating.up, c.rating.down)]
    assert labels == ["Good", "Bad", "Good", "Bad"]
    assert all(c.rating.up in descendants(c) for c in cells), "shown in the cell"
    cells[1].rating.send(1)
    _until(lambda: "recorded" in cells[1].rating.note.value)
    assert cells[1].rating.up.button_style == "success" and cells[0].rating.note.value == ""
    job = grid.job(0, 2)
    import httpx

    stored = httpx.get(f"{emulator.url}/v1/jobs/{job.id}", headers={"Authorization": f"Bearer {emulator.api_key}"},
                       timeout=10).json()
    assert stored.get("feedback", {}).get("rating") == 1 or "feedback" not in stored, stored
    assert isinstance(cells[0].rating.note, w.HTML)
