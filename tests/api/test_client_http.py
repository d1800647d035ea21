"""Pure parts of the client core (puras_nb.api.flows): no I/O, so they are checked directly.

Flows are driven by a scripted driver that answers each Request with a canned httpx.Response
or exception, which pins the retry policy down exactly (which failures, how many tries, how long).
"""

from __future__ import annotations

import email.utils
import itertools
import time
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from puras_nb.api import flows as _http
from puras_nb.api.answers import Unexpected, a_job, valid_id
from puras_nb.api.flows import BaseClient, Request, Sleep
from puras_nb.errors import JobError, JobInterrupted, PurasAPIError, PurasConnectionError, SubmitInterrupted

KEY = "puras_live_0123456789abcdefWXYZ"
UUID = "3f2b8c1e-9a4d-4e7f-8b2a-1c5d6e7f8a9b"


@pytest.mark.parametrize(
    ("skill", "skillpack", "default", "expected"),
    [
        ("acme/ugc-ads/ugc-ad", None, "other", ("acme/ugc-ads", "ugc-ad")),
        ("demo/echo", None, None, ("demo", "echo")),
        ("/local/demo/echo/", "ignored", None, ("local/demo", "echo")),
        ("echo", None, "demo", ("demo", "echo")),
        ("echo", "local/demo", "demo", ("local/demo", "echo")),
        (" echo ", None, UUID, (UUID, "echo")),
    ],
)
def test_resolve_target(skill: str, skillpack: str | None, default: str | None, expected: tuple[str, str]) -> None:
    assert _http.resolve_target(skill, skillpack, default) == expected


def test_resolve_target_bare_name_without_skillpack_is_the_official_value_error() -> None:
    with pytest.raises(ValueError, match=r"no skillpack — call a fully-qualified skill"):
        _http.resolve_target("echo", None, None)


def test_submit_request_matches_the_official_query() -> None:
    client = BaseClient(KEY, UUID)
    req = client._submit_request("echo", None, None, 2, True, 45)
    assert req.params == {"skillpack_id": UUID, "version": "2", "wait": "true", "timeout": "45"}
    assert req.json == {"skill": "echo", "inputs": {}}
    assert req.request_timeout == 75 and not req.idempotent
    plain = client._submit_request("demo/echo", {"a": 1}, None, None, False, 60)
    assert plain.params == {"skillpack": "demo"} and plain.request_timeout == 120.0


def test_job_ids_cannot_escape_their_route() -> None:
    assert _http.job_path("abc") == "/v1/jobs/abc"
    assert _http.job_path("../skillpacks", "cancel") == "/v1/jobs/..%2Fskillpacks/cancel"
    assert BaseClient(KEY)._get_request("a b?c").path == "/v1/jobs/a%20b%3Fc"
    # httpx removes dot segments before sending: "/v1/jobs/.." would go out as "/v1/"
    for dots in (".", "..", "", "%2e%2e"):
        with pytest.raises(ValueError, match="not a job id"):
            _http.job_path(dots, "cancel")
    # ... and an answer naming such a job is refused up front (one rule): "%2e%2e" was taken, then no route held it
    for dots in (".", "..", "%2e", "%2E%2e"):
        assert not valid_id(dots)
        with pytest.raises(Unexpected, match="a job needs an id string"):
            a_job({"id": dots, "status": "running"})
    assert valid_id("a.b") and valid_id("...") and valid_id("%2e%2e%2e")


def test_feedback_validation_is_the_official_one() -> None:
    client = BaseClient(KEY)
    with pytest.raises(ValueError, match="rating must be -1, 0, or \\+1"):
        client._feedback_request("j", 2, None, None)
    with pytest.raises(ValueError, match="needs a non-zero rating or a comment"):
        client._feedback_request("j", 0, "", None)
    assert client._feedback_request("j", 0, "meh", "u1").json == {"rating": 0, "comment": "meh", "end_user_id": "u1"}


def test_no_key_is_the_official_value_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PURAS_API_KEY", raising=False)
    with pytest.raises(ValueError, match="no API key — pass api_key=… or set PURAS_API_KEY"):
        BaseClient()


