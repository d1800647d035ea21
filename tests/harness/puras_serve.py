"""The official `puras serve` (puras-runner's local server) as a test peer, with no LLM key needed.

`PurasServe.start(tmp_dir)` writes a skillpack the way `puras init` lays one out (`puras.yaml`, `AGENTS.md`,
`<skill>/skill.yaml` in the Puras schema dialect with `title`, `examples` and `output_schema`, `<skill>/SKILL.md`),
then runs this file as a child process. The child replaces ONLY the server's skill runner,
`worker.local_run.run_local` (an agent loop that needs an LLM key), with `run_skill` below, a deterministic
function, and then runs the real CLI: `puras serve --dir ... --require-key ...`. Everything else (routes, job store,
`/health`, events, spans, auth) is puras-runner's own code.

`run_skill` emits the events the worker's agent loop emits (`agent_start`, `model_response`, `tool_use` with its
`label`, `tool_result` with the planning tool's `todos`, `subagent_start` / `subagent_end` with the child's events
stamped `ctx`) through the server's own `on_event` sink, and returns `{output, steps, usage, spans}` as
`run_local` does, with run / step / llm / tool spans as the worker records them.

The skills (`SKILLS`): `poster` (image, text and colour inputs; image and text outputs; a subskill), `echo` (the
`puras init` template's shape), `count` (n steps with a live checklist), `wait` (runs `seconds`; nothing can stop
it: `puras serve` has no cancel), `flaky` (fails when asked to), and the worker's states: `budget` (stopped at its
per-run cost limit: `cost_capped`), `gated` (a `confirm: true` tool held for a person: `approval_required` and
`approval_decided` as the hosted API emits them, or a local run's `confirm_requested`) and `resume` (a run resumed
from its checkpoint: `resumed`). The child exits when the parent closes its
stdin, so a crashed test session leaves no server behind.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

KEY = "puras_live_serve_test_key_0123456789"
"""The bearer key the test server requires (`puras serve --require-key`)."""
START_TIMEOUT = 60.0

PURAS_YAML = """\
skillpack_id: 5b0f2a4e-7c1d-4e8a-9a53-2f6d8c1b9e07
slug: studio
title: Studio (test skillpack)
"""

AGENTS_MD = "# Working on a Puras skillpack\n\nTest skills for puras-nb, served by `puras serve`.\n"

SKILLS: dict[str, str] = {
    "poster": """\
title: Poster maker
description: A poster from a photo, a headline and an accent colour.
entrypoint: SKILL.md
input_schema:
  type: object
  required: [photo, headline]
  properties:
    photo:
      type: image
      description: The photo to build the poster around.
    headline:
      type: text
      description: The words on the poster.
    accent:
      type: color
      default: "#ff6600"
      description: Accent colour.
    width:
      type: integer
      minimum: 64
      maximum: 1024
      default: 320
output_schema:
  type: object
  properties:
    poster:
      type: image
      description: The finished poster.
    caption:
      type: text
      description: A caption to post with it.
examples:
  - title: Summer sale
    inputs:
      photo: https://example.com/beach.jpg
      headline: Summer sale, everything must go
      accent: "#1e90ff"
  - title: Launch night
    inputs:
      photo: https://example.com/stage.png
      headline: Launch night
""",
    "echo": """\
title: Echo
description: >
  Says back what it was asked; the shape of the skill `puras init` writes.
entrypoint: SKILL.md
input_schema:
  type: object
  required: [prompt]
  properties:
    prompt:
      type: string
      description: What the user wants, in their words.
output_schema:
  type: object
  properties:
    answer:
      type: text
      description: The skill's result.
examples:
  - title: Try it
    inputs:
      prompt: Introduce yourself in one short paragraph.
""",
    "count": """\
title: Counter
description: Counts to n, one planned step at a time.
entrypoint: SKILL.md
input_schema:
  type: object
  required: [n]
  properties:
    n:
      type: integer
      minimum: 1
      maximum: 50
      default: 3
    delay:
      type: number
      minimum: 0
      maximum: 5
      default: 0.05
      description: Seconds per step.
output_schema:
  type: object
  properties:
    count:
      type: integer
""",
    "wait": """\
