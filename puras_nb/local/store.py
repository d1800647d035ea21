"""The emulator's job store: jobs, events, feedback and produced files, bounded, and kept on disk.

Jobs run in a bounded thread pool. Jobs and their feedback are held in memory and written through to the
server's database (`persist.Database`); events live only in the database. Files are written under a temporary
name and renamed once complete, so a killed server leaves no partial file behind. After a restart on the same
data directory every job answers again: one that was queued or running when the server died ends as failed,
saying so, and files no job owns are swept away.

What is kept is bounded by evicting the oldest *finished* jobs (with their events, feedback and files) once more
than `max_finished` are held, their files exceed `max_file_bytes`, or their inputs, results and events (as JSON)
exceed `max_json_bytes`; queued and running jobs are never evicted. A job keeps at most `max_events` events
(and `max_event_bytes` of them); past that one last event says the rest were dropped.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import os
import re
import shutil
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..mime import decode_data_url
from .persist import Database
from .signing import Signer
from .skills import JobCancelled, RunContext, Skill, SkillFailed, SkillPack, json_problem

__all__ = [
    "DEFAULT_MAX_EVENTS",
    "DEFAULT_MAX_EVENT_BYTES",
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_MAX_FINISHED",
    "DEFAULT_MAX_JSON_BYTES",
    "DEFAULT_WORKERS",
    "TERMINAL",
    "JobStateError",
    "JobStore",
]

TERMINAL = ("succeeded", "failed", "cancelled")
DEFAULT_MAX_FINISHED = 1000
"""Finished jobs kept before the oldest are evicted (with their files)."""
DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024
"""Bytes of produced files kept before the oldest finished jobs are evicted."""
DEFAULT_MAX_JSON_BYTES = 256 * 1024 * 1024
"""Bytes of job inputs, results and events (JSON) kept before the oldest finished jobs are evicted."""
DEFAULT_MAX_EVENTS = 20_000
"""Events one job keeps; past that (or `DEFAULT_MAX_EVENT_BYTES`), one last event says the rest were dropped."""
DEFAULT_MAX_EVENT_BYTES = 32 * 1024 * 1024
"""Bytes of events (as JSON) one job keeps."""
DEFAULT_WORKERS = 256
"""Skill threads: most demo skills sleep (count, slow, hang), so many concurrent jobs need many threads."""
LOCAL_WORKSPACE_ID = "00000000-0000-0000-0000-000000000000"
MAX_READ_BYTES = 64 * 1024 * 1024
"""Largest file a skill reads from a file input."""
PARTIAL_SUFFIX = ".part"
"""The suffix of a file being written; it is renamed once complete (a leftover one is swept at start)."""
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_COST_KEY = "cost_micros_total"


def _json_size(value: Any) -> int:
    """Approximate memory weight of a JSON-able value (its compact JSON length)."""
    try:
        return len(json.dumps(value, separators=(",", ":"), default=str))
    except (TypeError, ValueError):
        return 0


def _text(text: str) -> str:
    """`text` as valid Unicode (a skill's error message may carry lone surrogates)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class JobStateError(Exception):
    """An action that the job's status does not allow (answered as 409)."""


def now_iso() -> str:
    """Now as ISO-8601 UTC with an explicit offset (`...+00:00`, as the official server; parseable on 3.10)."""
    return datetime.now(timezone.utc).isoformat()


@dataclass
class _Entry:
    job: dict
    base_url: str
    skill: Skill | None = None  # None for a job read back from disk: it never runs here again
    run_inputs: dict = field(default_factory=dict)
    files: list[tuple[str, int]] = field(default_factory=list)
    json_bytes: int = 0
    events: int = 0
    event_bytes: int = 0
    dropped: int = 0
    feedback: dict[str, dict] = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)
    waiters: list[Callable[[], None]] = field(default_factory=list)


