"""`puras-nb demo`: where the notebooks come from (wheel package data or the checkout) and where its output goes.

The demo must never write into the installed package or the repository's `notebooks/`: the HTML page goes to
`--out DIR` or a new directory of its own, and `--lab` serves copies. The full render is tested in
tests/notebook/test_notebooks.py; the built wheel is tested end to end by .ci/run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from puras_nb.cli import command as cli
from puras_nb.cli import demo

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


def test_a_notebook_is_found_by_name_with_or_without_its_suffix() -> None:
    assert demo.notebook("stakeholder-demo") == ROOT / "notebooks" / "stakeholder-demo.ipynb"
    assert demo.notebook("quickstart.ipynb") == ROOT / "notebooks" / "quickstart.ipynb"


def test_an_unknown_notebook_is_a_short_error_naming_the_shipped_ones() -> None:
    with pytest.raises(SystemExit) as exc:
        demo.notebook("stakeholder-ap")
    message = str(exc.value)
    assert "no notebook 'stakeholder-ap'" in message and "stakeholder-demo" in message and "quickstart" in message


def test_an_installed_wheel_reads_its_package_data_not_a_notebooks_dir_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a wheel the notebooks are `puras_nb/notebooks/`; `site-packages/notebooks` may belong to anything."""
    packaged = tmp_path / "puras_nb" / "notebooks"
    packaged.mkdir(parents=True)
    (packaged / "stakeholder-app.ipynb").write_text("{}")
    monkeypatch.setattr(demo, "PACKAGED", packaged)
    assert demo.notebook_dir() == packaged
    assert demo.notebook("stakeholder-app") == packaged / "stakeholder-app.ipynb"
    with pytest.raises(SystemExit, match="found: stakeholder-app"):
        demo.notebook("stakeholder-demo")


def test_without_out_the_demo_makes_a_new_directory_of_its_own_outside_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first, second = demo.workdir(None), demo.workdir(None)
    try:
        assert first != second and first.is_dir() and second.is_dir()
        assert first.parent == Path(tempfile.gettempdir()) and first.name.startswith("puras-nb-demo-")
        assert list(tmp_path.iterdir()) == []
    finally:
        first.rmdir()
        second.rmdir()


