"""Running the emulator app under uvicorn: socket binding (port 0 allowed), readiness, signals, parent watch."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator

import uvicorn

from .emulator import Emulator, create_app

__all__ = ["ServerThread", "bind", "display_url", "run"]


class _Server(uvicorn.Server):
    """uvicorn without its own signal capture: the caller decides what SIGINT/SIGTERM do."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port); port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP lets asyncio set TCP_NODELAY on each accepted connection (it skips proto 0 sockets);
    # without it every response waits ~40 ms on Nagle + delayed ACK. Set on the listener too, which Linux copies.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def display_url(host: str, sock: socket.socket) -> str:
    """The base URL clients should use for a bound socket (wildcard hosts become loopback)."""
    port = sock.getsockname()[1]
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def _config(emu: Emulator, faults: str | dict | None, host: str) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(emu, faults=faults, host=host),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
        timeout_keep_alive=30,
    )


def run(
    emu: Emulator,
    host: str,
    port: int,
    *,
    faults: str | dict | None = None,
    on_ready: Callable[[str], None],
    parent_watch: bool = False,
) -> None:
    """Serve in the main thread until SIGINT/SIGTERM (or, with `parent_watch`, until stdin closes)."""
    sock = bind(host, port)
    server = _Server(_config(emu, faults, host))
    url = display_url(host, sock)

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def stop() -> None:
            """Ask uvicorn to finish (from the signal handlers and the parent watch)."""
            server.should_exit = True

        if parent_watch:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            threading.Thread(target=_watch_stdin, args=(loop, stop), daemon=True).start()
        for sig in (signal.SIGTERM,) if parent_watch else (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop)
            except NotImplementedError:  # Windows event loops
                signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.005)
        if not task.done():
            on_ready(url)
        await task

    try:
        asyncio.run(main())
    finally:
        sock.close()
        emu.close()


def _watch_stdin(loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> None:
    """Block until the parent closes our stdin (or dies), then stop the server."""
    with contextlib.suppress(Exception):
        while sys.stdin.buffer.read(4096):
            pass
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(stop)


class ServerThread:
    """uvicorn in a daemon thread of this process (`start(in_process=True)`)."""

    def __init__(self, emu: Emulator, host: str, port: int, faults: str | dict | None = None):
        self.emu = emu
        self._sock = bind(host, port)
        self.url = display_url(host, self._sock)
        self._server = _Server(_config(emu, faults, host))
        self._thread = threading.Thread(target=self._serve, name="puras-nb-local", daemon=True)
        self._error: BaseException | None = None

    def _serve(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:
            self._error = exc

    def start(self, timeout: float = 10.0) -> None:
        """Start serving and wait until the socket accepts requests."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        if not self._server.started:
            raise RuntimeError(f"puras-nb local emulator did not start: {self._error!r}")

    def stop(self) -> None:
        """Shut the server down and release its state."""
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._sock.close()
        self.emu.close()