title: Waiter
description: Takes its time; nothing stops it early.
entrypoint: SKILL.md
input_schema:
  type: object
  required: [seconds]
  properties:
    seconds:
      type: number
      minimum: 0
      maximum: 600
output_schema:
  type: object
  properties:
    waited:
      type: number
""",
    "flaky": """\
title: Flaky
description: Fails when told to, after one step.
entrypoint: SKILL.md
input_schema:
  type: object
  required: [fail]
  properties:
    fail:
      type: boolean
output_schema:
  type: object
  properties:
    ok:
      type: boolean
""",
    "budget": """\
title: Budget
description: Works step by step until the run's cost limit stops it, as the worker's per-run cap does.
entrypoint: SKILL.md
input_schema:
  type: object
  required: [cap_micros]
  properties:
    cap_micros:
      type: integer
      minimum: 1
      description: The per-run cost limit, in millionths of a dollar (each step costs 4200).
output_schema:
  type: object
  properties:
    steps:
      type: integer
""",
    "gated": """\
title: Gated
description: "Emails a client through a tool marked `confirm: true`, so a person must approve it first."
entrypoint: SKILL.md
input_schema:
  type: object
  required: [gate, decision, hold]
  properties:
    gate:
      type: string
      enum: [approval, confirm]
      description: The hosted API's approval (approval_required) or a local run's console (confirm_requested).
    decision:
      type: string
      enum: [approved, denied]
    hold:
      type: number
      minimum: 0
      maximum: 120
      description: Seconds the run waits for the person.
output_schema:
  type: object
  properties:
    sent:
      type: boolean
""",
    "resume": """\
title: Resume
description: A run a worker resumed from its checkpoint after a restart.
entrypoint: SKILL.md
input_schema:
  type: object
  required: [from_step]
  properties:
    from_step:
      type: integer
      minimum: 1
      maximum: 20
output_schema:
  type: object
  properties:
    resumed_from:
      type: integer
""",
}

SUBSKILL = """\
title: Layout
description: Lays out the poster (private to poster).
entrypoint: SKILL.md
input_schema:
  type: object
  required: [headline]
  properties:
    headline:
      type: text
output_schema:
  type: object
  properties:
    layout:
      type: text
"""


def write_skillpack(root: Path) -> Path:
    """Write the test skillpack into `root` (created), laid out as `puras init` writes one; returns `root`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "puras.yaml").write_text(PURAS_YAML)
    (root / "AGENTS.md").write_text(AGENTS_MD)
    for name, text in SKILLS.items():
        (root / name).mkdir(exist_ok=True)
        (root / name / "skill.yaml").write_text(text)
        (root / name / "SKILL.md").write_text(f"You are the {name} skill. Call set_output once.\n")
    sub = root / "poster" / "subskills" / "layout"
    sub.mkdir(parents=True, exist_ok=True)
    (sub / "skill.yaml").write_text(SUBSKILL)
    (sub / "SKILL.md").write_text("Lay the poster out.\n")
    (root / "lib").mkdir(exist_ok=True)  # a folder without skill.yaml: not a skill
    (root / "lib" / "README.md").write_text("shared helpers\n")
    return root


# -- the deterministic skill runner (runs in the server's process) -------------------------------------------


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG (stdlib only)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * height)) + chunk(
        b"IEND", b"")


def _rgb(colour: str) -> tuple[int, int, int]:
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


