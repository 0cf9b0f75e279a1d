"""Small QIRCE instances that can be followed by hand, and a brute-force reference.

``tiny()``: two users, two models, two MDFPs on a line ``u1 - f1 - f2 - u2``:

- link latencies (one way): u1-f1 1 ms, f1-f2 10 ms, f2-u2 1 ms, so round trips are u1->f1 2 ms,
  u1->f2 22 ms, u2->f2 2 ms, u2->f1 22 ms;
- model ``a``: 4 GB, 3 ms service; model ``b``: 10 GB, 5 ms service;
- f1: 12 GB, 10 q/s, cost 5/h; f2: 12 GB, 10 q/s, cost 1/h (utilisation cap 1);
- u1 wants ``a`` at 4 q/s (SLO 30 ms) and ``b`` at 3 q/s (SLO 30 ms); u2 wants ``a`` at 5 q/s
  (SLO 30 ms).

Memory: f1 or f2 can hold a+b (14 GB) -- no: 14 > 12, so a facility holds either model b alone,
or model a alone (or nothing). Every pair meets the SLO (22 + 5 = 27 <= 30).
"""

from __future__ import annotations

import itertools

import numpy as np

from daitn_opt.drrt.instance import Instance
from daitn_opt.drrt.requests import InferenceModel
from daitn_opt.drrt.snapshot import Facility, Link, MDFPNode, QueryDemand, Snapshot, UserNode


def tiny(**metadata) -> Instance:
    nodes = [
        UserNode(
            id="u1",
            demands=[
                QueryDemand(model="a", rate=4.0, slo_ms=30.0, value=1.0),
                QueryDemand(model="b", rate=3.0, slo_ms=30.0, value=2.0),
            ],
        ),
        UserNode(id="u2", demands=[QueryDemand(model="a", rate=5.0, slo_ms=30.0, value=1.0)]),
    ]
    return _line(
        "tiny",
        nodes,
        (
            Facility(memory_gb=12, throughput=10, cost_per_hour=5),
            Facility(memory_gb=12, throughput=10, cost_per_hour=1),
        ),
        [
            InferenceModel(id="a", memory_gb=4, service_ms=3),
            InferenceModel(id="b", memory_gb=10, service_ms=5),
        ],
        metadata,
    )


def _line(name: str, users: list, facilities: tuple, models: list, metadata: dict) -> Instance:
    """Users u1, u2 and MDFPs f1, f2 on the line ``u1 - f1 - f2 - u2`` (1, 10, 1 ms)."""
    nodes = [
        *users,
        MDFPNode(id="f1", facility=facilities[0]),
        MDFPNode(id="f2", facility=facilities[1]),
    ]
    links = [
        Link(source="u1", target="f1", latency=0.001),
        Link(source="f1", target="f2", latency=0.010),
        Link(source="f2", target="u2", latency=0.001),
    ]
    return Instance(
        name=name,
        snapshot=Snapshot(nodes=nodes, links=links),
        models=models,
        metadata={"qirce": metadata} if metadata else {},
    )


def brute_force_single_source(problem) -> float | None:
    """Optimum of a small single-source problem by enumerating every assignment (or refusal in
    admit mode); None when nothing is feasible. Independent of every solver."""
    p = problem
    best = None
    for choice in _choices(p):
        load = np.zeros(p.num_facilities)
        pairs = set()
        cost = 0.0
        value = 0.0
        for d, a in enumerate(choice):
            if a < 0:
                continue
            f = int(p.arc_facility[a])
            load[f] += p.arc_load[a]
            pairs.add((int(p.demand_model[d]), f))
            cost += p.arc_cost[a]
            value += p.value[d] * p.rate[d]
        if np.any(load > p.capacity + 1e-9):
            continue
        mem = np.zeros(p.num_facilities)
        for m, f in pairs:
            mem[f] += p.model_memory[m]
        if np.any(mem > p.facility_memory + 1e-9):
            continue
        opened = {f for _, f in pairs}
        total = cost + sum(p.open_cost[f] for f in opened)
        obj = total if p.mode == "serve_all" else value - p.cost_weight * total
        if best is None or (obj < best if p.sense == "min" else obj > best):
            best = obj
    return best


def congested(**metadata) -> Instance:
    """``tiny`` with slow models so that queueing matters (congestion-aware QIRCE).

    Model ``a``: 4 GB, 50 ms; ``b``: 10 GB, 80 ms; f1, f2: 12 GB, 20 q/s (so ``a`` has
    ``round(20 * 0.05) = 1`` server, ``b`` ``round(1.6) = 2``); SLOs 90 ms, so a query served
    at the near facility (2 ms round trip) may wait 38 ms (``a``) or 8 ms (``b``), at the far
    one (22 ms) 18 ms (``a``); ``b`` cannot go far (22 + 80 > 90). Options: ``metadata``
    (default: ``congestion="md1"``).
    """
    nodes = [
        UserNode(
            id="u1",
            demands=[
                QueryDemand(model="a", rate=6.0, slo_ms=90.0, value=1.0),
                QueryDemand(model="b", rate=3.0, slo_ms=90.0, value=2.0),
            ],
        ),
        UserNode(
            id="u2",
            demands=[
                QueryDemand(model="a", rate=5.0, slo_ms=90.0, value=1.0),
                QueryDemand(model="a", rate=2.0, slo_ms=90.0, value=1.0),
            ],
        ),
    ]
    return _line(
        "congested",
        nodes,
        (Facility(memory_gb=12, throughput=20, cost_per_hour=1),) * 2,
        [
            InferenceModel(id="a", memory_gb=4, service_ms=50),
            InferenceModel(id="b", memory_gb=10, service_ms=80),
        ],
        metadata or {"congestion": "md1"},
    )


def brute_force_checked(problem) -> float | None:
    """Optimum of a small single-source problem by enumerating every assignment (or refusal in
    admit mode) and keeping the best the independent checker accepts (queueing included)."""
    from daitn_opt.qirce import check
    from daitn_opt.qirce.solution import build_solution

    p = problem
    best = None
    for choice in _choices(p):
        x = np.zeros(p.num_arcs)
        for a in choice:
            if a >= 0:
                x[a] = 1.0
        report = check(p, build_solution(p, x))
        if not report.ok:
            continue
        obj = report.objective
        if best is None or (obj < best if p.sense == "min" else obj > best):
            best = obj
    return best


def _choices(p):
    """Every single-source assignment: one arc per demand (or -1, refused, in admit mode)."""
    options = []
    for d in range(p.num_demands):
        arcs = [int(a) for a in np.flatnonzero(p.arc_demand == d)]
        options.append(arcs + ([-1] if p.mode == "admit" else []))
    return itertools.product(*options)


def congested_case():
    """(problem, proven optimum) of :func:`congested` (``congestion="md1"``), for the
    registry-driven conformance test: ``"congested": qirce_hand.congested_case``."""
    from daitn_opt.problems import problem_from_instance

    problem = problem_from_instance("qirce", congested())
    return problem, brute_force_checked(problem)
