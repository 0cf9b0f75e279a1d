"""The ``healthcare`` family: hospitals that train a diagnostic model without sharing patient data.

The use case of DA-ITN (arXiv 2501.05323, Sec. V): hospitals hold labelled data they may not move;
a research lab (the model owner) sends its model along a route of hospitals (or runs federated
rounds over them) and a verification centre (MPVU) checks it; clinics query deployed models hosted
at model deployment facilities (MDFP).

What varies between hospitals, and why:

- three tiers (teaching, regional, clinic) set data volume, local compute and access bandwidth,
  so a route must trade big-but-slow sites against small-but-fast ones;
- label mixes are non-IID (Dirichlet, ``alpha`` = 0.6) and volumes skewed (log-normal per tier);
- a few hospitals fall below the thresholds requests typically set (quality < 0.55, data older
  than 800 days, trust < 0.45), a few have no local compute or are down, so views exclude them
  with a reason;
- some hospitals' compute is only available in a window (night-time batch slots).

With ``replayable=True`` (the default) the datasets are partitions of scikit-learn's
breast-cancer set (tabular, labels "0"/"1") and digits set (image, labels "0".."9"): per-label
totals over all hospitals never exceed what those sets hold after a stratified test set is set
aside (see :data:`~._common.BREAST_CANCER`, :data:`~._common.DIGITS`), so the executor can replay
any route on real data. Large instances then have few samples per hospital; ``replayable=False``
draws realistic volumes instead.

Deadlines are calibrated on each request's own view: long enough for a nearest-neighbour route
through about 35-55 % of the eligible hospitals, so that the deadline binds but the best route
visits several hospitals. A federated request's deadline lets every client that can train at
once (reachable, not waiting for a window) take part in 3-5 FedAvg rounds: 3-5 times the slowest
such client's round (download from the aggregator, local training, upload) plus the final model's
transfer to the MPVU and its verification (:func:`~._common.federated_deadline`), so that
federated replays learn instead of ending after one round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import InputError
from ..instance import Instance
from ..requests import InferenceModel, TrainingRequest, TrainModel
from ..snapshot import Snapshot
from ..view import build_view
from ._common import (
    BREAST_CANCER,
    DIGITS,
    LabelPool,
    bridge_around,
    federated_deadline,
    greedy_route_time,
    is_connected,
    knn_mst_edges,
    latency_from_distance,
    rounded,
    split_labels,
)

TIERS = ("teaching", "regional", "clinic")
TIER_SHARE = np.array([0.12, 0.38, 0.50])
TIER_SIZE = np.array([3.0, 1.0, 0.35])
"""Median relative data volume per tier."""
TIER_GFLOPS = np.array([600.0, 150.0, 40.0])
"""Median effective GFLOP/s of a tier's local training hardware."""
TIER_MEMORY = np.array([80.0, 32.0, 8.0])
TIER_SLOTS = np.array([4, 2, 1])
TIER_ACCESS = ((800.0, 1000.0), (150.0, 600.0), (30.0, 150.0))
"""Access bandwidth range (Mbit/s) per tier: a link runs at most at its slower end's rate."""

TRAIN_MODELS = {
    "tabular": (
        TrainModel(name="tab-mlp", size_mb=24.0, gflop_per_sample=6.0),
        TrainModel(name="tab-transformer", size_mb=96.0, gflop_per_sample=18.0),
    ),
    "image": (
        TrainModel(name="digits-cnn", size_mb=45.0, gflop_per_sample=9.0),
        TrainModel(name="digits-resnet", size_mb=98.0, gflop_per_sample=14.0),
    ),
}
INFERENCE_MODELS = (
    InferenceModel(id="triage-mlp", memory_gb=2.0, service_ms=4.0, gflop_per_query=0.01),
    InferenceModel(id="tumour-cnn", memory_gb=12.0, service_ms=25.0, gflop_per_query=4.0),
    InferenceModel(id="digits-cnn", memory_gb=1.0, service_ms=3.0, gflop_per_query=0.05),
    InferenceModel(id="report-lm", memory_gb=40.0, service_ms=90.0, gflop_per_query=60.0),
)


