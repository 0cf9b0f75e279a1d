"""Seeded synthetic admission batches at scale: many requests over (node, slot) resources.

Building candidate plans from a snapshot (:mod:`daitn_opt.tfam.plans`) runs an MTRCE heuristic
per request, which is the right tool for tens or hundreds of requests. To measure the admission
solvers themselves at the scale of a busy day (10,000 requests over 500 nodes and 24 time slots),
:func:`random_batch` draws plans of the same shape directly:

- nodes have 1, 2 or 4 concurrent training slots (clinic, regional, teaching tiers, in the
  healthcare generator's proportions 50/38/12 %) and sit in regions of ``region_size`` nodes;
- a sequential request trains along a route of 2-5 nodes of its region, 1-2 slots per node, one
  node after the other; a federated request (30 %) trains on 3-8 clients of its region in the
  same 1-2 slots;
- each request has up to ``plans`` candidates: its best plan, the same plan started 1-2 slots
  later (when the deadline allows) and a plan on a different subset; values are log-normal, the
  alternatives worth 85-100 % of the best.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from ..errors import InputError
from .problem import Problem, build


def _slots_used(
    chosen: np.ndarray, start: int, lengths: np.ndarray, parallel: bool, slots: int
) -> np.ndarray:
    """Resource indices (``node * slots + slot``) a plan busies: its nodes one after the other
    from ``start`` (sequential) or all from ``start`` (``parallel``, federated)."""
    out = []
    t = start
    for node, length in zip(chosen.tolist(), lengths.tolist(), strict=True):
        s0 = start if parallel else t
        out.extend(node * slots + s for s in range(s0, min(slots, s0 + length)))
        if not parallel:
            t = s0 + length
    return np.asarray(out, dtype=np.int64)


def _request_plans(
    rng: np.random.Generator, region: np.ndarray, start: int, slots: int, plans: int
) -> list[tuple[np.ndarray, float]]:
    """The candidate plans of one request of ``region`` arriving in slot ``start``: (resources
    used, value) each; the best plan, a delayed copy when the horizon allows, other subsets."""
    federated = rng.random() < 0.3
    size = int(rng.integers(3, 9)) if federated else int(rng.integers(2, 6))
    size = min(size, region.size)
    base = float(np.round(rng.lognormal(3.5, 0.6), 1))
    lengths = rng.integers(1, 3, size=size)
    span = int(lengths.max()) if federated else int(lengths.sum())
    latest = slots - span  # the plan must end within the horizon (its deadline)
    first = rng.choice(region, size=size, replace=False)
    candidates = [(first, min(start, latest), 1.0)]
    if plans >= 2:
        delay = int(rng.integers(1, 3))
        if start + delay <= latest:
            candidates.append((first, start + delay, float(rng.uniform(0.85, 1.0))))
    while len(candidates) < plans:
        other = rng.choice(region, size=size, replace=False)
        candidates.append((other, min(start, latest), float(rng.uniform(0.85, 1.0))))
    return [
        (_slots_used(chosen, s, lengths, federated, slots), round(base * share, 1))
        for chosen, s, share in candidates[:plans]
    ]


def random_batch(
    requests: int = 10_000,
    nodes: int = 500,
    slots: int = 24,
    *,
    plans: int = 3,
    region_size: int = 25,
    must_admit: float = 0.0,
    seed: int = 0,
) -> Problem:
    """A seeded admission batch; the same arguments give the same arrays.

    Parameters
    ----------
    requests, nodes, slots
        Batch size, nodes and time slots (resources are the ``nodes x slots`` pairs).
    plans
        Candidate plans per request (at most).
    region_size
        Nodes per region; a request uses nodes of one region, so requests of a region compete.
    must_admit
        Fraction of requests marked must-admit (chosen among those whose first plan fits an
        otherwise empty network; they may still conflict with each other).
    seed
        Seed of every random choice.
    """
    if requests < 1 or nodes < 2 or slots < 4 or plans < 1:
        raise InputError("random_batch", (requests, nodes, slots, plans), "sizes too small")
    rng = np.random.default_rng(seed)
    tier = rng.choice(3, size=nodes, p=[0.50, 0.38, 0.12])
    capacity_node = np.array([1, 2, 4])[tier]
    regions = max(1, nodes // region_size)
    region_of = np.arange(nodes) % regions
    members = [np.flatnonzero(region_of == g) for g in range(regions)]

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    plan_request: list[int] = []
    values: list[float] = []
    arrival = np.sort(rng.uniform(0, slots - 4, size=requests))
    for r in range(requests):
        region = members[int(rng.integers(regions))]
        for use, value in _request_plans(rng, region, int(arrival[r]), slots, plans):
            rows.append(np.full(use.size, len(values), dtype=np.int64))
            cols.append(use)
            plan_request.append(r)
            values.append(value)
    row = np.concatenate(rows)
    col = np.concatenate(cols)
    use = csr_matrix(
        (np.ones(row.size), (row, col)), shape=(len(values), nodes * slots), dtype=np.float64
    )
    use.sum_duplicates()
    use.data[:] = 1.0  # a node is busy in a slot once per plan
    capacity = np.repeat(capacity_node, slots).astype(np.float64)
    must = np.zeros(requests, dtype=bool)
    if must_admit > 0:
        must[rng.choice(requests, size=int(must_admit * requests), replace=False)] = True
    return build(
        [f"q{r}" for r in range(requests)],
        np.asarray(plan_request),
        np.asarray(values),
        use,
        capacity,
        resource_ids=[f"n{n}@{s}" for n in range(nodes) for s in range(slots)],
        must_admit=must,
        arrival=arrival,
        name=f"synthetic-{requests}x{nodes}x{slots}-s{seed}",
    )
