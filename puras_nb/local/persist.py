"""What the emulator keeps on disk: one sqlite database (stdlib `sqlite3`, WAL) beside its files.

With `--data-dir` it holds every job, its events, its feedback and the files it made, the URL-signing secret
and a few counters, so a server restarted there answers for every job it held, and its signed URLs stay valid.
Events live only here (never in memory), so a job's events cost the server no memory. Without `--data-dir` the
database holds just the events, in the server's temporary directory, and goes with it.

Jobs, feedback, files and settings commit at once (in WAL mode with `synchronous=NORMAL`: no fsync per write).
Events are committed in groups, at most `EVENT_GROUP` or `EVENT_GROUP_SECONDS` apart (and with the next other
write, such as the job's end), which makes them five times cheaper: a SIGKILL can lose only the last moments
of events of a job that was running, which then ends as failed anyway. One connection serves every thread (and
sees its own pending writes), behind a lock.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = [
    "DB_NAME",
    "EVENT_GROUP",
    "EVENT_GROUP_SECONDS",
    "SCHEMA_VERSION",
    "DataDirError",
    "Database",
    "Saved",
    "lock_dir",
    "sweep_abandoned",
]

DB_NAME = "puras-nb-local.sqlite3"
"""The database's file name in the data directory."""
SCHEMA_VERSION = 1
"""`PRAGMA user_version` of the tables below; a database written by another version is refused, not guessed at."""
EVENT_GROUP = 256
"""Events written before a commit at most."""
EVENT_GROUP_SECONDS = 0.05
"""Seconds an event waits for its commit at most."""
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, body TEXT NOT NULL,
                                 base_url TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (job_id TEXT NOT NULL, n INTEGER NOT NULL, body TEXT NOT NULL,
                                   PRIMARY KEY (job_id, n)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feedback (job_id TEXT NOT NULL, user_key TEXT NOT NULL, body TEXT NOT NULL,
                                     PRIMARY KEY (job_id, user_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files (drive_path TEXT PRIMARY KEY, job_id TEXT NOT NULL, size INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS files_by_job ON files (job_id);
"""


class DataDirError(RuntimeError):
    """A data directory the server cannot use: another server holds it, or it was written by another version."""


@dataclass
class Saved:
    """One job as it was saved: the job, the base URL its files were signed for, its feedback, its files, and
    how many events it has and their size in bytes."""

    job: dict
    base_url: str
    feedback: dict[str, dict] = field(default_factory=dict)
    files: list[tuple[str, int]] = field(default_factory=list)
    events: int = 0
    event_bytes: int = 0


class Database:
    """The emulator's sqlite database at `path` (created when missing; its directory must exist). A database that
    is not `durable` (a temporary one) is never synced to disk."""

    def __init__(self, path: Path, *, durable: bool = True) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        fresh = not self.path.exists()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if fresh:
            os.chmod(self.path, 0o600)  # inputs, results and the signing secret: for this user only
        try:
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise DataDirError(
                    f"{self.path} was written by another version of puras-nb (schema {version}, this one reads "
                    f"{SCHEMA_VERSION}): use another --data-dir"
                )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={'NORMAL' if durable else 'OFF'}")
            self._conn.executescript(_TABLES)
            self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise DataDirError(f"{self.path} is not a puras-nb database ({exc}): use another --data-dir") from None
        except DataDirError:
            self._conn.close()
            raise
        self._pending = 0
        self._opened = 0.0
        self._stop = threading.Event()
        threading.Thread(target=self._flush_loop, name="puras-nb-db-flush", daemon=True).start()

    def _run(self, sql: str, args: tuple = ()) -> None:
        """Execute one write and commit it, with any events still pending."""
        with self._lock:
            self._conn.execute(sql, args)
            self._commit()

    def _commit(self) -> None:
        """Commit what is pending (caller holds the lock)."""
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")
        self._pending = 0

    def _flush_loop(self) -> None:
        """Commit pending events that waited `EVENT_GROUP_SECONDS`, until the database is closed."""
        while not self._stop.wait(EVENT_GROUP_SECONDS):
            with self._lock:
                if self._pending and not self._stop.is_set():
                    self._commit()

    # ── meta ─────────────────────────────────────────────────────────────────
    def meta(self, key: str) -> str | None:
        """A stored setting, or None."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting."""
        self._run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                  (key, value))

    def secret(self) -> bytes:
        """The URL-signing secret: made once, then the same for every server on this database."""
        stored = self.meta("signing_secret")
        if stored is None:
            stored = secrets.token_hex(32)
            self.set_meta("signing_secret", stored)
        return bytes.fromhex(stored)

    # ── jobs ─────────────────────────────────────────────────────────────────
    def save_job(self, job: dict, base_url: str) -> None:
        """Insert or update a job (its creation order is kept)."""
        self._run(
            "INSERT INTO jobs (id, body, base_url) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            (job["id"], json.dumps(job, separators=(",", ":")), base_url),
        )

    def drop_job(self, job_id: str) -> None:
        """Forget a job with its events, feedback and file records (its files are the caller's to delete)."""
        with self._lock:
            for table in ("jobs WHERE id", "events WHERE job_id", "feedback WHERE job_id", "files WHERE job_id"):
                self._conn.execute(f"DELETE FROM {table} = ?", (job_id,))
            self._commit()

    def load(self) -> Iterator[Saved]:
        """Every saved job, oldest first, with its feedback, files and event count."""
        with self._lock:
            jobs = self._conn.execute("SELECT body, base_url FROM jobs ORDER BY seq").fetchall()
            feedback = self._conn.execute("SELECT job_id, user_key, body FROM feedback").fetchall()
            files = self._conn.execute("SELECT job_id, drive_path, size FROM files ORDER BY rowid").fetchall()
            counts = self._conn.execute(
                "SELECT job_id, COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM events GROUP BY job_id"
            ).fetchall()
        saved = {job["id"]: Saved(job, base_url) for job, base_url in ((json.loads(b), u) for b, u in jobs)}
        for job_id, key, body in feedback:
            if job_id in saved:
                saved[job_id].feedback[key] = json.loads(body)
        for job_id, path, size in files:
            if job_id in saved:
                saved[job_id].files.append((path, size))
        for job_id, count, size in counts:
            if job_id in saved:
                saved[job_id].events, saved[job_id].event_bytes = count, size
        yield from saved.values()

    # ── events, feedback, files ─────────────────────────────────────────────
    def add_event(self, job_id: str, n: int, body: str) -> None:
        """Append event `n` of a job (its JSON text), committed with its group."""
        with self._lock:
            if not self._conn.in_transaction:
                self._conn.execute("BEGIN")
                self._opened = time.monotonic()
            self._conn.execute("INSERT OR REPLACE INTO events (job_id, n, body) VALUES (?, ?, ?)", (job_id, n, body))
            self._pending += 1
            if self._pending >= EVENT_GROUP or time.monotonic() - self._opened >= EVENT_GROUP_SECONDS:
                self._commit()

    def events(self, job_id: str, after: int) -> list[dict]:
        """A job's events with number > `after`, in order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT body FROM events WHERE job_id = ? AND n > ? ORDER BY n", (job_id, after)
            ).fetchall()
        return [json.loads(body) for (body,) in rows]

    def save_feedback(self, job_id: str, key: str, row: dict) -> None:
        """Insert or replace one (job, end user) feedback row."""
        self._run("INSERT OR REPLACE INTO feedback (job_id, user_key, body) VALUES (?, ?, ?)",
                  (job_id, key, json.dumps(row)))

    def add_file(self, job_id: str, drive_path: str, size: int) -> None:
        """Record a file a job made (after it is complete on disk)."""
        self._run("INSERT OR REPLACE INTO files (drive_path, job_id, size) VALUES (?, ?, ?)",
                  (drive_path, job_id, size))

    def drop_file(self, drive_path: str) -> None:
        """Forget a file record (its file is gone)."""
        self._run("DELETE FROM files WHERE drive_path = ?", (drive_path,))

    def close(self) -> None:
        """Commit what is pending and close the connection (the WAL is folded back into the database file)."""
        self._stop.set()
        with self._lock:
            self._commit()
            self._conn.close()

    def __repr__(self) -> str:
        return f"<puras_nb.local.persist.Database {self.path}>"



def lock_dir(directory: Path) -> IO[str]:
    """Hold `directory` for this process (an exclusive lock on its `.lock` file, released when the process ends,
    even by SIGKILL); DataDirError naming the holder when another server holds it. Keep the handle open."""
    handle = open(directory / ".lock", "a+")  # noqa: SIM115 (held for the server's life)
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        who = f" (pid {holder})" if holder.isdigit() else ""
        raise DataDirError(f"{directory} is in use by another puras-nb emulator{who}: stop it or use another "
                           "--data-dir") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def sweep_abandoned(prefix: str, min_age: float = 60.0) -> None:
    """Delete the temporary folders (named `prefix*` in the system's temporary directory) that servers killed
    without cleaning up left behind: a folder is abandoned when nobody holds its lock. Folders younger than
    `min_age` seconds are left alone (a starting server has made its folder but not locked it yet)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            if not folder.is_dir() or folder.is_symlink() or time.time() - folder.stat().st_mtime < min_age:
                continue
            if not (folder / ".lock").is_file():
                continue
            handle = lock_dir(folder)
        except (OSError, DataDirError):
            continue
        handle.close()
        shutil.rmtree(folder, ignore_errors=True)
