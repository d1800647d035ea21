"""`puras-nb demo`: run the stakeholder demo notebook on the local emulator and write it as one HTML file.

`--app` serves the stakeholder app (`stakeholder-app.ipynb`, a form people drive) with Voilà on a free local
port instead: code hidden, tracebacks and warnings stripped, the notebook's printed output left out (puras-nb's
Voilà template `puras-app`, shipped in `puras_nb/jupyter/`), the API key only in the kernels' environment.

The emulator runs as a child process; the notebook runs in a real kernel (nbclient) whose environment
points at it; nbconvert writes a self-contained HTML file (media embedded as data: URLs within the
preview caps, no live widgets, no scripts). `--lab` instead opens JupyterLab on a copy of the notebooks
with the emulator running and the kernels pointed at it.

The notebooks ship in the wheel as package data (`puras_nb/notebooks/`, mapped from the repository's
`notebooks/` at build time). Everything the demo writes goes to `--out DIR` or a new directory of its
own, never into the installed package or the repository's `notebooks/`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from ..settings import from_environment, uses_emulator

__all__ = [
    "NO_FILES",
    "PAGE_NOTE",
    "STORED_NOTE",
    "add_arguments",
    "app_env",
    "copy_notebooks",
    "drop_links",
    "free_port",
    "main",
    "notebook",
    "notebook_dir",
    "open_lab",
    "page_notebook",
    "render",
    "serve_app",
    "voila_command",
    "voila_env",
    "wait_answering",
    "workdir",
]

_HERE = Path(__file__).resolve().parent.parent  # the puras_nb package directory
PACKAGED = _HERE / "notebooks"  # an installed wheel: the notebooks as package data
CHECKOUT = _HERE.parent / "notebooks"  # a source checkout (editable install): the repository's own notebooks/
#: A Jupyter data directory (for JUPYTER_PATH) holding puras-nb's Voilà template `puras-app`.
TEMPLATES = _HERE / "jupyter"
DEMO = "stakeholder-demo"
APP = "stakeholder-app"
#: How long `--app` waits for Voilà to answer before giving up.
APP_START_TIMEOUT = 90.0
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: A job's, a result's or a grid's final static view (a job's and a result's also keep MathJax off: `NO_MATH`).
FINAL = re.compile(r'class="puras-static puras-final(?: mathjax_ignore tex2jax_ignore)?"')
# nbconvert's page loads require.js, MathJax and mermaid from CDNs; the demo needs none of them.
_SCRIPT = re.compile(r"<script\b.*?</script>\s*", re.S)
# Reading order for a static page (the views' own STYLE already left-aligns their tables): media at a readable
# size, and the raw JSON trees of results left out: their URLs point at an emulator that is
# gone once the page is read, and the media, the script cell and the tables say the rest.
EXPORT_CSS = (
    "<style>.puras-static video,.puras-static img{max-height:360px;width:auto;max-width:100%}"
    ".puras-json{display:none}</style>"
)


def _html(output: Any) -> str:
    html = output.get("data", {}).get("text/html", "")
    return "".join(html) if isinstance(html, list) else html


def _kernel_env(server: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PURAS_")}
    env.update(PURAS_API_BASE=server.url, PURAS_API_KEY=server.api_key)
    return env


def notebook_dir() -> Path:
    """Where the demo notebooks are read from: the wheel's package data, else the source checkout's notebooks/."""
    return PACKAGED if PACKAGED.is_dir() else CHECKOUT


def notebook(name: str) -> Path:
    """The shipped demo notebook called `name` (`stakeholder-demo` or `stakeholder-demo.ipynb`), for reading only:
    `copy_notebooks` makes the copies people run and save."""
    directory = notebook_dir()
    path = directory / (name if name.endswith(".ipynb") else f"{name}.ipynb")
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in directory.glob("*.ipynb"))) or "none"
        raise SystemExit(
            f"puras-nb demo: no notebook {name!r} in {directory} (found: {shipped}); "
            "reinstall with pip install 'puras-nb[demo]'"
        )
    return path


def workdir(out: str | Path | None, kind: str = "demo") -> Path:
    """The directory the demo writes into: `--out DIR` (created if missing), else a new one of its own under the
    system's temp directory, so nothing lands in the current directory, a checkout or the installed package."""
    if out is None:
        return Path(tempfile.mkdtemp(prefix=f"puras-nb-{kind}-"))
    path = Path(out).expanduser().resolve()
    if path == notebook_dir().resolve():
        raise SystemExit(f"puras-nb demo: {path} holds the notebooks as shipped; give --out another directory")
    if path.exists() and not path.is_dir():
        raise SystemExit(f"puras-nb demo: --out {path} is a file; give a directory")
    path.mkdir(parents=True, exist_ok=True)
    return path


