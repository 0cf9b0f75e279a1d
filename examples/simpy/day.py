"""SimPy + daitn-opt: an online DA-ITN loop, exact vs heuristic solvers.

Requests arrive over the simulated horizon, T-FAM admits each batch against what is committed,
MTRCE routes the admitted ones, data nodes fail and recover, the decider's snapshot is refreshed
every 15 minutes. Needs ``daitn-opt[simpy]``.

    python examples/simpy/day.py --hours 24
"""

from __future__ import annotations

import argparse

from daitn_opt.adapters.simpy_loop import LoopConfig, run_day
from daitn_opt.drrt.generators import generate


def main() -> None:
    ap = argparse.ArgumentParser(description="an online DA-ITN loop in SimPy")
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--hospitals", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    network = generate("healthcare", nodes=args.hospitals, seed=args.seed, requests=6)
    network = network.model_copy(
        update={"requests": [r.model_copy(update={"mode": "sequential"}) for r in network.requests]}
    )
    for tfam_solver, mtrce_solver in [("highs", "highs"), ("ls", "ils")]:
        config = LoopConfig(
            horizon=args.hours * 3600.0,
            tfam_solver=tfam_solver,
            mtrce_solver=mtrce_solver,
            seed=args.seed,
        )
        row = run_day(network, config).row()
        print(", ".join(f"{k} {v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
