"""The sparse view equals a dense all-nodes reference, bit for bit, on shipped and generated data.

``build_view`` runs Dijkstra only from the nodes a request can use, in blocks, on a graph without
dominated arcs. The reference here is the plain computation the view used to do: one Dijkstra from
*every* node over *every* up arc, a dense (n, n) matrix, money walked up each predecessor tree one
node at a time, unreachable nodes dropped afterwards. Transfer times must match exactly (same
floating-point sums); money within 1e-12 (the walk adds in another order than pointer doubling).

Each comparison runs on both paths of :func:`daitn_opt.drrt.transfer.pairwise`: the compiled
searches (numba, when installed) and scipy's csgraph (``DAITN_NO_NUMBA=1``).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from daitn_opt.drrt import shortest_paths
from daitn_opt.drrt import transfer as tr
from daitn_opt.drrt.generators import generate
from daitn_opt.drrt.instance import Instance, load_instance
from daitn_opt.drrt.snapshot import Snapshot
from daitn_opt.drrt.view import build_view
from daitn_opt.errors import InputError


@pytest.fixture(params=["compiled", "scipy"])
def backend(request, monkeypatch) -> str:
    """Run the test on the compiled searches and on scipy's (the fallback without numba)."""
    if request.param == "compiled":
        if not shortest_paths.INSTALLED:
            pytest.skip("numba is not installed")
        monkeypatch.delenv("DAITN_NO_NUMBA", raising=False)
    else:
        monkeypatch.setenv("DAITN_NO_NUMBA", "1")
    return request.param


SHIPPED = [
    "rgg-100",
    "healthcare-small",
    "healthcare-medium",
    pytest.param("healthcare-large", marks=pytest.mark.slow),  # the money walk: ~8 s
]


def dense_reference(snapshot: Snapshot, size_mb: float) -> tuple[np.ndarray, np.ndarray]:
    """(n, n) seconds and money per GB between all nodes: all-pairs Dijkstra, trees walked."""
    w = tr.link_weights(snapshot, size_mb)
    n = snapshot.num_nodes
    if not w.time.nnz:
        dist = np.full((n, n), np.inf)
        np.fill_diagonal(dist, 0.0)
        return dist, np.zeros((n, n))
    dist, pred = dijkstra(w.time, directed=True, return_predecessors=True)
    tiny = dist < 1e-9
    dist[tiny] = np.round(dist[tiny], 12)
    paid = np.zeros((n, n))
    if not w.has_cost:
        return dist, paid
    money = w.money.toarray()
    for r in range(n):
        done = pred[r] < 0  # the source and unreachable nodes pay nothing
        for v in range(n):
            trail, x = [], v
            while not done[x]:  # climb to the first node already summed
                trail.append(x)
                x = pred[r, x]
            for y in reversed(trail):
                paid[r, y] = paid[r, pred[r, y]] + money[pred[r, y], y]
                done[y] = True
    return dist, paid


def expected_view(snapshot: Snapshot, request, dist: np.ndarray, paid: np.ndarray):
    """(ids, transfer, travel cost, unreachable id -> reason) the view must hold."""
    index = snapshot.index()
    s = index[request.start or request.owner]
    mpvus = [n.id for n in snapshot.nodes if n.kind == "mpvu" and n.up]
    e = index[request.end or (mpvus[0] if mpvus else request.owner)]
    full = build_view(snapshot, request)  # eligibility is not what is checked here
    eligible = [index[i] for i in full.ids] + [
        index[i] for i, why in full.excluded.items() if why in UNREACHABLE
    ]
    cand = sorted(set(eligible) | {s, e})
    reasons = {}
    for c in cand:
        if c in (s, e):
            continue
        if not np.isfinite(dist[s, c]):
            reasons[snapshot.nodes[c].id] = "unreachable from the start"
        elif not np.isfinite(dist[c, e]):
            reasons[snapshot.nodes[c].id] = "cannot reach the end"
    keep = [c for c in cand if snapshot.nodes[c].id not in reasons]
    cost = paid[np.ix_(keep, keep)] * request.model.size_mb / 1000.0
    return [snapshot.nodes[c].id for c in keep], dist[np.ix_(keep, keep)], cost, reasons


UNREACHABLE = ("unreachable from the start", "cannot reach the end")


