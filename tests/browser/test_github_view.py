"""A saved notebook read where there is no kernel and no `<video>` (issue 23.8): GitHub's notebook viewer sets a CSP
of `media-src 'none'` and strips `<style>`, `id` and scripts; nbviewer does as much, and VS Code's untrusted mode
shows only text/plain.

A notebook with a UGC ad (video with its poster, thumbnail, voiceover), a video of the demo skill (its poster only
among the job's files), a speech and `show()` of a result is executed headless (nbclient), exported with nbconvert,
and then read three ways in Chromium:

- as GitHub shows it: widget views dropped (GitHub renders none), every `<style>`, `<script>` and `id` stripped,
  served with `media-src 'none'`: each video reads as its still frame, each audio as its waveform, every media
  item is named and linked, and no player is left to look broken;
- as nbconvert writes it (our STYLE kept), light and dark: the players show and the stills give way to them;
- as text only (VS Code untrusted): each static view's text/plain names every media item, with no URL or markup.

Screenshots: artifacts/browser/github-*.png, export-*.png.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.harness.looks import CONTRAST

pytestmark = pytest.mark.browser

CELLS = [
    "%load_ext puras_nb\nimport puras_nb",
    "%%puras demo/ugc-ad -o ad --version 1\nproduct: https://shop.example/p/aurora-trail-shoes\nduration: 2",
    "%%puras demo/video\nprompt: a paper kite over the dunes\nseconds: 1\nwidth: 320\nheight: 180",
    "%%puras demo/speech\ntext: Hello from a saved notebook.",
    "puras_nb.show(ad)",
]
# per cell: the media its static view names, (kind, file name)
MEDIA = {
    1: [("video", "aurora-trail-shoes-ad.mp4"), ("image", "aurora-trail-shoes-thumbnail.png"),
        ("audio", "aurora-trail-shoes-voiceover.wav")],
    2: [("video", "a-paper-kite-over-the-dunes.mp4")],
    3: [("audio", "hello-from-a-saved-notebook.wav")],
    4: [("video", "aurora-trail-shoes-ad.mp4"), ("image", "aurora-trail-shoes-thumbnail.png"),
        ("audio", "aurora-trail-shoes-voiceover.wav")],
}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
FINAL = "puras-final"
# What GitHub's notebook viewer sends with a rendered notebook, as far as it matters here.
CSP = "default-src 'none'; img-src data: https:; media-src 'none'; style-src 'unsafe-inline'"
ORIGIN = "https://notebooks.example"
GITHUB_DARK = "body{background:#0d1117;color:#e6edf3}a{color:#4493f8}"


@pytest.fixture(scope="module")
def executed(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The notebook, run once in a real kernel against the session's emulator, as a user saves it."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    home = tmp_path_factory.mktemp("home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PURAS_")}
    env.update(PURAS_API_BASE=emulator.url, PURAS_API_KEY=emulator.api_key, HOME=str(home),
               IPYTHONDIR=str(home / "ipython"))
    client = NotebookClient(nb, timeout=300, kernel_name="python3", extra_arguments=["--log-level=ERROR"],
                            resources={"metadata": {"path": str(home)}})
    client.execute(env=env)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    return nb


def _export(nb: Any, *, theme: str = "light") -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", theme=theme)
    body, _ = exporter.from_notebook_node(nb)
    return body


def _as_github(nb: Any) -> str:
    """The page as GitHub's viewer would show the notebook: no widgets, and no `<style>`, `<script>` or `id`."""
    import copy

    plain = copy.deepcopy(nb)
    plain.metadata.pop("widgets", None)
    for cell in plain.cells:
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_VIEW, None)
    page = _export(plain)
    page = re.sub(r"<(style|script)\b.*?</\1>", "", page, flags=re.S | re.I)
    page = re.sub(r"<link\b[^>]*>", "", page, flags=re.I)
    return re.sub(r"""\sid=("[^"]*"|'[^']*'|[^\s>]+)""", "", page)


def _serve(page: Any, html: str, csp: str | None) -> list[str]:
    """Open `html` at ORIGIN (with `csp` as its Content-Security-Policy); the console messages it logs."""
    messages: list[str] = []
    page.on("console", lambda msg: messages.append(msg.text))
    headers = {"content-type": "text/html; charset=utf-8", **({"content-security-policy": csp} if csp else {})}
    page.route(f"{ORIGIN}/**", lambda route: route.fulfill(status=200, headers=headers, body=html))
    page.goto(f"{ORIGIN}/notebook.html")
    page.wait_for_load_state("load")
    return messages