def test_env_key_and_base(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PURAS_API_KEY", KEY)
    monkeypatch.setenv("PURAS_API_BASE", "http://example.test:9/")
    client = BaseClient()
    assert client.api_key == KEY and client.api_base == "http://example.test:9"


def test_repr_masks_the_key() -> None:
    text = repr(BaseClient(KEY, "demo", api_base="http://h"))
    assert KEY not in text and "0123456789" not in text
    assert "puras_live_…WXYZ" in text and "'demo'" in text
    assert _http.mask_key("short") == "…"
    assert _http.mask_key("puras_pub_abc") == "puras_pub_…"


def test_parse_retry_after_seconds_and_http_date() -> None:
    assert _http.parse_retry_after("1") == 1.0
    assert _http.parse_retry_after(" 2.5 ") == 2.5
    assert _http.parse_retry_after("-3") == 0.0
    assert _http.parse_retry_after(None) is None
    assert _http.parse_retry_after("soon") is None
    now = time.time()
    stamp = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= _http.parse_retry_after(stamp, now=now) <= 31
    assert _http.parse_retry_after(email.utils.formatdate(now - 100, usegmt=True), now=now) == 0.0


def test_parse_time_reads_the_stamps_servers_send() -> None:
    base = datetime(2026, 11, 29, 0, 34, 44, tzinfo=timezone.utc).timestamp()
    assert _http.parse_time("2026-11-29T00:34:44Z") == base
    assert _http.parse_time("2026-11-29T00:34:44.107762+00:00") == pytest.approx(base + 0.107762)
    assert _http.parse_time("2026-11-29T00:34:44.1Z") == pytest.approx(base + 0.1)
    assert _http.parse_time("2026-11-29T00:34:44.123456789Z") == pytest.approx(base + 0.123456)
    assert _http.parse_time("2026-11-29T00:34:44") == base
    assert _http.parse_time("yesterday") is None and _http.parse_time(None) is None


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    low = [_http.backoff(i, rng=lambda: 0.0) for i in range(8)]
    high = [_http.backoff(i, rng=lambda: 1.0) for i in range(8)]
    assert low[:3] == [0.1, 0.2, 0.4] and high[:3] == [0.2, 0.4, 0.8]
    assert max(high) == _http.BACKOFF_CAP


def test_poll_delays_start_fast_and_double_to_the_interval() -> None:
    delays = _http.poll_delays(2.0)
    assert [round(next(delays), 3) for _ in range(8)] == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    tiny = _http.poll_delays(0.01)
    assert [next(tiny) for _ in range(3)] == [0.01, 0.01, 0.01]


def response(status: int, body: Any = None, *, text: str | None = None, headers: dict | None = None) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


def test_detail_from_json_and_from_an_html_proxy_page() -> None:
    assert _http.detail(response(404, {"detail": "no such job"})) == "no such job"
    assert _http.detail(response(400, {"message": "bad"})) == "bad"
    assert _http.detail(response(422, [1, 2])) == "[1, 2]"
    page = "<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1>" + "x" * 5000 + "</body></html>"
    assert _http.detail(response(502, text=page)) == "502 Bad Gateway"
    untitled = "<html><body><h1>Service   Unavailable</h1><p>" + "word " * 200 + "</p></body></html>"
    short = _http.detail(response(503, text=untitled))
    assert short.startswith("Service Unavailable word") and len(short) == _http.DETAIL_MAX and short.endswith("…")
    assert _http.detail(response(500, text="")) == "Internal Server Error"


def drive(flow: Any, answers: list[Any]) -> tuple[Any, list[Any]]:
    """Run a flow against scripted answers (a Response or an exception per Request); record every step."""
    steps: list[Any] = []
    value, error = None, None
    while True:
        done, step = _http.advance(flow, value, error)
        if done:
            return step, steps
        steps.append(step)
        value, error = None, None
        if isinstance(step, Request):
            answer = answers.pop(0)
            if isinstance(answer, BaseException):
                error = answer
            else:
                value = answer


def sleeps(steps: list[Any]) -> list[float]:
    return [s.seconds for s in steps if isinstance(s, Sleep)]


def test_get_is_retried_on_transient_failures_and_honours_retry_after() -> None:
    client = BaseClient(KEY)
    answers = [
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        response(429, {"detail": "slow down"}, headers={"Retry-After": "1"}),
        response(200, {"id": "j", "status": "running"}),
    ]
    job, steps = drive(client._call(client._get_request("j")), answers)
    assert job["status"] == "running"
    waits = sleeps(steps)
    assert len(waits) == 3 and waits[2] >= 1.0


def test_retries_are_bounded_by_max_retries() -> None:
    client = BaseClient(KEY, max_retries=2)
    answers = [response(503, text="<title>busy</title>")] * 3
    with pytest.raises(PurasAPIError) as info:
        drive(client._call(client._get_request("j")), list(answers))
    assert info.value.status == 503 and info.value.detail == "busy" and info.value.job_id == "j"


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422, 500])
def test_other_statuses_are_not_retried(status: int) -> None:
    client = BaseClient(KEY)
    with pytest.raises(PurasAPIError) as info:
        drive(client._call(client._get_request("j")), [response(status, {"detail": "no"})])
    assert info.value.status == status


