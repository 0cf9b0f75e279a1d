"""The ``random-geometric`` family: data nodes scattered uniformly, linked when close.

A random geometric graph G(n, r) (Penrose, "Random Geometric Graphs", 2003): n points uniform in
the unit square (scaled to a ``region_km`` square), an undirected link between every pair closer
than r. G(n, r) is connected with high probability once ``pi r^2 n >= log n`` (Penrose 1997);
the generator starts from ``r = radius_factor * sqrt(log n / (pi n))`` and grows r by 10 % until
the graph is connected, so every instance is connected. Pairs are found with a KD-tree, so 10,000
nodes take well under a second to link.

Node 0 is the model owner (a user node), node 1 the MPVU, every other node a data node holding one
tabular dataset of the synthetic task ``"synthetic"`` (four labels, Dirichlet label mix,
log-normal size) with local compute on most nodes. A few nodes are down, untrusted, stale, of
low quality or without compute, so that views exclude them.

Deadlines are set from two Dijkstra runs (from the start, to the end), not from a full view, so
that generating 10,000 nodes stays cheap: the time to go from start to end and verify, plus
``visits`` times a typical visit (median training time and two median hops), with ``visits``
about the square root of the eligible count (3 to 40). A federated request's deadline lets every
eligible client take part in 3-5 FedAvg rounds: 3-5 times the slowest client's round (download
from the owner, the aggregator, local training, upload) plus the start-to-end time and
verification, so that federated replays learn instead of ending after one round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from ...errors import InputError
from ..instance import Instance
from ..requests import TrainingRequest
from ..snapshot import Snapshot
from ._common import is_connected, latency_from_distance, radius_edges, rounded, split_labels

LABELS = ["0", "1", "2", "3"]
MODELS = (
    {"name": "mlp", "size_mb": 20.0, "gflop_per_sample": 2.0},
    {"name": "resnet-18", "size_mb": 45.0, "gflop_per_sample": 5.5},
)


def random_geometric(
    *,
    nodes: int,
    seed: int,
    requests: int = 1,
    region_km: float = 1000.0,
    radius_factor: float = 1.2,
) -> Instance:
    """Generate a connected random geometric instance with ``nodes`` nodes in all.

    Parameters
    ----------
    nodes
        Total number of nodes, 10 to 100,000 (the family is meant for 10 to 10,000).
    seed
        Seed of every random choice: the same arguments give the same instance, byte for byte.
    requests
        Number of training requests (the 2nd, 5th, ... are federated).
    region_km
        Side of the square region.
    radius_factor
        Initial link radius as a multiple of the connectivity threshold ``sqrt(log n / (pi n))``.

    Example
    -------
    >>> inst = random_geometric(nodes=12, seed=3, requests=2)
    >>> inst.name, inst.snapshot.num_nodes, [r.mode for r in inst.requests]
    ('rgg-12-s3', 12, ['sequential', 'federated'])
    """
    _check_arguments(nodes, requests, region_km, radius_factor)
    # The stages draw from one generator in a fixed order: reordering them changes every instance.
    rng = np.random.default_rng(seed)
    n = nodes
    pts = rng.random((n, 2))
    radius = radius_factor * math.sqrt(math.log(n) / (math.pi * n))
    for _ in range(100):
        edges = radius_edges(pts, radius)
        if is_connected(n, edges):
            break
        radius *= 1.1
    xy = pts * region_km
    data = _DataNodes.draw(rng, n - 2)
    width = len(str(data.d))
    ids = ["owner", "mpvu"] + [f"d{i + 1:0{width}d}" for i in range(data.d)]
    docs = _node_docs(ids, xy, data)
    links = _links(rng, ids, xy, edges)
    name = f"rgg-{n}-s{seed}"
    snapshot = Snapshot.model_validate({"name": name, "nodes": docs, "links": links})
    lat_s = np.asarray([lk["latency"] for lk in links], dtype=np.float64)
    bw_s = np.asarray([lk["bandwidth"] for lk in links], dtype=np.float64)
    reqs = _requests(rng, requests, data, edges, lat_s, bw_s, n)
    return Instance(
        name=name,
        description=(
            f"random geometric graph: {n} nodes in a {region_km:g} km square, link radius "
            f"{radius * region_km:.4g} km ({len(edges)} links, connected); {len(reqs)} requests"
        ),
        snapshot=snapshot,
        requests=reqs,
        metadata={
            "generator": {
                "family": "random-geometric",
                "nodes": n,
                "seed": seed,
                "requests": requests,
                "region_km": region_km,
                "radius_factor": radius_factor,
                "radius_km": round(radius * region_km, 4),
            },
            "units": "seconds, MB, Mbit/s, GFLOP/s, km",
            "datasets": {"tabular/synthetic": {"source": "generated", "labels": LABELS}},
        },
    )


def _check_arguments(nodes: int, requests: int, region_km: float, radius_factor: float) -> None:
    if not 10 <= nodes <= 100_000:
        raise InputError("nodes", nodes, "random-geometric needs 10 to 100000 nodes")
    if not 0 <= requests <= 1000:
        raise InputError("requests", requests, "must be between 0 and 1000")
    if not 0 < region_km <= 40_000:
        raise InputError("region_km", region_km, "must be positive and at most 40000 (km)")
    if not 0 < radius_factor <= 10:
        raise InputError("radius_factor", radius_factor, "must be in (0, 10]")


@dataclass(frozen=True)
class _DataNodes:
    """The data nodes' attributes (positions 2..n-1 of the snapshot), arrays of length ``d``."""

    d: int
    counts: np.ndarray
    samples: np.ndarray
    quality: np.ndarray
    age: np.ndarray
    trust: np.ndarray
    up: np.ndarray
    has_compute: np.ndarray
    gflops: np.ndarray
    cost_hour: np.ndarray
    overhead: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, d: int) -> _DataNodes:
        size = np.maximum(10, rng.lognormal(math.log(400.0), 0.8, d)).astype(np.int64)
        counts = split_labels(rng, size.astype(np.float64), LABELS, None, alpha=0.5, scale=1.0)
        quality = 0.5 + 0.5 * rng.beta(5.0, 1.5, d)
        age = rng.exponential(120.0, d)
        trust = 0.3 + 0.7 * rng.beta(8.0, 1.5, d)
        up = rng.random(d) >= 0.02
        has_compute = rng.random(d) >= 0.05
        gflops = rng.lognormal(math.log(100.0), 0.7, d)
        overhead = rng.uniform(1.0, 10.0, d)
        return cls(
            d, counts, counts.sum(axis=1), quality, age, trust, up, has_compute, gflops,
            0.3 + gflops / 200.0, overhead,
        )  # fmt: skip


