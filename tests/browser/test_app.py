"""The stakeholder app as visitors see it: `puras-nb demo --app` (a real Voilà process with the embedded emulator)
in headless Chromium. The page shows no code, the form starts live jobs, bad values are marked inline, Cancel
works, two visitors at once each see only their own runs, and Ctrl-C stops the command cleanly. The card and the
form keep their contrast in JupyterLab Dark and Voilà's dark and light themes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness.looks import CONTRAST

pytestmark = pytest.mark.browser

MEDIA_READY = """(el) => new Promise((ok, fail) => {
    const check = () => { if (el.readyState >= 2 && el.duration > 0) ok(el.readyState); };
    el.addEventListener('loadeddata', check);
    el.addEventListener('error', () => fail('video error: ' + (el.error && el.error.message)));
    check();
    setTimeout(() => fail('video readyState ' + el.readyState), 20000);
})"""
BAR = "el => 100 * el.getBoundingClientRect().width / el.parentElement.getBoundingClientRect().width"


class App:
    """The running `puras-nb demo --app` command: its URL (with the token), its process, the key it was given."""

    def __init__(self, proc: subprocess.Popen, url: str, directory: Path, key: str) -> None:
        self.proc = proc
        self.url = url
        self.directory = directory
        self.key = key


@pytest.fixture(scope="session")
def app(chromium: str, emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """`puras-nb demo --app` with PURAS_API_BASE / PURAS_API_KEY set (the session emulator standing in for the hosted
    API, so the tests know the key the page must never show), one per test process (each visit is a new visitor with
    a kernel of its own), stopped with Ctrl-C (SIGINT) at the end, which must end it cleanly with exit status 0.
    (tests/cli/test_demo.py covers the command's own emulator.)"""
    directory = tmp_path_factory.mktemp("app")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PURAS_")}
    env.update(PYTHONUNBUFFERED="1", PURAS_API_BASE=emulator.url, PURAS_API_KEY=emulator.api_key)
    proc = subprocess.Popen(
        [sys.executable, "-m", "puras_nb.cli", "demo", "--app", "--out", str(directory)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()  # the one line on stdout: the URL, once Voilà answers
    assert url.startswith("http://127.0.0.1:") and "token=" in url, (url, proc.stderr.read() if proc.poll() else "")
    yield App(proc, url, directory, emulator.api_key)
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=90)  # a hang guard: Voilà stops its kernels first, slow on a loaded machine
    finally:
        if proc.poll() is None:
            proc.kill()
        log = directory / "voila.log"
        if log.is_file():
            (directory.parent / "voila-app.log").write_text(log.read_text())
    assert code == 0, proc.stderr.read()[-2000:]


@pytest.fixture
def visit(browser: Any, app: App, artifacts: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """`visit()` opens the app in a new browser context (a new visitor, with a kernel of its own)."""
    contexts = []

    def open_page() -> Any:
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(app.url)
        page.locator(".puras-form .puras-run").wait_for(timeout=90_000)
        return page

    yield open_page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and contexts:
        name = re.sub(r"\W+", "_", request.node.name)
        contexts[0].pages[0].screenshot(path=str(artifacts / f"FAILED-{name}.png"), full_page=True)
    for context in contexts:
        for page in context.pages:
            html = page.content()
            assert app.key not in html and "Traceback" not in html, "the key or a traceback reached the page"
        context.close()


def _shot(page: Any, folder: Path, name: str) -> Path:
    """The whole app as one image: Voilà scrolls inside the page, so the viewport grows to the content first."""
    height = page.evaluate(
        "() => Math.max(...[document.body, document.querySelector('#rendered_cells')].filter(Boolean)"
        ".map(el => el.scrollHeight))"
    )
    page.set_viewport_size({"width": 1100, "height": min(max(900, height + 40), 6000)})
    path = folder / f"app-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _pick(page: Any, skill: str) -> None:
    """Choose `skill` (its path) in the picker, which lists a skill with a title as "Title (path)"."""
    select = page.locator(".puras-skill-picker select")
    labels = select.locator("option").all_inner_texts()
    select.select_option(label=next(label for label in labels if label == skill or label.endswith(f"({skill})")))
    page.locator(".puras-skill-about").get_by_text(skill).wait_for()


def _type(page: Any, field: str, text: str) -> None:
    box = page.locator(f".puras-field-{field}").locator("input, textarea").first
    box.fill(text)
    box.press("Tab")  # ipywidgets text fields sync on change


def _newest(page: Any) -> Any:
    return page.locator(".puras-history .puras-run-entry").first


def _status(entry: Any) -> str:
    return entry.locator(".puras-status").inner_text().strip()


def _watch(page: Any, entry: Any, until: str, timeout: float = 90) -> list[tuple[str, float | None]]:
    """(status, bar %) every 0.1 s until the newest run reads `until`; the % is None while the bar is the
    striped "progress unknown" one."""
    entry.locator(".puras-status").wait_for(timeout=timeout * 1000)
    samples: list[tuple[str, float | None]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        bar = entry.locator(".puras-progress .progress-bar").first
        unknown = "progress-bar-info" in (bar.get_attribute("class") or "")
        samples.append((_status(entry), None if unknown else bar.evaluate(BAR)))
        if samples[-1][0] == until:
            return samples
        page.wait_for_timeout(100)
    raise AssertionError(f"the run never read {until!r}: {samples[-15:]}")


def test_the_page_shows_the_form_and_no_code(visit: Any, artifacts: Path) -> None:
    page = visit()
    text = page.locator("body").inner_text()
    assert "Try a Puras skill" in text and "product" in text
    for leak in ("from puras_nb", "import ", "app([", "Traceback", "PURAS_API_KEY", "/tmp/", "site-packages"):
        assert leak not in text, leak
    assert page.locator(".jp-CodeCell .jp-InputArea:visible, .jp-CodeMirrorEditor:visible, .cm-editor").count() == 0
    assert page.locator(".puras-run").inner_text().strip() == "Generate"
    assert page.locator(".puras-note").count() == 0, "the command gave the kernels its emulator: no note"
    _shot(page, artifacts, "1-loaded")


def test_generate_shows_the_job_live_and_the_video_plays(visit: Any, artifacts: Path, emulator: Any) -> None:
    page = visit()
    _type(page, "product", "solar lantern")
    tone = page.locator(".puras-field-tone select")
    assert tone.locator("option").all_inner_texts() == ["friendly", "luxury", "energetic"], "the enum's values"
    assert tone.locator("option:checked").inner_text() == "friendly", "the default is chosen"
    tone.select_option(label="luxury")
    handle = page.locator(".puras-field-duration .noUi-handle").first
    handle.focus()
    for _ in range(4):  # 6 s → 10 s, one step per key, as a keyboard user moves a slider
        handle.press("ArrowRight")
    page.locator(".puras-field-duration .widget-readout").get_by_text("10").wait_for(timeout=10_000)
    page.locator(".puras-run").click()
    entry = _newest(page)
    samples = _watch(page, entry, "succeeded", timeout=120)
    shown = [0] + [round(pct) for status, pct in samples if status != "succeeded" and pct is not None]
    moves = sum(1 for a, b in pairwise(shown) if b > a)
    assert moves >= 2, f"the bar did not move at least twice before succeeded: {samples}"
    video = entry.locator("video").first
    video.wait_for(timeout=30_000)
    video.scroll_into_view_if_needed()
    assert video.evaluate(MEDIA_READY) >= 2
    assert not entry.locator(".puras-json-view").is_visible(), "the app shows media, not raw JSON"
    for folded in (".puras-log", ".puras-job-id"):
        assert not entry.locator(folded).first.is_visible(), f"{folded} waits behind 'details'"
    _shot(page, artifacts, "2-generated-folded")
    entry.locator(".puras-run-details").click()
    for shown in (".puras-log", ".puras-job-id", ".puras-json-view"):
        entry.locator(shown).first.wait_for(state="visible", timeout=10_000)
    entry.locator(".puras-run-details").click()
    entry.locator(".puras-log").first.wait_for(state="hidden", timeout=10_000)
    head = entry.locator(".puras-run-head").inner_text()
    assert "#1" in head and "solar lantern" in head and "duration=10" in head, head
    jobs = httpx.get(f"{emulator.url}/v1/jobs", params={"skill": "ugc-ad"}, timeout=10,
                     headers={"Authorization": f"Bearer {emulator.api_key}"}).raise_for_status().json()
    mine = [job for job in jobs if job.get("inputs", {}).get("product") == "solar lantern"]
    assert mine and mine[0]["inputs"]["tone"] == "luxury" and mine[0]["inputs"]["duration"] == 10, mine
    assert entry.locator("button.puras-feedback-up").inner_text().strip() == "Good"
    entry.locator("button.puras-feedback-up").click()
    entry.locator(".puras-feedback-note").get_by_text("thanks").wait_for(timeout=15_000)
    _shot(page, artifacts, "2-generated")


def test_a_bad_value_is_marked_next_to_its_field(visit: Any, artifacts: Path) -> None:
    page = visit()
    _pick(page, "demo/slow")
    _type(page, "seconds", "-1")
    page.locator(".puras-run").click()
    message = page.locator(".puras-field-error-seconds")
    message.get_by_text("must be between 0 and 3600").wait_for(timeout=15_000)
    page.locator(".puras-form-message").get_by_text("nothing was sent").wait_for(timeout=15_000)
    assert page.locator(".puras-history .puras-run-entry").count() == 0
    _shot(page, artifacts, "3-bad-value")


def test_cancel_stops_a_slow_job(visit: Any, artifacts: Path) -> None:
    page = visit()
    _pick(page, "demo/slow")
    _type(page, "seconds", "60")
    page.locator(".puras-run").click()
    entry = _newest(page)
    _watch(page, entry, "running", timeout=30)
    entry.locator("button.puras-cancel").click()
    _watch(page, entry, "cancelled", timeout=30)
    _shot(page, artifacts, "4-cancelled")


def test_two_visitors_at_once_each_see_only_their_own_run(visit: Any, artifacts: Path) -> None:
    first, second = visit(), visit()
    for page, prompt in ((first, "a red kite"), (second, "a blue boat")):
        _pick(page, "demo/image")
        _type(page, "prompt", prompt)
    for page in (first, second):
        page.locator(".puras-run").click()
    for page, mine, theirs in ((first, "a red kite", "a blue boat"), (second, "a blue boat", "a red kite")):
        _watch(page, _newest(page), "succeeded", timeout=90)
        history = page.locator(".puras-history").inner_text()
        assert page.locator(".puras-history .puras-run-entry").count() == 1
        assert mine in history and theirs not in history
    _shot(first, artifacts, "5-visitor-a")
    _shot(second, artifacts, "5-visitor-b")


def test_compare_shows_both_versions_side_by_side(visit: Any, artifacts: Path) -> None:
    page = visit()
    _pick(page, "demo/image")
    _type(page, "prompt", "a paper crane")
    page.locator(".puras-version select").select_option(label="compare v1 and v2")
    page.locator(".puras-run").click()
    grid = _newest(page).locator(".puras-comparison")
    grid.wait_for(timeout=30_000)
    page.wait_for_function(
        "() => document.querySelectorAll('.puras-history .puras-comparison img').length >= 2", timeout=60_000
    )
    assert "compare" in _newest(page).locator(".puras-run-head").inner_text()
    text = grid.inner_text()
    assert "demo/image: 1 input × 2 versions" in text and "prompt: a paper crane" in text, text
    assert '{"prompt"' not in text, "the inputs read as lines, not raw JSON"
    assert not grid.locator(".puras-json-view").first.is_visible(), "raw results wait behind 'details'"
    grid.locator(".puras-feedback-up").nth(1).wait_for(timeout=30_000)
    assert grid.locator(".puras-feedback-up").all_inner_texts() == ["Good", "Good"], "a verdict per version"
    grid.locator(".puras-feedback-up").nth(1).click()
    grid.locator(".puras-feedback-note").nth(1).get_by_text("thanks").wait_for(timeout=15_000)
    _shot(page, artifacts, "6-compare")


def _serve(notebook: Path, env: dict[str, str]) -> Iterator[str]:
    """`notebook` under Voilà with the app's settings (`demo.voila_command`); yields its URL with the token."""
    from puras_nb.cli import demo

    port, token = demo.free_port(), "plain-voila-test"
    command = demo.voila_command(notebook, port, token)
    with (notebook.parent / "voila.log").open("w") as log:
        proc = subprocess.Popen(
            command, env=demo.voila_env(env), cwd=notebook.parent, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        demo.wait_answering(proc, f"http://127.0.0.1:{port}/", 90)
        yield f"http://127.0.0.1:{port}/?token={token}"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def plain_voila(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app under a plain `voila` command (the app's settings, Voilà's light theme) with no PURAS_* variables:
    every visitor's kernel starts its own embedded emulator (the shared-machine setup of the README, minus the key).
    One per test process: each visitor has a kernel and an emulator of its own."""
    from puras_nb.cli import demo

    notebook = tmp_path_factory.mktemp("plain-voila") / "stakeholder-app.ipynb"
    notebook.write_bytes(demo.notebook("stakeholder-app").read_bytes())
    yield from _serve(notebook, {k: v for k, v in os.environ.items() if not k.startswith("PURAS_")})


NOISY = """\
import sys, warnings
import ipywidgets as w
print("PRINTED-WHILE-LOADING")
warnings.warn("WARNED-WHILE-RUNNING")
print("STDERR-WHILE-RUNNING", file=sys.stderr)
button = w.Button(description="noisy")

def noisy(_):
    print("PRINTED-BY-A-CLICK")
    print("STDERR-BY-A-CLICK", file=sys.stderr)
    warnings.warn("WARNED-BY-A-CLICK")
    raise RuntimeError("RAISED-BY-A-CLICK")

button.on_click(noisy)
button
"""


def test_the_app_settings_keep_prints_warnings_errors_and_callback_output_off_the_page(
    browser: Any, tmp_path: Path
) -> None:
    """What the app's Voilà settings guarantee: what the notebook prints while it loads is left out (the `puras-app`
    template, which a visitor's `?template=lab` cannot swap), stderr and warnings are dropped
    (`--show_tracebacks=False`), and whatever a widget callback prints, warns or raises never reaches the page."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(NOISY), nbformat.v4.new_code_cell("1 / 0")]
    nbformat.write(nb, tmp_path / "noisy.ipynb")
    for url in _serve(tmp_path / "noisy.ipynb", dict(os.environ)):
        for visit in (url, f"{url}&template=lab"):
            page = browser.new_page()
            try:
                page.goto(visit)
                page.locator("button").get_by_text("noisy").click(timeout=90_000)
                page.wait_for_timeout(2_000)
                text, html = page.locator("body").inner_text(), page.content()
                for leak in ("PRINTED", "WARNED", "STDERR", "RAISED", "ZeroDivisionError", "Traceback", "1 / 0"):
                    assert leak not in text and leak not in html, (leak, text)
            finally:
                page.close()


def test_without_a_key_each_visitor_gets_an_emulator_and_a_small_note(
    browser: Any, plain_voila: str, artifacts: Path
) -> None:
    pages = []
    for _ in range(2):
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(plain_voila)
        page.locator(".puras-form .puras-run").wait_for(timeout=90_000)
        pages.append(page)
    try:
        for page, prompt in zip(pages, ("a green door", "a yellow kite"), strict=True):
            note = page.locator(".puras-note")
            said = note.inner_text()
            assert "No PURAS_API_KEY is set" in said and "its own copy" in said and "no other visitor" in said, said
            assert "no PURAS_API_KEY set, so jobs run" not in page.locator("body").inner_text(), "no printed notice"
            _pick(page, "demo/image")
            _type(page, "prompt", prompt)
            page.locator(".puras-run").click()
        for page, mine, theirs in zip(pages, ("a green door", "a yellow kite"), ("a yellow kite", "a green door"),
                                      strict=True):
            _watch(page, _newest(page), "succeeded", timeout=90)
            history = page.locator(".puras-history").inner_text()
            assert mine in history and theirs not in history
        _shot(pages[0], artifacts, "7-no-key-note")
    finally:
        for page in pages:
            page.context.close()


# -- themes: the card, the form and the app in dark themes (and Voilà's light one) --------------------------------
# Every text of the card and the form keeps a WCAG contrast of at least 4.5:1 against what is behind it, and none is
# clipped; the screenshots go to the artifacts folder for a person to look at too. The live job widget of each run
# in the form's history is included.

def _check(page: Any, selector: str) -> list[dict]:
    """Texts under `selector` that fail: contrast below 4.5:1 or clipped."""
    found = page.locator(selector).evaluate_all(CONTRAST)
    assert found, f"no text under {selector}"
    return [t for t in found if t["ratio"] < 4.5 or t["clipped"]]


def _run_bad_and_good(page: Any, form: Any, selector: str) -> list[dict]:
    """A bad value (marked inline), then a good run that finishes: every kind of text the form shows; the texts
    under `selector` that fail, checked at both stages."""
    product = form.locator(".puras-field-product").locator("input, textarea").first
    product.fill("")
    product.press("Tab")
    form.locator(".puras-run").click()
    form.locator(".puras-field-error-product").get_by_text("is required").wait_for(timeout=15_000)
    bad = _check(page, selector)
    product.fill("a dark lamp")
    product.press("Tab")
    form.locator(".puras-run").click()
    form.locator(".puras-history .puras-status", has_text="succeeded").first.wait_for(timeout=120_000)
    page.wait_for_timeout(500)
    return bad + _check(page, selector)


def test_card_and_form_read_well_in_jupyterlab_dark(notebook_page: Any, artifacts: Path) -> None:
    nb = notebook_page
    nb.lab.write_notebook(
        "dark.ipynb",
        ["import puras_nb", 'puras_nb.skill("demo/ugc-ad")', 'puras_nb.form("demo/ugc-ad")'],
    )
    nb.open("dark.ipynb")
    nb.page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    nb.page.locator("body[data-jp-theme-light='false']").wait_for(state="attached", timeout=30_000)
    for index in range(3):
        nb.run_cell(index, timeout=90)
    nb.output(1).locator(".puras-skill").wait_for()
    form = nb.output(2).locator(".puras-form")
    form.locator(".puras-run").wait_for(timeout=60_000)
    bad = _run_bad_and_good(nb.page, form, ".jp-OutputArea .puras-skill, .jp-OutputArea .puras-form")
    nb.screenshot("dark-lab-card-and-form")
    assert not bad, "\n".join(map(str, bad))


@pytest.fixture(params=["dark", "light"])
def themed_app(plain_voila: str, request: pytest.FixtureRequest) -> tuple[str, str]:
    """(URL, theme): the stakeholder app under the app's Voilà settings in Voilà's dark (or light) theme, as a visitor
    asks for it (`&theme=`), with no key (so the page shows its emulator note too)."""
    return f"{plain_voila}&theme={request.param}", request.param


def test_the_app_reads_well_in_voila_dark_and_light(browser: Any, themed_app: tuple, artifacts: Path) -> None:
    url, theme = themed_app
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        form = page.locator(".puras-form")
        form.locator(".puras-run").wait_for(timeout=90_000)
        assert page.locator(f"body.theme-{theme}").count() == 1
        assert page.locator(".puras-note").is_visible()
        bad = _run_bad_and_good(page, form, "#rendered_cells")
        form.locator(".puras-history .puras-run-details").first.click()  # the log, the job id, the raw result
        form.locator(".puras-history .puras-log").first.wait_for(state="visible", timeout=10_000)
        bad += _check(page, "#rendered_cells")
        page.set_viewport_size({"width": 1100, "height": 2000})
        page.screenshot(path=str(artifacts / f"{theme}-voila-app.png"), full_page=True)
        # compare v1 and v2 of ugc-ad: a landscape and a vertical video, each filling its column, Good and Bad each
        form.locator(".puras-version select").select_option(label="compare v1 and v2")
        form.locator(".puras-run").click()
        grid = form.locator(".puras-history .puras-run-entry").first.locator(".puras-comparison")
        grid.locator(".puras-feedback-up").nth(1).wait_for(timeout=180_000)
        page.wait_for_function("() => document.querySelectorAll('.puras-comparison video').length >= 2")
        page.wait_for_timeout(1000)
        widths = grid.locator("video").evaluate_all("vs => vs.map(v => [v.getBoundingClientRect().width, "
                                                    "v.closest('.puras-cell').getBoundingClientRect().width])")
        assert all(video >= 0.9 * (cell - 16) for video, cell in widths) and widths[1][0] >= 200, widths
        bad += [t for t in _check(page, ".puras-comparison") if not t["text"].startswith("a-dark-lamp")]
        grid.screenshot(path=str(artifacts / f"{theme}-voila-app-compare.png"))
        assert not bad, "\n".join(map(str, bad))
    finally:
        context.close()
