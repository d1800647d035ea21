"""Shared fixtures: one local emulator per test session, talked to over loopback HTTP."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import httpx
import pytest

from puras_nb import local, settings
from puras_nb.api.tls import ssl_context
from puras_nb.local.entry import skip_iri_format_checker
from tests.harness.puras_serve import PurasServe
from tests.harness.tls import share_default_context

# pytest rewrites the asserts of each test module as it imports it, and keeps the result in __pycache__ unless
# bytecode writing is off: with PYTHONDONTWRITEBYTECODE=1 each xdist worker rewrote all 120 modules at every run,
# 2.8 of its 4.7 s of CPU for collection. Test runs write their bytecode (__pycache__ is git-ignored), whatever the
# shell says; processes the tests start still follow the environment (they read what is cached).
sys.dont_write_bytecode = False

# jsonschema's optional IRI format checker (an Earley grammar compiled at import, 1.5 s of CPU in each test
# process, 10 s of wall on a loaded machine) stays out of the test processes, as out of the emulator's: our code
# validates without format checkers. Before anything imports jsonschema (the imports above do not).
skip_iri_format_checker()

# Every httpx client a test makes itself (httpx.get, the official puras.Client) shares one TLS context instead of
# parsing the CA bundle again each time: tests/harness/tls.py.
share_default_context()

EMULATOR_KEY = "puras_live_fault_test_key_0123456789"
"""The session emulator's key, fixed so module constants can name it (test_faults.KEY; random keys are
tested on their own in test_local_server)."""


@pytest.fixture(scope="session")
def emulator() -> Iterator[local.LocalServer]:
    """A running emulator (child process) shared by the whole session, faults off."""
    with local.start(require_key=EMULATOR_KEY) as server:
        yield server


@pytest.fixture(scope="session")
def puras_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PurasServe]:
    """The official `puras serve` (puras-runner) on loopback over a test skillpack (`studio`: poster, echo, count,
    wait, flaky), its skill runner replaced by a deterministic function: tests/harness/puras_serve.py."""
    pytest.importorskip("worker.local_server", reason="puras-runner (the test extra) provides puras serve")
    with PurasServe.start(tmp_path_factory.mktemp("puras-serve")) as server:
        yield server


@pytest.fixture(scope="session")
def emulator_url(emulator: local.LocalServer) -> str:
    return emulator.url


@pytest.fixture(scope="session")
def auth(emulator: local.LocalServer) -> dict[str, str]:
    """The session emulator's Authorization header, for raw HTTP calls (every route but /health needs it)."""
    return {"Authorization": f"Bearer {emulator.api_key}"}


@pytest.fixture
def faults(emulator: local.LocalServer, auth: dict[str, str]) -> Iterator[Callable[[dict], None]]:
    """Set the shared emulator's fault injection for one test; always turned off afterwards."""

    def set_faults(spec: dict) -> None:
        url = f"{emulator.url}/_emulator/faults"
        httpx.put(url, json=spec, headers=auth, timeout=10, verify=ssl_context()).raise_for_status()

    yield set_faults
    set_faults({})


POLL = 0.1
"""The `poll_interval` of the `configured` and `served` fixtures: a loopback server answers a status check in
milliseconds, and the runtime's request budget (`max_rps`) bounds what many jobs ask for together."""


@pytest.fixture
def configured(emulator: local.LocalServer) -> Iterator[None]:
    """Point live jobs (puras_nb.start & co.) at the session emulator with fast polling; restore afterwards.

    A job is checked every 0.1 s until it is 1 s old whatever `poll_interval` says (`runtime.session.FIRST_CHECK`);
    `POLL` keeps an older one at that pace, so a test of a longer job waits no longer than a young one for its end."""
    before = settings.current()
    settings.configure(api_key=emulator.api_key, api_base=emulator.url, poll_interval=POLL, local=False)
    yield
    settings.restore(before)


@pytest.fixture
def served(puras_serve: PurasServe) -> Iterator[PurasServe]:
    """Point live jobs at the session's `puras serve`, bare names in its `studio` pack, with fast polling; restore
    afterwards."""
    before = settings.current()
    settings.configure(api_key=puras_serve.api_key, api_base=puras_serve.url, skillpack="studio", poll_interval=POLL,
                       local=False)
    yield puras_serve
    settings.restore(before)


@pytest.fixture(scope="module", autouse=True)
def fresh_session() -> Iterator[None]:
    """Each test module gets a runtime session of its own and leaves the settings as it found them: jobs an
    earlier module left running are not polled with its jobs, nor share its event-fetch and request budgets."""
    before = settings.current()
    settings.restore(before)  # retires the session in use: the module's first job makes a new one
    yield
    settings.restore(before)


CHEAP_MODULE_FIXTURES = {"fresh_session", "browser"}
"""Module-scoped fixtures cheap enough to make again on each worker a module's tests go to: not worth pinning."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `--dist loadgroup`, a module whose tests share a module-scoped fixture (a kernel, an emulator of
    its own) runs on one worker, so the fixture is made once; every other test goes to whichever worker is free.
    First among the hooks: xdist's worker reads the `xdist_group` marks in its own hook, which would otherwise
    run before this one (it is registered after the conftest files) and see none."""
    for item in items:
        defs = getattr(item, "_fixtureinfo", None)
        fixtures = defs.name2fixturedefs.items() if defs is not None else ()
        if any(
            name not in CHEAP_MODULE_FIXTURES and d.scope in ("module", "package", "class")
            for name, ds in fixtures
            for d in ds
        ):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
