"""The demo notebooks run top to bottom, offline against the emulator, and match their stored outputs (nbval).

Each notebook runs in `pytest -p nbval --nbval` in a subprocess (its own kernel; the repository's pytest
configuration loads nbval only when asked), with the sanitizers in notebooks/nbval-sanitize.cfg for what is random
by nature (ids, ports, signatures, timestamps).
After changing a notebook, regenerate its stored outputs with `python notebooks/build.py NAME`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from puras_nb.local.entry import IRI_CHECKER_OFF

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
NAMES = ["quickstart", "magics", "stakeholder-demo", "exploration", "stakeholder-app"]

pytestmark = pytest.mark.kernel


def _offline_env() -> dict[str, str]:
    """The environment without any Puras connection settings: the notebooks must bring their own emulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PURAS_")}
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


def _ipython_dir(tmp_path: Path) -> Path:
    """An IPython directory (IPYTHONDIR) whose kernels start as the harness's do (tests/harness/kernel.py: jsonschema
    without its IRI format checker, 2 s of CPU), and keep their history out of HOME."""
    config = tmp_path / "ipython" / "profile_default" / "ipython_kernel_config.py"
    config.parent.mkdir(parents=True)
    config.write_text(f"c.IPKernelApp.exec_lines = [{IRI_CHECKER_OFF!r}]\n")
    return config.parents[1]


@pytest.mark.timeout(300)  # the subprocess's own limit: a whole notebook, a kernel and an emulator on a loaded machine
@pytest.mark.parametrize("name", NAMES)
def test_notebook_matches_its_stored_outputs(name: str, tmp_path: Path) -> None:
    path = NOTEBOOKS / f"{name}.ipynb"
    # pytest as this process runs it (tests/conftest.py): nbval's nbformat imports jsonschema, without the IRI checker
    run_pytest = f"{IRI_CHECKER_OFF}; import sys, pytest; sys.exit(pytest.main(sys.argv[1:]))"
    proc = subprocess.run(
        [
            sys.executable, "-c", run_pytest, "-q", "-p", "no:cacheprovider", "-p", "nbval", "--nbval", str(path),
            "--nbval-sanitize-with", str(NOTEBOOKS / "nbval-sanitize.cfg"), "--nbval-cell-timeout", "120",
        ],
        cwd=ROOT,
        env={**_offline_env(), "IPYTHONDIR": str(_ipython_dir(tmp_path))},
        capture_output=True,
        text=True,
        timeout=300,
    )
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, tail
    cells = sum(1 for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    assert f"{cells} passed" in proc.stdout, tail


@pytest.mark.parametrize("name", NAMES)
def test_notebook_outputs_are_stored_and_clean(name: str) -> None:
    """Every code cell was executed and stored; no error outside cells tagged raises-exception."""
    nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        assert cell["execution_count"] is not None, cell["source"]
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        if "raises-exception" in cell["metadata"].get("tags", []):
            assert errors or any(o.get("name") == "stderr" for o in cell["outputs"]), cell["source"]
        else:
            assert not errors, cell["source"]
            assert not any("Traceback" in "".join(o.get("text", "")) for o in cell["outputs"]), cell["source"]


@pytest.mark.timeout(300)  # the subprocess's own limit, as above
def test_demo_command_writes_a_self_contained_html_with_the_ad_and_the_grid(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "puras_nb.cli", "demo", "--out", str(tmp_path)],
        cwd=tmp_path,
        env=_offline_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    path = Path(proc.stdout.strip().splitlines()[-1])
    assert path == tmp_path / "stakeholder-demo.html"
    html = path.read_text()
    # the ugc-ad result: video, thumbnail image and voiceover audio, embedded
    assert re.search(r'<video[^>]+src="data:video/mp4;base64,', html)
    assert re.search(r'<img[^>]+src="data:image/png;base64,', html)
    assert re.search(r'<audio[^>]+src="data:audio/wav;base64,', html)
    # it says what it holds (issue 23.8): not the stored copy's "small previews"
    assert "every video and voiceover is embedded" in html and "small previews" not in html
    # the comparison grid: 2 products x v1, v2, each cell with its own video
    grid = html[html.index('<table class="puras-grid puras-sized"') :]  # its columns sized by their videos
    grid = grid[: grid.index("</table>")]
    assert grid.count("data:video/mp4;base64,") == 4 and "<colgroup><col " in grid
    assert ">v1<" in grid and ">v2<" in grid
    # self-contained: no scripts, nothing fetched from elsewhere, no live widgets left
    assert "<script" not in html
    assert not re.search(r'(src|href)="https?://', html)
    assert "widget-view+json" not in html


def test_ignored_outputs_are_rare_and_use_nbval_markers() -> None:
    """Outputs are skipped only where timing decides them, and only with a marker nbval understands."""
    ignored = 0
    for name in NAMES:
        for cell in json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())["cells"]:
            tags = cell["metadata"].get("tags", [])
            assert not [t for t in tags if "NBVAL" in t.upper() and t not in ("nbval-ignore-output",)], tags
            ignored += "nbval-ignore-output" in tags or "NBVAL_IGNORE_OUTPUT" in "".join(cell["source"])
    assert ignored <= 2
