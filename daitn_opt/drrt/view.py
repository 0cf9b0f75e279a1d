"""Request-specific views of a snapshot (MS-DRRT): the arrays every MTRCE/T-FAM solver reads.

DA-ITN's DRRT orchestrator turns the global map into a topology for one request (arXiv
2501.05323, Sec. IV): which data nodes are eligible for it, how long moving *this* model between
them takes, how long training takes at each, and what each node is worth. Solvers never read the
snapshot; they read a :class:`View`.

Definitions (per node i of the view, request r):

- eligible: a data node that is up, meets r's trust threshold, holds a dataset of r's modality and
  task meeting r's quality and age thresholds, has local compute, and is reachable both from the
  start and to the end over links that are up;
- ``utility[i]`` = sum over qualifying datasets of ``samples * quality``;
- ``train_time[i]`` = ``samples * epochs * gflop_per_sample / gflops + overhead_s``;
- ``transfer[i, j]`` = shortest path over up links, each hop costing ``latency + 8 * size_mb /
  bandwidth`` (store and forward), or the benchmark's own distance when the instance has a
  :class:`~daitn_opt.drrt.instance.TravelSpec`;
- ``window_open[i]``, ``window_close[i]``: the first availability window still open when the
  request arrives, in seconds after its arrival (``snapshot.time + request.arrival``), since every
  route leaves the start at time 0; a data node whose windows all closed before is excluded;
- ``visit_cost[i]`` = compute cost of training at i; ``travel_cost[i, j]`` = ``size_gb *`` the summed
  ``cost_per_gb`` along the path chosen for ``transfer``.

Transfer times are computed between the view's own nodes only, never between all nodes of the
snapshot (:mod:`daitn_opt.drrt.transfer`); ``max_nodes`` caps the view for snapshots whose
eligible nodes are too many for one k x k matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .instance import Instance, TravelSpec
from .metrics import distance_matrix
from .requests import TrainingRequest
from .snapshot import Snapshot
from .transfer import (
    compiled,
    distances_from,
    distances_to,
    link_weights,
    pairwise,
    reach_limits,
)


@dataclass(frozen=True, eq=False)
class View:
    """Arrays for one request, indexed by view position ``0..n-1`` (``ids[i]`` is the node id).

    The view's nodes are the start, the end (if different) and the eligible data nodes, in
    snapshot order. Excluded data nodes are listed in ``excluded`` with the reason.
    """

    ids: list[str]
    start: int
    end: int
    transfer: np.ndarray
    """(n, n) seconds to move the model from i to j; inf when unreachable."""
    train_time: np.ndarray
    """(n,) seconds of training (plus per-visit overhead) at each node; 0 at start/end if not data."""
    utility: np.ndarray
    """(n,) utility collected by training at each node."""
    samples: np.ndarray
    """(n,) usable samples at each node."""
    window_open: np.ndarray
    """(n,) earliest time training may start at each node (0 when always available)."""
    window_close: np.ndarray
    """(n,) latest time training may start (inf when always available)."""
    visit_cost: np.ndarray
    """(n,) money of training at each node."""
    travel_cost: np.ndarray
    """(n, n) money of moving the model from i to j; when no link charges money, a read-only
    broadcast of one zero (k^2 zeros would double the memory of a large view)."""
    labels: list[str]
    label_counts: np.ndarray
    """(n, len(labels)) usable samples per label."""
    verify_time: float
    """Seconds the MPVU needs to evaluate the model once at the end."""
    deadline: float | None
    budget: float | None
    replicas: int
    mandatory: np.ndarray
    """View positions of mandatory nodes."""
    objective: str
    multi_window: list[str] = field(default_factory=list)
    """Ids of nodes with more than one availability window (only the first is in the arrays)."""
    excluded: dict[str, str] = field(default_factory=dict)
    """Data node id -> why it is not in the view."""
    request_id: str = ""
    age_days: np.ndarray | None = None
    """(n,) samples-weighted age in days of each node's qualifying datasets (0 at non-data)."""
    recency: float | None = None
    """The request's recency weight (``max_recency_coverage``), None: the default."""
    coverage_target: float | None = None
    """The request's coverage target as a fraction (``min_time_to_target``), None: the default."""

    @property
    def n(self) -> int:
        return len(self.ids)

    def position(self, node_id: str) -> int:
        try:
            return self.ids.index(node_id)
        except ValueError:
            raise InputError("node", node_id, "is not in the request's view") from None


