"""What the user sees in JupyterLab 4 (headless Chromium): live progress, media, cancel, escaping, saved state."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

pytestmark = pytest.mark.browser

TICKER = """\
import asyncio
import ipywidgets as w

bar = w.IntProgress(value=0, max=20, description="ticks")
label = w.HTML("tick 0")


async def tick():
    for i in range(1, 21):
        await asyncio.sleep(0.25)
        bar.value = i
        label.value = f"tick {i}"


_task = asyncio.get_running_loop().create_task(tick())
w.VBox([bar, label])
"""


def _bar_percent(output: Any) -> float:
    """The width of the first ipywidgets progress bar in `output`, in percent of its track."""
    return output.locator(".progress .progress-bar").first.evaluate(
        "el => 100 * el.getBoundingClientRect().width / el.parentElement.getBoundingClientRect().width"
    )


def test_background_task_updates_reach_the_page_with_no_other_cell_run(notebook_page: Any) -> None:
    """ipykernel issue 1510: a task started by a cell keeps updating its widgets after the cell has returned."""
    notebook_page.lab.write_notebook("ticker.ipynb", [TICKER])
    notebook_page.open("ticker.ipynb")
    output = notebook_page.run_cell(0)
    label = output.locator(".widget-html-content")
    label.wait_for()
    prompt = notebook_page.prompt(0)
    seen: set[int] = set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        match = re.fullmatch(r"tick (\d+)", label.inner_text().strip())
        assert match, label.inner_text()
        seen.add(int(match.group(1)))
        if 20 in seen:
            break
        notebook_page.page.wait_for_timeout(100)
    assert 20 in seen, f"the task stopped at tick {max(seen)} (ticks seen on the page: {sorted(seen)})"
    assert len(seen - {0, 20}) >= 5, f"the page saw too few intermediate ticks: {sorted(seen)}"
    assert notebook_page.prompt(0) == prompt, "no other execution may happen"
    assert _bar_percent(output) == pytest.approx(100, abs=1)
    notebook_page.screenshot("0-background-task-ticker")
