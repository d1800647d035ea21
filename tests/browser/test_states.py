"""What a job's view says at each ending (issue 23: items 1 and 3), in JupyterLab light and dark: live, reopened
without a kernel, and exported with nbconvert. Screenshots: artifacts/browser/states-*.png.

- no network: a failed `not sent` state with no bar, its error once;
- cancelled mid-checklist: the bar stays where it stopped, in grey, and the step it was on reads `stopped`;
- Cancel during a blocking `%puras run`: one quiet line, no error;
- the jobs table: one bar split by outcome (a failed job takes its share, not the whole bar);
- the Log of a job that succeeded under its widget fills on its first open.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.harness.looks import CONTRAST, exported, until, use_theme

pytestmark = pytest.mark.browser

CELLS = [
    "%load_ext puras_nb\nimport time\nimport puras_nb\nfrom puras_nb import settings as puras_settings",
    # 1-3: no network
    "before = puras_settings.current()\npuras_nb.configure(api_base='http://127.0.0.1:9')",
    "%puras run demo/echo hi=1",
    "puras_settings.restore(before)",
    # 4-5: cancelled mid-checklist
    "%puras run demo/ugc-ad product='solar lantern' duration=6 --bg -o ad",
    "deadline = time.monotonic() + 60\n"
    "while time.monotonic() < deadline and not any(t['status'] == 'completed' for t in ad.todos or ()):\n"
    "    time.sleep(0.05)\n"
    "ad.cancel()['status']",
    # 6: Cancel pressed during a blocking run
    "%puras run demo/slow seconds=30",
    # 7-8: a job that succeeds under its widget, then one that fails, and the table of them all
    "counted = puras_nb.start('demo/count', {'n': 4, 'delay': 0.05})",
    "failing = puras_nb.start('demo/fail', {'after': 1, 'message': 'out of credits'}, display=False)\n"
    "failing.wait(10)\ncounted.wait(10)\n%puras jobs",
]
NO_NETWORK, CANCELLED, BLOCKING, COUNTED, TABLE = 2, 4, 6, 7, 8


def _shot(output: Any, name: str, artifacts: Path) -> None:
    output.scroll_into_view_if_needed()
    output.screenshot(path=str(artifacts / f"states-{name}.png"))


def _text_problems(output: Any) -> list[dict]:
    """Texts of a cell's output below 4.5:1 contrast or clipped."""
    return [t for t in output.locator(".puras-job, .puras-static").evaluate_all(CONTRAST)
            if t["ratio"] < 4.5 or t["clipped"]]


def _fill(locator: Any) -> tuple[int, ...]:
    colour = locator.evaluate("e => getComputedStyle(e).backgroundColor")
    return tuple(int(float(x)) for x in re.findall(r"[\d.]+", colour)[:3])


def _check_live(nb: Any) -> None:
    """What each view says live (run in the light theme; looked at again in the dark)."""
    unsent = nb.output(NO_NETWORK)
    job = unsent.locator(".puras-job").first
    assert job.locator(".puras-status").inner_text().strip() == "not sent"
    assert not job.locator(".puras-progress").is_visible(), "a job that was never sent has no bar"
    assert job.inner_text().count("cannot reach 127.0.0.1:9") == 1, job.inner_text()
    error = unsent.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']").inner_text()
    assert "cannot reach 127.0.0.1:9" in error and len(error.strip().splitlines()) == 1, error

    stopped = nb.output(CANCELLED).locator(".puras-job").first
    until(lambda: stopped.locator(".puras-status").inner_text().strip() == "cancelled", 30, nb)
    until(lambda: stopped.locator(".puras-stopped").count() == 1, 10, nb)
    assert "▶" not in stopped.inner_text(), "no step is still running"
    fill = stopped.locator(".progress-bar").first
    share = fill.evaluate("e => e.getBoundingClientRect().width / e.parentElement.getBoundingClientRect().width")
    assert 0.02 < share < 1, f"the bar stays where the job stopped: {share}"
    r, g, b = _fill(fill)
    assert max(r, g, b) - min(r, g, b) < 30, f"the bar of a cancelled job is grey, not coloured: {(r, g, b)}"

    line = nb.output(BLOCKING).locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stdout']")
    assert line.inner_text().strip().startswith("demo/slow cancelled · job ")
    assert nb.output(BLOCKING).locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0

    table = nb.output(TABLE).locator(".puras-jobs-live")
    parts = table.locator(".puras-outcomes > div")
    widths = parts.evaluate_all("ps => ps.map(p => p.getBoundingClientRect().width / p.parentElement.clientWidth)")
    assert len(widths) >= 3 and max(widths) < 0.9, f"one bar split by outcome: {widths}"