def assert_matches_reference(inst: Instance) -> int:
    """Every request's view of ``inst`` against the dense reference; returns views checked."""
    cache: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    for req in inst.requests:
        size = req.model.size_mb
        if size not in cache:
            cache[size] = dense_reference(inst.snapshot, size)
        ids, transfer, cost, reasons = expected_view(inst.snapshot, req, *cache[size])
        v = build_view(inst.snapshot, req)
        assert v.ids == ids
        assert v.transfer.dtype == np.float64
        np.testing.assert_array_equal(v.transfer, transfer)  # exact, not close
        np.testing.assert_allclose(v.travel_cost, cost, rtol=1e-12, atol=0)
        assert {k: r for k, r in v.excluded.items() if r in UNREACHABLE} == reasons
    return len(inst.requests)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_instances_match_the_dense_reference(instances_dir, name, backend):
    """Every request of every small shipped instance: same ids, same transfer bit for bit."""
    assert assert_matches_reference(load_instance(instances_dir / f"{name}.json")) >= 1


@pytest.mark.slow
def test_rgg_2000_matches_the_dense_reference(rgg_2000, backend):
    """The 2,000-node instance: 1,737 of 2,000 nodes per view, where arc pruning matters most."""
    assert assert_matches_reference(rgg_2000) == 3


def perturbed(inst: Instance, seed: int, money: bool = True) -> Instance:
    """``inst`` with money on some links, one-way and down links, zero-time and parallel links."""
    rng = np.random.default_rng(seed)
    doc = inst.snapshot.model_dump()
    for lk in doc["links"]:
        u = rng.random()
        if u < 0.3 and money:
            lk["cost_per_gb"] = float(rng.choice([0.0, 0.5, 1.0, 2.0]))
        if u > 0.9:
            lk["directed"] = True
        if 0.5 < u < 0.55:
            lk["up"] = False
        if 0.6 < u < 0.62:
            lk["latency"], lk["bandwidth"] = 0.0, 1e6
    doc["links"] += [
        {**lk, "latency": lk["latency"] * 0.5} for lk in doc["links"][::17]
    ]  # faster parallel twins
    return Instance(name="p", snapshot=Snapshot.model_validate(doc), requests=inst.requests)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("family", "nodes"), [("random-geometric", 200), ("healthcare", 60)])
def test_generated_and_perturbed_instances_match_the_dense_reference(family, nodes, seed, backend):
    """Generated instances as made, and with money, one-way, down, zero-time and parallel links
    (without money too: the compiled path serves only links that charge none)."""
    inst = generate(family, nodes=nodes, seed=seed, requests=3)
    assert assert_matches_reference(inst) == 3
    assert assert_matches_reference(perturbed(inst, seed)) == 3
    assert assert_matches_reference(perturbed(inst, seed, money=False)) == 3


def test_transfer_equals_networkx_shortest_paths():
    """An independent check: networkx's Dijkstra over the same hop times, 150 nodes."""
    inst = generate("random-geometric", nodes=150, seed=4, requests=1)
    req = inst.requests[0]
    v = build_view(inst.snapshot, req)
    g = nx.DiGraph()
    for lk in inst.snapshot.links:
        hop = lk.latency + 8.0 * req.model.size_mb / lk.bandwidth
        for a, b in [(lk.source, lk.target)] + ([] if lk.directed else [(lk.target, lk.source)]):
            if not g.has_edge(a, b) or g[a][b]["weight"] > hop:
                g.add_edge(a, b, weight=hop)
    down = [n.id for n in inst.snapshot.nodes if not n.up]
    g.remove_nodes_from(down)
    for i, a in enumerate(v.ids[:20]):
        lengths = nx.single_source_dijkstra_path_length(g, a)
        np.testing.assert_allclose(v.transfer[i], [lengths[b] for b in v.ids], rtol=1e-12)


def test_blocks_of_sources_do_not_change_the_view(monkeypatch):
    """One source per Dijkstra call gives the same arrays as one call for all sources."""
    inst = perturbed(generate("random-geometric", nodes=120, seed=5, requests=1), 5)
    whole = build_view(inst.snapshot, inst.requests[0])
    monkeypatch.setattr(tr, "BLOCK_CELLS", 1)
    monkeypatch.setattr(tr, "PAIR_BLOCK", 7)
    split = build_view(inst.snapshot, inst.requests[0])
    np.testing.assert_array_equal(split.transfer, whole.transfer)
    np.testing.assert_array_equal(split.travel_cost, whole.travel_cost)
    assert whole.travel_cost.any()  # the perturbed links do charge money


def _chain(weights: dict[tuple[int, int], float], n: int):
    from scipy.sparse import csr_matrix

    rows, cols = zip(*weights, strict=True)
    return csr_matrix((list(weights.values()), (rows, cols)), shape=(n, n))


