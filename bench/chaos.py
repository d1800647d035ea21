"""Chaos run: `run()` of short emulator jobs through a fault-injecting proxy, ours against the official client.

One emulator behind tests/harness/chaos.py's proxy, which fails a share of the POSTs or the GETs to /v1/: a
reset before the server saw the request, a reset after it processed it, a 502 after it processed it, or the
answer cut short. Every run has its own inputs, so the jobs it created can be counted on the emulator
afterwards (directly, not through the proxy). For each client and fault mix:
- ok: run() returned the job's result;
- lost: run() failed and no job exists, although resending was safe (the server never processed it);
- duplicates: jobs beyond the first that one run() created;
- unnamed: run() failed, a job exists, and the error neither names it nor says that one may exist;
- wall: seconds for all the runs (4 at a time).
"puras_nb" runs as a user would (the server holds the submission until the job ends, so a short job makes
no GET); "puras_nb, polling" submits without a server-side wait and polls, as the official client does.

Usage, from the repository root: python -m bench.chaos [--runs N] (default 40 per client and mix; about a
minute). Bounded: at most --runs runs per cell, each with a 30 s timeout.
"""

from __future__ import annotations

import argparse
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import puras

import puras_nb
from puras_nb import local
from tests.harness import chaos  # the proxy the tests use

KINDS = (chaos.RESET_BEFORE, chaos.RESET_AFTER, chaos.BAD_GATEWAY_AFTER, chaos.TRUNCATE_AFTER)
MIXES = [(0.1, "POST"), (0.3, "POST"), (0.1, "GET"), (0.3, "GET")]
CLIENTS = ("puras_nb", "puras_nb, polling", "official puras")
POLLING = CLIENTS[1]
INPUTS = {"n": 2, "delay": 0.1}  # a 0.2 s job, so that the official client polls at least once


def one_run(client: Any, tag: str, i: int) -> str:
    """'' when run() returned the result, else the error's text."""
    try:
        result = client.run("count", {**INPUTS, "tag": tag, "i": i}, timeout=30, poll_interval=0.1)
    except Exception as exc:  # every failure is an outcome to count
        return f"{type(exc).__name__}: {exc}"
    return "" if result == {"count": INPUTS["n"]} else f"wrong result {result!r}"


def cell(server: local.LocalServer, client_name: str, rate: float, method: str, runs: int) -> dict[str, Any]:
    """Run `runs` run()s of one client through a proxy failing `rate` of the `method` requests."""
    tag = uuid.uuid4().hex
    decide = chaos.random_faults(rate, (method,), KINDS, seed=int(rate * 100) + len(method))
    with chaos.ChaosProxy(server.url, decide) as proxy:
        if client_name.startswith("puras_nb"):
            client: Any = puras_nb.Client(server.api_key, "demo", api_base=proxy.url)
            if client_name == POLLING:
                client.max_server_wait = 0  # submit, then poll: puts our GETs under fire too
        else:
            client = puras.Client(server.api_key, "demo", api_base=proxy.url)
        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            errors = list(pool.map(lambda i: one_run(client, tag, i), range(runs)))
        wall = time.monotonic() - started
        if client_name.startswith("puras_nb"):
            client.close()
        faults = sum(n for action, n in proxy.counts.items() if action != chaos.PASS)
    jobs = httpx.get(f"{server.url}/v1/jobs", params={"skill": "count", "limit": 1000},
                     headers={"Authorization": f"Bearer {server.api_key}"}, timeout=30).json()
    created: dict[int, list[str]] = {}
    for job in jobs:
        if job["inputs"].get("tag") == tag:
            created.setdefault(job["inputs"]["i"], []).append(job["id"])
    lost = duplicates = unnamed = 0
    for i, error in enumerate(errors):
        ids = created.get(i, [])
        duplicates += max(0, len(ids) - 1)
        if error and not ids:
            lost += 1
        elif error and not any(job_id in error for job_id in ids) and "may have been created" not in error:
            unnamed += 1
    return {"ok": errors.count(""), "lost": lost, "duplicates": duplicates, "unnamed": unnamed, "wall": wall,
            "faults": faults}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="run()s per client and fault mix (max 200)")
    runs = min(200, max(1, parser.parse_args().runs))
    print(f"{runs} run()s of demo/count (0.2 s) per cell, 4 at a time; faults: {', '.join(KINDS)}\n")
    print("| faults | client | ok | lost | duplicates | unnamed | wall s | faults injected |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    with local.start() as server:
        for rate, method in MIXES:
            for name in CLIENTS:
                r = cell(server, name, rate, method, runs)
                print(f"| {rate:.0%} of {method}s | {name} | {r['ok']}/{runs} | {r['lost']} | {r['duplicates']} "
                      f"| {r['unnamed']} | {r['wall']:.1f} | {r['faults']} |", flush=True)


if __name__ == "__main__":
    main()
