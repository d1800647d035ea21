"""What people see (issue 11), in JupyterLab 4 with headless Chromium: every widget state as a screenshot,
no upscaled images, neutral cancels, readable errors in the dark theme, saved notebooks that keep their
tables and grids, and Run All of every demo notebook.

Screenshots go to artifacts/browser/look-*.png (see conftest.py).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from tests.harness.looks import until

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]


def artifacts_dir() -> Path:
    """The folder conftest.py puts screenshots in."""
    return Path(os.environ.get("PURAS_NB_ARTIFACTS") or REPO / "artifacts") / "browser"


MODEL_NOT_FOUND = "model not found"


def _shot(output: Any, name: str) -> Path:
    """A PNG of one cell's output (what a reader sees of that view)."""
    path = artifacts_dir() / f"look-{name}.png"
    output.screenshot(path=str(path))
    return path


def _status(output: Any) -> str:
    return output.locator(".puras-job .puras-status").first.inner_text().strip()


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(fg: tuple[float, float, float], bg: tuple[float, float, float]) -> float:
    light, dark = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


# The rendered colour of an element's text and of the first opaque background behind it.
COLOURS = """el => {
  const rgb = s => s.match(/[\\d.]+/g).map(Number);
  let bg = null;
  for (let n = el; n; n = n.parentElement) {
    const c = rgb(getComputedStyle(n).backgroundColor);
    if (c.length < 4 || c[3] > 0.99) { bg = c.slice(0, 3); break; }
  }
  return {fg: rgb(getComputedStyle(el).color).slice(0, 3), bg: bg || [255, 255, 255]};
}"""


def _open(nb: Any, name: str, cells: list[str]) -> None:
    nb.lab.write_notebook(name, cells)
    nb.open(name)


