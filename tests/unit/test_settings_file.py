"""The official CLI's login file (`~/.puras/config.json`, written by `puras login`) read after the environment, as
the CLI's own `load_auth` reads it, under a temporary HOME: never the real one, and never written."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from puras_nb import settings
from puras_nb.notebook import connection

KEY = "puras_live_from_the_login_file_1234"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary HOME with no PURAS_* variables; the kernel-wide settings put back afterwards."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("PURAS_API_KEY", "PURAS_API_BASE", "PURAS_SKILLPACK"):
        monkeypatch.delenv(name, raising=False)
    before = settings.current()
    yield tmp_path
    settings.restore(before)


def login_file(home: Path, data: object) -> Path:
    path = home / ".puras" / "config.json"
    path.parent.mkdir(exist_ok=True)
    text = data if isinstance(data, (str, bytes)) else json.dumps(data)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_a_terminal_login_gives_the_key_and_base(home: Path) -> None:
    login_file(home, {"api_base": "https://api.example.com/", "api_key": KEY, "llm_api_key": "sk-ant-x"})
    s = settings.from_environment()
    assert (s.api_key, s.api_base) == (KEY, "https://api.example.com")
    assert not settings.uses_emulator(s), "a login means the hosted API, not the embedded emulator"
    assert KEY not in repr(s) and "llm" not in repr(s)


def test_the_official_cli_reads_the_same(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parity: what `puras whoami` would use is what live jobs use (puras.cli.config.load_auth, same file)."""
    import puras.cli.config as cli_config

    path = login_file(home, {"api_base": "https://api.example.com", "api_key": KEY})
    monkeypatch.setattr(cli_config, "GLOBAL_FILE", path)  # fixed at its import, from the HOME of then
    auth = cli_config.load_auth()
    s = settings.from_environment()
    assert (s.api_key, s.api_base) == (auth.api_key, auth.api_base)


def test_the_environment_wins_field_by_field(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    login_file(home, {"api_key": KEY})  # saved for the default base
    monkeypatch.setenv("PURAS_API_KEY", "puras_live_from_the_environment_99")
    s = settings.from_environment()
    assert (s.api_key, s.api_base) == ("puras_live_from_the_environment_99", None)
    assert settings.source("api_key") is None, "not from_environment's: the kernel-wide settings were read before"
    settings.restore(s)
    assert settings.source("api_key") == "PURAS_API_KEY"
    monkeypatch.delenv("PURAS_API_KEY")
    monkeypatch.setenv("PURAS_API_BASE", "https://api.puras.co/")
    s = settings.from_environment()
    assert (s.api_key, s.api_base) == (KEY, "https://api.puras.co/"), "the default base, spelled out: same host"


def test_the_saved_key_goes_only_to_the_base_it_was_saved_for(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    login_file(home, {"api_key": KEY})
    monkeypatch.setenv("PURAS_API_BASE", "http://127.0.0.1:8787")
    s = settings.from_environment()
    assert (s.api_key, s.api_base) == (None, "http://127.0.0.1:8787")
    err = capsys.readouterr().err
    assert err == ("puras-nb: not using the key in ~/.puras/config.json: it was saved for https://api.puras.co, "
                   "and PURAS_API_BASE is http://127.0.0.1:8787\n")
    assert KEY not in err


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]", '{"api_key": 7, "api_base": ""}', b"\xff\xfe{"])
def test_a_file_that_says_nothing_usable_is_no_file(home: Path, content: str | bytes) -> None:
    login_file(home, content)
    s = settings.from_environment()
    assert (s.api_key, s.api_base) == (None, None) and settings.uses_emulator(s)


def test_an_unreadable_file_is_no_file(home: Path) -> None:
    path = login_file(home, {"api_key": KEY})
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who reads any file (root)")
        assert settings.from_environment().api_key is None
    finally:
        path.chmod(0o600)


def test_where_the_key_came_from_is_shown_until_the_notebook_sets_its_own(home: Path) -> None:
    login_file(home, {"api_base": "https://api.example.com", "api_key": KEY})
    settings.restore(settings.from_environment())
    shown = connection.describe()
    assert shown["api_key"] == "puras_live_…1234" and shown["api_key_source"] == "~/.puras/config.json"
    assert shown["api_base_source"] == "~/.puras/config.json"
    connection.login("puras_live_typed_in_this_notebook_5678")
    assert "api_key_source" not in connection.describe()


def test_a_notebook_never_writes_the_login_file(home: Path) -> None:
    path = login_file(home, {"api_base": "https://api.example.com", "api_key": KEY})
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    settings.restore(settings.from_environment())
    connection.login("puras_live_typed_in_this_notebook_5678")
    settings.configure(api_key="puras_live_configured_in_this_notebook_0000", api_base="https://elsewhere.example")
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert sorted(p.name for p in (home / ".puras").iterdir()) == ["config.json"]
    path.unlink()
    connection.login("puras_live_typed_in_this_notebook_5678")
    assert not path.exists()