def healthcare(
    *,
    nodes: int,
    seed: int,
    requests: int = 1,
    image: bool = True,
    replayable: bool = True,
    region_km: float = 600.0,
    users: int | None = None,
    facilities: int | None = None,
) -> Instance:
    """Generate a healthcare instance with ``nodes`` hospitals.

    Parameters
    ----------
    nodes
        Number of hospitals (data nodes), 3 to 2,000 (at most 450 when ``replayable``: each needs
        one of the 450 breast-cancer samples). The snapshot also holds an MPVU, the model
        owner, clinics' user nodes and MDFPs.
    seed
        Seed of every random choice: the same arguments give the same instance, byte for byte.
    requests
        Number of training requests; request 2, 5, 8, ... (1-based) are federated, every fourth
        trains on image data when ``image``.
    image
        Give about 45 % of hospitals an image (digits) dataset besides the tabular one.
    replayable
        Keep per-label totals within scikit-learn's breast-cancer and digits sets.
    region_km
        Side of the square region the hospitals are spread over.
    users, facilities
        Number of querying user nodes (default: a third of the hospitals, at least 3) and of MDFPs
        (default: a sixth, at least 2).

    Returns
    -------
    Instance
        The snapshot, the training requests (deadlines calibrated on their views) and the
        inference models; ``metadata["generator"]`` records the arguments.

    Raises
    ------
    InputError
        An argument out of its range (named).

    Example
    -------
    >>> inst = healthcare(nodes=6, seed=1, requests=2)
    >>> inst.name, len(inst.requests), sum(n.kind == "data" for n in inst.snapshot.nodes)
    ('healthcare-6-s1', 2, 6)
    """
    n_users, n_fac = _check_arguments(nodes, requests, region_km, users, facilities)
    # The stages draw from one generator in a fixed order: reordering them changes every instance.
    rng = np.random.default_rng(seed)
    geo = _Geography.draw(rng, nodes, region_km)
    hosp = _Hospitals.draw(rng, geo, nodes)
    data = _Datasets.draw(rng, hosp, image, replayable)
    node_docs = _hospital_docs(hosp, data)
    mpvu_xy, owner_xy = _service_nodes(rng, geo, region_km, node_docs)
    models = [m for m in INFERENCE_MODELS if image or m.id != "digits-cnn"]
    user_xy, demand_total = _user_nodes(rng, geo, models, n_users, node_docs)
    fac_xy = _facility_nodes(rng, geo, n_fac, demand_total, region_km, node_docs)
    xy = np.vstack([hosp.xy, mpvu_xy, owner_xy, user_xy, fac_xy])
    links = _wan_links(rng, xy, hosp, n_users, n_fac, [d["id"] for d in node_docs])
    h = nodes
    snapshot = Snapshot.model_validate(
        {"name": f"healthcare-{h}-s{seed}", "time": 0.0, "nodes": node_docs, "links": links}
    )
    reqs = _requests(rng, snapshot, requests, image=image and len(data.img_idx) >= 2)
    pools = [BREAST_CANCER] + ([DIGITS] if len(data.img_idx) else [])
    return Instance(
        name=f"healthcare-{h}-s{seed}",
        description=(
            f"{h} hospitals in {geo.n_cities} cities over {region_km:g} km, an MPVU, a model "
            f"owner, {n_users} querying user nodes, {n_fac} MDFPs; {len(reqs)} training requests"
        ),
        snapshot=snapshot,
        requests=reqs,
        models=models,
        metadata=_metadata(h, seed, requests, image, replayable, region_km, n_users, n_fac, pools),
    )