def test_job_states_images_cancel_and_dark_theme(notebook_page: Any) -> None:
    """Running, succeeded with a 96 px image, failed, cancelled: each looks like what it is, in both themes."""
    nb = notebook_page
    _open(nb, "states.ipynb", [
        "%load_ext puras_nb\nimport puras_nb",
        "%%puras demo/image\nprompt: a tiny fox\nwidth: 96\nheight: 96",
        "%puras run demo/fail message='out of credits: the workspace has no balance left, top it up' -o failed",
        "%puras run demo/count n=40 delay=0.25 --bg -o counter",
        "hung = puras_nb.start('demo/hang')",
        "hung.cancel()['status']",
        "%%puras demo/ugc-ad -o ad\nproduct: solar lantern\nduration: 4",
    ])  # fmt: skip
    nb.run_cell(0)
    image_out = nb.run_cell(1, timeout=60)
    img = image_out.locator(".puras-job img").first
    img.wait_for(timeout=30_000)
    until(lambda: img.evaluate("i => i.complete && i.naturalWidth > 0"), 10, nb)
    width = img.evaluate("i => i.getBoundingClientRect().width")
    assert img.evaluate("i => i.naturalWidth") == 96 and 0 < width <= 96, f"a 96 px image renders {width} px wide"
    json_open = image_out.locator(".puras-job details.puras-raw[open]").count()
    assert json_open == 0, "the raw result is folded behind the preview"
    assert image_out.locator(".jp-OutputArea-output[data-mime-type='text/plain']").count() == 0, "no second copy"
    _shot(image_out, "succeeded-with-media")

    failed_out = nb.run_cell(2, timeout=30)
    until(lambda: _status(failed_out) == "failed", 15, nb)
    text = failed_out.inner_text()
    assert text.count("top it up") <= 2, f"the error is shown {text.count('top it up')} times"
    assert not re.search(r"\b(\w+) \1\b", failed_out.locator(".puras-job").inner_text()), "a repeated word"
    _shot(failed_out, "failed")

    running_out = nb.run_cell(3, timeout=15)
    until(lambda: "/40" in running_out.locator(".puras-job .puras-progress-label").first.inner_text(), 15, nb)
    assert running_out.locator(".puras-job .progress").count() == 1, "one progress bar per job"
    track = running_out.locator(".puras-job .progress").first.evaluate("e => e.getBoundingClientRect().width")
    log = running_out.locator(".puras-job .puras-log").first.evaluate("e => e.getBoundingClientRect().width")
    assert track >= 0.8 * log, f"the bar ({track} px) spans the view like the log ({log} px)"
    _shot(running_out, "running")

    hung_out = nb.run_cell(4, timeout=15)
    until(lambda: _status(hung_out) == "running", 15, nb)
    nb.run_cell(5, timeout=30)
    until(lambda: _status(hung_out) == "cancelled", 15, nb)
    job = hung_out.locator(".puras-job").first
    until(lambda: job.locator(".puras-cancel").count() == 0, 10, nb)
    assert job.locator(".puras-error").count() == 0, "a cancelled job is not styled as an error"
    badge = job.locator(".puras-badge").first.evaluate("e => getComputedStyle(e).backgroundColor")
    r, g, _b = (int(x) for x in re.findall(r"\d+", badge)[:3])
    assert not (r > 150 and g < 100), f"the cancelled badge is red-ish: {badge}"
    assert job.locator(".progress-bar-warning, .progress-bar-danger").count() == 0, "no orange or red bar"
    assert job.locator(".puras-feedback-up, .puras-feedback-down").count() == 0, "nothing to rate"
    _shot(hung_out, "cancelled")

    ad_out = nb.run_cell(6, wait=False)
    heights: list[float] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (heights and ad_out.locator(".puras-job video").count()):
        heights.append(ad_out.evaluate("o => o.getBoundingClientRect().height"))
        nb.page.wait_for_timeout(50)
    nb.wait_cell_done(6, timeout=30)
    ad_out.locator(".puras-job video").first.wait_for()
    nb.page.wait_for_timeout(500)
    shrinks = [(a, b) for a, b in itertools.pairwise(heights) if b < a - 4]
    assert not shrinks, f"the view shrank before its media arrived (layout jumps): {heights}"
    _shot(ad_out, "ugc-ad-succeeded")

    nb.js("await window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'});")
    nb.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    nb.page.wait_for_timeout(500)
    error = failed_out.locator(".puras-job .puras-error b").first
    colours = error.evaluate(COLOURS)
    ratio = _contrast(tuple(colours["fg"]), tuple(colours["bg"]))
    _shot(failed_out, "failed-dark")
    _shot(image_out, "succeeded-dark")
    assert ratio >= 4.5, f"error text {colours['fg']} on {colours['bg']}: {ratio:.2f}:1 in the dark theme"
    nb.js("await window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'});")
    nb.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'", timeout=30_000)
    colours = failed_out.locator(".puras-job .puras-error b").first.evaluate(COLOURS)
    ratio = _contrast(tuple(colours["fg"]), tuple(colours["bg"]))
    assert ratio >= 4.5, f"error text {colours['fg']} on {colours['bg']}: {ratio:.2f}:1 in the light theme"


GRID = """grid = puras_nb.compare(
    "demo/image",
    [{"prompt": "a red kite", "width": 96, "height": 96}, {"prompt": "a blue boat", "width": 128, "height": 96}],
    versions=[1, 2],
).wait()"""


