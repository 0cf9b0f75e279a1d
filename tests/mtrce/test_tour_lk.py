"""The LK + or-opt tour search (daitn_opt.mtrce.lk): checked tours, optima, determinism, and the
plain-Python path giving the same tours as the compiled one.

Quality is asserted at a fixed number of kicks (never a wall-clock limit); the compiled path
needs numba (an optional extra), so the tests that run thousands of kicks skip without it.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

from daitn_opt.drrt.converters import convert
from daitn_opt.errors import InputError
from daitn_opt.mtrce import check, from_instance, lk, tour_repair
from daitn_opt.mtrce.plan import Arrays
from daitn_opt.mtrce.tour import farthest_insertion, ils_tour, neighbour_lists, path_length
from daitn_opt.registry import solve

CLASSIC = Path(__file__).resolve().parents[2] / "instances" / "classic"
compiled = pytest.mark.skipif(not lk.HAVE_NUMBA, reason="numba not installed (optional)")


def euclidean(n: int, seed: int) -> np.ndarray:
    xy = np.random.default_rng(seed).random((n, 2)) * 100
    return np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))


def held_karp(t: np.ndarray, s: int, e: int) -> float:
    """Shortest path s -> every node -> e (s == e: shortest tour), by dynamic programming."""
    n = t.shape[0]
    inner = [v for v in range(n) if v not in (s, e)]
    best = {(1 << i, i): t[s, v] for i, v in enumerate(inner)}
    for size in range(2, len(inner) + 1):
        for subset in itertools.combinations(range(len(inner)), size):
            mask = sum(1 << i for i in subset)
            for j in subset:
                prev = mask ^ (1 << j)
                best[mask, j] = min(best[prev, i] + t[inner[i], inner[j]] for i in subset if i != j)
    full = (1 << len(inner)) - 1
    return min(best[full, i] + t[inner[i], e] for i in range(len(inner)))


def assert_path(path: np.ndarray, s: int, e: int, nodes: np.ndarray) -> None:
    assert path[0] == s and path[-1] == e
    inner = path[1:-1]
    assert sorted(inner.tolist()) == sorted(set(nodes.tolist()) - {s, e})


def pure_lk():
    """lk.py loaded a second time with numba hidden: its plain-Python path."""
    spec = importlib.util.spec_from_file_location("lk_pure", lk.__file__)
    module = importlib.util.module_from_spec(spec)
    saved = sys.modules.get("numba")
    sys.modules["numba"] = None  # makes `from numba import njit` raise ImportError
    try:
        spec.loader.exec_module(module)
    finally:
        if saved is None:
            del sys.modules["numba"]
        else:
            sys.modules["numba"] = saved
    assert not module.HAVE_NUMBA
    return module


@pytest.mark.parametrize("ends", [(0, 0), (0, 5)])
def test_improve_keeps_the_ends_and_every_node_and_never_lengthens(ends):
    s, e = ends
    t = euclidean(40, 3)
    nodes = np.arange(40)
    rng = np.random.default_rng(0)
    inner = rng.permutation(np.setdiff1d(nodes, [s, e]))
    path = np.r_[s, inner, e]
    nbrs = neighbour_lists(t, nodes, 8)
    better = lk.improve(t, path, nbrs)
    assert_path(better, s, e, nodes)
    assert path_length(t, better) < 0.6 * path_length(t, path)


def test_nodes_off_the_route_are_left_off():
    """An orienteering route: neighbour lists over the whole graph, the route a subset."""
    t = euclidean(30, 4)
    route = np.r_[0, np.random.default_rng(1).permutation(np.arange(1, 15)), 0]
    nbrs = neighbour_lists(t, np.arange(30), 10)
    better = lk.improve(t, route, nbrs)
    assert_path(better, 0, 0, route)
    assert path_length(t, better) <= path_length(t, route)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ends", [(0, 0), (0, 1)])
def test_ils_finds_the_optimum_of_small_instances(seed, ends):
    s, e = ends
    t = euclidean(11, seed)
    nodes = np.arange(11)
    start = farthest_insertion(t, s, e, np.setdiff1d(nodes, [s, e]))
    nbrs = neighbour_lists(t, nodes, 10)
    best, done = lk.ils(t, start, nbrs, np.random.default_rng(seed), lambda: False, 300)
    assert done == 300
    assert_path(best, s, e, nodes)
    assert path_length(t, best) == pytest.approx(held_karp(t, s, e))


def test_plain_python_path_gives_the_compiled_tours():
    """Same seed, same kicks: the fallback without numba is the same algorithm."""
    t = euclidean(25, 7)
    nodes = np.arange(25)
    start = farthest_insertion(t, 0, 0, nodes[1:])
    nbrs = neighbour_lists(t, nodes, 6)
    pure = pure_lk()
    a, _ = lk.ils(t, start, nbrs, np.random.default_rng(3), lambda: False, 40)
    b, _ = pure.ils(t, start, nbrs, np.random.default_rng(3), lambda: False, 40)
    assert a.tolist() == b.tolist()


def test_ils_is_deterministic_for_a_seed_and_stops_when_told():
    t = euclidean(60, 2)
    start = farthest_insertion(t, 0, 0, np.arange(1, 60))
    nbrs = neighbour_lists(t, np.arange(60), 8)
    runs = [lk.ils(t, start, nbrs, np.random.default_rng(5), lambda: False, 500) for _ in range(2)]
    assert runs[0][0].tolist() == runs[1][0].tolist()
    calls = iter(range(100))
    _, done = lk.ils(t, start, nbrs, np.random.default_rng(5), lambda: next(calls) >= 2, 10**9)
    assert 0 < done < 10**9


def tsplib(name: str) -> Arrays:
    return Arrays.of(from_instance(convert("tsplib", CLASSIC / "tsplib" / f"{name}.tsp")))


@compiled
@pytest.mark.parametrize(
    ("name", "optimum", "kicks"), [("berlin52", 7542, 20_000), ("st70", 675, 20_000)]
)
def test_ils_reaches_tsplib_optima(name, optimum, kicks):
    arr = tsplib(name)
    start = farthest_insertion(arr.t, arr.s, arr.e, arr.customers)
    best, done = ils_tour(arr.t, start, np.random.default_rng(0), lambda: False, kicks)
    assert done == kicks
    assert_path(best, arr.s, arr.e, np.arange(arr.n))
    assert path_length(arr.t, best) == optimum


@compiled
def test_ils_solver_tour_is_checked_and_within_half_a_percent_of_kroA100():
    inst = convert("tsplib", CLASSIC / "tsplib" / "kroA100.tsp")
    problem = from_instance(inst)
    result = solve(problem, "ils", seed=0, iterations=20_000, patience=20_000)
    assert check(problem, result.solution).ok
    assert result.objective <= 1.005 * 21282


def test_ils_tour_engines_both_give_checked_tours_and_a_bad_name_is_refused():
    t = euclidean(30, 9)
    start = farthest_insertion(t, 0, 3, np.arange(1, 30)[np.arange(1, 30) != 3])
    for engine in ("2opt", "auto"):
        best, _ = ils_tour(t, start, np.random.default_rng(0), lambda: False, 30, engine=engine)
        assert_path(best, 0, 3, np.arange(30))
        assert path_length(t, best) <= path_length(t, start)
    with pytest.raises(InputError):
        ils_tour(t, start, np.random.default_rng(0), lambda: False, 30, engine="3opt")
    asymmetric = t + np.triu(np.ones_like(t))
    with pytest.raises(InputError):
        ils_tour(asymmetric, start, np.random.default_rng(0), lambda: False, 30, engine="lk")


def test_tour_repair_improvers_keep_every_node_and_the_path_ends():
    t = euclidean(40, 11)
    rng = np.random.default_rng(2)
    tour = rng.permutation(40).tolist()
    better = tour_repair.two_opt(t, tour)
    assert sorted(better) == list(range(40))
    closed = [*tour, tour[0]]
    assert path_length(t, np.array([*better, better[0]])) < path_length(t, np.array(closed))
    path = [0, *rng.permutation(np.arange(1, 39)).tolist(), 39]
    shorter = tour_repair.two_opt_path(t, path)
    assert_path(np.array(shorter), 0, 39, np.arange(40))
    assert path_length(t, np.array(shorter)) < path_length(t, np.array(path))
