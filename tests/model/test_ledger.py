"""The batch ledger on its own: claims, reuse, two owners, dead owners, a corrupt or locked file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from puras_nb import settings
from puras_nb.model import ledger as ledger_module
from puras_nb.model.ledger import Key, Ledger, inputs_hash, open_ledger


def _key(inputs: dict) -> Key:
    return Key("http://127.0.0.1:1", "demo", "demo/echo", "", inputs_hash(inputs))


def _open(path: Path) -> Ledger:
    ledger = open_ledger(str(path))
    assert ledger is not None and ledger.broken is None
    return ledger


def test_the_inputs_hash_ignores_key_order_and_tells_values_apart() -> None:
    assert inputs_hash({"a": 1, "b": [1, 2]}) == inputs_hash({"b": [1, 2], "a": 1})
    assert inputs_hash({"a": 1}) != inputs_hash({"a": "1"})


def test_a_claim_becomes_its_job_and_the_next_run_gets_the_job(tmp_path: Path) -> None:
    ledger = _open(tmp_path / "l.sqlite")
    key = _key({"i": 1})
    assert ledger.claim(key).kind == "mine"
    ledger.record(key, "job-1", "queued")
    again = _open(tmp_path / "l.sqlite").claim(key)
    assert (again.kind, again.job_id, again.status) == ("job", "job-1", "queued")
    ledger.finish("job-1", "succeeded", 4000)
    assert _open(tmp_path / "l.sqlite").claim(key).status == "succeeded"
    assert ledger.median_cost(key.host, key.skill, key.version) == 4000
    assert ledger.lookup([key, _key({"i": 2})]) == {key: ("job-1", "succeeded")}
    assert (tmp_path / "l.sqlite-wal").exists(), "the ledger runs in WAL mode"


def test_a_live_claim_keeps_another_batch_off_and_a_replaced_job_is_claimed_once(tmp_path: Path) -> None:
    first, second = _open(tmp_path / "l.sqlite"), _open(tmp_path / "l.sqlite")
    key = _key({"i": 1})
    assert first.claim(key).kind == "mine"
    assert second.claim(key).kind == "busy", "the first owner is alive and has not recorded its job yet"
    first.record(key, "job-1", "failed")
    assert first.claim(key, replace="job-1").kind == "mine"
    assert second.claim(key, replace="job-1").kind == "busy", "retried once, not by both"


def test_the_claim_of_a_dead_process_is_stale_at_once(tmp_path: Path) -> None:
    code = (
        "import sys; from puras_nb.model.ledger import Key, open_ledger\n"
        "l = open_ledger(sys.argv[1]); print(l.claim(Key('h', 'demo', 'demo/echo', '', 'x')).kind)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "l.sqlite")], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "mine"
    claim = _open(tmp_path / "l.sqlite").claim(Key("h", "demo", "demo/echo", "", "x"))
    assert claim.kind == "stale" and claim.since > 0


def test_many_threads_claiming_one_row_get_it_once(tmp_path: Path) -> None:
    _open(tmp_path / "l.sqlite")
    ledgers = [_open(tmp_path / "l.sqlite") for _ in range(8)]
    kinds: list[str] = []
    start = threading.Barrier(len(ledgers))

    def claim(ledger: Ledger) -> None:
        start.wait()
        kinds.append(ledger.claim(_key({"same": True})).kind)

    threads = [threading.Thread(target=claim, args=(ledger,)) for ledger in ledgers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(kinds) == ["busy"] * 7 + ["mine"]


def test_a_corrupt_ledger_says_so_once_and_claims_go_on_without_reuse(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "l.sqlite"
    path.write_bytes(b"this is no database" * 100)
    ledger = open_ledger(str(path))
    assert ledger is not None and ledger.broken
    assert ledger.claim(_key({"i": 1})).kind == "mine" and ledger.claim(_key({"i": 1})).kind == "mine"
    ledger.record(_key({"i": 1}), "job", "queued")
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot be used" in err[0] and "without reuse" in err[0]


def test_a_locked_ledger_gives_up_after_its_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(ledger_module, "BUSY_TIMEOUT", 0.1)
    ledger = _open(tmp_path / "l.sqlite")
    holder = sqlite3.connect(tmp_path / "l.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert ledger.claim(_key({"i": 1})).kind == "mine" and ledger.broken
    finally:
        holder.execute("ROLLBACK")
    assert "cannot be used" in capsys.readouterr().err


def test_the_ledger_setting_from_configure_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    before = settings.current()
    try:
        assert settings.configure(ledger="/tmp/x.sqlite").ledger == "/tmp/x.sqlite"
        assert settings.configure(ledger=None).ledger is None, "None turns it off"
        monkeypatch.setenv("PURAS_NB_LEDGER", "off")
        assert settings.from_environment().ledger is None
        monkeypatch.setenv("PURAS_NB_LEDGER", "~/l.sqlite")
        assert settings.from_environment().ledger == str(Path("~/l.sqlite").expanduser())
        monkeypatch.delenv("PURAS_NB_LEDGER")
        monkeypatch.setenv("XDG_CACHE_HOME", "/cache")
        assert settings.from_environment().ledger == "/cache/puras-nb/ledger.sqlite"
    finally:
        settings.restore(before)
