"""The local Puras emulator: a faithful offline Puras job API with a demo skillpack that makes real media.

    from puras_nb import local
    with local.start() as server:          # a child process on a free loopback port
        client = puras.Client(api_key=server.api_key, api_base=server.url)
        client.run("demo/echo", {"hi": 1})

Also `puras-nb serve` and `python -m puras_nb.local`. Needs the extra: `pip install 'puras-nb[local]'`.
Every start makes a random API key (`server.api_key`) unless `require_key=` names one; web pages the
user's browser opens cannot use the server (Host and Origin checks, no CORS unless `cors=` names origins).

Your own skills, served beside the demo (`start(skillpacks=["my_skills:pack"])` or
`puras-nb serve --skillpack my_skills:pack`), are plain functions on a `SkillPack`, declared with what their
`skill.yaml` would hold (schemas in the Puras dialect: `image`, `video`, `audio`, `file`, `text`, `color`):

    pack = SkillPack("tools", workspace="acme")                     # then "acme/tools/greet"

    @pack.skill("greet", version=1, title="Greeting",
                input_schema={"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
                output_schema={"type": "object", "properties": {"text": {"type": "text"}}},
                examples=[{"title": "Ada", "inputs": {"name": "Ada"}}])
    def greet(ctx: RunContext, inputs: dict) -> dict:
        ctx.progress(1, 1, "greeting")                               # events; stops here if cancelled
        return {"text": f"hello {inputs['name']}"}
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from typing import IO, Any

from .skills import JobCancelled, RunContext, SkillFailed, SkillPack

__all__ = ["JobCancelled", "LocalServer", "RunContext", "SkillFailed", "SkillPack", "start"]

START_TIMEOUT = 30.0
_EXTRA_MODULES = {"starlette": "starlette", "uvicorn": "uvicorn", "PIL": "pillow", "av": "av"}


def _require_extra() -> None:
    missing = [pkg for mod, pkg in _EXTRA_MODULES.items() if importlib.util.find_spec(mod) is None]
    if missing:
        raise ImportError(f"the local emulator needs {', '.join(missing)}: pip install 'puras-nb[local]'")


def _faults_arg(faults: str | dict | None) -> str | None:
    if faults is None or faults == {}:
        return None
    return json.dumps(faults) if isinstance(faults, dict) else faults


class LocalServer:
    """Handle on a running emulator: `.url`, `.api_key`, `.stop()`; a context manager that stops it."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        process: subprocess.Popen | None = None,
        thread: Any = None,
        stderr: IO[bytes] | None = None,
    ):
        self.url = url
        self.api_key = api_key
        self._process = process
        self._thread = thread
        self._stderr = stderr

    @property
    def emulator(self) -> Any:
        """The in-process `Emulator` state (only with `in_process=True`; None for a child process)."""
        return self._thread.emu if self._thread is not None else None

    @property
    def pid(self) -> int | None:
        """The child process id (None when running in-process)."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """Whether the server process or thread is still alive."""
        if self._process is not None:
            return self._process.poll() is None
        return self._thread is not None and self._thread._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server (idempotent): close the child's stdin, then terminate it if it lingers."""
        if self._process is not None:
            proc, self._process = self._process, None
            with contextlib.suppress(OSError):
                if proc.stdin is not None:
                    proc.stdin.close()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(2)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            for stream in (proc.stdout, self._stderr):
                if stream is not None:
                    stream.close()
        if self._thread is not None:
            thread, self._thread = self._thread, None
            thread.stop()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = f"pid {self.pid}" if self._process is not None else "in-process"
        return f"<puras_nb.local.LocalServer {self.url} ({where})>"


def start(
    port: int = 0,
    host: str = "127.0.0.1",
    *,
    require_key: str | None = None,
    cors: list[str] | None = None,
    data_dir: str | None = None,
    faults: str | dict | None = None,
    in_process: bool = False,
    skillpacks: list[str] | None = None,
    catalog: str = "full",
) -> LocalServer:
    """Start an emulator and return once it answers; by default a child process that dies with this one.

    `port=0` picks a free port. Every route but `/health` and signed file URLs needs
    `Authorization: Bearer <server.api_key>`: `require_key` names the key, else a random one is made.
    `cors` lists browser origins allowed to call it (`["http://localhost:3000"]`; none by default).
    `data_dir` keeps jobs, events, feedback and files there, so a server started again on it answers for every
    job (default: a temporary directory, removed when the server stops). `faults` is a fault spec
    (see `puras_nb.local.faults`). `in_process=True` serves from a daemon thread of this process.
    `skillpacks` adds your own packs by reference (`["my_skills:pack"]`, a `SkillPack` or a factory),
    served beside the built-in `local/demo`. `catalog="bare"` makes `/v1/skillpacks` list only the fields the
    hosted API is known to send (slug, name, id, active_deployment_id), as `puras-nb serve --catalog bare`.
    """
    _require_extra()
    from .entry import KEY_ENV
    from .faults import parse_spec
    from .guard import check_key, new_key, normalize_origin

    parse_spec(faults)  # a bad spec raises ValueError here, not as a child's exit status
    if catalog not in ("full", "bare"):
        raise ValueError(f"catalog must be 'full' or 'bare', got {catalog!r}")
    api_key = check_key(require_key) if require_key is not None else new_key()
    origins = [normalize_origin(origin) for origin in cors or []]
    if in_process:
        from .demopack import build_demo_pack
        from .emulator import Emulator
        from .registry import load_skillpacks
        from .server import ServerThread

        packs = [*load_skillpacks(list(skillpacks or [])), build_demo_pack()]
        emu = Emulator(api_key=api_key, cors=tuple(origins), data_dir=data_dir, packs=packs, catalog=catalog)
        thread = ServerThread(emu, host, port, faults)
        thread.start()
        return LocalServer(thread.url, api_key, thread=thread)

    cmd = [sys.executable, "-m", "puras_nb.local", "--host", host, "--port", str(port), "--parent-watch"]
    if data_dir:
        cmd += ["--data-dir", str(data_dir)]
    for origin in origins:
        cmd += ["--cors", origin]
    for ref in skillpacks or []:
        cmd += ["--skillpack", ref]
    if catalog != "full":
        cmd += ["--catalog", catalog]
    spec = _faults_arg(faults)
    if spec:
        cmd += ["--faults", spec]
    env = {**os.environ, KEY_ENV: api_key}  # not on the command line, which every user can read (ps)
    stderr = tempfile.TemporaryFile(prefix="puras-nb-local-")  # noqa: SIM115 (owned by the handle)
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env, start_new_session=True
    )
    url = _first_line(proc, START_TIMEOUT)
    if not url or not url.startswith("http"):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()
        stderr.seek(0)
        err = stderr.read().decode(errors="replace").strip()[-4000:]
        stderr.close()
        why = f"exited with code {proc.returncode}" if url == "" else f"printed {url!r} instead of its URL"
        if url is None:
            why = f"did not print its URL within {START_TIMEOUT:g} s"
        raise RuntimeError(f"puras-nb local emulator failed to start ({why}):\n{err or '(no stderr)'}")
    return LocalServer(url, api_key, process=proc, stderr=stderr)


def _first_line(proc: subprocess.Popen, timeout: float) -> str | None:
    """The child's first stdout line (stripped), '' at EOF, None on timeout."""
    lines: queue.Queue[str] = queue.Queue()
    stdout = proc.stdout
    assert stdout is not None, "started with stdout=PIPE"
    threading.Thread(target=lambda: lines.put(stdout.readline().decode(errors="replace").strip()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return None
