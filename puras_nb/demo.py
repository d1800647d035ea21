"""`puras-nb demo`: run the stakeholder demo notebook on the local emulator and write it as one HTML file.

The emulator runs as a child process; the notebook runs in a real kernel (nbclient) whose environment
points at it; nbconvert writes a self-contained HTML file (media embedded as data: URLs within the
preview caps, no live widgets, no scripts). `--lab` instead opens JupyterLab on the notebooks with the
emulator running and the kernels pointed at it.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

__all__ = ["NOTEBOOKS", "add_arguments", "main", "open_lab", "render"]

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
DEMO = "stakeholder-demo.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
FINAL = 'class="puras-static puras-final"'
# nbconvert's page loads require.js, MathJax and mermaid from CDNs; the demo needs none of them.
_SCRIPT = re.compile(r"<script\b.*?</script>\s*", re.S)
# Reading order for a static page: cells top-aligned and left-aligned (nbconvert right-aligns table cells),
# media at a readable size, and the raw JSON trees of results left out: their URLs point at an emulator that is
# gone once the page is read, and the media, the script cell and the tables say the rest.
EXPORT_CSS = (
    "<style>.jp-RenderedHTMLCommon .puras-static td,.jp-RenderedHTMLCommon .puras-static th"
    "{text-align:left;vertical-align:top}"
    ".puras-static video,.puras-static img{max-height:360px;width:auto;max-width:100%}"
    ".puras-json{display:none}</style>"
)


def _html(output: Any) -> str:
    html = output.get("data", {}).get("text/html", "")
    return "".join(html) if isinstance(html, list) else html


def _kernel_env(server: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PURAS_")}
    env.update(PURAS_API_BASE=server.url, PURAS_API_KEY=server.api_key)
    return env


def _notebook(notebooks: Path) -> Path:
    path = notebooks / DEMO
    if not path.is_file():
        raise SystemExit(
            f"puras-nb demo: {path} not found; the demo notebooks ship with the source checkout "
            "(git clone, then pip install -e '.[demo]')"
        )
    return path


def static_outputs(nb: Any) -> Any:
    """Drop live-widget views so every output falls back to its static HTML, and the widget state with them.

    A job's final static summary is kept; the live display it duplicates (same job, same media) is dropped,
    so each result appears once in the file.
    """
    for cell in nb.cells:
        outputs = cell.get("outputs", [])
        has_final = any(FINAL in _html(o) for o in outputs)
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


def render(out_dir: str | Path = ".", *, notebooks: Path = NOTEBOOKS, timeout: int = 600) -> Path:
    """Execute the stakeholder demo on a fresh local emulator; write and return `<out_dir>/stakeholder-demo.html`."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    from . import local

    source = _notebook(notebooks)
    nb = nbformat.read(source, as_version=4)
    with local.start() as server:
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(notebooks)}},
            # the kernel's own start-up warnings (loopback TCP without encryption) are not the user's concern
            extra_arguments=["--log-level=ERROR"],
        )
        client.execute(env=_kernel_env(server))
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(static_outputs(nb), resources={"metadata": {"name": "Puras demo"}})
    body = _SCRIPT.sub("", body).replace("</head>", EXPORT_CSS + "</head>", 1)
    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    path = out / (source.stem + ".html")
    path.write_text(body, encoding="utf-8")
    return path


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def open_lab(*, notebooks: Path = NOTEBOOKS, port: int | None = None) -> int:
    """Run JupyterLab on the notebooks with a local emulator for its kernels, until Lab exits."""
    from . import local

    _notebook(notebooks)
    with local.start() as server:
        print(f"puras-nb: local emulator at {server.url}; opening JupyterLab on {notebooks}", flush=True)
        cmd = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={notebooks}"]
        if port:
            cmd.append(f"--port={port}")
        if getattr(os, "geteuid", lambda: 1)() == 0:  # containers often run as root, which Lab refuses by default
            cmd.append("--allow-root")
        lab = subprocess.Popen(cmd, env=_kernel_env(server))
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _interrupt)  # stop Lab and the emulator on a plain `kill` too
        try:
            return lab.wait()
        except KeyboardInterrupt:
            lab.terminate()
            lab.wait(timeout=30)
            return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `puras-nb demo`."""
    parser.add_argument(
        "--lab", action="store_true", help="open JupyterLab on the notebooks instead (emulator running)"
    )
    parser.add_argument("--out", default=".", metavar="DIR", help="where to write the HTML file (default: .)")
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS, metavar="DIR", help=argparse.SUPPRESS)


def main(args: argparse.Namespace) -> int:
    """Run `puras-nb demo` with parsed arguments."""
    if args.lab:
        return open_lab(notebooks=args.notebooks)
    print("puras-nb: running the stakeholder demo on the local emulator…", file=sys.stderr, flush=True)
    path = render(args.out, notebooks=args.notebooks)
    print(path)
    return 0
