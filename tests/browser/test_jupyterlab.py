"""What the user sees in JupyterLab 4 and Notebook 7 (headless Chromium): live progress, media, cancel, escaping,
saved state."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

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


# -- puras-nb in the browser ---------------------------------------------------------------------

LOAD = "%load_ext puras_nb"
JOB = ".puras-job"


def _open_with_magics(nb: Any, name: str, *cells: str) -> None:
    """Write a notebook of `%load_ext puras_nb` then `cells`, open it and run the first cell."""
    nb.lab.write_notebook(name, [LOAD, *cells])
    nb.open(name)
    nb.run_cell(0)


def _job(output: Any) -> Any:
    """The live job widget in a cell's output."""
    return output.locator(JOB).first


def _status(output: Any) -> str:
    return _job(output).locator(".puras-status").inner_text().strip()


def _progress(output: Any) -> float:
    """The job widget's bar, in percent of its track; 100 for a job that finished as one line (it has no bar)."""
    return _job(output).evaluate(
        """j => { const bar = j.querySelector('.puras-progress .progress .progress-bar');
                  if (!bar) return j.querySelector('.puras-line-box') ? 100 : NaN;
                  const track = bar.parentElement.getBoundingClientRect().width;
                  return track ? 100 * bar.getBoundingClientRect().width / track : NaN; }"""
    )


def _one_line(output: Any, *parts: str) -> None:
    """The job ended as one line, its bar gone and every part in the line."""
    line = _job(output).locator(".puras-line-box")
    line.wait_for(timeout=10_000)
    assert _job(output).locator(".puras-progress").count() == 0
    for part in parts:
        assert part in line.inner_text(), (part, line.inner_text())