def test_only_arcs_beaten_by_a_clear_margin_are_dropped():
    """0->2 (10 s) loses to 0->1->2 (6 s) and goes; 1->3 (5 s) ties 1->2->3 (2 + 3 s) and stays."""
    graph = _chain({(0, 1): 3.0, (1, 2): 3.0, (0, 2): 10.0, (2, 3): 3.0, (1, 3): 5.0}, 4)
    pruned = tr._drop_dominated(graph)
    kept = set(zip(*pruned.nonzero(), strict=True))
    assert kept == {(0, 1), (1, 2), (2, 3), (1, 3)}
    np.testing.assert_array_equal(dijkstra(pruned), dijkstra(graph))


def test_rgg_loses_dominated_arcs_and_no_distance(rgg_2000):
    """On the 2,000-node instance about 40 % of the arcs go; all-pairs distances stay exact."""
    w = tr.link_weights(rgg_2000.snapshot, 45.0)
    pruned = tr._drop_dominated(w.time)
    assert 0.2 * w.time.nnz < w.time.nnz - pruned.nnz < 0.6 * w.time.nnz
    some = np.arange(0, 2000, 97)
    np.testing.assert_array_equal(dijkstra(pruned, indices=some), dijkstra(w.time, indices=some))


def test_max_nodes_keeps_the_nodes_nearest_the_way_from_start_to_end(backend):
    """Capped views keep start, end and mandatory nodes, then the smallest start-node-end time."""
    inst = generate("random-geometric", nodes=300, seed=2, requests=1)
    req = inst.requests[0]
    full = build_view(inst.snapshot, req)
    mandatory = full.ids[-1]  # far down the snapshot order, likely not among the nearest
    req = req.model_copy(update={"mandatory": [mandatory]})
    full = build_view(inst.snapshot, req)
    capped = build_view(inst.snapshot, req, max_nodes=40)
    assert capped.n == 40
    assert {capped.ids[capped.start], capped.ids[capped.end], mandatory} <= set(capped.ids)
    pos = [full.position(i) for i in capped.ids]
    np.testing.assert_array_equal(capped.transfer, full.transfer[np.ix_(pos, pos)])
    np.testing.assert_array_equal(capped.utility, full.utility[pos])
    detour = full.transfer[full.start] + full.transfer[:, full.end]
    dropped = [full.position(i) for i in full.ids if i not in capped.ids]
    kept = [p for p in pos if p not in (full.start, full.end, full.position(mandatory))]
    assert detour[kept].max() <= detour[dropped].min()
    assert "max_nodes" in capped.excluded[full.ids[dropped[0]]]
    assert capped.ids == [i for i in full.ids if i in set(capped.ids)]  # snapshot order


@pytest.mark.parametrize("seed", [3, 4])
def test_capped_searches_stop_early_without_changing_a_value(seed, backend):
    """One-way, down, zero-time and parallel links: capped rows equal the uncapped view's."""
    inst = perturbed(generate("random-geometric", nodes=400, seed=seed, requests=1), seed, False)
    req = inst.requests[0]
    full = build_view(inst.snapshot, req)
    capped = build_view(inst.snapshot, req, max_nodes=60)
    assert capped.n == 60 and not full.travel_cost.any()
    pos = [full.position(i) for i in capped.ids]
    np.testing.assert_array_equal(capped.transfer, full.transfer[np.ix_(pos, pos)])
    w = tr.link_weights(inst.snapshot, req.model.size_mb)
    index = inst.snapshot.index()
    nodes = np.array([index[i] for i in capped.ids])
    limits = tr.reach_limits(w, nodes, np.array([capped.start, capped.end, 7, 30]))
    finite = np.isfinite(capped.transfer)
    assert (capped.transfer <= limits[:, None])[finite].all()  # the bound holds
    assert (
        np.isfinite(limits).any() and limits.min() < full.transfer[np.isfinite(full.transfer)].max()
    )


def test_max_nodes_below_two_is_an_input_error():
    """The start and the end always need room."""
    inst = generate("random-geometric", nodes=50, seed=1, requests=1)
    with pytest.raises(InputError) as err:
        build_view(inst.snapshot, inst.requests[0], max_nodes=1)
    assert err.value.field == "max_nodes"


def test_an_uncapped_view_too_large_for_memory_asks_for_max_nodes(monkeypatch):
    """Beyond MAX_DENSE_NODES the view refuses before allocating, naming the cap to set."""
    import importlib

    view_module = importlib.import_module("daitn_opt.drrt.view")
    inst = generate("random-geometric", nodes=60, seed=1, requests=1)
    monkeypatch.setattr(view_module, "MAX_DENSE_NODES", 20)
    with pytest.raises(InputError) as err:
        build_view(inst.snapshot, inst.requests[0])
    assert err.value.field == "max_nodes" and "per (k, k) matrix" in err.value.reason
    assert build_view(inst.snapshot, inst.requests[0], max_nodes=20).n == 20