def _images_loaded(page: Any, selector: str) -> list[dict]:
    return page.locator(selector).evaluate_all(
        # an image below the fold waits with loading="lazy" until scrolled to: load each now
        """imgs => Promise.all(imgs.map(i => { i.loading = 'eager'; return i; }).map(i => (i.complete ?
             Promise.resolve() : new Promise(ok => {
             i.onload = ok; i.onerror = ok; })).then(() => { const r = i.getBoundingClientRect();
             return {alt: i.alt, natural: i.naturalWidth, w: r.width, h: r.height,
                     shown: getComputedStyle(i).display !== 'none'}; })))"""
    )


def test_on_github_each_video_is_a_still_each_audio_a_waveform_each_item_named_and_linked(
    browser: Any, executed: Any, artifacts: Path
) -> None:
    html = _as_github(executed)
    assert "<style" not in html and ' id="' not in html
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    try:
        console = _serve(page, html, CSP)
        videos = sum(kind == "video" for items in MEDIA.values() for kind, _ in items)
        audios = sum(kind == "audio" for items in MEDIA.values() for kind, _ in items)
        stills = _images_loaded(page, "img[alt^='Still frame']")
        waves = _images_loaded(page, "img[alt^='Waveform']")
        assert len(stills) == videos and len(waves) == audios, (stills, waves)
        for image in stills + waves:
            assert image["shown"] and image["natural"] > 0 and image["w"] >= 100 and image["h"] >= 30, image
        assert all(max(s["w"], s["h"]) <= 480 for s in stills), "a still is a preview, not a poster wall"
        players = page.locator("video, audio").evaluate_all(
            "els => els.map(e => ({tag: e.tagName, shown: getComputedStyle(e).display !== 'none'}))")
        assert len(players) == videos + audios and not any(p["shown"] for p in players), "no broken player shows"
        assert any("media-src" in m for m in console), "the CSP was in force: the players' media were refused"
        assert not any("img-src" in m for m in console), [m for m in console if "img-src" in m]

        text = page.locator("body").inner_text()
        names = [name for items in MEDIA.values() for _, name in items]
        assert [name for name in names if name not in text] == [], "every item is named on the page"
        captions = page.locator("figcaption").all_inner_texts()
        said = [c.split(" · ", 1)[0] for c in captions if c.startswith(("video · ", "audio · "))]
        assert sorted(said) == ["audio"] * audios + ["video"] * videos, captions
        assert "model not found" not in text and "Error displaying widget" not in text
        links = page.locator("figure a[href^='http']").evaluate_all("els => els.map(a => a.href)")
        assert len(links) == len(names) and all(any(n in href for href in links) for n in names), links
        page.screenshot(path=str(artifacts / "github-light.png"), full_page=True)
        # GitHub's dark theme: the waveform and the captions read on a dark page too
        page.add_style_tag(content=GITHUB_DARK)
        page.wait_for_timeout(200)
        low = [t for t in page.locator("figure").evaluate_all(CONTRAST) if t["ratio"] < 4.5]
        assert not low, low
        page.screenshot(path=str(artifacts / "github-dark.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_where_our_style_is_kept_the_players_show_and_the_stills_give_way(
    browser: Any, executed: Any, artifacts: Path, theme: str
) -> None:
    """An nbconvert export of the saved notebook (widgets dropped, as `puras-nb demo` does): one player per item."""
    import copy

    from puras_nb.cli.demo import static_outputs

    html = _export(static_outputs(copy.deepcopy(executed)), theme=theme)
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    try:
        _serve(page, html, None)
        players = page.locator(".puras-final video, .puras-final audio")
        assert players.count() == sum(kind != "image" for items in MEDIA.values() for kind, _ in items)
        shown = players.evaluate_all("els => els.map(e => { const r = e.getBoundingClientRect();"
                                     " return {tag: e.tagName, w: r.width, h: r.height}; })")
        assert all(p["w"] > 100 and p["h"] > 20 for p in shown), shown
        posters = page.locator(".puras-final video").evaluate_all("vs => vs.map(v => v.poster.slice(0, 16))")
        assert posters and all(p == "data:image/jpeg;" for p in posters), "a frame shows before the video loads"
        durations = page.locator(".puras-final video, .puras-final audio").evaluate_all(
            "els => Promise.all(els.map(e => (e.readyState >= 1 ? Promise.resolve() : new Promise(ok =>"
            " e.addEventListener('loadedmetadata', ok))).then(() => e.duration)))")
        assert all(d > 0 for d in durations), durations
        stills = _images_loaded(page, "img.puras-still")
        assert stills and not any(s["shown"] for s in stills), "beside a player its still is hidden"
        assert page.locator(".puras-kind").evaluate_all("els => els.every(e => e.offsetParent === null)")
        page.screenshot(path=str(artifacts / f"export-{theme}.png"), full_page=True)
    finally:
        context.close()


def test_the_saved_text_names_every_media_item_without_urls_or_markup(executed: Any) -> None:
    """What VS Code's untrusted mode shows of a saved notebook: text/plain only."""
    for index, items in MEDIA.items():
        finals = [o for o in executed.cells[index].outputs if FINAL in str(o.get("data", {}).get("text/html", ""))]
        assert finals, f"cell {index} has a static view"
        text = finals[-1]["data"]["text/plain"]
        for kind, name in items:
            assert re.search(rf"^[\w.\[\]]+: {re.escape(name)} \({kind}/[\w.+-]+\)$", text, re.M), (name, text)
        assert "http" not in text and not re.search(r"<(img|a|video|audio|div)[\s>]", text), text


def test_in_jupyterlab_an_untrusted_copy_shows_the_stills_and_a_trusted_one_the_players(
    notebook_page: Any, executed: Any, artifacts: Path
) -> None:
    """A saved notebook opened in JupyterLab from somewhere else (a clone, a download) is untrusted: its HTML is
    sanitized (no `<style>`, no `display` in a style attribute). It reads as on GitHub, never a player and its still
    both; trusted, it shows the players."""
    import nbformat

    nb = notebook_page
    nbformat.write(executed, nb.lab.root / "saved-elsewhere.ipynb")
    nb.open("saved-elsewhere.ipynb")
    nb.shutdown_kernel()
    panel = nb.panel
    stills = panel.locator("img[alt^='Still frame'], img[alt^='Waveform']")
    players = panel.locator(".jp-OutputArea video, .jp-OutputArea audio")
    items = sum(kind != "image" for items in MEDIA.values() for kind, _ in items)
    stills.first.wait_for(timeout=30_000)
    assert stills.count() == items and players.count() == items
    assert all(stills.nth(i).is_visible() for i in range(items)), "untrusted: the stills show"
    assert not any(players.nth(i).is_visible() for i in range(items)), "untrusted: the players stay hidden"
    assert "model not found" not in panel.inner_text()
    panel.scroll_into_view_if_needed()
    nb.screenshot("lab-untrusted-light")

    nb.js("window.jupyterapp.commands.execute('notebook:trust');")  # not awaited: it waits for the dialog
    nb.page.locator(".jp-Dialog .jp-mod-accept").click()
    nb.page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-OutputArea video')].some(v => v.offsetParent !== null)",
        timeout=30_000)
    assert not any(stills.nth(i).is_visible() for i in range(stills.count())), "trusted: the players instead"
    # the widgets drawn from the saved widget state have no kernel behind them (ipywidgets marks each part with a
    # broken link): the static view shows instead of them
    shown = "els => els.filter(e => e.offsetParent !== null).length"
    assert panel.locator(".jupyter-widgets-disconnected").evaluate_all(shown) == 0
    assert panel.locator(".puras-final").evaluate_all(shown) >= len(MEDIA)
    assert "Loading widget" not in panel.inner_text() and "model not found" not in panel.inner_text()
    nb.page.wait_for_function(  # loaded, so that the screenshot shows no loading spinner
        "() => [...document.querySelectorAll('.jp-OutputArea video')].every(v => v.readyState >= 1)", timeout=30_000)
    nb.screenshot("lab-trusted-light")