def _watch(nb: Any, index: int, until: str, timeout: float) -> list[tuple[str, float, str]]:
    """Sample (status, bar %, cell prompt) of cell `index`'s job widget every 0.1 s until the status reads `until`."""
    output = nb.output(index)
    _job(output).locator(".puras-status").wait_for(timeout=timeout * 1000)
    samples: list[tuple[str, float, str]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        samples.append((_status(output), _progress(output), nb.prompt(index)))
        if samples[-1][0] == until:
            return samples
        nb.page.wait_for_timeout(100)
    raise AssertionError(f"the status never read {until!r} in {timeout} s; samples: {samples[-20:]}")


def _until(nb: Any, predicate: Callable[[], bool], timeout: float) -> bool:
    """Whether `predicate()` becomes true within `timeout` seconds (checked every 0.1 s)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        nb.page.wait_for_timeout(100)
    return True


def _partial(samples: list[tuple[str, float, str]]) -> list[tuple[str, float, str]]:
    """The samples where the page showed the bar strictly between empty and full."""
    return [sample for sample in samples if 1 < sample[1] < 99]


def test_blocking_run_reaches_100_percent_and_succeeded(notebook_page: Any) -> None:
    """Scenario 1: `%puras run demo/count` blocking; the bar advances to 100 % and the status reads succeeded."""
    nb = notebook_page
    _open_with_magics(nb, "blocking.ipynb", "%puras run demo/count n=8 delay=0.4")
    output = nb.run_cell(1, wait=False)
    samples = _watch(nb, 1, "succeeded", timeout=60)
    nb.wait_cell_done(1)
    partial = _partial(samples)
    assert len({pct for _s, pct, _p in partial}) >= 2, f"the bar did not advance step by step: {samples}"
    assert all("*" in prompt for _s, _pct, prompt in partial), f"the cell was not blocking: {samples}"
    assert _status(output) == "succeeded"
    _one_line(output, '{"count": 8}')
    nb.screenshot("1-blocking-run-succeeded")


def test_background_job_advances_with_no_other_cell_run(notebook_page: Any) -> None:
    """Scenario 2: a `--bg` job; the cell returns at once and the bar still advances, then the result appears."""
    nb = notebook_page
    _open_with_magics(nb, "background.ipynb", "%puras run demo/count n=10 delay=0.4 --bg")
    output = nb.run_cell(1, timeout=15)
    prompt = nb.prompt(1)
    assert _until(nb, lambda: 20 < _progress(output) < 80, 30), "the bar never reached the middle"
    nb.screenshot("2-background-job-running")
    samples = _watch(nb, 1, "succeeded", timeout=60)
    assert {p for _s, _pct, p in samples} == {prompt}, f"no other execution may happen: {samples}"
    partial = _partial(samples)
    assert len({pct for _s, pct, _p in partial}) >= 2, f"the bar did not advance step by step: {samples}"
    _one_line(output, '{"count": 10}')
    nb.screenshot("2-background-job-succeeded")


MEDIA_READY = """(el, [ready, event]) => new Promise((ok, fail) => {
    const check = () => { if (el.readyState >= ready && el.duration > 0) ok(); };
    el.addEventListener(event, check);
    el.addEventListener('error', () => fail(el.tagName + ' error: ' + (el.error && el.error.message)));
    check();
    setTimeout(() => fail(el.tagName + ': readyState ' + el.readyState + ', duration ' + el.duration), 20000);
})"""


def test_ugc_ad_media_play_in_the_browser(notebook_page: Any) -> None:
    """Scenario 3: demo/ugc-ad; the video has a duration and a frame, the thumbnail decodes, the audio loads."""
    nb = notebook_page
    _open_with_magics(nb, "ugc.ipynb", '%puras run demo/ugc-ad product="solar lantern" duration=3')
    output = nb.run_cell(1, timeout=120)
    _media_play(output)
    nb.screenshot("3-ugc-ad-media")


def test_notebook7_media_play_and_the_saved_notebook_reads_without_a_kernel(notebook7_page: Any) -> None:
    """Scenarios 3 and 6 in Notebook 7: demo/ugc-ad's video, thumbnail and voiceover load in the live view; saved,
    its kernel shut down and reopened, the static view shows how the job ended, with no "model not found"."""
    nb = notebook7_page
    _open_with_magics(nb, "ugc7.ipynb", '%puras run demo/ugc-ad product="solar lantern" duration=2')
    _media_play(nb.run_cell(1, timeout=120))
    nb.screenshot("3-notebook7-ugc-ad-media")
    nb.save()
    nb.shutdown_kernel()
    nb.open("ugc7.ipynb")
    nb.shutdown_kernel()
    final = nb.output(1).locator(".puras-static").last
    assert _until(nb, final.is_visible, 15), "the reopened notebook shows no static view"
    nb.page.wait_for_timeout(2500)  # ipywidgets gives a missing model 2 s before it says so
    assert "model not found" not in nb.panel.locator(".jp-Notebook").inner_text()
    assert "succeeded" in final.inner_text() and final.locator("img").count() >= 1, final.inner_text()
    nb.screenshot("6-notebook7-reopened-without-kernel")


def _media_play(output: Any) -> None:
    """The job in `output` succeeded and its media work: the video has a duration and a frame and seeks, the
    thumbnail decodes, the audio loads."""
    job = _job(output)
    assert _status(output) == "succeeded"
    video, image, audio = (job.locator(f"{tag}").first for tag in ("video", "img", "audio"))
    video.wait_for(timeout=10_000)
    video.scroll_into_view_if_needed()
    video.evaluate(MEDIA_READY, [2, "loadeddata"])
    state = video.evaluate("v => ({ready: v.readyState, duration: v.duration, w: v.videoWidth, h: v.videoHeight})")
    assert state["ready"] >= 2 and state["duration"] > 0 and state["w"] > 0, state
    image.evaluate("i => i.complete || new Promise(ok => { i.onload = ok; i.onerror = ok; })")
    assert image.evaluate("i => i.naturalWidth") > 0, image.evaluate("i => i.outerHTML.slice(0, 200)")
    audio.evaluate(MEDIA_READY, [1, "loadedmetadata"])
    video.evaluate("v => new Promise(ok => { v.addEventListener('seeked', ok, {once: true}); v.currentTime = 1; })")
    assert video.evaluate("v => v.readyState") >= 2
    job.scroll_into_view_if_needed()


def _emulator_job(lab: Any, skill: str, short_id: str) -> dict:
    """The emulator's own record of the job whose id starts with `short_id` (as the widget header shows it)."""
    headers = {"Authorization": f"Bearer {lab.env['PURAS_API_KEY']}"}
    base = lab.env["PURAS_API_BASE"]
    jobs = httpx.get(f"{base}/v1/jobs", params={"skill": skill}, headers=headers, timeout=10).json()
    ids = [job["id"] for job in jobs if job["id"].startswith(short_id)]
    assert len(ids) == 1, f"no single {skill} job with id {short_id}…: {[job['id'] for job in jobs]}"
    return httpx.get(f"{base}/v1/jobs/{ids[0]}", headers=headers, timeout=10).json()


def test_cancel_button_cancels_the_remote_job(notebook_page: Any) -> None:
    """Scenario 4: clicking Cancel on a running job; the widget reads cancelled and so does the emulator."""
    nb = notebook_page
    _open_with_magics(nb, "cancel.ipynb", "%puras run demo/hang --bg")
    output = nb.run_cell(1, timeout=15)
    _watch(nb, 1, "running", timeout=30)
    short_id = _job(output).locator(".puras-header code").inner_text().strip()
    _job(output).locator("button.puras-cancel").click()
    _watch(nb, 1, "cancelled", timeout=30)
    remote = _emulator_job(nb.lab, "hang", short_id)
    assert remote["status"] == "cancelled", remote
    nb.screenshot("4-cancelled")


XSS = {
    "script": "<script>alert('script')</script>",
    "img": "<img src=x onerror=alert('img')>",
    "link": "javascript:alert('link')",
    "image": {"url": "javascript:alert('media')", "mime": "image/png"},
}


def test_result_with_xss_payload_is_shown_as_text(notebook_page: Any) -> None:
    """Scenario 5: a result carrying HTML and `javascript:` payloads; no dialog fires and the text is visible."""
    nb = notebook_page
    _open_with_magics(nb, "xss.ipynb", "%%puras demo/echo\n" + json.dumps(XSS, indent=1))
    output = nb.run_cell(1, timeout=30)
    job = _job(output)
    assert _status(output) == "succeeded"
    job.locator(".puras-details-toggle").click()  # a media-free result folds behind its one line
    result = job.locator(".puras-details")
    for text in ("<script>alert('script')</script>", "<img src=x onerror=alert('img')>", "javascript:alert('link')"):
        result.get_by_text(text, exact=False).first.wait_for(state="visible", timeout=10_000)
    nb.page.wait_for_timeout(1500)
    assert nb.dialogs == [], f"a payload ran: {nb.dialogs}"
    for selector in ("script", "img[src='x']", "[href^='javascript' i]", "[src^='javascript' i]", "[onerror]"):
        assert output.locator(selector).count() == 0, f"{selector} made it into the page"
    nb.screenshot("5-xss-escaped")


def test_saved_notebook_without_kernel_shows_final_state(notebook_page: Any) -> None:
    """Scenario 6: run, save, shut the kernel down and reopen; the static fallback shows how the jobs ended."""
    nb = notebook_page
    cells = ["%puras run demo/count n=4 delay=0.1", "%puras run demo/count n=6 delay=0.2 --bg"]
    _open_with_magics(nb, "saved.ipynb", *cells)
    nb.run_cell(1, timeout=30)
    nb.run_cell(2, timeout=15)
    _watch(nb, 1, "succeeded", timeout=30)
    _watch(nb, 2, "succeeded", timeout=30)
    nb.save()
    nb.shutdown_kernel()
    nb.open("saved.ipynb")
    nb.shutdown_kernel()
    nb.panel.locator(".jp-Toolbar-kernelName").get_by_text("No Kernel").wait_for()
    saved = nb.lab.read_notebook("saved.ipynb")
    for index, count in ((1, "4"), (2, "6")):
        final = nb.output(index).locator(".puras-static").last
        kept = [(o.output_type, sorted(o.get("data", {}))) for o in saved.cells[index].outputs]
        assert _until(nb, final.is_visible, 15), f"cell {index} shows no static view; the saved outputs: {kept}"
        text = final.inner_text()
        assert "succeeded" in text, f"cell {index} fallback: {text!r}"
        assert re.search(rf"count\W+{count}\b", text), f"cell {index} fallback lacks the result: {text!r}"
    nb.screenshot("6-reopened-without-kernel")


def test_background_job_keeps_moving_while_another_cell_computes(notebook_page: Any) -> None:
    """Scenario 7: a `--bg` job's bar advances while the next cell blocks the kernel in `time.sleep`."""
    nb = notebook_page
    _open_with_magics(nb, "busy.ipynb", "%puras run demo/count n=12 delay=0.4 --bg", "import time\ntime.sleep(4)")
    output = nb.run_cell(1, timeout=15)
    nb.run_cell(2, wait=False)
    assert _until(nb, lambda: "*" in nb.prompt(2), 10), "the sleeping cell never started"
    seen: list[float] = []
    while "*" in nb.prompt(2):
        seen.append(_progress(output))
        nb.page.wait_for_timeout(100)
    moved = sorted({round(pct) for pct in seen if pct == pct})  # NaN: sampled as the ended job became one line
    assert len(moved) >= 3, f"the bar hardly moved while the kernel slept: {moved}"
    nb.screenshot("7-background-job-during-busy-cell")
    _watch(nb, 1, "succeeded", timeout=30)


def test_cancel_click_stops_a_blocking_run(notebook_page: Any) -> None:
    """Scenario 8: Cancel during a blocking `%puras run`: the click arrives over a comm subshell (JupyterLab >= 4.4,
    ipykernel 7), the job is cancelled on the server, and the cell ends at once with one quiet line (no error:
    the user asked for it)."""
    _cancel_during_blocking_run(notebook_page, "8-cancel-during-blocking-run")


def test_notebook7_cancel_click_stops_a_blocking_run(notebook7_page: Any) -> None:
    """Scenario 8 in Notebook 7 (>= 7.4, built on JupyterLab >= 4.4): its notebook page sends widget messages over
    a kernel subshell too, so the live widget keeps its Cancel button while the cell blocks and the click ends
    the job and the cell, as in JupyterLab."""
    _cancel_during_blocking_run(notebook7_page, "8-notebook7-cancel-during-blocking-run")


def _cancel_during_blocking_run(nb: Any, screenshot: str) -> None:
    """Run a blocking 30 s `demo/slow`, watch it run, click Cancel: the job is cancelled on the server within
    seconds and the cell ends with one quiet line."""
    _open_with_magics(nb, "cancel-blocking.ipynb", "%puras run demo/slow seconds=30")
    output = nb.run_cell(1, wait=False)
    _watch(nb, 1, "running", timeout=30)
    assert "*" in nb.prompt(1), "the run should still block the cell"
    short_id = _job(output).locator(".puras-header code").inner_text().strip()
    clicked = time.monotonic()
    _job(output).locator("button.puras-cancel").click()
    nb.wait_cell_done(1, timeout=10)
    assert time.monotonic() - clicked < 5, "the cell kept blocking after the click"
    assert _emulator_job(nb.lab, "slow", short_id)["status"] == "cancelled"
    _watch(nb, 1, "cancelled", timeout=10)
    line = output.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stdout']")
    text = line.inner_text().strip()
    assert text.startswith("demo/slow cancelled · job ") and short_id in text and len(text.splitlines()) == 1, text
    assert output.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    nb.screenshot(screenshot)


def test_skill_card_and_overview_are_left_aligned_without_backticks(notebook_page: Any) -> None:
    """`%puras skills SKILL` shows the card and `%puras skills` the overview: left-aligned cells, code not ticks."""
    nb = notebook_page
    _open_with_magics(nb, "skills.ipynb", "%puras skills demo/ugc-ad", "%puras skills")
    card = nb.run_cell(1).locator(".puras-skill")
    card.wait_for()
    text = card.inner_text()
    assert "product" in text and "2–60" in text and "friendly, luxury, energetic" in text and "%%puras" in text
    overview = nb.run_cell(2).locator(".puras-skills")
    overview.wait_for()
    assert "`" not in overview.inner_text() and overview.locator("td code", has_text="delay").count() == 1
    for table in (card.locator("table"), overview):
        aligns = table.locator("td, th").evaluate_all("cells => cells.map(c => getComputedStyle(c).textAlign)")
        assert aligns and set(aligns) <= {"left", "start"}, set(aligns)
    card.scroll_into_view_if_needed()
    nb.screenshot("skill-card")


def test_tab_offers_the_skills_alone(notebook_page: Any) -> None:
    """Tab after `%puras run demo/` pops up the demo skills and nothing from Python."""
    nb = notebook_page
    _open_with_magics(nb, "complete.ipynb", "%puras run demo/")
    nb.cell(1).locator(".jp-InputArea-editor").click()
    nb.page.keyboard.press("End")
    items = nb.page.locator(".jp-Completer-item")
    # As a user does: Tab, and Tab again while the kernel is still warming up (the emulator starting and the
    # schema validator importing, off the cell, since %load_ext); JupyterLab drops a reply after 1 s.
    deadline = time.monotonic() + 60
    while True:
        nb.page.keyboard.press("Tab")
        try:
            items.first.wait_for(timeout=2_000)
            break
        except PlaywrightTimeout:
            assert time.monotonic() < deadline, "Tab never offered a completion"
    offered = items.evaluate_all("els => els.map(e => e.getAttribute('data-value') || e.innerText.trim())")
    assert offered and all(o.startswith("demo/") for o in offered), offered
    assert "demo/ugc-ad" in offered and "demo/abs" not in offered
    nb.screenshot("tab-completion-skills")
