"""Servers with fewer routes: against the official `puras serve` (no catalog, cancel, feedback, replay, versions or
billing), each feature works or says in one line what the server lacks (`NotSupported`, naming the route).

The peer is the session's `puras serve` (tests/harness/puras_serve.py); the emulator, which has every route, is
the control.
"""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from puras_nb import AsyncClient, Client
from puras_nb.errors import NotSupported, PurasAPIError
from puras_nb.notebook import live
from puras_nb.notebook.compare import compare, known_versions
from puras_nb.views.display import static_bundle
from tests.harness.puras_serve import PurasServe


def test_the_client_names_each_route_the_server_lacks(puras_serve: PurasServe) -> None:
    host = puras_serve.url.removeprefix("http://")
    with Client(api_key=puras_serve.api_key, api_base=puras_serve.url, skillpack="studio") as client:
        job_id = client.submit("echo", {"prompt": "hi"})["id"]
        calls = {
            "cancel": (lambda: client.cancel(job_id), "POST /v1/jobs/{id}/cancel"),
            "feedback": (lambda: client.feedback(job_id, rating=1), "POST /v1/jobs/{id}/feedback"),
            "replay": (lambda: client.replay(job_id), "POST /v1/jobs/{id}/replay"),
            "skill catalog": (client.skillpacks, "GET /v1/skillpacks"),
            "balance": (client.balance, "GET /v1/billing/balance"),
        }
        for feature, (call, route) in calls.items():
            with pytest.raises(NotSupported) as info:
                call()
            error = info.value
            assert isinstance(error, PurasAPIError) and error.status == 404, "still the official error type"
            assert (error.feature, error.route) == (feature, route)
            assert str(error).startswith(f"the server at {host} has no {feature} route ({route} answered 404)")
            assert "\n" not in str(error)
        with pytest.raises(NotSupported, match=f"· job {job_id} keeps running$"):
            client.cancel(job_id)


def test_a_missing_job_is_not_a_missing_route(puras_serve: PurasServe, emulator: object, auth: dict) -> None:
    """A 404 to a job's route is about the route only when the job itself is found."""
    with Client(api_key=puras_serve.api_key, api_base=puras_serve.url) as client:
        with pytest.raises(PurasAPIError) as info:
            client.cancel("no-such-job")
        assert type(info.value) is PurasAPIError and info.value.status == 404
    key = auth["Authorization"].removeprefix("Bearer ")
    with Client(api_key=key, api_base=emulator.url) as client:  # type: ignore[attr-defined]
        with pytest.raises(PurasAPIError) as info:
            client.cancel("00000000-0000-4000-8000-000000000000")
        assert type(info.value) is PurasAPIError and "not found" in str(info.value)


def test_the_async_client_says_the_same(puras_serve: PurasServe) -> None:
    async def go() -> NotSupported:
        async with AsyncClient(api_key=puras_serve.api_key, api_base=puras_serve.url, skillpack="studio") as client:
            job = await client.submit("echo", {"prompt": "hi"})
            try:
                await client.feedback(job["id"], rating=-1)
            except NotSupported as exc:
                return exc
        raise AssertionError("no NotSupported")

    assert asyncio.run(go()).route == "POST /v1/jobs/{id}/feedback"


def test_a_405_or_501_is_a_missing_route_without_asking_for_the_job() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.url.path.endswith("/cancel"):
            return httpx.Response(405, json={"detail": "Method Not Allowed"})
        return httpx.Response(501, json={"detail": "billing needs the hosted platform"})

    with Client(api_key="puras_live_x", api_base="https://api.example", transport=httpx.MockTransport(answer)) as c:
        with pytest.raises(NotSupported, match=r"no cancel route \(POST /v1/jobs/\{id\}/cancel answered 405\)"):
            c.cancel("j1")
        with pytest.raises(NotSupported, match="no balance route") as info:
            c.balance()
    assert info.value.detail == "billing needs the hosted platform"
    assert seen == ["POST /v1/jobs/j1/cancel", "GET /v1/billing/balance"], "no probe, no retry"


# -- live jobs ----------------------------------------------------------------------------------------------


def test_cancel_says_the_server_has_no_cancel_route_and_the_job_runs_on(served: PurasServe) -> None:
    job = live.start("wait", {"seconds": 1.0}, display=False)
    with pytest.raises(NotSupported, match=r"has no cancel route \(POST /v1/jobs/\{id\}/cancel answered 404\)"):
        job.cancel()
    assert job.try_cancel() is False
    errors: list[BaseException] = []
    job.request_cancel(on_error=errors.append)
    assert job.result(timeout=20) == {"waited": 1.0}, "it ran on"
    assert len(errors) == 1 and isinstance(errors[0], NotSupported)


def test_feedback_says_what_is_missing_and_replay_submits_the_inputs_anew(served: PurasServe) -> None:
    job = live.start("echo", {"prompt": "again"}, display=False)
    assert job.result(timeout=20) == {"answer": "You said: again"}
    with pytest.raises(NotSupported, match="no feedback route"):
        job.feedback(1)
    told: list[BaseException | None] = []
    heard = threading.Event()
    job.send_feedback(-1, lambda error: (told.append(error), heard.set()))
    again = job.replay(display=False)
    assert again.id != job.id and again.result(timeout=20) == {"answer": "You said: again"}
    assert again.job["inputs"] == {"prompt": "again"}
    assert heard.wait(10) and len(told) == 1 and isinstance(told[0], NotSupported)


# -- compare() ----------------------------------------------------------------------------------------------


def test_compare_without_versions_on_a_server_with_none_compares_inputs_only(served: PurasServe) -> None:
    assert known_versions("echo") == []
    grid = compare("echo", [{"prompt": "a"}, {"prompt": "b"}], display=False)
    assert grid.versions == [None] and not grid.by_version and grid.label(None) == "result"
    assert [row[0]["answer"] for row in grid.results(timeout=20)] == ["You said: a", "You said: b"]
    bundle = static_bundle(grid, final=True)
    assert bundle["text/plain"] == "<Comparison echo: 2 inputs; 2 succeeded>"
    assert ">result</th>" in bundle["text/html"] and ">v1</th>" not in bundle["text/html"]
    assert [r["version"] for r in grid.rows()] == [None, None]


@pytest.mark.usefixtures("configured")
def test_compare_without_versions_takes_the_skill_s_known_versions() -> None:
    assert known_versions("demo/image") == [1, 2]
    grid = compare("demo/image", [{"prompt": "a fox"}], display=False)
    assert grid.versions == [1, 2] and [grid.label(v) for v in grid.versions] == ["v1", "v2"]
    assert [r["version"] for r in (grid.wait(30), grid.rows())[1]] == [1, 2]
    assert repr(grid).splitlines()[0] == "<Comparison demo/image: 1 input x v1, v2; 2 succeeded>"
    assert known_versions("demo/nonesuch") == [], "an unknown skill: its cells say so"