#: The tag of the stakeholder demo's note about its stored copy (notebooks/build.py), which the page replaces.
STORED_NOTE = "puras-stored-copy"
PAGE_NOTE = (
    "*This page was written by `puras-nb demo`: every video and voiceover is embedded in it, and plays here "
    "with nothing to fetch.*"
)
_OPEN_LINK = re.compile(r'<span class="puras-open">.*?</span>', re.S)


def drop_links(html: str) -> str:
    """`html` without its media items' links (views/html.py `media_html`): they point at the local emulator the
    notebook ran against, gone once the page (or the stored notebook) is read."""
    return _OPEN_LINK.sub("", html)


def page_notebook(nb: Any) -> Any:
    """The executed demo notebook as its page shows it: static outputs only (`static_outputs`), no dead links to
    the emulator, and its note about the stored copy (which keeps small stills only) replaced by one about the
    page, which holds every video and voiceover."""
    for cell in static_outputs(nb).cells:
        if STORED_NOTE in cell.get("metadata", {}).get("tags", []):
            cell["source"] = PAGE_NOTE
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/html" in data:
                data["text/html"] = drop_links(_html(output))
    return nb


def static_outputs(nb: Any) -> Any:
    """Drop live-widget views so every output falls back to its static HTML, and the widget state with them.

    A job's final static summary is kept; the live display it duplicates (same job, same media) is dropped,
    so each result appears once in the file.
    """
    for cell in nb.cells:
        outputs = cell.get("outputs", [])
        has_final = any(FINAL.search(_html(o)) for o in outputs)
        kept = []
        for output in outputs:
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                if has_final:
                    continue
                del data[WIDGET_VIEW]
            kept.append(output)
        cell["outputs"] = kept
    nb.metadata.pop("widgets", None)
    return nb


def render(out_dir: Path, *, timeout: int = 600) -> Path:
    """Execute the stakeholder demo on a fresh local emulator; write and return `<out_dir>/stakeholder-demo.html`.

    The kernel runs in `out_dir`, so anything the notebook writes lands beside the page, not in the package.
    """
    from .. import local
    from ..local.entry import IRI_CHECKER_OFF, skip_iri_format_checker

    skip_iri_format_checker()  # nbformat validates with jsonschema, never with its format checkers
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    source = notebook(DEMO)
    nb = nbformat.read(source, as_version=4)
    out_dir.mkdir(parents=True, exist_ok=True)
    with local.start() as server:
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(out_dir)}},
            # the kernel's own start-up warnings (loopback TCP without encryption) are not the user's concern; its
            # first job validates inputs with jsonschema, without format checkers (the IRI one costs 2 s of CPU)
            extra_arguments=["--log-level=ERROR", f"--IPKernelApp.exec_lines={IRI_CHECKER_OFF}"],
        )
        client.execute(env=_kernel_env(server))
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(page_notebook(nb), resources={"metadata": {"name": "Puras demo"}})
    body = _SCRIPT.sub("", body).replace("</head>", EXPORT_CSS + "</head>", 1)
    path = out_dir / f"{DEMO}.html"
    path.write_text(body, encoding="utf-8")
    return path


