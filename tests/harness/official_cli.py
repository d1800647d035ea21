"""The official `puras` CLI run in the test process, as its console script runs it (`puras.cli.main(argv)`), for
tests that compare our text with the CLI's: the environment and config file a fresh process with its own HOME
would read, stdout captured and no colours (as through a pipe). A process of its own would spend most of its
second importing (httpx, rich, pygments, click) to print a few lines."""

from __future__ import annotations

from pathlib import Path

import pytest

__all__ = ["run_official"]


def run_official(argv: list[str], *, base: str, key: str, home: Path, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str]) -> str:
    """What `puras ARGV` prints on stdout with `PURAS_API_BASE=base`, `PURAS_API_KEY=key` and `HOME=home`; a
    failure (a status other than 0) fails the test with what it printed on stderr."""
    from puras.cli import config, main, ui

    with monkeypatch.context() as patch:
        for name, value in (("HOME", str(home)), ("PURAS_API_BASE", base), ("PURAS_API_KEY", key), ("NO_COLOR", "1")):
            patch.setenv(name, value)
        patch.setattr(config, "GLOBAL_FILE", home / ".puras" / "config.json")  # fixed at its import, from HOME
        patch.setattr(ui, "_TTY", False)  # read at its import
        capsys.readouterr()
        status = main(argv)
        printed = capsys.readouterr()
    assert status == 0, printed.err
    return printed.out
