"""Client selection for federated frameworks, free of any framework: profiles in, clients out.

A federated framework (Flower, :mod:`daitn_opt.adapters.flower`) knows its clients only by what
they report: samples, label histogram, label quality, speed, link and whether they are available
now. :func:`instance_from_profiles` turns such reports into a DRRT instance (a star: the server is
the owner, every client a data node linked to it) with one training request for the round;
:func:`select_clients` admits it with federated T-FAM (``solution["plans"]`` names the clients)
and :func:`sequential_order` routes it with MTRCE (one client after another, DA-ITN's sequential
learning). :func:`round_seconds` is the simulated time of a round, the same formula for every
strategy compared.

The module also holds the small non-IID federation the Flower example and comparison use:
:func:`make_federation` splits scikit-learn's breast-cancer or digits among clients with
quantity and label skew and label noise (the executor's partitioners), gives each a speed and an
availability pattern, and :class:`SoftmaxModel` is the numpy multinomial logistic regression they
train (no torch start-up in every simulated client).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..drrt import (
    Compute,
    DataNode,
    Dataset,
    Instance,
    Link,
    Snapshot,
    TrainingRequest,
    TrainModel,
    UserNode,
)
from ..errors import InputError

SERVER = "server"
"""Node id of the server (the request's owner) in the snapshot built from profiles."""
MODALITY = "tabular"


@dataclass(frozen=True)
class ClientProfile:
    """What one client reports to the server (never data).

    ``name`` is the client's stable name (its partition, e.g. ``"p3"``); the framework's node id
    is mapped to it through the report.
    """

    name: str
    samples: int
    labels: dict[str, int]
    quality: float
    gflops: float
    up: bool = True
    latency: float = 0.05
    """Seconds, one way, client <-> server."""
    bandwidth: float = 100.0
    """Mbit/s."""

    def to_record(self) -> dict[str, Any]:
        """Flat values a framework's config record carries (lists of int / str, no dicts)."""
        names = sorted(self.labels)
        return {
            "name": self.name,
            "samples": int(self.samples),
            "label-names": names,
            "label-counts": [int(self.labels[k]) for k in names],
            "quality": float(self.quality),
            "gflops": float(self.gflops),
            "up": bool(self.up),
            "latency": float(self.latency),
            "bandwidth": float(self.bandwidth),
        }

    @classmethod
    def from_record(cls, record: Any) -> ClientProfile:
        """The profile of a record made by :meth:`to_record`; an InputError naming what lacks."""
        try:
            labels = dict(zip(record["label-names"], record["label-counts"], strict=True))
            return cls(
                name=str(record["name"]),
                samples=int(record["samples"]),
                labels={str(k): int(v) for k, v in labels.items()},
                quality=float(record["quality"]),
                gflops=float(record["gflops"]),
                up=bool(record["up"]),
                latency=float(record["latency"]),
                bandwidth=float(record["bandwidth"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError("profile", str(exc), "a client report lacks a field") from None


@dataclass(frozen=True)
class RoundSpec:
    """The training asked of one round: what the model costs and when it must be back."""

    task: str = "fl"
    deadline: float = 60.0
    """Seconds a round may last (the server stops waiting then)."""
    epochs: int = 1
    model_mb: float = 1.0
    gflop_per_sample: float = 0.05
    min_quality: float = 0.0
    """Clients whose label quality is below are not eligible."""


def client_seconds(p: ClientProfile, spec: RoundSpec) -> float:
    """Download, local epochs, upload: one client's share of a round (seconds)."""
    transfer = p.latency + spec.model_mb * 8.0 / p.bandwidth
    return 2.0 * transfer + spec.epochs * p.samples * spec.gflop_per_sample / p.gflops


def round_seconds(profiles: Sequence[ClientProfile], spec: RoundSpec) -> float:
    """Simulated length of a round: the slowest client, or the deadline when one is down."""
    if not profiles:
        return 0.0
    if any(not p.up for p in profiles):
        return spec.deadline  # the server waits until the deadline for the missing reply
    return max(client_seconds(p, spec) for p in profiles)


def instance_from_profiles(
    profiles: Sequence[ClientProfile],
    spec: RoundSpec,
    *,
    mode: str = "federated",
    deadline: float | None = None,
) -> Instance:
    """A star-shaped DRRT instance with one request for the round (``mode``: federated or
    sequential; ``deadline`` defaults to the round's)."""
    if not profiles:
        raise InputError("profiles", [], "no client reported")
    nodes: list[Any] = [UserNode(id=SERVER)]
    links = []
    for p in profiles:
        data = Dataset(
            modality=MODALITY,
            task=spec.task,
            samples=int(p.samples),
            quality=float(p.quality),
            labels=dict(p.labels) or None,
        )
        nodes.append(
            DataNode(id=p.name, up=p.up, datasets=[data], compute=Compute(gflops=p.gflops))
        )
        links.append(Link(source=SERVER, target=p.name, latency=p.latency, bandwidth=p.bandwidth))
    request = TrainingRequest(
        id="round",
        owner=SERVER,
        modality=MODALITY,
        task=spec.task,
        mode=mode,  # type: ignore[arg-type]
        epochs=spec.epochs,
        deadline=spec.deadline if deadline is None else deadline,
        min_quality=spec.min_quality,
        model=TrainModel(size_mb=spec.model_mb, gflop_per_sample=spec.gflop_per_sample),
    )
    return Instance(
        name="federation",
        snapshot=Snapshot(nodes=nodes, links=links),
        requests=[request],
    )


def select_clients(
    profiles: Sequence[ClientProfile],
    spec: RoundSpec,
    *,
    solver: str = "ls",
    time_limit: float = 5.0,
    seed: int = 0,
) -> list[str]:
    """The clients federated T-FAM admits for the round (names; empty when nothing fits).

    >>> ps = [ClientProfile(f"p{i}", 100, {"0": 50, "1": 50}, q, g)
    ...       for i, (q, g) in enumerate([(1.0, 50.0), (0.5, 50.0), (0.9, 0.5)])]
    >>> select_clients(ps, RoundSpec(deadline=5.0, min_quality=0.8))  # p1 noisy, p2 too slow
    ['p0']
    """
    from .. import tfam
    from ..registry import solve

    up = [p for p in profiles if p.up]
    if not up:
        return []
    problem = tfam.from_instance(instance_from_profiles(up, spec))
    if problem.n_requests == 0:
        return []
    result = solve(problem, solver, time_limit=time_limit, seed=seed)
    plans = (result.solution or {}).get("plans") or []
    return list(plans[0]["clients"]) if plans else []


def sequential_order(
    profiles: Sequence[ClientProfile],
    spec: RoundSpec,
    *,
    budget: float,
    solver: str = "ils",
    time_limit: float = 5.0,
    seed: int = 0,
) -> list[str]:
    """The clients in MTRCE order: the route of the model through them within ``budget`` s.

    >>> ps = [ClientProfile(f"p{i}", 100, {"0": 100}, 1.0, 50.0) for i in range(3)]
    >>> sorted(sequential_order(ps, RoundSpec(), budget=100.0, solver="highs"))
    ['p0', 'p1', 'p2']
    """
    from .. import mtrce
    from ..registry import solve

    up = [p for p in profiles if p.up]
    if not up:
        return []
    inst = instance_from_profiles(up, spec, mode="sequential", deadline=budget)
    try:
        problem = mtrce.from_instance(inst)
    except InputError:
        return []  # no eligible client in the view
    result = solve(problem, solver, time_limit=time_limit, seed=seed)
    routes = (result.solution or {}).get("routes") or [[]]
    return [n for n in routes[0] if n != SERVER]


# -- a small non-IID federation ----------------------------------------------------------------
def _stable_seed(*parts: Any) -> int:
    return zlib.crc32(repr(parts).encode())


@dataclass
class Federation:
    """Clients' local data, their reports, a held-out test set, and who is up in which round."""

    task: str
    seed: int
    x: list[np.ndarray]
    y: list[np.ndarray]
    profiles: list[ClientProfile]
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    p_down: float = 0.0
    down_rounds: dict[int, set[int]] = field(default_factory=dict)
    """Scripted failures: round -> clients down in that round (on top of ``p_down``)."""

    def is_up(self, client: int, server_round: int) -> bool:
        """Whether client ``client`` is available in round ``server_round`` (deterministic)."""
        if client in self.down_rounds.get(server_round, ()):
            return False
        if self.p_down <= 0:
            return True
        rng = np.random.default_rng(_stable_seed(self.task, self.seed, client, server_round))
        return bool(rng.random() >= self.p_down)

    def profile(self, client: int, server_round: int) -> ClientProfile:
        base = self.profiles[client]
        up = self.is_up(client, server_round)
        return base if base.up == up else ClientProfile(**{**base.__dict__, "up": up})


def make_federation(
    task: str,
    clients: int,
    seed: int,
    *,
    alpha: float = 0.5,
    sigma: float = 0.8,
    noisy: float = 0.3,
    p_down: float = 0.1,
    test_share: float = 0.25,
) -> Federation:
    """Split ``task`` (``breast-cancer`` or ``digits``) among ``clients`` with skew and noise.

    Quantity skew (log-normal, ``sigma``), label skew (Dirichlet ``alpha``), label noise on a
    ``noisy`` share of the clients (quality 0.3-0.6, else 0.95-1.0), speeds 5-100 GFLOP/s
    (log-uniform), latencies 0.01-0.2 s; each client is down in a round with ``p_down``.

    >>> f = make_federation("breast-cancer", 6, seed=0)
    >>> len(f.profiles), sum(p.samples for p in f.profiles) + len(f.y_test)
    (6, 569)
    """
    from ..executor.data import corrupt_labels, dirichlet_label_skew, load_source, quantity_skew

    if clients < 1:
        raise InputError("clients", clients, "at least one client")
    src = load_source(task)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(src.y))
    cut = round(test_share * len(order))
    test, pool = order[:cut], order[cut:]
    sizes = quantity_skew(len(pool), clients, sigma, rng, minimum=8)
    parts = dirichlet_label_skew(src.y[pool], sizes, alpha, rng)
    noisy_set = set(rng.choice(clients, size=round(noisy * clients), replace=False).tolist())
    xs, ys, profiles = [], [], []
    for i, part in enumerate(parts):
        idx = pool[part]
        quality = float(rng.uniform(0.3, 0.6) if i in noisy_set else rng.uniform(0.95, 1.0))
        y, _ = corrupt_labels(src.y[idx], quality, src.num_classes, rng)
        xs.append(src.x[idx])
        ys.append(y)
        counts = np.bincount(src.y[idx], minlength=src.num_classes)
        profiles.append(
            ClientProfile(
                name=f"p{i}",
                samples=len(idx),
                labels={src.classes[k]: int(c) for k, c in enumerate(counts) if c},
                quality=round(quality, 3),
                gflops=float(np.exp(rng.uniform(math.log(5.0), math.log(100.0)))),
                latency=float(rng.uniform(0.01, 0.2)),
            )
        )
    return Federation(
        task, seed, xs, ys, profiles, src.x[test], src.y[test], src.num_classes, p_down
    )


class SoftmaxModel:
    """Multinomial logistic regression in numpy: weights ``(d, C)`` and bias ``(C,)``."""

    @staticmethod
    def init(features: int, classes: int) -> list[np.ndarray]:
        return [np.zeros((features, classes), np.float32), np.zeros(classes, np.float32)]

    @staticmethod
    def train(
        arrays: list[np.ndarray],
        x: np.ndarray,
        y: np.ndarray,
        *,
        epochs: int = 1,
        lr: float = 0.1,
        batch: int = 32,
        seed: int = 0,
    ) -> list[np.ndarray]:
        """``epochs`` of mini-batch SGD on the cross-entropy; returns new arrays."""
        w, b = (a.astype(np.float64) for a in arrays)
        rng = np.random.default_rng(seed)
        for _ in range(epochs):
            for start in range(0, len(y), batch):
                idx = rng.permutation(len(y))[start : start + batch]
                z = x[idx] @ w + b
                z -= z.max(axis=1, keepdims=True)
                p = np.exp(z)
                p /= p.sum(axis=1, keepdims=True)
                p[np.arange(len(idx)), y[idx]] -= 1.0
                w -= lr * x[idx].T @ p / len(idx)
                b -= lr * p.mean(axis=0)
        return [w.astype(np.float32), b.astype(np.float32)]

    @staticmethod
    def accuracy(arrays: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
        w, b = arrays
        return float(np.mean(np.argmax(x @ w + b, axis=1) == y)) if len(y) else 0.0
