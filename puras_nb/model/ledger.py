"""The batch ledger: which row of which skill ran as which job, kept in stdlib sqlite3 so re-runs reuse them.

A row is keyed by the API host, skillpack, skill, version and a canonical hash of its inputs; it records
the job id, status and cost. Before a batch submits a row it claims it in one short `BEGIN IMMEDIATE`
transaction, so two kernels sharing the ledger never both submit it; the claim becomes the job id once the
server answered. WAL lets readers run beside the one writer. A ledger that cannot be opened or written
(corrupt, locked past the timeout, read-only) says so in one line and the batch runs on without reuse:
jobs are never lost over it.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

__all__ = ["Claim", "Key", "Ledger", "inputs_hash", "open_ledger"]

#: How long a claim without a job id holds off other kernels when its owner's liveness cannot be checked.
CLAIM_TTL = 120.0
BUSY_TIMEOUT = 5.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS rows (
    host TEXT NOT NULL, skillpack TEXT NOT NULL, skill TEXT NOT NULL, version TEXT NOT NULL,
    inputs_hash TEXT NOT NULL, job_id TEXT, status TEXT, cost_micros INTEGER,
    owner TEXT, claimed_at REAL, updated_at REAL,
    PRIMARY KEY (host, skillpack, skill, version, inputs_hash)
);
CREATE INDEX IF NOT EXISTS rows_job ON rows (job_id);
"""


def inputs_hash(inputs: Any) -> str:
    """A canonical hash of a row's inputs: the same inputs in any key order hash the same."""
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Key:
    """What makes two rows the same call: host, skillpack, skill, version ("" for the active one), inputs."""

    host: str
    skillpack: str
    skill: str
    version: str
    inputs_hash: str


@dataclass(frozen=True)
class Claim:
    """The ledger's answer to "may I submit this row?": `mine` (submit it), `job` (it ran or runs as `job_id`,
    with `status`), `busy` (another batch is submitting it right now), or `stale` (a claim whose owner died:
    submit it, after looking for a job that owner may have created since `since`)."""

    kind: str
    job_id: str | None = None
    status: str | None = None
    since: float = 0.0


