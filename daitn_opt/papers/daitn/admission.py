"""Experiment 2 (the paper's third): admission under varying resource availability.

A batch of training requests arrives close together (arrivals compressed to
:data:`COMPRESS` of the generated ones, so that they contend). Candidate plans are built once per
batch (:func:`daitn_opt.tfam.plans.candidates`). **Demand** at node i is its peak load: the
most training jobs in one time slot if every request took its first plan. For a capacity factor
``f`` every node gets ``round(f * peak_i)`` concurrent training slots (0 takes the node out), so
the capacity is ``f`` of the demand (the realised ratio ``sum slots / sum peaks`` is tabulated).

Policies, all choosing among the same candidate plans:

- ``naive``: first come, first served *without* capacity accounting: every request whose best
  plan meets its deadline on an idle network is admitted;
- ``fcfs``: first come, first served with capacity accounting (the T-FAM ``fcfs`` solver);
- ``greedy``, ``ls``: T-FAM heuristics; ``highs``: exact T-FAM (time-limited; status recorded).

Each admission is replayed on a shared clock with queueing at each node's slots
(:func:`daitn_opt.tfam.cascade.replay`): an admitted request that finishes after its deadline is
part of the **admission cascade**. Reported per (family, f, policy), with 95% CIs over seeds:
admitted value and on-time value (shares of the batch's plannable value), admitted requests
that miss their deadline, and utilisation (the chosen plans' summed use of (node, time slot)
resources over the summed capacity: above 1 means over-committed).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ...drrt.generators import generate
from ...drrt.instance import Instance
from ...registry import solve
from ...tfam.cascade import job_of, replay
from ...tfam.plans import (
    candidates,
    default_route_solver,
    default_slot_seconds,
    spec_from_candidates,
)
from ...tfam.problem import from_spec
from .common import Progress, Section, Settings, ci_columns, ci_text, md_table

COMPRESS = 0.03
"""Arrival times are multiplied by this so that the batch contends for nodes."""
FACTORS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
POLICIES = ("naive", "fcfs", "greedy", "ls", "highs")
FAMILIES = {"healthcare": 12, "rgg": 40}
"""Family -> ``nodes`` argument of the generator (hospitals for healthcare, all for rgg)."""


def batch(family: str, seed: int, requests: int) -> Instance:
    """A generated batch whose arrivals are compressed by :data:`COMPRESS`."""
    inst = generate(family, nodes=FAMILIES[family], seed=seed, requests=requests)
    reqs = [r.model_copy(update={"arrival": round(r.arrival * COMPRESS, 1)}) for r in inst.requests]
    return inst.model_copy(update={"requests": reqs})


def with_slots(inst: Instance, slots: dict[str, int]) -> Instance:
    """The instance with ``compute.slots`` of each node in ``slots`` replaced."""
    nodes = []
    for n in inst.snapshot.nodes:
        if n.compute is not None and n.id in slots:
            n = n.model_copy(
                update={"compute": n.compute.model_copy(update={"slots": slots[n.id]})}
            )
        nodes.append(n)
    return inst.model_copy(update={"snapshot": inst.snapshot.replace(nodes=nodes)})


def peak_demand(problem: Any) -> dict[str, int]:
    """Node -> most jobs in one time slot if every request takes its first plan."""
    first = problem.plan_start[:-1]
    load = np.asarray(problem.use[first].sum(axis=0)).ravel()
    peak: dict[str, int] = {}
    for rid, amount in zip(problem.resource_ids, load, strict=True):
        node = rid.rsplit("@", 1)[0]
        peak[node] = max(peak.get(node, 0), round(amount))
    return peak


def utilisation(problem: Any, picks: dict[str, int]) -> float:
    """Summed (node, slot) use of the chosen plans over the summed capacity (> 1: over-committed)."""
    row = {rid: r for r, rid in enumerate(problem.request_ids)}
    plans = [int(problem.plan_start[row[rid]]) + k for rid, k in picks.items()]
    load = float(problem.use[plans].sum()) if plans else 0.0
    return load / max(1e-9, float(problem.capacity.sum()))


def run_batch(inst: Instance, seed: int, settings: Settings) -> list[dict[str, Any]]:
    """Every (factor, policy) outcome of one batch."""
    slot = default_slot_seconds(inst)
    route_solver = default_route_solver()
    found, views = {}, {}
    for req in inst.requests:
        found[req.id], views[req.id] = candidates(
            inst, req, count=4, slot_seconds=slot, route_solver=route_solver
        )
    requests = {r.id: r for r in inst.requests}
    plannable = {rid: c for rid, c in found.items() if c}
    total_value = sum(max(x.value for x in c) for c in plannable.values()) or 1.0
    base = from_spec(spec_from_candidates(inst, found, slot), name=inst.name)
    peak = peak_demand(base)
    rows = []
    for f in FACTORS:
        slots = {n: round(f * p) for n, p in peak.items()}
        problem = from_spec(spec_from_candidates(with_slots(inst, slots), found, slot))
        order = sorted(plannable, key=lambda rid: requests[rid].arrival)
        for policy in POLICIES:
            status = "-"
            if policy == "naive":
                picks = {rid: 0 for rid in order}
            else:
                res = solve(problem, policy, time_limit=settings.time_limit, seed=seed)
                status = res.status.value
                picks = res.solution["admitted"]
            chosen = {rid: found[rid][k] for rid, k in picks.items()}
            jobs = [
                job_of(c, views[rid], requests[rid].arrival, requests[rid].deadline)
                for rid, c in chosen.items()
            ]
            done = replay(jobs, slots)
            late = {j.request for j in jobs if done[j.request] > j.due + 1e-6}
            value = sum(c.value for c in chosen.values())
            on_time = sum(c.value for rid, c in chosen.items() if rid not in late)
            rows.append(
                {
                    "seed": seed,
                    "factor": f,
                    "capacity_ratio": sum(slots.values()) / max(1, sum(peak.values())),
                    "policy": policy,
                    "status": status,
                    "requests": len(inst.requests),
                    "plannable": len(plannable),
                    "admitted": len(chosen),
                    "missed": len(late),
                    "value_share": value / total_value,
                    "on_time_share": on_time / total_value,
                    "utilisation": utilisation(problem, picks),
                }
            )
    return rows


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and 95% CI per (family, factor, policy)."""
    keys = sorted(
        {(r["family"], r["factor"], r["policy"]) for r in runs},
        key=lambda k: (k[0], k[1], POLICIES.index(k[2])),
    )
    out = []
    for fam, f, pol in keys:
        rs = [r for r in runs if (r["family"], r["factor"], r["policy"]) == (fam, f, pol)]
        row = {"family": fam, "factor": f, "policy": pol}
        row["capacity_ratio"] = float(np.mean([r["capacity_ratio"] for r in rs]))
        for m in ("value_share", "on_time_share", "missed", "utilisation"):
            row |= ci_columns(m, [r[m] for r in rs])
        row["admitted_mean"] = float(np.mean([r["admitted"] for r in rs]))
        row["optimal_runs"] = sum(r["status"] == "optimal" for r in rs)
        out.append(row)
    return out


