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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from .instance import Instance, TravelSpec
from .metrics import distance_matrix
from .requests import TrainingRequest
from .snapshot import Snapshot

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix


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
    travel_cost: np.ndarray
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


def _edge_weights(snapshot: Snapshot, size_mb: float) -> tuple[csr_matrix, csr_matrix, int]:
    """Sparse time and money weight matrices over up links (parallel links: the fastest).

    A link touching a node that is down carries nothing: a down node neither trains nor forwards.
    """
    from scipy.sparse import csr_matrix  # imported here: scipy is slow to import

    index = snapshot.index()
    n = snapshot.num_nodes
    down = {node.id for node in snapshot.nodes if not node.up}
    up = [lk for lk in snapshot.links if lk.up and lk.source not in down and lk.target not in down]
    if not up:
        empty = csr_matrix((n, n))
        return empty, empty, 0
    src = np.fromiter((index[lk.source] for lk in up), dtype=np.int64, count=len(up))
    dst = np.fromiter((index[lk.target] for lk in up), dtype=np.int64, count=len(up))
    lat = np.fromiter((lk.latency for lk in up), dtype=np.float64, count=len(up))
    bw = np.fromiter((lk.bandwidth for lk in up), dtype=np.float64, count=len(up))
    cpg = np.fromiter((lk.cost_per_gb for lk in up), dtype=np.float64, count=len(up))
    both = np.fromiter((not lk.directed for lk in up), dtype=bool, count=len(up))
    time = lat + 8.0 * size_mb / bw
    # csgraph treats explicit zeros as missing edges: a tiny floor keeps zero-time links.
    time = np.maximum(time, 1e-12)
    rows = np.concatenate([src, dst[both]])
    cols = np.concatenate([dst, src[both]])
    t = np.concatenate([time, time[both]])
    c = np.concatenate([cpg, cpg[both]])
    # Keep the fastest of parallel links: sort by time descending so the last write wins.
    order = np.lexsort((-t, rows, cols))
    rows, cols, t, c = rows[order], cols[order], t[order], c[order]
    key = rows * n + cols
    last = np.r_[key[1:] != key[:-1], True]
    tw = csr_matrix((t[last], (rows[last], cols[last])), shape=(n, n))
    cw = csr_matrix((c[last], (rows[last], cols[last])), shape=(n, n))
    return tw, cw, int(cw.nnz and (c > 0).any())


