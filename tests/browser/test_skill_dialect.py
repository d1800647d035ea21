"""The card and the form of a skill in the Puras dialect (demo/ugc-ad: a product text, an image, a colour, examples,
declared outputs) in JupyterLab, light and dark: the title heads both, the file picker takes a URL or a file, the
colour picker and the text area are there, one click opens an example in the card and fills the form, and a run
shows its declared `text` output as text. Every text is readable (contrast 4.5:1, nothing clipped).

Screenshots: artifacts/browser/dialect-card-{light,dark}.png and dialect-form-{light,dark}.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.harness.looks import CONTRAST, until

pytestmark = pytest.mark.browser

THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


def _unreadable(page: Any, selector: str) -> list[dict]:
    found = page.locator(selector).evaluate_all(CONTRAST)
    assert found, f"no text under {selector}"
    return [t for t in found if t["ratio"] < 4.5 or t["clipped"]]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("theme", list(THEMES))
def test_the_card_and_form_of_a_dialect_skill(notebook_page: Any, artifacts: Path, theme: str) -> None:
    nb = notebook_page
    nb.lab.write_notebook(f"dialect-{theme}.ipynb", [
        "import puras_nb",
        'puras_nb.skill("demo/ugc-ad")',
        'form = puras_nb.form("demo/ugc-ad")\nform',
    ])  # fmt: skip
    nb.open(f"dialect-{theme}.ipynb")
    nb.page.evaluate(f"() => window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{THEMES[theme]}'}})")
    light = "true" if theme == "light" else "false"
    nb.page.locator(f"body[data-jp-theme-light='{light}']").wait_for(state="attached", timeout=30_000)
    for index in range(3):
        nb.run_cell(index, timeout=120)

    card = nb.output(1).locator(".puras-skill")
    assert card.locator(".puras-skill-title b").first.inner_text() == "UGC ad"
    examples = card.locator("details.puras-skill-example")
    assert examples.count() == 3 and examples.nth(0).get_attribute("open") is not None
    assert not examples.nth(1).locator("pre").is_visible()
    examples.nth(1).locator("summary").click()  # one click opens the second example's ready cell
    scarf = examples.nth(1).locator("pre")
    scarf.wait_for(state="visible")
    assert "Midnight Silk Scarf" in scarf.inner_text() and '"#c9a227"' in scarf.inner_text()

    form = nb.output(2).locator(".puras-form")
    form.locator(".puras-run").wait_for(timeout=60_000)
    assert form.locator(".puras-skill-heading b").inner_text() == "UGC ad"
    photo = form.locator(".puras-field-photo")
    assert photo.locator(".widget-upload").inner_text().strip().startswith("Choose file")
    assert photo.locator("input[type=text]").get_attribute("placeholder").startswith("URL, drive path")
    assert form.locator(".puras-field-color input[type=color]").count() == 1
    assert form.locator(".puras-field-product textarea").count() == 1
    buttons = form.locator("button.puras-example")
    assert buttons.count() == 2
    buttons.nth(1).click()  # the scarf: its product, duration, tone and brand colour fill the form
    product = form.locator(".puras-field-product textarea")
    assert until(lambda: product.input_value() == "Midnight Silk Scarf", 30, nb)
    colour = form.locator(".puras-field-color input[type=color]")  # each field's value comes in a message of its own
    assert until(lambda: colour.input_value() == "#c9a227", 30, nb), colour.input_value()
    bad = _unreadable(nb.page, ".jp-OutputArea .puras-skill, .jp-OutputArea .puras-form")

    form.locator(".puras-run").click()
    entry = form.locator(".puras-history .puras-run-entry").first
    entry.locator(".puras-status", has_text="succeeded").wait_for(timeout=180_000)
    script = entry.locator(".puras-text-value").first
    script.wait_for(timeout=30_000)
    assert "Scarf" in script.inner_text() or script.inner_text().strip()
    nb.page.set_viewport_size({"width": 1280, "height": 2600})  # the whole form and its run in one shot
    nb.page.wait_for_timeout(500)
    card.screenshot(path=str(artifacts / f"dialect-card-{theme}.png"))
    form.screenshot(path=str(artifacts / f"dialect-form-{theme}.png"))
    bad += _unreadable(nb.page, ".jp-OutputArea .puras-skill, .jp-OutputArea .puras-form")
    assert not bad, "\n".join(map(str, bad))