def _figure(summary: list[dict[str, Any]]):
    fams = sorted({r["family"] for r in summary})

    def draw(fig: Any) -> None:
        axes = fig.subplots(2, len(fams), squeeze=False)
        for j, fam in enumerate(fams):
            for pol in POLICIES:
                rs = [r for r in summary if r["family"] == fam and r["policy"] == pol]
                x = [r["factor"] for r in rs]
                axes[0, j].plot(x, [r["on_time_share_mean"] for r in rs], marker="o", label=pol)
                axes[1, j].plot(x, [r["missed_mean"] for r in rs], marker="o", label=pol)
            axes[0, j].set_title(f"{fam}: on-time value share", fontsize=9)
            axes[1, j].set_title(f"{fam}: admitted requests missing deadline", fontsize=9)
            axes[1, j].set_xlabel("capacity / demand")
        axes[0, 0].legend(fontsize=7)

    return draw


def run(settings: Settings, progress: Progress) -> Section:
    t0 = time.perf_counter()
    seeds = list(range(2 if settings.quick else 10))
    n_req = 16 if settings.quick else 40
    runs = []
    for fam in FAMILIES:
        for seed in seeds:
            for r in run_batch(batch(fam, seed, n_req), seed, settings):
                runs.append({"family": fam} | r)
            progress("batch", {"experiment": "admission", "family": fam, "seed": seed})
    summary = summarise(runs)
    sec = Section("2-admission", "Experiment 2: admission under varying resource availability")
    sec.params = {
        "families": FAMILIES,
        "requests": n_req,
        "seeds": seeds,
        "factors": FACTORS,
        "compress": COMPRESS,
        "time_limit": settings.time_limit,
        "plans_per_request": 4,
    }
    cols = [
        "family",
        "factor",
        "policy",
        "capacity_ratio",
        "admitted_mean",
        "missed_mean",
        "on_time_share_mean",
        "value_share_mean",
        "utilisation_mean",
        "optimal_runs",
    ]
    sec.lines = [
        __doc__.split("\n\n", 1)[1],
        "",
        "## Summary (means; CIs in the CSV)",
        "",
        *md_table(summary, cols),
    ]
    sec.tables = {"runs": runs, "summary": summary}
    sec.figures = {"value": _figure(summary)}
    sec.headline = _headline(runs)
    sec.seconds = time.perf_counter() - t0
    return sec


def _headline(runs: list[dict[str, Any]]) -> list[str]:
    out = []
    for fam in FAMILIES:
        for f in (0.25, 0.5):
            rs = {
                p: [r for r in runs if r["family"] == fam and r["factor"] == f and r["policy"] == p]
                for p in POLICIES
            }
            out.append(
                f"{fam}, capacity {f:g}x demand: naive admits "
                f"{ci_text([r['admitted'] for r in rs['naive']], '.1f')} requests of which "
                f"{ci_text([r['missed'] for r in rs['naive']], '.1f')} miss their deadline "
                f"(on-time value {ci_text([r['on_time_share'] for r in rs['naive']], '.2f')}); "
                f"fcfs misses {ci_text([r['missed'] for r in rs['fcfs']], '.1f')} "
                f"(on-time {ci_text([r['on_time_share'] for r in rs['fcfs']], '.2f')}), "
                f"highs misses {ci_text([r['missed'] for r in rs['highs']], '.1f')} "
                f"(on-time {ci_text([r['on_time_share'] for r in rs['highs']], '.2f')})"
            )
    return out


__all__ = ["FACTORS", "POLICIES", "batch", "peak_demand", "run", "run_batch", "with_slots"]
