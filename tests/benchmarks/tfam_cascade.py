"""The admission cascade in numbers: naive FCFS without capacity accounting vs T-FAM.

Run from the repository root::

    .venv/bin/python tests/benchmarks/tfam_cascade.py [--nodes 12] [--requests 60] [--compress 0.03]

Generates a healthcare batch (seeded), compresses its arrival times by ``--compress`` so that
requests overlap (over-subscription), builds candidate plans once, then admits (a) every request
whose best plan meets its deadline on an idle network, in arrival order, without capacity
accounting, and (b) T-FAM's admission of the same plans (``--solver``), replays both on a shared
clock with queueing at each node's training slots (:func:`daitn_opt.tfam.cascade.replay`), and
prints how many admitted requests miss their deadline under each.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from daitn_opt.drrt.generators import generate  # noqa: E402
from daitn_opt.tfam.cascade import cascade_demo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=12)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--compress", type=float, default=0.03)
    parser.add_argument("--solver", default="highs")
    parser.add_argument("--limit", type=float, default=60.0)
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    print(
        "seed requests plannable | naive: admitted missed value | tfam: admitted missed value status"
    )
    for seed in [int(s) for s in args.seeds.split(",")]:
        inst = generate("healthcare", nodes=args.nodes, seed=seed, requests=args.requests)
        reqs = [
            r.model_copy(update={"arrival": round(r.arrival * args.compress, 1)})
            for r in inst.requests
        ]
        out = cascade_demo(
            inst.model_copy(update={"requests": reqs}),
            solver=args.solver,
            time_limit=args.limit,
            seed=seed,
        )
        n, t = out["naive"], out["tfam"]
        print(
            f"{seed:4} {out['requests']:8} {out['plannable']:9} | {n['admitted']:8} {n['missed']:6} "
            f"{n['value']:7.0f} | {t['admitted']:7} {t['missed']:6} {t['value']:7.0f} {t['status']}",
            flush=True,
        )
        print(json.dumps(out), file=sys.stderr)


if __name__ == "__main__":
    main()
