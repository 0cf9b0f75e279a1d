"""The MS-DRRT view on hand-made snapshots whose every number can be followed by hand.

The network (model of 10 MB, so a hop costs ``latency + 80 / bandwidth`` seconds)::

    owner --1.1 s-- a --2.2 s-- b --0.55 s-- mpvu      owner --15 s-- mpvu (slow direct link)
    a --(down, 0.008 s)-- mpvu                       mpvu --0.0108 s--> a (directed)

plus one data node per exclusion reason, each linked to the owner, and an island.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from daitn_opt.drrt.instance import Instance
from daitn_opt.drrt.requests import TrainingRequest
from daitn_opt.drrt.snapshot import Snapshot
from daitn_opt.drrt.view import build_view, view
from daitn_opt.errors import InputError

TAB = {"modality": "tabular", "task": "t", "samples": 20, "quality": 0.9, "age_days": 5.0}
COMPUTE = {"gflops": 10.0}


def data(node_id: str, **fields) -> dict:
    doc = {"id": node_id, "kind": "data", "datasets": [TAB], "compute": COMPUTE}
    doc.update(fields)
    return doc


def link(u: str, v: str, latency: float, bandwidth: float, **fields) -> dict:
    return {"source": u, "target": v, "latency": latency, "bandwidth": bandwidth, **fields}


NODES = [
    {"id": "owner", "kind": "user"},
    {"id": "mpvu", "kind": "mpvu", "eval_throughput": 10.0, "eval_samples": 50},
    data(
        "a",
        trust=0.9,
        compute={"gflops": 10.0, "overhead_s": 2.0, "cost_per_hour": 36.0},
        datasets=[{**TAB, "samples": 100, "labels": {"x": 60, "y": 40}}],
    ),
    data(
        "b",
        compute={"gflops": 20.0},
        datasets=[
            {**TAB, "samples": 50, "quality": 0.8, "labels": {"x": 10, "z": 40}},
            {**TAB, "samples": 10, "quality": 0.5},  # below min_quality: not counted
            {**TAB, "modality": "image", "samples": 1000},  # other modality: not counted
        ],
    ),
    data("down", up=False),
    data("image", datasets=[{**TAB, "modality": "image"}]),
    data("other-task", datasets=[{**TAB, "task": "u"}]),
    data("low-quality", datasets=[{**TAB, "quality": 0.3}]),
    data("old", datasets=[{**TAB, "age_days": 1000.0}]),
    data("untrusted", trust=0.2),
    data("no-compute", compute=None),
    data("island"),
    data("one-way"),
]
LINKS = [
    link("owner", "a", 0.1, 80.0, cost_per_gb=1.0),
    link("a", "b", 0.2, 40.0, cost_per_gb=2.0),
    link("b", "mpvu", 0.05, 160.0),
    link("owner", "mpvu", 5.0, 8.0),
    link("a", "mpvu", 0.0, 10_000.0, up=False),
    link("mpvu", "a", 0.01, 100_000.0, directed=True),
    link("owner", "one-way", 1.0, 80.0, directed=True),
] + [
    link("owner", n, 1.0, 80.0)
    for n in ("down", "image", "other-task", "low-quality", "old", "untrusted", "no-compute")
]
REQUEST = {
    "id": "r",
    "owner": "owner",
    "model": {"size_mb": 10.0, "gflop_per_sample": 0.5},
    "modality": "tabular",
    "task": "t",
    "min_quality": 0.6,
    "max_age_days": 365.0,
    "min_trust": 0.5,
    "epochs": 2,
    "deadline": 100.0,
}


def make(nodes=NODES, links=LINKS, **request) -> tuple[Snapshot, TrainingRequest]:
    snap = Snapshot.model_validate({"nodes": nodes, "links": links})
    return snap, TrainingRequest.model_validate({**REQUEST, **request})


@pytest.fixture(scope="module")
def v():
    snap, req = make()
    return build_view(snap, req)


def test_view_holds_start_end_and_eligible_nodes_in_snapshot_order(v):
    """Only a and b qualify; the owner starts, the first MPVU ends."""
    assert v.ids == ["owner", "mpvu", "a", "b"]
    assert v.ids[v.start] == "owner" and v.ids[v.end] == "mpvu"


@pytest.mark.parametrize(
    ("node", "words"),
    [
        ("down", "down"),
        ("image", "modality image != tabular"),
        ("other-task", "no tabular data for task t"),
        ("low-quality", "quality 0.3 < required 0.6"),
        ("old", "age 1000 d > allowed 365 d"),
        ("untrusted", "trust 0.2 < required 0.5"),
        ("no-compute", "no local compute"),
        ("island", "unreachable from the start"),
        ("one-way", "cannot reach the end"),
    ],
)
def test_every_excluded_node_says_why(v, node, words):
    """Each exclusion names its reason with the values that caused it."""
    assert words in v.excluded[node]


def test_transfer_is_the_shortest_path_of_latency_plus_size_over_bandwidth(v):
    """Hop time = latency + 8 * size_mb / bandwidth; down links ignored; directed links one way."""
    i = {n: k for k, n in enumerate(v.ids)}
    hop_oa, hop_ab, hop_bm = 0.1 + 80 / 80, 0.2 + 80 / 40, 0.05 + 80 / 160
    hop_ma = 0.01 + 80 / 100_000
    t = v.transfer
    # owner -> mpvu: via a and b (3.85 s) beats the direct 15 s link; the fast a-mpvu link is down.
    assert_allclose(t[i["owner"], i["mpvu"]], hop_oa + hop_ab + hop_bm)
    assert_allclose(t[i["a"], i["mpvu"]], hop_ab + hop_bm)
    # The directed mpvu -> a link is used one way only.
    assert_allclose(t[i["mpvu"], i["a"]], hop_ma)
    assert_allclose(t[i["mpvu"], i["owner"]], hop_ma + hop_oa)
    assert_allclose(t[i["mpvu"], i["b"]], hop_bm)
    # b -> a goes b -> mpvu -> a over the directed shortcut; a -> b cannot use it.
    assert_allclose(t[i["b"], i["a"]], hop_bm + hop_ma)
    assert_allclose(t[i["a"], i["b"]], hop_ab)
    assert_allclose(np.diag(t), 0.0)


def test_parallel_links_keep_the_fastest():
    """Two links between the same pair: the faster one carries the model."""
    snap, req = make(links=[*LINKS, link("owner", "a", 0.0, 800.0)])
    w = build_view(snap, req)
    assert_allclose(w.transfer[w.position("owner"), w.position("a")], 0.1)


def test_a_down_node_forwards_nothing():
    """With b down, owner -> mpvu can no longer go through a and b: the slow direct link (15 s)."""
    nodes = [{**n, "up": False} if n["id"] == "b" else n for n in NODES]
    snap, req = make(nodes=nodes)
    w = build_view(snap, req)
    assert w.excluded["b"] == "down"
    assert_allclose(w.transfer[w.position("owner"), w.position("mpvu")], 5.0 + 80 / 8)


def test_travel_cost_sums_cost_per_gb_along_the_chosen_path(v):
    """owner -> mpvu goes owner-a-b-mpvu: (1 + 2 + 0) per GB times 0.01 GB."""
    assert_allclose(v.travel_cost[v.position("owner"), v.position("mpvu")], 0.03)
    assert_allclose(v.travel_cost[v.position("a"), v.position("b")], 0.02)


def test_training_time_utility_samples_and_labels(v):
    """train = samples * epochs * gflop_per_sample / gflops + overhead; utility = sum samples * q."""
    a, b = v.position("a"), v.position("b")
    assert_allclose(v.train_time[a], 100 * 2 * 0.5 / 10 + 2.0)
    assert_allclose(v.train_time[b], 50 * 2 * 0.5 / 20)
    assert_allclose(v.train_time[[v.start, v.end]], 0.0)
    assert_allclose(v.utility[a], 90.0)
    assert_allclose(v.utility[b], 40.0)  # only the dataset meeting the quality threshold
    assert_allclose(v.samples[[a, b]], [100, 50])
    assert v.labels == ["x", "y", "z"]
    assert_allclose(v.label_counts[a], [60, 40, 0])
    assert_allclose(v.label_counts[b], [10, 0, 40])


def test_visit_cost_and_verification_time(v):
    """Compute cost = cost_per_hour * train_time / 3600; verification = eval_samples / throughput."""
    assert_allclose(v.visit_cost[v.position("a")], 36.0 * 12.0 / 3600)
    assert v.verify_time == pytest.approx(5.0)
    assert v.deadline == 100.0


def test_explicit_start_and_end_replace_owner_and_mpvu():
    """With start = end = a, the view starts and ends at a and still lists b."""
    snap, req = make(start="a", end="a")
    w = build_view(snap, req)
    assert w.ids[w.start] == "a" and w.start == w.end
    assert w.verify_time == 0.0  # the end is not an MPVU
    assert "b" in w.ids


def _with_windows(windows):
    return [n if n["id"] != "b" else {**n, "windows": windows} for n in NODES]


def test_windows_are_relative_to_the_request_arrival():
    """A window [100, 200] s on the snapshot clock is [50, 150] s for a request arriving at 50."""
    snap, req = make(nodes=_with_windows([{"start": 100.0, "end": 200.0}]))
    w = build_view(snap, req)
    b = w.position("b")
    assert (w.window_open[b], w.window_close[b]) == (100.0, 200.0)
    assert w.window_open[w.position("a")] == 0.0 and np.isinf(w.window_close[w.position("a")])
    later = build_view(snap, req.model_copy(update={"arrival": 50.0}))
    assert (later.window_open[b], later.window_close[b]) == (50.0, 150.0)
    inside = build_view(snap, req.model_copy(update={"arrival": 120.0}))
    assert (inside.window_open[b], inside.window_close[b]) == (0.0, 80.0)


def test_closed_windows_exclude_and_later_windows_are_used():
    """The first window still open counts; a node whose windows all closed is excluded."""
    windows = [{"start": 0.0, "end": 10.0}, {"start": 400.0, "end": 500.0}]
    snap, req = make(nodes=_with_windows(windows))
    w = build_view(snap, req)
    assert w.multi_window == ["b"]
    late = build_view(snap, req.model_copy(update={"arrival": 300.0}))
    b = late.position("b")
    assert (late.window_open[b], late.window_close[b]) == (100.0, 200.0)
    assert late.multi_window == []
    gone = build_view(snap, req.model_copy(update={"arrival": 600.0}))
    assert "b" not in gone.ids
    assert "windows closed" in gone.excluded["b"]


def test_down_mpvu_is_not_the_default_end():
    """The default end is the first MPVU that is up, else the owner."""
    nodes = [n if n["id"] != "mpvu" else {**n, "up": False} for n in NODES]
    snap, req = make(nodes=nodes)
    w = build_view(snap, req)
    assert w.ids[w.end] == "owner"


def test_unknown_mandatory_or_ineligible_node_is_an_input_error():
    """A mandatory node outside the view is rejected with the reason it is excluded."""
    snap, req = make(mandatory=["old"])
    with pytest.raises(InputError) as err:
        build_view(snap, req)
    assert err.value.field == "request.mandatory" and "age" in err.value.reason
    snap, req = make(mandatory=["b"])
    assert build_view(snap, req).mandatory.tolist() == [3]


def test_unknown_request_id_is_an_input_error():
    """view(instance, id) names the known request ids."""
    snap, req = make()
    inst = Instance(name="x", snapshot=snap, requests=[req])
    assert view(inst).request_id == "r"
    with pytest.raises(InputError) as err:
        view(inst, "nope")
    assert err.value.field == "request" and "'r'" in err.value.reason


def test_no_links_leaves_only_start_and_end():
    """Without links nothing is reachable: every data node is excluded."""
    snap, req = make(links=[])
    w = build_view(snap, req)
    assert w.ids == ["owner", "mpvu"]
    assert np.isinf(w.transfer[0, 1])
    assert w.excluded["a"] == "unreachable from the start"
