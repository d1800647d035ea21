"""Batches against the emulator: rows in, results aligned, the running cap, reuse through the ledger,
rejected rows, a budget, retries, and the views (text, escaped HTML, the live widget's page)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from puras_nb import Client, settings
from puras_nb.api.flows import parse_time
from puras_nb.notebook.batch import map as batch_map
from puras_nb.views.display import static_bundle


@pytest.fixture
def ledger(configured: None, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "ledger.sqlite"
    settings.configure(ledger=str(path))
    yield path


def _tag() -> str:
    return uuid.uuid4().hex[:8]


def test_rows_come_back_aligned_and_a_rerun_reuses_every_row(ledger: Path) -> None:
    tag = _tag()
    rows = [{"i": i, "tag": tag} for i in range(12)]
    batch = batch_map("demo/echo", rows, max_running=4, display=False).wait(30)
    assert batch.done() and batch.results() == rows and batch.sent == 12
    assert batch.outcomes() == {"succeeded": 12, "failed": 0, "cancelled": 0, "running": 0, "queued": 0}
    again = batch_map("demo/echo", list(reversed(rows)), display=False).wait(30)
    assert again.sent == 0 and again.reused == 12 and again.results() == list(reversed(rows))
    assert again.jobs[0] is batch.jobs[-1], "the same LiveJob, found in this kernel"
    more = batch_map("demo/echo", [*rows, {"i": 12, "tag": tag}], display=False).wait(30)
    assert (more.sent, more.reused) == (1, 12)


def test_never_more_than_max_running_at_once(ledger: Path, emulator: Any) -> None:
    tag = _tag()
    rows = [{"seconds": 0.2 + i / 1000} for i in range(9)]
    batch = batch_map("demo/slow", rows, max_running=3, display=False).wait(30)
    assert batch.outcomes()["succeeded"] == 9, batch.summary()
    with Client(api_key=emulator.api_key, api_base=emulator.url) as client:
        ids = {job.id for job in batch.jobs if job}
        spans = [(parse_time(j["created_at"]), parse_time(j["finished_at"]))
                 for j in client.jobs(skill="slow", limit=200) if j["id"] in ids]
    assert len(spans) == 9, tag
    most = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert most <= 3, f"{most} jobs ran at once"


def test_a_rejected_row_is_a_failed_row_with_its_message_and_the_rest_run(ledger: Path) -> None:
    batch = batch_map("demo/count", [{"n": 1}, {"n": -1}, {"n": 2}], display=False).wait(30)
    assert batch.results()[0] == {"count": 1} and batch.results()[1] is None and batch.results()[2] == {"count": 2}
    [failed] = batch.failed()
    assert failed["row"] == 1 and failed["error"].startswith("rejected: 422") and failed["job_id"] is None
    assert repr(batch) == "<Batch demo/count: 3 rows; 2 succeeded, 1 failed>"
    again = batch_map("demo/count", [{"n": 1}, {"n": -1}, {"n": 2}], display=False).wait(30)
    assert again.reused == 2 and again.sent == 0 and len(again.failed()) == 1, "a rejection leaves no claim behind"


def test_failed_rows_are_retried_only_when_asked(ledger: Path) -> None:
    tag = _tag()
    rows = [{"after": 0, "message": f"nope {tag}"}, {"after": 0, "message": f"again {tag}"}]
    first = batch_map("demo/fail", rows, display=False).wait(30)
    assert [f["status"] for f in first.failed()] == ["failed", "failed"]
    old = {job.id for job in first.jobs if job}
    rerun = batch_map("demo/fail", rows, display=False).wait(30)
    assert rerun.sent == 0 and {job.id for job in rerun.jobs if job} == old
    retried = rerun.retry_failed().wait(30)
    assert retried.sent == 2 and not old & {job.id for job in retried.jobs if job}
    assert "nope" in retried.failed()[0]["error"]


def test_a_budget_stops_sending_and_resume_goes_on(ledger: Path) -> None:
    tag = _tag()
    rows = [{"prompt": f"{tag} {i}", "width": 16, "height": 16} for i in range(6)]  # $0.0040 each (v1)
    batch = batch_map("demo/image", rows, version=1, budget_usd=0.01, display=False).wait(30)
    assert batch.stopped == "budget reached: 4 rows not sent" and batch.cost_micros == 8000
    assert batch.done() and batch.results()[2:] == [None] * 4
    assert "budget reached: 4 rows not sent" in batch.summary() and "not sent" in batch.text()
    batch.resume(budget_usd=0.05).wait(30)
    assert batch.stopped is None and batch.cost_micros == 24000 and all(batch.results())


def test_a_jsonl_eval_dataset_and_to_pandas(ledger: Path, tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    tag = _tag()
    data = tmp_path / "evals.jsonl"
    data.write_text("\n".join(json.dumps({"id": f"case-{i}", "inputs": {"n": i, "tag": tag}, "expected": i})
                              for i in range(3)) + "\n")
    batch = batch_map("demo/echo", str(data), display=False).wait(30)
    frame = batch.to_pandas()
    assert list(frame.index) == ["case-0", "case-1", "case-2"] and list(frame["status"]) == ["succeeded"] * 3
    assert list(frame["expected"]) == [0, 1, 2] and list(frame["result_n"]) == [0, 1, 2]
    table = pd.DataFrame({"text": ["a", "b"], "tag": [tag, tag]})
    out = batch_map("demo/echo", table, display=False).wait(30).to_pandas()
    assert list(out.columns[:2]) == ["text", "tag"] and list(out["result_text"]) == ["a", "b"]


def test_bad_rows_and_options_are_refused_before_anything_is_sent(ledger: Path, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="row 1 is a str"):
        batch_map("demo/echo", [{"a": 1}, "b"], display=False)
    with pytest.raises(TypeError, match="unknown option"):
        batch_map("demo/echo", [{"a": 1}], display=False, colour="red")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:1: each line needs"):
        batch_map("demo/echo", str(bad), display=False)


def test_without_a_ledger_a_rerun_sends_again(configured: None) -> None:
    settings.configure(ledger=None)
    rows = [{"tag": _tag()}]
    assert batch_map("demo/echo", rows, display=False).wait(30).sent == 1
    assert batch_map("demo/echo", rows, reuse=False, display=False).wait(30).sent == 1
    assert batch_map("demo/echo", rows, display=False).wait(30).sent == 1


def test_the_static_view_is_escaped_and_the_live_view_is_a_few_widgets(ledger: Path) -> None:
    rows = [{"text": f"<b>{i}</b>"} for i in range(60)] + [{"n": -1, "text": "<i>x</i>"}]
    batch = batch_map("demo/echo", rows[:60], display=False).wait(30)
    failing = batch_map("demo/count", [{"n": -1, "x": "<script>"}], display=False).wait(30)
    html = static_bundle(batch, final=True)["text/html"]
    assert "&lt;b&gt;0&lt;/b&gt;" in html and "<b>0</b>" not in html and "puras-final" in html
    assert "35 more rows" in html and html.count("<tr>") == 1 + 25
    assert "&lt;script&gt;" in static_bundle(failing)["text/html"]
    from puras_nb.views.batch import LiveBatch
    from puras_nb.views.job import descendants

    live = LiveBatch(batch)
    assert len(list(descendants(live.widget))) < 12, "a handful of widgets, not one per row"
    live.turn(2)
    assert "<td>51</td>" in live.table.value and "page 3 of 3" in live.where.value
    shown = LiveBatch(failing)
    shown.pick.value = 0
    assert "rejected: 422" in shown.detail.value


def test_a_batch_over_confirm_over_usd_is_refused_without_a_person_and_sent_with_confirm(ledger: Path) -> None:
    from puras_nb.errors import PurasError
    from puras_nb.model.batch import Batch
    from puras_nb.views.batch import LiveBatch

    tag = _tag()
    rows = [{"prompt": f"{tag} {i}", "width": 16, "height": 16} for i in range(3)]
    batch_map("demo/image", rows[:1], version=1, display=False).wait(30)  # the ledger now knows the cost: $0.0040
    settings.configure(confirm_over_usd=0.005)
    with pytest.raises(PurasError, match=r"estimate: 2 new rows × \$0\.0040 = \$0\.0080.*nothing was sent"):
        batch_map("demo/image", rows, version=1, display=False)
    assert batch_map("demo/image", rows, version=1, display=False, confirm=True).wait(30).sent == 2
    waiting = Batch("demo/image", [{**rows[0], "prompt": f"{tag} asked"}], version=1).prepare()
    waiting.awaiting = True
    live = LiveBatch(waiting)
    assert "waiting for confirmation" in repr(waiting) and "Confirm" in str(live.ask.children[1].description)
    live._confirm()
    assert waiting.wait(30).sent == 1 and live.ask.children == ()


def test_start_and_run_with_reuse_give_the_job_that_already_ran(ledger: Path) -> None:
    from puras_nb.notebook import live

    inputs = {"tag": _tag()}
    first = live.start("demo/echo", inputs, reuse=True, display=False)
    assert first.result(30) == inputs
    assert live.start("demo/echo", inputs, reuse=True, display=False) is first
    assert live.run("demo/echo", inputs, reuse=True, display=False) == inputs
    assert live.start("demo/echo", inputs, display=False).id != first.id, "without reuse: a new job"
    with pytest.raises(Exception, match="422"):
        live.start("demo/count", {"n": -1}, reuse=True, display=False)


def test_a_shown_batch_embeds_thumbnails_of_its_first_page_only(ledger: Path) -> None:
    from puras_nb.model.batch import PREVIEW_ROWS

    tag = _tag()
    rows = [{"prompt": f"{tag} {i}", "width": 16, "height": 16} for i in range(PREVIEW_ROWS + 2)]
    batch = batch_map("demo/image", rows, version=1, max_running=32, display=False)
    batch.want_media()  # what showing it does
    html = static_bundle(batch.wait(60), final=True)["text/html"]
    assert html.count('<img src="data:image/png;base64,') == PREVIEW_ROWS
    assert all(not job.media_data for job in batch.jobs[PREVIEW_ROWS:] if job), "no previews past the first page"


def test_a_dead_kernels_unrecorded_submission_is_found_on_the_server_not_sent_again(
    ledger: Path, emulator: Any
) -> None:
    import socket

    from puras_nb.model.ledger import Key, inputs_hash, open_ledger

    inputs = {"tag": _tag()}
    dead = open_ledger(str(ledger))
    assert dead is not None
    dead.owner = f"{socket.gethostname()}:999999999:gone"  # a process that no longer runs
    assert dead.claim(Key(emulator.url, "demo", "demo/echo", "", inputs_hash(inputs))).kind == "mine"
    with Client(api_key=emulator.api_key, api_base=emulator.url) as client:  # it sent, then died before recording
        created = client.submit("demo/echo", inputs)
    batch = batch_map("demo/echo", [inputs], display=False).wait(30)
    assert batch.sent == 0 and batch.jobs[0] is not None and batch.jobs[0].id == created["id"]


def test_cancel_stops_sending_and_cancels_what_runs(ledger: Path) -> None:
    rows = [{"seconds": 30 + i / 1000 + int(_tag(), 16) / 10**12} for i in range(6)]
    batch = batch_map("demo/slow", rows, max_running=2, display=False)
    deadline = time.monotonic() + 10
    while batch.outcomes()["running"] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    batch.cancel().wait(20)
    assert batch.done() and batch.stopped == "cancelled: 4 rows not sent"
    assert [job.status for job in batch.jobs if job] == ["cancelled", "cancelled"]
    assert batch.results() == [None] * 6 and batch.sent == 2
