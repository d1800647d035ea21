"""Run a console program as a process of its own, forked from one that has already imported it.

The official `puras` CLI spends most of each run importing (httpx brings rich, pygments and click along): some
0.3 s of CPU a command, and tests/compat runs it some forty times. `Forked` starts one process that imports the
program's entry point once, then forks it for each run: the fork starts in milliseconds and is still a process of
its own, with its own arguments, working directory, stdin (empty), stdout and stderr (UTF-8 text) and exit status,
and nothing it changes outlives it. The environment is the one the first process started with, so that what a
module reads from it at import (`puras.cli.config` reads HOME) is what a fresh process would read.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["Forked"]

# The forking process: imports the entry point, then for each request line forks a child that runs it and
# answers the child's pid, then its exit status. A child exits with os._exit, as a finished interpreter would,
# after flushing its streams (nothing of the parent's atexit work runs twice).
_ZYGOTE = r"""
import importlib, json, os, sys, traceback
module, _, name = sys.argv[1].partition(":")
entry = getattr(importlib.import_module(module), name)
replies = os.fdopen(os.dup(1), "w")
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(os.open(request["stdout"], os.O_WRONLY | os.O_TRUNC), 1)
            os.dup2(os.open(request["stderr"], os.O_WRONLY | os.O_TRUNC), 2)
            sys.stdin = open(0, encoding="utf-8", closefd=False)
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
            sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
            os.chdir(request["cwd"])
            sys.argv = request["argv"]
            try:
                code = entry(request["argv"][1:])
            except SystemExit as exc:
                code = exc.code
            if code is None:
                code = 0
            elif not isinstance(code, int):
                print(code, file=sys.stderr)
                code = 1
        except BaseException:
            traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:
                    pass
            os._exit(code & 0xFF)
    replies.write(json.dumps({"pid": pid}) + "\n")
    replies.flush()
    _, status = os.waitpid(pid, 0)
    replies.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
    replies.flush()
"""


class Forked:
    """`run(args)` runs `program` (shown as argv[0]) whose `entry` ("module:function") takes the arguments and
    returns the exit status, as a console script does; every run gets `env`. A context manager."""

    def __init__(self, program: str, entry: str, env: dict[str, str]) -> None:
        self.program = program
        self._scratch = tempfile.TemporaryDirectory(prefix="puras-nb-forked-")
        self._process = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE, entry], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self._replies = b""
        self._runs = 0

    def run(self, args: list[str], *, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
        """Run the program with `args` in `cwd`; the finished process, as `subprocess.run(..., capture_output=True,
        text=True)` gives it. `subprocess.TimeoutExpired` (the run killed) past `timeout` seconds."""
        assert self._process.stdin is not None
        self._runs += 1
        out, err = (Path(self._scratch.name) / f"{self._runs}.{kind}" for kind in ("out", "err"))
        out.touch()
        err.touch()
        argv = [self.program, *args]
        request = {"argv": argv, "cwd": str(cwd), "stdout": str(out), "stderr": str(err)}
        self._process.stdin.write(json.dumps(request).encode() + b"\n")
        self._process.stdin.flush()
        deadline = time.monotonic() + timeout
        pid = self._reply(deadline)["pid"]
        try:
            code = self._reply(deadline)["returncode"]
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            self._reply(time.monotonic() + 10)
            raise subprocess.TimeoutExpired(argv, timeout) from None
        return subprocess.CompletedProcess(argv, code, *(p.read_text(encoding="utf-8") for p in (out, err)))

    def _reply(self, deadline: float) -> dict:
        """The forking process's next answer (a JSON line), waiting until `deadline` at most."""
        stdout = self._process.stdout
        assert stdout is not None
        while b"\n" not in self._replies:
            ready, _, _ = select.select([stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise subprocess.TimeoutExpired(self.program, 0)
            chunk = os.read(stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError(f"the process that forks {self.program} exited ({self._process.wait()})")
            self._replies += chunk
        line, _, self._replies = self._replies.partition(b"\n")
        return json.loads(line)

    def close(self) -> None:
        """Stop the forking process (it exits when its stdin closes) and remove the captured output."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._scratch.cleanup()

    def __enter__(self) -> Forked:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
