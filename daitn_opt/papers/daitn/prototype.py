"""Experiment 1, the paper's first experiment: a minimal DRRT, built in code, checked by hand.

Two networks small enough to derive every number of the G-KRRM (the snapshot) and of the
request-specific views (MS-DRRT for training, QRRT for inference) by hand:

- **three nodes**: one data node ``h1`` (a hospital with local compute), one compute node ``c1``
  (the model owner, where the route starts) and one MPVU ``v1`` (where it ends);
- **five kinds**: the same plus a second hospital ``h2``, a user ``u1`` with query demand and an
  MDFP ``f1`` that can serve it.

Every quantity is chosen to be exact in binary floating point (latencies 0.25-1 s, 10 MB over 40,
80 or 160 Mbit/s), so that the tests (``tests/drrt/test_prototype.py``) assert equality, not
closeness. :func:`states` then changes one thing at a time (a node going down, data ageing,
quality changing, a link failing) and the section tabulates how the view and the best route
follow.
"""

from __future__ import annotations

import time
from typing import Any

from ...drrt.instance import Instance
from ...drrt.qrrt import qrrt
from ...drrt.requests import InferenceModel, TrainingRequest, TrainModel
from ...drrt.snapshot import (
    Compute,
    ComputeNode,
    DataNode,
    Dataset,
    Facility,
    Link,
    MDFPNode,
    MPVUNode,
    QueryDemand,
    Snapshot,
    UserNode,
)
from ...drrt.view import View, build_view
from .common import Progress, Section, Settings, md_table

REQUEST = TrainingRequest(
    id="r1",
    owner="c1",
    model=TrainModel(name="cnn", size_mb=10.0, gflop_per_sample=0.25),
    modality="tabular",
    task="diagnosis",
    min_quality=0.7,
    max_age_days=30.0,
    epochs=2,
    deadline=60.0,
)
"""The request of both networks: 10 MB model, 0.25 GFLOP per sample, 2 epochs, 60 s deadline,
quality >= 0.7, data at most 30 days old; starts at ``c1``, ends at the MPVU ``v1``."""


