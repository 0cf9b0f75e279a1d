"""The minimal DRRT prototype (paper experiment 1): G-KRRM and views equal hand-derived values."""

from __future__ import annotations

import numpy as np

from daitn_opt.drrt.graph import to_networkx
from daitn_opt.drrt.qrrt import qrrt
from daitn_opt.drrt.view import build_view
from daitn_opt.papers.daitn.prototype import (
    REQUEST,
    aged,
    best_route,
    five_kind,
    set_datasets,
    set_link,
    set_node,
    three_node,
)


def test_three_node_gkrrm_is_what_was_built():
    s = three_node()
    g = to_networkx(s)
    assert sorted((n, d["kind"]) for n, d in g.nodes(data=True)) == [
        ("c1", "compute"),
        ("h1", "data"),
        ("v1", "mpvu"),
    ]
    assert g.number_of_edges() == 6  # three undirected links, both directions
    assert g.nodes["h1"]["datasets"][0]["labels"] == {"benign": 600, "malignant": 400}


def test_three_node_view_equals_hand_values():
    v = build_view(three_node(), REQUEST)
    assert v.ids == ["c1", "h1", "v1"]
    assert (v.start, v.end) == (0, 2)
    # latency + 8 * 10 MB / bandwidth, shortest over up links
    assert v.transfer.tolist() == [[0.0, 1.5, 2.25], [1.5, 0.0, 0.75], [2.25, 0.75, 0.0]]
    assert v.train_time.tolist() == [0.0, 6.0, 0.0]  # 1000 * 2 * 0.25 / 100 + 1
    assert v.utility.tolist() == [0.0, 750.0, 0.0]  # 1000 * 0.75
    assert v.samples.tolist() == [0.0, 1000.0, 0.0]
    assert v.labels == ["benign", "malignant"]
    assert v.label_counts.tolist() == [[0, 0], [600, 400], [0, 0]]
    assert v.age_days.tolist() == [0.0, 10.0, 0.0]
    assert v.verify_time == 0.5  # 500 samples / 1000 per s
    assert best_route(v) == (["c1", "h1", "v1"], 750.0)


def test_views_follow_state_changes():
    s = three_node()
    down = build_view(set_node(s, "h1", up=False), REQUEST)
    assert down.ids == ["c1", "v1"] and down.excluded == {"h1": "down"}
    assert down.transfer[0, 1] == 3.0  # the way through h1 is gone: 1 + 80 / 40
    old = build_view(aged(s, 25.0), REQUEST)
    assert old.excluded == {"h1": "age 35 d > allowed 30 d"}
    assert build_view(aged(s, 15.0), REQUEST).age_days.tolist() == [0.0, 25.0, 0.0]
    assert build_view(set_datasets(s, "h1", quality=0.875), REQUEST).utility[1] == 875.0
    low = build_view(set_datasets(s, "h1", quality=0.5), REQUEST)
    assert low.excluded == {"h1": "quality 0.5 < required 0.7"}
    cut = build_view(set_link(s, "c1", "h1", up=False), REQUEST)
    assert cut.transfer[0, 1] == 3.75  # c1 -> v1 -> h1: 3 + 0.75
    assert best_route(cut) == (["c1", "h1", "v1"], 750.0)


def test_tight_deadline_drops_the_data_node_from_the_route():
    v = build_view(three_node(), REQUEST.model_copy(update={"deadline": 8.75}))
    assert best_route(v)[1] == 750.0  # 1.5 + 6 + 0.75 + 0.5 = 8.75 exactly
    v = build_view(three_node(), REQUEST.model_copy(update={"deadline": 8.5}))
    assert best_route(v) == (["c1", "v1"], 0.0)


def test_five_kind_network():
    inst = five_kind()
    kinds = sorted({n.kind for n in inst.snapshot.nodes})
    assert kinds == ["compute", "data", "mdfp", "mpvu", "user"]
    v = build_view(inst.snapshot, REQUEST)
    assert v.ids == ["c1", "h1", "v1"]
    assert v.excluded == {"h2": "quality 0.5 < required 0.7"}
    assert np.array_equal(v.transfer, build_view(three_node(), REQUEST).transfer)
    q = qrrt(inst)
    assert (q.users, q.facilities) == (["u1"], ["f1"])
    assert q.rtt_ms.tolist() == [[500.0]]  # 2 x 0.25 s
    gone = qrrt(inst.model_copy(update={"snapshot": set_node(inst.snapshot, "f1", up=False)}))
    assert gone.facilities == [] and "f1" in gone.excluded
