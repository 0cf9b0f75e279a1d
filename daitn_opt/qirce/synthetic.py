"""Seeded synthetic QIRCE instances of any size (users x models x MDFPs).

The healthcare generator (:mod:`daitn_opt.drrt.generators.healthcare`) ships four inference
models; scaling studies need more, so this builds instances with a free number of models:

- users and MDFPs uniform in a ``region_km`` square; MDFPs form a backbone (each linked to its 3
  nearest MDFPs and along a chain, so the graph is connected), each user has access links to its
  2 nearest MDFPs; latency = 2 ms per hop + distance / 200,000 km/s (light in fibre);
- models with memory 1-40 GB (log-uniform) and service time 2-80 ms;
- each user asks for 1-3 models at 0.5-20 queries/s (log-normal) with an SLO of the service time
  plus 8-40 ms, value 0.5-2 per query/s;
- MDFP memory 48-256 GB, cost 2-12 per hour, utilisation cap 0.9, throughput shares of
  ``capacity_factor`` times the total demand.

Every random choice is drawn from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.spatial import cKDTree

from ..drrt.instance import Instance
from ..drrt.requests import InferenceModel
from ..drrt.snapshot import Facility, Link, MDFPNode, Position, QueryDemand, Snapshot, UserNode
from ..errors import InputError


def synthetic_instance(
    *,
    users: int,
    models: int,
    facilities: int,
    seed: int = 0,
    region_km: float = 1000.0,
    capacity_factor: float = 1.3,
    name: str | None = None,
) -> Instance:
    """A seeded QIRCE instance with ``users`` users, ``models`` models and ``facilities`` MDFPs.

    Raises
    ------
    InputError
        For a non-positive size or capacity factor.
    """
    for field, value in (("users", users), ("models", models), ("facilities", facilities)):
        if value < 1:
            raise InputError(field, value, "must be at least 1")
    if not capacity_factor > 0:
        raise InputError("capacity_factor", capacity_factor, "must be positive")
    rng = np.random.default_rng(seed)
    mem = np.round(np.exp(rng.uniform(np.log(1.0), np.log(40.0), models)), 1)
    service = np.round(rng.uniform(2.0, 80.0, models), 1)
    mdl = [
        InferenceModel(id=f"m{k + 1}", memory_gb=float(mem[k]), service_ms=float(service[k]))
        for k in range(models)
    ]
    uxy = rng.uniform(0.0, region_km, (users, 2))
    fxy = rng.uniform(0.0, region_km, (facilities, 2))
    nodes, total = _users(rng, uxy, service)
    nodes += _facilities(rng, fxy, total, capacity_factor)
    links = _backbone(fxy) + _access(uxy, fxy)
    label = name or f"qirce-synthetic-{users}u-{models}m-{facilities}f-s{seed}"
    return Instance(
        name=label,
        description=f"synthetic QIRCE: {users} users, {models} models, {facilities} MDFPs",
        snapshot=Snapshot(name=label, nodes=nodes, links=links),
        models=mdl,
        metadata={
            "generator": {
                "family": "qirce-synthetic",
                "users": users,
                "models": models,
                "facilities": facilities,
                "seed": seed,
            }
        },
    )


def _users(rng: np.random.Generator, uxy: np.ndarray, service: np.ndarray) -> tuple[list, float]:
    """The user nodes (1-3 models each, log-normal rates, SLOs above the service time) and the
    total query rate they ask for."""
    models = service.size
    nodes: list = []
    total = 0.0
    for u in range(uxy.shape[0]):
        picks = np.sort(
            rng.choice(models, size=min(models, int(rng.integers(1, 4))), replace=False)
        )
        demands = []
        for m in picks:
            rate = float(np.round(np.clip(rng.lognormal(np.log(3.0), 0.8), 0.5, 20.0), 2))
            total += rate
            demands.append(
                QueryDemand(
                    model=f"m{m + 1}",
                    rate=rate,
                    slo_ms=float(np.round(service[m] + rng.uniform(8.0, 40.0), 1)),
                    value=float(np.round(rng.uniform(0.5, 2.0), 2)),
                )
            )
        nodes.append(
            UserNode(
                id=f"u{u + 1}",
                position=Position(x=float(uxy[u, 0]), y=float(uxy[u, 1])),
                demands=demands,
            )
        )
    return nodes, total


def _facilities(
    rng: np.random.Generator, fxy: np.ndarray, total: float, capacity_factor: float
) -> list:
    """The MDFP nodes: throughput shares (Dirichlet) of ``capacity_factor`` times the total
    demand, memory 48-256 GB, cost 2-12 per hour, utilisation cap 0.9."""
    facilities = fxy.shape[0]
    share = rng.dirichlet(np.full(facilities, 3.0))
    return [
        MDFPNode(
            id=f"f{f + 1}",
            position=Position(x=float(fxy[f, 0]), y=float(fxy[f, 1])),
            facility=Facility(
                memory_gb=float(rng.choice([48.0, 64.0, 128.0, 256.0])),
                throughput=float(np.round(capacity_factor * total * share[f] / 0.9, 2) + 1.0),
                cost_per_hour=float(np.round(rng.uniform(2.0, 12.0), 2)),
                max_utilization=0.9,
            ),
        )
        for f in range(facilities)
    ]


def _latency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """2 ms per hop plus the distance at 200,000 km/s (light in fibre), in seconds."""
    return np.round(2e-3 + np.linalg.norm(a - b, axis=-1) / 200_000.0, 6)


def _backbone(fxy: np.ndarray) -> list[Link]:
    """MDFP links: each to its 3 nearest MDFPs, plus a chain that keeps the graph connected."""
    facilities = fxy.shape[0]
    pairs: set[tuple[int, int]] = set()
    if facilities > 1:
        _, near = cKDTree(fxy).query(fxy, k=min(4, facilities))
        for f in range(facilities):
            for g in np.atleast_1d(near[f])[1:]:
                pairs.add((min(f, int(g)), max(f, int(g))))
        order = np.argsort(fxy[:, 0] + fxy[:, 1])
        for a, b in itertools.pairwise(order):
            pairs.add((min(int(a), int(b)), max(int(a), int(b))))
    return [
        Link(source=f"f{a + 1}", target=f"f{b + 1}", latency=float(_latency(fxy[a], fxy[b])))
        for a, b in sorted(pairs)
    ]


def _access(uxy: np.ndarray, fxy: np.ndarray) -> list[Link]:
    """Each user's access links to its 2 nearest MDFPs."""
    users = uxy.shape[0]
    _, access = cKDTree(fxy).query(uxy, k=min(2, fxy.shape[0]))
    access = np.asarray(access).reshape(users, -1)
    return [
        Link(
            source=f"u{u + 1}",
            target=f"f{int(f) + 1}",
            latency=float(_latency(uxy[u], fxy[int(f)])),
        )
        for u in range(users)
        for f in access[u]
    ]
