"""In a real kernel under `%xmode Verbose` (issue 22.9): IPython prints every frame's arguments, locals and the
values on its line, and the notebook keeps them. Failed calls of the client and of live jobs show no API key."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.harness.kernel import Kernel

pytestmark = pytest.mark.kernel

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def kernel(emulator: Any) -> Iterator[Kernel]:
    harness = Kernel({"PURAS_API_BASE": emulator.url, "PURAS_API_KEY": emulator.api_key})
    harness.ok("%xmode Verbose\nimport puras_nb")
    yield harness
    harness.close()


@pytest.fixture(scope="module")
def stalling() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("puras_nb.Client(skillpack='demo').run('fail', {'after': 0})", "JobError"),
        ("puras_nb.Client().get('no-such-job')", "PurasAPIError"),
        ("puras_nb.Client(api_base='http://127.0.0.1:9', max_retries=0).get('j1')", "PurasConnectionError"),
        ("puras_nb.Client(api_base=STALL, max_retries=0).run('demo/echo', timeout=1)", "PurasConnectionError"),
        ("puras_nb.run('demo/fail', {'after': 0}, display=False)", "JobError"),
        ("puras_nb.attach('no-such-job', display=False)", "PurasAPIError"),
        ("puras_nb.attach('j1', client=puras_nb.Client(api_base=STALL, timeout=0.5, max_retries=0))",
         "PurasConnectionError"),
    ],
)
def test_a_verbose_traceback_never_shows_the_key(kernel: Kernel, emulator: Any, stalling: str, code: str,
                                                 error: str) -> None:
    cell = kernel.run(f"STALL = {stalling!r}\n{code}")
    assert cell.status == "error" and cell.ename == error, (cell.ename, cell.evalue)
    text = _ANSI.sub("", "\n".join(cell.traceback))
    assert "self = " in text or "self=" in text, "verbose: the frames' locals are printed"
    hidden = emulator.api_key[len("puras_live_"):-4]
    assert hidden not in text, text
