"""`job.spans()`: the latency waterfall `puras spans` prints, from `GET /v1/jobs/{id}/spans` of the emulator and of
the official `puras serve`, the text the official CLI prints (checked against the CLI itself), a drawn static view,
and hostile span lists that degrade without losing a span."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from puras_nb import settings
from puras_nb.errors import NotSupported
from puras_nb.model.spans import MAX_ROWS, Spans
from puras_nb.notebook import live
from puras_nb.views.display import static_bundle
from tests.harness.official_cli import run_official
from tests.harness.puras_serve import PurasServe


def official_spans(base: str, key: str, job_id: str, home: Path, monkeypatch: pytest.MonkeyPatch,
                   capsys: pytest.CaptureFixture[str]) -> str:
    """What the official `puras spans JOB` prints (its own HOME)."""
    printed = run_official(["spans", job_id], base=base, key=key, home=home, monkeypatch=monkeypatch, capsys=capsys)
    return printed.rstrip("\n")



def test_puras_serve_spans_as_the_official_cli_prints_them(served: PurasServe, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    job = live.start("poster", {"photo": "https://example.com/a.png", "headline": "Hi"}, display=False)
    job.result(timeout=30)
    spans = job.spans()
    assert spans.text() == official_spans(served.url, served.api_key, job.id, tmp_path, monkeypatch, capsys)
    kinds = [r.kind for r in spans.rows]
    assert kinds[:4] == ["run", "step", "llm", "tool"] and kinds.count("step") == 5
    assert [r.depth for r in spans.rows[:4]] == [0, 1, 2, 2]
    steps = [r for r in spans.rows if r.kind == "step"]
    assert all(a.start_ms + (a.duration_ms or 0) <= b.start_ms + 0.001 for a, b in itertools.pairwise(steps)), (
        "puras serve gives durations only: steps are laid one after the other")
    assert spans.total_ms >= spans.rows[0].duration_ms > 0
    assert spans[0]["trace_id"] and isinstance(spans, list), "still the server's span dicts"


def test_emulator_spans_as_the_official_cli_prints_them(configured: None, emulator: object, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    job = live.start("demo/count", {"n": 3, "delay": 0.05}, display=False)
    job.result(timeout=30)
    spans = job.spans()
    current = settings.current()
    assert spans.text() == official_spans(current.api_base or "", current.api_key or "", job.id, tmp_path,
                                          monkeypatch, capsys)
    assert [r.kind for r in spans.rows] == ["run", "step", "step", "step"]
    assert spans.rows[1].start_ms > 0, "the emulator says when each span started"


def test_a_running_job_on_puras_serve_has_no_spans_yet(served: PurasServe) -> None:
    job = live.start("wait", {"seconds": 1.0}, display=False)
    job.wait_submitted(10)
    early = job.spans()
    assert list(early) == [] and early.text() == "no spans recorded for this job yet (it is still running)"
    job.result(timeout=20)
    assert len(job.spans()) == 7, "run, two steps, each a model call and a tool"


def test_a_server_without_spans_says_so(monkeypatch: pytest.MonkeyPatch, served: PurasServe) -> None:
    job = live.start("echo", {"prompt": "x"}, display=False)
    job.result(timeout=20)

    async def missing(*args: object, **kwargs: object) -> list:
        raise NotSupported("spans", "GET /v1/jobs/{id}/spans", 404, "no route", host="h", job_id=job.id)

    from puras_nb.runtime import session as runtime_session

    monkeypatch.setattr(runtime_session.Session, "spans", missing)
    with pytest.raises(NotSupported, match=r"has no spans route \(GET /v1/jobs/\{id\}/spans answered 404\)"):
        job.spans()


# -- the layout, from span lists as servers could send them ------------------------------------------------------


def span(span_id: object, parent: object, kind: str = "step", ms: object = 10, **more: object) -> dict:
    return {"span_id": span_id, "parent_span_id": parent, "kind": kind, "name": f"{kind} {span_id}",
            "duration_ms": ms, "attributes": more.pop("attributes", {}), **more}


def test_rows_walk_depth_first_in_record_order_with_the_cli_s_text() -> None:
    spans = Spans([
        span("s1", "r", "step", 30), span("m1", "s1", "llm", 20, attributes={"model": "claude/haiku-4-5"}),
        span("t1", "s1", "tool", 5, attributes={"tool": "bash", "ok": False}), span("s2", "r", "step", 7),
        span("r", None, "run", 40),
    ])
    assert spans.text().splitlines() == [
        "run          40ms  run r",
        "  step         30ms  step s1",
        "    llm          20ms  llm m1 claude/haiku-4-5",
        "    tool          5ms  tool t1 bash [err]",
        "  step          7ms  step s2",
    ]
    assert [(r.start_ms, r.duration_ms) for r in spans.rows] == [(0, 40), (0, 30), (0, 20), (20, 5), (30, 7)]


def test_start_times_place_spans_where_the_server_says() -> None:
    spans = Spans([
        span("r", None, "run", 1000, start="2026-01-01T00:00:00Z"),
        span("a", "r", "step", 100, start="2026-01-01T00:00:00.500Z"),
        span("b", "r", "step", 100),
    ])
    assert [r.start_ms for r in spans.rows] == [0, 500, 600]
    assert spans.total_ms == 1000


def test_hostile_span_lists_lose_no_span_and_never_loop() -> None:
    weird = Spans([
        "not a span", 7, span("a", "b"), span("b", "a"),  # a loop of parents with no root
        span("c", "gone", ms=float("nan")), span("d", "d", ms=-5), span(True, None, ms="12"),
        span("e", None, kind="\x1b[31mred\x1b[0m", name="x" * 1000),
    ])
    assert len(weird) == 6, "the non-dicts are not spans"
    assert len(weird.rows) == 6 and {r.duration_ms for r in weird.rows[:3]} == {None}
    assert all("\x1b" not in r.kind and len(r.name) <= 200 for r in weird.rows)
    assert "?ms" in weird.text()
    deep = Spans([span(i, i - 1 if i else None, ms=1) for i in range(3 * MAX_ROWS)])
    assert len(deep.rows) == MAX_ROWS and deep.more == 2 * MAX_ROWS and max(r.depth for r in deep.rows) == 32
    assert deep.text().endswith(f"… {2 * MAX_ROWS} more spans")
    assert Spans(None).text() == "no spans recorded for this job (older job, or it failed early)"


def test_the_drawn_view_is_escaped_and_bars_stay_on_the_line() -> None:
    spans = Spans([
        span("r", None, "run", 100, name="<img src=x onerror=alert(1)>"),
        span("s", "r", "<script>", 250, attributes={"tool": "<b>t</b>"}),
    ], job_id="<j>")
    bundle = static_bundle(spans)
    html = bundle["text/html"]
    assert bundle["text/plain"] == spans.text()
    assert "<img src=x" not in html and "<script>" not in html and "<b>t</b>" not in html and "<j>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'class="puras-span-bar puras-span-other"' in html, "an unknown kind is drawn neutral, never a class"
    bars = [(float(a), float(b)) for a, b in re.findall(r"left:([\d.]+)%;width:([\d.]+)%", html)]
    assert len(bars) == 2 and all(left >= 0 and left + width <= 100.001 for left, width in bars)