@pytest.mark.timeout(300)  # one notebook run live, in two themes, reopened and exported
def test_each_ending_reads_true_live_reopened_and_exported(notebook_page: Any, artifacts: Path) -> None:
    nb = notebook_page
    nb.lab.write_notebook("states.ipynb", CELLS)
    nb.open("states.ipynb")
    for index in range(BLOCKING):
        nb.run_cell(index, timeout=90)
    blocking = nb.run_cell(BLOCKING, wait=False)
    cancel = blocking.locator(".puras-job button.puras-cancel")
    cancel.wait_for(timeout=30_000)
    until(lambda: blocking.locator(".puras-status").inner_text().strip() == "running", 30, nb)
    cancel.click()
    nb.wait_cell_done(BLOCKING, timeout=15)
    for index in (COUNTED, TABLE):
        nb.run_cell(index, timeout=60)

    # the Log of a job that succeeded under its widget: full on the first open
    counted = nb.output(COUNTED).locator(".puras-job").first
    until(lambda: counted.locator(".puras-status").inner_text().strip() == "succeeded", 20, nb)
    counted.locator(".puras-details-toggle").click()  # it finished as one line: its log is behind the toggle
    until(lambda: "counted 4 of 4" in counted.locator(".puras-log-body").inner_text(), 10, nb)

    _check_live(nb)
    for dark in (False, True):
        use_theme(nb, dark)
        theme = "dark" if dark else "light"
        for index, name in ((NO_NETWORK, "not-sent"), (CANCELLED, "cancelled"), (BLOCKING, "blocking-cancel"),
                            (COUNTED, "log-first-open"), (TABLE, "table")):
            _shot(nb.output(index), f"{name}-{theme}", artifacts)
        problems = [p for i in (NO_NETWORK, CANCELLED, COUNTED) for p in _text_problems(nb.output(i))]
        assert not problems, f"{theme}: {problems}"
    use_theme(nb, False)

    nb.reopen("states.ipynb", finals=5)
    assert "model not found" not in nb.panel.locator(".jp-Notebook").inner_text()
    saved = {i: nb.output(i).locator(".puras-final").last for i in (NO_NETWORK, CANCELLED, COUNTED, TABLE)}
    assert "not sent" in saved[NO_NETWORK].inner_text()
    assert "cancelled" in saved[CANCELLED].inner_text()
    assert saved[COUNTED].locator("details.puras-log-static li").count() >= 5, "the saved log keeps every event"
    assert saved[TABLE].locator(".puras-outcomes > div").count() >= 3
    for index, name in ((NO_NETWORK, "not-sent"), (CANCELLED, "cancelled"), (COUNTED, "log"), (TABLE, "table")):
        _shot(nb.output(index), f"{name}-reopened", artifacts)

    nb.page.goto(exported(nb.lab.root / "states.ipynb").as_uri())
    body = nb.page.locator("body")
    text = body.inner_text()
    assert "not sent" in text and "cancelled" in text and "counted 4 of 4" not in text, "the log is folded"
    assert nb.page.locator("details.puras-log-static").count() >= 3
    nb.page.screenshot(path=str(artifacts / "states-exported.png"), full_page=True)
