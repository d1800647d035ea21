"""The cell path side by side, in one real kernel on the emulator: what a tiny job costs a cell.

One run times, in interleaved rounds (so a busy machine slows every kind alike): a trivial cell, a blocking
`%puras run demo/echo hi=1` (its live widget and static view included), `puras_nb.run(...)`, our `Client.run`
in a cell and the official `puras.Client.run` in a cell. Each row: median and p95 of the round trip (execute
request sent -> the kernel's idle status arrived) and of the kernel's own wall (its busy -> idle timestamps),
the iopub messages and bytes a cell caused, and the ratio to the trivial cell. Ratios of one run are what to
compare: the machine is shared.

    python -m bench.cell [--rounds 40] [--profile 20]  # from the repository root

`--profile N` then runs `%puras run` N more times under cProfile, on the kernel thread and on puras-nb's runtime
thread, and prints where each spends its time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import Counter

from puras_nb import local
from tests.harness.kernel import Cell, Kernel

SETUP = """
import puras, puras_nb
%load_ext puras_nb
client = puras_nb.Client()
official = puras.Client()
"""

CELLS = {
    "trivial cell (`1 + 1`)": "1 + 1",
    "`%puras run demo/echo hi=1`": "%puras run demo/echo hi=1",
    "`puras_nb.run('demo/echo', {'hi': 1})`": "puras_nb.run('demo/echo', {'hi': 1})",
    "`puras_nb.Client().run(...)` in a cell": "client.run('demo/echo', {'hi': 1})",
    "official `puras.Client().run(...)` in a cell": "official.run('demo/echo', {'hi': 1}, skillpack='local/demo')",
}
GAP = 0.1  # seconds between cells: what a job's view still sends after its cell is counted, not left to the next

def _stamp(msg: dict) -> float:
    """The kernel's own send time of a message (its header date) in seconds."""
    date = msg["header"]["date"]
    return date.timestamp() if hasattr(date, "timestamp") else 0.0


def kernel_wall(cell: Cell) -> float:
    """The kernel's busy -> idle for `cell`, in ms, from its own timestamps (no client or transport time)."""
    states = {m["content"]["execution_state"]: _stamp(m) for m in cell.outputs if m["msg_type"] == "status"}
    return (states["idle"] - states["busy"]) * 1000


def traffic(kernel: Kernel, cell: Cell) -> tuple[Counter, int]:
    """iopub messages with this cell as parent (the ones sent after its idle too) by type, and their JSON bytes."""
    mine = [m for _, m in kernel.messages() if m["parent_header"].get("msg_id") == cell.msg_id]
    mine = [m for m in mine if m["msg_type"] not in ("status", "execute_input")]
    return Counter(m["msg_type"] for m in mine), sum(len(json.dumps(m["content"], default=str)) for m in mine)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def measure(kernel: Kernel, rounds: int) -> dict[str, dict]:
    rows: dict[str, dict] = {
        name: {"trip": [], "wall": [], "msgs": [], "bytes": [], "kinds": Counter()} for name in CELLS
    }
    for _ in range(rounds):
        for name, code in CELLS.items():
            cell = kernel.ok(code, timeout=60)
            time.sleep(GAP)
            row = rows[name]
            row["trip"].append((cell.idle - cell.sent) * 1000)
            row["wall"].append(kernel_wall(cell))
            kinds, size = traffic(kernel, cell)
            row["msgs"].append(sum(kinds.values()))
            row["bytes"].append(size)
            row["kinds"].update(kinds)
    return rows


PROFILED = """
import cProfile, pstats, io, threading
from puras_nb.runtime import loop as _rt
_main_prof, _rt_prof = cProfile.Profile(), cProfile.Profile()
_rt_ready = threading.Event()
def _on_rt(enable):
    (_rt_prof.enable if enable else _rt_prof.disable)()
    _rt_ready.set()
def _profile_runtime(enable):
    _rt_ready.clear()
    _rt.call_soon(_on_rt, enable)
    _rt_ready.wait(5)
"""

REPORT = """
for _name, _prof in (("kernel thread", _main_prof), ("runtime thread", _rt_prof)):
    _out = io.StringIO()
    pstats.Stats(_prof, stream=_out).sort_stats({sort!r}).print_stats({top})
    print("=" * 30, _name, "=" * 30)
    print(_out.getvalue())
"""


def profile(kernel: Kernel, n: int, sort: str, top: int) -> str:
    """`%puras run` n times with cProfile on the kernel thread (around each cell) and the runtime thread."""
    kernel.ok(PROFILED)
    kernel.ok("_profile_runtime(True)")
    for _ in range(n):
        kernel.ok("_main_prof.enable()\n%puras run demo/echo hi=1\n_main_prof.disable()")
        time.sleep(GAP)
    kernel.ok("_profile_runtime(False)")
    return kernel.ok(REPORT.format(sort=sort, top=top), timeout=60).stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=45)
    args = parser.parse_args()
    with local.start() as server:
        kernel = Kernel({"PURAS_API_BASE": server.url, "PURAS_API_KEY": server.api_key})
        try:
            kernel.ok(SETUP, timeout=60)
            for code in CELLS.values():  # warm-up: imports, connections, widget classes
                kernel.ok(code, timeout=60)
                kernel.ok(code, timeout=60)
            load = os.getloadavg()
            rows = measure(kernel, args.rounds)
            load_after = os.getloadavg()
            report = profile(kernel, args.profile, args.sort, args.top) if args.profile else ""
        finally:
            kernel.close()
    trivial = rows[next(iter(CELLS))]
    base_trip, base_wall = statistics.median(trivial["trip"]), statistics.median(trivial["wall"])
    print(f"{args.rounds} interleaved rounds; load average {load[0]:.2f} before, {load_after[0]:.2f} after "
          f"({os.cpu_count()} cores)")
    print()
    print("| cell | round trip median | p95 | kernel busy->idle median | p95 | iopub msgs | bytes "
          "| x trivial (round trip) | x trivial (kernel) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, row in rows.items():
        trip, wall = statistics.median(row["trip"]), statistics.median(row["wall"])
        print(f"| {name} | {trip:.1f} ms | {pct(row['trip'], 0.95):.1f} ms | {wall:.1f} ms "
              f"| {pct(row['wall'], 0.95):.1f} ms | {statistics.median(row['msgs']):.0f} "
              f"| {statistics.median(row['bytes']):.0f} | {trip / base_trip:.2f} | {wall / base_wall:.2f} |")
    for name, row in rows.items():
        if sum(row["kinds"].values()) > args.rounds:
            kinds = ", ".join(f"{kind} {n / args.rounds:.0f}" for kind, n in row["kinds"].most_common())
            print(f"\n{name}, iopub messages a cell: {kinds}")
    if report:
        print()
        print(report)


if __name__ == "__main__":
    main()