def _node_docs(ids: list[str], xy: np.ndarray, data: _DataNodes) -> list[dict]:
    """The owner, the MPVU and the data nodes' documents (no random draw)."""
    x_r, y_r = rounded(xy[:, 0], 2), rounded(xy[:, 1], 2)
    q_r, a_r, t_r = rounded(data.quality, 3), rounded(data.age, 1), rounded(data.trust, 3)
    g_r, c_r = rounded(data.gflops, 1), rounded(data.cost_hour, 3)
    o_r = rounded(data.overhead, 1)
    docs: list[dict] = [
        {"id": "owner", "kind": "user", "name": "model owner", "position": _p(x_r, y_r, 0)},
        {
            "id": "mpvu",
            "kind": "mpvu",
            "name": "verification unit",
            "position": _p(x_r, y_r, 1),
            "eval_throughput": 200.0,
            "eval_samples": 2000,
        },
    ]
    for k in range(data.d):
        i = k + 2
        labels = {lb: int(c) for lb, c in zip(LABELS, data.counts[k], strict=True) if c}
        doc = {
            "id": ids[i],
            "kind": "data",
            "position": _p(x_r, y_r, i),
            "trust": t_r[k],
            "datasets": [
                {
                    "modality": "tabular",
                    "task": "synthetic",
                    "samples": int(data.samples[k]),
                    "quality": q_r[k],
                    "age_days": a_r[k],
                    "labels": labels,
                }
            ],
        }
        if not data.up[k]:
            doc["up"] = False
        if data.has_compute[k]:
            doc["compute"] = {
                "gflops": g_r[k],
                "memory_gb": 16.0,
                "slots": 1,
                "cost_per_hour": c_r[k],
                "overhead_s": o_r[k],
            }
        docs.append(doc)
    return docs


