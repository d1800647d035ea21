"""Shared fixtures: one local emulator per test session, talked to over loopback HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from puras_nb import local, settings


@pytest.fixture(scope="session")
def emulator() -> Iterator[local.LocalServer]:
    """A running emulator (child process) shared by the whole session, faults off."""
    with local.start() as server:
        yield server


@pytest.fixture(scope="session")
def emulator_url(emulator: local.LocalServer) -> str:
    return emulator.url


@pytest.fixture
def faults(emulator: local.LocalServer) -> Iterator[Callable[[dict], None]]:
    """Set the shared emulator's fault injection for one test; always turned off afterwards."""

    def set_faults(spec: dict) -> None:
        httpx.put(f"{emulator.url}/_emulator/faults", json=spec, timeout=10).raise_for_status()

    yield set_faults
    httpx.put(f"{emulator.url}/_emulator/faults", json={}, timeout=10).raise_for_status()


@pytest.fixture
def configured(emulator: local.LocalServer) -> Iterator[None]:
    """Point live jobs (puras_nb.start & co.) at the session emulator with fast polling; restore afterwards."""
    before = settings.current()
    settings.configure(api_key=emulator.api_key, api_base=emulator.url, poll_interval=0.3, local=False)
    yield
    settings.restore(before)
