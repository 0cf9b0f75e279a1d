"""The compiled many-source searches against scipy's Dijkstra: the same values, bit for bit.

:mod:`daitn_opt.drrt.shortest_paths` must give exactly what ``scipy.sparse.csgraph.dijkstra``
gives between a group of nodes, on graphs with one-way arcs, unreachable parts, ties, tiny and
huge weights, and per-source limits; and the view must use it only where money does not follow
the paths. Skipped where numba is not installed (the view then falls back to scipy).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from daitn_opt.drrt import shortest_paths
from daitn_opt.drrt import transfer as tr
from daitn_opt.drrt.generators import generate
from daitn_opt.errors import InputError

pytestmark = pytest.mark.skipif(not shortest_paths.INSTALLED, reason="numba is not installed")


def random_graph(
    n: int, arcs: int, seed: int, ties: bool = False, method: str = "heap"
) -> csr_matrix:
    """A random directed graph (some nodes unreachable), weights over 9 orders of magnitude (2
    for the forced bucket queues, which would need a billion buckets)."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, n, arcs)
    cols = rng.integers(0, n, arcs)
    if ties:  # few distinct weights: many equal paths
        w = rng.choice([0.5, 1.0, 1.5], arcs)
    else:
        w = 10.0 ** rng.uniform(1 if method in ("buckets", "lanes") else -6, 3, arcs)
    keep = rows != cols
    g = csr_matrix((w[keep], (rows[keep], cols[keep])), shape=(n, n))
    g.sum_duplicates()
    g.sort_indices()
    return g


METHODS = ["heap", "buckets", "lanes", "auto"]
LIMITED = ["heap", "buckets", "auto"]
"""Per-source limits: the lane searches refuse them (``auto`` then takes one search per source)."""


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("ties", [False, True])
def test_group_distances_equal_scipy_bit_for_bit(seed, ties, method):
    """Any group of sources, sparse enough that some pairs are unreachable; both queues."""
    n = 300
    g = random_graph(n, 3 * n, seed, ties, method)
    rng = np.random.default_rng(seed + 10)
    nodes = np.sort(rng.choice(n, 80, replace=False))
    got = shortest_paths.group_distances(g.indptr, g.indices, g.data, nodes, method=method)
    want = dijkstra(g, directed=True, indices=nodes)[:, nodes]
    np.testing.assert_array_equal(got, want)
    assert np.isinf(got).any() and np.isfinite(got).sum() > len(nodes)  # both kinds present


@pytest.mark.parametrize("method", LIMITED)
@pytest.mark.parametrize("seed", [4, 5])
def test_limits_stop_each_search_as_scipy_does(seed, method):
    """A per-source limit: values within it as without one, beyond it inf."""
    n = 250
    g = random_graph(n, 6 * n, seed, method=method)
    nodes = np.arange(0, n, 3)
    full = dijkstra(g, directed=True, indices=nodes)[:, nodes]
    finite = np.where(np.isfinite(full), full, 0.0)
    limits = np.median(finite, axis=1)
    got = shortest_paths.group_distances(g.indptr, g.indices, g.data, nodes, limits, method)
    want = np.where(full <= limits[:, None], full, np.inf)
    np.testing.assert_array_equal(got, want)
    assert np.isinf(got).sum() > np.isinf(full).sum()  # the limits did cut searches


@pytest.mark.parametrize("method", METHODS)
def test_no_arcs_and_single_node_groups(method):
    """An empty graph: only the diagonal is reachable; a group of one is its own 0."""
    g = csr_matrix((5, 5))
    got = shortest_paths.group_distances(
        g.indptr, g.indices, g.data, np.array([0, 3]), None, method
    )
    np.testing.assert_array_equal(got, [[0.0, np.inf], [np.inf, 0.0]])
    one = shortest_paths.group_distances(g.indptr, g.indices, g.data, np.array([2]), None, method)
    np.testing.assert_array_equal(one, [[0.0]])


def test_lane_searches_refuse_limits():
    g = random_graph(50, 150, 0, method="lanes")
    with pytest.raises(InputError):
        shortest_paths.group_distances(g.indptr, g.indices, g.data, [0, 1], np.ones(2), "lanes")


@pytest.mark.parametrize("seed", [0, 1])
def test_lane_searches_with_one_slot_and_a_tiny_pool(seed, monkeypatch):
    """Every bucket in one slot (all later entries wait a lap or more) and a queue pool that
    runs out again and again: the same values."""
    g = random_graph(300, 1500, seed, method="lanes")
    nodes = np.arange(0, 300, 2)
    want = dijkstra(g, directed=True, indices=nodes)[:, nodes]
    monkeypatch.setattr(shortest_paths, "_lane_slots", lambda weights, width: 1)
    monkeypatch.setattr(shortest_paths, "_pool_size", lambda arcs: 1)
    got = shortest_paths.group_distances(g.indptr, g.indices, g.data, nodes, None, "lanes")
    np.testing.assert_array_equal(got, want)


def test_lane_searches_of_a_close_group_stop_early_with_the_same_values():
    """A small group in a connected network: every pair is reachable, so each search ends once
    the group's values are final (long before the far side of the network)."""
    inst = generate("random-geometric", nodes=400, seed=5, requests=1)
    w = tr.link_weights(inst.snapshot, 20.0).time
    near = np.argsort(dijkstra(w, indices=0))[:40]  # the 40 nodes nearest to node 0
    got = shortest_paths.group_distances(w.indptr, w.indices, w.data, near, None, "lanes")
    want = dijkstra(w, directed=True, indices=near)[:, near]
    assert np.isfinite(want).all()
    np.testing.assert_array_equal(got, want)


