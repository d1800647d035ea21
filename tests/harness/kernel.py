"""One harness for a real ipykernel driven through jupyter_client: the kernel tests and bench/ use it.

A reader thread keeps every iopub message with the time it arrived, so a test can ask what a cell showed,
how long it took, and which widget updates reached the frontend while it ran (or while no cell ran).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.manager import KernelManager

from puras_nb.local.entry import IRI_CHECKER_OFF


@dataclass
class Cell:
    """What one executed cell produced: its reply, streams, value and displays, and when it ran."""

    msg_id: str
    sent: float
    """time.monotonic() when the execute request left."""
    idle: float = 0.0
    """time.monotonic() when the kernel's idle status for it arrived."""
    reply: dict = field(default_factory=dict)
    outputs: list[dict] = field(default_factory=list)
    """Every iopub message the cell caused, in order."""
    status: str = ""
    ename: str = ""
    evalue: str = ""
    traceback: list[str] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    result: dict = field(default_factory=dict)
    displays: list[dict] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.result.get("text/plain", "")

    @property
    def shown(self) -> dict:
        """The cell's value as displayed: its execute_result, or the first display of an object that displays itself."""
        return self.result or (self.displays[0] if self.displays else {})


class Kernel:
    """Start a kernel with extra env vars; `run(code)` executes a cell; `iopub` keeps every message seen.

    Its jsonschema loads without the optional IRI format checker (2 s of CPU at the first validation; puras-nb uses
    no format checker), as in the test process (tests/conftest.py); `cold_jsonschema=True` keeps it, as a user's
    kernel may have it."""

    def __init__(self, env: dict[str, str], *, cold_jsonschema: bool = False) -> None:
        self.km = KernelManager(kernel_name="python3")
        lean = [] if cold_jsonschema else [f"--IPKernelApp.exec_lines={IRI_CHECKER_OFF}"]
        self.km.start_kernel(env={**os.environ, **env}, extra_arguments=lean)
        self.kc = self.km.blocking_client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.iopub: list[tuple[float, dict]] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._idle: dict[str, float] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self.kc.get_iopub_msg(timeout=0.1)
            except queue.Empty:
                continue
            except Exception:  # channels closed at shutdown
                return
            now = time.monotonic()
            with self._changed:
                self.iopub.append((now, msg))
                if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                    self._idle[msg["parent_header"].get("msg_id", "")] = now
                self._changed.notify_all()

    def messages(self) -> list[tuple[float, dict]]:
        """A snapshot of every iopub message so far, with its arrival time."""
        with self._changed:
            return list(self.iopub)

    def run(
        self, code: str, timeout: float = 60.0, *, stdin: str | None = None, interrupt_after: float | None = None
    ) -> Cell:
        """Execute `code` and wait for its reply and idle status; answer one input() with `stdin`; interrupt the
        kernel after `interrupt_after` seconds. A failed cell is returned, not raised (see `ok`)."""
        cell = Cell(msg_id=self.kc.execute(code, allow_stdin=stdin is not None), sent=time.monotonic())
        timer = threading.Timer(interrupt_after, self.km.interrupt_kernel) if interrupt_after else None
        if timer:
            timer.start()
        deadline = cell.sent + timeout
        try:
            while not cell.reply:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no reply for {code!r}")
                if stdin is not None:
                    try:
                        self.kc.get_stdin_msg(timeout=0.01)
                        self.kc.input(stdin)
                        stdin = None
                    except queue.Empty:
                        pass
                try:
                    msg = self.kc.get_shell_msg(timeout=0.05)
                except queue.Empty:
                    continue
                if msg["parent_header"].get("msg_id") == cell.msg_id:
                    cell.reply = msg
            with self._changed:
                if not self._changed.wait_for(lambda: cell.msg_id in self._idle, max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(f"no idle status for {code!r}")
                cell.idle = self._idle[cell.msg_id]
                cell.outputs = [m for _, m in self.iopub if m["parent_header"].get("msg_id") == cell.msg_id]
        finally:
            if timer:
                timer.cancel()
        for msg in cell.outputs:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                setattr(cell, content["name"], getattr(cell, content["name"]) + content["text"])
            elif kind == "execute_result":
                cell.result = content["data"]
            elif kind == "display_data":
                cell.displays.append(content["data"])
        content = cell.reply["content"]
        cell.status, cell.ename, cell.evalue = content["status"], content.get("ename", ""), content.get("evalue", "")
        cell.traceback = content.get("traceback", [])
        return cell

    def ok(self, code: str, **kwargs: Any) -> Cell:
        """Run `code`; it must succeed."""
        cell = self.run(code, **kwargs)
        assert cell.status == "ok", f"{code!r} failed: {cell.ename}: {cell.evalue}\n{cell.stderr}"
        return cell

    def value(self, expr: str) -> str:
        """The text/plain of a cell's value (the repr, as a notebook shows it)."""
        return self.ok(expr).text

    def printed(self, expr: str) -> str:
        """What print(expr) writes in the kernel, stripped."""
        return self.ok(f"print({expr})").stdout.strip()

    def complete(self, code: str) -> list[str]:
        return self.complete_reply(code)["matches"]

    def complete_reply(self, code: str) -> dict:
        """The kernel's complete_reply content for the cursor at the end of `code`."""
        msg_id = self.kc.complete(code, len(code))
        reply = self.kc.get_shell_msg(timeout=20)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=20)
        return reply["content"]

    def comm_updates(self, comm_ids: set[str], since: float = 0.0, until: float = float("inf")) -> list[dict]:
        """State updates (`comm_msg` method update) sent to the frontend for these widget models."""
        return [
            m
            for t, m in self.messages()
            if since <= t <= until
            and m["msg_type"] == "comm_msg"
            and m["content"].get("comm_id") in comm_ids
            and m["content"].get("data", {}).get("method") == "update"
        ]

    def click(self, comm_id: str, subshell: str | None = None) -> None:
        """What a browser sends when a Button is clicked (over a kernel subshell, as JupyterLab >= 4.4 does)."""
        msg = self.kc.session.msg(
            "comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": {"event": "click"}}}
        )
        if subshell:
            msg["header"]["subshell_id"] = subshell
        self.kc.shell_channel.send(msg)

    def close(self) -> None:
        self._stop.set()
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def short_error(cell: Cell, ename: str, *fragments: str) -> None:
    """The cell failed with `ename`, shown as one line (no traceback through puras_nb) holding every fragment."""
    assert cell.status == "error", cell
    assert cell.ename == ename, (cell.ename, cell.evalue)
    assert len(cell.traceback) == 1 and "puras_nb" not in cell.traceback[0], cell.traceback
    for fragment in fragments:
        assert fragment in cell.evalue, (fragment, cell.evalue)