def _eligibility(
    node, request: TrainingRequest, origin: float = 0.0
) -> tuple[str | None, float, float, dict[str, int], float]:
    """(reason excluded or None, usable samples, utility, label counts, mean age) of one data node.

    ``origin`` is the request's arrival on the snapshot clock: windows that closed before it do
    not count.
    """
    if not node.up:
        return "down", 0.0, 0.0, {}, 0.0
    if node.trust < request.min_trust:
        return f"trust {node.trust:g} < required {request.min_trust:g}", 0.0, 0.0, {}, 0.0
    matching = [d for d in node.datasets if d.modality == request.modality]
    if not matching:
        have = sorted({d.modality for d in node.datasets}) or ["no data"]
        return f"modality {', '.join(have)} != {request.modality}", 0.0, 0.0, {}, 0.0
    matching = [d for d in matching if d.task == request.task]
    if not matching:
        return f"no {request.modality} data for task {request.task}", 0.0, 0.0, {}, 0.0
    good = [d for d in matching if d.quality >= request.min_quality]
    if not good:
        best = max(d.quality for d in matching)
        return f"quality {best:g} < required {request.min_quality:g}", 0.0, 0.0, {}, 0.0
    if request.max_age_days is not None:
        fresh = [d for d in good if d.age_days <= request.max_age_days]
        if not fresh:
            young = min(d.age_days for d in good)
            return f"age {young:g} d > allowed {request.max_age_days:g} d", 0.0, 0.0, {}, 0.0
        good = fresh
    if node.compute is None:
        return "no local compute to train on (data may not leave)", 0.0, 0.0, {}, 0.0
    if node.windows and max(w.end for w in node.windows) < origin:
        last = max(w.end for w in node.windows)
        return (
            f"availability windows closed at {last:g} s, before arrival {origin:g} s",
            0.0,
            0.0,
            {},
            0.0,
        )
    samples = float(sum(d.samples for d in good))
    utility = float(sum(d.samples * d.quality for d in good))
    counts: dict[str, int] = {}
    for d in good:
        for label, c in (d.labels or {}).items():
            counts[label] = counts.get(label, 0) + c
    age = float(sum(d.samples * d.age_days for d in good)) / max(samples, 1.0)
    return None, samples, utility, counts, age


def build_view(
    snapshot: Snapshot,
    request: TrainingRequest,
    travel: TravelSpec | None = None,
    *,
    max_nodes: int | None = None,
) -> View:
    """Build the MS-DRRT view of ``snapshot`` for ``request``.

    Parameters
    ----------
    snapshot
        The DRRT snapshot.
    request
        The training request; its thresholds select nodes, its model sets transfer and training
        times.
    travel
        Optional benchmark travel function replacing shortest paths over links.
    max_nodes
        Keep at most this many nodes: the start, the end, the mandatory nodes, then the eligible
        nodes with the shortest way from the start through them to the end. For snapshots too
        large for a k x k matrix of every eligible node (the 70,000 eligible nodes of a
        100,000-node snapshot would need 39 GB); None keeps every eligible node.

    Raises
    ------
    InputError
        When the request's owner, start or end is not a node of the snapshot, a mandatory node is
        not eligible, ``max_nodes`` is below 2, or an uncapped view over links would hold more
        than :data:`MAX_DENSE_NODES` nodes.
    """
    if max_nodes is not None and max_nodes < 2:
        raise InputError("max_nodes", max_nodes, "must be at least 2 (the start and the end)")
    index = snapshot.index()
    s_idx, e_idx = _endpoints(snapshot, request, index)
    nodes = snapshot.nodes
    # Route times count from the request's arrival; windows are on the snapshot clock.
    origin = snapshot.time + request.arrival
    info, excluded = _screen(nodes, request, origin)
    cand = np.asarray(sorted(set(info) | {s_idx, e_idx}), dtype=np.int64)
    keep_first = {s_idx, e_idx} | {index.get(m) for m in request.mandatory} & set(info)
    cand, transfer, travel_cost = _travel(
        snapshot, request, travel, cand, (s_idx, e_idx), excluded, (max_nodes, keep_first)
    )
    pos = {int(c): k for k, c in enumerate(cand)}
    end_node = nodes[e_idx]
    verify = 0.0
    if end_node.kind == "mpvu" and end_node.eval_samples:
        verify = end_node.eval_samples / end_node.eval_throughput
    return View(
        ids=[nodes[int(i)].id for i in cand],
        start=pos[s_idx],
        end=pos[e_idx],
        transfer=transfer,
        travel_cost=travel_cost,
        verify_time=verify,
        deadline=request.deadline,
        budget=request.budget,
        replicas=request.replicas,
        mandatory=_mandatory(request, index, pos, excluded),
        objective=request.objective,
        excluded=excluded,
        request_id=request.id,
        recency=request.recency,
        coverage_target=request.coverage_target,
        **_node_arrays(nodes, cand, info, request, origin),
    )