class _Run:
    """One run's events, usage and spans, recorded as the worker's agent loop records them."""

    def __init__(self, skill: str, emit: Callable[[str, dict], None]) -> None:
        self.skill, self.emit = skill, emit
        self.steps = 0
        self.input_tokens = self.output_tokens = self.cost = 0
        self.spans: list[dict] = []
        self.run_id = uuid.uuid4().hex[:16]
        self.started = time.monotonic()
        self.trace = str(uuid.uuid4())
        self.ctx: str | None = None

    def event(self, kind: str, payload: dict) -> None:
        self.emit(kind, {**payload, "ctx": self.ctx} if self.ctx else payload)

    def span(self, span_id: str, parent: str | None, kind: str, name: str, started: float, **attributes: Any) -> None:
        self.spans.append({
            "trace_id": self.trace, "span_id": span_id, "parent_span_id": parent, "kind": kind, "name": name,
            "duration_ms": int((time.monotonic() - started) * 1000), "attributes": attributes,
        })

    def step(self, tool: str, label: str, tool_input: dict, seconds: float = 0.0, *, todos: list | None = None,
             ok: bool = True, preview: str = "done", parent: str | None = None) -> None:
        """One agent step: a model call that asks for `tool`, then the tool's run (`seconds` long)."""
        self.steps += 1
        step_id, step_started = uuid.uuid4().hex[:16], time.monotonic()
        llm_id, llm_started = uuid.uuid4().hex[:16], time.monotonic()
        tokens_in, tokens_out, micros = 1200 + 40 * self.steps, 90, 4200
        self.input_tokens, self.output_tokens, self.cost = (
            self.input_tokens + tokens_in, self.output_tokens + tokens_out, self.cost + micros)
        time.sleep(0.01)
        self.span(llm_id, step_id, "llm", "model:claude/haiku-4-5", llm_started, step=self.steps,
                  model="claude/haiku-4-5", stop_reason="tool_use", input_tokens=tokens_in, output_tokens=tokens_out,
                  cache_hit=False)
        self.event("model_response", {
            "step": self.steps, "stop_reason": "tool_use", "input_tokens": tokens_in, "output_tokens": tokens_out,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "upstream_cost_micros": micros,
            "billed_micros": micros, "cache_hit": False,
        })
        use_id = "toolu_" + uuid.uuid4().hex[:20]
        self.event("tool_use", {"name": tool, "input": tool_input, "tool_use_id": use_id, "label": label})
        tool_id, tool_started = uuid.uuid4().hex[:16], time.monotonic()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(min(0.05, max(0.0, end - time.monotonic())))
        result: dict[str, Any] = {"tool_use_id": use_id, "ok": ok, "preview": preview}
        if todos is not None:
            result.update(tool="todo_write", todos=todos)
        self.event("tool_result", result)
        self.span(tool_id, step_id, "tool", f"tool:{tool}", tool_started, tool=tool, tool_use_id=use_id, ok=ok)
        self.span(step_id, parent or self.run_id, "step", f"step {self.steps}", step_started, step=self.steps)

    def finish(self, output: Any) -> dict:
        self.span(self.run_id, None, "run", f"run:{self.skill}", self.started, skill=self.skill, depth=0,
                  model="claude/haiku-4-5")
        return {
            "output": output,
            "steps": self.steps,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                      "cost_micros": self.cost},
            "spans": self.spans,
        }


def _plan(items: list[str], done: int) -> list[dict]:
    return [{"content": text, "status": "completed" if i < done else "in_progress" if i == done else "pending"}
            for i, text in enumerate(items)]


