"""The notebook path side by side with the official client, in one run, in a real kernel on the emulator.

Prints markdown tables:
- fan-out: N `demo/count` jobs (2.4-5.6 s) started in one cell; p95 of (moment the kernel knew the job
  ended - the server's finished_at), and HTTP requests per job seen by the server. puras-nb: LiveJobs
  (each shown as a widget); official: `puras.Client.wait` in one thread per job (its 2 s polls);
- a busy kernel: widget updates of a `--bg` job during a `time.sleep(4)` cell;
- cell times: a tiny job and a 0.5 s job as `%puras run` cells vs `puras.Client().run` cells;
- the kernel's trivial-cell round-trip p95 with 200 live jobs.
Numbers on a shared 2-core machine are noisy: compare the ratios of one run.

    python -m bench.notebook [--sizes 20,60,200]  # from the repository root
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import httpx

from puras_nb import local
from tests.harness.kernel import Kernel

SETUP = """
import json, random, threading, time
import puras, puras_nb
from puras_nb.api.flows import parse_time
%load_ext puras_nb
official = puras.Client()
def spans(n, seed):
    rng = random.Random(seed)
    return [{'n': rng.randint(8, 14), 'delay': 0.4} for _ in range(n)]  # 3.2-5.6 s
"""

OURS = """
fan = [puras_nb.start('demo/count', i) for i in spans({n}, {n})]
for j in fan: j.wait(60)
late = sorted(j._finished_at - parse_time(j.job['finished_at']) for j in fan)
print(json.dumps([late[int(len(late) * 0.95) - 1], sum(j.status == 'succeeded' for j in fan)]))
"""

THEIRS = """
def follow(job, out):
    done = official.wait(job['id'], timeout=60)
    out.append(time.time() - parse_time(done['finished_at']))
subs = [official.submit('demo/count', i, skillpack='local/demo') for i in spans({n}, {n})]
late = []
threads = [threading.Thread(target=follow, args=(s, late)) for s in subs]
for t in threads: t.start()
for t in threads: t.join()
late.sort()
print(json.dumps([late[int(len(late) * 0.95) - 1], len(late)]))
"""


def _auth(server: local.LocalServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.api_key}"}


def requests(server: local.LocalServer) -> int:
    return httpx.get(f"{server.url}/_emulator/stats", headers=_auth(server), timeout=10).json()["requests"]


def reset(server: local.LocalServer) -> None:
    httpx.post(f"{server.url}/_emulator/reset-stats", headers=_auth(server), timeout=10).raise_for_status()


def fan_out(kernel: Kernel, server: local.LocalServer, n: int) -> dict:
    row = {"jobs": n}
    for who, code in (("ours", OURS), ("official", THEIRS)):
        reset(server)
        p95, finished = json.loads(kernel.ok(code.format(n=n), timeout=180).stdout.strip().splitlines()[-1])
        row[who] = (p95, (requests(server) - 1) / n, finished)
    return row


def busy(kernel: Kernel) -> int:
    kernel.ok("%puras run demo/count n=10 delay=0.3 --bg -o bgjob")
    ids = set(json.loads(kernel.ok(
        "from puras_nb.views.job import descendants\n"
        "print(json.dumps([x.model_id for x in descendants(bgjob.widget)]))").stdout))
    cell = kernel.ok("time.sleep(4)")
    return len(kernel.comm_updates(ids, since=cell.sent + 0.2, until=cell.idle - 0.1))


def cell_ms(kernel: Kernel, code: str, n: int = 15) -> float:
    times = []
    for _ in range(n):
        cell = kernel.ok(code, timeout=60)
        times.append((cell.idle - cell.sent) * 1000)
    return statistics.median(times)


def round_trip_p95(kernel: Kernel, live: int) -> float:
    kernel.ok(f"load = [puras_nb.start('demo/count', {{'n': 100, 'delay': 0.5}}) for _ in range({live})]",
               timeout=180)
    time.sleep(2)
    times = []
    for _ in range(60):
        cell = kernel.ok("1 + 1")
        times.append((cell.idle - cell.sent) * 1000)
        time.sleep(0.05)
    kernel.ok("for j in load: j.request_cancel()")
    times.sort()
    return times[int(len(times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="20,60,200")
    sizes = [int(x) for x in parser.parse_args().sizes.split(",")]
    with local.start() as server:
        env = {"PURAS_API_BASE": server.url, "PURAS_API_KEY": server.api_key}
        kernel = Kernel(env)
        try:
            kernel.ok(SETUP, timeout=60)
            kernel.ok("%puras run demo/echo x=1")  # warm-up: imports, connections, widget classes
            kernel.ok("official.run('demo/echo', {'x': 1}, skillpack='local/demo')")
            rows = [fan_out(kernel, server, n) for n in sizes]
            updates = busy(kernel)
            tiny = (cell_ms(kernel, "%puras run demo/echo x=1"),
                    cell_ms(kernel, "official.run('demo/echo', {'x': 1}, skillpack='local/demo')"))
            half = (cell_ms(kernel, "%puras run demo/slow seconds=0.5", 8),
                    cell_ms(kernel, "official.run('demo/slow', {'seconds': 0.5}, skillpack='local/demo')", 8))
            p95 = round_trip_p95(kernel, 200)
        finally:
            kernel.close()
    print("| live jobs in one cell | detection p95, puras-nb | official (thread per job) | requests/job, puras-nb "
          "| official |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        (ours, ours_req, _), (theirs, theirs_req, _) = r["ours"], r["official"]
        print(f"| {r['jobs']} | {ours:.2f} s | {theirs:.2f} s | {ours_req:.1f} | {theirs_req:.1f} |")
    print()
    print("| cell | puras-nb | official `puras.Client.run` | ratio |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| tiny job (`demo/echo`) | {tiny[0]:.0f} ms | {tiny[1]:.0f} ms | {tiny[1] / tiny[0]:.1f}x |")
    print(f"| 0.5 s job (`demo/slow`) | {half[0]:.0f} ms | {half[1]:.0f} ms | {half[1] / half[0]:.1f}x |")
    print()
    print(f"widget updates of a --bg job during a time.sleep(4) cell: {updates} (official client: no widget)")
    print(f"trivial cell round-trip p95 with 200 live jobs: {p95:.1f} ms")


if __name__ == "__main__":
    main()
