"""Experiment 3: concurrent execution, the MPVU bottleneck and starvation of routes.

A generated healthcare network receives a batch of sequential training requests (the
generator's federated requests are dropped) arriving as a Poisson process of rate λ per second
(the arrivals are redrawn per seed, the rest of the instance is the generator's). Two ways to
plan them:

- ``independent``: each request's MTRCE route planned **alone** on the idle network (``ils``),
  started at its arrival: every plan looks feasible alone;
- ``free``: the same routes on a network whose nodes have unlimited training slots, so that the
  MPVU is the only shared resource (isolates the verification bottleneck);
- ``tfam``: T-FAM's joint admission (``highs`` on :func:`daitn_opt.tfam.from_instance`), which
  counts every node's training slots per time slot, refuses what does not fit and delays
  starts; its ``solution["plans"]`` are replayed.

All three are replayed together on one clock by :func:`daitn_opt.executor.concurrent.replay_concurrent`
(the views' timing only, no training): models queue FIFO for a node's compute slots and for the
MPVU's verification servers (1 or 3, join the shortest queue). A model releases its slot when
its training ends, so a cyclic deadlock cannot occur in this model (counted, always 0); a
request is **starved** when it would meet its deadline alone and its slot waits exceed its
slack. Reported per (λ, planner, MPVUs), 95% CIs over seeds: requests run, deadline misses,
starved requests, the MPVU's largest and mean (time-weighted) queue, mean waits.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ... import tfam
from ...drrt.generators import generate
from ...drrt.view import view
from ...executor.concurrent import replay_concurrent
from ...mtrce.problem import from_view
from ...registry import solve
from .common import Progress, Section, Settings, ci_columns, ci_text, md_table

RATES = (0.01, 0.05, 0.2, 1.0, 5.0)
"""Requests per second."""
QUICK_RATES = (0.01, 0.2, 5.0)
HOSPITALS = 14
REQUESTS = 30
"""Requests the generator draws; its sequential ones (about two thirds) form the batch."""
MPVUS = (1, 3)
PLANNERS = ("independent", "free", "tfam")


def batch(seed: int, rate: float) -> Any:
    """The seed's healthcare instance with its sequential requests arriving at rate ``rate``."""
    inst = generate("healthcare", nodes=HOSPITALS, seed=seed, requests=REQUESTS)
    seq = [r for r in inst.requests if r.mode == "sequential"]
    rng = np.random.default_rng(30_000 + seed)
    arrivals = np.cumsum(rng.exponential(1.0 / rate, len(seq)))
    reqs = [r.model_copy(update={"arrival": float(a)}) for r, a in zip(seq, arrivals, strict=True)]
    return inst.model_copy(update={"requests": reqs})


def independent_plans(inst: Any, seed: int, time_limit: float) -> list[dict[str, Any]]:
    """Each request's ``ils`` route planned alone, started at its arrival (none: skipped)."""
    plans = []
    for r in inst.requests:
        res = solve(from_view(view(inst, r.id)), "ils", seed=seed, time_limit=time_limit)
        routes = (res.solution or {}).get("routes") or []
        if routes and len(routes[0]) > 2:
            plans.append({"request": r.id, "route": routes[0], "start": float(r.arrival)})
    return plans


def run_seed(seed: int, rates: tuple[float, ...], settings: Settings) -> list[dict[str, Any]]:
    rows = []
    for rate in rates:
        inst = batch(seed, rate)
        t_ils = min(settings.time_limit, 1.0)
        alone = independent_plans(inst, seed, t_ils)
        plans = {
            "independent": alone,
            "free": alone,
            "tfam": solve(tfam.from_instance(inst), "highs", time_limit=settings.time_limit)
            .solution.get("plans", []),
        }  # fmt: skip
        for planner in PLANNERS:
            for m in MPVUS:
                slots = {} if planner == "free" else None
                out = replay_concurrent(inst, plans[planner], mpvus=m, seed=seed, slots=slots)
                s = out.summary()
                rows.append(
                    {
                        "seed": seed,
                        "rate": rate,
                        "planner": planner,
                        "mpvus": m,
                        "batch": len(inst.requests),
                        "run": s["requests"],
                        "met": s["met"],
                        "missed": s["missed"],
                        "starved": s["starved"],
                        "stuck": s["stuck"],
                        "deadlocks": s["deadlocks"],
                        "max_mpvu_queue": s["max_mpvu_queue"],
                        "mean_mpvu_queue": s["mean_mpvu_queue"],
                        "mean_slot_wait": s["mean_slot_wait"],
                        "mean_verify_wait": s["mean_verify_wait"],
                    }
                )
    return rows


