"""compare(): a grid of inputs x versions, started concurrently, outside a kernel."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from puras_nb import live
from puras_nb.compare import compare
from puras_nb.errors import JobError


@pytest.fixture(autouse=True)
def configured(emulator: Any) -> Iterator[None]:
    before = live.settings()
    live.configure(api_key=emulator.api_key, api_base=emulator.url, poll_interval=0.5, local=False)
    yield
    live._settings = before


def test_grid_of_inputs_by_versions_with_rows_and_static_views() -> None:
    grid = compare("demo/image", [{"prompt": "a cat"}, {"prompt": "a dog"}], versions=[1, 2], display=False)
    assert len(grid.jobs) == 4 and {v for _, v in grid.jobs} == {1, 2}
    results = grid.results(timeout=20)
    assert [[r["image"]["mime"] for r in row] for row in results] == [["image/png"] * 2] * 2
    assert [r["prompt"] for r in results[1]] == ["a dog", "a dog"]
    rows = grid.rows()
    assert [(r["input"]["prompt"], r["version"], r["status"]) for r in rows] == [
        ("a cat", 1, "succeeded"),
        ("a cat", 2, "succeeded"),
        ("a dog", 1, "succeeded"),
        ("a dog", 2, "succeeded"),
    ]
    assert all(r["duration"] is not None and r["cost_usd"] > 0 for r in rows)
    assert grid.job(0, 2).version == 2
    bundle = grid._static_bundle(final=True)
    assert bundle["text/plain"] == "<Comparison demo/image: 2 inputs x v1, v2; 4 succeeded>"
    assert bundle["text/html"].count('<img src="data:image/png;base64,') == 4
    assert "<th>v1</th><th>v2</th>" in bundle["text/html"] and "puras-final" in bundle["text/html"]


def test_a_failing_cell_keeps_its_error_and_the_rest_succeed() -> None:
    grid = compare("demo/fail", [{"after": 0, "message": "<b>nope</b>"}], versions=[None], display=False)
    [[outcome]] = grid.results(timeout=20)
    assert isinstance(outcome, JobError) and grid.done()
    html = grid._static_bundle()["text/html"]
    assert "&lt;b&gt;nope&lt;/b&gt;" in html and "<b>nope" not in html
    assert repr(grid) == "<Comparison demo/fail: 1 inputs x active; 1 failed>"


def test_compare_needs_inputs_and_versions() -> None:
    with pytest.raises(ValueError, match="input"):
        compare("demo/echo", [], display=False)
    with pytest.raises(ValueError, match="version"):
        compare("demo/echo", [{}], versions=[], display=False)
