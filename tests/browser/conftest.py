"""Browser-test harness: one JupyterLab 4 server with the emulator behind it, driven by Debian's Chromium.

Playwright's Python package drives /usr/bin/chromium (never a downloaded browser). Tests skip, loudly,
only when that Chromium is missing or cannot be launched. Screenshots go to `$PURAS_NB_ARTIFACTS/browser`
(default `<repo>/artifacts/browser`), printed at the end of the run.

JupyterLab and Notebook 7 start once per test process (per xdist worker), when a test first asks for them, and
serve every browser module (Chromium starts once per module: see `browser`): starting them took a fifth of the
browser tests' time when each module had its own, and module-scoped servers pinned each module to one worker.
Each test still starts clean: a browser context of its own, its notebooks in a folder of its own (so its kernels'
working directory too), the server's user settings (the theme a test chose) and workspaces reset, and its kernels
shut down after it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.harness.looks import until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
REPO = Path(__file__).resolve().parents[2]
ACTIVE = ".jp-NotebookPanel:not(.lm-mod-hidden)"
_SKIP_REASONS: list[str] = []
STARTED = time.time()
"""When this test process started: failure screenshots older than that are an earlier run's."""

if TYPE_CHECKING:
    import nbformat  # imported where used: it loads jsonschema's format checkers, seconds at every pytest start


def artifacts_dir() -> Path:
    """The folder the screenshots go to: `$PURAS_NB_ARTIFACTS/browser`, else `<repo>/artifacts/browser`."""
    root = Path(os.environ.get("PURAS_NB_ARTIFACTS") or REPO / "artifacts")
    return root / "browser"


