"""Benchmark the local emulator: tiny-job throughput and `POST /v1/jobs?wait=true` latency, and what a job's
events cost the server in memory.

Runs `demo/slow` with `seconds=0` (a job that does nothing) through a child-process emulator, from 1 and
from 50 concurrent clients, and prints a Markdown table. Each client is a thread with its own keep-alive
stdlib `http.client` connection: a lean load generator, so the numbers are the server's (an httpx
AsyncClient with 50 connections on the same 2 cores spends more CPU than the server and hides it).

`--events JOBS` instead runs JOBS `demo/count` jobs of `--per-job` events each (10 000 by default) and prints
the server process's resident memory (Linux `/proc`) before and after.

    python bench/emulator.py [--jobs 1000] [--concurrency 1 50]
    python bench/emulator.py --events 30 [--per-job 10000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import threading
import time
from typing import Any
from urllib.parse import urlparse

import starlette
import uvicorn

from puras_nb import local

BODY = json.dumps({"skill": "slow", "inputs": {"seconds": 0}})
PATH = "/v1/jobs?skillpack=demo&wait=true&timeout=30"


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def run_level(url: str, key: str, concurrency: int, jobs: int) -> tuple[float, list[float]]:
    """Submit `jobs` zero-second jobs from `concurrency` client threads; returns (elapsed s, latencies in s)."""
    address = urlparse(url)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    latencies: list[float] = []
    errors: list[str] = []
    remaining = [jobs]
    lock = threading.Lock()
    ready = threading.Barrier(concurrency + 1)

    def one(conn: http.client.HTTPConnection) -> None:
        started = time.perf_counter()
        conn.request("POST", PATH, body=BODY, headers=headers)
        response = conn.getresponse()
        job = json.loads(response.read())
        elapsed = time.perf_counter() - started
        with lock:
            latencies.append(elapsed)
            if response.status != 201 or job.get("status") != "succeeded":
                errors.append(f"{response.status}: {job}")

    def client() -> None:
        conn = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        one(conn)
        ready.wait()
        while True:
            with lock:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
            one(conn)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    ready.wait()
    with lock:
        latencies.clear()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} jobs did not succeed, e.g. {errors[0]}")
    return elapsed, latencies


def rss_mb(pid: int) -> float:
    """A process's resident memory in MB (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return kb / 1024


def events_memory(jobs: int, per_job: int) -> None:
    """Run `jobs` count jobs of `per_job` progress events at once and print the server's memory around them."""
    with local.start() as server:
        address = urlparse(server.url)
        conn = http.client.HTTPConnection(address.hostname, address.port, timeout=600)
        headers = {"Authorization": f"Bearer {server.api_key}", "Content-Type": "application/json"}

        def call(method: str, path: str, body: dict | None = None) -> Any:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            return json.loads(conn.getresponse().read())

        assert server.pid is not None
        call("POST", "/v1/jobs?skillpack=demo&wait=true", {"skill": "echo", "inputs": {}})  # warm
        before = rss_mb(server.pid)
        started = time.perf_counter()
        ids = [call("POST", "/v1/jobs?skillpack=demo", {"skill": "count", "inputs": {"n": per_job, "delay": 0}})
               for _ in range(jobs)]
        for job in ids:
            while call("GET", f"/v1/jobs/{job['id']}")["status"] not in ("succeeded", "failed"):
                time.sleep(0.2)
        elapsed = time.perf_counter() - started
        after = rss_mb(server.pid)
        events = sum(len(call("GET", f"/v1/jobs/{job['id']}/events")) for job in ids)
        health = call("GET", "/health")
    print(f"Emulator: {jobs} `demo/count` jobs of {per_job} events at once (child process)")
    print()
    print("| events kept | server RSS before | after | added | json_bytes held | wall s |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| {events} | {before:.0f} MB | {after:.0f} MB | {after - before:.0f} MB | "
          f"{health['json_bytes'] / 2**20:.0f} MB | {elapsed:.1f} |")


def main() -> None:
    """Start an emulator, run every concurrency level, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000, help="jobs per concurrency level (default 1000)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 50], help="client counts (default 1 50)")
    parser.add_argument("--events", type=int, metavar="JOBS", help="measure memory around JOBS event-heavy jobs")
    parser.add_argument("--per-job", type=int, default=10_000, help="events per job with --events (default 10000)")
    args = parser.parse_args()
    if args.events:
        events_memory(args.events, args.per_job)
        return
    rows = []
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with local.start() as server:
        for level in args.concurrency:
            elapsed, latencies = run_level(server.url, server.api_key, level, args.jobs)
            rows.append(
                f"| {level} | {len(latencies)} | {len(latencies) / elapsed:.0f} | "
                f"{percentile(latencies, 50) * 1000:.1f} | {percentile(latencies, 95) * 1000:.1f} | "
                f"{statistics.mean(latencies) * 1000:.1f} |"
            )
    print("Emulator: `POST /v1/jobs?wait=true` of `demo/slow {seconds: 0}` (child process, loopback, keep-alive)")
    print()
    print("| clients | jobs | jobs/s | p50 ms | p95 ms | mean ms |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))
    print()
    print(
        f"{os.cpu_count()} CPUs (shared with the load generator), load average {load:.1f} at start, "
        f"Python {platform.python_version()}, uvicorn {uvicorn.__version__} (h11), starlette {starlette.__version__}."
    )


if __name__ == "__main__":
    main()