def _links(
    rng: np.random.Generator, ids: list[str], xy: np.ndarray, edges: np.ndarray
) -> list[dict]:
    """One link per edge: latency from distance, log-normal bandwidth with a few slow links."""
    m = len(edges)
    km = np.linalg.norm(xy[edges[:, 0]] - xy[edges[:, 1]], axis=1)
    latency = latency_from_distance(km)
    bandwidth = np.clip(rng.lognormal(math.log(300.0), 0.6, m), 5.0, 10_000.0)
    slow = rng.random(m) < 0.05
    bandwidth = np.where(slow, rng.uniform(2.0, 10.0, m), bandwidth)
    reliability = rng.uniform(0.95, 0.9999, m)
    lat_r, bw_r, rel_r = rounded(latency, 6), rounded(bandwidth, 1), rounded(reliability, 4)
    src, dst = edges[:, 0].tolist(), edges[:, 1].tolist()
    return [
        {
            "source": ids[src[k]],
            "target": ids[dst[k]],
            "latency": lat_r[k],
            "bandwidth": bw_r[k],
            "reliability": rel_r[k],
        }
        for k in range(m)
    ]


def _requests(
    rng: np.random.Generator,
    count: int,
    data: _DataNodes,
    edges: np.ndarray,
    lat_s: np.ndarray,
    bw_s: np.ndarray,
    n: int,
) -> list[TrainingRequest]:
    """``count`` requests with thresholds, epochs and deadlines calibrated on what is eligible
    and reachable (the owner is node 0, the MPVU node 1)."""
    verify = 2000 / 200.0
    reqs = []
    arrival = 0.0
    for r in range(count):
        federated = r % 3 == 1
        model = MODELS[int(rng.integers(len(MODELS)))]
        min_quality = round(float(rng.uniform(0.55, 0.7)), 2)
        max_age = float(rng.choice([180.0, 365.0]))
        min_trust = round(float(rng.uniform(0.4, 0.6)), 2)
        epochs = int(rng.integers(1, 4))
        eligible = (
            data.up
            & data.has_compute
            & (data.quality >= min_quality)
            & (data.age <= max_age)
            & (data.trust >= min_trust)
        )
        train = data.samples * epochs * model["gflop_per_sample"] / data.gflops + data.overhead
        hop = lat_s + 8.0 * model["size_mb"] / bw_s
        graph = coo_matrix(
            (np.maximum(hop, 1e-12), (edges[:, 0], edges[:, 1])), shape=(n, n)
        ).tocsr()
        dist = dijkstra(graph, directed=False, indices=[0, 1])
        eligible &= np.isfinite(dist[0, 2:]) & np.isfinite(dist[1, 2:])
        n_elig = int(eligible.sum())
        base = float(dist[0, 1]) + verify
        if n_elig == 0:
            deadline = base + 60.0
        elif federated:
            # 3-5 FedAvg rounds of the slowest eligible client (the aggregator is the start).
            rt = 2.0 * dist[0, 2:][eligible] + train[eligible]
            deadline = float(rng.uniform(3.0, 5.0)) * float(rt.max()) + base
        else:
            visits = int(np.clip(round(math.sqrt(n_elig)), 3, 40))
            typical = float(np.median(train[eligible])) + 2.0 * float(np.median(hop))
            deadline = base + visits * typical * float(rng.uniform(0.9, 1.1))
        reqs.append(
            TrainingRequest(
                id=f"r{r + 1}",
                owner="owner",
                model=model,
                modality="tabular",
                task="synthetic",
                min_quality=min_quality,
                max_age_days=max_age,
                min_trust=min_trust,
                epochs=epochs,
                deadline=float(math.ceil(deadline)),
                value=float(round(rng.lognormal(math.log(40.0), 0.6))),
                mode="federated" if federated else "sequential",
                arrival=arrival,
            )
        )
        arrival += float(round(rng.exponential(600.0)))
    return reqs


def _p(x: list[float], y: list[float], i: int) -> dict[str, float]:
    return {"x": x[i], "y": y[i]}


__all__ = ["random_geometric"]