def owner_token() -> str:
    """Who holds a claim: this host and process (so a dead owner's claims can be taken over at once)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_alive(owner: str | None, claimed_at: float | None, now: float) -> bool:
    """Whether a claim's owner may still record its job: a process on this host that runs (not a zombie);
    elsewhere, a claim younger than `CLAIM_TTL`."""
    if claimed_at is None or now - claimed_at >= CLAIM_TTL:
        return False
    host, _, rest = (owner or "").partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rpartition(")")[2].split()[:1] != ["Z"]  # a killed kernel not reaped yet
    except OSError:
        return True


class Ledger:
    """One ledger file, one sqlite connection per thread. Every method returns quietly once the ledger broke
    (`broken`), after one line on stderr saying so."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.owner = owner_token()
        self.broken: str | None = None
        self._local = threading.local()
        self._said = False

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
            db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
            db.execute("PRAGMA synchronous = NORMAL")
            self._local.db = db
        return db

    def setup(self) -> None:
        """Create the file, WAL mode and the table (raises sqlite3.Error when the file is no usable ledger)."""
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        db = self._db()
        db.execute("PRAGMA journal_mode = WAL")
        db.executescript(SCHEMA)
        db.execute("SELECT count(*) FROM rows WHERE 0").fetchall()

    def fail(self, error: BaseException) -> None:
        """Stop using the ledger, saying so once: the batch goes on without reuse."""
        self.broken = str(error) or type(error).__name__
        if not self._said:
            self._said = True
            print(f"puras-nb: the batch ledger {self.path} cannot be used ({self.broken}); running without reuse "
                  "(configure(ledger=...) moves it, ledger=None turns it off)", file=sys.stderr)

    def _write(self, sql: str, args: tuple) -> None:
        if self.broken:
            return
        try:
            self._db().execute(sql, args)
        except sqlite3.Error as exc:
            self.fail(exc)

    # -- rows -----------------------------------------------------------------------------------

    def claim(self, key: Key, *, replace: str | None = None) -> Claim:
        """Claim `key` for this batch in one short write transaction, unless a job or a live claim has it.

        `replace`: a job id to forget (a failed row retried, a job the server no longer has); the row is
        claimed anew if it still names that job, so two kernels retrying the same row submit it once."""
        if self.broken:
            return Claim("mine")
        now = time.time()
        args = (key.host, key.skillpack, key.skill, key.version, key.inputs_hash)
        where = "host=? AND skillpack=? AND skill=? AND version=? AND inputs_hash=?"
        try:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(f"SELECT job_id, status, owner, claimed_at FROM rows WHERE {where}", args).fetchone()
                answer = Claim("mine")
                if row is not None:
                    job_id, status, owner, claimed_at = row
                    if job_id and job_id != replace:
                        db.execute("COMMIT")
                        return Claim("job", job_id, status)
                    if not job_id and owner != self.owner and _owner_alive(owner, claimed_at, now):
                        db.execute("COMMIT")
                        return Claim("busy")
                    if not job_id and owner != self.owner:
                        answer = Claim("stale", since=claimed_at or 0.0)
                db.execute(
                    "INSERT OR REPLACE INTO rows (host, skillpack, skill, version, inputs_hash, job_id, status,"
                    " cost_micros, owner, claimed_at, updated_at) VALUES (?, ?, ?, ?, ?, NULL, NULL, NULL, ?, ?, ?)",
                    (*args, self.owner, now, now),
                )
                db.execute("COMMIT")
                return answer
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self.fail(exc)
            return Claim("mine")

    def record(self, key: Key, job_id: str, status: str, cost_micros: Any = None) -> None:
        """The row's claim became job `job_id` (or the job moved on)."""
        self._write(
            "UPDATE rows SET job_id=?, status=?, cost_micros=?, updated_at=? "
            "WHERE host=? AND skillpack=? AND skill=? AND version=? AND inputs_hash=?",
            (job_id, status, cost_micros if isinstance(cost_micros, int) else None, time.time(),
             key.host, key.skillpack, key.skill, key.version, key.inputs_hash),
        )

    def release(self, key: Key) -> None:
        """Give up this batch's claim on `key` (the server rejected the row, so no job exists for it)."""
        self._write(
            "DELETE FROM rows WHERE host=? AND skillpack=? AND skill=? AND version=? AND inputs_hash=? "
            "AND job_id IS NULL AND owner=?",
            (key.host, key.skillpack, key.skill, key.version, key.inputs_hash, self.owner),
        )

    def finish(self, job_id: str, status: str, cost_micros: Any) -> None:
        """Job `job_id` ended: keep its status and cost (what the next run reuses, and the spend estimate)."""
        self._write(
            "UPDATE rows SET status=?, cost_micros=?, updated_at=? WHERE job_id=?",
            (status, cost_micros if isinstance(cost_micros, int) else None, time.time(), job_id),
        )

    def lookup(self, keys: list[Key]) -> dict[Key, tuple[str | None, str | None]]:
        """What the ledger holds for `keys` (read only): job id and status, None for a claim without a job."""
        if self.broken or not keys:
            return {}
        out: dict[Key, tuple[str | None, str | None]] = {}
        try:
            db = self._db()
            wanted = set(keys)
            first = keys[0]
            for host, pack, skill, version, digest, job_id, status in db.execute(
                "SELECT host, skillpack, skill, version, inputs_hash, job_id, status FROM rows "
                "WHERE host=? AND skill=? AND version=?", (first.host, first.skill, first.version)):
                key = Key(host, pack, skill, version, digest)
                if key in wanted:
                    out[key] = (job_id, status)
        except sqlite3.Error as exc:
            self.fail(exc)
        return out

    def median_cost(self, host: str, skill: str, version: str) -> int | None:
        """The median cost (micro-USD) of this skill and version's finished jobs here, None when none is known."""
        if self.broken:
            return None
        try:
            costs = [c for (c,) in self._db().execute(
                "SELECT cost_micros FROM rows WHERE host=? AND skill=? AND version=? AND status='succeeded' "
                "AND cost_micros IS NOT NULL ORDER BY updated_at DESC LIMIT 1000", (host, skill, version))]
        except sqlite3.Error as exc:
            self.fail(exc)
            return None
        return int(statistics.median(costs)) if costs else None

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def open_ledger(path: str | None) -> Ledger | None:
    """The ledger at `path`, None when it is off; a ledger that cannot be used says so once and comes back
    `broken`, so the batch runs without reuse."""
    if not path:
        return None
    ledger = Ledger(path)
    try:
        ledger.setup()
    except (sqlite3.Error, OSError) as exc:
        ledger.fail(exc)
    return ledger