def test_reopened_notebook_keeps_its_table_and_grid_as_static_views(notebook_page: Any) -> None:
    """Run, save, reopen with a fresh kernel: the grid and the jobs table read as static content, and no
    "Error displaying widget: model not found" line shows anywhere."""
    nb = notebook_page
    _open(nb, "reopen.ipynb", [
        "%load_ext puras_nb\nimport puras_nb",
        "%puras run demo/count n=3 delay=0.05",
        GRID,
        "%puras run demo/count n=2 delay=0.05 --bg -o counted\ncounted.wait(20)['status']",
        "%puras attach $counted -o again",
        "%puras jobs",
    ])  # fmt: skip
    nb.run_cell(0)
    nb.run_cell(1, timeout=30)
    grid_out = nb.run_cell(2, timeout=60)
    nb.run_cell(3, timeout=30)
    nb.run_cell(4, timeout=30)
    table_out = nb.run_cell(5, timeout=30)
    grid_out.locator(".puras-comparison").wait_for()
    until(lambda: grid_out.locator(".puras-comparison img").count() == 4, 30, nb)
    widths = grid_out.locator(".puras-comparison img").evaluate_all("a => a.map(i => i.getBoundingClientRect().width)")
    assert all(0 < w <= 128 for w in widths), f"grid images upscaled: {widths}"
    cols = grid_out.locator(".puras-grid").first.evaluate("g => getComputedStyle(g).gridTemplateColumns")
    first, *versions = (float(x) for x in re.findall(r"[\d.]+(?=px)", cols))
    assert first <= 0.25 * (first + sum(versions)), f"the input column takes too much: {cols}"
    _shot(grid_out, "grid")
    live = table_out.locator(".puras-jobs-live")
    live.wait_for()
    rows = live.locator("tbody tr").all_inner_texts()
    assert len(rows) == 6, f"one row per job (attach adds none): {rows}"
    assert not any("local/demo" in r for r in rows), f"a job named two ways: {rows}"
    assert table_out.locator(".progress").count() == 0, "no ipywidgets bar on top of the table's own"
    _shot(table_out, "jobs-table")

    nb.save()
    nb.shutdown_kernel()
    nb.open("reopen.ipynb")
    page_text = nb.panel.locator(".jp-Notebook").inner_text()
    until(lambda: nb.panel.locator(".puras-final").count() >= 3, 15, nb)
    nb.page.wait_for_timeout(2500)  # ipywidgets gives a missing model 2 s before it says so
    page_text = nb.panel.locator(".jp-Notebook").inner_text()
    assert MODEL_NOT_FOUND not in page_text, "the widget error line shows next to a static view"
    for output, what in ((nb.output(2), "grid"), (nb.output(5), "jobs table")):
        final = output.locator(".puras-final").first
        assert final.is_visible(), f"the {what} has no visible static view after reopening"
    assert nb.output(2).locator(".puras-final table.puras-grid img").count() == 4
    assert nb.output(5).locator(".puras-final tbody tr").count() == 6
    assert "succeeded" in nb.output(1).locator(".puras-final").first.inner_text()
    _shot(nb.output(2), "grid-reopened")
    _shot(nb.output(5), "jobs-table-reopened")
    nb.screenshot("look-reopened-notebook")


NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_run_all_finishes_in_jupyterlab(notebook_page: Any, name: str) -> None:
    """Run All, as a user clicks it: every code cell ends (no prompt waiting for input, no cell left at [*])."""
    nb = notebook_page
    shutil.copy(REPO / "notebooks" / name, nb.lab.root / name)
    nb.open(name)
    nb.js("await window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs');")
    nb.js("window.jupyterapp.commands.execute('notebook:run-all-cells');")
    # the model's execution counts: JupyterLab does not lay out cells scrolled out of view
    counts_js = """const cells = panel.content.model.cells; const out = [];
                   for (let i = 0; i < cells.length; i++) {
                     const c = cells.get(i); if (c.type === 'code') out.push(c.executionCount); }
                   return out;"""

    def finished() -> bool:
        return all(n is not None for n in nb.js(counts_js)) or nb.panel.locator(".jp-Stdin").count() > 0

    until(finished, 100, nb)
    counts = nb.js(counts_js)
    waiting = [i for i, n in enumerate(counts) if n is None]
    assert nb.panel.locator(".jp-Stdin").count() == 0, "a cell waits for typed input"
    assert not waiting, f"{len(waiting)} of {len(counts)} code cells did not run: {waiting}"
    nb.wait_kernel_idle(30)
    assert MODEL_NOT_FOUND not in nb.panel.locator(".jp-Notebook").inner_text()
    nb.screenshot(f"look-run-all-{Path(name).stem}")
