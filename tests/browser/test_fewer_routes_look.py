"""What a server with fewer routes looks like (issue 20.4), in JupyterLab 4 with headless Chromium against the
official `puras serve`: the Cancel button that says the server cannot cancel, the feedback buttons that say it keeps
no feedback, and a comparison of inputs only (one "result" column, no v1/v2), readable in light and dark.
Screenshots: artifacts/browser/routes-*.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.harness.looks import CONTRAST, until
from tests.harness.puras_serve import PurasServe

pytestmark = pytest.mark.browser


def _readable(output: Any, theme: str) -> None:
    texts = output.evaluate(f"el => ({CONTRAST})([el])")
    low = [t for t in texts if t["ratio"] < 4.5 and t["text"]]
    assert not low, f"{theme}: low contrast {low[:3]}"


@pytest.mark.timeout(300)  # three live cells on puras serve, two themes, JupyterLab starting
def test_cancel_feedback_and_compare_on_puras_serve(notebook_page: Any, puras_serve: PurasServe,
                                                   artifacts: Path) -> None:
    nb = notebook_page
    nb.lab.write_notebook("routes.ipynb", [
        f"import puras_nb\npuras_nb.configure(api_key={puras_serve.api_key!r}, api_base={puras_serve.url!r}, "
        "skillpack='studio', local=False)\nslow = puras_nb.start('wait', {'seconds': 8})",
        "done = puras_nb.start('echo', {'prompt': 'rate me'})\ndone.result()",
        "puras_nb.compare('echo', [{'prompt': 'a short one'}, {'prompt': 'a longer prompt to compare'}])",
    ])
    nb.open("routes.ipynb")
    slow = nb.run_cell(0)
    slow.locator(".puras-cancel").first.click()
    button = slow.locator(".puras-cancel").first
    until(lambda: "No cancel on this server" in button.inner_text(), 10, nb)
    assert button.is_disabled()
    assert button.evaluate("b => b.scrollWidth <= b.clientWidth"), "the Cancel button's words are not cut"
    slow.screenshot(path=str(artifacts / "routes-cancel-light.png"))
    rated = nb.run_cell(1)
    until(lambda: rated.locator(".puras-feedback-up").count() > 0, 10, nb)
    rated.locator(".puras-feedback-up").first.click()
    note = rated.locator(".puras-feedback-note").first
    until(lambda: "no feedback" in note.inner_text(), 10, nb)
    assert note.inner_text().strip() == "no feedback on this server"
    assert note.locator("span").get_attribute("title") == "POST /v1/jobs/{id}/feedback answered 404"
    rated.screenshot(path=str(artifacts / "routes-feedback-light.png"))
    grid = nb.run_cell(2)
    until(lambda: grid.locator(".puras-comparison").count() > 0 and "result" in grid.inner_text(), 15, nb)
    until(lambda: grid.inner_text().count("succeeded") >= 2, 20, nb)
    heads = grid.locator(".puras-comparison .puras-grid b").all_inner_texts()
    assert heads == ["input", "result"], heads
    grid.screenshot(path=str(artifacts / "routes-compare-light.png"))
    for output in (slow, rated, grid):
        _readable(output, "light")
    nb.js("await window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'});")
    until(lambda: nb.page.evaluate("document.body.dataset.jpThemeLight") == "false", 10, nb)
    for name, output in (("cancel", slow), ("feedback", rated), ("compare", grid)):
        output.screenshot(path=str(artifacts / f"routes-{name}-dark.png"))
        _readable(output, "dark")
    nb.js("await window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'});")