def test_the_stored_demo_notebook_reads_on_github(browser: Any, artifacts: Path) -> None:
    """The stakeholder demo as committed in notebooks/ (the one with videos and voiceovers, slimmed by
    notebooks/build.py: no players, no links to the build's emulator) as GitHub shows it: each video a still, each
    audio a waveform, every image loaded, nothing that says a still is missing."""
    import nbformat

    stored = nbformat.read(Path(__file__).resolve().parents[2] / "notebooks" / "stakeholder-demo.ipynb", as_version=4)
    html = _as_github(stored)
    assert not re.search(r"<(video|audio)\b", html)
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    try:
        console = _serve(page, html, CSP)
        images = _images_loaded(page, "img")
        assert images and all(i["natural"] > 0 and i["shown"] for i in images), [i for i in images if not i["natural"]]
        captions = page.locator("figcaption").all_inner_texts()
        told = [c for c in captions if c.startswith(("video", "audio"))]
        stills = _images_loaded(page, "img[alt^='Still frame'], img[alt^='Waveform']")
        assert told and len(stills) == len(told), captions
        assert not any("no still image" in c or "no waveform" in c for c in told), captions
        assert not any("img-src" in m for m in console), console
        assert "model not found" not in page.locator("body").inner_text()
        page.screenshot(path=str(artifacts / "github-stored-demo.png"), full_page=True)
    finally:
        context.close()