def copy_notebooks(directory: Path) -> list[str]:
    """Copy every shipped demo notebook into `directory`, keeping any copy already there (it may hold the user's
    edits); return the names kept. Copies are plain writable files even when the package is read-only."""
    kept = []
    for source in sorted(notebook_dir().glob("*.ipynb")):
        target = directory / source.name
        if target.exists():
            kept.append(source.name)
        else:
            shutil.copyfile(notebook(source.name), target)
    return kept


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


# JupyterLab, started so that it does not print "DeprecationWarning: ServerApp.token config is deprecated" at each
# start: Voilà's server extension turns traitlets' deprecation warnings on when it is imported (Python hides them
# outside __main__), and notebook_shim then reads every ServerApp trait, the deprecated `token` among them. Nothing
# a user can act on: after Voilà's import, traitlets' deprecation warnings are hidden again, as Python's default is.
_LAB = """
import warnings
try:
    import voila  # noqa: F401
except ImportError:
    pass
warnings.filterwarnings("ignore", category=DeprecationWarning, module="traitlets")
from jupyterlab.labapp import main
main()
"""


def open_lab(directory: Path, *, port: int | None = None) -> int:
    """Run JupyterLab on a copy of the notebooks in `directory`, with a local emulator for its kernels, until Lab
    exits. Lab's root is `directory`, so saves and new notebooks stay there."""
    from .. import local

    notebook(DEMO)
    kept = copy_notebooks(directory)
    if kept:
        print(f"puras-nb: kept the copies already in {directory}: {', '.join(kept)}", file=sys.stderr, flush=True)
    with local.start() as server:
        print(f"puras-nb: local emulator at {server.url}; JupyterLab on the copies in {directory}", flush=True)
        cmd = [sys.executable, "-c", _LAB, f"--notebook-dir={directory}"]
        if port:
            cmd.append(f"--port={port}")
        if getattr(os, "geteuid", lambda: 1)() == 0:  # containers often run as root, which Lab refuses by default
            cmd.append("--allow-root")
        lab = subprocess.Popen(cmd, env=_kernel_env(server), cwd=directory)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _interrupt)  # stop Lab and the emulator on a plain `kill` too
        try:
            return lab.wait()
        except KeyboardInterrupt:
            lab.terminate()
            lab.wait(timeout=30)
            return 0


NO_FILES = ".*"
"""Voilà's `file_denylist` pattern that denies every file under `/voila/files/` (its default allowlist is every
.png/.jpg/.gif/.svg, served with no token). The app shows no file from its directory."""


def voila_command(notebook_path: Path, port: int, token: str) -> list[str]:
    """The Voilà command that serves the app safely: loopback only, a token, no code, no tracebacks (Voilà then also
    drops every stderr stream, which is where warnings go), the `puras-app` template (it leaves out what the notebook
    prints), which a visitor's `?template=` cannot swap, a fixed port that fails rather than wanders, and no files:
    Voilà's `/voila/files/` serves the directory's images without asking for the token (an SVG there runs script
    on the app's origin), so every file is denied. Run it with `voila_env`, which makes the template findable."""
    return [
        sys.executable, "-m", "voila", str(notebook_path), "--no-browser", "--Voila.ip=127.0.0.1",
        f"--port={port}", "--Voila.port_retries=0", f"--Voila.token={token}",
        "--strip_sources=True", "--show_tracebacks=False", "--theme=light", "--template=puras-app",
        "--VoilaConfiguration.allow_template_override=NO", f"--VoilaConfiguration.file_denylist={NO_FILES}",
    ]  # fmt: skip


