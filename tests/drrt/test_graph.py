"""Conversion between snapshots and networkx graphs."""

from __future__ import annotations

import networkx as nx
import pytest

from daitn_opt.drrt.graph import from_networkx, to_networkx
from daitn_opt.drrt.instance import load_instance
from daitn_opt.drrt.snapshot import Snapshot
from daitn_opt.errors import InputError

SNAP = Snapshot.model_validate(
    {
        "name": "g",
        "time": 12.5,
        "nodes": [
            {"id": "o", "kind": "user", "position": {"x": 0.0, "y": 1.0}},
            {
                "id": "d",
                "kind": "data",
                "trust": 0.7,
                "compute": {"gflops": 5.0},
                "datasets": [{"modality": "m", "task": "t", "samples": 2, "labels": {"a": 2}}],
                "windows": [{"start": 1.0, "end": 2.0}],
            },
            {"id": "v", "kind": "mpvu", "up": False},
        ],
        "links": [
            {"source": "o", "target": "d", "latency": 0.1, "cost_per_gb": 0.5},
            {"source": "d", "target": "v", "latency": 0.2, "directed": True, "up": False},
            {"source": "o", "target": "d", "latency": 0.3, "bandwidth": 5.0},
        ],
    }
)


def test_layout_one_edge_per_direction_with_node_attributes():
    """An undirected link gives two edges sharing its index; a directed link one edge."""
    g = to_networkx(SNAP)
    assert isinstance(g, nx.MultiDiGraph)
    assert list(g.nodes) == ["o", "d", "v"]
    assert g.nodes["d"]["kind"] == "data" and g.nodes["d"]["trust"] == 0.7
    assert g.number_of_edges() == 5
    assert g.has_edge("d", "o", key=0) and g.has_edge("o", "d", key=2)
    assert not g.has_edge("v", "d")
    assert g.edges["d", "v", 1]["up"] is False
    assert g.graph["time"] == 12.5


def test_round_trip_without_loss():
    """to_networkx then from_networkx gives back an equal snapshot (parallel links included)."""
    assert from_networkx(to_networkx(SNAP)) == SNAP


@pytest.mark.parametrize(
    "name", ["healthcare-small.json", "healthcare-medium.json", "rgg-100.json"]
)
def test_shipped_snapshots_round_trip(instances_dir, name):
    """Every attribute of the shipped snapshots survives the networkx round trip."""
    snap = load_instance(instances_dir / name).snapshot
    assert from_networkx(to_networkx(snap)) == snap


def test_plain_graph_from_another_tool():
    """An undirected nx.Graph with kind and latency attributes becomes undirected links."""
    g = nx.Graph(name="other")
    g.add_node(1, kind="user")
    g.add_node(2, kind="data", compute={"gflops": 1.0})
    g.add_node(3, kind="mpvu")
    g.add_edge(1, 2, latency=0.5)
    g.add_edge(2, 3, latency=0.25, bandwidth=10.0)
    snap = from_networkx(g)
    assert snap.name == "other"
    assert snap.ids() == ["1", "2", "3"]
    assert [(lk.source, lk.target, lk.directed) for lk in snap.links] == [
        ("1", "2", False),
        ("2", "3", False),
    ]
    d = nx.DiGraph(g)
    assert all(lk.directed for lk in from_networkx(d).links)
    assert from_networkx(d).num_links == 4


def test_missing_attributes_are_input_errors_naming_the_place():
    """A node without kind or an edge without latency is named by position."""
    g = nx.Graph()
    g.add_node("a", kind="user")
    g.add_node("b")
    with pytest.raises(InputError) as err:
        from_networkx(g)
    assert err.value.field == "nodes[1].kind"
    g.nodes["b"]["kind"] = "data"
    g.add_edge("a", "b")
    with pytest.raises(InputError) as err:
        from_networkx(g)
    assert err.value.field == "links[0].latency"
    g.edges["a", "b"]["latency"] = -1.0
    with pytest.raises(InputError) as err:
        from_networkx(g)
    assert (err.value.field, err.value.value) == ("links[0].latency", -1.0)
    g.add_node("c", kind="router")
    g.edges["a", "b"]["latency"] = 1.0
    with pytest.raises(InputError) as err:
        from_networkx(g)
    assert (err.value.field, err.value.value) == ("nodes[2].kind", "router")
