"""The cell path side by side, in one real kernel on the emulator: what a tiny job costs a cell.

One run times, in interleaved rounds (so a busy machine slows every kind alike): a trivial cell, a blocking
`%puras run demo/echo hi=1` (its live widget and static view included), the same with `--no-display` (the path
without its view), `puras_nb.run(...)`, our `Client.run` in a cell and the official `puras.Client.run` in a cell.
Each row: median and p95 of the round trip (execute request sent -> the kernel's idle status arrived) and of the
kernel's own wall (its busy -> idle timestamps), the CPU time the kernel process spent on the cell (all its
threads, from the scheduler: the measure a loaded machine distorts least), the iopub messages and bytes a cell
caused, and the ratios to the trivial cell. Ratios of one run are what to compare: the machine is shared.

    python -m bench.cell [--rounds 40] [--profile 20]  # from the repository root

`--profile N` then runs `%puras run` (or `--code`) N more times under cProfile, on the kernel thread and on
puras-nb's runtime thread, and prints where each spends its time.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
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

IDLE = "idle (no cell, the same wait)"
CELLS = {
    "trivial cell (`1 + 1`)": "1 + 1",
    "`%puras run demo/echo hi=1`": "%puras run demo/echo hi=1",
    "`%puras run demo/echo hi=1 --no-display` (no view)": "%puras run demo/echo hi=1 --no-display",
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


def kernel_cpu(kernel: Kernel) -> float:
    """CPU time (ms) the kernel process has used so far, all its threads (the scheduler's own count, in ns): what a
    cell costs the kernel whatever the machine's load, where wall times also hold the waits for a busy CPU."""
    pid = kernel.km.provisioner.process.pid  # type: ignore[union-attr]
    total = 0
    for stat in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        with contextlib.suppress(OSError), open(stat) as f:  # OSError: a thread that ended meanwhile
            total += int(f.read().split()[0])
    return total / 1e6


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def measure(kernel: Kernel, rounds: int) -> tuple[dict[str, dict], list[float]]:
    rows: dict[str, dict] = {
        name: {"trip": [], "wall": [], "cpu": [], "msgs": [], "bytes": [], "kinds": Counter()} for name in CELLS
    }
    idle: list[float] = []
    for _ in range(rounds):
        cpu = kernel_cpu(kernel)
        time.sleep(GAP)
        idle.append(kernel_cpu(kernel) - cpu)
        for name, code in CELLS.items():
            cpu = kernel_cpu(kernel)
            cell = kernel.ok(code, timeout=60)
            time.sleep(GAP)
            row = rows[name]
            row["cpu"].append(kernel_cpu(kernel) - cpu)
            row["trip"].append((cell.idle - cell.sent) * 1000)
            row["wall"].append(kernel_wall(cell))
            kinds, size = traffic(kernel, cell)
            row["msgs"].append(sum(kinds.values()))
            row["bytes"].append(size)
            row["kinds"].update(kinds)
    return rows, idle


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


def profile(kernel: Kernel, n: int, sort: str, top: int, code: str) -> str:
    """`code` n times with cProfile on the kernel thread (around each cell) and the runtime thread."""
    kernel.ok(PROFILED)
    kernel.ok("_profile_runtime(True)")
    for _ in range(n):
        kernel.ok(f"_main_prof.enable()\n{code}\n_main_prof.disable()")
        time.sleep(GAP)
    kernel.ok("_profile_runtime(False)")
    return kernel.ok(REPORT.format(sort=sort, top=top), timeout=60).stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--code", default="%puras run demo/echo hi=1", help="the cell --profile runs")
    args = parser.parse_args()
    with local.start() as server:
        kernel = Kernel({"PURAS_API_BASE": server.url, "PURAS_API_KEY": server.api_key})
        try:
            kernel.ok(SETUP, timeout=60)
            for code in CELLS.values():  # warm-up: imports, connections, widget classes
                kernel.ok(code, timeout=60)
                kernel.ok(code, timeout=60)
            load = os.getloadavg()
            rows, idle = measure(kernel, args.rounds)
            load_after = os.getloadavg()
            report = profile(kernel, args.profile, args.sort, args.top, args.code) if args.profile else ""
        finally:
            kernel.close()
    trivial = rows[next(iter(CELLS))]
    base = {key: statistics.median(trivial[key]) for key in ("trip", "wall", "cpu")}
    print(f"{args.rounds} interleaved rounds; load average {load[0]:.2f} before, {load_after[0]:.2f} after "
          f"({os.cpu_count()} cores)")
    print()
    print("| cell | round trip median | p95 | kernel busy->idle median | p95 | kernel CPU median | iopub msgs "
          "| bytes | x trivial: round trip | busy->idle | CPU |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| {IDLE} | | | | | {statistics.median(idle):.1f} ms | | | | | |")
    for name, row in rows.items():
        mid = {key: statistics.median(row[key]) for key in ("trip", "wall", "cpu")}
        print(f"| {name} | {mid['trip']:.1f} ms | {pct(row['trip'], 0.95):.1f} ms | {mid['wall']:.1f} ms "
              f"| {pct(row['wall'], 0.95):.1f} ms | {mid['cpu']:.1f} ms | {statistics.median(row['msgs']):.0f} "
              f"| {statistics.median(row['bytes']):.0f} | "
              + " | ".join(f"{mid[key] / base[key]:.2f}" for key in ("trip", "wall", "cpu")) + " |")
    for name, row in rows.items():
        if sum(row["kinds"].values()) > args.rounds:
            kinds = ", ".join(f"{kind} {n / args.rounds:.1f}" for kind, n in row["kinds"].most_common())
            print(f"\n{name}, iopub messages a cell: {kinds}")
    if report:
        print()
        print(report)


if __name__ == "__main__":
    main()
