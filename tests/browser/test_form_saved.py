"""A form keeps its runs in a saved notebook (issue 23.2), in JupyterLab light and dark: live (the widget alone), saved
and reopened without a kernel (each run with its status and media, no "model not found"), exported with nbconvert
(no `<SkillForm …>`), and the stored stakeholder-app notebook opened without a kernel.
Screenshots: artifacts/browser/form-*.png.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.harness.looks import CONTRAST, exported, reopened, until, use_theme

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
CELLS = ["import puras_nb", 'puras_nb.form("demo/image")']
FORM = 1


def _type(form: Any, field: str, text: str) -> None:
    box = form.locator(f".puras-field-{field}").locator("input, textarea").first
    box.fill(text)
    box.press("Tab")  # ipywidgets text fields sync on change


def _generate(nb: Any, form: Any, prompt: str, version: str, finished: int) -> None:
    _type(form, "prompt", prompt)
    form.locator(".puras-version select").select_option(label=version)
    form.locator(".puras-run").click()
    done = form.locator(".puras-history .puras-status", has_text="succeeded")
    assert until(lambda: done.count() >= finished, 90, nb), form.locator(".puras-history").inner_text()


def _problems(output: Any, selector: str) -> list[dict]:
    found = output.locator(selector).evaluate_all(CONTRAST)
    assert found, f"no text under {selector}"
    return [t for t in found if t["ratio"] < 4.5 or t["clipped"]]


@pytest.mark.timeout(300)  # two runs live, in two themes, reopened in two themes and exported
def test_a_forms_runs_survive_save_reopen_and_export(notebook_page: Any, artifacts: Path) -> None:
    nb = notebook_page
    nb.page.set_viewport_size({"width": 1280, "height": 2200})  # the whole form in view, for its screenshots
    nb.lab.write_notebook("form.ipynb", CELLS)
    nb.open("form.ipynb")
    nb.run_cell(0, timeout=90)
    output = nb.run_cell(FORM, timeout=90)
    form = output.locator(".puras-form")
    form.locator(".puras-run").wait_for(timeout=60_000)
    _generate(nb, form, "a red <kite>", "v1", 1)
    _generate(nb, form, "a paper crane", "compare v1 and v2", 3)
    nb.page.wait_for_function(
        "() => document.querySelectorAll('.jp-OutputArea .puras-history .puras-comparison img').length >= 2",
        timeout=60_000,
    )
    assert not output.locator(".puras-form-static").is_visible(), "live, the widget alone shows"
    for dark in (False, True):
        use_theme(nb, dark)
        output.screenshot(path=str(artifacts / f"form-live-{'dark' if dark else 'light'}.png"))
    use_theme(nb, False)

    nb.page.wait_for_timeout(1500)  # the saved view is updated at most once a second
    saved = reopened(nb, "form.ipynb", FORM, ".puras-form-static")
    text = saved.inner_text()
    assert "2 runs below" in text and "#2 · demo/image compare" in text and "#1 · demo/image v1" in text, text
    assert "a red <kite>" in text, "the inputs, escaped and readable"
    assert saved.locator(".puras-badge-succeeded").count() == 3, "each job's status"
    assert saved.locator("img").count() >= 3, "each job's image"
    for dark in (False, True):
        use_theme(nb, dark)
        theme = "dark" if dark else "light"
        nb.output(FORM).screenshot(path=str(artifacts / f"form-reopened-{theme}.png"))
        problems = _problems(nb.output(FORM), ".puras-form-static")
        assert not problems, f"{theme}: {problems}"
    use_theme(nb, False)

    nb.page.goto(exported(nb.lab.root / "form.ipynb").as_uri())
    body = nb.page.locator("body").inner_text()
    assert "<SkillForm" not in body and "model not found" not in body
    assert "#2 · demo/image compare" in body and nb.page.locator(".puras-form-static img").count() >= 3
    nb.page.screenshot(path=str(artifacts / "form-exported.png"), full_page=True)


def test_the_stored_stakeholder_app_reads_without_a_kernel(notebook_page: Any, artifacts: Path) -> None:
    nb = notebook_page
    shutil.copy(REPO / "notebooks" / "stakeholder-app.ipynb", nb.lab.root / "stakeholder-app.ipynb")
    nb.open("stakeholder-app.ipynb")
    nb.shutdown_kernel()
    saved = nb.output(1).locator(".puras-form-static")
    saved.wait_for(timeout=15_000)
    nb.page.wait_for_timeout(2500)
    assert "model not found" not in nb.panel.locator(".jp-Notebook").inner_text()
    text = saved.inner_text()
    assert "demo/ugc-ad" in text and "run this cell with a kernel" in text, text
    nb.output(1).screenshot(path=str(artifacts / "form-stored-app.png"))
