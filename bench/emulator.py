"""Benchmark the local emulator: tiny-job throughput and `POST /v1/jobs?wait=true` latency.

Runs `demo/slow` with `seconds=0` (a job that does nothing) through a child-process emulator, from 1 and
from 50 concurrent clients, and prints a Markdown table. Each client is a thread with its own keep-alive
stdlib `http.client` connection: a lean load generator, so the numbers are the server's (an httpx
AsyncClient with 50 connections on the same 2 cores spends more CPU than the server and hides it).

    python bench/emulator.py [--jobs 1000] [--concurrency 1 50]
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


def main() -> None:
    """Start an emulator, run every concurrency level, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000, help="jobs per concurrency level (default 1000)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 50], help="client counts (default 1 50)")
    args = parser.parse_args()
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
