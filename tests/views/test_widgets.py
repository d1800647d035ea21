"""The views alone, driven by a hand-fed LiveJob model (no kernel, no HTTP): what they show and send."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import io
import itertools
import re
import threading
import time
from collections.abc import Iterator
from html import unescape
from typing import Any

import httpx
import ipywidgets as w
import pytest

from puras_nb.model.media import find_media
from puras_nb.notebook import live
from puras_nb.notebook.live import LiveJob
from puras_nb.runtime import loop as rt
from puras_nb.views import JobWidget, ResultView
from puras_nb.views.display import TerminalLine
from puras_nb.views.html import NEUTRAL, NO_MATH, job_html, job_text, json_html, media_html, result_html, summarize
from puras_nb.views.job import Throttle, descendants
from puras_nb.views.show import show

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
WAV_URL = "data:audio/wav;base64," + base64.b64encode(b"RIFF0000WAVEfmt ").decode()
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"

# Views that load previews or send a click reach the runtime session: the shared emulator, never one of their own.
pytestmark = pytest.mark.usefixtures("configured")


@contextlib.contextmanager
def runtime_held() -> Iterator[None]:
    """Hold the runtime thread, where previews load, until the block ends: what a view shows meanwhile is checked
    without racing the fetch."""
    held, release = threading.Event(), threading.Event()
    rt.call_soon(lambda: (held.set(), release.wait(10)))
    assert held.wait(10)
    try:
        yield
    finally:
        release.set()


def _job(status: str = "running", **extra: Any) -> dict:
    return {
        "id": "0123456789abcdef",
        "status": status,
        "skill_name": "count",
        "skillpack": "local/demo",
        "version": 2,
        "created_at": "2026-01-01T00:00:00Z",
        **extra,
    }


def _progress(i: int, step: int, total: int, message: str = "") -> dict:
    return {
        "id": i,
        "type": "progress",
        "payload": {"step": step, "total": total, "message": message or f"step {step}"},
    }


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[w.Widget, dict]]]:
    """Every comm message widgets would send to a frontend."""
    log: list[tuple[w.Widget, dict]] = []
    monkeypatch.setattr(w.Widget, "_send", lambda self, msg, buffers=None: log.append((self, msg)))
    yield log


def _values(widget: w.Widget) -> str:
    return "\n".join(
        str(getattr(x, "value", "")) for x in descendants(widget) if isinstance(getattr(x, "value", None), str)
    )


def test_header_progress_and_message_follow_the_model() -> None:
    job = LiveJob(_job("queued"), skill="demo/count")
    view = JobWidget(job, hz=1e6)
    assert "demo/count" in view.head.value and "v2" in view.head.value and "01234567" in view.head.value
    assert '<span class="puras-status"><span class="puras-badge puras-badge-queued"' in view.head.value
    assert view.bar.bar_style == "info" and view.bar.value == 1.0
    job._apply(_job("running"), [_progress(1, 1, 4), _progress(2, 3, 4, "counted 3")])
    assert "puras-badge-running" in view.head.value
    assert view.bar.value == 0.75 and view.bar.bar_style == ""
    assert '<span class="puras-progress-label">3/4 · ' in view.head.value
    assert '<div class="puras-message"><i>counted 3</i></div>' in view.head.value
    assert {"puras-job"} <= set(view._dom_classes)
    assert "puras-cancel" in view.cancel_button._dom_classes


def test_todo_checklist_drives_the_bar() -> None:
    job = LiveJob(_job(), skill="demo/ugc-ad")
    view = JobWidget(job, hz=1e6)
    todos = [{"content": "script", "status": "completed"}, {"content": "frames", "status": "in_progress"}]
    job._apply(events=[{"id": 1, "type": "tool_result", "payload": {"message": "planned", "todos": todos}}])
    assert view.bar.value == 0.5 and '<span class="puras-progress-label">1/2 tasks · ' in view.head.value
    assert "<li>✓ script</li><li>▶ frames</li>" in view.head.value


def test_log_shows_the_last_50_events_only_when_opened() -> None:
    job = LiveJob(_job(), skill="demo/count")
    view = JobWidget(job, hz=1e6)
    job._apply(events=[_progress(i, i, 80) for i in range(1, 81)])
    assert view.log_html.value == ""
    assert view.log_box.titles == ("Log (last 50 events)",)
    view.log_box.selected_index = 0
    assert view.log_html.value.count("<li value=") == 50 and "step 80" in view.log_html.value
    assert "step 30" not in view.log_html.value


def test_nothing_is_sent_when_nothing_changed(sent: list) -> None:
    job = LiveJob(_job(), skill="demo/count")
    view = JobWidget(job, hz=1e6)
    job._apply(_job(), [_progress(1, 1, 4)])
    sent.clear()
    view._render()
    job._apply(_job(), [_progress(1, 1, 4)])
    assert sent == []
    job._apply(events=[_progress(2, 2, 4)])
    changed = {id(widget) for widget, _ in sent}
    assert len(sent) == len(changed), "one message per changed widget (hold_sync)"
    assert changed == {id(view.bar), id(view.head)}


def test_success_shows_duration_cost_result_and_feedback(sent: list) -> None:
    job = LiveJob(_job(), skill="demo/image")
    view = JobWidget(job, hz=1e6)
    done = _job(
        "succeeded",
        finished_at="2026-01-01T00:00:02.5Z",
        cost_micros=4000,
        result={"image": {"url": PNG_URL, "mime": "image/png"}, "prompt": XSS},
    )
    with runtime_held():
        job._apply(done)
        job._finish()
        # the layout changes once: the running view stays while the previews load, then the final one
        assert "loading previews" in view.head.value and view.result_box.children == ()
    deadline = time.monotonic() + 5  # previews come from the runtime thread, after the end; the view stops following
    while not (view.result_box.children and view.sent_final) and time.monotonic() < deadline:  # the job right after
        time.sleep(0.01)
    assert '<span class="puras-summary">2.5 s · $0.0040</span>' in view.head.value
    assert view.actions.children == (view.up, view.down, view.feedback_note)
    assert "puras-feedback-up" in view.up._dom_classes
    (result,) = view.result_box.children
    assert isinstance(result, ResultView)
    images = [x for x in descendants(result) if isinstance(x, w.Image)]
    assert [i.value for i in images] == [PNG] and images[0].format == "png"
    assert "&lt;script&gt;" in _values(view) and "<script>" not in _values(view)
    assert view.sent_final


def test_failure_shows_the_error_and_last_events_escaped() -> None:
    job = LiveJob(_job(), skill="demo/fail")
    view = JobWidget(job, hz=1e6)
    job._apply(_job("failed", error=XSS), [{"id": 1, "type": "error", "payload": {"message": XSS}}])
    job._finish()
    assert '<div class="puras-error"' in view.head.value
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in view.head.value
    assert "<script>" not in view.head.value and "<img src=x" not in view.head.value
    assert view.result_box.children == ()
    with pytest.raises(Exception, match="alert"):
        job.result(timeout=0)


def test_cancel_button_asks_once() -> None:
    """A click disables the button while the cancel is on its way, and it stays so once the job is cancelled. The
    job is a real one: a job the server does not know answers 404, which rightly turns the button back on."""
    job = live.start("demo/hang", {}, display=False)
    view = JobWidget(job, hz=1e6)
    view.cancel_button.click()
    assert view.cancel_button.disabled and view.cancel_button.description == "Cancelling…"
    assert job.wait(10)["status"] == "cancelled"
    assert view.cancel_button.disabled


def test_throttle_coalesces_bursts_to_the_rate() -> None:
    calls: list[float] = []

    throttle = Throttle(lambda: calls.append(time.monotonic()), 0.1)
    end = time.monotonic() + 0.55
    while time.monotonic() < end:
        throttle()
        time.sleep(0.005)
    time.sleep(0.15)
    assert 5 <= len(calls) <= 7
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert min(gaps) >= 0.095


def test_result_view_gallery_links_and_json() -> None:
    result = {
        "images": [
            {"url": PNG_URL, "mime": "image/png"},
            {"url": PNG_URL.replace("AAAA", "AAAB", 1), "mime": "image/png"},
        ],
        "voice": {"url": WAV_URL, "mime": "audio/wav"},
        "far": {"url": "https://unreachable.invalid/v.mp4", "mime": "video/mp4"},
        "<b>key</b>": XSS,
    }
    media = find_media(result)
    view = ResultView(result, data={media[3].url: None})
    (grid, tree) = view.children
    assert isinstance(grid, w.GridBox) and "puras-gallery" in grid._dom_classes
    kinds = [type(x).__name__ for x in descendants(grid) if isinstance(x, (w.Image, w.Audio, w.Video))]
    assert sorted(kinds) == ["Audio", "Image", "Image"]
    assert 'href="https://unreachable.invalid/v.mp4"' in _values(grid)
    assert "&lt;b&gt;key&lt;/b&gt;" in tree.value and "<b>key" not in tree.value and "<script>" not in tree.value
    bundle = view._repr_mimebundle_()
    assert bundle["text/plain"].startswith("<result {")
    assert bundle["text/html"].count("<img ") == 2 and "<audio " in bundle["text/html"]


def test_show_accepts_results_job_dicts_and_live_jobs() -> None:
    assert isinstance(show({"x": 1}), ResultView)
    job_dict = _job("succeeded", result={"a": 1}, outputs=[{"name": "p.png", "mime": "image/png", "url": PNG_URL}])
    view = show(job_dict)
    assert [type(x).__name__ for x in descendants(view) if isinstance(x, w.Image)] == ["Image"]
    live = LiveJob(_job(), skill="demo/count")
    assert show(live) is live.widget


def test_text_plain_has_no_ids_timestamps_or_urls() -> None:
    job = LiveJob(_job(), skill="demo/ugc-ad")
    assert job_text(job) == "<LiveJob demo/ugc-ad in progress>"
    result = {
        "video": {"url": "http://h/files/v.mp4?sig=1", "mime": "video/mp4"},
        "thumb": "http://h/t.png?s=2",
        "n": 3,
    }
    job._apply(_job("succeeded", result=result))
    job._finish()
    text = job_text(job)
    assert text == (
        '<LiveJob demo/ugc-ad succeeded>\nresult: {"video": "<video/mp4>", "thumb": "<image/png>", "n": 3}\n'
        "video: v.mp4 (video/mp4)\nthumb: t.png (image/png)"
    ), "a line names each media item (what a text-only view shows), without its URL"
    assert repr(job) == text
    assert summarize("x" * 500) == '"' + "x" * 59 + '…"'
    assert len(summarize(list(range(500)))) == 300


@pytest.mark.parametrize(("step", "total"), [(float("nan"), 3), (1, float("inf")), (10**400, 1e309), (True, 2)])
def test_a_progress_event_with_odd_numbers_is_ignored_not_fatal(step: Any, total: Any) -> None:
    """JSON from the API may say NaN or Infinity (Python's json reads both): such a step never breaks a view."""
    job = LiveJob(_job(), skill="demo/count")
    job.events.extend([_progress(1, 1, 4), _progress(2, step, total)])
    assert job.progress == 0.25 and job.progress_label == "1/4"
    assert 'class="puras-bar"' in job_html(job) and job_text(job) == "<LiveJob demo/count in progress>"
    assert TerminalLine(job, stream=io.StringIO()).line().startswith("[demo/count] running")


# Terminal escapes an event or result could carry: OSC 52 (write the clipboard), clear screen, 8-bit CSI.
TERMINAL_TRICKS = "\x1b]52;c;ZXZpbA==\x07\x1b[2J\r\x9b31m"


def test_text_plain_carries_no_control_sequences_from_a_result_or_error() -> None:
    failed = LiveJob(_job(), skill="demo/count")
    failed._apply(_job("failed", error=f"boom {TERMINAL_TRICKS}"))
    failed._finish()
    succeeded = LiveJob(_job(), skill="demo/count")
    succeeded._apply(_job("succeeded", result={"k": TERMINAL_TRICKS}))
    succeeded._finish()
    for text in (job_text(failed), job_text(succeeded), repr(failed)):
        assert text.startswith("<LiveJob demo/count ")
        assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", text)


def test_static_html_escapes_everything_and_renders_only_safe_media() -> None:
    job = LiveJob(_job(), skill=XSS)
    job._apply(_job("succeeded", result={"img": {"url": PNG_URL, "mime": "image/png"}, XSS: XSS}))
    job._finish()
    html = job_html(job, data={PNG_URL: PNG}, final=True)
    assert "<script>" not in html and "<img src=x" not in html
    assert 'class="puras-static puras-final mathjax_ignore' in html and '<img src="data:image/png;base64,' in html
    assert media_html(dataclasses.replace(find_media(PNG_URL)[0], url="javascript:alert(1)"), None) == ""
    svg = "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"
    assert media_html(dataclasses.replace(find_media(PNG_URL)[0], url=svg), None) == ""
    assert "javascript" not in result_html({"a": "javascript:alert(1)"}).split("puras-json")[0]
    assert "&lt;script&gt;" in json_html({"k": XSS})


def test_json_view_shortens_data_urls_and_bounds_size() -> None:
    html = json_html({"inline": PNG_URL * 10})
    assert f"({len(PNG_URL) * 10} chars)" in html
    big = json_html({"rows": list(range(5000))})
    assert "… 4800 more" in big and len(big) < 40_000
    deep: Any = 1
    for _ in range(100):
        deep = {"d": deep}
    assert "nested too deep" in json_html(deep)
    assert summarize(deep).startswith('{"d": {"d": ')


def test_terminal_line_rewrites_one_line_and_ends_with_the_outcome() -> None:
    import io

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    job = LiveJob(_job(), skill="demo/count")
    out = Tty()
    line = TerminalLine(job, stream=out, hz=1000)
    job._apply(events=[_progress(1, 1, 2, "half")])
    time.sleep(0.002)
    job._apply(_job("succeeded", result={"count": 2}), [_progress(2, 2, 2, "all")])
    job._finish()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n") and text.startswith("\r[demo/count] running")
    assert "[demo/count] succeeded 2/2" in text.split("\r")[-1]
    assert line.tty
    log = io.StringIO()
    job2 = LiveJob(_job(), skill="demo/fail")
    TerminalLine(job2, stream=log)
    job2._apply(_job("failed", error="boom\x1b[2J\rgone"))
    job2._finish()
    assert log.getvalue().endswith("error: boom gone\n") and log.getvalue().count("\n") == 1


def test_a_failing_view_does_not_stop_the_model_or_other_views(capsys: pytest.CaptureFixture) -> None:
    job = LiveJob(_job(), skill="demo/count")
    seen: list[frozenset] = []
    job.subscribe(lambda j, changed: 1 / 0)
    job.subscribe(lambda j, changed: seen.append(changed))
    job._apply(events=[_progress(1, 1, 2)])
    job._apply(_job("succeeded", result={}))
    job._finish()
    assert seen == [frozenset({"events"}), frozenset({"status", "job"}), frozenset({"done"})]
    assert capsys.readouterr().err.count("ZeroDivisionError") == 3 and job.result() == {}


def test_elapsed_uses_the_local_clock_while_running_and_the_server_span_when_done() -> None:
    job = LiveJob(_job(created_at="1999-01-01T00:00:00Z"), skill="demo/slow")
    job.started = time.time() - 3
    assert 2.9 < job.elapsed < 4, "a skewed server clock does not inflate the running time"
    job._apply(_job("succeeded", created_at="1999-01-01T00:00:00Z", finished_at="1999-01-01T00:00:01.5Z"))
    job._finish()
    assert job.duration == 1.5


# -- what people read: each word once, neutral cancels, no upscaling ---------------------------------


@pytest.mark.parametrize(
    ("event", "line"),
    [
        ({"type": "progress", "payload": {"message": "counted 1 of 3"}}, "progress: counted 1 of 3"),
        ({"type": "error", "payload": {"message": "error: boom"}}, "error: boom"),
        ({"type": "cancelled", "payload": {"status": "cancelled"}}, "cancelled"),
        ({"type": "cancelled", "payload": {"message": "cancelled: job cancelled"}}, "cancelled: job cancelled"),
        ({"type": "log", "payload": {}}, "log"),
    ],
)
def test_an_event_line_says_each_word_once(event: dict, line: str) -> None:
    from puras_nb.model.protocols import Row
    from puras_nb.model.text import event_text
    from puras_nb.notebook.fanout import event_line
    from puras_nb.views.html import events_html

    assert event_text(event) == line
    assert event_line({"id": 7, **event}) == f"[7] {line}"
    shown = re.sub(r"<[^>]+>", " ", events_html([Row(1, event)]))
    assert " ".join(shown.split()) == line.replace(":", "", 1)


def test_small_wording_rules() -> None:
    from puras_nb.model.text import count, dollars

    assert count(1, "key") == "1 key" and count(3, "key") == "3 keys" and count(0, "item") == "0 items"
    assert "{…} 1 key<" in json_html({"a": {"b": 1}}) and "[…] 2 items" in json_html([1, 2])
    assert dollars(0) == "free" and dollars(1500) == "$0.0015"
    job = LiveJob(_job(), skill="demo/ugc-ad")
    job.events.append(_progress(1, 4, 4, "muxing"))
    assert job.progress_label == "finishing", "never 4/4 while step 4 still runs"
    job.events.append(_progress(2, 3, 4, "muxing"))
    assert job.progress_label == "3/4"


def test_a_long_error_reads_once_in_the_view_and_the_one_line_failure() -> None:
    from puras_nb.notebook.magics import failure_message

    error = "out of credits " + "x" * 300
    job = LiveJob(_job(), skill="demo/fail")
    view = JobWidget(job, hz=1e6)
    job._apply(_job("failed", error=error), [{"id": 1, "type": "error", "payload": {"message": error}}])
    job._finish()
    assert view.head.value.count(error) == 1
    assert job_html(job).count(error) == 1
    assert failure_message(job).count(error) == 1


def test_a_cancelled_job_is_neutral_and_offers_no_rating() -> None:
    job = LiveJob(_job(), skill="demo/hang")
    view = JobWidget(job, hz=1e6)
    job._apply(_job("cancelled", error="job cancelled"), [{"id": 1, "type": "cancelled", "payload": {}}])
    job._finish()
    assert view.up is None and view.actions.children == ()
    assert view.bar.layout.display == "none", "how far it got is unknown: no bar rather than an empty one"
    for html in (view.head.value, job_html(job)):
        body = html.split("</style>", 1)[1]
        assert "puras-error" not in body and "puras-cancelled" in body and "#b91c1c" not in body


def test_media_never_stretch_and_the_raw_result_folds_away_behind_them() -> None:
    view = ResultView({"image": {"url": PNG_URL, "mime": "image/png"}, "prompt": "p"})
    (image,) = [x for x in descendants(view) if isinstance(x, w.Image)]
    assert image.layout.align_self == "flex-start" and image.layout.width == "auto"
    (tree,) = [x for x in descendants(view) if "puras-json-view" in x._dom_classes]
    assert '<details class="puras-raw">' in tree.value and "<details class=\"puras-raw\" open" not in tree.value
    assert '<details class="puras-raw">' in result_html(view.result)
    assert "puras-raw" not in result_html({"n": 1}), "without media the value itself is the result: shown open"


def test_a_cancelled_job_keeps_its_bar_where_it_stopped_in_grey_and_marks_its_step_stopped() -> None:
    job = LiveJob(_job(), skill="demo/ugc-ad")
    view = JobWidget(job, hz=1e6)
    todos = [{"content": "Write the script", "status": "completed"}, {"content": "Mux", "status": "in_progress"},
             {"content": "Publish", "status": "pending"}]
    job._apply(events=[{"id": 1, "type": "tool_result", "payload": {"todos": todos}}, _progress(2, 85, 100)])
    assert "<li>▶ Mux</li>" in view.head.value and view.bar.style.bar_color is None
    job._apply(_job("cancelled"), [{"id": 3, "type": "cancelled", "payload": {}}])
    job._finish()
    assert view.bar.value == 0.85 and view.bar.bar_style == "" and view.bar.style.bar_color == NEUTRAL
    assert '<li>■ Mux <i class="puras-stopped">stopped</i></li>' in view.head.value and "▶" not in view.head.value
    assert "<li>○ Publish</li>" in view.head.value and "<li>✓ Write the script</li>" in view.head.value


def test_a_submission_that_reached_no_server_reads_not_sent_with_no_bar() -> None:
    from puras_nb.errors import PurasConnectionError

    job = LiveJob({"status": "submitting"}, skill="demo/echo")
    view = JobWidget(job, hz=1e6)
    assert view.bar.layout.display is None and view.bar.value == 1.0
    error = PurasConnectionError("POST /v1/jobs: cannot reach 127.0.0.1:9: ConnectError: refused")
    error.__cause__ = httpx.ConnectError("refused")  # the request never left
    job._finish(error)
    assert job.status == "not sent"
    assert "puras-badge-not-sent" in view.head.value and ">not sent<" in view.head.value
    assert view.bar.layout.display == "none" and "puras-summary" not in view.head.value
    assert view.head.value.count("cannot reach 127.0.0.1:9") == 1 and "#b91c1c" in view.head.value
    assert "not sent" in job_html(job) and "puras-bar" not in job_html(job).split("</style>", 1)[1]


def test_the_jobs_table_bar_is_split_by_outcome() -> None:
    from puras_nb.model.table import JobsTable
    from puras_nb.views.table import table_html

    jobs = [LiveJob(_job("succeeded", id=f"s{i}")) for i in range(8)]
    jobs += [LiveJob(_job("failed", id="f", error="boom")), LiveJob(_job("cancelled", id="c"))]
    html = table_html(JobsTable(jobs)).split("</style>", 1)[1]
    assert html.startswith(f'<div class="puras-static puras-jobs {NO_MATH}">'), "its costs are never typeset as math"
    bar = re.search(r'<div class="puras-bar puras-outcomes"[^>]*>(.*?)</div></div>', html)
    assert bar, html[:500]
    parts = re.findall(r'width:([\d.]+)%;background:([^;]+);', bar.group(1))
    assert [(float(w), c) for w, c in parts] == [
        (80.0, "var(--jp-success-color1,#15803d)"), (10.0, "var(--jp-error-color1,#d32f2f)"), (10.0, NEUTRAL)
    ]


def test_a_finished_media_free_job_is_one_line_with_its_log_and_raw_result_folded(sent: list) -> None:
    job = LiveJob(_job(), skill="demo/count")
    view = JobWidget(job, hz=1e6)
    job._apply(events=[_progress(1, 1, 2), _progress(2, 2, 2)])
    job._apply(_job("succeeded", finished_at="2026-01-01T00:00:02.5Z", cost_micros=0, result={"count": 5}))
    job._finish()
    line, details = view.children
    assert line.children == (view.head, view.up, view.down, view.feedback_note, view.details_toggle)
    assert view.up.description == view.down.description == "" and view.up.tooltip == "good result"
    head = view.head.value.split("</style>", 1)[1]
    assert unescape(re.sub(r"<[^>]+>", "", head)) == 'demo/count · v2 succeeded 2.5 s · free · {"count": 5}'
    assert "01234567" not in head, "the id waits in the details"
    assert details.layout.display == "none" and view.bar not in descendants(view)
    view.details_toggle.value = True
    assert details.layout.display == "" and view.log_html in details.children
    assert "step 2" in view.log_html.value and "0123456789abcdef" in _values(details)
    long = LiveJob(_job("succeeded", result={"a": "x" * 40, "b": "y" * 40, "c": 1}), skill="demo/echo")
    assert "{…} 3 keys" in JobWidget(long, hz=1e6).head.value
    static = job_html(job).split("</style>", 1)[1]
    assert static.startswith(
        '<div class="puras-static mathjax_ignore tex2jax_ignore"><details class="puras-line-details"><summary>')
    assert '<code class="puras-inline-result">{&quot;count&quot;: 5}</code>' in static


def test_media_results_and_failures_keep_their_full_view() -> None:
    image = LiveJob(_job("succeeded", result={"image": {"url": PNG_URL, "mime": "image/png"}}), skill="demo/image")
    assert "puras-line-details" not in job_html(image).split("</style>", 1)[1]
    failed = LiveJob(_job("failed", error="boom"), skill="demo/fail")
    view = JobWidget(failed, hz=1e6)
    assert view.details_toggle is None and view.bar in view.children


def test_a_long_error_reads_once_cut_to_three_lines_with_show_all() -> None:
    error = "the upstream renderer rejected the storyboard because " * 12
    job = LiveJob(_job(), skill="demo/fail")
    view = JobWidget(job, hz=1e6)
    job._apply(_job("failed", error=error), [{"id": 1, "type": "error", "payload": {"message": error}}])
    job._finish()
    view.log_box.selected_index = 0
    for html in (view.head.value, job_html(job)):
        body = html.split("</style>", 1)[1]
        assert body.count("rejected the storyboard because the upstream") == 11, "the error once, in full"
        assert '<details class="puras-long-error"><summary><b class="puras-clamp">' in body
        assert '<span class="puras-show-all">show all</span>' in body
    assert "storyboard" not in view.log_html.value, "the log does not repeat the error shown above it"
    assert "puras-long-error" not in job_html(LiveJob(_job("failed", error="out of credits"))).split("</style>")[1]
