"""The API key never shows in a traceback that prints each frame's locals (issue 22.9): `%xmode Verbose` in IPython
(which also prints the values of the expressions on each frame's line) and `traceback.print_exc(capture_locals=
True)`. No frame of ours holds the raw key in a local, an argument or an attribute on its line: the key travels
as a `Secret`, whose repr masks it, and reaches the wire only through an httpx.Auth."""

from __future__ import annotations

import asyncio
import socket
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import IPython
import pytest
from IPython.core.ultratb import VerboseTB

from puras_nb import AsyncClient, Client, PurasError
from puras_nb.api.media import Media, afetch, fetch
from puras_nb.strings import Secret
from tests.harness.hostile import Hostile, answer

KEY = "puras_live_HUSH0123456789abcdefQWERTY"
TAIL = KEY.removeprefix("puras_live_")[:-4]  # what a mask never shows


def printed(exc: BaseException) -> str:
    """The exception as both verbose formatters print it, causes and contexts included, from the first frame of
    ours on (the test's own frames hold the key: they are the user's)."""
    tb = exc.__traceback__
    while tb is not None and "/tests/" in tb.tb_frame.f_code.co_filename:
        tb = tb.tb_next
    plain = "".join(traceback.TracebackException(type(exc), exc, tb, capture_locals=True).format())
    plain_colours = {"theme_name": "nocolor"} if IPython.version_info >= (9,) else {"color_scheme": "NoColor"}
    verbose = VerboseTB(**plain_colours).text(type(exc), exc, tb)
    return plain + verbose


def caught(call: Callable[[], Any]) -> BaseException:
    try:
        call()
    except BaseException as exc:
        return exc
    raise AssertionError("no error")


@pytest.fixture(scope="module")
def stalling() -> Iterator[str]:
    """A server that accepts and never answers (a read timeout)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def test_the_secret_masks_itself_and_compares_by_value() -> None:
    secret = Secret(KEY)
    assert TAIL not in repr(secret) and TAIL not in str(secret) and TAIL not in f"{secret}"
    assert secret.reveal() == KEY and secret == Secret(KEY) and secret != Secret(KEY + "x") and secret
    assert not Secret("")


@pytest.mark.parametrize(
    "call",
    [
        "a failed job", "an API error", "a refused connection", "a read timeout", "a bad key",
        "async: an API error", "async: a read timeout",
    ],
)
def test_no_traceback_of_a_failed_call_holds_the_key(emulator: Any, stalling: str, call: str) -> None:
    url = emulator.url

    async def in_loop(base: str, fn: str, *args: Any) -> Any:
        async with AsyncClient(emulator.api_key, "demo", api_base=base, timeout=0.2) as client:
            return await getattr(client, fn)(*args)

    def on(key: str, base: str, fn: str, *args: Any, **opts: Any) -> Any:
        with Client(key, "demo", api_base=base, **opts) as client:
            return getattr(client, fn)(*args)

    calls: dict[str, Callable[[], Any]] = {
        "a failed job": lambda: on(emulator.api_key, url, "run", "fail", {"after": 0}),
        "an API error": lambda: on(emulator.api_key, url, "get", "no-such-job"),
        "a refused connection": lambda: on(KEY, "http://127.0.0.1:9", "get", "j1", max_retries=0),
        "a read timeout": lambda: on(KEY, stalling, "get", "j1", timeout=0.2, max_retries=0),
        "a bad key": lambda: Client(KEY[:20] + "\n" + KEY[20:]),
        "async: an API error": lambda: asyncio.run(in_loop(url, "get", "no-such-job")),
        "async: a read timeout": lambda: asyncio.run(in_loop(stalling, "get", "j1")),
    }
    secret = emulator.api_key.removeprefix("puras_local_").removeprefix("puras_live_")[:-4]
    exc = caught(calls[call])
    assert isinstance(exc, (PurasError, ValueError))
    text = printed(exc)
    assert TAIL not in text and secret not in text, text


def test_a_failed_media_fetch_never_holds_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """fetch and afetch give None rather than raise, but what they call can fail inside them: the key is a
    Secret in every frame there too."""
    seen: list[str] = []

    def boom(*args: Any, **kwargs: Any) -> Any:
        ours = ((f, n) for f, n in traceback.walk_stack(None) if "/tests/" not in f.f_code.co_filename)
        stack = traceback.StackSummary.extract(ours, capture_locals=True)
        seen.append("".join(stack.format()))
        raise OSError("no resolver")

    with Hostile({"GET /files/": answer(200, b"x")}) as server:
        media = Media(url=server.url + "/files/a.png", kind="image", mime="image/png")
        assert fetch(media, api_base=server.url, api_key=KEY) is None  # not a PNG, but it was sent the key
        assert server.seen[-1].headers["authorization"] == f"Bearer {KEY}"
        monkeypatch.setattr(socket, "getaddrinfo", boom)
        away = Media(url="http://media.example/a.png", kind="image", mime="image/png")
        assert fetch(away, api_base=server.url, api_key=KEY) is None
        assert asyncio.run(afetch(away, api_base=server.url, api_key=Secret(KEY))) is None
    assert len(seen) == 2 and not any(TAIL in text for text in seen)
