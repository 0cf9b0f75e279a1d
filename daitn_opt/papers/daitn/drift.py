"""Experiment 6: topology drift, decisions taken on a snapshot that is Δ seconds old.

A generated healthcare network (replayable: breast-cancer partitions) churns: every data node
alternates up and down, with exponential up times (mean :data:`UP_MEAN` deadlines) and down
times (mean :data:`DOWN_MEAN` deadlines), from the moment the snapshot is reported. The control
centre plans the first sequential request's route on that report (``highs``); the model leaves
Δ seconds later, so every change of the first Δ seconds is already in place when it starts (the
events are shifted by -Δ, clamped at 0) and the rest happen on the way. The route is replayed as
real training (:class:`daitn_opt.executor.SequentialReplay`) under three policies:

- ``static``: follow the stale plan, skipping nodes found down;
- ``replan``: re-solve from the current node at the start and after every change
  (``highs``, else ``greedy``, 2 s each) on the snapshot as it is then;
- ``aats``: decide each hop from the current neighbourhood (AATS rule).

Reported per (Δ, policy), 95% CIs over seeds: utility collected, final accuracy, deadline met.
A node that goes down while the model trains on it loses the model (the executor's semantics):
the run never finishes, misses its deadline and has no final accuracy (left out of the accuracy
mean, counted in ``deadline_met_share``); that happens under every policy, even at Δ = 0.
The **update-frequency trade-off**: a snapshot refreshed every ``P`` seconds is on average
``P / 2`` old, and costs ``bytes(snapshot JSON) / P`` bytes per second of reporting; the table
gives that rate for ``P = 2 Δ``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ...drrt.generators import generate
from ...drrt.view import build_view
from ...executor import SequentialReplay
from ...executor.events import EventTimeline
from ...executor.policies import ReplanPolicy
from ...mtrce.problem import from_view
from ...registry import solve
from .common import Progress, Section, Settings, ci_columns, ci_text, md_table

AGES = (0.0, 0.25, 0.5, 1.0)
"""Δ as a share of the request's deadline."""
UP_MEAN = 2.0
DOWN_MEAN = 0.5
HOSPITALS = 14
POLICIES = ("static", "replan", "aats")


def churn(inst: Any, horizon: float, deadline: float, seed: int) -> list[tuple[float, str, str]]:
    """(time, "node_down" | "node_up", node) of every data node's alternating renewal process."""
    rng = np.random.default_rng(20_000 + seed)
    events = []
    for node in inst.snapshot.of_kind("data"):
        t, up = 0.0, True
        while True:
            t += rng.exponential((UP_MEAN if up else DOWN_MEAN) * deadline)
            if t >= horizon:
                break
            up = not up
            events.append((t, "node_up" if up else "node_down", node.id))
    return sorted(events)


def timeline(inst: Any, events: list[tuple[float, str, str]], delta: float) -> EventTimeline:
    """The events as the model sees them when it leaves ``delta`` seconds after the report."""
    doc = [
        {"time": round(max(0.0, t - delta), 6), "type": kind, "node": node}
        for t, kind, node in events
    ]
    return EventTimeline.parse(doc, inst.snapshot)


def run_seed(seed: int, settings: Settings) -> list[dict[str, Any]]:
    inst = generate("healthcare", nodes=HOSPITALS, seed=seed)
    req = next(r for r in inst.requests if r.mode == "sequential")
    deadline = float(req.deadline)
    v = build_view(inst.snapshot, req, inst.travel)
    res = solve(from_view(v), "highs", time_limit=min(settings.time_limit, 5.0), seed=seed)
    plan = res.solution["routes"][0]
    events = churn(inst, (1.0 + max(AGES)) * deadline, deadline, seed)
    size = len(inst.snapshot.model_dump_json())
    rep = SequentialReplay(inst, req.id, seed=seed, threads=1)
    rows = []
    for share in AGES:
        delta = share * deadline
        tl = timeline(inst, events, delta)
        for name in POLICIES:
            policy = ReplanPolicy(("highs", "greedy"), 2.0) if name == "replan" else name
            s = rep.run({"routes": [plan]}, events=tl, policy=policy).summary
            rows.append(
                {
                    "seed": seed,
                    "age_share": share,
                    "delta_s": delta,
                    "policy": name,
                    "utility": float(s.utility_collected),
                    "planned_utility": float(s.planned_utility),
                    "accuracy": float(s.final_accuracy),
                    "deadline_met": bool(s.deadline_met),
                    "skipped": len(s.skipped),
                    "report_bytes": size,
                    "report_bytes_per_s": size / (2 * delta) if delta > 0 else None,
                }
            )
    return rows