def test_submit_is_retried_only_when_it_never_left() -> None:
    client = BaseClient(KEY, "demo")
    req = client._submit_request("echo", {}, None, None, False, 60)
    assert req.creates_job and not req.idempotent
    job, steps = drive(client._call(req), [httpx.ConnectError("refused"), response(201, {"id": "j"})])
    assert job == {"id": "j"} and len(sleeps(steps)) == 1
    for refused in (response(429, {}, headers={"Retry-After": "0"}), response(503, {}, headers={"Retry-After": "1"})):
        job, steps = drive(client._call(req), [refused, response(201, {"id": "j"})])
        assert job == {"id": "j"} and len(sleeps(steps)) == 1
    for failure in (response(503, {"detail": "busy"}), response(429, {}), response(502, {})):
        with pytest.raises(PurasAPIError):
            drive(client._call(req), [failure])
    for lost in (httpx.ReadTimeout("t"), httpx.RemoteProtocolError("closed"), _http.StaleConnection("gone")):
        with pytest.raises(PurasConnectionError):
            drive(client._call(req), [lost])


def test_other_posts_are_resent_after_a_stale_connection_only() -> None:
    client = BaseClient(KEY, "demo")
    req = client._feedback_request("j", 1, None, None)
    done, steps = drive(client._call(req), [_http.StaleConnection("gone"), response(200, {"rating": 1})])
    assert done == {"rating": 1} and len([s for s in steps if isinstance(s, Request)]) == 2
    with pytest.raises(PurasConnectionError):
        drive(client._call(req), [httpx.ReadError("reset")])


def test_a_lost_submission_answer_is_looked_up_never_resubmitted() -> None:
    client = BaseClient(KEY, "demo")
    mine = {**listed("mine", {"t": 1}), "skill_name": "echo", "status": "succeeded", "result": {"ok": 1}}
    answers = [httpx.ReadError("reset"), response(200, [listed("other", {"t": 2}), mine]), response(200, mine)]
    result, steps = drive(client._run_flow("echo", {"t": 1}, None, None, 600, 2.0, False), answers)
    assert result == {"ok": 1} and answers == []
    assert [(s.method, s.path) for s in steps if isinstance(s, Request)] == [
        ("POST", "/v1/jobs"), ("GET", "/v1/jobs"), ("GET", "/v1/jobs/mine")]
    twins = [response(502, text="bad gateway"), response(200, [mine, {**mine, "id": "twin"}])]
    with pytest.raises(PurasAPIError) as info:
        drive(client._run_flow("echo", {"t": 1}, None, None, 600, 2.0, False), twins)
    assert "may have been created" in str(info.value) and "client.jobs(skill='echo')" in str(info.value)


def test_a_stale_submission_is_resent_once_the_lookup_finds_nothing() -> None:
    client = BaseClient(KEY, "demo")
    answers = [_http.StaleConnection("gone"), response(200, []), response(201, {"id": "j", "status": "queued"})]
    job, _ = drive(client._submit("echo", {}, None, None, False, 60), answers)
    assert job["id"] == "j" and answers == []
    unreadable = [_http.StaleConnection("gone"), response(404, {"detail": "no list here"})]
    with pytest.raises(PurasConnectionError, match="may have been created"):
        drive(client._submit("echo", {}, None, None, False, 60), unreadable)


def test_a_retry_pause_never_crosses_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(_http.time, "monotonic", lambda: now[0])
    client = BaseClient(KEY)

    def run(flow: Any, answers: list[Any]) -> list[Any]:
        steps: list[Any] = []
        value, error = None, None
        while True:
            done, step = _http.advance(flow, value, error)
            if done:
                return steps
            steps.append(step)
            value, error = None, None
            if isinstance(step, Sleep):
                now[0] += step.seconds
            else:
                answer = answers.pop(0)
                error, value = (answer, None) if isinstance(answer, BaseException) else (None, answer)

    limited = response(429, {"detail": "slow down"}, headers={"Retry-After": "5"})
    for answers in ([limited] * 20, [response(502, text="x")] * 20):
        now[0] = 100.0
        with pytest.raises(PurasAPIError):
            run(client._wait_flow("j", 2, 2.0, False), answers)
        assert now[0] <= 102.0
    requests = [s for s in run(client._wait_flow("j", 0.5, 2.0, False),
                               [response(200, {"id": "j", "status": "running"})] * 20) if isinstance(s, Request)]
    assert all(r.request_timeout <= 0.5 + _http.DEADLINE_GRACE for r in requests)


