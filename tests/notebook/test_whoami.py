"""`puras_nb.whoami()` / `%puras whoami`: the API base, key (masked), workspace and balance live jobs use, as the
official `puras whoami` shows them; one line where the server has no balance route (`puras serve`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from puras_nb import settings
from puras_nb.errors import PurasConnectionError
from puras_nb.notebook.connection import whoami
from tests.harness.official_cli import run_official
from tests.harness.puras_serve import PurasServe


def official_whoami(base: str, key: str, home: Path, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    printed = run_official(["whoami"], base=base, key=key, home=home, monkeypatch=monkeypatch, capsys=capsys)
    return dict(line.split(None, 1) for line in printed.replace("api base", "api_base").replace(
        "api key", "api_key").splitlines() if line.strip())


@pytest.mark.usefixtures("configured")
def test_the_emulator_s_workspace_as_the_official_cli_shows_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    s = settings.current()
    who = whoami()
    official = official_whoami(s.api_base or "", s.api_key or "", tmp_path, monkeypatch, capsys)
    assert who["api_base"] == official["api_base"] and who["workspace_id"] == official["workspace"]
    assert who["api_key"].startswith("puras_live_") and (s.api_key or "")[12:-4] not in who.text()
    lines = who.text().splitlines()
    assert lines[0] == f"api base   {s.api_base}" and lines[2] == f"workspace  {official['workspace']}"
    assert lines[3].startswith("balance    not billed on this server"), "the emulator bills nothing"
    assert repr(who) == who.text() and who._repr_mimebundle_() == {"text/plain": who.text()}


def test_puras_serve_has_no_balance_route_one_line(served: PurasServe) -> None:
    who = whoami()
    host = served.url.removeprefix("http://")
    assert who.text().splitlines() == [
        f"api base   {served.url}",
        "api key    puras_live_…6789",
        f"the server at {host} has no balance route (GET /v1/billing/balance answered 404)",
    ]
    assert "workspace_id" not in who


def test_with_no_key_nothing_is_started(monkeypatch: pytest.MonkeyPatch) -> None:
    before = settings.current()
    from puras_nb.runtime import endpoint

    monkeypatch.setattr(endpoint, "_emulator", None)
    settings.restore(settings.Settings())
    try:
        who = whoami()
    finally:
        settings.restore(before)
    assert who.text().startswith("not logged in: live jobs run on the local emulator, started on the first job")
    assert endpoint.embedded_emulator() is None


def test_an_unreachable_server_raises_its_connection_error() -> None:
    before = settings.current()
    settings.configure(api_key="puras_live_unreachable_0000", api_base="http://127.0.0.1:9", local=False)
    try:
        with pytest.raises(PurasConnectionError, match=r"cannot reach 127\.0\.0\.1:9"):
            whoami()
    finally:
        settings.restore(before)


def test_where_the_key_came_from(served: PurasServe, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PURAS_API_KEY", served.api_key)
    monkeypatch.setenv("PURAS_API_BASE", served.url)
    settings.restore(settings.from_environment())
    text = whoami().text()
    assert f"api base   {served.url}   (from PURAS_API_BASE)" in text
    assert "api key    puras_live_…6789   (from PURAS_API_KEY)" in text
