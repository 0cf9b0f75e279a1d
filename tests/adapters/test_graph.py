"""daitn_opt.adapters.graph: routes from a networkx graph and from plain arrays.

The graph built from the shipped healthcare snapshot gives the same problem (and so the same route)
as the instance file; every missing or wrong attribute is an InputError naming the node or edge.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import daitn_opt as dao
from daitn_opt import mtrce
from daitn_opt.adapters.graph import route_from_arrays, route_from_graph, snapshot_from_graph
from daitn_opt.errors import InputError
from tests.conftest import SMALL


def graph_of(snapshot) -> nx.Graph:
    """The snapshot as a user's graph: nested schema attributes on nodes, link fields on edges."""
    g = nx.Graph()
    for node in snapshot.nodes:
        attrs = node.model_dump(exclude={"id"}, exclude_none=True)
        if node.kind == "data" and node.compute is None:
            attrs["compute"] = None
        g.add_node(node.id, **attrs)
    for link in snapshot.links:
        g.add_edge(link.source, link.target, **link.model_dump(exclude={"source", "target"}))
    return g


def small_graph() -> nx.Graph:
    g = nx.Graph()
    g.add_node("owner", kind="user")
    g.add_node("lab", kind="mpvu")
    for name, n in [("a", 400), ("b", 300), ("c", 200)]:
        g.add_node(name, modality="tabular", task="cancer", samples=n, gflops=50.0)
    g.add_edges_from([("owner", x) for x in "abc"], latency=0.5)
    g.add_edges_from([("a", "b"), ("b", "c"), ("c", "lab"), ("a", "lab")], latency=0.5)
    return g


REQUEST = {"id": "r1", "owner": "owner", "modality": "tabular", "task": "cancer", "deadline": 60.0}


def test_the_shipped_snapshot_as_a_graph_gives_the_instance_route():
    inst = dao.load_instance(SMALL)
    g = graph_of(inst.snapshot)
    assert snapshot_from_graph(g, name=inst.snapshot.name) == inst.snapshot.replace(time=0.0)
    decision = route_from_graph(g, inst.requests[0], solver="highs", time_limit=30)
    reference = dao.solve(mtrce.from_instance(inst), "highs", time_limit=30)
    assert decision.checked
    assert decision.objective == pytest.approx(reference.objective)
    assert decision.route == reference.solution["routes"][0]
    assert decision.route[0] == "owner" and decision.route[-1] == "mpvu"


def test_flat_attributes_numpy_values_and_the_default_solver():
    g = small_graph()
    g.nodes["a"]["samples"] = np.int64(400)
    g.nodes["a"]["quality"] = np.float64(0.9)
    g.nodes["b"]["windows"] = [(0.0, 1000.0)]
    g.nodes["c"]["position"] = (1.0, 2.0)
    snap = snapshot_from_graph(g)
    a = snap.node("a")
    assert a.datasets[0].samples == 400 and a.datasets[0].quality == 0.9
    assert a.compute.gflops == 50.0 and a.compute.memory_gb == 16.0  # schema default
    assert snap.node("b").windows[0].end == 1000.0 and snap.node("c").position.y == 2.0
    decision = route_from_graph(g, REQUEST)
    assert decision.result.solver == "ils" and decision.checked
    assert sorted(decision.route[1:-1]) == ["a", "b", "c"]


def test_a_short_deadline_drops_nodes_and_a_node_without_compute_is_never_visited():
    g = small_graph()
    g.nodes["a"]["compute"] = None
    del g.nodes["a"]["gflops"]
    tight = dict(REQUEST, deadline=8.0)
    decision = route_from_graph(g, tight, solver="highs")
    assert "a" not in decision.route
    assert decision.result.solution["completion"][0] <= 8.0 + 1e-6
    assert decision.checked


def test_a_directed_graph_gives_directed_links():
    g = nx.DiGraph(small_graph())
    snap = snapshot_from_graph(g)
    assert all(link.directed for link in snap.links)
    assert snap.num_links == 2 * small_graph().number_of_edges()


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda g: g.edges["a", "b"].pop("latency"), "graph.edges['a', 'b'].latency", "missing"),
        (
            lambda g: g.edges["a", "b"].update(latency=-1),
            "graph.edges['a', 'b'].latency",
            "greater than",
        ),
        (lambda g: g.nodes["a"].pop("samples"), "graph.nodes['a'].samples", "missing"),
        (lambda g: g.nodes["a"].update(trust=2.0), "graph.nodes['a'].trust", "less than or equal"),
        (lambda g: g.nodes["a"].update(colour="red"), "graph.nodes['a'].colour", "not permitted"),
        (lambda g: g.nodes["a"].update(kind="router"), "graph.nodes['a'].kind", "unknown node"),
        (lambda g: g.nodes["a"].update(samples="400"), "graph.nodes['a'].datasets[0].samples", ""),
        (lambda g: g.nodes["owner"].update(task="x"), "graph.nodes['owner'].task", "data node"),
        (
            lambda g: g.nodes["a"].update(compute={"gflops": 1.0}),
            "graph.nodes['a'].compute",
            "both",
        ),
    ],
)
def test_a_missing_or_bad_attribute_names_the_node_or_edge(change, field, words):
    g = small_graph()
    change(g)
    with pytest.raises(InputError) as err:
        route_from_graph(g, REQUEST)
    assert err.value.field == field
    assert words in err.value.reason


def test_bad_graphs_and_requests():
    with pytest.raises(InputError, match="networkx"):
        snapshot_from_graph([1, 2])
    with pytest.raises(InputError, match="no nodes"):
        snapshot_from_graph(nx.Graph())
    with pytest.raises(InputError) as err:
        route_from_graph(small_graph(), {"id": "r1", "owner": "owner", "modality": "tabular"})
    assert err.value.field == "request.task"
    with pytest.raises(InputError) as err:
        route_from_graph(small_graph(), dict(REQUEST, owner="nobody"))
    assert err.value.field == "requests[0].owner"
    with pytest.raises(InputError, match="solver"):
        route_from_graph(small_graph(), REQUEST, solver="nope")


def test_routes_from_plain_arrays():
    rng = np.random.default_rng(3)
    pts = rng.uniform(0, 10, size=(8, 2))
    travel = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    service = np.r_[0, rng.uniform(1, 3, 6), 0]
    utility = np.r_[0, rng.uniform(1, 10, 6), 0]
    exact = route_from_arrays(travel, service, utility, end=7, deadline=25, solver="highs")
    heuristic = route_from_arrays(travel, service, utility, end=7, deadline=25, seed=1)
    assert exact.status == "optimal" and exact.checked and heuristic.checked
    assert exact.route[0] == "0" and exact.route[-1] == "7"
    assert heuristic.objective <= exact.objective + 1e-9
    assert exact.objective == pytest.approx(sum(utility[int(i)] for i in exact.route))
    with pytest.raises(InputError, match="travel"):
        route_from_arrays(np.zeros((3, 2)), [0, 0, 0], [0, 0, 0])