def _hospital(node_id: str, samples: int, quality: float, age: float, gflops: float) -> DataNode:
    labels = {"benign": samples * 3 // 5, "malignant": samples - samples * 3 // 5}
    data = Dataset(
        modality="tabular",
        task="diagnosis",
        samples=samples,
        quality=quality,
        age_days=age,
        labels=labels,
    )
    return DataNode(
        id=node_id, datasets=[data], compute=Compute(gflops=gflops, overhead_s=1.0, slots=1)
    )


def three_node() -> Snapshot:
    """One data node, one compute node, one MPVU; a triangle of links.

    By hand (10 MB model, store and forward ``latency + 8 * 10 / bandwidth``): ``c1-h1`` 0.5 +
    80/80 = 1.5 s; ``h1-v1`` 0.25 + 80/160 = 0.75 s; ``c1-v1`` 1 + 80/40 = 3 s directly, 2.25 s
    through ``h1``. Training at ``h1``: 1000 samples x 2 epochs x 0.25 GFLOP / 100 GFLOP/s + 1 s
    overhead = 6 s; utility 1000 x 0.75 = 750; verification 500 / 1000 = 0.5 s.
    """
    return Snapshot(
        name="three-node",
        nodes=[
            ComputeNode(id="c1", compute=Compute(gflops=200.0)),
            _hospital("h1", 1000, 0.75, 10.0, 100.0),
            MPVUNode(id="v1", eval_throughput=1000.0, eval_samples=500),
        ],
        links=[
            Link(source="c1", target="h1", latency=0.5, bandwidth=80.0),
            Link(source="h1", target="v1", latency=0.25, bandwidth=160.0),
            Link(source="c1", target="v1", latency=1.0, bandwidth=40.0),
        ],
    )


def five_kind() -> Instance:
    """Data (``h1``, ``h2``), compute (``c1``), MPVU (``v1``), user (``u1``), MDFP (``f1``).

    ``h2`` (2000 samples, quality 0.5) is below the request's quality threshold; ``f1`` is 0.25 s
    from ``u1`` (round trip 500 ms).
    """
    base = three_node()
    snapshot = Snapshot(
        name="five-kind",
        nodes=[
            *base.nodes,
            _hospital("h2", 2000, 0.5, 5.0, 100.0),
            UserNode(id="u1", demands=[QueryDemand(model="m1", rate=10.0, slo_ms=800.0)]),
            MDFPNode(id="f1", facility=Facility(memory_gb=8.0, throughput=100.0)),
        ],
        links=[
            *base.links,
            Link(source="h2", target="c1", latency=0.5, bandwidth=80.0),
            Link(source="u1", target="f1", latency=0.25),
            Link(source="f1", target="c1", latency=0.5),
        ],
    )
    model = InferenceModel(id="m1", memory_gb=2.0, service_ms=20.0)
    return Instance(name="five-kind", snapshot=snapshot, requests=[REQUEST], models=[model])


def set_node(snapshot: Snapshot, node_id: str, **changes: Any) -> Snapshot:
    """A copy of ``snapshot`` with node ``node_id``'s fields changed."""
    nodes = [n.model_copy(update=changes) if n.id == node_id else n for n in snapshot.nodes]
    return snapshot.replace(nodes=nodes)


def set_datasets(snapshot: Snapshot, node_id: str, **changes: Any) -> Snapshot:
    """A copy with every dataset of ``node_id`` changed (``quality=``, ``age_days=``...)."""
    node = snapshot.node(node_id)
    datasets = [d.model_copy(update=changes) for d in node.datasets]
    return set_node(snapshot, node_id, datasets=datasets)


def aged(snapshot: Snapshot, days: float) -> Snapshot:
    """The snapshot ``days`` later: every dataset is older, the clock has moved."""
    nodes = []
    for n in snapshot.nodes:
        if n.kind == "data":
            ds = [d.model_copy(update={"age_days": d.age_days + days}) for d in n.datasets]
            n = n.model_copy(update={"datasets": ds})
        nodes.append(n)
    return snapshot.replace(nodes=nodes, time=snapshot.time + days * 86400.0)


def set_link(snapshot: Snapshot, source: str, target: str, **changes: Any) -> Snapshot:
    """A copy with the link ``source``-``target`` changed (``up=False``...)."""
    links = [
        ln.model_copy(update=changes) if {ln.source, ln.target} == {source, target} else ln
        for ln in snapshot.links
    ]
    return snapshot.replace(links=links)


def states(snapshot: Snapshot) -> list[tuple[str, Snapshot]]:
    """The snapshot as built and after each single change the experiment follows."""
    return [
        ("as built", snapshot),
        ("h1 quality 0.75 -> 0.875", set_datasets(snapshot, "h1", quality=0.875)),
        ("h1 quality 0.75 -> 0.5", set_datasets(snapshot, "h1", quality=0.5)),
        ("data aged 15 days", aged(snapshot, 15.0)),
        ("data aged 25 days", aged(snapshot, 25.0)),
        ("link c1-h1 down", set_link(snapshot, "c1", "h1", up=False)),
        ("h1 down", set_node(snapshot, "h1", up=False)),
    ]


def best_route(v: View) -> tuple[list[str], float]:
    """The best route of a view with at most one eligible data node, by enumeration: visit it
    when it fits the deadline (the exact answer on these networks, with no solver involved)."""
    s, e = v.start, v.end
    best: tuple[list[str], float] = ([v.ids[s], v.ids[e]], 0.0)
    for i in range(v.n):
        if i in (s, e) or v.utility[i] <= 0:
            continue
        done = v.transfer[s, i] + v.train_time[i] + v.transfer[i, e] + v.verify_time
        if done <= (v.deadline or float("inf")) and v.utility[i] > best[1]:
            best = ([v.ids[s], v.ids[i], v.ids[e]], float(v.utility[i]))
    return best


def view_row(network: str, state: str, v: View) -> dict[str, Any]:
    """One table row: the view's numbers for the state."""
    route, utility = best_route(v)
    h1 = v.ids.index("h1") if "h1" in v.ids else None
    return {
        "network": network,
        "state": state,
        "view_nodes": " ".join(v.ids),
        "c1->h1 s": None if h1 is None else float(v.transfer[v.start, h1]),
        "c1->v1 s": float(v.transfer[v.start, v.end]),
        "h1 train s": None if h1 is None else float(v.train_time[h1]),
        "h1 utility": None if h1 is None else float(v.utility[h1]),
        "verify s": v.verify_time,
        "excluded": "; ".join(f"{k}: {r}" for k, r in v.excluded.items()) or "-",
        "best route": " > ".join(route),
        "route utility": utility,
    }


def run(settings: Settings, progress: Progress) -> Section:
    """Tabulate the views of both networks in every state."""
    t0 = time.perf_counter()
    rows = []
    for network, snap in (("three-node", three_node()), ("five-kind", five_kind().snapshot)):
        for state, s in states(snap):
            rows.append(view_row(network, state, build_view(s, REQUEST)))
    q = qrrt(five_kind())
    qrows = [
        {
            "demand": q.demand_ids[d],
            "facility": f,
            "rtt_ms": float(q.rtt_ms[q.demand_user[d], k]),
            "slo_ms": float(q.slo_ms[d]),
            "rate": float(q.rate[d]),
        }
        for d in range(len(q.demand_ids))
        for k, f in enumerate(q.facilities)
    ]
    progress("experiment", {"name": "prototype", "rows": len(rows)})
    sec = Section("1-prototype", "Experiment 1: minimal DRRT prototype")
    sec.params = {"request": REQUEST.model_dump(exclude_defaults=True)}
    sec.lines = [
        "Two networks built in code (`daitn_opt/papers/daitn/prototype.py`): three nodes (data "
        "`h1`, compute `c1` = owner and start, MPVU `v1` = end) and five kinds (plus data `h2` "
        "below the quality threshold, user `u1`, MDFP `f1`). Every value is exact in binary "
        "floating point; `tests/drrt/test_prototype.py` asserts the hand-derived numbers with "
        "`==`. Each state changes one thing of the as-built snapshot.",
        "",
        "## MS-DRRT view of request r1 per state",
        "",
        *md_table(rows),
        "## QRRT of the five-kind network",
        "",
        *md_table(qrows),
    ]
    sec.tables = {"views": rows, "qrrt": qrows}
    built = rows[0]
    sec.headline = [
        f"as built: c1->h1 {built['c1->h1 s']} s, train {built['h1 train s']} s, utility "
        f"{built['h1 utility']}, best route {built['best route']} (all equal to the hand values)",
        "h1 down, data aged 25 days (35 > 30) or quality 0.5 (< 0.7): h1 leaves the view and the "
        "route utility drops to 0; link c1-h1 down: the model goes round through v1 (3.75 s) "
        "and still trains at h1; quality 0.875: route utility 875",
    ]
    sec.seconds = time.perf_counter() - t0
    return sec


__all__ = [
    "REQUEST",
    "aged",
    "best_route",
    "five_kind",
    "run",
    "set_datasets",
    "set_link",
    "set_node",
    "states",
    "three_node",
]
