"""A live job's wait timeout is the user's bound: a status request that stalls does not stretch it."""

from __future__ import annotations

import time

import pytest

import puras_nb


def test_a_stalled_status_request_does_not_stretch_result_timeout(configured: None, faults) -> None:
    job = puras_nb.start("demo/hang", {}, display=False)
    faults({"rate": 1, "kinds": "delay", "delay": 3, "methods": "GET", "paths": f"/v1/jobs/{job.id}"})
    began = time.monotonic()
    try:
        with pytest.raises(TimeoutError, match=r"still \w+ after 1 s \(it keeps running\)"):
            job.result(timeout=1)
        assert time.monotonic() - began < 1.8
    finally:
        faults({})
        job.cancel()