def _metadata(
    h: int,
    seed: int,
    requests: int,
    image: bool,
    replayable: bool,
    region_km: float,
    n_users: int,
    n_fac: int,
    pools: list[LabelPool],
) -> dict[str, Any]:
    """The instance's metadata: the generator's arguments and the datasets' sources."""
    return {
        "generator": {
            "family": "healthcare",
            "nodes": h,
            "seed": seed,
            "requests": requests,
            "image": image,
            "replayable": replayable,
            "region_km": region_km,
            "users": n_users,
            "facilities": n_fac,
        },
        "units": "seconds, MB, Mbit/s, GFLOP/s, km",
        "datasets": {
            f"{p.modality}/{p.task}": {
                "source": p.source,
                "replayable": replayable,
                "pool": p.pool,
                "test_samples": p.test_samples,
            }
            for p in pools
        },
    }


def _check_arguments(
    nodes: int, requests: int, region_km: float, users: int | None, facilities: int | None
) -> tuple[int, int]:
    """Validate the arguments; the numbers of user nodes and MDFPs."""
    if not 3 <= nodes <= 2000:
        raise InputError("nodes", nodes, "healthcare needs 3 to 2000 hospitals")
    if not 0 <= requests <= 1000:
        raise InputError("requests", requests, "must be between 0 and 1000")
    if not 0 < region_km <= 40_000:
        raise InputError("region_km", region_km, "must be positive and at most 40000 (km)")
    n_users = max(3, round(nodes / 3)) if users is None else users
    n_fac = max(2, round(nodes / 6)) if facilities is None else facilities
    for name, count in (("users", n_users), ("facilities", n_fac)):
        if not 0 <= count <= 2000:
            raise InputError(name, count, "must be between 0 and 2000")
    return n_users, n_fac


