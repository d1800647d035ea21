"""Named timeouts: the user's wait timeout bounds every HTTP request made within it, and an error names the
timeout the request really had."""

from __future__ import annotations

import re
import time

import pytest

from puras_nb import Client
from puras_nb.api import flows
from puras_nb.errors import PurasConnectionError

KEY = "puras_live_fault_test_key_0123456789"


def test_a_stalled_status_request_ends_with_the_wait_and_says_how_long_it_had(
    emulator_url: str, faults, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A status request within a wait of 0.2 s may take 0.2 s plus the grace (1 s, scaled down to 0.3 s here),
    not the client's 120 s nor the 10 s the server takes."""
    monkeypatch.setattr(flows, "DEADLINE_GRACE", 0.3)
    with Client(KEY, "demo", api_base=emulator_url) as client:
        job = client.submit("hang")
        faults({"rate": 1, "kinds": "delay", "delay": 10, "methods": "GET", "paths": f"/v1/jobs/{job['id']}"})
        began = time.monotonic()
        try:
            with pytest.raises(PurasConnectionError, match=r"timed out after [0-9.]+ s \(ReadTimeout\)") as info:
                client.wait(job["id"], timeout=0.2)
            assert time.monotonic() - began < 2.8, "the wait's 0.2 s (plus the grace) bounds the request"
            # what is left of the wait when the request starts (on a loaded machine, less than all 0.2 s), plus
            # the grace: the timeout it really had, never the client's 120 s
            had = float(re.search(r"timed out after ([0-9.]+) s", str(info.value))[1])  # type: ignore[index]
            assert 0.3 <= had <= 0.5, str(info.value)
        finally:
            faults({})
            client.cancel(job["id"])