def _endpoints(
    snapshot: Snapshot, request: TrainingRequest, index: dict[str, int]
) -> tuple[int, int]:
    """Snapshot indices of the request's start (its owner by default) and end.

    The default end is the first MPVU that is up, else the owner.
    """
    for name in ("owner", "start", "end"):
        value = getattr(request, name)
        if value is not None and value not in index:
            raise InputError(f"request.{name}", value, "is not a node id of the snapshot")
    start_id = request.start or request.owner
    if request.end is not None:
        end_id = request.end
    else:
        mpvus = [n for n in snapshot.nodes if n.kind == "mpvu" and n.up]
        end_id = mpvus[0].id if mpvus else request.owner
    return index[start_id], index[end_id]


def _screen(
    nodes: list, request: TrainingRequest, origin: float
) -> tuple[dict[int, tuple[float, float, dict[str, int], float]], dict[str, str]]:
    """(snapshot index -> (samples, utility, label counts, age) of each eligible data node,
    data node id -> why it is excluded), in snapshot order."""
    excluded: dict[str, str] = {}
    info: dict[int, tuple[float, float, dict[str, int], float]] = {}
    for i, node in enumerate(nodes):
        if node.kind != "data":
            continue
        reason, samples, utility, counts, age = _eligibility(node, request, origin)
        if reason is None:
            info[i] = (samples, utility, counts, age)
        else:
            excluded[node.id] = reason
    return info, excluded