@dataclass(frozen=True)
class _Geography:
    """Cities of Zipf-distributed size; hospitals and clinics cluster around them."""

    centres: np.ndarray
    weight: np.ndarray
    spread: np.ndarray
    region_km: float

    @property
    def n_cities(self) -> int:
        return len(self.weight)

    @classmethod
    def draw(cls, rng: np.random.Generator, hospitals: int, region_km: float) -> _Geography:
        n_cities = max(2, round(0.8 * math.sqrt(hospitals)))
        centres = rng.uniform(0.1, 0.9, size=(n_cities, 2)) * region_km
        weight = 1.0 / np.arange(1, n_cities + 1)
        weight /= weight.sum()
        spread = 8.0 + 30.0 * np.sqrt(weight / weight.max())
        return cls(centres, weight, spread, region_km)

    def place(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions of ``count`` sites and the city of each."""
        city = rng.choice(self.n_cities, size=count, p=self.weight)
        pts = self.centres[city] + rng.normal(size=(count, 2)) * self.spread[city, None]
        return np.clip(pts, 0.0, self.region_km), city


@dataclass(frozen=True)
class _Hospitals:
    """Per-hospital position, tier, role and attributes (arrays of length ``h``)."""

    xy: np.ndarray
    city: np.ndarray
    tier: np.ndarray
    size_w: np.ndarray
    role: np.ndarray
    """"": ordinary; else the one threshold it fails ("quality", "age", "trust"), "down" or
    "nocompute"."""
    quality: np.ndarray
    age: np.ndarray
    trust: np.ndarray
    gflops: np.ndarray
    cost_hour: np.ndarray
    overhead: np.ndarray
    windowed: np.ndarray
    w_start: np.ndarray
    w_len: np.ndarray
    second: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, geo: _Geography, h: int) -> _Hospitals:
        xy, city = geo.place(rng, h)
        tier = rng.choice(3, size=h, p=TIER_SHARE)
        tier[np.argmax(geo.weight[city])] = 0  # the largest city has a teaching hospital
        size_w = TIER_SIZE[tier] * rng.lognormal(0.0, 0.45, size=h)
        role = _roles(rng, h)
        quality = np.where(
            role == "quality", rng.uniform(0.35, 0.55, h), 0.78 + 0.21 * rng.beta(2.0, 1.5, h)
        )
        age = np.where(
            role == "age",
            rng.uniform(800.0, 2000.0, h),
            np.minimum(rng.exponential(90.0, h), 330.0),
        )
        trust = np.where(
            role == "trust", rng.uniform(0.2, 0.45, h), 0.8 + 0.19 * rng.beta(3.0, 1.2, h)
        )
        gflops = TIER_GFLOPS[tier] * rng.lognormal(0.0, 0.5, h)
        cost_hour = 0.4 + gflops / 250.0 * rng.uniform(0.7, 1.3, h)
        overhead = rng.uniform(5.0, 30.0, h)
        windowed = (role == "") & (rng.random(h) < 0.2)
        w_start = rng.uniform(0.0, 1200.0, h)
        w_len = rng.uniform(1800.0, 5400.0, h)
        second = rng.random(h) < 0.35
        return cls(
            xy, city, tier, size_w, role, quality, age, trust, gflops, cost_hour, overhead,
            windowed, w_start, w_len, second,
        )  # fmt: skip


def _roles(rng: np.random.Generator, h: int) -> np.ndarray:
    """Hospitals below typical thresholds, down, or without compute (disjoint sets)."""
    special = {"down": 0, "quality": 0, "age": 0, "trust": 0, "nocompute": 0}
    if h >= 6:
        special = {
            "quality": max(1, round(0.08 * h)),
            "age": max(1, round(0.08 * h)),
            "trust": max(1, round(0.06 * h)),
            "nocompute": max(1, round(0.04 * h)),
            "down": max(1 if h >= 10 else 0, round(0.03 * h)),
        }
    order = rng.permutation(h)
    role = np.full(h, "", dtype=object)
    at = 0
    for name, count in special.items():
        role[order[at : at + count]] = name
        at += count
    return role


@dataclass(frozen=True)
class _Datasets:
    """Non-IID label mixes with quantity skew: every hospital's tabular counts; the image
    datasets of the hospitals ``img_idx`` that have one."""

    tab_counts: np.ndarray
    img_idx: np.ndarray
    img_counts: np.ndarray
    img_quality: np.ndarray
    img_age: np.ndarray

    @classmethod
    def draw(
        cls, rng: np.random.Generator, hosp: _Hospitals, image: bool, replayable: bool
    ) -> _Datasets:
        h = len(hosp.tier)
        has_image = np.zeros(h, dtype=bool)
        if image:
            has_image = rng.random(h) < 0.45
            if h >= 4 and has_image.sum() < 2:
                has_image[rng.choice(h, size=2, replace=False)] = True
        tab_counts = _histograms(rng, hosp.size_w, BREAST_CANCER, replayable, scale=1500.0)
        img_idx = np.flatnonzero(has_image)
        img_w = hosp.size_w[img_idx] * rng.lognormal(0.0, 0.3, len(img_idx))
        img_counts = _histograms(rng, img_w, DIGITS, replayable, 4000.0)
        img_quality = np.clip(hosp.quality[img_idx] + rng.normal(0.0, 0.04, len(img_idx)), 0.3, 1.0)
        img_age = hosp.age[img_idx] * rng.uniform(0.5, 1.5, len(img_idx))
        return cls(tab_counts, img_idx, img_counts, img_quality, img_age)


def _hospital_docs(hosp: _Hospitals, data: _Datasets) -> list[dict[str, Any]]:
    """The hospitals' node documents (no random draw)."""
    h = len(hosp.tier)
    width = len(str(h))
    img_pos = {int(i): k for k, i in enumerate(data.img_idx)}
    docs: list[dict[str, Any]] = []
    for i in range(h):
        datasets = [_dataset(BREAST_CANCER, data.tab_counts[i], hosp.quality[i], hosp.age[i])]
        if i in img_pos:
            k = img_pos[i]
            datasets.append(
                _dataset(DIGITS, data.img_counts[k], data.img_quality[k], data.img_age[k])
            )
        doc: dict[str, Any] = {
            "id": f"h{i + 1:0{width}d}",
            "kind": "data",
            "name": f"{TIERS[hosp.tier[i]]} hospital {i + 1} (city {hosp.city[i] + 1})",
            "position": _pos(hosp.xy[i]),
            "up": hosp.role[i] != "down",
            "trust": round(float(hosp.trust[i]), 3),
            "datasets": datasets,
        }
        if hosp.role[i] != "nocompute":
            doc["compute"] = {
                "gflops": round(float(hosp.gflops[i]), 1),
                "memory_gb": float(TIER_MEMORY[hosp.tier[i]]),
                "slots": int(TIER_SLOTS[hosp.tier[i]]),
                "cost_per_hour": round(float(hosp.cost_hour[i]), 3),
                "overhead_s": round(float(hosp.overhead[i]), 1),
            }
        if hosp.windowed[i]:
            a, b = float(round(hosp.w_start[i])), float(round(hosp.w_start[i] + hosp.w_len[i]))
            doc["windows"] = [{"start": a, "end": b}]
            if hosp.second[i]:
                c = b + 3600.0
                doc["windows"].append({"start": c, "end": float(round(c + hosp.w_len[i]))})
        docs.append(doc)
    return docs


def _service_nodes(
    rng: np.random.Generator, geo: _Geography, region_km: float, docs: list[dict[str, Any]]
) -> tuple[np.ndarray, np.ndarray]:
    """The verification centre (near the region's centre) and the model owner (in the largest
    city), appended to ``docs``; their positions."""
    centre = np.array([region_km / 2, region_km / 2])
    mpvu_xy = centre + rng.normal(0.0, region_km / 20, 2)
    owner_xy = geo.centres[0] + rng.normal(0.0, 5.0, 2)
    docs.append(
        {
            "id": "mpvu",
            "kind": "mpvu",
            "name": "national model verification centre",
            "position": _pos(mpvu_xy),
            "eval_throughput": 25.0,
            "eval_samples": BREAST_CANCER.test_samples,
        }
    )
    docs.append(
        {
            "id": "owner",
            "kind": "user",
            "name": "research lab (model owner)",
            "position": _pos(owner_xy),
        }
    )
    return mpvu_xy, owner_xy


def _user_nodes(
    rng: np.random.Generator,
    geo: _Geography,
    models: list[InferenceModel],
    n_users: int,
    docs: list[dict[str, Any]],
) -> tuple[np.ndarray, float]:
    """Querying clinics with one or two model demands each, appended to ``docs``; their
    positions and the total query rate."""
    user_xy, _ = geo.place(rng, n_users)
    demand_total = 0.0
    uw = len(str(max(n_users, 1)))
    for u in range(n_users):
        picks = rng.choice(len(models), size=rng.integers(1, 3), replace=False)
        demands = []
        for m in sorted(picks):
            rate = round(float(rng.lognormal(math.log(4.0), 0.7)), 2)
            demand_total += rate
            demands.append(
                {
                    "model": models[m].id,
                    "rate": rate,
                    "slo_ms": round(models[m].service_ms + float(rng.uniform(6.0, 30.0)), 1),
                    "value": round(float(rng.uniform(0.5, 2.0)), 2),
                }
            )
        docs.append(
            {
                "id": f"u{u + 1:0{uw}d}",
                "kind": "user",
                "name": f"clinic users {u + 1}",
                "position": _pos(user_xy[u]),
                "demands": demands,
            }
        )
    return user_xy, demand_total


def _facility_nodes(
    rng: np.random.Generator,
    geo: _Geography,
    n_fac: int,
    demand_total: float,
    region_km: float,
    docs: list[dict[str, Any]],
) -> np.ndarray:
    """Model deployment facilities (MDFPs), one per city in turn, appended to ``docs``."""
    fac_city = np.arange(n_fac) % geo.n_cities
    fac_xy = np.clip(geo.centres[fac_city] + rng.normal(0.0, 4.0, (n_fac, 2)), 0.0, region_km)
    # Total throughput about 1.25x the demand: feasible, but not with every SLO met everywhere.
    fac_share = rng.dirichlet(np.full(max(n_fac, 1), 2.0))
    fw = len(str(max(n_fac, 1)))
    for f in range(n_fac):
        docs.append(
            {
                "id": f"f{f + 1:0{fw}d}",
                "kind": "mdfp",
                "name": f"deployment facility {f + 1} (city {fac_city[f] + 1})",
                "position": _pos(fac_xy[f]),
                "facility": {
                    "memory_gb": float(rng.choice([32.0, 64.0, 128.0])),
                    "throughput": round(max(1.0, 1.25 * demand_total * float(fac_share[f])), 2),
                    "cost_per_hour": round(float(rng.uniform(2.0, 12.0)), 2),
                    "max_utilization": 0.9,
                },
            }
        )
    return fac_xy


def _wan_links(
    rng: np.random.Generator,
    xy: np.ndarray,
    hosp: _Hospitals,
    n_users: int,
    n_fac: int,
    ids: list[str],
) -> list[dict[str, Any]]:
    """The WAN: k-nearest-neighbour links plus a spanning tree, latency from distance, bandwidth
    from the slower end's access rate; a few slow links and, on larger networks, a few down ones
    (never one whose loss would cut the network)."""
    h = len(hosp.tier)
    access = np.concatenate(
        [
            np.array([rng.uniform(*TIER_ACCESS[t]) for t in hosp.tier]),
            [1000.0, 1000.0],
            rng.uniform(50.0, 300.0, n_users),
            np.full(n_fac, 10_000.0),
        ]
    )
    down = np.zeros(len(xy), dtype=bool)
    down[:h] = hosp.role == "down"
    edges = bridge_around(xy, knn_mst_edges(xy, k=3), down)
    m = len(edges)
    km = np.linalg.norm(xy[edges[:, 0]] - xy[edges[:, 1]], axis=1)
    latency = latency_from_distance(km)
    bandwidth = np.minimum(access[edges[:, 0]], access[edges[:, 1]]) * rng.uniform(0.6, 1.0, m)
    slow = rng.random(m) < 0.06
    bandwidth = np.where(slow, rng.uniform(2.0, 10.0, m), bandwidth)
    reliability = np.where(slow, rng.uniform(0.9, 0.97, m), rng.uniform(0.97, 0.9999, m))
    cost_gb = rng.uniform(0.02, 0.12, m)
    up = np.ones(m, dtype=bool)
    if h >= 20:
        for e in rng.choice(m, size=max(1, m // 50), replace=False):
            up[e] = False
            if not is_connected(len(xy), edges[up]):
                up[e] = True
    lat_r, bw_r = rounded(latency, 6), rounded(bandwidth, 1)
    rel_r, cost_r = rounded(reliability, 4), rounded(cost_gb, 3)
    links = []
    for k in range(m):
        link = {
            "source": ids[edges[k, 0]],
            "target": ids[edges[k, 1]],
            "latency": lat_r[k],
            "bandwidth": bw_r[k],
            "reliability": rel_r[k],
            "cost_per_gb": cost_r[k],
        }
        if not up[k]:
            link["up"] = False
        links.append(link)
    return links


def _pos(xy: np.ndarray) -> dict[str, float]:
    return {"x": round(float(xy[0]), 2), "y": round(float(xy[1]), 2)}


def _histograms(
    rng: np.random.Generator, weights: np.ndarray, pool: LabelPool, replayable: bool, scale: float
) -> np.ndarray:
    labels = list(pool.pool)
    if len(weights) == 0:
        return np.zeros((0, len(labels)), dtype=np.int64)
    if replayable:
        return split_labels(rng, weights, labels, pool.pool, alpha=0.6)
    return split_labels(rng, weights, labels, None, alpha=0.6, scale=scale)


def _dataset(pool: LabelPool, counts: np.ndarray, quality: float, age: float) -> dict[str, Any]:
    labels = {lb: int(c) for lb, c in zip(pool.pool, counts, strict=True) if c > 0}
    return {
        "modality": pool.modality,
        "task": pool.task,
        "samples": int(sum(labels.values())),
        "quality": round(float(quality), 3),
        "age_days": round(float(age), 1),
        "labels": labels,
    }


def _requests(
    rng: np.random.Generator, snapshot: Snapshot, count: int, image: bool
) -> list[TrainingRequest]:
    """``count`` requests with varied thresholds, values, arrivals; deadlines set on their views."""
    out: list[TrainingRequest] = []
    arrival = 0.0
    for i in range(count):
        federated = i % 3 == 1
        modality = "image" if image and i % 4 == 3 else "tabular"
        task = DIGITS.task if modality == "image" else BREAST_CANCER.task
        model = TRAIN_MODELS[modality][int(rng.integers(2))]
        base = {
            "id": f"r{i + 1}",
            "owner": "owner",
            "model": model.model_dump(),
            "modality": modality,
            "task": task,
            "min_quality": round(float(rng.uniform(0.6, 0.75)), 2),
            "max_age_days": float(rng.choice([365.0, 540.0, 730.0])),
            "min_trust": round(float(rng.uniform(0.5, 0.7)), 2),
            "epochs": int(rng.integers(1, 6)),
            "value": float(round(rng.lognormal(math.log(40.0), 0.6))),
            "mode": "federated" if federated else "sequential",
            "arrival": arrival,
        }
        arrival += float(round(rng.exponential(600.0)))
        req = TrainingRequest.model_validate(base)
        v = build_view(snapshot, req)
        data = np.flatnonzero(v.samples > 0)
        data = data[(data != v.start) & (data != v.end)]
        frac = float(rng.uniform(0.35, 0.55))
        if len(data) == 0:
            deadline = float(v.transfer[v.start, v.end]) + v.verify_time + 60.0
        elif federated:
            deadline = federated_deadline(v, data, float(rng.uniform(3.0, 5.0)))
        else:
            # Visiting every eligible hospital takes at least its training plus the cheapest
            # way in: keep the deadline below 85 % of that, so it always binds.
            into = v.transfer[:, data].copy()
            into[data, np.arange(len(data))] = np.inf
            bound = float(v.train_time[data].sum() + into.min(axis=0).sum()) + v.verify_time
            visits = int(np.clip(round(frac * len(data)), min(3, len(data)), 25))
            while True:
                t, _ = greedy_route_time(
                    v.transfer,
                    v.train_time,
                    v.window_open,
                    v.window_close,
                    v.start,
                    v.end,
                    v.verify_time,
                    visits,
                )
                if t < 0.8 * bound or visits <= 2:
                    break
                visits -= 1
            deadline = min(t * float(rng.uniform(1.0, 1.1)), max(t, 0.85 * bound))
        # A down hospital can cut the owner off from the MPVU (down nodes forward nothing): such
        # a request cannot be met at any deadline, and its view says why; leave it unbounded.
        base["deadline"] = float(math.ceil(deadline)) if math.isfinite(deadline) else None
        if len(data):
            if federated:
                amount = round(float(rng.uniform(0.4, 0.7)) * float(v.samples[data].sum()))
                base["target"] = {"kind": "samples", "amount": float(amount)}
            elif modality == "image":
                base["target"] = {"kind": "coverage", "amount": float(rng.integers(8, 11))}
            else:
                amount = float(rng.uniform(0.3, 0.6)) * float(v.utility[data].sum())
                base["target"] = {"kind": "utility", "amount": round(amount, 1)}
            if i % 4 == 2 and not federated:
                per_visit = float(np.mean(v.visit_cost[data]))
                hops = v.travel_cost[np.ix_(data, data)]
                hops = hops[np.isfinite(hops) & (hops > 0)]
                per_hop = float(np.median(hops)) if hops.size else 0.0
                budget = float(rng.uniform(0.5, 0.8)) * frac * len(data) * (per_visit + per_hop)
                base["budget"] = round(budget, 4)
        out.append(TrainingRequest.model_validate(base))
    return out


__all__ = ["INFERENCE_MODELS", "TRAIN_MODELS", "healthcare"]
