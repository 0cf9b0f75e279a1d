"""The QRRT view: the arrays every QIRCE / Q-FAM solver reads.

DA-ITN's DRRT orchestrator builds, for inference, a query-routing topology (QRRT; arXiv
2501.05323, Sec. IV): which model deployment facilities (MDFPs) each user can reach and how far
they are. Queries and answers are small, so only latency matters, not bandwidth.

Definitions (users u that are up and have demand, MDFPs f that are up):

- ``rtt_ms[u, f]`` = 1000 x (shortest u -> f path + shortest f -> u path) over links that are up
  and whose endpoints are up, each link weighing its ``latency`` (seconds); inf when unreachable.
  With a :class:`~daitn_opt.drrt.instance.TravelSpec` the benchmark's own one-way times (seconds)
  replace the shortest paths;
- one row per query demand ``(user, model)``: rate (queries/s), SLO (ms), value per unit served;
- per model: memory (GB) and service time (ms); per MDFP: memory (GB), throughput (queries/s),
  cost per hour and utilisation cap.

Users and MDFPs that are down are listed in ``excluded`` with the reason; their demands and
capacity are not in the view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from ..errors import InputError
from .instance import Instance
from .metrics import distance_matrix
from .snapshot import Snapshot


@dataclass(frozen=True, eq=False)
class QRRTView:
    """Arrays of the QRRT: users x MDFPs latencies, demands, models and facilities.

    Demand ``d`` belongs to user ``users[demand_user[d]]`` and asks for model
    ``model_ids[demand_model[d]]``; ``demand_ids[d]`` is ``"user/model"``.
    """

    users: list[str]
    facilities: list[str]
    model_ids: list[str]
    rtt_ms: np.ndarray
    """(U, F) network round trip in milliseconds; inf when unreachable."""
    demand_ids: list[str]
    demand_user: np.ndarray
    demand_model: np.ndarray
    rate: np.ndarray
    """(D,) queries per second."""
    slo_ms: np.ndarray
    value: np.ndarray
    """(D,) value per query/s served."""
    model_memory: np.ndarray
    model_service_ms: np.ndarray
    facility_memory: np.ndarray
    facility_throughput: np.ndarray
    facility_cost: np.ndarray
    """(F,) cost per hour of running the facility."""
    facility_max_util: np.ndarray
    placement_cost: np.ndarray | None = None
    """(F, D) explicit objective coefficients (benchmark instances), else None."""
    placement_load: np.ndarray | None = None
    placement_capacity: np.ndarray | None = None
    placement_open_cost: np.ndarray | None = None
    single_source: bool | None = None
    """The placement spec's routing rule (None: not fixed by the instance)."""
    excluded: dict[str, str] = field(default_factory=dict)

    @property
    def num_demands(self) -> int:
        return len(self.demand_ids)


def _one_way_seconds(snapshot: Snapshot, instance: Instance, sources: np.ndarray) -> np.ndarray:
    """(len(sources), n) one-way latency in seconds from each source to every node."""
    n = snapshot.num_nodes
    travel = instance.travel
    if travel is not None:
        if travel.metric == "EXPLICIT":
            return np.asarray(travel.matrix, dtype=np.float64)[sources]
        missing = [nd.id for nd in snapshot.nodes if nd.position is None]
        if missing:
            raise InputError(
                f"nodes[{missing[0]!r}].position", None, f"needed by travel metric {travel.metric}"
            )
        x = np.array([nd.position.x for nd in snapshot.nodes])
        y = np.array([nd.position.y for nd in snapshot.nodes])
        return distance_matrix(x, y, travel.metric)[sources]
    index = snapshot.index()
    up_node = np.array([nd.up for nd in snapshot.nodes], dtype=bool)
    links = [
        lk
        for lk in snapshot.links
        if lk.up and up_node[index[lk.source]] and up_node[index[lk.target]]
    ]
    if not links:
        out = np.full((len(sources), n), np.inf)
        out[np.arange(len(sources)), sources] = 0.0
        return out
    src = np.array([index[lk.source] for lk in links], dtype=np.int64)
    dst = np.array([index[lk.target] for lk in links], dtype=np.int64)
    lat = np.array([lk.latency for lk in links], dtype=np.float64)
    both = np.array([not lk.directed for lk in links], dtype=bool)
    rows = np.concatenate([src, dst[both]])
    cols = np.concatenate([dst, src[both]])
    # csgraph drops explicit zeros; a tiny floor keeps zero-latency links.
    w = np.maximum(np.concatenate([lat, lat[both]]), 1e-12)
    # Parallel links: keep the fastest (csr_matrix would sum duplicates).
    order = np.lexsort((-w, cols, rows))
    rows, cols, w = rows[order], cols[order], w[order]
    key = rows * n + cols
    last = np.r_[key[1:] != key[:-1], True]
    graph = csr_matrix((w[last], (rows[last], cols[last])), shape=(n, n))
    dist = shortest_path(graph, method="D", directed=True, indices=sources)
    return np.where(dist < 1e-9, 0.0, dist)


