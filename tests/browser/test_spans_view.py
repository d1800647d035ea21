"""The spans waterfall (`job.spans()`, `%puras spans`) in JupyterLab 4 with headless Chromium, light and dark: the
emulator's spans (a run and its steps) and puras serve's (run, steps, model calls, tools), readable, unclipped, and
kept in a notebook reopened without a kernel. Screenshots: artifacts/browser/spans-*.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.harness.looks import CONTRAST, until
from tests.harness.puras_serve import PurasServe

pytestmark = pytest.mark.browser

# Each bar's fill against its track, as rendered.
BARS = """(root) => [...root.querySelectorAll('.puras-span-bar')].map(bar => {
  const rgb = s => s.match(/[\\d.]+/g).map(Number).slice(0, 3);
  const rect = bar.getBoundingClientRect(), track = bar.parentElement.getBoundingClientRect();
  return {fill: rgb(getComputedStyle(bar).backgroundColor), track: rgb(getComputedStyle(bar.parentElement)
          .backgroundColor), inside: rect.left >= track.left - 0.5 && rect.right <= track.right + 0.5,
          width: rect.width};
})"""


def _luminance(rgb: list[float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _ratio(a: list[float], b: list[float]) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _check(output: Any, theme: str) -> None:
    """Every text at least 4.5:1, nothing clipped, every bar inside its track and at least 3:1 against it."""
    view = output.locator(".puras-spans").first
    texts = view.evaluate(f"el => ({CONTRAST})([el])")
    assert texts, "no text measured"
    low = [t for t in texts if t["ratio"] < 4.5]
    assert not low, f"{theme}: low contrast {low[:3]}"
    clipped = [t for t in texts if t["clipped"]]
    assert not clipped, f"{theme}: clipped {clipped[:3]}"
    bars = view.evaluate(BARS)
    assert bars and all(b["inside"] and b["width"] >= 1.5 for b in bars), bars[:3]
    weak = [b for b in bars if _ratio(b["fill"], b["track"]) < 3.0]
    assert not weak, f"{theme}: bars under 3:1 against the track {weak[:3]}"


@pytest.mark.timeout(300)  # two live cells, two themes, reopened; JupyterLab starting
def test_spans_waterfall_light_dark_and_reopened(notebook_page: Any, puras_serve: PurasServe, artifacts: Path) -> None:
    nb = notebook_page
    nb.lab.write_notebook("spans.ipynb", [
        "%load_ext puras_nb\nimport puras_nb\n"
        "ad = puras_nb.start('demo/ugc-ad', {'product': 'a red mug', 'duration': 2}, display=False)\n"
        "ad.result(); ad.spans()",
        f"puras_nb.configure(api_key={puras_serve.api_key!r}, api_base={puras_serve.url!r}, skillpack='studio',"
        " local=False)\nposter = puras_nb.start('poster', {'photo': 'https://example.com/a.png',"
        " 'headline': 'Spans <b>&</b> bars'}, display=False)\nposter.result()\n%puras spans $poster",
    ])
    nb.open("spans.ipynb")
    emulated = nb.run_cell(0, timeout=120)
    served = nb.run_cell(1, timeout=60)
    for output in (emulated, served):
        until(lambda output=output: output.locator(".puras-spans tr").count() > 1, 20, nb)
    assert served.locator(".puras-span-tool").count() >= 5 and served.locator(".puras-span-llm").count() >= 5
    assert "Spans <b>&</b> bars" not in served.inner_html(), "a result's text never becomes markup"
    emulated.screenshot(path=str(artifacts / "spans-emulator-light.png"))
    served.screenshot(path=str(artifacts / "spans-serve-light.png"))
    _check(emulated, "light")
    _check(served, "light")
    nb.js("await window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'});")
    until(lambda: nb.page.evaluate("document.body.dataset.jpThemeLight") == "false", 10, nb)
    served.screenshot(path=str(artifacts / "spans-serve-dark.png"))
    emulated.screenshot(path=str(artifacts / "spans-emulator-dark.png"))
    _check(emulated, "dark")
    _check(served, "dark")
    nb.js("await window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'});")
    nb.save()
    nb.shutdown_kernel()
    nb.open("spans.ipynb")
    reopened = nb.output(1)
    assert reopened.locator(".puras-span-bar").count() == served.locator(".puras-span-bar").count()
    reopened.screenshot(path=str(artifacts / "spans-reopened.png"))
