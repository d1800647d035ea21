"""Text that reads (issue 23.7) in JupyterLab with headless Chromium, wide and narrow, light and dark:
`%puras help` and `%puras skills` break lines at spaces only (never "vers|ion", "demo/ugc-|ad") and fit the
output (one column when narrow), with no `$name` typeset as math; a file name
under its media stays on one line with its middle elided and the whole name as the tooltip (never "…-mor." over
"png"), and an audio player is wide enough to show its duration. Live, and reopened without a kernel.

Screenshots go to artifacts/browser/text-*.png.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
DARK = "await window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'});"
LIGHT = "await window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'});"
PROMPT = "a lighthouse on a cliff above the sea in the early morning"

# Every word (a run of non-space characters) under `el` whose characters sit on more than one line.
SPLIT_WORDS = """el => {
  const split = [];
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const m of node.data.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.bottom)));
      if (lines.size > 1) split.push(m[0]);
    }
  }
  return split;
}"""

# Each file name shown under a media item (hidden static copies left out): its text, its tooltip, how many lines
# it takes, whether it is elided and whether it stays within its media.
NAMES = """els => els.filter(el => el.getClientRects().length).map(el => {
  const lines = new Set([...el.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
  const head = el.firstElementChild;
  return {text: el.textContent, title: el.title, lines: lines.size, elided: head.scrollWidth > head.clientWidth,
          inside: el.getBoundingClientRect().right <= el.closest('.puras-media').getBoundingClientRect().right + 1};
})"""


def artifacts_dir() -> Path:
    """The folder conftest.py puts screenshots in."""
    return Path(os.environ.get("PURAS_NB_ARTIFACTS") or REPO / "artifacts") / "browser"


def _until(check: Callable[[], Any], timeout: float, nb: Any) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        nb.page.wait_for_timeout(100)
    return check()


def _shot(output: Any, name: str) -> None:
    output.screenshot(path=str(artifacts_dir() / f"text-{name}.png"))


def _check_words(output: Any, what: str, state: str) -> None:
    """No word split over two lines, no `$name ... $name` typeset as math, nothing wider than the output."""
    split = output.evaluate(SPLIT_WORDS)
    assert split == [], f"{what} ({state}) breaks inside words: {split}"
    assert output.locator("mjx-container, .MathJax").count() == 0, f"{what} ({state}) has text typeset as math"
    box = output.locator(".puras-static").first
    overflow = box.evaluate("el => el.scrollWidth - el.clientWidth")
    assert overflow <= 1, f"{what} ({state}) is {overflow} px wider than its output"


def _check_names(output: Any, expected: set[str], state: str) -> None:
    names = output.locator(".puras-media .puras-name").evaluate_all(NAMES)
    assert {n["text"] for n in names} >= expected, (names, expected)
    for name in names:
        assert name["lines"] == 1 and name["title"] == name["text"] and name["inside"], (state, name)


def _check_audio(output: Any, state: str) -> None:
    widths = output.locator("audio").evaluate_all(
        "els => els.filter(a => a.getClientRects().length)"
        ".map(a => [a.getBoundingClientRect().width,"
        " (a.closest('.puras-gallery') || a.closest('.jp-OutputArea-output')).clientWidth])"
    )
    assert widths, f"no audio player ({state})"
    for width, room in widths:  # narrower than about 200 px, Chrome's controls drop the duration
        assert min(259, room) <= width <= room + 1, f"audio player {width:.0f} px wide in {room} px ({state})"


def test_help_skills_names_and_audio_read_wide_and_narrow_light_and_dark(notebook_page: Any) -> None:
    nb = notebook_page
    nb.lab.write_notebook("text.ipynb", [
        "%load_ext puras_nb\nimport puras_nb",
        "%puras help",
        "%puras skills",
        f'%puras run demo/gallery prompt="{PROMPT}" n=2 --no-display -o g\npuras_nb.show(g)',
        '%puras run demo/speech text="Good morning from the lighthouse" --no-display -o s\npuras_nb.show(s)',
    ])  # fmt: skip
    nb.open("text.ipynb")
    nb.run_cell(0)
    help_out = nb.run_cell(1)
    skills_out = nb.run_cell(2)
    gallery_out = nb.run_cell(3, timeout=120)
    speech_out = nb.run_cell(4, timeout=120)
    help_out.locator(".puras-help").wait_for()
    skills_out.locator(".puras-skills").wait_for()
    assert _until(lambda: gallery_out.locator(".puras-media img >> visible=true").count() == 2, 90, nb)
    assert _until(lambda: speech_out.locator(".puras-media audio >> visible=true").count() == 1, 90, nb)
    names = {f"a-lighthouse-on-a-cliff-above-the-sea-in-{i}.png" for i in (1, 2)}  # the emulator cuts its slug
    for width, theme in ((1280, "light"), (620, "light"), (620, "dark"), (1280, "dark")):
        nb.page.set_viewport_size({"width": width, "height": 900})
        nb.js(DARK if theme == "dark" else LIGHT)
        nb.page.wait_for_timeout(600)  # the theme's stylesheet and the new layout
        state = f"{width} px, {theme}"
        for output, what in ((help_out, "help"), (skills_out, "skills")):
            _check_words(output, f"%puras {what}", state)
            _shot(output, f"{what}-{width}-{theme}")
        _check_names(gallery_out, names, state)
        _check_names(speech_out, set(), state)
        _check_audio(speech_out, state)
        _shot(gallery_out, f"show-gallery-{width}-{theme}")
        _shot(speech_out, f"show-speech-{width}-{theme}")
    long_names = gallery_out.locator(".puras-media .puras-name").evaluate_all(NAMES)
    assert any(n["elided"] for n in long_names), f"a name wider than its image is elided at 620 px: {long_names}"

    nb.save()
    nb.shutdown_kernel()
    nb.open("text.ipynb")  # reopened without a kernel: the saved help, table and static views
    nb.page.set_viewport_size({"width": 620, "height": 900})
    nb.page.wait_for_timeout(2500)  # ipywidgets gives a missing model 2 s before it says so
    gallery_out, speech_out = nb.output(3), nb.output(4)
    assert _until(lambda: gallery_out.locator(".puras-final .puras-media img >> visible=true").count() == 2, 60, nb)
    _check_words(nb.output(1), "%puras help reopened", "620 px, dark")
    _check_words(nb.output(2), "%puras skills reopened", "620 px, dark")
    _check_names(gallery_out.locator(".puras-final"), names, "reopened")
    _check_audio(speech_out.locator(".puras-final"), "reopened")
    _shot(gallery_out, "show-gallery-reopened")
    _shot(speech_out, "show-speech-reopened")
