"""The runtime loop: one private asyncio loop in a daemon thread, shared by every live job of the process.

A kernel's own loop stops whenever a cell runs synchronous code (`time.sleep`, a pandas loop); a thread
does not. So live jobs never poll on the caller's loop: they poll here, and callers block on (or await)
what this loop produces.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["call_later", "call_soon", "get_loop", "on_runtime_thread", "run_sync", "spawn"]

T = TypeVar("T")
THREAD_NAME = "puras-nb-runtime"

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_tasks: set[asyncio.Task] = set()


def get_loop() -> asyncio.AbstractEventLoop:
    """The runtime loop, started on first use (and again if its thread died)."""
    global _loop, _thread
    with _lock:
        if _loop is None or _thread is None or not _thread.is_alive():
            _loop = asyncio.new_event_loop()
            _thread = threading.Thread(target=_loop.run_forever, name=THREAD_NAME, daemon=True)
            _thread.start()
        return _loop


def on_runtime_thread() -> bool:
    """True when called from the runtime loop's own thread (a poller, an observer, a done callback)."""
    return _thread is not None and threading.current_thread() is _thread


def run_sync(coro: Coroutine[Any, Any, T], bridge_timeout: float | None = None) -> T:
    """Run `coro` on the runtime loop and block for its value, at most `bridge_timeout` s (Ctrl-C and the
    bridge timeout cancel it, and with it any HTTP request it is making).

    From the runtime thread itself it cannot block (it would wait on itself): that is a RuntimeError
    naming the way out.
    """
    if on_runtime_thread():
        coro.close()
        raise RuntimeError(
            "a blocking puras-nb call from a job's observer or callback would wait on itself; "
            "start it from a cell, or use `await` / puras_nb.AsyncClient there"
        )
    future = asyncio.run_coroutine_threadsafe(coro, get_loop())
    try:
        return future.result(bridge_timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise TimeoutError(f"gave up after {bridge_timeout} s") from None
    except BaseException:  # Ctrl-C: the work stops with the wait instead of carrying on unseen
        future.cancel()
        raise


def spawn(coro: Coroutine[Any, Any, Any]) -> None:
    """Run `coro` as a task on the runtime loop (from any thread), keeping a strong reference to it."""
    loop = get_loop()

    def create() -> None:
        task = loop.create_task(coro)
        _tasks.add(task)
        task.add_done_callback(_reap)

    if on_runtime_thread():
        create()
    else:
        loop.call_soon_threadsafe(create)


def _reap(task: asyncio.Task) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        task.get_loop().call_exception_handler(
            {"message": "puras-nb task failed", "exception": task.exception(), "task": task}
        )


def call_soon(fn: Callable[..., Any], *args: Any) -> None:
    """Call `fn(*args)` on the runtime thread soon (from any thread)."""
    get_loop().call_soon_threadsafe(fn, *args)


def call_later(delay: float, fn: Callable[..., Any], *args: Any) -> None:
    """Call `fn(*args)` on the runtime thread after `delay` seconds (from any thread)."""
    loop = get_loop()
    if on_runtime_thread():
        loop.call_later(delay, fn, *args)
    else:
        loop.call_soon_threadsafe(loop.call_later, delay, fn, *args)
