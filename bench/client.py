"""Benchmark of the client core: puras_nb.Client / AsyncClient against the official puras.Client.

One local emulator, one run, a Markdown table on stdout (one to two minutes):
1. time from a job's `finished_at` to `run()` returning (0.1 s, 0.5 s and 3 s `demo/slow` jobs, defaults);
2. 100 sequential tiny `run()` calls (`demo/echo`);
3. 200 concurrent 1 s jobs: AsyncClient + asyncio.gather against the official client in its best thread pool;
4. HTTP requests per job (the emulator's request counter).

Usage: python bench/client.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import puras

import puras_nb
from puras_nb import local
from puras_nb.api.flows import parse_time


class Bench:
    """The measurements, each against the same emulator; request counts come from its /_emulator/stats."""

    def __init__(self, server: local.LocalServer):
        self.url = server.url
        self.key = server.api_key
        self.ours = puras_nb.Client(self.key, "demo", api_base=self.url)
        self.official = puras.Client(self.key, "demo", api_base=self.url)
        self.probe = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=30)

    def requests(self) -> int:
        return self.probe.get("/_emulator/stats").json()["requests"]

    def latest_finished(self, skill: str) -> float:
        job = self.probe.get("/v1/jobs", params={"skill": skill, "limit": 1}).json()[0]
        return parse_time(job["finished_at"])

    def detection(self, client: Any, seconds: float, runs: int) -> tuple[float, float]:
        """Median seconds from `finished_at` to run() returning, and HTTP requests per run."""
        delays, before = [], self.requests()
        for _ in range(runs):
            client.run("slow", {"seconds": seconds})
            returned = time.time()
            delays.append(returned - self.latest_finished("slow"))
            before += 1
        return statistics.median(delays), (self.requests() - before) / runs

    def sequential(self, client: Any, calls: int, budget: float) -> tuple[float, int, float]:
        """Calls per second of tiny run()s (stopping early after `budget` s), calls made, requests per call."""
        before, start, done = self.requests(), time.perf_counter(), 0
        while done < calls and time.perf_counter() - start < budget:
            client.run("echo", {"i": done})
            done += 1
        elapsed = time.perf_counter() - start
        return done / elapsed, done, (self.requests() - before) / done

    def concurrent_ours(self, jobs: int) -> tuple[float, float]:
        async def main() -> float:
            async with puras_nb.AsyncClient(self.key, "demo", api_base=self.url) as client:
                start = time.perf_counter()
                results = await asyncio.gather(*(client.run("slow", {"seconds": 1}) for _ in range(jobs)))
                assert results == [{"slept": 1}] * jobs
                return time.perf_counter() - start

        before = self.requests()
        wall = asyncio.run(main())
        return wall, (self.requests() - before) / jobs

    def concurrent_official(self, jobs: int, threads: int) -> tuple[float, float]:
        before = self.requests()
        with ThreadPoolExecutor(threads) as pool:
            start = time.perf_counter()
            results = list(pool.map(lambda _: self.official.run("slow", {"seconds": 1}), range(jobs)))
            wall = time.perf_counter() - start
        assert results == [{"slept": 1}] * jobs
        return wall, (self.requests() - before) / jobs


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def ratio(ours: float, theirs: float, higher_is_better: bool = False) -> str:
    if higher_is_better:
        ours, theirs = theirs, ours
    return f"{theirs / ours:.1f}× better" if ours > 0 else "n/a"


def step(what: str) -> None:
    """Progress on stderr, so that stdout is only the table."""
    print(f"bench: {what}…", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    args = parser.parse_args()
    runs_ours, runs_official = (2, 1) if args.quick else (5, 3)
    rows: list[tuple[str, str, str, str]] = []
    per_job: list[tuple[str, float, float]] = []
    with local.start() as server:
        bench = Bench(server)
        bench.ours.run("echo", {})
        bench.official.run("echo", {}, poll_interval=0.05)
        for seconds in (0.1, 0.5, 3.0):
            step(f"detection delay, {seconds:g} s jobs")
            ours, ours_req = bench.detection(bench.ours, seconds, runs_ours)
            theirs, their_req = bench.detection(bench.official, seconds, runs_official)
            what = f"1. finished_at → run() returns, {seconds:g} s job (median of {runs_ours} vs {runs_official})"
            rows.append((what, ms(ours), ms(theirs), ratio(ours, theirs)))
            per_job.append((f"{seconds:g} s job", ours_req, their_req))

        step("100 sequential tiny run() calls")
        ours_rate, ours_n, ours_req = bench.sequential(bench.ours, 100, 60)
        their_rate, their_n, their_req = bench.sequential(bench.official, 100, 10 if args.quick else 30)
        rows.append((f"2. sequential tiny run() (echo; {ours_n} vs {their_n} calls)",
                     f"{ours_rate:.0f} calls/s ({ms(1 / ours_rate)}/call)",
                     f"{their_rate:.1f} calls/s ({ms(1 / their_rate)}/call)", ratio(ours_rate, their_rate, True)))
        per_job.append(("tiny echo job", ours_req, their_req))

        jobs = 50 if args.quick else 200
        step(f"{jobs} concurrent 1 s jobs")
        trials = sorted(bench.concurrent_ours(jobs) for _ in range(3))
        ours_wall, ours_req = trials[1]
        tried = {threads: bench.concurrent_official(jobs, threads) for threads in (32, jobs)}
        threads = min(tried, key=lambda t: tried[t][0])
        their_wall, their_req = tried[threads]
        what = f"3. {jobs} concurrent 1 s jobs, wall (ours: median of 3 gathers; official: better of 32/{jobs} threads)"
        rows.append((what,
                     f"{ours_wall:.2f} s", f"{their_wall:.2f} s ({threads} threads)", ratio(ours_wall, their_wall)))
        per_job.append((f"1 s job, {jobs} concurrent", ours_req, their_req))

    for what, ours, theirs in per_job:
        rows.append((f"4. HTTP requests per job, {what}", f"{ours:.2f}", f"{theirs:.2f}", ratio(ours, theirs)))
    print("| measure | puras_nb | official puras 0.20 | ours vs official |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nOne emulator (`puras_nb.local.start()`) on loopback, {os.cpu_count()} CPUs, "
          f"Python {sys.version.split()[0]}, httpx {httpx.__version__}.")


if __name__ == "__main__":
    main()
