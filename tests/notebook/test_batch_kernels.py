"""Batches in real kernels against the emulator: a kernel killed mid-batch and a new one that finishes it
with no row sent twice, a third run that sends nothing, a budget, and two kernels sharing one ledger."""

from __future__ import annotations

import contextlib
import json
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from puras_nb import Client
from tests.harness.kernel import Kernel as KernelHarness  # the one kernel harness, shared with bench/

pytestmark = pytest.mark.kernel


@pytest.fixture
def start_kernel(emulator: Any, tmp_path: Path) -> Iterator[Any]:
    """Kernels on the session emulator sharing one ledger file; closed at the end."""
    made: list[KernelHarness] = []

    def start() -> KernelHarness:
        kernel = KernelHarness({"PURAS_API_BASE": emulator.url, "PURAS_API_KEY": emulator.api_key,
                                "PURAS_NB_LEDGER": str(tmp_path / "ledger.sqlite")})
        kernel.ok("import puras_nb")
        made.append(kernel)
        return kernel

    yield start
    for kernel in made:
        with contextlib.suppress(Exception):  # a kernel the test killed
            kernel.close()


def _rows(n: int) -> list[dict]:
    """`n` rows of demo/slow no other test sends (the emulator lives for the whole session)."""
    base = random.randrange(10**6)
    return [{"seconds": round(0.3 + (base * 100 + i) / 10**9, 9)} for i in range(n)]


def _made(emulator: Any, rows: list[dict]) -> list[dict]:
    """The jobs the emulator holds for these rows."""
    wanted = {json.dumps(r, sort_keys=True) for r in rows}
    with Client(api_key=emulator.api_key, api_base=emulator.url) as client:
        return [j for j in client.jobs(skill="slow", limit=5000) if json.dumps(j["inputs"], sort_keys=True) in wanted]


def _wait_for(kernel: KernelHarness, expr: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while kernel.value(expr) != "True":
        assert time.monotonic() < deadline, f"never true: {expr}"
        time.sleep(0.1)


def test_a_batch_killed_mid_way_is_finished_by_a_new_kernel_without_a_row_sent_twice(
    start_kernel: Any, emulator: Any
) -> None:
    rows = _rows(40)
    cell = f"b = puras_nb.map('demo/slow', {rows!r}, max_running=8, display=False)"
    first = start_kernel()
    first.ok(cell)
    _wait_for(first, "b.outcomes()['succeeded'] >= 12")
    first.km.signal_kernel(signal.SIGKILL)  # mid-way: jobs running, submissions on their way, claims unrecorded
    before = len(_made(emulator, rows))
    assert 12 <= before < 40, before
    second = start_kernel()
    second.ok(cell + "\nb.wait(60)")
    assert second.value("b.outcomes()") == str({"succeeded": 40, "failed": 0, "cancelled": 0, "running": 0,
                                                "queued": 0})
    assert second.value(f"[r['slept'] for r in b.results()] == {[r['seconds'] for r in rows]!r}") == "True"
    made = _made(emulator, rows)
    assert len(made) == 40 and len({json.dumps(j["inputs"], sort_keys=True) for j in made}) == 40
    assert second.value("b.reused >= 12 and b.sent <= 28") == "True"
    second.ok(cell.replace("b =", "c =") + "\nc.wait(60)")
    assert second.value("(c.sent, c.reused, c.outcomes()['succeeded'])") == "(0, 40, 40)", "the third run sends nothing"
    assert len(_made(emulator, rows)) == 40


def test_two_kernels_sharing_a_ledger_send_each_row_once(start_kernel: Any, emulator: Any) -> None:
    rows = _rows(24)
    cell = f"b = puras_nb.map('demo/slow', {rows!r}, max_running=6, display=False)\nb.wait(60)"
    one, two = start_kernel(), start_kernel()
    ids = [one.kc.execute(cell), two.kc.execute(cell)]  # both at once
    for kernel, msg_id in zip((one, two), ids, strict=True):
        deadline = time.monotonic() + 90
        while msg_id not in kernel._idle:
            assert time.monotonic() < deadline, "the batch did not finish"
            time.sleep(0.05)
    for kernel in (one, two):
        assert kernel.value("b.outcomes()['succeeded']") == "24"
    assert len(_made(emulator, rows)) == 24
    assert int(one.value("b.sent")) + int(two.value("b.sent")) == 24


def test_a_budget_stops_a_batch_and_its_views_say_so(start_kernel: Any) -> None:
    kernel = start_kernel()
    tag = random.randrange(10**9)
    rows = [{"prompt": f"budget {tag} {i}", "width": 16, "height": 16} for i in range(6)]  # $0.0040 each (v1)
    cell = kernel.ok(f"b = puras_nb.map('demo/image', {rows!r}, version=1, budget_usd=0.01)\nb.wait(30)")
    assert kernel.value("b.stopped") == "'budget reached: 4 rows not sent'"
    assert kernel.value("(b.cost, b.results()[2:])") == "(0.008, [None, None, None, None])"
    views = [m["content"]["data"] for m in cell.outputs if m["msg_type"] in ("display_data", "update_display_data")]
    assert "application/vnd.jupyter.widget-view+json" in views[0], "a live view"
    final = [v for v in views if "puras-final" in v.get("text/html", "")][-1]
    assert "budget reached: 4 rows not sent" in final["text/html"] and "not sent" in final["text/plain"]


def test_the_map_magic_runs_a_notebook_variable_and_refuses_bad_rows(start_kernel: Any) -> None:
    kernel = start_kernel()
    tag = random.randrange(10**9)
    kernel.ok(f"%load_ext puras_nb\nrows = [{{'i': i, 'tag': {tag}}} for i in range(5)]")
    cell = kernel.ok("%puras map demo/echo $rows --max-running 2 -o out")
    assert [m for m in cell.outputs if m["msg_type"] == "display_data"], "the live view shows"
    assert kernel.value("out.wait(30).results() == rows, out.sent") == "(True, 5)"
    failed = kernel.run("%puras map demo/echo $nope")
    assert failed.status == "error" and "nope" in failed.evalue
