"""The live jobs' polling cadence: one default (Settings.poll_interval) and one rule (`Session.interval`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from puras_nb import settings
from puras_nb.runtime.session import FIRST_CHECK, Session, Watch


@pytest.fixture
def offline() -> Iterator[Session]:
    """A session for a server that is never called (no emulator starts for it)."""
    before = settings.current()
    settings.configure(api_key="puras_live_never_called_0000", api_base="http://127.0.0.1:9", local=False,
                       poll_interval=0.7)
    yield Session(settings.current())
    settings.restore(before)


def _watch() -> Watch:
    return Watch("job", on_job=print, on_events=print, on_trouble=print, on_end=print)


def test_a_watch_polls_at_most_every_poll_interval_of_the_settings(offline: Session) -> None:
    w = _watch()
    assert w.poll_interval == 0.7
    assert offline.interval(w, w.started) == FIRST_CHECK, "a young job is checked often"
    assert offline.interval(w, w.started + 3.0) == pytest.approx(0.3), "then every age/10 s ..."
    assert offline.interval(w, w.started + 3600) == 0.7, "... up to poll_interval"
    w.failures = 2
    assert offline.interval(w, w.started) == pytest.approx(2.8), "trouble backs off from poll_interval"