def test_network_weights_take_buckets_and_wide_ranges_the_heap():
    """Link times of a generated network fit in few buckets; 9 orders of magnitude do not."""
    inst = generate("random-geometric", nodes=200, seed=2, requests=1)
    w = tr.link_weights(inst.snapshot, 20.0).time
    nodes = np.arange(0, 200, 5)
    width = shortest_paths.bucket_width(w.indptr, w.indices, w.data, nodes)
    assert width is not None and width > 0
    # Nanoseconds where the search starts, a 1e9 s arc elsewhere: 1e18 buckets of 1 ns.
    wide = csr_matrix(([1e-9, 2e-9, 1e9], ([0, 1, 2], [1, 0, 3])), shape=(4, 4))
    assert shortest_paths.bucket_width(wide.indptr, wide.indices, wide.data, [0, 3]) is None
    got = shortest_paths.group_distances(wide.indptr, wide.indices, wide.data, [0, 2, 3])
    np.testing.assert_array_equal(got, dijkstra(wide, indices=[0, 2, 3])[:, [0, 2, 3]])
    with pytest.raises(InputError):
        shortest_paths.group_distances(wide.indptr, wide.indices, wide.data, [0], None, "buckets")


@pytest.mark.parametrize("method", METHODS)
def test_one_thread_and_many_give_the_same_matrix(method):
    """The split of sources over threads changes no value."""
    import numba

    g = random_graph(400, 2400, 7, method=method)
    nodes = np.arange(0, 400, 2)
    before = shortest_paths.threads()  # first: sets the fork-safe layer before any launch
    try:
        numba.set_num_threads(1)
        single = shortest_paths.group_distances(g.indptr, g.indices, g.data, nodes, None, method)
    finally:
        numba.set_num_threads(before)
    many = shortest_paths.group_distances(g.indptr, g.indices, g.data, nodes, None, method)
    np.testing.assert_array_equal(single, many)


def test_pairwise_uses_the_compiled_path_only_without_money(monkeypatch):
    """Money follows scipy's predecessor trees; times alone take the compiled searches."""
    inst = generate("random-geometric", nodes=80, seed=3, requests=1)
    w = tr.link_weights(inst.snapshot, 10.0)
    assert not w.has_cost and tr.compiled(w)
    monkeypatch.setenv("DAITN_NO_NUMBA", "1")
    assert not tr.compiled(w)
    monkeypatch.delenv("DAITN_NO_NUMBA")
    paid = tr.LinkWeights(w.time, w.time, True)
    assert not tr.compiled(paid)


def test_link_table_is_read_once_per_snapshot_and_matches_the_links():
    """Every view of a snapshot shares one table; another snapshot gets its own, up links only."""
    from tests.drrt.test_view_equivalence import perturbed

    inst = perturbed(generate("random-geometric", nodes=90, seed=6, requests=1), 6)
    snap = inst.snapshot
    table = tr.link_table(snap)
    assert tr.link_table(snap) is table
    index = snap.index()
    up = {n.id for n in snap.nodes if n.up}
    usable = [lk for lk in snap.links if lk.up and lk.source in up and lk.target in up]
    assert len(usable) < len(snap.links)  # the perturbation took some links down
    np.testing.assert_array_equal(table.src, [index[lk.source] for lk in usable])
    np.testing.assert_array_equal(table.dst, [index[lk.target] for lk in usable])
    np.testing.assert_array_equal(table.latency, [lk.latency for lk in usable])
    np.testing.assert_array_equal(table.both, [not lk.directed for lk in usable])
    other = snap.model_copy(update={"links": snap.links[:10]})
    assert len(tr.link_table(other).src) <= 10
    assert tr.link_table(snap) is table


@pytest.mark.parametrize("seed", [0, 1])
def test_compiled_detours_drop_the_same_arcs_as_numpy(seed, monkeypatch):
    """Dominated arcs found by the compiled loop equal those of the vectorised numpy blocks."""
    from tests.drrt.test_view_equivalence import perturbed

    inst = perturbed(generate("random-geometric", nodes=150, seed=seed, requests=1), seed)
    time = tr.link_weights(inst.snapshot, 20.0).time
    compiled = tr._drop_dominated(time)
    monkeypatch.setenv("DAITN_NO_NUMBA", "1")
    plain = tr._drop_dominated(time)
    assert compiled.nnz == plain.nnz < time.nnz
    assert (compiled != plain).nnz == 0
    np.testing.assert_array_equal(compiled.data, plain.data)


def _view_matches(inst, expected, queue) -> None:
    from daitn_opt.drrt.view import build_view

    queue.put(np.array_equal(build_view(inst.snapshot, inst.requests[0]).transfer, expected))


def test_views_from_threads_and_from_a_forked_child():
    """Searches launched from four threads at once take turns; a process forked after one
    parallel search can search too (GNU OpenMP would kill it: the layer is a fork-safe one)."""
    import multiprocessing
    import queue
    import threading

    from daitn_opt.drrt.view import build_view

    inst = generate("random-geometric", nodes=200, seed=8, requests=1)
    expected = build_view(inst.snapshot, inst.requests[0]).transfer
    results: queue.Queue = queue.Queue()
    workers = [
        threading.Thread(target=_view_matches, args=(inst, expected, results)) for _ in range(4)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert [results.get_nowait() for _ in range(4)] == [True] * 4
    ctx = multiprocessing.get_context("fork")
    answers = ctx.Queue()
    child = ctx.Process(target=_view_matches, args=(inst, expected, answers))
    child.start()
    child.join(120)
    assert child.exitcode == 0 and answers.get(timeout=10) is True