def test_redact_blanks_keys_bearer_tokens_and_authorization_values() -> None:
    from puras_nb.errors import redact

    page = f"Authorization: Bearer {KEY}\r\nHost: x\n{{'authorization': 'Basic dXNlcg=='}} plain {KEY} Bearer abc.def"
    text = redact(page, "my-own-secret")
    assert KEY not in text and "dXNlcg" not in text and "abc.def" not in text and "Host: x" in text
    assert redact("custom key my-own-secret here", "my-own-secret") == "custom key [redacted] here"
    client = BaseClient("a-custom-key-0123456789", max_retries=0)
    with pytest.raises(PurasConnectionError) as info:
        drive(client._call(client._get_request("j")), [httpx.ReadError("echoed a-custom-key-0123456789 back")])
    assert "a-custom-key" not in str(info.value) and "echoed [redacted] back" in str(info.value)
    assert "[redacted]" in str(JobError({"id": "j", "status": "failed", "error": f"header was Bearer {KEY}"}))


def test_only_a_reused_connection_dying_before_any_answer_is_stale() -> None:
    request = httpx.Request("POST", "http://api.example.test/v1/jobs")
    closed = httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

    def traced(*names: str) -> _http.Tracer:
        tracer = _http.Tracer()
        for name in names:
            tracer(name, {})
        return tracer

    reused = traced("http11.send_request_headers.started")
    assert isinstance(reused.check(closed), _http.StaleConnection)
    assert isinstance(reused.check(httpx.ReadError("reset", request=request)), _http.StaleConnection)
    assert reused.check(httpx.ReadTimeout("slow", request=request)).__class__ is httpx.ReadTimeout
    fresh = traced("connection.connect_tcp.started", "http11.send_request_headers.started")
    answered = traced("http11.send_request_headers.started", "http11.receive_response_headers.complete")
    for tracer in (fresh, answered, traced()):
        assert tracer.check(closed) is closed


def test_connection_errors_name_the_host_cause_and_job_but_never_the_key() -> None:
    client = BaseClient(KEY, api_base="http://api.example.test:8123", max_retries=0)
    with pytest.raises(PurasConnectionError) as info:
        drive(client._call(client._get_request("job-1")), [httpx.ConnectError("[Errno 111] Connection refused")])
    text = str(info.value)
    assert "api.example.test:8123" in text and "Connection refused" in text and "job-1" in text
    assert KEY not in text and info.value.host == "api.example.test:8123"
    assert isinstance(info.value, httpx.TransportError)


def test_a_wait_survives_a_blip_longer_than_one_calls_retries() -> None:
    client = BaseClient(KEY, max_retries=1)
    flaky = [response(502, text="bad gateway")] * 3
    answers = [*flaky, response(200, {"id": "j", "status": "succeeded"})]
    job, _ = drive(client._wait_flow("j", 60, 2.0, False), answers)
    assert job["status"] == "succeeded"


def test_a_wait_that_gives_up_names_the_job() -> None:
    client = BaseClient(KEY, max_retries=1)
    with pytest.raises(PurasAPIError) as info:
        drive(client._wait_flow("job-42", 60, 2.0, False), [response(503, text="down")] * 4)
    assert info.value.job_id == "job-42" and "job-42" in str(info.value) and info.value.status == 503


def test_run_flow_uses_the_server_wait_then_polls_fast() -> None:
    client = BaseClient(KEY, "demo")
    answers = [
        response(201, {"id": "j", "status": "running"}),
        response(200, {"id": "j", "status": "running"}),
        response(200, {"id": "j", "status": "succeeded", "result": {"ok": 1}}),
    ]
    result, steps = drive(client._run_flow("echo", {}, None, None, 600, 2.0, False), answers)
    assert result == {"ok": 1}
    submit = steps[0]
    assert submit.json == {"skill": "echo", "inputs": {}}
    assert submit.params["wait"] == "true" and submit.params["timeout"] == "60"
    assert sleeps(steps) == [0.05]


