"""Fault injection: the configured rate, seeded reproducibility, each kind, filters, and the ways to set it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from puras_nb import local
from puras_nb.local.faults import parse_spec


def key(server: local.LocalServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.api_key}"}


def outcomes(server: local.LocalServer, n: int, path: str = "/v1/skillpacks", method: str = "GET") -> list[str]:
    """Status code (or 'reset') of n requests; the pool reconnects after a reset."""
    out = []
    with httpx.Client(base_url=server.url, headers=key(server), timeout=10) as client:
        for _ in range(n):
            try:
                out.append(str(client.request(method, path).status_code))
            except httpx.TransportError:
                out.append("reset")
    return out


@pytest.fixture(scope="module")
def private() -> Iterator[local.LocalServer]:
    """An emulator of this module alone, so no other test's requests move its counters or seeded sequence; served
    from this process (faults set over HTTP act the same; a child's are test_start_with_faults_and_env's)."""
    with local.start(in_process=True) as server:
        yield server


def test_rate_and_seed_reproducible(private: local.LocalServer) -> None:
    def faults(spec: dict) -> None:
        httpx.put(f"{private.url}/_emulator/faults", json=spec, headers=key(private)).raise_for_status()

    # GET /v1/jobs on an emulator that holds no job: the cheapest answer (the catalog is 9 KB of JSON)
    spec = {"rate": 0.3, "seed": 7, "kinds": "500|502|503|429", "paths": "/v1/jobs"}
    httpx.post(f"{private.url}/_emulator/reset-stats", headers=key(private)).raise_for_status()
    faults(spec)
    first = outcomes(private, 200, "/v1/jobs")
    failed = [o for o in first if o != "200"]
    assert 0.2 <= len(failed) / 200 <= 0.4
    assert set(failed) == {"500", "502", "503", "429"}
    stats = httpx.get(f"{private.url}/_emulator/stats", headers=key(private)).json()
    assert stats["requests"] == 200
    assert sum(stats["faults"].values()) == len(failed)
    assert stats["faults"]["429"] == failed.count("429")
    faults(spec)
    assert outcomes(private, 200, "/v1/jobs") == first
    faults({**spec, "seed": 8})
    assert outcomes(private, 200, "/v1/jobs") != first


def test_429_carries_retry_after_and_detail(emulator: local.LocalServer, faults: Callable[[dict], None]) -> None:
    faults({"rate": 1, "kinds": ["429"], "retry_after": 3})
    r = httpx.get(f"{emulator.url}/v1/jobs", headers=key(emulator), timeout=10)
    assert r.status_code == 429 and r.headers["retry-after"] == "3"
    assert "rate limited" in r.json()["detail"]


def test_reset_closes_the_connection(emulator: local.LocalServer, faults: Callable[[dict], None]) -> None:
    faults({"rate": 1, "kinds": "reset"})
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{emulator.url}/v1/jobs", headers=key(emulator), timeout=10)
    faults({"rate": 0.5, "seed": 1, "kinds": "reset"})
    mixed = outcomes(emulator, 20, "/v1/jobs")
    assert set(mixed) == {"reset", "200"}


def test_delay_answers_normally_later(emulator: local.LocalServer, faults: Callable[[dict], None]) -> None:
    faults({"rate": 1, "kinds": "delay", "delay": 0.3})
    started = time.perf_counter()
    r = httpx.get(f"{emulator.url}/v1/skillpacks", headers=key(emulator), timeout=10)
    assert r.status_code == 200 and time.perf_counter() - started >= 0.3


def test_method_and_path_filters(emulator: local.LocalServer, faults: Callable[[dict], None]) -> None:
    faults({"rate": 1, "kinds": "503", "methods": "POST", "paths": "/v1/jobs"})
    assert outcomes(emulator, 3, "/v1/jobs") == ["200"] * 3
    assert outcomes(emulator, 3, "/v1/jobs?skillpack=demo", method="POST") == ["503"] * 3
    faults({"rate": 1, "kinds": "500"})
    assert outcomes(emulator, 2, "/v1/skillpacks") == ["500"] * 2
    assert outcomes(emulator, 2, "/health") == ["200"] * 2
    assert httpx.get(f"{emulator.url}/_emulator/stats", headers=key(emulator)).status_code == 200


def test_bad_spec_is_422_and_leaves_faults_unchanged(
    emulator: local.LocalServer, faults: Callable[[dict], None]
) -> None:
    faults({"rate": 1, "kinds": "502"})
    for bad in ({"rate": 2}, {"kinds": "teapot"}, {"colour": "red"}, {"delay": 10**400}, {"retry_after": -1}):
        r = httpx.put(f"{emulator.url}/_emulator/faults", json=bad, headers=key(emulator))
        assert r.status_code == 422 and r.json()["detail"]
    assert httpx.get(f"{emulator.url}/_emulator/faults", headers=key(emulator)).json()["kinds"] == ["502"]


def test_parse_spec_string_form() -> None:
    spec = parse_spec(
        "rate=0.3;seed=7;kinds=500|502|503|429|reset|delay;methods=GET;paths=/v1/jobs;retry_after=1;delay=0.5"
    )
    assert spec.rate == 0.3 and spec.seed == 7 and spec.kinds == ("500", "502", "503", "429", "reset", "delay")
    assert spec.methods == ("GET",) and spec.paths == ("/v1/jobs",) and spec.retry_after == 1 and spec.delay == 0.5
    assert parse_spec('{"rate": 0.5}').rate == 0.5
    with pytest.raises(ValueError, match="key=value"):
        parse_spec("rate")
    with pytest.raises(ValueError, match="rate must be between 0 and 1"):
        local.start(faults="rate=3")


def test_start_with_faults_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    with local.start(in_process=True, faults={"rate": 1, "kinds": "503"}) as server:
        assert outcomes(server, 2, "/v1/jobs") == ["503", "503"]
    monkeypatch.setenv("PURAS_NB_FAULTS", "rate=1;kinds=502;paths=/v1/jobs")
    with local.start() as server:
        assert outcomes(server, 1, "/v1/jobs") == ["502"]
        assert outcomes(server, 1, "/v1/skillpacks") == ["200"]