def run(settings: Settings, progress: Progress) -> Section:
    t0 = time.perf_counter()
    seeds = list(range(1 if settings.quick else min(settings.seeds, 10)))
    runs = []
    for seed in seeds:
        runs += run_seed(seed, settings)
        progress("seed", {"experiment": "drift", "seed": seed})
    summary = []
    for share in AGES:
        for name in POLICIES:
            rs = [r for r in runs if (r["age_share"], r["policy"]) == (share, name)]
            row: dict[str, Any] = {"age_share": share, "policy": name}
            row |= ci_columns("utility", [r["utility"] for r in rs])
            row |= ci_columns("accuracy", [r["accuracy"] for r in rs])
            row["deadline_met_share"] = float(np.mean([r["deadline_met"] for r in rs]))
            row["skipped_mean"] = float(np.mean([r["skipped"] for r in rs]))
            bps = [r["report_bytes_per_s"] for r in rs if r["report_bytes_per_s"]]
            row["report_bytes_per_s"] = float(np.mean(bps)) if bps else None
            summary.append(row)
    sec = Section("6-drift", "Experiment 6: topology drift (stale snapshots)")
    sec.params = {
        "ages": AGES,
        "up_mean": UP_MEAN,
        "down_mean": DOWN_MEAN,
        "hospitals": HOSPITALS,
        "seeds": seeds,
        "policies": POLICIES,
        "replan": "highs then greedy, 2 s",
    }
    sec.lines = [
        __doc__.split("\n\n", 1)[1],
        "",
        "## Summary",
        "",
        *md_table(
            summary,
            [
                "age_share",
                "policy",
                "utility_mean",
                "utility_low",
                "utility_high",
                "accuracy_mean",
                "accuracy_low",
                "accuracy_high",
                "deadline_met_share",
                "skipped_mean",
                "report_bytes_per_s",
                "utility_n",
            ],
        ),
    ]
    sec.tables = {"runs": runs, "summary": summary}
    sec.figures = {"drift": _figure(summary)}
    for name in POLICIES:
        parts = []
        for share in (0.0, 1.0):
            rs = [r for r in runs if (r["age_share"], r["policy"]) == (share, name)]
            parts.append(
                f"Δ = {share:g} deadline: utility {ci_text([r['utility'] for r in rs], '.0f')}, "
                f"accuracy {ci_text([r['accuracy'] for r in rs], '.3f')}"
            )
        sec.headline.append(f"{name}: " + "; ".join(parts))
    sec.seconds = time.perf_counter() - t0
    return sec


def _figure(summary: list[dict[str, Any]]):
    def draw(fig: Any) -> None:
        ax1, ax2 = fig.subplots(1, 2)
        for name in POLICIES:
            rs = [r for r in summary if r["policy"] == name]
            x = [r["age_share"] for r in rs]
            ax1.plot(x, [r["utility_mean"] for r in rs], marker="o", label=name)
            ax2.plot(x, [r["accuracy_mean"] for r in rs], marker="o", label=name)
        ax1.set_ylabel("utility collected")
        ax2.set_ylabel("final accuracy")
        for ax in (ax1, ax2):
            ax.set_xlabel("snapshot age Δ / deadline")
        ax1.legend(fontsize=7)

    return draw


__all__ = ["AGES", "churn", "run", "run_seed", "timeline"]