class JobStore:
    """Thread-safe jobs + events + files; runs skills on a bounded pool and wakes waiters on completion.

    Events always go to the database `db`. With `durable` (a data directory) jobs, feedback, files and the cost
    total are written through too, so `restore` takes them back after a restart; without, nothing outlives
    the server and those writes are skipped."""

    def __init__(
        self,
        files_dir: Path,
        signer: Signer,
        db: Database,
        *,
        workers: int = DEFAULT_WORKERS,
        max_finished: int = DEFAULT_MAX_FINISHED,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        max_json_bytes: int = DEFAULT_MAX_JSON_BYTES,
        max_events: int = DEFAULT_MAX_EVENTS,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        durable: bool = True,
    ):
        self.files_dir = Path(files_dir)
        self.signer = signer
        self.db = db
        self.durable = durable
        self.max_finished = max_finished
        self.max_file_bytes = max_file_bytes
        self.max_json_bytes = max_json_bytes
        self.max_events = max_events
        self.max_event_bytes = max_event_bytes
        self._json_bytes = 0
        self.jobs_created = 0
        self.cost_micros_total = int(db.meta(_COST_KEY) or 0)
        self._lock = threading.RLock()
        self._jobs: OrderedDict[str, _Entry] = OrderedDict()
        self._file_bytes = 0
        self._closed = False
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="puras-skill")

    # ── start: what the data directory holds ────────────────────────────────
    def restore(self) -> None:
        """Take back every job the database holds: a job that was queued or running ends as failed (the server
        restarted under it), files whose job is gone and partial files are deleted, and the limits apply."""
        with self._lock:
            for saved in self.db.load():
                job = saved.job
                kept = [(path, size) for path, size in saved.files if (self.files_dir / path).is_file()]
                for path, _ in set(saved.files) - set(kept):
                    self.db.drop_file(path)
                entry = _Entry(
                    job=job,
                    base_url=saved.base_url,
                    files=kept,
                    feedback=saved.feedback,
                    events=saved.events,
                    event_bytes=saved.event_bytes,
                    json_bytes=_json_size(job.get("inputs")) + saved.event_bytes
                    + (_json_size(job.get("result")) if job.get("status") == "succeeded" else 0),
                )
                self._jobs[job["id"]] = entry
                self._json_bytes += entry.json_bytes
                self._file_bytes += sum(size for _, size in kept)
                if job.get("status") not in TERMINAL:
                    self._interrupt(entry, f"the server restarted while this job was {job.get('status')}")
            self._sweep()
            self._evict()

    def _sweep(self) -> None:
        """Delete what no held job owns under the files directory: other jobs' folders, unrecorded and partial
        files, and every job's leftover temporary files (caller holds the lock)."""
        shutil.rmtree(self.files_dir / "tmp", ignore_errors=True)
        owned = {path for entry in self._jobs.values() for path, _ in entry.files}
        jobs_dir = self.files_dir / "jobs"
        for folder in jobs_dir.iterdir() if jobs_dir.is_dir() else ():
            if folder.name not in self._jobs or not folder.is_dir():
                _remove(folder)
                continue
            for path in folder.iterdir():
                if f"jobs/{folder.name}/{path.name}" not in owned:
                    _remove(path)

    def _interrupt(self, entry: _Entry, why: str) -> None:
        """End a job that can no longer run as failed, saying why (caller holds the lock)."""
        error = f"{why}; it did not finish (replay it to run it again)"
        self._emit(entry, "error", {"message": error}, final=True)
        entry.job.update(status="failed", error=error, finished_at=now_iso())
        self._save_job(entry)

    # ── creation and running ────────────────────────────────────────────────
    def create(
        self,
        pack: SkillPack,
        skill: Skill,
        version: int,
        inputs: dict,
        run_inputs: dict,
        *,
        base_url: str,
        parent_job_id: str | None = None,
    ) -> dict:
        """Queue a job for `skill` (already resolved and validated) and return a copy of it."""
        job_id = str(uuid.uuid4())
        job = {
            "id": job_id,
            "workspace_id": LOCAL_WORKSPACE_ID,
            "skillpack_id": pack.id,
            "deployment_id": pack.deployment_id(version),
            "parent_job_id": parent_job_id,
            "type": "deterministic",
            "skill_name": skill.name,
            "status": "queued",
            "inputs": inputs,
            "result": None,
            "error": None,
            "outputs": None,
            "cost_micros": 0,
            "steps": None,
            "usage": None,
            "created_at": now_iso(),
            "started_at": None,
            "finished_at": None,
            "version": version,
            "skillpack": pack.path,
        }
        entry = _Entry(job=job, skill=skill, run_inputs=run_inputs, base_url=base_url, json_bytes=_json_size(inputs))
        with self._lock:
            self._json_bytes += entry.json_bytes
            self._jobs[job_id] = entry
            self.jobs_created += 1
            self._save_job(entry)
            snapshot = self._snapshot(entry)
        self._pool.submit(self._run, entry)
        return snapshot

    def _run(self, entry: _Entry) -> None:
        job, skill = entry.job, entry.skill
        assert skill is not None, "only a job created by this server runs"
        with self._lock:
            if job["status"] != "queued" or entry.cancel.is_set():
                return
            job.update(status="running", started_at=now_iso())
            self._save_job(entry)
        self._emit(
            entry, "agent_start", {"message": f"running {job['skillpack']}/{job['skill_name']} v{job['version']}"}
        )
        ctx = RunContext(
            job["id"],
            job["version"],
            emit=lambda type_, payload: self._emit(entry, type_, payload),
            save=lambda name, data, mime: self._save(entry, name, data, mime),
            cancel_event=entry.cancel,
            read=self.read_file,
            temp_dir=lambda: self._temp_dir(entry),
        )
        try:
            result = skill.fn(ctx, entry.run_inputs)
        except JobCancelled:
            self._finish(entry, ctx, "cancelled")
        except SkillFailed as exc:
            self._finish(entry, ctx, "failed", error=str(exc))
        except Exception as exc:
            self._finish(entry, ctx, "failed", error=f"{type(exc).__name__}: {exc}")
        else:
            problem = json_problem(result)
            if problem:
                self._finish(entry, ctx, "failed", error=f"the skill returned a result that {problem}")
                return
            try:
                kept = skill.check_result(result)
            except ValueError as exc:  # SchemaError: the result does not fit; else the output schema is wrong
                self._finish(entry, ctx, "failed", error=str(exc))
                return
            self._finish(entry, ctx, "cancelled" if entry.cancel.is_set() else "succeeded", result=kept)
        finally:
            shutil.rmtree(self.files_dir / "tmp" / job["id"], ignore_errors=True)

    def _finish(
        self, entry: _Entry, ctx: RunContext | None, status: str, *, result: Any = None, error: str = ""
    ) -> None:
        result_size = _json_size(result) if status == "succeeded" else 0
        with self._lock:
            if entry.job["status"] in TERMINAL:
                return
            if status == "failed":
                self._emit(entry, "error", {"message": _text(error)}, final=True)
            elif status == "cancelled":
                self._emit(entry, "cancelled", {"message": "job cancelled"}, final=True)
            fields: dict[str, Any] = {"status": status, "finished_at": now_iso()}
            if status == "succeeded":
                fields["result"] = result
                entry.json_bytes += result_size
                self._json_bytes += result_size
            if status == "failed":
                fields["error"] = _text(error)
            if ctx is not None:
                spent = {"cost_micros": ctx.cost_micros, "usage": dict(ctx.usage), "steps": ctx.steps}
                fields.update(spent if json_problem(spent) is None else {"cost_micros": 0, "usage": {}, "steps": 0})
                self.cost_micros_total += fields["cost_micros"]
                if fields["cost_micros"] and self._writes:
                    self.db.set_meta(_COST_KEY, str(self.cost_micros_total))
            entry.job.update(fields)
            self._save_job(entry)
            waiters, entry.waiters = entry.waiters, []
            self._evict()
        for wake in waiters:
            wake()

    def _emit(self, entry: _Entry, type_: str, payload: dict, *, final: bool = False) -> None:
        """Append an event; a payload that could not be answered as JSON raises (failing the skill that sent it).
        Past the job's event limits one `events_dropped` event says so and later ones are dropped, except the
        `final` events that end a job."""
        payload = dict(payload)
        problem = json_problem([type_, payload])
        if problem or not isinstance(type_, str):
            raise ValueError(f"an event (type and payload) {problem or 'needs a string type'}")
        with self._lock:
            if not final and (entry.dropped or entry.events >= self.max_events
                              or entry.event_bytes >= self.max_event_bytes):
                entry.dropped += 1
                if entry.dropped == 1:
                    limit = f"{self.max_events} events or {self.max_event_bytes // 2**20} MB of them"
                    message = f"this job sent more events than the emulator keeps ({limit}): the rest are dropped"
                    self._append(entry, "events_dropped", {"message": message, "max_events": self.max_events})
                return
            self._append(entry, type_, payload)

    def _append(self, entry: _Entry, type_: str, payload: dict) -> None:
        """Store the job's next event (caller holds the lock)."""
        if self._closed:
            return
        number = entry.events + 1
        event = {"id": number, "job_id": entry.job["id"], "ts": now_iso(), "type": type_, "payload": payload}
        body = json.dumps(event, separators=(",", ":"))
        self.db.add_event(entry.job["id"], number, body)
        entry.events = number
        entry.event_bytes += len(body)
        entry.json_bytes += len(body)
        self._json_bytes += len(body)

    @property
    def _writes(self) -> bool:
        """Whether jobs, feedback and files are written through (durable, and not closed; under the lock)."""
        return self.durable and not self._closed

    def _save_job(self, entry: _Entry) -> None:
        """Write the job through to the database (caller holds the lock)."""
        if self._writes:
            self.db.save_job(entry.job, entry.base_url)

    def _temp_dir(self, entry: _Entry) -> Path:
        """The job's folder for temporary files, removed when it ends (and swept at start)."""
        folder = self.files_dir / "tmp" / entry.job["id"]
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _save(self, entry: _Entry, name: str, data: bytes, mime: str) -> dict:
        if not isinstance(mime, str) or json_problem(mime):
            raise ValueError("a saved file's mime type must be a string such as 'image/png'")
        safe = _SAFE_NAME.sub("-", name).strip(".-") or "file"
        job_id = entry.job["id"]
        drive_path = f"jobs/{job_id}/{safe}"
        target = self.files_dir / "jobs" / job_id / safe
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{safe}.{uuid.uuid4().hex[:12]}{PARTIAL_SUFFIX}")
        try:
            partial.write_bytes(data)
            os.replace(partial, target)  # complete or absent: a kill mid-write leaves only the .part, swept at start
        finally:
            partial.unlink(missing_ok=True)
        url = self.signer.url(entry.base_url, drive_path)
        output = {"name": safe, "drive_path": drive_path, "size_bytes": len(data), "mime": mime, "url": url}
        with self._lock:
            replaced = sum(size for path, size in entry.files if path == drive_path)
            entry.files = [f for f in entry.files if f[0] != drive_path] + [(drive_path, len(data))]
            self._file_bytes += len(data) - replaced
            outputs = [o for o in entry.job["outputs"] or [] if o["drive_path"] != drive_path]
            entry.job["outputs"] = [*outputs, output]
            if self._writes:
                self.db.add_file(job_id, drive_path, len(data))
            self._save_job(entry)
        return {"url": url, "mime": mime, "drive_path": drive_path, "name": safe, "size_bytes": len(data)}

    def _evict(self) -> None:
        """Drop the oldest finished jobs past the limits, from memory, the database and the disk (caller holds
        the lock)."""
        finished = [jid for jid, e in self._jobs.items() if e.job["status"] in TERMINAL]
        while finished and (
            len(finished) > self.max_finished
            or self._file_bytes > self.max_file_bytes
            or self._json_bytes > self.max_json_bytes
        ):
            entry = self._jobs.pop(finished.pop(0))
            self._file_bytes -= sum(size for _, size in entry.files)
            self._json_bytes -= entry.json_bytes
            if not self._closed:
                self.db.drop_job(entry.job["id"])
            shutil.rmtree(self.files_dir / "jobs" / entry.job["id"], ignore_errors=True)

    # ── reads ───────────────────────────────────────────────────────────────
    def _snapshot(self, entry: _Entry) -> dict:
        job = dict(entry.job)
        if job["outputs"]:
            job["outputs"] = [dict(o) for o in job["outputs"]]
        return job

    def get(self, job_id: str) -> dict | None:
        """A copy of one job, or None when unknown or evicted."""
        with self._lock:
            entry = self._jobs.get(job_id)
            return self._snapshot(entry) if entry else None

    def list(self, *, status: str | None = None, skill: str | None = None, limit: int | None = None) -> list[dict]:
        """Jobs newest first, optionally filtered by status and skill name."""
        out: list[dict] = []
        with self._lock:
            for entry in reversed(self._jobs.values()):
                if status and entry.job["status"] != status:
                    continue
                if skill and entry.job["skill_name"] != skill:
                    continue
                if limit is not None and len(out) >= limit:
                    break
                out.append(self._snapshot(entry))
        return out

    def events(self, job_id: str, after: int = 0) -> builtins.list[dict] | None:  # `list` is a method here
        """The job's events with id > `after`, or None when the job is unknown."""
        with self._lock:
            if job_id not in self._jobs or self._closed:
                return None
            return self.db.events(job_id, max(after, 0))

    def file_path(self, drive_path: str) -> Path | None:
        """The on-disk path of a held file, or None (unknown, evicted or outside the store)."""
        parts = drive_path.split("/")
        if len(parts) != 3 or parts[0] != "jobs":
            return None
        with self._lock:
            entry = self._jobs.get(parts[1])
            if entry is None or not any(p == drive_path for p, _ in entry.files):
                return None
        return self.files_dir / drive_path

    def read_file(self, ref: Any) -> bytes:
        """The bytes of a file reference as a skill gets it (see `RunContext.read_file`); ValueError saying what
        to pass instead when it names nothing this server holds or decodes."""
        if isinstance(ref, dict):
            key = next((k for k in ("data", "base64", "drive_path", "url") if isinstance(ref.get(k), str)), None)
            if key is None:
                raise ValueError("a file object needs one of drive_path, url, data or base64")
            value = ref[key]
            if key == "base64" or (key == "data" and not value.startswith("data:")):
                value = f"data:application/octet-stream;base64,{value}"
        elif isinstance(ref, str) and ref:
            value = ref
        else:
            raise ValueError("a file reference is a URL, a drive path, a data URL or an object with one of them")
        if value.startswith("data:"):
            data = decode_data_url(value, MAX_READ_BYTES)
            if data is None:
                raise ValueError(f"not a base64 or percent-encoded data URL of at most {MAX_READ_BYTES} bytes")
            return data
        drive_path = value
        split = urlsplit(value)
        if split.scheme in ("http", "https"):
            # A signed URL of this server (under whatever host name it was reached by) is read from disk.
            query = parse_qs(split.query)
            drive_path = unquote(split.path[len("/files/") :])
            signed = split.path.startswith("/files/") and not self.signer.check(
                drive_path, next(iter(query.get("exp", [])), None), next(iter(query.get("sig", [])), None)
            )
            if not signed:
                raise ValueError(
                    "the emulator works offline and fetches no URL; pass a data URL (a file picked in a form), "
                    "or the url or drive_path of a file this emulator made"
                )
        path = self.file_path(drive_path)
        if path is None or not path.is_file():
            raise ValueError(f"no file {drive_path!r} here (a drive path names a file a job made; it may be evicted)")
        if path.stat().st_size > MAX_READ_BYTES:
            raise ValueError(f"{drive_path} is larger than {MAX_READ_BYTES} bytes")
        return path.read_bytes()

    def counts(self) -> dict[str, int]:
        """Held jobs and the bytes of their files and JSON (inputs, results, events), for `/health`."""
        with self._lock:
            return {"jobs": len(self._jobs), "file_bytes": self._file_bytes, "json_bytes": self._json_bytes}

    # ── actions ─────────────────────────────────────────────────────────────
    def cancel(self, job_id: str) -> dict | None:
        """Ask a job to stop: a queued job is cancelled at once, a running one at its next step."""
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None:
                return None
            status = entry.job["status"]
            if status in TERMINAL:
                raise JobStateError(f"job {job_id} is already {status}; only queued or running jobs can be cancelled")
            entry.cancel.set()
            queued = status == "queued"
        if queued:
            self._finish(entry, None, "cancelled")
        return self.get(job_id)

    def feedback(self, job_id: str, rating: int, comment: str | None, end_user_id: str | None) -> dict | None:
        """Store feedback, one row per (job, end user); posting again overwrites it in place."""
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None:
                return None
            key = end_user_id or ""
            row = entry.feedback.get(key)
            if row is None:
                row = {"id": str(uuid.uuid4()), "job_id": job_id, "created_at": now_iso()}
                entry.feedback[key] = row
            row.update(rating=rating, comment=comment, end_user_id=end_user_id, updated_at=now_iso())
            if self._writes:
                self.db.save_feedback(job_id, key, row)
            return dict(row)

    async def wait(self, job_id: str, timeout: float) -> None:
        """Return once the job is finished or `timeout` seconds pass; woken by completion, not polling."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def resolve() -> None:
            if not done.done():
                done.set_result(None)

        def wake() -> None:
            loop.call_soon_threadsafe(resolve)

        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None or entry.job["status"] in TERMINAL:
                return
            entry.waiters.append(wake)
        try:
            await asyncio.wait_for(done, timeout)
        except asyncio.TimeoutError:
            with self._lock:
                if wake in entry.waiters:
                    entry.waiters.remove(wake)

    def shutdown(self) -> None:
        """Stop: every unfinished job is cancelled and recorded as failed (the server stopped under it), the pool
        stops without waiting for stragglers, and nothing more is written."""
        with self._lock:
            for entry in self._jobs.values():
                entry.cancel.set()
                if entry.job["status"] not in TERMINAL:
                    self._interrupt(entry, f"the server stopped while this job was {entry.job['status']}")
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)


def _remove(path: Path) -> None:
    """Delete a file or a folder, whatever is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
