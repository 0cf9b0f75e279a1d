"""Measure the benchmark harness: its overhead over the solvers' own time, and 2-worker speedup.

Runs a sweep of 100 small MTRCE runs (20 random 15-point orienteering instances x 5 seeds, solver
``ils`` with a 0.5 s limit, which uses its whole limit) once with one local worker and once with
two, into fresh stores, and prints:

- overhead = (sweep wall time - summed solver runtime) / summed solver runtime, with one worker;
- speedup = wall time with one worker / wall time with two.

Usage: ``python tests/benchmarks/harness_overhead.py [--runs-per-instance 5] [--limit 0.5]``.
The figures depend on the machine's load: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from daitn_opt.bench.store import ResultsStore
from daitn_opt.bench.sweep import plan_tasks, run_sweep
from daitn_opt.drrt import save_instance


def main() -> None:
    from tests.bench.test_sweep import op_instance

    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--limit", type=float, default=0.5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for k in range(args.instances):
            path = Path(tmp) / f"op{k}.json"
            save_instance(op_instance(15, k), path)
            files.append(path)
        tasks = plan_tasks(files, "mtrce", ["ils"], list(range(args.seeds)), args.limit)
        walls = {}
        for workers in (1, 2):
            with ResultsStore(Path(tmp) / f"w{workers}.sqlite") as store:
                load = os.getloadavg()[0]
                summary = run_sweep(tasks, store, workers=workers)
                rows = store.rows()
            solver_time = sum(r["runtime"] for r in rows)
            walls[workers] = summary.wall
            bad = sum(r["check_ok"] != 1 for r in rows)
            print(
                f"workers={workers}: {len(rows)} runs, wall {summary.wall:.2f} s, summed solver "
                f"time {solver_time:.2f} s, load at start {load:.2f}, checker failures {bad}"
            )
            if workers == 1:
                print(f"harness overhead: {100 * (summary.wall - solver_time) / solver_time:.2f}%")
        print(f"speedup with 2 workers: {walls[1] / walls[2]:.2f}x")


if __name__ == "__main__":
    main()