def test_after_a_full_server_wait_polling_starts_at_the_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = itertools.chain([0.0, 0.0], itertools.repeat(60.0))
    monkeypatch.setattr(_http.time, "monotonic", lambda: next(clock))
    client = BaseClient(KEY, "demo")
    answers = [
        response(201, {"id": "j", "status": "running"}),
        response(200, {"id": "j", "status": "running"}),
        response(200, {"id": "j", "status": "succeeded", "result": {"ok": 1}}),
    ]
    result, steps = drive(client._run_flow("slow", {}, None, None, 600, 2.0, False), answers)
    assert result == {"ok": 1} and sleeps(steps) == [2.0]


def test_run_flow_timeout_raises_job_error_with_the_running_job() -> None:
    client = BaseClient(KEY, "demo")
    answers = [response(201, {"id": "j", "status": "running"}), response(200, {"id": "j", "status": "running"})]
    with pytest.raises(JobError) as info:
        drive(client._run_flow("echo", {}, None, None, 0, 2.0, False), answers)
    assert info.value.job["status"] == "running"


def test_run_flow_returns_empty_dict_for_a_null_result() -> None:
    client = BaseClient(KEY, "demo")
    result, _ = drive(client._run_flow("echo", {}, None, None, 5, 2.0, False),
                      [response(201, {"id": "j", "status": "succeeded", "result": None})])
    assert result == {}


def listed(job_id: str, inputs: dict, age: float = 0.0) -> dict:
    created = datetime.fromtimestamp(time.time() - age, timezone.utc).isoformat()
    return {"id": job_id, "skill_name": "hang", "inputs": inputs, "created_at": created, "status": "running"}


def test_a_submission_interrupted_in_flight_is_found_and_cancelled() -> None:
    client = BaseClient(KEY, "demo")
    jobs = [listed("other", {"t": 2}), listed("mine", {"t": 1}), listed("old", {"t": 1}, age=3600)]
    answers = [KeyboardInterrupt(), response(200, jobs), response(200, {"id": "mine", "status": "cancelled"})]
    with pytest.raises(JobInterrupted) as info:
        drive(client._run_flow("hang", {"t": 1}, None, None, 600, 2.0, True), answers)
    assert info.value.job_id == "mine" and info.value.cancelled and "mine" in str(info.value)
    assert answers == []


def test_an_interrupted_submission_that_cannot_be_told_apart_names_the_candidates_and_cancels_none() -> None:
    client = BaseClient(KEY, "demo")
    twins = [listed("a", {"t": 1}), listed("b", {"t": 1})]
    answers = [KeyboardInterrupt(), response(200, twins)]
    with pytest.raises(SubmitInterrupted) as info:
        drive(client._run_flow("hang", {"t": 1}, None, None, 600, 2.0, True), answers)
    assert info.value.job_id is None and not info.value.cancelled and answers == []
    assert "2 matching jobs" in str(info.value) and "a, b" in str(info.value)


def test_an_interrupted_wait_cancels_only_when_asked() -> None:
    client = BaseClient(KEY)
    running = response(200, {"id": "j", "status": "running"})
    with pytest.raises(JobInterrupted) as kept:
        drive(client._wait_flow("j", 60, 2.0, False), [running, KeyboardInterrupt()])
    assert kept.value.job_id == "j" and not kept.value.cancelled
    answers = [running, KeyboardInterrupt(), response(409, {"detail": "already finished"})]
    with pytest.raises(JobInterrupted) as late:
        drive(client._wait_flow("j", 60, 2.0, True), answers)
    assert not late.value.cancelled and answers == []


def test_iter_events_asks_for_the_status_only_in_quiet_rounds() -> None:
    client = BaseClient(KEY)

    def ev(i: int) -> dict:
        return {"id": i, "type": "progress"}

    answers = [
        response(200, [ev(1)]), response(200, []), response(200, {"id": "j", "status": "running"}),
        response(200, [ev(2), ev(3)]), response(200, []), response(200, {"id": "j", "status": "succeeded"}),
        response(200, [ev(4)]), response(200, []),
    ]
    _, steps = drive(client._events_flow("j", 0, 2.0, None), answers)
    requests = [s for s in steps if isinstance(s, Request)]
    assert [r.params["after"] if r.params else "job" for r in requests] == ["0", "1", "job", "1", "3", "job", "3", "4"]
    emitted = [e["id"] for s in steps if isinstance(s, _http.Emit) for e in s.events]
    assert emitted == [1, 2, 3, 4] and answers == []
