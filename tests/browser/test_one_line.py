"""A finished job as small as tqdm's (issue 23.4), in JupyterLab light and dark: a job that succeeded with no media is
one line (skill, version, status, time, cost, the result inline, feedback, a toggle for the log and the raw result),
next to a finished tqdm bar and dask's progress (when dask.distributed is installed) in one screenshot; media results
keep their preview. Screenshots: artifacts/browser/one-line-*.png."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from tests.harness.looks import CONTRAST, until

pytestmark = pytest.mark.browser

DASK = importlib.util.find_spec("distributed") is not None
CELLS = [
    "%load_ext puras_nb\nimport time\nfrom tqdm.auto import tqdm",
    "from dask.distributed import Client, LocalCluster, progress\n"
    "cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)\n"
    "dc = Client(cluster)\n"
    "futures = dc.map(lambda x: time.sleep(0.1) or x, range(10))\n"
    "progress(futures)" if DASK else "# dask.distributed is not installed here: tqdm and JupyterLab's own output only\n"
    "print('10 / 10 done')",
    "for _ in tqdm(range(10), desc='tqdm loop'):\n    time.sleep(0.1)",
    "%puras run demo/count n=10 delay=0.1",
    "%puras run demo/image prompt='a fox' width=96 height=96",
    "dc.close()\ncluster.close()" if DASK else "pass",  # a quiet kernel shutdown
]
OTHER, TQDM, OURS, MEDIA = 1, 2, 3, 4


def _height(output: Any) -> float:
    return output.evaluate("o => o.getBoundingClientRect().height")


@pytest.mark.timeout(300)  # one notebook run live, in two themes, reopened and exported
def test_a_finished_job_is_one_line_beside_tqdm_and_dask(notebook_page: Any, artifacts: Path) -> None:
    nb = notebook_page
    nb.lab.write_notebook("one-line.ipynb", CELLS)
    nb.open("one-line.ipynb")
    for index in range(len(CELLS) - 1):
        nb.run_cell(index, timeout=120)
    ours = nb.output(OURS)
    job = ours.locator(".puras-job").first
    until(lambda: job.locator(".puras-details-toggle").count() == 1, 20, nb)
    nb.page.wait_for_timeout(500)
    line = job.locator(".puras-line-box")
    assert line.count() == 1 and job.locator(".progress").count() == 0, "no bar once the job is one line"
    text = line.inner_text()
    for part in ("demo/count", "v2", "succeeded", "free", '{"count": 10}'):
        assert part in text, (part, text)
    tqdm_height, our_height = _height(nb.output(TQDM)), _height(ours)
    assert our_height <= max(1.5 * tqdm_height, 40), f"ours {our_height} px against tqdm's {tqdm_height} px"
    assert job.locator(".puras-feedback-up").is_visible() and job.locator(".puras-details").is_hidden()
    problems = [t for t in job.evaluate_all(CONTRAST) if t["ratio"] < 4.5 or t["clipped"]]
    assert not problems, problems

    media = nb.output(MEDIA).locator(".puras-job").first
    media.locator("img").first.wait_for(timeout=20_000)
    assert media.locator(".puras-line-box").count() == 0, "a media result keeps its preview"

    def side_by_side(name: str) -> None:
        top = nb.cell(OTHER).bounding_box()
        bottom = nb.cell(OURS).bounding_box()
        clip = {"x": 0, "y": top["y"] - 4, "width": 1280, "height": bottom["y"] + bottom["height"] - top["y"] + 12}
        nb.page.screenshot(path=str(artifacts / f"one-line-{name}.png"), clip=clip)

    nb.cell(OTHER).scroll_into_view_if_needed()
    side_by_side("side-by-side-light")
    job.locator(".puras-details-toggle").click()
    until(lambda: "counted 10 of 10" in job.locator(".puras-details").inner_text(), 10, nb)
    assert '"count": 10' in job.locator(".puras-details").inner_text().replace("count: 10", '"count": 10')
    ours.screenshot(path=str(artifacts / "one-line-details-open.png"))
    job.locator(".puras-details-toggle").click()
    until(lambda: job.locator(".puras-details").is_hidden(), 10, nb)

    nb.js("await window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'});")
    nb.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    nb.page.wait_for_timeout(500)
    nb.cell(OTHER).scroll_into_view_if_needed()
    side_by_side("side-by-side-dark")
    problems = [t for t in job.evaluate_all(CONTRAST) if t["ratio"] < 4.5 or t["clipped"]]
    assert not problems, problems
    nb.js("await window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'});")

    nb.run_cell(len(CELLS) - 1, timeout=60)
    nb.shutdown_kernel()
    nb.save()  # after the kernel is gone: nothing left to change the notebook (or ask before leaving the page)
    nb.open("one-line.ipynb")
    nb.shutdown_kernel()
    saved = nb.output(OURS).locator(".puras-final").last
    until(saved.is_visible, 15, nb)
    nb.page.wait_for_timeout(2500)  # ipywidgets gives a missing model 2 s before it says so (then ours hides that)
    assert saved.locator("details.puras-line-details").count() == 1
    assert _height(nb.output(OURS)) <= max(1.5 * tqdm_height, 40), "the saved view is one line too"
    nb.cell(OTHER).scroll_into_view_if_needed()
    side_by_side("side-by-side-reopened")