def build_qrrt(instance: Instance) -> QRRTView:
    """Build the QRRT view of ``instance``.

    Raises
    ------
    InputError
        A demand names a model the instance does not describe, or the placement matrices do not
        match the numbers of MDFPs and demands.
    """
    snap = instance.snapshot
    excluded: dict[str, str] = {}
    mdfps = []
    for nd in snap.of_kind("mdfp"):
        if nd.up:
            mdfps.append(nd)
        else:
            excluded[nd.id] = "MDFP down"
    users, demands = _demands(instance, excluded)
    index = snap.index()
    fac_idx = np.array([index[nd.id] for nd in mdfps], dtype=np.int64)
    user_idx = np.array([index[nd.id] for nd in users], dtype=np.int64)
    if len(users) and len(mdfps) and instance.placement is None:
        rtt = _round_trip_ms(instance, fac_idx, user_idx)
    else:
        rtt = np.zeros((len(users), len(mdfps)))
    mdl = instance.models

    def floats(values: list[float]) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)

    view = QRRTView(
        users=[nd.id for nd in users],
        facilities=[nd.id for nd in mdfps],
        model_ids=[m.id for m in mdl],
        rtt_ms=rtt,
        demand_ids=demands["id"],
        demand_user=np.asarray(demands["user"], dtype=np.int64),
        demand_model=np.asarray(demands["model"], dtype=np.int64),
        rate=floats(demands["rate"]),
        slo_ms=floats(demands["slo"]),
        value=floats(demands["value"]),
        model_memory=floats([m.memory_gb for m in mdl]),
        model_service_ms=floats([m.service_ms for m in mdl]),
        facility_memory=floats([nd.facility.memory_gb for nd in mdfps]),
        facility_throughput=floats([nd.facility.throughput for nd in mdfps]),
        facility_cost=floats([nd.facility.cost_per_hour for nd in mdfps]),
        facility_max_util=floats([nd.facility.max_utilization for nd in mdfps]),
        excluded=excluded,
    )
    if instance.placement is None:
        return view
    return _with_placement(view, instance)


def _demands(instance: Instance, excluded: dict[str, str]) -> tuple[list[Any], dict[str, list]]:
    """The user nodes that are up and have demands, and their demands as columns (``id``,
    ``user``, ``model``, ``rate``, ``slo``, ``value``); users that are down go to ``excluded``."""
    models = {m.id: k for k, m in enumerate(instance.models)}
    users: list[Any] = []
    cols: dict[str, list] = {k: [] for k in ("id", "user", "model", "rate", "slo", "value")}
    for nd in instance.snapshot.of_kind("user"):
        if not nd.demands:
            continue
        if not nd.up:
            excluded[nd.id] = "user down"
            continue
        u = len(users)
        users.append(nd)
        seen: dict[str, int] = {}
        for k, dem in enumerate(nd.demands):
            if dem.model not in models:
                raise InputError(
                    f"nodes[{nd.id!r}].demands[{k}].model",
                    dem.model,
                    f"not among the instance's models {sorted(models)}",
                )
            seen[dem.model] = seen.get(dem.model, 0) + 1
            suffix = "" if seen[dem.model] == 1 else f"#{seen[dem.model]}"
            cols["id"].append(f"{nd.id}/{dem.model}{suffix}")
            cols["user"].append(u)
            cols["model"].append(models[dem.model])
            cols["rate"].append(dem.rate)
            cols["slo"].append(dem.slo_ms)
            cols["value"].append(dem.value)
    return users, cols


def _round_trip_ms(instance: Instance, fac_idx: np.ndarray, user_idx: np.ndarray) -> np.ndarray:
    """(U, F) round-trip milliseconds user -> MDFP -> user (explicit travel, a metric, or
    shortest paths over the links both ways)."""
    snap = instance.snapshot
    out_f = _one_way_seconds(snap, instance, fac_idx)  # (F, n): f -> node
    if instance.travel is not None and instance.travel.metric == "EXPLICIT":
        full = np.asarray(instance.travel.matrix, dtype=np.float64)
        to_f = full[:, fac_idx].T  # node -> f
    elif instance.travel is not None:
        to_f = out_f  # metrics are symmetric
    else:
        rev = snap.replace(
            links=[
                lk.model_copy(update={"source": lk.target, "target": lk.source})
                for lk in snap.links
            ]
        )
        to_f = _one_way_seconds(rev, instance, fac_idx)
    return 1000.0 * (out_f[:, user_idx] + to_f[:, user_idx]).T


def _with_placement(view: QRRTView, instance: Instance) -> QRRTView:
    spec = instance.placement
    assert spec is not None
    if view.excluded:
        node, reason = next(iter(view.excluded.items()))
        raise InputError(f"nodes[{node!r}]", reason, "placement matrices need every node up")
    f, d = len(view.facilities), view.num_demands
    cost = np.asarray(spec.cost, dtype=np.float64).reshape(len(spec.capacity), -1)
    if cost.shape != (f, d):
        raise InputError("placement.cost", list(cost.shape), f"expected {f} MDFPs x {d} demands")
    load = np.asarray(spec.load, dtype=np.float64).reshape(cost.shape)
    opened = None if spec.open_cost is None else np.asarray(spec.open_cost, dtype=np.float64)
    from dataclasses import replace

    return replace(
        view,
        placement_cost=cost,
        placement_load=load,
        placement_capacity=np.asarray(spec.capacity, dtype=np.float64),
        placement_open_cost=opened,
        single_source=spec.single_source,
    )


def qrrt(instance: Instance) -> QRRTView:
    """The QRRT view of ``instance`` (alias of :func:`build_qrrt`)."""
    return build_qrrt(instance)
