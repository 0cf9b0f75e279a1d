"""Flower + daitn-opt: each round's clients chosen by T-FAM, then sequential learning by MTRCE.

Runs Flower's simulation engine on this machine (Ray on one CPU; needs ``daitn-opt[flower]``):
``nodes`` clients hold non-IID breast-cancer data (label skew, some with noisy labels, some
slow, each down in a round with probability ``p_down``). The first strategy admits each round's
clients with federated T-FAM from the profiles the clients report; the second trains one client
per round in MTRCE order and plans again when a client drops out. Prints, per round, the clients
that trained (read from their replies), those that failed, and the test accuracy.

    python examples/flower/run.py --nodes 6 --rounds 4
"""

from __future__ import annotations

import argparse

from daitn_opt.adapters.federation import RoundSpec
from daitn_opt.adapters.flower import DaitnFedAvg, DaitnSequential, federation_config, simulate


def main() -> None:
    ap = argparse.ArgumentParser(description="daitn-opt strategies in a Flower simulation")
    ap.add_argument("--nodes", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--task", default="breast-cancer", choices=["breast-cancer", "digits"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--p-down", type=float, default=0.2)
    args = ap.parse_args()

    spec = RoundSpec(task=args.task, deadline=4.0, gflop_per_sample=0.5, min_quality=0.8)
    config = federation_config(args.task, args.nodes, args.seed, p_down=args.p_down)
    runs = simulate(
        [
            ("T-FAM FedAvg", lambda: DaitnFedAvg(args.nodes, spec, seed=args.seed), config),
            (
                "MTRCE sequential",
                lambda: DaitnSequential(args.nodes, spec, pass_budget=30.0, seed=args.seed),
                config,
            ),
        ],
        num_nodes=args.nodes,
        num_rounds=args.rounds,
    )
    for label, run in runs.items():
        print(f"{label}: initial accuracy {run.accuracy[0]:.3f}")
        for log, acc in zip(run.strategy.rounds, run.accuracy[1:], strict=False):
            print(
                f"  round {log.server_round}: trained {','.join(log.trained) or '-'}"
                f" failed {','.join(log.failed) or '-'} sim {log.sim_seconds:.1f} s"
                f" accuracy {acc:.3f}"
            )


if __name__ == "__main__":
    main()
