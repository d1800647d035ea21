"""What the Jupyter kernel we run in can do: which cell output belongs to, whether a widget click can reach
us while a cell blocks, and holding a Ctrl-C over a short blocking call (`deferred_interrupts`).

JupyterLab >= 4.4 sends widget messages over a kernel subshell (its own thread), but ipykernel 7.4
routes a comm's incoming messages to whichever shell last *published* on that comm
(`_reply_subshell_for` in ipykernel/comm/comm.py): a button updated from a cell gets its clicks back on
the main shell, queued behind the running cell. `free_clicks` makes a widget's clicks go where the
frontend sent them. It rests on ipykernel internals (tested with 7.4): where they are missing it does
nothing, and `clicks_reach_blocked_cells()` says False so views can tell the user how to stop instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

__all__ = [
    "Interrupts", "clicks_reach_blocked_cells", "deferred_interrupts", "free_clicks", "has_subshells", "headless",
    "in_kernel", "output_of", "parent", "parent_id",
]


def _kernel() -> Any:
    """The running ipykernel, or None (a terminal IPython, a script). IPython is never imported for this:
    a kernel has imported it already, so a script that has not stays free of it."""
    ip = sys.modules.get("IPython")
    try:
        return getattr(ip.get_ipython(), "kernel", None) if ip is not None else None
    except Exception:  # a half-imported or stubbed IPython
        return None


def in_kernel() -> bool:
    """True inside a Jupyter kernel (widgets can render), False in a terminal IPython or a script."""
    return _kernel() is not None


def parent() -> dict:
    """The request (a cell's execute_request, or a widget's comm message) that current output is attributed to:
    the whole message, as ipykernel keeps it ({} outside a kernel)."""
    kernel = _kernel()
    try:
        return dict(kernel.get_parent() or {}) if kernel is not None else {}
    except Exception:  # an older kernel without get_parent
        return {}


def parent_id() -> str | None:
    """The msg_id of the request (cell) that current output is attributed to."""
    return parent().get("header", {}).get("msg_id")


@contextlib.contextmanager
def output_of(request: dict) -> Iterator[None]:
    """Within, what this thread displays goes out as output of `request` (a `parent()` kept from earlier).

    JupyterLab routes a display update by the request it answers, even after that cell finished, and drops one
    that answers a widget click: a view shown by a cell and updated on a click publishes as that cell's output.
    A no-op outside a kernel, or where ipykernel lacks per-thread parents (before 6)."""
    ip = sys.modules.get("IPython")
    shell = ip.get_ipython() if ip is not None else None
    pub: Any = getattr(shell, "display_pub", None)
    if not request or not hasattr(pub, "set_thread_parent") or not hasattr(pub, "reset_thread_parent"):
        yield
        return
    token = pub.set_thread_parent(request)
    try:
        yield
    finally:
        pub.reset_thread_parent(token)


def _subshell_manager() -> Any:
    return getattr(getattr(_kernel(), "shell_channel_thread", None), "manager", None)


def has_subshells() -> bool:
    """Whether this kernel can run subshells at all (ipykernel >= 7): a frontend may then start one at any
    time (JupyterLab does when it first sees a widget comm), so a "no" from `clicks_reach_blocked_cells`
    is worth asking again."""
    return _subshell_manager() is not None


def clicks_reach_blocked_cells() -> bool:
    """True when the frontend talks to this kernel over subshells, so a freed widget's clicks run while a
    cell blocks (JupyterLab >= 4.4 with ipykernel 7); False elsewhere (older frontends, VS Code, nbclient)."""
    manager = _subshell_manager()
    try:
        return bool(manager.list_subshell()) if manager is not None else False
    except Exception:  # the internals moved: say no rather than promise
        return False


def free_clicks(widget: Any) -> None:
    """Let `widget`'s incoming messages (clicks) run on the subshell the frontend sent them on, whoever
    published on it last (see the module docstring). A no-op where ipykernel lacks the routing."""
    comm = getattr(widget, "comm", None)
    if comm is None or not hasattr(comm, "_reply_subshell_for") or getattr(comm, "_puras_free", False):
        return
    publish = comm.publish_msg

    def publish_and_forget(*args: Any, **kwargs: Any) -> Any:
        try:
            return publish(*args, **kwargs)
        finally:
            _forget_route(comm)

    comm.publish_msg = publish_and_forget
    comm._puras_free = True
    _forget_route(comm)


def _forget_route(comm: Any) -> None:
    lock = getattr(comm, "_reply_subshell_lock", None)
    with lock if lock is not None else contextlib.nullcontext(), contextlib.suppress(AttributeError):
        del comm._reply_subshell_id


class Interrupts:
    """What `deferred_interrupts` noted: whether a Ctrl-C came while it held them."""

    def __init__(self) -> None:
        self.pending = False


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[Interrupts]:
    """Around a short blocking call whose answer is needed to act on a Ctrl-C (a held submission, which names
    the job to cancel): a first Ctrl-C is noted (`pending`) and the call goes on; a second one stops it at once.
    Off the main thread (where no Ctrl-C lands) or under a SIGINT handler other than Python's own, nothing is
    held."""
    noted = Interrupts()
    held = threading.current_thread() is threading.main_thread()
    held = held and signal.getsignal(signal.SIGINT) is signal.default_int_handler

    def note(signum: int, frame: Any) -> None:
        if noted.pending:
            raise KeyboardInterrupt
        noted.pending = True

    if held:
        signal.signal(signal.SIGINT, note)
    try:
        yield noted
    finally:
        if held:
            signal.signal(signal.SIGINT, signal.default_int_handler)


#: Programs that run notebooks with nobody to click a button.
HEADLESS = ("papermill", "nbclient", "nbconvert", "nbval")


def headless() -> bool:
    """True in a kernel that papermill, nbclient or nbconvert runs (read from the launching process's command
    line, where the system shows it): nobody will answer a question there."""
    if not in_kernel():
        return False
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as f:
            cmdline = f.read().decode(errors="replace").lower()
    except OSError:
        return False
    return any(name in cmdline for name in HEADLESS)
