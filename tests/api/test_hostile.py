"""Hostile servers (issue 22): what a server answers can be shaped, paced or worded to hurt; the client's errors
stay plain, short and ours. The server is tests/harness/hostile.py over loopback, or the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from puras_nb import Client, JobError, PurasAPIError
from puras_nb.strings import has_control
from tests.harness.hostile import Hostile, answer

KEY = "puras_live_hostile_test_key_0123456789"
ESCAPES = "\x1b[31mred\x1b[0m \x1b]8;;https://evil.example/\x07link\x1b]8;;\x07 \x1b[2J\rover\x07"


def test_escape_codes_in_a_job_error_never_reach_the_terminal(emulator: Any) -> None:
    with Client(emulator.api_key, "demo", api_base=emulator.url) as client, pytest.raises(JobError) as info:
        client.run("fail", {"after": 0, "message": ESCAPES})
    text = str(info.value)
    assert not has_control(text) and text.endswith("failed: red link over"), text
    assert info.value.job["error"] == ESCAPES  # the job itself is kept as the server sent it


def test_escape_codes_in_an_api_detail_never_reach_the_terminal() -> None:
    routes = {"GET /v1/jobs/": answer(409, {"detail": ESCAPES})}
    with Hostile(routes) as server, Client(KEY, api_base=server.url) as client, pytest.raises(PurasAPIError) as info:
        client.get("j1")
    assert str(info.value) == "409: red link over" and info.value.detail == "red link over"
