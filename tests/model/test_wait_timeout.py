"""A live job's wait timeout is the user's bound: a status request that stalls does not stretch it."""

from __future__ import annotations

import time

import pytest

import puras_nb


def test_a_stalled_status_request_does_not_stretch_result_timeout(configured: None, faults) -> None:
    job = puras_nb.start("demo/hang", {}, display=False)
    # a stall far longer than the wait: waiting for it cannot pass for keeping to the bound
    faults({"rate": 1, "kinds": "delay", "delay": 10, "methods": "GET", "paths": f"/v1/jobs/{job.id}"})
    began = time.monotonic()
    try:
        with pytest.raises(TimeoutError, match=r"still \w+ after 0.3 s \(it keeps running\)"):
            job.result(timeout=0.3)
        assert time.monotonic() - began < 5.0, "the user's 0.3 s and slack for a loaded machine; not the 10 s stall"
    finally:
        faults({})
        job.cancel()
