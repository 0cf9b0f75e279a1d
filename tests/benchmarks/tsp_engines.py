"""TSP tour engines side by side on TSPLIB at a CPU-time limit (a script, not a unit test).

Usage::

    .venv/bin/python tests/benchmarks/tsp_engines.py [--limit 1] [--max-n 1000]
        [--configs old,lk,lk:depth=5:span=50] [--seed 0] [--csv out.csv]

Every shipped TSPLIB instance (``instances/classic/tsplib/``, proven optima in ``solutions``) is
solved by each configuration from the same farthest-insertion tour with the same seed, one after
the other in this one process, each stopped by *CPU time* (``time.process_time``), so the
comparison holds on a loaded machine; the 1-minute load is printed at the start and the end.
``old`` is the vectorised 2-opt / or-opt ILS of :mod:`daitn_opt.mtrce.tour`, ``lk`` the compiled
LK + or-opt ILS of :mod:`daitn_opt.mtrce.lk` with options ``depth``, ``breadth``, ``span``,
``vary``, ``k`` (neighbour list length) and a kick budget ``itn`` / ``patn`` (``itn * n + 10000``
kicks, ``patn * n + 5000`` without improvement; default: only the limit stops). Every tour is checked to visit each city once. The compiled
functions are loaded before the first timed run.

Measured at f448ae7 (1 s CPU, all 53 instances, load 21-27): ``old`` mean gap 0.63%, max 3.45%,
25 optimal, 708 kicks; ``lk`` 0.005%, max 0.22%, 49 optimal, 90,677 kicks. With the kick budget
``lk:itn=1000:patn=200`` (load 12-14): 0.008%, max 0.22%, 48 optimal, 27,130 kicks (runs end
before the second on most instances).
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path
from statistics import mean

import numpy as np

from daitn_opt.drrt.converters import convert
from daitn_opt.mtrce import from_instance, lk
from daitn_opt.mtrce.plan import Arrays
from daitn_opt.mtrce.tour import farthest_insertion, ils_tour, neighbour_lists, path_length

TSPLIB = Path(__file__).resolve().parents[2] / "instances" / "classic" / "tsplib"
CLASSES = ((1, 99), (100, 199), (200, 300), (301, 1000))


def optima() -> dict[str, float]:
    out = {}
    for line in (TSPLIB / "solutions").read_text().splitlines():
        name, _, value = line.partition(":")
        if value.strip():
            out[name.strip()] = float(value.split()[0])
    return out


def parse(config: str) -> tuple[str, dict[str, int]]:
    name, *opts = config.split(":")
    return name, {k: int(v) for k, v in (o.split("=") for o in opts)}


def run(config: str, arr: Arrays, limit: float, seed: int) -> tuple[float, int, float]:
    """(length, kicks, CPU seconds) of one configuration on one instance."""
    engine, opts = parse(config)
    tour = farthest_insertion(arr.t, arr.s, arr.e, arr.customers)
    began = time.process_time()
    nodes = np.unique(tour)
    nbrs = neighbour_lists(arr.t, nodes, opts.pop("k", 10))
    rng = np.random.default_rng(seed)

    def stop() -> bool:
        return time.process_time() - began >= limit

    # itn / patn: a kick budget of itn * n + 10,000 kicks, patn * n + 5,000 without improvement.
    iterations = opts.pop("itn") * arr.n + 10_000 if "itn" in opts else 10**12
    patience = opts.pop("patn") * arr.n + 5_000 if "patn" in opts else None
    if engine == "old":
        best, kicks = ils_tour(arr.t, tour, rng, stop, 10**12, nbrs=nbrs, engine="2opt")
    else:
        if "wide" in opts:  # lk.ils's share of whole-tour kicks, given here in per mille
            opts["wide"] = opts["wide"] / 1000
        best, kicks = lk.ils(arr.t, tour, nbrs, rng, stop, iterations, patience, **opts)
    cpu = time.process_time() - began
    assert best[0] == arr.s and best[-1] == arr.e
    assert sorted(best[1:-1].tolist()) == sorted(arr.customers.tolist()), "not a tour"
    return path_length(arr.t, best), kicks, cpu


def label(n: int) -> str:
    return next(f"{lo}-{hi}" for lo, hi in CLASSES if lo <= n <= hi)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=1.0)
    ap.add_argument("--max-n", type=int, default=1000)
    ap.add_argument("--configs", default="old,lk")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default="", help="comma-separated instance names")
    ap.add_argument("--csv", type=Path, default=None)
    args = ap.parse_args()
    configs = args.configs.split(",")
    best_known = optima()
    warm = Arrays.of(from_instance(convert("tsplib", TSPLIB / "berlin52.tsp")))
    run("lk", warm, 0.05, 0)  # load (or compile) the numba functions outside the timing
    print(f"load at start {os.getloadavg()[0]:.1f}; numba {lk.HAVE_NUMBA}", flush=True)
    rows = []
    names = [p.stem for p in sorted(TSPLIB.glob("*.tsp"))]
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    for name in names:
        arr = Arrays.of(from_instance(convert("tsplib", TSPLIB / f"{name}.tsp")))
        if arr.n > args.max_n:
            continue
        opt = best_known[name]
        for config in configs:
            length, kicks, cpu = run(config, arr, args.limit, args.seed)
            gap = (length - opt) / opt
            rows.append(
                dict(
                    instance=name,
                    n=arr.n,
                    config=config,
                    length=length,
                    gap=gap,
                    kicks=kicks,
                    cpu=cpu,
                )
            )
            print(
                f"{name:10s} n={arr.n:4d} {config:24s} gap {100 * gap:6.3f}% kicks {kicks:7d} "
                f"cpu {cpu:.2f}",
                flush=True,
            )
    print(f"load at end {os.getloadavg()[0]:.1f}")
    print("| config | cities | runs | mean gap % | max gap % | optimal | mean kicks |")
    print("|---|---|---|---|---|---|---|")
    for config in configs:
        mine = [r for r in rows if r["config"] == config]
        for cls in [*(f"{lo}-{hi}" for lo, hi in CLASSES), "all"]:
            group = [r for r in mine if cls == "all" or label(r["n"]) == cls]
            if not group:
                continue
            gaps = [r["gap"] for r in group]
            print(
                f"| {config} | {cls} | {len(group)} | {100 * mean(gaps):.3f} "
                f"| {100 * max(gaps):.3f} | {sum(g <= 1e-9 for g in gaps)} "
                f"| {mean(r['kicks'] for r in group):.0f} |"
            )
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