def test_out_is_created_and_must_not_be_a_file_or_the_shipped_notebooks(tmp_path: Path) -> None:
    assert demo.workdir(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b").is_dir()
    (tmp_path / "page.html").write_text("")
    with pytest.raises(SystemExit, match="is a file"):
        demo.workdir(tmp_path / "page.html")
    with pytest.raises(SystemExit, match="holds the notebooks as shipped"):
        demo.workdir(ROOT / "notebooks")


def test_the_cli_refuses_the_shipped_notebooks_as_out_without_a_traceback(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["demo", "--lab", "--out", str(ROOT / "notebooks")])
    assert "give --out another directory" in str(exc.value)
    assert "Traceback" not in capsys.readouterr().err


def test_copies_are_every_shipped_notebook_and_an_existing_copy_is_kept(tmp_path: Path) -> None:
    (tmp_path / "magics.ipynb").write_text("my edits")
    kept = demo.copy_notebooks(tmp_path)
    assert kept == ["magics.ipynb"]
    assert sorted(p.name for p in tmp_path.iterdir()) == SHIPPED
    assert (tmp_path / "magics.ipynb").read_text() == "my edits"
    for name in SHIPPED:
        if name != "magics.ipynb":
            assert (tmp_path / name).read_bytes() == (ROOT / "notebooks" / name).read_bytes()


def test_copies_of_a_read_only_install_are_writable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    packaged = tmp_path / "site" / "notebooks"
    packaged.mkdir(parents=True)
    (packaged / "stakeholder-demo.ipynb").write_text("{}")
    (packaged / "stakeholder-demo.ipynb").chmod(0o444)
    monkeypatch.setattr(demo, "PACKAGED", packaged)
    (tmp_path / "work").mkdir()
    demo.copy_notebooks(tmp_path / "work")
    assert os.access(tmp_path / "work" / "stakeholder-demo.ipynb", os.W_OK)


def _lab_url(log: Path, deadline: float) -> str:
    while time.monotonic() < deadline:
        found = re.search(r"(http://127\.0\.0\.1:\d+/)lab", log.read_text(errors="replace"))
        if found:
            return found.group(1)
        time.sleep(0.3)
    raise AssertionError(f"JupyterLab did not start:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.mark.kernel  # JupyterLab's server: 5 s of CPU, the slow loop's kind of test
def test_lab_serves_a_copy_and_a_save_leaves_the_repository_untouched(tmp_path: Path) -> None:
    """`--lab` without --out: Lab's root is a new directory holding the copies; saving writes there only."""
    cwd, log = tmp_path / "cwd", tmp_path / "lab.log"
    cwd.mkdir()
    original = (ROOT / "notebooks" / "quickstart.ipynb").read_bytes()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PURAS_")}
    # a fixed token to talk to Lab's REST API; BROWSER=true: Lab "opens" a browser by running `true`
    env.update(JUPYTER_TOKEN="puras-demo-test", BROWSER="true", PYTHONPATH=str(ROOT))
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "puras_nb.cli", "demo", "--lab"],
            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    served = None
    try:
        base = _lab_url(log, time.monotonic() + 90)
        served = Path(re.search(r"working in (\S+)", log.read_text()).group(1))
        assert served.parent == Path(tempfile.gettempdir())
        assert f"copies in {served}" in log.read_text()
        headers = {"Authorization": "token puras-demo-test"}
        listing = httpx.get(f"{base}api/contents", headers=headers, timeout=30).raise_for_status().json()
        assert sorted(item["name"] for item in listing["content"]) == SHIPPED
        model = httpx.get(f"{base}api/contents/quickstart.ipynb", headers=headers, timeout=30).json()
        model["content"]["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "saved in Lab"})
        saved = {"type": "notebook", "format": "json", "content": model["content"]}
        httpx.put(f"{base}api/contents/quickstart.ipynb", headers=headers, json=saved, timeout=30).raise_for_status()
        assert "saved in Lab" in json.dumps(json.loads((served / "quickstart.ipynb").read_text()))
        assert (ROOT / "notebooks" / "quickstart.ipynb").read_bytes() == original
        assert list(cwd.iterdir()) == []
        # Voilà's server extension turned traitlets' deprecation warnings on: Lab printed one for ServerApp.token
        assert "DeprecationWarning" not in log.read_text(errors="replace"), log.read_text(errors="replace")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if served is not None:
            shutil.rmtree(served, ignore_errors=True)


def test_app_and_lab_are_one_or_the_other(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit, match="--lab or --app"):
        cli.main(["demo", "--lab", "--app"])


def test_the_app_is_served_on_loopback_with_a_token_no_code_and_no_tracebacks(tmp_path: Path) -> None:
    cmd = demo.voila_command(tmp_path / "stakeholder-app.ipynb", 8899, "secret")
    assert {"--Voila.ip=127.0.0.1", "--port=8899", "--Voila.token=secret", "--Voila.port_retries=0"} <= set(cmd)
    assert {"--strip_sources=True", "--show_tracebacks=False", "--no-browser"} <= set(cmd)
    assert {"--template=puras-app", "--VoilaConfiguration.allow_template_override=NO"} <= set(cmd)
    assert "--VoilaConfiguration.file_denylist=.*" in cmd


def test_the_readme_recipe_has_every_safety_setting_of_the_app_command() -> None:
    """The run-it-yourself Voilà command in the README keeps what `demo --app` keeps: no code, no tracebacks, the
    template a visitor cannot swap, and no file served (it served the current directory's images without the token)."""
    readme = (ROOT / "README.md").read_text()
    recipe = readme[readme.index("voila stakeholder-app.ipynb") :]
    words = set(shlex.split(recipe[: recipe.index("```")].replace("\\\n", " ")))
    safety = [arg for arg in demo.voila_command(Path("app.ipynb"), 1, "t") if arg.startswith("--") and "=" in arg]
    safety = [arg for arg in safety if not arg.startswith(("--port", "--Voila.", "--theme"))]
    assert f"--VoilaConfiguration.file_denylist={demo.NO_FILES}" in safety
    assert [arg for arg in safety if arg not in words] == []
    assert any(word.startswith("--Voila.token=") for word in words)


def test_the_app_template_is_found_first_and_leaves_out_printed_output() -> None:
    """Voilà looks for `puras-app` on JUPYTER_PATH: `voila_env` puts the shipped copy first and keeps the caller's
    entries; the template (on Voilà's "lab") renders no stream output."""
    env = demo.voila_env({"JUPYTER_PATH": "/somewhere", "HOME": "/home/x"})
    assert env["JUPYTER_PATH"].split(os.pathsep) == [str(demo.TEMPLATES), "/somewhere"] and env["HOME"] == "/home/x"
    template = demo.TEMPLATES / "voila" / "templates" / "puras-app"
    assert '"base_template": "lab"' in (template / "conf.json").read_text()
    page = (template / "index.html.j2").read_text()
    assert "{% block stream_stdout %}{% endblock stream_stdout %}" in page
    assert "{% block stream_stderr %}{% endblock stream_stderr %}" in page


@pytest.mark.kernel
def test_app_runs_its_own_emulator_prints_the_url_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    """`demo --app` with no PURAS_* variables: an emulator of its own for every visitor's kernel, the page behind a
    token, no file of the directory served (with or without the token), the app's notebook copied into --out, and
    SIGINT (Ctrl-C) ends it all with status 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PURAS_")}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    # what Voilà's /voila/files/ served without the token (.png/.jpg/.gif/.svg): script on the app's origin
    (tmp_path / "probe.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    (tmp_path / "probe.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16)
    proc = subprocess.Popen(
        [sys.executable, "-m", "puras_nb.cli", "demo", "--app", "--out", str(tmp_path)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=[\w-]+", url), (url, proc.stderr.read())
        page = httpx.get(url, timeout=90)
        assert page.status_code == 200 and "Try a Puras skill" in page.text
        assert "SkillForm demo/ugc-ad" in page.text and "from puras_nb" not in page.text
        assert httpx.get(url.split("?")[0], timeout=30).status_code != 200, "no page without the token"
        base, token = url.split("?")
        for name in ("probe.svg", "probe.png", "stakeholder-app.ipynb", "voila.log"):
            for query in ("", f"?{token}"):  # no file at all, with the token or without it
                answer = httpx.get(f"{base}voila/files/{name}{query}", timeout=30)
                assert answer.status_code == 403 and b"<script>" not in answer.content, (name, query, answer)
        assert (tmp_path / "stakeholder-app.ipynb").is_file()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=40) == 0
        assert "runs on a local emulator" in proc.stderr.read()
        with pytest.raises(httpx.TransportError):
            httpx.get(url, timeout=5)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_the_shipped_notebooks_are_small_and_read_without_a_kernel() -> None:
    """Committed notebooks (issue 11, items 3 and 16): small, no widget state or views (they need a kernel;
    the static views stand in), previews embedded (a link to the build's emulator would be dead), and no
    cell that waits for typed input under Run All."""
    folder = Path(demo.__file__).resolve().parents[2] / "notebooks"
    names = sorted(folder.glob("*.ipynb"))
    assert len(names) >= 5 and sum(p.stat().st_size for p in names) < 500_000
    for path in names:
        nb = json.loads(path.read_text())
        assert path.stat().st_size < 200_000, path.name
        assert "widgets" not in nb["metadata"], path.name
        for cell in nb["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "code":
                assert "%puras login" not in source and "getpass" not in source, (path.name, source)
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                assert "application/vnd.jupyter.widget-view+json" not in data, (path.name, source)
                html = "".join(data.get("text/html", ""))
                assert not re.search(r"data:(video|audio)/", html), (path.name, source)
                assert all(src.startswith("data:image/") for src in re.findall(r'<img src="([^"]*)"', html))
                assert not re.search(r"<(video|audio)\b", html), "no player: its still frame or waveform shows"
                assert 'class="puras-open"' not in html, "no link to the build's emulator"


def test_the_demo_page_says_what_it_holds_and_the_stored_copy_what_it_keeps() -> None:
    """The stored stakeholder demo says it keeps stills only; the page `puras-nb demo` writes from it holds every
    video and voiceover, and says that instead (issue 23.8), with no link to its emulator (gone once it is read)."""
    import nbformat

    stored = nbformat.read(ROOT / "notebooks" / "stakeholder-demo.ipynb", as_version=4)
    [note] = [c for c in stored.cells if demo.STORED_NOTE in c.metadata.get("tags", [])]
    assert "still frame of each video" in note.source and "puras-nb demo" in note.source
    link = '<span class="puras-open">&nbsp;· <a href="http://127.0.0.1:1/f/a.mp4" target="_blank">open</a></span>'
    stored.cells[2].outputs = [nbformat.v4.new_output("display_data", {
        "text/html": f'<figure><video src="data:video/mp4;base64,AA=="></video><figcaption>a.mp4{link}</figcaption>'
                     "</figure>", "text/plain": "video: a.mp4 (video/mp4)"})]
    page = demo.page_notebook(stored)
    [note] = [c for c in page.cells if demo.STORED_NOTE in c.metadata.get("tags", [])]
    assert note.source == demo.PAGE_NOTE and "every video and voiceover is embedded" in note.source
    notes = [c.source for c in page.cells if c.cell_type == "markdown"]
    assert not any("small previews" in n or "still frame" in n for n in notes)
    html = page.cells[2].outputs[0].data["text/html"]
    assert "<video" in html and "a.mp4</figcaption>" in html and "127.0.0.1" not in html