def _poster(run: _Run, inputs: dict) -> dict:
    headline, accent = str(inputs["headline"]), str(inputs.get("accent") or "#ff6600")
    items = ["Read the photo", "Lay out the headline", "Render the poster"]
    run.step("todo_write", "Plan the poster", {"todos": items}, todos=_plan(items, 0))
    run.step("file_read", "Read the photo", {"path": "inputs/photo"}, 0.05)
    sid = "toolu_" + uuid.uuid4().hex[:20]
    run.event("subagent_start", {"label": "layout", "depth": 2, "inproc": True, "sid": sid})  # the run is depth 1
    run.ctx = sid
    run.step("set_output", "Lay out the headline", {"layout": headline.upper()})
    run.ctx = None
    run.event("subagent_end", {"label": "layout", "status": "succeeded", "sid": sid})
    run.step("todo_write", "Update the plan", {"todos": items}, todos=_plan(items, 2))
    width = int(inputs.get("width") or 320)
    image = base64.b64encode(png(max(8, width // 8), max(5, width // 13), _rgb(accent))).decode()
    output = {"poster": f"data:image/png;base64,{image}", "caption": f"{headline} ({accent})"}
    run.step("set_output", "Deliver the poster", output)
    return output


def _count(run: _Run, inputs: dict) -> dict:
    n, delay = int(inputs["n"]), float(inputs.get("delay", 0.05))
    items = [f"Count {i + 1}" for i in range(n)]
    for i in range(n):
        run.step("todo_write", f"Counting {i + 1} of {n}", {"todos": items}, delay, todos=_plan(items, i + 1))
    output = {"count": n}
    run.step("set_output", "Report the count", output)
    return output


def _wait(run: _Run, inputs: dict) -> dict:
    seconds = float(inputs["seconds"])
    run.step("bash", f"Wait {seconds:g} s", {"command": f"sleep {seconds:g}"}, seconds)
    output = {"waited": seconds}
    run.step("set_output", "Report", output)
    return output


def _flaky(run: _Run, inputs: dict) -> dict:
    run.step("bash", "Try the risky part", {"command": "make"}, ok=not inputs["fail"],
             preview="ERROR: exit status 2" if inputs["fail"] else "ok")
    if inputs["fail"]:
        raise RuntimeError("the risky part failed (exit status 2)")
    output = {"ok": True}
    run.step("set_output", "Report", output)
    return output


def _echo(run: _Run, inputs: dict) -> dict:
    output = {"answer": f"You said: {inputs['prompt']}"}
    run.step("set_output", "Answer", output)
    return output


#: The worker's error when a run reaches its per-run cost limit (worker/agent_runner.py).
COST_CAPPED = "This run reached its per-run cost limit and was stopped."


def _budget(run: _Run, inputs: dict) -> dict:
    """Steps until the spend reaches the cap; then, as the worker checks before each step, `cost_capped` and the end."""
    cap = int(inputs["cap_micros"])
    for i in range(20):
        if run.cost >= cap:
            run.event("cost_capped", {"step": run.steps, "spent_micros": run.cost, "cap_micros": cap})
            raise RuntimeError(COST_CAPPED)
        run.step("bash", f"Render scene {i + 1}", {"command": f"render {i + 1}"})
    output = {"steps": run.steps}
    run.step("set_output", "Report", output)
    return output


def _gated(run: _Run, inputs: dict) -> dict:
    """A `confirm: true` tool: its `tool_use`, then the gate the worker puts before it runs (the hosted API's
    `approval_required` and `approval_decided`, or a local run's `confirm_requested`), held `hold` s."""
    tool_input = {"to": "client@example.com", "subject": "Your poster is ready"}
    use_id = "toolu_" + uuid.uuid4().hex[:20]
    run.steps += 1
    run.event("tool_use", {"name": "send_email", "input": tool_input, "tool_use_id": use_id,
                           "label": "Email the client"})
    approval_id = str(uuid.uuid4())
    if inputs["gate"] == "approval":
        run.event("approval_required", {"approval_id": approval_id, "tool": "send_email", "input": tool_input})
    else:
        run.event("confirm_requested", {"tool": "send_email", "input": tool_input})
    time.sleep(float(inputs["hold"]))
    approved = inputs["decision"] == "approved"
    if inputs["gate"] == "approval":
        run.event("approval_decided", {"approval_id": approval_id, "decision": inputs["decision"],
                                       "reason": None if approved else "not this client"})
    preview = "sent" if approved else "ERROR: the `send_email` action needs human approval and was denied"
    run.event("tool_result", {"tool_use_id": use_id, "ok": approved, "preview": preview})
    output = {"sent": approved}
    run.step("set_output", "Report", output)
    return output


def _resume(run: _Run, inputs: dict) -> dict:
    """A run picked up again from its checkpoint: `resumed`, then the steps from there on."""
    start = int(inputs["from_step"])
    run.event("resumed", {"from_step": start})
    run.steps = start - 1
    run.step("bash", f"Render scene {start}", {"command": f"render {start}"})
    output = {"resumed_from": start}
    run.step("set_output", "Report", output)
    return output


RUNNERS: dict[str, Callable[[_Run, dict], dict]] = {
    "poster": _poster, "count": _count, "wait": _wait, "flaky": _flaky, "echo": _echo, "budget": _budget,
    "gated": _gated, "resume": _resume,
}


def run_skill(
    skill_dir: str | Path,
    inputs: dict,
    *,
    skill: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    drive_path: str | None = None,
    on_event: Callable[[str, dict], None] | None = None,
) -> dict[str, Any]:
    """`worker.local_run.run_local`'s stand-in: the same signature, bundle checks, errors and return shape; the
    skill's work is `RUNNERS[name]`, deterministic. Inputs are validated against the skill's translated schema
    (the worker's own `to_jsonschema`), so a bad input fails the job as the hosted API's check would refuse it."""
    from jsonschema import Draft202012Validator
    from worker.local_run import LocalRunError
    from worker.manifest import ManifestError, parse_bundle_dir
    from worker.schema_dialect import to_jsonschema

    try:
        manifest = parse_bundle_dir(Path(skill_dir))
    except ManifestError as exc:
        raise LocalRunError(f"invalid bundle: {exc}") from exc
    top = {s.name: s for s in manifest.skills if s.parent_skill is None}
    if skill not in top:
        raise LocalRunError(f"skill `{skill}` not found in bundle. available: {', '.join(top) or '(none)'}")
    errors = sorted(Draft202012Validator(to_jsonschema(top[skill].input_schema)).iter_errors(inputs), key=str)
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "inputs"
        raise LocalRunError(f"invalid inputs: {where}: {errors[0].message}")
    run = _Run(skill, on_event or (lambda kind, payload: None))
    run.event("agent_start", {
        "provider": "claude", "model": "haiku-4-5", "tool_count": 6, "skill": skill, "deployment_id": None,
        "workdir": f"/tmp/puras-local/jobs/{uuid.uuid4()}", "bash_enabled": True, "has_output_schema": True,
        "attachments": [], "resumed": skill == "resume",
    })
    return run.finish(RUNNERS[skill](run, inputs))


# -- the parent's handle -----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PurasServe:
    """A running `puras serve` child: `.url`, `.api_key`, `.bundle_dir`, `.log` (its output); `.stop()`."""

    def __init__(self, process: subprocess.Popen, url: str, bundle_dir: Path, log: Path) -> None:
        self.process, self.url, self.bundle_dir, self.log = process, url, bundle_dir, log
        self.api_key = KEY

    @classmethod
    def start(cls, workdir: Path) -> PurasServe:
        """Write the skillpack under `workdir` and start the server on a free loopback port (a few tries: the
        port is chosen before the child binds it)."""
        bundle = write_skillpack(workdir / "studio")
        env = {**os.environ, "ANTHROPIC_API_KEY": "", "TMPDIR": str(workdir), "PYTHONUNBUFFERED": "1"}
        for _ in range(3):
            port = _free_port()
            log = workdir / f"puras-serve-{port}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, __file__, str(bundle), str(port)], stdin=subprocess.PIPE, stdout=out,
                    stderr=subprocess.STDOUT, env=env, cwd=workdir,
                )
            server = cls(process, f"http://127.0.0.1:{port}", bundle, log)
            if server.wait_ready():
                return server
            server.stop()
        raise RuntimeError(f"puras serve did not start: {log.read_text()[-2000:]}")

    def wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=2).json().get("service") == "puras-local":
                    return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> PurasServe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _serve(bundle: str, port: str) -> int:
    """The child: replace the skill runner, then run the official CLI's `puras serve`."""
    # jsonschema loads its optional IRI format checker when rfc3987_syntax is installed (Jupyter pulls it in),
    # compiling an Earley grammar: 1.5 s of CPU, 14 s of a loaded machine's wall, at each start. Neither
    # puras-runner nor run_skill checks formats, so the server's process goes without it (as the emulator does).
    from puras_nb.local.entry import skip_iri_format_checker

    skip_iri_format_checker()
    import jsonschema  # noqa: F401  (imported before serving: the first job does not pay for it)
    import worker.local_run
    import worker.manifest
    import worker.schema_dialect
    from puras.cli import main

    def watch_parent() -> None:
        sys.stdin.read()  # EOF: the parent closed our stdin (or died)
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    worker.local_run.run_local = run_skill  # the server looks it up by attribute at each run
    return main(["serve", "--dir", bundle, "--host", "127.0.0.1", "--port", port, "--require-key", KEY,
                 "--api-key", "not-used-the-runner-is-replaced"])


if __name__ == "__main__":
    sys.exit(_serve(sys.argv[1], sys.argv[2]))
