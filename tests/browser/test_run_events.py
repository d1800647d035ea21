"""What a job's events say of its run (issue 20.5), in JupyterLab light and dark, live and reopened without a kernel,
and exported (nbconvert): steps named by their `tool_use` labels, a subagent's events in a group of the log, and the
states beside the status (waiting for approval, approval denied, cost capped, resumed) as a badge and a line that says
what to do. The runs are the emulator's `demo/storyboard`, over HTTP. Screenshots: artifacts/browser/run-events-*.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.harness.looks import CONTRAST, exported, until, use_theme

pytestmark = pytest.mark.browser

CELLS = [
    "%load_ext puras_nb",
    "%puras run demo/storyboard scenes=2 delay=0.2 approval=denied hold=25 --bg",
    "%puras run demo/storyboard scenes=4 delay=0 cap_micros=16000",
    "%puras run demo/storyboard scenes=2 delay=0 resume_from=3",
]
WAITING, CAPPED, RESUMED = 1, 2, 3


def _problems(output: Any) -> list[dict]:
    """Texts of a cell's job views below 4.5:1 contrast or clipped."""
    return [t for t in output.locator(".puras-job, .puras-static").evaluate_all(CONTRAST)
            if t["ratio"] < 4.5 or t["clipped"]]


def _look(nb: Any, artifacts: Path, names: tuple[str, str, str], when: str) -> None:
    """Screenshot the three runs' outputs in the light and the dark theme (`run-events-<name>-<when><theme>.png`);
    every text of theirs reads at 4.5:1, unclipped. Back to light after."""
    for dark in (False, True):
        use_theme(nb, dark)
        theme = "dark" if dark else "light"
        for index, name in zip((WAITING, CAPPED, RESUMED), names, strict=True):
            output = nb.output(index)
            output.scroll_into_view_if_needed()
            output.screenshot(path=str(artifacts / f"run-events-{name}-{when}{theme}.png"))
        problems = [p for i in (WAITING, CAPPED, RESUMED) for p in _problems(nb.output(i))]
        assert not problems, f"{when}{theme}: {problems}"
    use_theme(nb, False)


@pytest.mark.timeout(300)  # one notebook run live, in two themes, then reopened in two themes
def test_steps_subagents_and_states_read_live_and_reopened(notebook_page: Any, artifacts: Path) -> None:
    nb = notebook_page
    nb.lab.write_notebook("run-events.ipynb", CELLS)
    nb.open("run-events.ipynb")
    for index in range(len(CELLS)):
        nb.run_cell(index, timeout=90)

    waiting = nb.output(WAITING).locator(".puras-job").first
    until(lambda: waiting.locator(".puras-pill-approval").count() == 1, 30, nb)
    head = waiting.inner_text()
    assert "needs approval" in head and "waiting for approval of `send_email`" in head, head
    assert "approve or deny it in the Puras dashboard" in head and "Email the client" in head, head
    assert "✓ Caption scene 2" in head, "the steps by their labels, a subagent's under it"

    capped = nb.output(CAPPED).locator(".puras-job").first
    until(lambda: capped.locator(".puras-status").inner_text().strip() == "failed", 30, nb)
    pill = capped.locator(".puras-pill-cost_capped")
    assert pill.inner_text().strip() == "cost capped"
    assert "cost capped at $0.0168 of the $0.0160 limit, at step 5" in capped.inner_text()
    assert "■" not in capped.inner_text() and "✓ Sketch scene 3" in capped.inner_text(), "it stopped between steps"
    assert "Sketch scene 4" not in capped.inner_text()
    capped.locator(".puras-log").get_by_text("Log (last 50 events)").click()
    until(lambda: "cost_capped" in capped.locator(".puras-log").inner_text(), 10, nb)

    resumed = nb.output(RESUMED).locator(".puras-job").first
    until(lambda: resumed.locator(".puras-details-toggle").count() == 1, 30, nb)
    assert resumed.locator(".puras-line-box .puras-pill-resumed").inner_text().strip() == "resumed"
    resumed.locator(".puras-details-toggle").click()
    until(lambda: resumed.locator("details.puras-subagent").count() == 1, 10, nb)
    sub = resumed.locator("details.puras-subagent")
    assert "captions" in sub.locator("summary").inner_text() and sub.get_attribute("open") is None, "folded: it ended"
    sub.locator("summary").click()
    until(lambda: "Caption scene 1 (set_output)" in sub.inner_text(), 10, nb)

    _look(nb, artifacts, ("waiting", "capped", "resumed"), "")

    until(lambda: waiting.locator(".puras-status").inner_text().strip() == "succeeded", 40, nb)
    until(lambda: waiting.locator(".puras-pill-approval").inner_text().strip() == "approval denied", 10, nb)
    # the saved view is its own output (hidden beside the widget), updated right after the widget: saved before
    # it arrives (a loaded machine), the notebook keeps the view from before the last events
    final_pills = nb.output(WAITING).locator(".puras-final .puras-pill-approval")
    until(lambda: "approval denied" in final_pills.evaluate_all("els => els.map(e => e.textContent.trim())"), 10, nb)
    nb.reopen("run-events.ipynb", finals=3)
    saved = {i: nb.output(i).locator(".puras-final").last for i in (WAITING, CAPPED, RESUMED)}
    assert saved[WAITING].locator(".puras-pill-approval").first.inner_text().strip() == "approval denied"
    assert saved[CAPPED].locator(".puras-state-cost_capped").inner_text().startswith("cost capped")
    assert saved[RESUMED].locator(".puras-pill-resumed").count() == 1
    saved[CAPPED].locator("details.puras-log-static > summary").click()
    saved[WAITING].locator("details.puras-line-details > summary .puras-summary").click()
    logs = saved[WAITING].locator("details.puras-log-static")
    logs.locator("> summary").click()
    logs.locator("details.puras-subagent > summary").click()
    until(lambda: "Caption scene 1 (set_output)" in logs.inner_text(), 10, nb)
    _look(nb, artifacts, ("denied", "capped", "resumed"), "reopened-")

    nb.page.goto(exported(nb.lab.root / "run-events.ipynb").as_uri())
    page = nb.page.locator("body")
    assert [p.inner_text().strip() for p in page.locator(".puras-pill").all()] == [
        "approval denied", "cost capped", "resumed"], "each state's badge once, where the run shows"
    assert "cost capped at $0.0168 of the $0.0160 limit, at step 5" in page.inner_text(), "no math made of the $s"
    nb.page.screenshot(path=str(artifacts / "run-events-exported.png"), full_page=True)