def _travel(
    snapshot: Snapshot,
    request: TrainingRequest,
    travel: TravelSpec | None,
    cand: np.ndarray,
    ends: tuple[int, int],
    excluded: dict[str, str],
    cap: tuple[int | None, set[int]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(kept candidates, transfer, travel_cost) between them; dropped ones go to ``excluded``.

    Over links, reachability comes from two Dijkstra runs (from the start, to the end) before any
    pairwise work, so the pairwise matrix is only computed between nodes the view keeps.
    """
    nodes = snapshot.nodes
    s, e = (int(np.searchsorted(cand, x)) for x in ends)
    if travel is not None:
        transfer = _benchmark_travel(nodes, travel, cand)
        keep = _kept(cand, transfer[s], transfer[:, e], (s, e), nodes, excluded, cap)
        if len(keep) < len(cand):
            cand, transfer = cand[keep], transfer[np.ix_(keep, keep)]
        return cand, transfer, np.zeros_like(transfer)
    weights = link_weights(snapshot, request.model.size_mb)
    ahead = distances_from(weights, ends[0])[cand]
    behind = distances_to(weights, ends[1])[cand]
    keep = _kept(cand, ahead, behind, (s, e), nodes, excluded, cap)
    if cap[0] is None and len(keep) > MAX_DENSE_NODES:
        gb = 8 * len(keep) ** 2 / 1e9
        raise InputError(
            "max_nodes",
            None,
            f"the view would hold {len(keep)} nodes, {gb:.0f} GB per (k, k) matrix: cap it "
            f"(at most {MAX_DENSE_NODES} nodes without a cap)",
        )
    cand, limits = cand[keep], None
    if cap[0] is not None and not compiled(weights):
        # A capped view is a close group: stop each search beyond it (the compiled searches
        # stop by themselves once every view node is settled).
        limits = reach_limits(weights, cand, _hubs(ahead[keep], HUBS))
    transfer, money = pairwise(weights, cand, limits)
    if money is None:
        # No link charges money: one read-only zero broadcast to (k, k) instead of k^2 zeros
        # (400 MB at 7,000 nodes); every reader only reads travel_cost.
        return cand, transfer, np.broadcast_to(np.zeros(1), transfer.shape)
    return cand, transfer, money * request.model.size_mb / 1000.0


MAX_DENSE_NODES = 25_000
"""Largest uncapped view over links: its (k, k) transfer matrix takes 5 GB. Beyond it, building
one would exhaust the machine (70,000 eligible nodes of a 100,000-node snapshot: 39 GB) before
failing, so the view asks for ``max_nodes`` instead."""

HUBS = 12
"""Hubs bounding each search of a capped view (:func:`~daitn_opt.drrt.transfer.reach_limits`)."""


def _hubs(ahead: np.ndarray, count: int) -> np.ndarray:
    """Positions of ``count`` nodes spread by time from the start (the start first): hubs."""
    order = np.argsort(ahead, kind="stable")
    return np.unique(order[np.linspace(0, len(order) - 1, count).round().astype(np.int64)])


def _kept(
    cand: np.ndarray,
    ahead: np.ndarray,
    behind: np.ndarray,
    ends: tuple[int, int],
    nodes: list,
    excluded: dict[str, str],
    cap: tuple[int | None, set[int]],
) -> np.ndarray:
    """Positions in ``cand`` the view keeps, given seconds from the start and to the end.

    A candidate the start cannot reach, or that cannot reach the end, is excluded (the start and
    the end are always kept); then, under ``max_nodes``, the farthest by start-to-it-to-end time.
    """
    s, e = ends
    reach = np.isfinite(ahead) & np.isfinite(behind)
    reach[[s, e]] = True
    for k in np.flatnonzero(~reach):
        excluded[nodes[int(cand[k])].id] = (
            "unreachable from the start" if not np.isfinite(ahead[k]) else "cannot reach the end"
        )
    keep = np.flatnonzero(reach)
    max_nodes, first = cap
    if max_nodes is None or len(keep) <= max_nodes:
        return keep
    must = np.fromiter((int(cand[k]) in first for k in keep), dtype=bool, count=len(keep))
    order = np.argsort(np.where(must, -np.inf, ahead[keep] + behind[keep]), kind="stable")
    chosen = np.zeros(len(keep), dtype=bool)
    chosen[order[: max(max_nodes, int(must.sum()))]] = True
    for k in keep[~chosen]:
        excluded[nodes[int(cand[k])].id] = (
            f"not among the {max_nodes} nodes nearest the way from start to end (max_nodes)"
        )
    return keep[chosen]


def _benchmark_travel(nodes: list, travel: TravelSpec, cand: np.ndarray) -> np.ndarray:
    """The benchmark's own (k, k) distances between ``cand``: an explicit matrix or a metric."""
    if travel.metric == "EXPLICIT":
        full = np.asarray(travel.matrix, dtype=np.float64)
        return full[np.ix_(cand, cand)]
    missing = [nodes[i].id for i in cand if nodes[i].position is None]
    if missing:
        raise InputError(
            f"nodes[{missing[0]!r}].position", None, f"needed by travel metric {travel.metric}"
        )
    x = np.array([nodes[i].position.x for i in cand])
    y = np.array([nodes[i].position.y for i in cand])
    return distance_matrix(x, y, travel.metric)


def _node_arrays(
    nodes: list, cand: np.ndarray, info: dict, request: TrainingRequest, origin: float
) -> dict:
    """The per-node arrays of the view: training, utility, labels, age and windows."""
    n = len(cand)
    samples, utility, train_time, visit_cost, age_days = (np.zeros(n) for _ in range(5))
    labels = sorted({lb for (_, _, counts, _) in info.values() for lb in counts})
    label_pos = {lb: j for j, lb in enumerate(labels)}
    label_counts = np.zeros((n, len(labels)))
    for k, i in enumerate(cand):
        if int(i) not in info:
            continue
        smp, utl, counts, age_days[k] = info[int(i)]
        samples[k], utility[k] = smp, utl
        comp = nodes[int(i)].compute
        seconds = smp * request.epochs * request.model.gflop_per_sample / comp.gflops
        train_time[k] = seconds + comp.overhead_s
        visit_cost[k] = comp.cost_per_hour * train_time[k] / 3600.0
        for label, c in counts.items():
            label_counts[k, label_pos[label]] = c
    w_open, w_close, multi = _windows(nodes, cand, origin)
    return {
        "samples": samples,
        "utility": utility,
        "train_time": train_time,
        "visit_cost": visit_cost,
        "labels": labels,
        "label_counts": label_counts,
        "age_days": age_days,
        "window_open": w_open,
        "window_close": w_close,
        "multi_window": multi,
    }


def _windows(
    nodes: list, cand: np.ndarray, origin: float
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(open, close, ids with more than one window left): each node's first window still open,
    in seconds after the request's arrival ``origin``; always open without windows."""
    w_open = np.zeros(len(cand))
    w_close = np.full(len(cand), np.inf)
    multi: list[str] = []
    for k, i in enumerate(cand):
        node = nodes[int(i)]
        if not node.windows:
            continue
        still_open = [w for w in node.windows if w.end >= origin] or node.windows
        first = min(still_open, key=lambda w: w.start)
        w_open[k] = max(0.0, first.start - origin)
        w_close[k] = first.end - origin
        if len(still_open) > 1:
            multi.append(node.id)
    return w_open, w_close, multi


def _mandatory(
    request: TrainingRequest, index: dict[str, int], pos: dict[int, int], excluded: dict[str, str]
) -> np.ndarray:
    """View positions of the request's mandatory nodes; one outside the view is an input error."""
    mandatory = []
    for node_id in request.mandatory:
        i = index[node_id]
        if i not in pos:
            raise InputError(
                "request.mandatory",
                node_id,
                f"is not eligible: {excluded.get(node_id, 'not a data node')}",
            )
        mandatory.append(pos[i])
    return np.asarray(sorted(set(mandatory)), dtype=np.int64)


def view(
    instance: Instance, request_id: str | None = None, *, max_nodes: int | None = None
) -> View:
    """The MS-DRRT view of ``instance`` for one of its requests (the first when None)."""
    return build_view(
        instance.snapshot, instance.request(request_id), instance.travel, max_nodes=max_nodes
    )
