"""Flower: daitn-opt's client selection vs Flower's random sampling vs a fixed cyclic order.

In one Flower simulation per seed (Ray limited to one CPU), every strategy trains the same softmax
model on the same non-IID federation (breast-cancer and digits, split among 10 clients with
quantity skew, Dirichlet(0.5) label skew, label noise on 30% of the clients, speeds 5-100
GFLOP/s, each client down in a round with probability 0.1):

- ``daitn``: :class:`~daitn_opt.adapters.flower.DaitnFedAvg`, T-FAM admission from queried
  profiles (round deadline 4 s, quality >= 0.8);
- ``daitn-wide``: the same with a 12 s deadline and quality >= 0.5 (slow, large clients and
  mildly noisy ones admitted);
- ``random``: Flower's FedAvg sampling 40% of the nodes at random (Flower's default sampling);
- ``cyclic``: 4 clients per round in a fixed cyclic order;
- ``sequential``: :class:`~daitn_opt.adapters.flower.DaitnSequential`, one client per round in
  MTRCE order (pass budget 30 s).

Reported per (dataset, strategy, seed): rounds and simulated seconds until the centralised test
accuracy first reaches the target (breast-cancer 0.93, digits 0.85), the final accuracy, clients
per round, client-rounds lost to failures and client-rounds spent on noisy clients. Simulated time
is :func:`daitn_opt.adapters.federation.round_seconds` (slowest client, or the deadline when a
chosen client does not reply), the same formula for every strategy.

Usage: ``.venv/bin/python papers/flower/compare.py --seeds 0,1,2 --rounds 12``
(writes ``papers/flower/comparison.md`` and ``comparison.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

from daitn_opt.adapters.federation import RoundSpec
from daitn_opt.adapters.flower import (
    CyclicFedAvg,
    DaitnFedAvg,
    DaitnSequential,
    RecordingFedAvg,
    federation_config,
    federation_of,
    simulate,
)

HERE = Path(__file__).resolve().parent
TARGETS = {"breast-cancer": 0.93, "digits": 0.85}
CLIENTS, PER_ROUND, DEADLINE, MIN_QUALITY, P_DOWN = 10, 4, 4.0, 0.8, 0.1
STRATEGIES = ("daitn", "daitn-wide", "random", "cyclic", "sequential")
WIDE_DEADLINE, WIDE_QUALITY = 12.0, 0.5


def runs_for(seed: int) -> list:
    runs = []
    for task in TARGETS:
        cfg = federation_config(task, CLIENTS, seed, p_down=P_DOWN)
        spec = RoundSpec(
            task=task, deadline=DEADLINE, gflop_per_sample=0.5, min_quality=MIN_QUALITY
        )
        makers = {
            "daitn": lambda spec=spec: DaitnFedAvg(CLIENTS, spec, seed=seed),
            "daitn-wide": lambda spec=spec: DaitnFedAvg(
                CLIENTS, replace(spec, deadline=WIDE_DEADLINE, min_quality=WIDE_QUALITY), seed=seed
            ),
            "random": lambda spec=spec: RecordingFedAvg(
                CLIENTS, spec, fraction_train=PER_ROUND / CLIENTS, min_train_nodes=PER_ROUND
            ),
            "cyclic": lambda spec=spec: CyclicFedAvg(CLIENTS, spec, per_round=PER_ROUND),
            "sequential": lambda spec=spec: DaitnSequential(
                CLIENTS, spec, pass_budget=30.0, seed=seed
            ),
        }
        runs += [(f"{task}/{name}", makers[name], cfg) for name in STRATEGIES]
    return runs


def summarise(label: str, run, seed: int) -> dict:
    task, strategy = label.split("/")
    target = TARGETS[task]
    cfg = federation_config(task, CLIENTS, seed, p_down=P_DOWN)
    noisy = {p.name for p in federation_of(cfg).profiles if p.quality < WIDE_QUALITY}
    logs = run.strategy.rounds
    reached, elapsed, seconds = None, 0.0, None
    for log, acc in zip(logs, run.accuracy[1:], strict=False):
        elapsed += log.sim_seconds
        if acc >= target:
            reached, seconds = log.server_round, elapsed
            break
    return {
        "task": task,
        "strategy": strategy,
        "seed": seed,
        "target": target,
        "rounds_to_target": reached,
        "seconds_to_target": seconds,
        "final_accuracy": run.accuracy[-1],
        "best_accuracy": max(run.accuracy),
        "clients_per_round": statistics.mean(len(lg.chosen) for lg in logs) if logs else 0.0,
        "failed_client_rounds": sum(len(lg.failed) for lg in logs),
        "noisy_client_rounds": sum(len(set(lg.trained) & noisy) for lg in logs),
        "accuracy": run.accuracy,
        "trained": [lg.trained for lg in logs],
    }


def table(rows: list[dict], rounds: int) -> str:
    out = [
        "| dataset | strategy | seed | rounds to target | sim. s to target | final acc. "
        "| clients/round | failed client-rounds | client-rounds on quality < 0.5 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rt = r["rounds_to_target"] or f"not in {rounds}"
        st = f"{r['seconds_to_target']:.1f}" if r["seconds_to_target"] is not None else "-"
        out.append(
            f"| {r['task']} (>= {r['target']}) | {r['strategy']} | {r['seed']} | {rt} "
            f"| {st} | {r['final_accuracy']:.3f} | {r['clients_per_round']:.1f} "
            f"| {r['failed_client_rounds']} | {r['noisy_client_rounds']} |"
        )
    out += [
        "",
        "Medians over the seeds that reached the target ('reached' counts them):",
        "",
        "| dataset | strategy | reached | median rounds | median sim. s | mean final acc. |",
        "|---|---|---|---|---|---|",
    ]
    for task in TARGETS:
        for s in STRATEGIES:
            mine = [r for r in rows if r["task"] == task and r["strategy"] == s]
            hit = [r for r in mine if r["rounds_to_target"] is not None]
            med_r = statistics.median(r["rounds_to_target"] for r in hit) if hit else "-"
            med_s = f"{statistics.median(r['seconds_to_target'] for r in hit):.1f}" if hit else "-"
            acc = statistics.mean(r["final_accuracy"] for r in mine)
            out.append(f"| {task} | {s} | {len(hit)}/{len(mine)} | {med_r} | {med_s} | {acc:.3f} |")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--out", type=Path, default=HERE / "comparison.md")
    args = ap.parse_args()
    rows, walls = [], {}
    for seed in [int(s) for s in args.seeds.split(",")]:
        t0 = time.perf_counter()
        out = simulate(runs_for(seed), num_nodes=CLIENTS, num_rounds=args.rounds)
        walls[seed] = time.perf_counter() - t0
        rows += [summarise(label, run, seed) for label, run in out.items()]
        args.out.with_suffix(".json").write_text(
            json.dumps({"rows": rows, "wall": walls}, indent=1)
        )
    rows.sort(key=lambda r: (r["task"], STRATEGIES.index(r["strategy"]), r["seed"]))
    head = (
        f"# Flower: daitn-opt selection vs random sampling vs cyclic\n\n"
        f"{CLIENTS} clients, {args.rounds} rounds, {PER_ROUND} clients/round for random and "
        f"cyclic, round deadline {DEADLINE:g} s, quality threshold {MIN_QUALITY}, "
        f"p(down) {P_DOWN}. Wall time per seed (one simulation, 10 strategy runs, Ray on one "
        f"CPU, shared machine): "
        + ", ".join(f"seed {s}: {w:.0f} s" for s, w in walls.items())
        + ".\n\n"
    )
    args.out.write_text(head + table(rows, args.rounds))
    print(args.out.read_text())


if __name__ == "__main__":
    main()