def _path_costs(pred: np.ndarray, cost_w: csr_matrix) -> np.ndarray:
    """Sum of per-edge money weights along each shortest-path tree, vectorised over sources.

    ``pred[r, v]`` is v's predecessor on the tree of source r (negative at the source and at
    unreachable nodes). Pointer doubling: after step t, ``total[r, v]`` holds the money of the
    last 2^t edges above v and ``up[r, v]`` the node 2^t levels up, so a tree of depth D takes
    log2(D) passes over the (k, n) arrays instead of one Python step per node.
    """
    n = pred.shape[1]
    cols = np.arange(n)
    has = pred >= 0
    up = np.where(has, pred, cols[None, :])
    total = np.where(has, cost_w.toarray()[up, cols[None, :]], 0.0)
    while True:
        above = np.take_along_axis(up, up, axis=1)
        if np.array_equal(above, up):
            return total
        total += np.take_along_axis(total, up, axis=1)
        up = above


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

    Raises
    ------
    InputError
        When the request's owner, start or end is not a node of the snapshot.
    """
    from scipy.sparse.csgraph import shortest_path  # imported here: scipy is slow to import

    index = snapshot.index()
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

    nodes = snapshot.nodes
    # Route times count from the request's arrival; windows are on the snapshot clock.
    origin = snapshot.time + request.arrival
    excluded: dict[str, str] = {}
    info: dict[int, tuple[float, float, dict[str, int]]] = {}
    for i, node in enumerate(nodes):
        if node.kind != "data":
            continue
        reason, samples, utility, counts, age = _eligibility(node, request, origin)
        if reason is None:
            info[i] = (samples, utility, counts, age)
        else:
            excluded[node.id] = reason

    s_idx, e_idx = index[start_id], index[end_id]
    candidates = sorted(set(info) | {s_idx, e_idx})
    cand = np.asarray(candidates, dtype=np.int64)

    # Travel between candidates.
    if travel is None:
        tw, cw, has_cost = _edge_weights(snapshot, request.model.size_mb)
        if tw.nnz:
            # Predecessors cost about a sixth more: only fetched when links carry money costs.
            found = shortest_path(
                tw, method="D", directed=True, indices=cand, return_predecessors=bool(has_cost)
            )
            dist, pred = found if has_cost else (found, None)
            transfer = dist[:, cand]
            tiny = transfer < 1e-9
            transfer[tiny] = np.round(transfer[tiny], 12)  # undo the zero-link floor
            if has_cost:
                money = _path_costs(pred, cw)[:, cand]
            else:
                money = np.zeros(transfer.shape)
        else:
            transfer = np.full((len(cand), len(cand)), np.inf)
            np.fill_diagonal(transfer, 0.0)
            money = np.zeros_like(transfer)
        travel_cost = money * request.model.size_mb / 1000.0
    else:
        if travel.metric == "EXPLICIT":
            full = np.asarray(travel.matrix, dtype=np.float64)
            transfer = full[np.ix_(cand, cand)]
        else:
            missing = [nodes[i].id for i in cand if nodes[i].position is None]
            if missing:
                raise InputError(
                    f"nodes[{missing[0]!r}].position",
                    None,
                    f"needed by travel metric {travel.metric}",
                )
            x = np.array([nodes[i].position.x for i in cand])
            y = np.array([nodes[i].position.y for i in cand])
            transfer = distance_matrix(x, y, travel.metric)
        travel_cost = np.zeros_like(transfer)

    # Drop candidates that cannot be reached from the start or cannot reach the end.
    pos = {int(c): k for k, c in enumerate(cand)}
    s, e = pos[s_idx], pos[e_idx]
    reach = np.isfinite(transfer[s]) & np.isfinite(transfer[:, e])
    reach[[s, e]] = True
    for k in np.flatnonzero(~reach):
        excluded[nodes[int(cand[k])].id] = (
            "unreachable from the start"
            if not np.isfinite(transfer[s, k])
            else "cannot reach the end"
        )
    keep_arr = np.flatnonzero(reach)
    if len(keep_arr) < len(cand):
        cand = cand[keep_arr]
        transfer = transfer[np.ix_(keep_arr, keep_arr)]
        travel_cost = travel_cost[np.ix_(keep_arr, keep_arr)]
    pos = {int(c): k for k, c in enumerate(cand)}
    n = len(cand)

    samples = np.zeros(n)
    utility = np.zeros(n)
    train_time = np.zeros(n)
    visit_cost = np.zeros(n)
    w_open = np.zeros(n)
    w_close = np.full(n, np.inf)
    labels = sorted({lb for (_, _, counts, _) in info.values() for lb in counts})
    label_pos = {lb: j for j, lb in enumerate(labels)}
    label_counts = np.zeros((n, len(labels)))
    age_days = np.zeros(n)
    multi: list[str] = []
    for k, i in enumerate(cand):
        node = nodes[int(i)]
        if node.windows:
            still_open = [w for w in node.windows if w.end >= origin] or node.windows
            first = min(still_open, key=lambda w: w.start)
            w_open[k] = max(0.0, first.start - origin)
            w_close[k] = first.end - origin
            if len(still_open) > 1:
                multi.append(node.id)
        if int(i) not in info:
            continue
        smp, utl, counts, age_days[k] = info[int(i)]
        samples[k], utility[k] = smp, utl
        comp = node.compute
        seconds = smp * request.epochs * request.model.gflop_per_sample / comp.gflops
        train_time[k] = seconds + comp.overhead_s
        visit_cost[k] = comp.cost_per_hour * train_time[k] / 3600.0
        for label, c in counts.items():
            label_counts[k, label_pos[label]] = c

    end_node = nodes[e_idx]
    verify = 0.0
    if end_node.kind == "mpvu" and end_node.eval_samples:
        verify = end_node.eval_samples / end_node.eval_throughput

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

    return View(
        ids=[nodes[int(i)].id for i in cand],
        start=pos[s_idx],
        end=pos[e_idx],
        transfer=transfer,
        train_time=train_time,
        utility=utility,
        samples=samples,
        window_open=w_open,
        window_close=w_close,
        visit_cost=visit_cost,
        travel_cost=travel_cost,
        labels=labels,
        label_counts=label_counts,
        verify_time=verify,
        deadline=request.deadline,
        budget=request.budget,
        replicas=request.replicas,
        mandatory=np.asarray(sorted(set(mandatory)), dtype=np.int64),
        objective=request.objective,
        multi_window=multi,
        excluded=excluded,
        request_id=request.id,
        age_days=age_days,
        recency=request.recency,
        coverage_target=request.coverage_target,
    )


def view(instance: Instance, request_id: str | None = None) -> View:
    """The MS-DRRT view of ``instance`` for one of its requests (the first when None)."""
    return build_view(instance.snapshot, instance.request(request_id), instance.travel)
