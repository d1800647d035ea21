"""`Batch`: one skill over many rows (a list, a DataFrame, a JSONL eval dataset), sent under a running cap.

A sender on the runtime loop keeps at most `max_running` of the batch's jobs running and waits out the
request budget's pauses (429 / Retry-After). With the ledger (`model.ledger`) each row is claimed before it
is sent, so re-running the cell, in this kernel or after a restart, reattaches running jobs, reuses rows
that succeeded and sends only the missing ones. A row the server rejects is a failed row with its message;
a budget stops sending once what was spent plus what running jobs will cost would pass it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import statistics
import time
from typing import Any

from ..api.flows import TERMINAL, parse_time
from ..errors import PurasAPIError, PurasError
from ..runtime import loop as rt
from ..runtime.session import Session, session
from ..settings import current
from .group import JobGroup, outcome, rejected_job
from .job import LiveJob, check_options, skill_path
from .job import jobs as known_jobs
from .ledger import Claim, Key, Ledger, inputs_hash, open_ledger
from .text import dollars

__all__ = ["Batch", "load_rows", "reuse_or_submit"]

#: How often a row another kernel is submitting is looked at again.
BUSY_RECHECK = 0.25
#: Rows reattached at once after a restart (one request each, under the session's own cap).
REATTACH_AT_ONCE = 16
#: Rows whose media previews a shown batch fetches (the first page of its table).
PREVIEW_ROWS = 25
#: Server jobs read for a cost estimate, and to find jobs a dead kernel created but never recorded.
HISTORY = 500


def load_rows(rows: Any) -> tuple[list[dict], list[Any], list[Any], Any]:
    """`rows` as (inputs per row, ids, expected values, the DataFrame or None).

    A list of input dicts; a pandas DataFrame (one column per input); or the path of a JSONL eval dataset
    whose lines are `{id, inputs, expected?}` (the format `skill.yaml`'s `evals.dataset` uses)."""
    if isinstance(rows, (str, os.PathLike)):
        return _jsonl(os.fspath(rows))
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # a DataFrame, without importing pandas
        records = rows.to_dict(orient="records")
        return [_clean(r) for r in records], list(rows.index), [None] * len(records), rows
    if isinstance(rows, dict):
        raise TypeError("map() takes many rows: a list of input dicts, a DataFrame or a JSONL path (not one dict)")
    inputs = list(rows)
    bad = next((i for i, r in enumerate(inputs) if not isinstance(r, dict)), None)
    if bad is not None:
        raise TypeError(f"row {bad} is a {type(inputs[bad]).__name__}, not a dict of inputs")
    return [dict(r) for r in inputs], list(range(len(inputs))), [None] * len(inputs), None


def _clean(record: dict) -> dict:
    """A DataFrame row as JSON inputs: missing cells (NaN) left out, numpy scalars as Python ones."""
    out = {}
    for k, v in record.items():
        if isinstance(v, float) and v != v:
            continue
        out[str(k)] = v.item() if hasattr(v, "item") and not isinstance(v, (list, dict, str)) else v
    return out


def _jsonl(path: str) -> tuple[list[dict], list[Any], list[Any], Any]:
    inputs: list[dict] = []
    ids: list[Any] = []
    expected: list[Any] = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{n}: not JSON ({exc})") from None
            if not isinstance(item, dict) or not isinstance(item.get("inputs"), dict):
                raise ValueError(f"{path}:{n}: each line needs an object with an `inputs` object ({{id, inputs, "
                                 "expected?}})")
            inputs.append(item["inputs"])
            ids.append(item.get("id", len(ids)))
            expected.append(item.get("expected"))
    return inputs, ids, expected, None


def _names_pack(listed: Any, pack: str) -> bool:
    """Whether a listed job's `skillpack` ("workspace/slug", or absent) is the pack a batch names by slug or path."""
    return not listed or pack in (listed, str(listed).rsplit("/", 1)[-1])


class Batch(JobGroup):
    """One skill over many rows, sent at most `max_running` at a time; `results()` are aligned with the rows.

    `wait(timeout)`, `done()`, `results()` (None where a row failed), `jobs` (one LiveJob or None per row),
    `failed()`, `retry_failed()`, `cancel()`, `resume(budget_usd=...)`, `cost` (USD), `to_pandas()`."""

    kind = "batch"

    def __init__(
        self,
        skill: str,
        rows: Any,
        *,
        skillpack: str | None = None,
        version: int | None = None,
        max_running: int = 16,
        reuse: bool = True,
        budget_usd: float | None = None,
        retry_failed: bool = False,
        ledger: Ledger | None = None,
        **opts: Any,
    ) -> None:
        super().__init__()
        if max_running < 1:
            raise ValueError("max_running must be at least 1")
        self.inputs, self.ids, self.expected, self.frame = load_rows(rows)
        sess = session()
        self.skill = skill
        self.skillpack = skillpack
        self.path = skill_path(skill, skillpack or sess.settings.skillpack)
        self.version = version
        self.max_running = max_running
        self.reuse = reuse
        self.budget_usd = budget_usd
        self.retry = retry_failed
        self.opts = check_options(opts)
        self.ledger = ledger if ledger is not None else (open_ledger(current().ledger) if reuse else None)
        self.jobs: list[LiveJob | None] = [None] * len(self.inputs)
        self._stop: str | None = None
        self._wants_media = False
        #: Shown, not sent: the estimate passed `confirm_over_usd` and a person is asked (`confirm()`).
        self.awaiting = False
        #: Median cost of one row in micro-USD (ledger, else the server's job list), None when unknown.
        self.estimate_micros: int | None = None
        self.balance: dict | None = None
        #: The estimate as `prepare` worded it (`estimate_line`), "" until then.
        self.estimate = ""
        self.reused = 0
        self.sent = 0
        #: The server's (or the encoder's) refusal of each rejected row, by row number.
        self.rejections: dict[int, BaseException] = {}
        self.started_at = time.monotonic()
        self._paid: set[int] = set()  # rows whose job this batch sent or found running (the budget counts them)
        self._active: set[int] = set()  # paid rows whose job has not ended (or is on its way): what runs
        self._spent = 0  # micro-USD of the paid rows that ended
        self._costs: list[int] = []  # the first costs seen, for a median when there is no estimate
        self._sending = False
        self._wake: asyncio.Event | None = None
        self._session: Session = sess
        self._keys = [self._key(i) for i in range(len(self.inputs))]

    # -- membership -----------------------------------------------------------------------------

    def members(self) -> list[LiveJob]:
        return [job for job in self.jobs if job is not None]

    def done(self) -> bool:
        """True once sending is over and every row's job ended (cheap while jobs still run)."""
        return not (self._active or self._sending or self.awaiting) and super().done()

    def complete(self) -> bool:
        """Sending is over and every row sent has its job (or the row was left unsent)."""
        if self.awaiting or self._sending or any(self.jobs[i] is None for i in self._paid):
            return False
        return self._stop is not None or all(job is not None for job in self.jobs)

    @property
    def stopped(self) -> str | None:
        """Why sending stopped early (`budget reached: 4 rows not sent`, `cancelled: …`), None while it goes on."""
        if self._stop is None:
            return None
        return f"{self._stop}: {self.unsent()} rows not sent" if self.unsent() else self._stop

    def _halt(self, reason: str) -> None:
        self._stop = self._stop or reason
        self._poke()

    def _key(self, i: int) -> Key:
        pack = self.path.rsplit("/", 1)[0] if "/" in self.path else ""
        version = "" if self.version is None else str(self.version)
        return Key(self._session.api_base, pack, self.path, version, inputs_hash(self.inputs[i]))

    def unsent(self) -> int:
        """Rows without a job and not on their way (not sent yet, or left when sending stopped)."""
        return sum(1 for i, job in enumerate(self.jobs) if job is None and i not in self._paid)

    def outcomes(self) -> dict[str, int]:
        """Rows by outcome; rows not sent yet count as queued while the batch still sends."""
        counts = super().outcomes()
        counts["queued"] += sum(1 for i in self._paid if self.jobs[i] is None)  # on their way
        if self._stop is None:
            counts["queued"] += self.unsent()
        return counts

    def progress(self) -> float:
        if not self.jobs:
            return 1.0
        return sum(1.0 if j is not None and j.done() else (j.progress or 0.0) if j else 0.0
                   for j in self.jobs) / len(self.jobs)

    # -- sending --------------------------------------------------------------------------------

    def start(self, *, estimate: bool = True) -> Batch:
        """Look up the estimate and balance (unless `estimate=False`), then send rows in the background."""
        if estimate:
            self.prepare()
        self._go()
        return self

    def prepare(self) -> Batch:
        """Look up what a row costs (ledger, else the server's recent jobs) and the balance, and word the
        estimate the views show before and while the batch sends (`estimate`); sends nothing."""
        rt.run_sync(self._prepare())
        self.estimate = self.estimate_line()
        return self

    def confirm(self) -> Batch:
        """Start sending a batch that waited for confirmation (`configure(confirm_over_usd=...)`)."""
        if self.awaiting:
            self.awaiting = False
            self._go()
        return self

    def job_of(self, i: int, timeout: float = 60.0) -> LiveJob | None:
        """Block until row `i` has its job (sent, reused or rejected) and return it; None if it was not sent."""
        deadline = time.monotonic() + timeout
        while self.jobs[i] is None and (self._sending or i in self._paid) and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.jobs[i]

    def _go(self) -> None:
        self._stop = None
        self._sending = True
        rt.spawn(self._send())

    def new_rows(self) -> int:
        """Rows the ledger knows no job for: what a run would send (all rows without the ledger)."""
        if self.ledger is None:
            return sum(1 for job in self.jobs if job is None)
        known = self.ledger.lookup([self._keys[i] for i, job in enumerate(self.jobs) if job is None])
        return sum(1 for i, job in enumerate(self.jobs)
                   if job is None and not (known.get(self._keys[i]) or (None, None))[0])

    @property
    def estimate_usd(self) -> float | None:
        """What sending the new rows would cost, at the median of past jobs (None when unknown)."""
        if self.estimate_micros is None:
            return None
        return self.new_rows() * self.estimate_micros / 1_000_000

    async def _prepare(self) -> None:
        """The cost of one row (the ledger's median, else the server's recent jobs) and the workspace balance."""
        sess = self._session
        key = self._keys[0] if self._keys else None
        if key is not None and self.ledger is not None:
            self.estimate_micros = await asyncio.to_thread(self.ledger.median_cost, key.host, key.skill, key.version)
        if self.estimate_micros is None:
            costs = [j.get("cost_micros") for j in await self._history() if j.get("status") == "succeeded"]
            known = [c for c in costs if isinstance(c, int)]
            self.estimate_micros = int(statistics.median(known)) if known else None
        try:
            self.balance = await sess.balance()
        except (PurasError, OSError):
            self.balance = None  # a server without billing: the estimate stands alone

    async def _history(self) -> list[dict]:
        """This skill and version's recent jobs on the server (empty where it does not list jobs)."""
        name = self.path.rsplit("/", 1)[-1]
        try:
            listed = await self._session.jobs(skill=name, limit=HISTORY)
        except (PurasError, OSError):
            return []
        pack = self.path.rsplit("/", 1)[0] if "/" in self.path else None
        return [j for j in listed if isinstance(j, dict)
                and (pack is None or _names_pack(j.get("skillpack"), pack))
                and (self.version is None or j.get("version") == self.version)]

    def _running(self) -> int:
        """Jobs of this batch that run, counting the submissions still on their way."""
        return len(self._active)

    def _pay(self, i: int) -> None:
        """Row `i` runs on this batch's account (sent now, or found running)."""
        self._paid.add(i)
        self._active.add(i)

    def _unpay(self, i: int) -> None:
        self._paid.discard(i)
        self._active.discard(i)

    def _row_ended(self, i: int, job: LiveJob) -> None:
        """A paid row's job ended: it runs no more, and what it cost is spent."""
        if i in self._active and self.jobs[i] is job:
            self._active.discard(i)
            cost = job.job.get("cost_micros")
            if isinstance(cost, int) and not isinstance(cost, bool):
                self._spent += cost
                if len(self._costs) < 101:
                    self._costs.append(cost)

    def _over_budget(self) -> bool:
        """Would one more row pass the budget: spent, plus the estimate of every running job and this row?"""
        if self.budget_usd is None:
            return False
        return self._spent + (self._running() + 1) * self._each_micros() > self.budget_usd * 1_000_000

    def _each_micros(self) -> float:
        """A row's expected cost: the estimate, else what this batch's first finished jobs cost."""
        if self.estimate_micros is not None:
            return self.estimate_micros
        return statistics.median(self._costs) if self._costs else 0.0

    def _cap(self) -> int:
        """How many may run: `max_running`, or one at a time while a budget has no cost to go by yet."""
        return 1 if self.budget_usd is not None and self._each_micros() == 0.0 else self.max_running

    async def _send(self) -> None:
        """Send the rows without a job, at most `max_running` running, until all are sent or sending stops."""
        self._wake = asyncio.Event()
        pending = [i for i, job in enumerate(self.jobs) if job is None]
        busy: list[int] = []
        orphans: dict[str, dict] | None = None
        try:
            pending, busy, claimed = await self._reattach(pending)
            while pending or busy:
                if self._stop is not None:
                    return
                if not pending:
                    await asyncio.sleep(BUSY_RECHECK)
                    pending, busy = busy, []
                    continue
                i = pending[0]
                while self._running() >= self._cap():
                    self._wake.clear()
                    with contextlib.suppress(asyncio.TimeoutError):  # woken by a job's end; the timeout is a backstop
                        await asyncio.wait_for(self._wake.wait(), 1.0)
                    if self._stop is not None:
                        return
                if self._over_budget():
                    self._halt("budget reached")
                    return
                await self._session.budget.unpaused()
                pending.pop(0)
                claim = Claim("mine") if i in claimed else await self._claim(i)
                if claim.kind == "busy":
                    busy.append(i)
                    continue
                if claim.kind == "stale":  # its owner died: it may have created the job without recording it
                    if orphans is None:
                        orphans = {inputs_hash(j.get("inputs")): j for j in await self._history()}
                    lost = orphans.get(self._keys[i].inputs_hash)
                    if lost and (parse_time(lost.get("created_at")) or 0) >= claim.since - 5 and lost.get("id"):
                        await self._record(i, lost)
                        claim = Claim("job", lost["id"])
                if claim.kind == "job" and claim.job_id:
                    then = await self._reuse(i, claim.job_id)
                    if then == "busy":
                        busy.append(i)
                    if then != "send":
                        continue
                self._pay(i)
                rt.spawn(self._submit(i))
                await asyncio.sleep(0)
        except Exception as exc:  # the batch says why it stopped; rows left stay unsent for resume()
            self._halt(f"sending stopped ({exc})")
        finally:
            self._sending = False
            self.check_done()

    async def _reattach(self, pending: list[int]) -> tuple[list[int], list[int], set[int]]:
        """Before sending: the rows the ledger names a job for are reattached or reused, many at a time (after a
        restart each costs a request). Returns the rows still to send, those another batch is sending right
        now, and those already claimed to be sent again (a failed row retried, a job the server lost)."""
        if self.ledger is None or not pending:
            return pending, [], set()
        known = await asyncio.to_thread(self.ledger.lookup, [self._keys[i] for i in pending])
        gate = asyncio.Semaphore(REATTACH_AT_ONCE)
        then: dict[int, str] = {}

        async def one(i: int, job_id: str) -> None:
            async with gate:
                then[i] = await self._reuse(i, job_id)

        ids = {i: job_id for i in pending if (job_id := known.get(self._keys[i], (None, None))[0])}
        await asyncio.gather(*(one(i, job_id) for i, job_id in ids.items()))
        left = [i for i in pending if then.get(i, "send") == "send"]
        busy = [i for i, what in then.items() if what == "busy"]
        return left, busy, {i for i, what in then.items() if what == "send"}

    async def _claim(self, i: int, replace: str | None = None) -> Claim:
        if self.ledger is None:
            return Claim("mine")
        return await asyncio.to_thread(self.ledger.claim, self._keys[i], replace=replace)

    async def _record(self, i: int, job: dict) -> None:
        if self.ledger is not None and job.get("id"):
            await asyncio.to_thread(self.ledger.record, self._keys[i], job["id"], str(job.get("status") or "queued"),
                                    job.get("cost_micros"))

    async def _reuse(self, i: int, job_id: str) -> str:
        """Put the ledger's job for row `i` in place (the same LiveJob if this kernel follows it): `reused`;
        `send` when the row must be sent again (it failed and failed rows are retried, or the server no longer
        has the job; it is claimed anew); `busy` when another batch is sending it again right now."""
        job = next((j for j in reversed(known_jobs()) if j.id == job_id), None)
        if job is None:
            try:
                job = await LiveJob.aattach(job_id, events=False, **self.opts)
            except PurasAPIError as exc:
                if exc.status != 404:
                    raise
        if job is None or (self.retry and job.done() and job.status != "succeeded"):
            claim = await self._claim(i, replace=job_id)
            if claim.kind in ("mine", "stale"):
                return "send"
            if claim.kind == "busy" or not claim.job_id:
                return "busy"
            return await self._reuse(i, claim.job_id)
        if not job.done():
            self._pay(i)
        self.reused += 1
        self._put(i, job)
        return "reused"

    async def _submit(self, i: int) -> None:
        """Send row `i`; a rejection is a failed row with the server's message (and gives the claim back)."""
        try:
            job = await LiveJob.asubmit(self.skill, self.inputs[i], skillpack=self.skillpack, version=self.version,
                                        keep_log=False, **self.opts)
        except (PurasAPIError, TypeError, ValueError) as exc:  # refused, or inputs that are no JSON
            if self.ledger is not None:
                await asyncio.to_thread(self.ledger.release, self._keys[i])
            self.rejections[i] = exc
            self._put(i, rejected_job(self.path, self.inputs[i], exc, self.version))
            return
        except Exception as exc:  # unreachable: no job id to keep; the row stays unsent for resume()
            self._unpay(i)
            if self.ledger is not None:
                await asyncio.to_thread(self.ledger.release, self._keys[i])
            self._halt(f"sending stopped ({exc})")
            self.check_done()
            return
        self.sent += 1
        await self._record(i, job.job)
        self._put(i, job)

    def _put(self, i: int, job: LiveJob) -> None:
        self.jobs[i] = job
        if i in self._active:
            job.add_done_callback(functools.partial(self._row_ended, i))
        self._track(job)
        if self._wants_media and i < PREVIEW_ROWS:
            job.want_media()

    def want_media(self) -> None:
        """A view is shown: fetch the previews of the first `PREVIEW_ROWS` rows (the thumbnails of its first
        page and of a saved notebook), never of every row."""
        self._wants_media = True
        for job in self.jobs[:PREVIEW_ROWS]:
            if job is not None:
                job.want_media()

    def _job_done(self, job: LiveJob) -> None:
        if self.ledger is not None and job.id and job.status in TERMINAL:
            ledger = self.ledger
            rt.spawn(asyncio.to_thread(ledger.finish, job.id, job.status, job.job.get("cost_micros")))
        self._poke()
        super()._job_done(job)

    def _poke(self) -> None:
        """Wake the sender (a job ended, or sending stopped), from any thread."""
        wake = self._wake
        if wake is not None:
            rt.call_soon(wake.set)

    # -- actions --------------------------------------------------------------------------------

    def resume(self, budget_usd: float | None = None) -> Batch:
        """Send the rows left unsent (after a budget stop, a cancel or an error), with a new budget if given."""
        if budget_usd is not None:
            self.budget_usd = budget_usd
        if not self._sending and self.unsent():
            self._go()
        return self

    def retry_failed(self) -> Batch:
        """Send the failed and cancelled rows again (each once, even with another kernel retrying them too)."""
        for i, job in enumerate(self.jobs):
            if job is not None and job.done() and job.status != "succeeded":
                self._untrack(job)
                self.jobs[i] = None
                self._unpay(i)
        self.retry = True  # the sender claims each again in place of its failed job
        return self.resume()

    def cancel(self) -> Batch:
        """Stop sending and cancel the batch's running jobs (finished rows keep their results)."""
        self._halt("cancelled")
        for job in self.members():
            if not job.done():
                job.request_cancel()
        return self

    # -- reading --------------------------------------------------------------------------------

    def results(self) -> list[Any]:
        """The results, aligned with the rows: None where a row failed, was cancelled, runs or was not sent."""
        return [job.job.get("result") if job is not None and job.status == "succeeded" else None
                for job in self.jobs]

    def failed(self) -> list[dict[str, Any]]:
        """The rows that failed or were cancelled: row number, id, inputs, status, error and job id."""
        return [
            {"row": i, "id": self.ids[i], "inputs": self.inputs[i], "status": job.status, "error": job.error_text,
             "job_id": job.id}
            for i, job in enumerate(self.jobs) if job is not None and job.done() and job.status != "succeeded"
        ]

    def rate(self) -> float | None:
        """Rows finished per second since the batch started (None before the first)."""
        ended = sum(1 for job in self.jobs if job is not None and job.done())
        elapsed = time.monotonic() - self.started_at
        return ended / elapsed if ended and elapsed > 0 else None

    def eta(self) -> float | None:
        """Seconds until every row ended at the current rate (None when unknown, 0 when done)."""
        if self.done():
            return 0.0
        rate = self.rate()
        left = sum(1 for job in self.jobs if job is None or not job.done())
        return left / rate if rate else None

    def summary(self) -> str:
        """`40 rows · 38 succeeded · 2 failed · cost $0.0800` and why sending stopped, if it did."""
        counts = self.outcomes()
        parts = [f"{len(self.jobs)} rows"] + [f"{n} {name}" for name, n in counts.items() if n]
        if self.cost_micros:
            parts.append(f"cost {dollars(self.cost_micros)}")
        if self.stopped:
            parts.append(self.stopped)
        return " · ".join(parts)

    def estimate_line(self) -> str:
        """`estimate: 40 new rows × $0.0040 = $0.16 · balance $12.00` (or `unknown`), shown before sending."""
        new = self.new_rows()
        each = self.estimate_micros
        if each is None:  # no history before this batch: what its own rows cost so far
            each = int(self._each_micros()) or None
        line = f"estimate: {new} new rows × {dollars(each)} = ${new * each / 1_000_000:.4f}" if each is not None \
            else f"estimate: {new} new rows × unknown cost"
        balance = self.balance or {}
        if balance.get("billed") is False:
            line += " · balance: not billed here"
        elif isinstance(balance.get("balance_usd"), (int, float)):
            line += f" · balance ${balance['balance_usd']:.2f}"
        return line

    def rows(self) -> list[dict[str, Any]]:
        """One dict per row: id, inputs, status, result, error, cost_micros, job id, and expected (eval sets)."""
        out = []
        for i, job in enumerate(self.jobs):
            row: dict[str, Any] = {"id": self.ids[i], "inputs": self.inputs[i]}
            row["status"] = outcome(job) if job is not None else ("not sent" if self.stopped else "queued")
            row["result"] = job.job.get("result") if job is not None and job.status == "succeeded" else None
            row["error"] = job.error_text if job is not None and job.done() else ""
            row["cost_micros"] = job.job.get("cost_micros") if job is not None else None
            row["job_id"] = job.id if job is not None else None
            if self.expected[i] is not None:
                row["expected"] = self.expected[i]
            out.append(row)
        return out

    def to_pandas(self) -> Any:
        """A DataFrame: the rows (the given DataFrame's columns, else one per input) with the results as new
        columns (a dict result spread over its keys), plus status, error, cost_usd and job_id."""
        import pandas as pd  # type: ignore[import-untyped]

        base = self.frame.copy() if self.frame is not None else pd.DataFrame(self.inputs, index=self.ids)
        rows = self.rows()
        results = [r["result"] for r in rows]
        if all(r is None or isinstance(r, dict) for r in results):
            spread = pd.DataFrame([r or {} for r in results], index=base.index)
            for column in spread.columns:
                base[column if column not in base.columns else f"result_{column}"] = spread[column]
        else:
            base["result"] = results
        base["status"] = [r["status"] for r in rows]
        base["error"] = [r["error"] for r in rows]
        base["cost_usd"] = [r["cost_micros"] / 1_000_000 if isinstance(r["cost_micros"], (int, float)) else None
                            for r in rows]
        base["job_id"] = [r["job_id"] for r in rows]
        if any(e is not None for e in self.expected):
            base["expected"] = self.expected
        return base

    def text(self) -> str:
        """text/plain: the skill and tally once done (stable for saved notebooks), `in progress` before."""
        version = f" v{self.version}" if self.version is not None else ""
        head = f"<Batch {self.path}{version}: {len(self.jobs)} rows"
        if self.awaiting:
            return f"{head}; waiting for confirmation>"
        if not self.done():
            return f"{head}; in progress>"
        tally = ", ".join(f"{n} {name}" for name, n in self.outcomes().items() if n)
        if self.stopped:
            tally += f"; {self.stopped}"
        return f"{head}; {tally}>"



def reuse_or_submit(skill: str, inputs: dict | None = None, *, skillpack: str | None = None,
                    version: int | None = None, **opts: Any) -> LiveJob:
    """One job through the ledger (`start(..., reuse=True)`): the job these inputs already ran as here, running
    or succeeded, else a new one. A rejection raises the server's error, as `start` does."""
    batch = Batch(skill, [dict(inputs or {})], skillpack=skillpack, version=version, max_running=1, **opts)
    job = batch.start(estimate=False).job_of(0)
    if 0 in batch.rejections:
        raise batch.rejections[0]
    if job is None:
        raise PurasError(f"{skill} could not be started: {batch.stopped or 'no answer from the server'}")
    return job
