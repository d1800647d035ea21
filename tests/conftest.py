"""Shared fixtures: one local emulator per test session, talked to over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from puras_nb import local


@pytest.fixture(scope="session")
def emulator() -> Iterator[local.LocalServer]:
    """A running emulator (child process) shared by the whole session, faults off."""
    with local.start() as server:
        yield server


@pytest.fixture(scope="session")
def emulator_url(emulator: local.LocalServer) -> str:
    return emulator.url


@pytest.fixture
def faults(emulator: local.LocalServer) -> Iterator[callable]:
    """Set the shared emulator's fault injection for one test; always turned off afterwards."""

    def set_faults(spec: dict) -> None:
        httpx.put(f"{emulator.url}/_emulator/faults", json=spec, timeout=10).raise_for_status()

    yield set_faults
    httpx.put(f"{emulator.url}/_emulator/faults", json={}, timeout=10).raise_for_status()
