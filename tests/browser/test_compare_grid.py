"""The comparison grid in JupyterLab, light and dark, live and reopened without a kernel (issue 23.6): ugc-ad v1
makes a landscape video, v2 a vertical one; the columns go with their media, so both videos are one height, the
vertical one is not squeezed into a wide, half-empty column, and nothing is clipped. The inputs read as lines, the
heading counts in words, every cell has Good and Bad. Screenshots: artifacts/browser/grid-*.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.harness.looks import CONTRAST, reopened, until, use_theme

pytestmark = pytest.mark.browser

CELLS = [
    "import puras_nb",
    'grid = puras_nb.compare("demo/ugc-ad", [{"product": "a <b>desk</b> lamp", "duration": 2}], versions=[1, 2])'
    "\ngrid.wait(120)",
]
GRID = 1

# Each video's box and, for the column it sits in, the box of its cell: the live grid's cells, or the saved table's.
BOXES = """(videos) => videos.map(v => {
    const cell = v.closest('.puras-cell, td');
    const r = v.getBoundingClientRect(), c = cell.getBoundingClientRect();
    return {width: r.width, height: r.height, cell: c.width, right: r.right, cellRight: c.right};
})"""


def _problems(output: Any, selector: str) -> list[dict]:
    """Texts below 4.5:1 or clipped; a long file name losing its middle to an ellipsis (its tooltip holds it whole,
    `html.name_html`) is meant."""
    found = output.locator(selector).evaluate_all(CONTRAST)
    assert found, f"no text under {selector}"
    return [t for t in found if t["ratio"] < 4.5 or (t["clipped"] and not t["text"].startswith("a-b-desk-b-la"))]


def _check_videos(boxes: list[dict], where: str) -> None:
    """Two videos, one per column, each filling its column (no third of it left empty), unclipped: the landscape one
    about 240 px high, the vertical one at least 200 px wide (it was squeezed to about 115 px)."""
    assert len(boxes) == 2, (where, boxes)
    landscape, vertical = boxes
    assert 200 <= landscape["height"] <= 245 and vertical["width"] >= 200, ("squeezed", where, boxes)
    assert vertical["height"] > landscape["height"], (where, boxes)
    for box in boxes:
        assert box["width"] >= 0.9 * (box["cell"] - 16), ("empty space beside the media", where, boxes)
        assert box["right"] <= box["cellRight"] + 3, ("clipped", where, boxes)  # ipywidgets' 2 px widget margin


@pytest.mark.timeout(300)
def test_the_grid_sizes_its_columns_by_their_media_live_and_reopened(notebook_page: Any, artifacts: Path) -> None:
    nb = notebook_page
    nb.page.set_viewport_size({"width": 1280, "height": 1400})
    nb.lab.write_notebook("grid.ipynb", CELLS)
    nb.open("grid.ipynb")
    nb.run_cell(0, timeout=90)
    output = nb.run_cell(GRID, timeout=150)
    grid = output.locator(".puras-comparison")
    assert until(lambda: grid.locator("video").count() == 2 and grid.locator(".puras-feedback-up").count() == 2,
                 60, nb)
    assert until(lambda: "fr" in grid.locator(".puras-grid").first.evaluate("g => g.style.gridTemplateColumns")
                 and "1fr" not in grid.locator(".puras-grid").first.evaluate("g => g.style.gridTemplateColumns"),
                 30, nb), "the columns are sized by their media"
    nb.page.wait_for_timeout(500)
    _check_videos(grid.locator("video").evaluate_all(BOXES), "live")
    text = grid.inner_text()
    assert "demo/ugc-ad: 1 input × 2 versions" in text and "product: a <b>desk</b> lamp" in text, text
    assert '{"product"' not in text, "no raw JSON"
    assert [b.strip() for b in grid.locator(".puras-feedback-up").all_inner_texts()] == ["Good", "Good"]
    grid.locator(".puras-feedback-up").nth(1).click()
    grid.locator(".puras-feedback-note").nth(1).get_by_text("thanks").wait_for(timeout=15_000)
    bad = []
    for dark in (False, True):
        use_theme(nb, dark)
        bad += _problems(output, ".puras-comparison")
        output.screenshot(path=str(artifacts / f"grid-live-{'dark' if dark else 'light'}.png"))
    use_theme(nb, False)
    assert not bad, "\n".join(map(str, bad))

    saved = reopened(nb, "grid.ipynb", GRID, ".puras-final")
    text = saved.inner_text()
    assert "demo/ugc-ad: 1 input × 2 versions" in text and "product: a <b>desk</b> lamp" in text, text
    _check_videos(saved.locator("video").evaluate_all(BOXES), "reopened")
    for dark in (False, True):
        use_theme(nb, dark)
        bad += _problems(nb.output(GRID), ".puras-final")
        nb.output(GRID).screenshot(path=str(artifacts / f"grid-reopened-{'dark' if dark else 'light'}.png"))
    use_theme(nb, False)
    assert not bad, "\n".join(map(str, bad))