@pytest.fixture
def artifacts() -> Path:
    """The screenshots folder (`artifacts_dir()`), created."""
    folder = artifacts_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say where the screenshots are, and repeat why the browser tests skipped, at the very end of the run."""
    folder = artifacts_dir()
    if folder.is_dir() and any(folder.glob("*.png")):
        terminalreporter.write_sep("-", "browser test artifacts")
        terminalreporter.write_line(f"screenshots and JupyterLab log: {folder}")
    for reason in _SKIP_REASONS:
        terminalreporter.write_sep("!", "BROWSER TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(reason, red=True, bold=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A browser test's timeout covers the test alone, not its fixtures: the first test in a worker would otherwise
    pay for starting Chromium, JupyterLab or Voilà, which every later test shares (each of those has a deadline of
    its own). The seconds stay what the test's mark or the configuration says."""
    here = Path(__file__).parent
    for item in items:
        if not item.path.is_relative_to(here):
            continue
        marker = item.get_closest_marker("timeout")
        seconds = (marker.args[0] if marker.args else marker.kwargs.get("timeout")) if marker else None
        item.add_marker(pytest.mark.timeout(seconds, func_only=True), append=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Keep each phase's report on the item, so the `page` fixture can screenshot a failed test."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _skip_loudly(reason: str) -> None:
    message = f"browser tests cannot run: {reason}"
    _SKIP_REASONS.append(message)
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, there: the servers the browser tests share start only when it is (skips loudly if not).
    Once per test process, an earlier run's failure screenshots go (a parallel worker's are newer)."""
    if not Path(CHROMIUM).exists():
        _skip_loudly(f"{CHROMIUM} is missing (install it with `apt-get install -y chromium`)")
    for stale in artifacts_dir().glob("FAILED-*"):
        if stale.stat().st_mtime < STARTED:
            stale.unlink(missing_ok=True)
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    """Headless Chromium under Playwright, for one test module; skips loudly when it does not start. Module-scoped,
    unlike the servers: Playwright's sync API leaves its event loop set as the thread's running loop while it is
    started, so the tests that run on this worker after a browser module (asyncio.run, AsyncClient) would fail."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
    except Exception as exc:
        playwright.stop()
        _skip_loudly(f"Playwright cannot launch {CHROMIUM}: {str(exc).strip().splitlines()[0]}")
    yield launched
    launched.close()
    playwright.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fresh_settings(settings_dir: Path, workspaces_dir: Path) -> None:
    """The server's user settings as a new user has them (the Light theme; a theme a test chose is written here),
    and no saved workspace, except that JupyterLab does not ask about news or updates (a toast would cover the
    page). The server reads these files at each request: the next page loaded starts from them."""
    for folder in (settings_dir, workspaces_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    target = settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


class Lab:
    """A running JupyterLab server (or one test's view of it): its URL, token, and the folder test notebooks are
    written to, `root`, which is `folder` (a path relative to the server's root, "" for the root) on disk."""

    def __init__(self, url: str, token: str, root: Path, env: dict[str, str], settings: Path, workspaces: Path,
                 folder: str = "") -> None:
        self.url = url
        self.token = token
        self.root = root
        self.env = env
        self.settings = settings
        self.workspaces = workspaces
        self.folder = folder

    def subfolder(self, name: str) -> Lab:
        """The same server with `root` a new, empty folder `name` under this one (a test's own notebooks)."""
        (self.root / name).mkdir()
        folder = f"{self.folder}/{name}".lstrip("/")
        return Lab(self.url, self.token, self.root / name, self.env, self.settings, self.workspaces, folder)

    def path(self, notebook: str) -> str:
        """`notebook` (a name in `root`) as a path from the server's root, for its URLs."""
        return f"{self.folder}/{notebook}".lstrip("/")

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Call the Jupyter Server REST API with the token."""
        headers = {"Authorization": f"token {self.token}"}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        """Write a Python 3 notebook of code cells into the server's root folder."""
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        path = self.root / name
        nbformat.write(nb, path)
        return path

    def read_notebook(self, name: str) -> nbformat.NotebookNode:
        import nbformat

        return nbformat.read(self.root / name, as_version=4)


#: The command line of each frontend the tests serve: JupyterLab, and Notebook 7 (JupyterLab's pieces under the
#: classic /tree and /notebooks pages; its app class takes the same settings under its own name).
FRONTENDS = {
    "lab": ("lab", "LabApp", ["--LabApp.news_url=None",
                              "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]),
    "notebook": ("notebook", "JupyterNotebookApp", []),
}


def _serve(frontend: str, emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A Jupyter server for `frontend` (a key of FRONTENDS) until the generator closes; its kernels inherit the
    emulator's PURAS_API_BASE and key; its log goes to `<artifacts>/jupyter<frontend>[-<xdist worker>].log`."""
    command, app, extra = FRONTENDS[frontend]
    base = tmp_path_factory.mktemp(f"jupyter{frontend}")
    root, settings, workspaces, home = (base / sub for sub in ("root", "settings", "workspaces", "home"))
    for folder in (root, home):
        folder.mkdir()
    _fresh_settings(settings, workspaces)
    # No "is a build needed?" request from each page JupyterLab opens: the server answers it by starting node for
    # `yarn config` (0.4 s of CPU a page, 18 s a suite run); nothing here is built, and nothing on the page changes.
    labconfig = home / ".jupyter" / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text(json.dumps({"buildCheck": False}))
    token = secrets.token_hex(16)
    port = _free_port()
    env = {
        **os.environ,
        "PURAS_API_BASE": emulator.url,
        "PURAS_API_KEY": emulator.api_key,
        "HOME": str(home),  # the kernels' too: what they save (puras-nb's ledger, caches) stays in the test's folder
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("JUPYTER_TOKEN", None)
    out = artifacts_dir()
    out.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    logged = out / f"jupyter{frontend}{f'-{worker}' if worker else ''}.log"
    log = logged.open("w")
    cmd = [
        sys.executable, "-m", "jupyter", command, "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
        f"--{app}.user_settings_dir={settings}", f"--{app}.workspaces_dir={workspaces}",
        f"--{app}.expose_app_in_browser=True", *extra,
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    server = Lab(url, token, root, env, settings, workspaces)
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            log.close()
            raise RuntimeError(f"jupyter {command} exited with {proc.returncode}; see {logged}")
        try:
            if server.api("GET", "/api/status").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"jupyter {command} did not answer /api/status in 90 s; see {logged}")
        time.sleep(0.25)
    yield server
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def lab(chromium: str, emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One JupyterLab per test process, started when a test first needs it; its kernels inherit the emulator's
    PURAS_API_BASE and key. Tests use it through `notebook_page`, which gives each its own folder and settings."""
    yield from _serve("lab", emulator, tmp_path_factory)


@pytest.fixture(scope="session")
def notebook7(chromium: str, emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One Notebook 7 server per test process, as `lab` is for JupyterLab."""
    yield from _serve("notebook", emulator, tmp_path_factory)


class NotebookPage:
    """A Playwright page on JupyterLab plus the steps a user takes: open a notebook, run a cell, screenshot."""

    def __init__(self, page: Any, lab: Lab, name: str) -> None:
        self.page = page
        self.lab = lab
        self.name = name
        self.dialogs: list[str] = []
        self.console_errors: list[str] = []
        page.on("dialog", self._on_dialog)
        page.on("console", lambda msg: msg.type == "error" and self.console_errors.append(msg.text))

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    @property
    def panel(self) -> Any:
        """The visible notebook panel (a restored workspace can keep hidden ones in the DOM)."""
        return self.page.locator(ACTIVE)

    def cell(self, index: int) -> Any:
        return self.panel.locator(".jp-Notebook .jp-Cell").nth(index)

    def output(self, index: int) -> Any:
        return self.cell(index).locator(".jp-OutputArea")

    def open(self, notebook: str, *, timeout: float = 90) -> None:
        """Open `notebook` in a fresh workspace (`?reset`) and wait until its kernel is idle."""
        self.page.goto(f"{self.lab.url}/lab/tree/{self.lab.path(notebook)}?reset&token={self.lab.token}")
        self.page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout * 1000)
        self.panel.locator(".jp-Cell").first.wait_for(timeout=timeout * 1000)
        self.wait_kernel_idle(timeout)

    def js(self, body: str, arg: Any = None) -> Any:
        """Evaluate `body` (an async JS function of `(panel, arg)`) against the current notebook panel."""
        script = (
            "async (arg) => { const panel = window.jupyterapp.shell.currentWidget;"
            f" const f = async (panel, arg) => {{ {body} }}; return await f(panel, arg); }}"
        )
        return self.page.evaluate(script, arg)

    def wait_kernel_idle(self, timeout: float = 90) -> None:
        self.page.wait_for_function(
            """() => { const p = window.jupyterapp.shell.currentWidget;
                       const k = p && p.sessionContext && p.sessionContext.session
                                 && p.sessionContext.session.kernel;
                       return !!k && k.status === 'idle' && k.connectionStatus === 'connected'; }""",
            timeout=timeout * 1000,
        )

    def prompt(self, index: int) -> str:
        return self.cell(index).locator(".jp-InputPrompt").inner_text()

    def run_cell(self, index: int, *, wait: bool = True, timeout: float = 60) -> Any:
        """Click into cell `index` and press Shift+Enter, as a user does; with `wait`, until it has finished."""
        before = self.prompt(index)
        self.cell(index).locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Shift+Enter")
        if wait:
            self.wait_cell_done(index, before, timeout)
        return self.output(index)

    def wait_cell_done(self, index: int, before: str = "", timeout: float = 60) -> None:
        """Wait until cell `index` shows a new execution count `[n]:` (not `[*]:`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.prompt(index)
            if re.search(r"\[\d+\]", text) and text != before:
                return
            self.page.wait_for_timeout(100)
        raise AssertionError(f"cell {index} did not finish in {timeout} s (prompt {self.prompt(index)!r})")

    def save(self) -> None:
        """Save the notebook (with the widget state JupyterLab keeps in the metadata)."""
        self.js("await panel.context.save();")

    def shutdown_kernel(self) -> None:
        """Shut the notebook's kernel down, as Kernel > Shut Down Kernel does."""
        self.js("await panel.sessionContext.shutdown();")

    def reopen(self, notebook: str, finals: int) -> None:
        """Save, shut the kernel down and open `notebook` again with no kernel, as a reader does, until its first
        `finals` static views (`.puras-final`) show and ipywidgets has given up on the models it lacks."""
        self.save()
        self.shutdown_kernel()
        self.open(notebook)
        self.shutdown_kernel()
        until(lambda: self.panel.locator(".puras-final").count() >= finals, 15, self)
        self.page.wait_for_timeout(2500)  # ipywidgets gives a missing model 2 s before it says so

    def screenshot(self, name: str) -> Path:
        """A full-page PNG in the artifacts folder."""
        path = artifacts_dir() / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


class Notebook7Page(NotebookPage):
    """The same steps in Notebook 7, whose notebook page is /notebooks/NAME (one notebook a browser tab)."""

    def open(self, notebook: str, *, timeout: float = 90) -> None:
        self.page.goto(f"{self.lab.url}/notebooks/{self.lab.path(notebook)}?token={self.lab.token}")
        self.page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout * 1000)
        self.panel.locator(".jp-Cell").first.wait_for(timeout=timeout * 1000)
        self.wait_kernel_idle(timeout)


@pytest.fixture
def notebook_page(browser: Any, lab: Lab, request: pytest.FixtureRequest) -> Iterator[NotebookPage]:
    """A fresh browser context and page per test; a failed test leaves `FAILED-<test>.png` and its console log."""
    yield from _page(browser, lab, request, NotebookPage)


@pytest.fixture
def notebook7_page(browser: Any, notebook7: Lab, request: pytest.FixtureRequest) -> Iterator[NotebookPage]:
    """`notebook_page` for Notebook 7."""
    yield from _page(browser, notebook7, request, Notebook7Page)


def _page(browser: Any, lab: Lab, request: pytest.FixtureRequest, kind: type[NotebookPage]) -> Iterator[NotebookPage]:
    """A browser context and page on `lab` for one test, in a folder of its own and with fresh user settings, closed
    after it (with a screenshot when it failed), and the server's kernels shut down."""
    _fresh_settings(lab.settings, lab.workspaces)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    name = re.sub(r"\W+", "_", request.node.name)
    module = request.node.module.__name__.rsplit(".", 1)[-1]
    nb_page = kind(page, lab.subfolder(f"{module}-{name}"[:100]), name)
    yield nb_page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        (artifacts_dir() / f"FAILED-{name}.console.txt").write_text("\n".join(nb_page.console_errors) + "\n")
        try:
            nb_page.screenshot(f"FAILED-{name}")
        except Exception as exc:
            warnings.warn(f"could not take the failure screenshot: {exc}", stacklevel=1)
    context.close()
    for session in lab.api("GET", "/api/sessions").json():
        lab.api("DELETE", f"/api/sessions/{session['id']}")
