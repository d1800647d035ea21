"""A batch in JupyterLab: the live view (outcome bar, one page of rows, paging, a failed row opened), then
the saved notebook reopened without a kernel shows the static table, with no widget error line."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.harness.looks import until

pytestmark = pytest.mark.browser


def test_a_batch_pages_opens_a_failed_row_and_keeps_its_table_when_saved(notebook_page: Any, artifacts: Path) -> None:
    nb = notebook_page
    tag = uuid.uuid4().hex[:8]
    nb.lab.write_notebook("batch.ipynb", [
        f"import puras_nb\npuras_nb.configure(ledger='/tmp/puras-nb-browser-{tag}.sqlite')",
        f"rows = [{{'n': i % 3, 'tag': '{tag}'}} for i in range(60)] + [{{'n': -1}}]\n"
        "b = puras_nb.map('demo/count', rows, max_running=16)\nb.wait(60)",
    ])  # fmt: skip
    nb.open("batch.ipynb")
    nb.run_cell(0)
    out = nb.run_cell(1, timeout=90)
    live = out.locator(".puras-batch-live")
    live.wait_for()
    until(lambda: "60 succeeded" in live.inner_text() and "1 failed" in live.inner_text(), 30, nb)
    assert live.locator("tbody tr").count() == 25, "one page of rows"
    assert live.locator(".puras-outcomes > div").count() == 2, "the bar: succeeded and failed parts"
    live.locator("button", has_text="▶").click()
    until(lambda: "page 2 of 3" in live.inner_text(), 10, nb)
    assert live.locator("tbody tr").first.inner_text().startswith("26")
    live.locator("select").select_option(label="row 61")
    until(lambda: "rejected: 422" in live.inner_text(), 10, nb)
    out.screenshot(path=str(artifacts / "batch-live.png"))

    nb.save()
    nb.shutdown_kernel()
    nb.open("batch.ipynb")
    until(lambda: nb.panel.locator(".puras-batch.puras-final").count() == 1, 15, nb)
    nb.page.wait_for_timeout(2500)  # ipywidgets gives a missing model 2 s before it says so
    static = nb.output(1)
    text = static.inner_text()
    assert "60 succeeded" in text and "rejected: 422" in text and "36 more rows" in text
    assert "Error displaying widget" not in nb.panel.locator(".jp-Notebook").inner_text()
    static.screenshot(path=str(artifacts / "batch-saved.png"))
