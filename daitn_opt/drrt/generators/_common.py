"""Pieces shared by the generated families: WAN links, non-IID label splits, deadline calibration.

Units follow :mod:`daitn_opt.drrt.snapshot`: seconds, MB, Mbit/s, GFLOP/s, km for positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from scipy.spatial import cKDTree

from ...errors import InputError

if TYPE_CHECKING:
    from ..view import View

FIBRE_KM_PER_S = 200_000.0
"""Signal speed in optical fibre: about two thirds of the speed of light."""
ROUTE_FACTOR = 1.5
"""Cable routes are longer than the straight line between two sites."""
HOP_DELAY_S = 0.0005
"""Per-link switching and queueing delay."""


def latency_from_distance(km: np.ndarray) -> np.ndarray:
    """One-way link latency (s) of a fibre link spanning ``km`` straight-line kilometres."""
    return HOP_DELAY_S + ROUTE_FACTOR * np.asarray(km, dtype=np.float64) / FIBRE_KM_PER_S


def knn_mst_edges(points: np.ndarray, k: int) -> np.ndarray:
    """Undirected edges (m, 2), i < j: each point's ``k`` nearest neighbours plus a Euclidean MST.

    The MST makes the graph connected whatever ``k``; the k-NN edges give alternative paths. The
    MST is taken over the k-NN graph first and completed over the full distance matrix only when
    that graph is disconnected (only small point sets: the dense fallback is O(n^2)).
    """
    n = len(points)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    kk = min(k, n - 1)
    tree = cKDTree(points)
    dist, nbr = tree.query(points, k=kk + 1)
    rows = np.repeat(np.arange(n), kk)
    cols = nbr[:, 1:].ravel()
    w = dist[:, 1:].ravel()
    knn = coo_matrix((w + 1e-9, (rows, cols)), shape=(n, n)).tocsr()
    knn = knn.maximum(knn.T)
    ncomp, _ = connected_components(knn, directed=False)
    if ncomp > 1:
        diff = points[:, None, :] - points[None, :, :]
        full = np.sqrt((diff * diff).sum(-1)) + 1e-9
        np.fill_diagonal(full, 0.0)
        mst = minimum_spanning_tree(full).tocoo()
        extra = np.stack([mst.row, mst.col], axis=1)
    else:
        extra = np.zeros((0, 2), dtype=np.int64)
    knn_coo = knn.tocoo()
    edges = np.concatenate([np.stack([knn_coo.row, knn_coo.col], axis=1), extra])
    edges = np.sort(edges, axis=1)
    edges = edges[edges[:, 0] != edges[:, 1]]
    return np.unique(edges, axis=0)


def radius_edges(points: np.ndarray, radius: float) -> np.ndarray:
    """Undirected edges (m, 2), i < j, between points closer than ``radius`` (KD-tree)."""
    tree = cKDTree(points)
    pairs = tree.query_pairs(radius, output_type="ndarray")
    if len(pairs) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.sort(pairs.astype(np.int64), axis=1)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


def is_connected(n: int, edges: np.ndarray) -> bool:
    if n <= 1:
        return True
    if len(edges) == 0:
        return False
    adj = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    ncomp, _ = connected_components(adj, directed=False)
    return ncomp == 1


@dataclass(frozen=True)
class LabelPool:
    """Samples per label that a real dataset can hand out to data nodes (test set held out)."""

    modality: str
    task: str
    source: str
    pool: dict[str, int]
    test_samples: int

    @property
    def total(self) -> int:
        return sum(self.pool.values())


# scikit-learn's breast-cancer set: 569 samples, 212 malignant ("0") and 357 benign ("1"); a
# stratified test set of 119 leaves 168 + 282 = 450 for the hospitals.
BREAST_CANCER = LabelPool(
    modality="tabular",
    task="breast-cancer",
    source="sklearn.datasets.load_breast_cancer",
    pool={"0": 168, "1": 282},
    test_samples=119,
)
# scikit-learn's digits set: 1797 8x8 images, 174 to 183 per digit; 135 per digit (1350) for the
# hospitals leaves at least 39 per digit, 447 in all, for the test set.
DIGITS = LabelPool(
    modality="image",
    task="digits",
    source="sklearn.datasets.load_digits",
    pool={str(d): 135 for d in range(10)},
    test_samples=447,
)


def bridge_around(points: np.ndarray, edges: np.ndarray, down: np.ndarray) -> np.ndarray:
    """``edges`` plus, where needed, links that keep the nodes that are up connected.

    A node that is down forwards nothing, so it can cut the network even when its links are up.
    While the up nodes fall apart into several components, join the first one to its nearest up
    node elsewhere. Returns ``edges`` unchanged when nothing is cut.
    """
    n = len(points)
    alive = np.flatnonzero(~down)
    while True:
        usable = edges[~(down[edges[:, 0]] | down[edges[:, 1]])]
        graph = coo_matrix((np.ones(len(usable)), (usable[:, 0], usable[:, 1])), shape=(n, n))
        _, labels = connected_components(graph, directed=False)
        first = labels[alive] == labels[alive[0]]
        if first.all():
            return edges
        a, b = alive[first], alive[~first]
        gap = np.linalg.norm(points[a][:, None, :] - points[b][None, :, :], axis=2)
        i, j = np.unravel_index(int(np.argmin(gap)), gap.shape)
        edges = np.vstack([edges, [[a[i], b[j]]]])


def split_labels(
    rng: np.random.Generator,
    weights: np.ndarray,
    labels: list[str],
    pool: dict[str, int] | None,
    alpha: float,
    fill: float = 0.95,
    scale: float = 0.0,
) -> np.ndarray:
    """Non-IID label histograms (holders x labels) with quantity and label skew.

    Each holder h draws a label mix ``p_h ~ Dirichlet(alpha)`` (small alpha: few labels dominate);
    ``weights[h]`` sets its size (quantity skew). With a ``pool``, label l's ``fill * pool[l]``
    samples are shared out in proportion to ``weights[h] * p_h[l]``, so per-label totals never
    exceed the pool (the executor can then partition the real dataset). Without a pool, holder h
    gets about ``scale * weights[h]`` samples. Every holder keeps at least one sample.
    """
    k = len(labels)
    mix = rng.dirichlet(np.full(k, alpha), size=len(weights))
    mass = weights[:, None] * mix
    if pool is None:
        counts = np.floor(mass * scale).astype(np.int64)
    else:
        caps = np.array([pool[lb] for lb in labels], dtype=np.float64)
        share = mass / np.maximum(mass.sum(axis=0, keepdims=True), 1e-300)
        counts = np.floor(share * np.floor(caps * fill)).astype(np.int64)
    empty = np.flatnonzero(counts.sum(axis=1) == 0)
    if pool is None:
        counts[empty, np.argmax(mix[empty], axis=1)] = 1
        return counts
    # A holder left empty by the floor gets one sample of its favourite label that the pool can
    # still spare, else one taken from the largest holder: per-label totals never exceed the pool.
    slack = np.array([pool[lb] for lb in labels], dtype=np.int64) - counts.sum(axis=0)
    for h in empty:
        spare = [j for j in np.argsort(-mix[h], kind="stable") if slack[j] > 0]
        if spare:
            j = int(spare[0])
            slack[j] -= 1
        else:
            big = int(np.argmax(counts.sum(axis=1)))
            j = int(np.argmax(counts[big]))
            if counts[big].sum() <= 1:
                raise InputError(
                    "nodes",
                    len(weights),
                    f"a pool of {int(sum(pool.values()))} samples cannot give every data node "
                    "one; pass replayable=false (--opt replayable=false)",
                )
            counts[big, j] -= 1
        counts[h, j] = 1
    return counts


def greedy_route_time(
    transfer: np.ndarray,
    train: np.ndarray,
    w_open: np.ndarray,
    w_close: np.ndarray,
    start: int,
    end: int,
    verify: float,
    visits: int,
) -> tuple[float, int]:
    """Completion time of a nearest-neighbour route visiting up to ``visits`` nodes.

    From the current node, go to the unvisited node that finishes training soonest (waiting for
    its window to open; skipping nodes whose window has closed), then to ``end`` and verify.
    Returns (time at which verification ends, nodes visited). Used to set deadlines that a route
    of that many nodes can meet.
    """
    n = len(train)
    free = np.ones(n, dtype=bool)
    free[[start, end]] = False
    now, cur, count = 0.0, start, 0
    while count < visits:
        arrive = now + transfer[cur]
        begin = np.maximum(arrive, w_open)
        ok = free & np.isfinite(arrive) & (begin <= w_close) & np.isfinite(transfer[:, end])
        if not ok.any():
            break
        finish = np.where(ok, begin + train, np.inf)
        j = int(np.argmin(finish))
        now, cur, count = float(finish[j]), j, count + 1
        free[j] = False
    return now + float(transfer[cur, end]) + train[end] * (end != start) + verify, count


def federated_deadline(v: View, clients: np.ndarray, rounds: float) -> float:
    """A deadline in which ``rounds`` FedAvg rounds over ``clients`` fit, then verification.

    A round lasts as long as its slowest client: download from the aggregator (the view's
    start), local training, upload. Clients that cannot train as soon as the model arrives (their
    window opens later or has closed) or cannot be reached are left out of the slowest: a few
    windowed clients must not stretch every request's deadline to their night-time slot.
    Returns ``rounds`` times the slowest round plus the transfer of the final model to the end
    and its verification; inf when no client is usable or the end is unreachable.
    """
    s = v.start
    down, up = v.transfer[s, clients], v.transfer[clients, s]
    rt = down + v.train_time[clients] + up
    ready = np.isfinite(rt) & (v.window_open[clients] <= down) & (down <= v.window_close[clients])
    if not ready.any():
        ready = np.isfinite(rt)
    if not ready.any():
        return math.inf
    return rounds * float(rt[ready].max()) + float(v.transfer[s, v.end]) + float(v.verify_time)


def rounded(values: np.ndarray, digits: int) -> list[float]:
    """Python floats rounded to ``digits`` decimals: smaller files, identical across runs."""
    return [float(v) for v in np.round(np.asarray(values, dtype=np.float64), digits)]
