"""Benchmark a batch in a real kernel against the emulator, side by side with the emulator's own throughput.

Prints, in one run:
- the emulator's throughput for `demo/echo`: 2 000 jobs as 64 concurrent `POST /v1/jobs?wait=true` from one
  process (what the server can do, the ceiling);
- `puras_nb.map('demo/echo', 2 000 rows, max_running=64)` in a real kernel, displayed live: rows per second
  and its ratio to the ceiling;
- how much the kernel grew (RSS) over the batch, and a trivial cell's p50/p95 round trip during it.
Targets (issue 21): ratio >= 0.5, growth < 200 MB, trivial-cell p95 < 100 ms. Noisy on a loaded machine.

    /work/venv/bin/python bench/batch.py [ROWS]
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_kernel import KernelHarness

from puras_nb import AsyncClient, local

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
CONCURRENCY = 64
RSS = "int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1]) // 1024"


async def ceiling(server: local.LocalServer, n: int) -> float:
    """Jobs per second the emulator finishes for demo/echo with 64 held submissions in flight."""
    tag = uuid.uuid4().hex
    gate = asyncio.Semaphore(CONCURRENCY)
    async with AsyncClient(api_key=server.api_key, api_base=server.url) as client:

        async def one(i: int) -> None:
            async with gate:
                await client.submit("demo/echo", {"i": i, "ceiling": tag}, wait=True, timeout=60)

        began = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - began)


def batch_in_kernel(server: local.LocalServer, n: int) -> dict:
    """Run the batch in a fresh kernel; sample a trivial cell's round trip while it runs."""
    with tempfile.TemporaryDirectory() as tmp:
        kernel = KernelHarness({"PURAS_API_BASE": server.url, "PURAS_API_KEY": server.api_key,
                                "PURAS_NB_LEDGER": f"{tmp}/ledger.sqlite"})
        try:
            kernel.run("import puras_nb, time\nfrom puras_nb.views.job import descendants")
            kernel.run("puras_nb.map('demo/echo', [{'warm': 1}], display=False).wait(30)")  # imports, session
            before = int(kernel.value(RSS))
            tag = uuid.uuid4().hex
            kernel.run(f"rows = [{{'i': i, 'batch': '{tag}'}} for i in range({n})]\n"
                       "began = time.perf_counter()\n"
                       f"b = puras_nb.map('demo/echo', rows, max_running={CONCURRENCY})")
            ids = set(json.loads(kernel.value(
                "__import__('json').dumps([x.model_id for x in descendants(b.widget)])")))
            since = time.monotonic()
            trips = []
            while kernel.value("b.done()") != "True":
                cell = kernel.run("1 + 1")
                trips.append((cell["idle"] - cell["sent"]) * 1000)
                time.sleep(0.05)
            until = time.monotonic()
            updates = len(kernel.comm_updates(ids, since=since, until=until))
            kernel.run("b.wait(600)\nelapsed = time.perf_counter() - began")
            elapsed = float(kernel.value("elapsed"))
            outcomes = kernel.value("b.outcomes()")
            after = int(kernel.value(RSS))
        finally:
            kernel.close()
    trips.sort()
    return {
        "rows_per_s": n / elapsed,
        "elapsed": elapsed,
        "outcomes": outcomes,
        "growth_mb": after - before,
        "p50": statistics.median(trips) if trips else float("nan"),
        "p95": trips[max(0, int(len(trips) * 0.95) - 1)] if trips else float("nan"),
        "samples": len(trips),
        "msgs_per_s": updates / max(until - since, 1e-9),
    }


def main() -> None:
    server = local.start()
    try:
        top = asyncio.run(ceiling(server, ROWS))
        got = batch_in_kernel(server, ROWS)
    finally:
        server.stop()
    ratio = got["rows_per_s"] / top
    print(f"| measure ({ROWS} rows of demo/echo) | value | target |")
    print("| --- | --- | --- |")
    print(f"| emulator alone: {CONCURRENCY} concurrent POST ?wait=true | {top:.0f} jobs/s | |")
    print(f"| map(max_running={CONCURRENCY}) in a kernel | {got['rows_per_s']:.0f} rows/s ({got['elapsed']:.1f} s) | |")
    print(f"| ratio | {ratio:.2f} | >= 0.5 |")
    print(f"| kernel growth (RSS) | {got['growth_mb']} MB | < 200 MB |")
    print(f"| trivial cell during the batch, p50 / p95 ({got['samples']} cells) | {got['p50']:.0f} / "
          f"{got['p95']:.0f} ms | p95 < 100 ms |")
    print(f"| widget traffic of the batch's live view | {got['msgs_per_s']:.1f} msg/s | <= 10 msg/s per widget |")
    print(f"outcomes: {got['outcomes']}")


if __name__ == "__main__":
    main()
