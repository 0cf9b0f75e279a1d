"""The legs of one K-AS request run one after the other and on Dask, with 1, 2 and 4 workers.

    .venv/bin/python papers/kas/dask_legs.py [--nodes 5000] [--domains 8] [--legs-time 4]
        [--workers 1,2,4] [--scheduler tcp://host:8786] [--out papers/kas/dask.md]

One random geometric snapshot (seed 1, first request), geographic domains; the domain level is
planned once and its legs solved (a) in this process one after the other and (b) as Dask tasks
on a ``LocalCluster(n_workers=w, threads_per_worker=1)`` per worker count (or on the scheduler
given). Two leg solvers: ``greedy`` runs to completion, so its wall time is compute;
``ils`` stops at its limit (each leg gets a share of ``--legs-time`` in proportion to its
size), so its sequential wall time is the sum of the shares and its parallel one their
maximum. No roll-over of unused time in either (it needs the legs in order). Reported: the
legs' wall seconds, the speed-up over sequential, the stitched utility (checked), and each
leg's sequential seconds, from which the wall time on a cluster with a worker per leg is the
largest leg plus the measured per-task overhead.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from daitn_opt.drrt.generators import generate  # noqa: E402
from daitn_opt.drrt.view import view  # noqa: E402
from daitn_opt.kas import partition, solve_hierarchical  # noqa: E402
from daitn_opt.kas.parallel import connect, dask_runner  # noqa: E402
from daitn_opt.mtrce import from_view  # noqa: E402


def timed_sequential(fn, jobs, spent):
    out = []
    for job in jobs:
        t = time.perf_counter()
        out.append(fn(*job))
        spent.append(time.perf_counter() - t)
    return out


def run(p, dom, solver, legs_time, runner):
    r = solve_hierarchical(p, dom, solver=solver, time_limit=legs_time, runner=runner)
    assert r.stats["checked"], r.stats["violations"]
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--domains", type=int, default=8)
    ap.add_argument("--legs-time", type=float, default=4.0)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--scheduler", default=None)
    ap.add_argument("--out", default=str(ROOT / "papers" / "kas" / "dask.md"))
    args = ap.parse_args()
    from distributed import Client, LocalCluster

    inst = generate("random-geometric", nodes=args.nodes, seed=1)
    p = from_view(view(inst))
    dom = partition(inst.snapshot, args.domains, seed=0)
    lines = []
    for solver in ("greedy", "ils"):
        run(p, dom, solver, args.legs_time, partial(timed_sequential, spent=[]))  # warm-up
        spent: list[float] = []
        seq = run(p, dom, solver, args.legs_time, partial(timed_sequential, spent=spent))
        legs = len(seq.stats["order"])
        lines.append(
            f"| {solver} | sequential | {legs} | {seq.stats['legs_seconds']:.2f} | 1.00 "
            f"| {seq.objective:.0f} | {', '.join(f'{s:.2f}' for s in spent)} | {os.getloadavg()[0]:.1f} |"
        )
        targets = [args.scheduler] if args.scheduler else [int(w) for w in args.workers.split(",")]
        for target in targets:
            if isinstance(target, int):
                cluster = LocalCluster(
                    n_workers=target, threads_per_worker=1, processes=True, dashboard_address=None
                )
                client = Client(cluster)
            else:
                cluster, client = None, connect(target)
            try:
                # Warm-up: the same run once, so that each worker's first-call costs (imports,
                # compiled kernels) do not eat the measured legs' time limits (ils legs would
                # then return their construction: the greedy route).
                run(p, dom, solver, args.legs_time, dask_runner(client))
                r = run(p, dom, solver, args.legs_time, dask_runner(client))
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
            lines.append(
                f"| {solver} | dask {target} worker(s) | {len(r.stats['order'])} "
                f"| {r.stats['legs_seconds']:.2f} "
                f"| {seq.stats['legs_seconds'] / max(r.stats['legs_seconds'], 1e-9):.2f} "
                f"| {r.objective:.0f} | | {os.getloadavg()[0]:.1f} |"
            )
            print(lines[-1], flush=True)
    text = (
        "# K-AS legs of one request on Dask\n\n"
        f"`papers/kas/dask_legs.py --nodes {args.nodes} --domains {args.domains} "
        f"--legs-time {args.legs_time:g}`: view of {p.n:,} nodes. Legs s = wall seconds of the "
        "legs' solves (planning excluded); speed-up = sequential / this.\n\n"
        "| leg solver | run | legs | legs s | speed-up | utility (checked) "
        "| sequential s per leg | load |\n|---|---|---|---|---|---|---|---|\n"
        + "\n".join(lines)
        + "\n"
    )
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