METRICS = ("run", "met", "missed", "starved", "max_mpvu_queue", "mean_mpvu_queue")


def summarise(runs: list[dict[str, Any]], rates: tuple[float, ...]) -> list[dict[str, Any]]:
    summary = []
    for rate in rates:
        for planner in PLANNERS:
            for m in MPVUS:
                key = (rate, planner, m)
                rs = [r for r in runs if (r["rate"], r["planner"], r["mpvus"]) == key]
                row: dict[str, Any] = {"rate": rate, "planner": planner, "mpvus": m}
                for metric in METRICS:
                    row |= ci_columns(metric, [float(r[metric]) for r in rs])
                row["mean_slot_wait"] = float(np.mean([r["mean_slot_wait"] for r in rs]))
                row["mean_verify_wait"] = float(np.mean([r["mean_verify_wait"] for r in rs]))
                row["deadlocks"] = int(sum(r["deadlocks"] for r in rs))
                summary.append(row)
    return summary


def headline(runs: list[dict[str, Any]], rates: tuple[float, ...]) -> list[str]:
    out = []
    for rate in (rates[0], rates[-1]):
        parts = []
        for planner in PLANNERS:
            for m in MPVUS:
                key = (rate, planner, m)
                rs = [r for r in runs if (r["rate"], r["planner"], r["mpvus"]) == key]
                parts.append(
                    f"{planner}/{m} MPVU: missed {ci_text([r['missed'] for r in rs], '.1f')} "
                    f"of {ci_text([r['run'] for r in rs], '.1f')} run, max MPVU queue "
                    f"{ci_text([r['max_mpvu_queue'] for r in rs], '.1f')}"
                )
        out.append(f"λ = {rate:g}/s: " + "; ".join(parts))
    return out


def run(settings: Settings, progress: Progress) -> Section:
    t0 = time.perf_counter()
    rates = QUICK_RATES if settings.quick else RATES
    seeds = list(range(2 if settings.quick else min(settings.seeds, 5)))
    runs = []
    for seed in seeds:
        runs += run_seed(seed, rates, settings)
        progress("seed", {"experiment": "concurrent", "seed": seed})
    summary = summarise(runs, rates)
    sec = Section(
        "3-concurrent", "Experiment 3: concurrent execution (MPVU bottleneck, starvation)"
    )
    sec.params = {
        "rates_per_s": rates,
        "hospitals": HOSPITALS,
        "generated_requests": REQUESTS,
        "mpvus": MPVUS,
        "seeds": seeds,
        "independent": f"ils alone, {min(settings.time_limit, 1.0)} s each",
        "tfam": f"highs, {settings.time_limit} s",
    }
    cols = ["rate", "planner", "mpvus"]
    cols += [f"{m}_mean" for m in METRICS] + ["mean_slot_wait", "mean_verify_wait", "deadlocks"]
    sec.lines = [__doc__.split("\n\n", 1)[1], "", "## Summary", "", *md_table(summary, cols)]
    sec.tables = {"runs": runs, "summary": summary}
    sec.figures = {"queues": _figure(summary)}
    sec.headline = headline(runs, rates)
    sec.seconds = time.perf_counter() - t0
    return sec


PANELS = (
    ("missed_mean", "deadline misses (requests)"),
    ("starved_mean", "starved requests"),
    ("max_mpvu_queue_mean", "largest MPVU queue"),
)


def _figure(summary: list[dict[str, Any]]):
    series = {
        f"{p}, {m} MPVU": [r for r in summary if (r["planner"], r["mpvus"]) == (p, m)]
        for p in PLANNERS
        for m in MPVUS
    }

    def draw(fig: Any) -> None:
        axes = fig.subplots(1, len(PANELS))
        for ax, (metric, ylabel) in zip(axes, PANELS, strict=True):
            for label, rs in series.items():
                ax.plot([r["rate"] for r in rs], [r[metric] for r in rs], marker="o", label=label)
            ax.set(xscale="log", xlabel="request rate λ (1/s)", ylabel=ylabel)
        axes[0].legend(fontsize=7)

    return draw


__all__ = ["MPVUS", "PLANNERS", "RATES", "batch", "independent_plans", "run", "run_seed"]