def voila_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with `TEMPLATES` first on JUPYTER_PATH, for the Voilà process of `voila_command`."""
    paths = [str(TEMPLATES), *filter(None, env.get("JUPYTER_PATH", "").split(os.pathsep))]
    return {**env, "JUPYTER_PATH": os.pathsep.join(paths)}


def app_env(server: Any = None) -> dict[str, str]:
    """The Voilà process's (and so the kernels') environment: the local emulator's address and key when one runs for
    the app, else the caller's own `PURAS_API_KEY` / `PURAS_API_BASE`; the `puras-app` template on JUPYTER_PATH. It
    reaches the kernels only, never the page."""
    return voila_env(_kernel_env(server) if server is not None else dict(os.environ))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_answering(proc: subprocess.Popen, url: str, timeout: float) -> None:
    """Wait until `url` answers (any status below 500); SystemExit if `proc` exits first or `timeout` s pass."""
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    code = proc.poll()
    raise SystemExit(
        f"puras-nb demo --app: Voilà exited with {code}" if code is not None
        else f"puras-nb demo --app: Voilà did not answer within {timeout:.0f} s"
    )


def serve_app(directory: Path, *, port: int | None = None) -> int:
    """Serve the stakeholder app with Voilà from a copy in `directory` until Ctrl-C (or SIGTERM); print its URL.

    Without `PURAS_API_KEY` / `PURAS_API_BASE` a local emulator runs for it, shared by every visitor's kernel."""
    import contextlib
    import secrets

    from .. import local

    try:
        import voila  # noqa: F401
    except ImportError:
        raise SystemExit("puras-nb demo --app needs Voilà: pip install 'puras-nb[demo]'") from None
    target = directory / f"{APP}.ipynb"
    shutil.copyfile(notebook(APP), target)
    hosted = not uses_emulator(from_environment())  # the kernels' own rule, read from the same variables
    with contextlib.ExitStack() as stack:
        server = None if hosted else stack.enter_context(local.start())
        where = "the API in PURAS_API_BASE / PURAS_API_KEY" if server is None else f"a local emulator at {server.url}"
        token, port = secrets.token_urlsafe(24), port or free_port()
        log = stack.enter_context((directory / "voila.log").open("w"))
        proc = subprocess.Popen(
            voila_command(target, port, token), env=app_env(server), cwd=directory,
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _interrupt)
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_answering(proc, url, APP_START_TIMEOUT)
            print(f"puras-nb: the stakeholder app runs on {where}; Voilà's log: {directory / 'voila.log'}",
                  file=sys.stderr, flush=True)
            print("puras-nb: open the app in a browser (Ctrl-C stops it):", file=sys.stderr, flush=True)
            print(f"{url}?token={token}", flush=True)
            return proc.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `puras-nb demo`."""
    parser.add_argument(
        "--lab",
        action="store_true",
        help="open JupyterLab on a copy of the demo notebooks instead (emulator running)",
    )
    parser.add_argument(
        "--app",
        action="store_true",
        help="serve the stakeholder app (a form to try skills) with Voilà on a free local port, until Ctrl-C",
    )
    parser.add_argument("--port", type=int, help="with --app: the port to serve on (default: a free one)")
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="where to write the HTML page (with --lab: the notebook copies); default: a new temporary directory",
    )


def main(args: argparse.Namespace) -> int:
    """Run `puras-nb demo` with parsed arguments."""
    if args.lab and args.app:
        raise SystemExit("puras-nb demo: choose --lab or --app, not both")
    directory = workdir(args.out, "lab" if args.lab else "app" if args.app else "demo")
    if args.out is None:
        print(f"puras-nb: working in {directory} (choose another with --out DIR)", file=sys.stderr, flush=True)
    if args.lab:
        return open_lab(directory)
    if args.app:
        return serve_app(directory, port=args.port)
    print("puras-nb: running the stakeholder demo on the local emulator…", file=sys.stderr, flush=True)
    path = render(directory)
    print("puras-nb: wrote the demo page; open it in a browser:", file=sys.stderr, flush=True)
    print(path)
    return 0
