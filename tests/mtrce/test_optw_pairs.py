"""Window pairs (:mod:`daitn_opt.mtrce.optw_pairs`): derived by hand, and never violated by a
feasible route."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from daitn_opt.drrt.converters import convert
from daitn_opt.mtrce import from_instance
from daitn_opt.mtrce.cpsat_model import _arcs
from daitn_opt.mtrce.heuristics import eligible
from daitn_opt.mtrce.integer_data import integer_times
from daitn_opt.mtrce.optw_pairs import shortest_transit, window_pairs
from daitn_opt.mtrce.optw_search import OptwSearch
from daitn_opt.mtrce.plan import Arrays, RouteTimes

OPTW = Path(__file__).resolve().parents[2] / "instances" / "classic" / "optw"


def test_shortest_transit_goes_around_a_missing_or_long_arc():
    t = np.array([[0, 5, 1], [5, 0, -1], [1, 1, 0]])  # 1 -> 2 missing, 0 -> 1 via 2 is 2
    sp = shortest_transit(t)
    assert sp[0, 1] == 2
    assert sp[1, 2] == 6  # 1 -> 0 -> 2
    assert sp[2, 0] == 1


def test_pairs_by_hand():
    """Depot 0; 1 opens [0, 2], 2 opens [10, 12], 3 opens [0, 1]; every transit 3.

    1 -> 2: 0 + 3 <= 12 fits, 2 -> 1: 10 + 3 > 2 does not: ordered (1, 2) with gap 3.
    1 and 3: 0 + 3 > 1 and 0 + 3 > 2: apart. 3 -> 2 only: ordered (3, 2).
    """
    t = np.full((4, 4), 3)
    np.fill_diagonal(t, 0)
    earliest = np.array([0, 0, 10, 0])
    latest = np.array([100, 2, 12, 1])
    active = np.array([False, True, True, True])
    found = window_pairs(t, earliest, latest, active)
    assert found.apart.tolist() == [[1, 3]]
    assert sorted(map(tuple, found.ordered.tolist())) == [(1, 2), (3, 2)]
    assert found.gap.tolist() == [3.0, 3.0]


def test_a_feasible_solomon_route_keeps_every_pair():
    """r101's route from the OPTW search (198, the proved optimum) against the model's pairs."""
    problem = from_instance(convert("optw", OPTW / "solomon_100" / "r101.txt"))
    arr = Arrays.of(problem)
    route = OptwSearch(arr, eligible(arr), np.random.default_rng(0), lambda: False).run(30, 30)
    times = RouteTimes(arr, route)
    assert times.feasible
    it = integer_times(problem, None, up=False)
    arcs = _arcs(problem, it, None)
    active = np.zeros(arcs.m, dtype=bool)
    active[1:] = ~arcs.unreachable[1:]
    found = window_pairs(arcs.transit, arcs.earliest, arcs.latest, active)
    assert len(found.apart) > 100  # narrow windows: many pairs
    where = {int(v): p for p, v in enumerate(arcs.nodes)}
    pos = {where[v]: k for k, v in enumerate(route[1:-1], start=1)}
    start = {where[v]: times.start[k] for k, v in enumerate(route[1:-1], start=1)}
    assert not any(i in pos and j in pos for i, j in found.apart.tolist())
    for (i, j), gap in zip(found.ordered.tolist(), found.gap.tolist(), strict=True):
        if i in pos and j in pos:
            assert pos[i] < pos[j]
            assert start[j] - start[i] >= gap / it.scale - 1e-6


def test_cpsat_with_window_pairs_still_proves_the_hand_optimum():
    from daitn_opt.registry import solve
    from daitn_opt.result import Status

    from .hand_instances import optw5

    problem, optimum = optw5()
    result = solve(problem, "cpsat", time_limit=20, workers=2, window_pairs=True)
    assert result.status == Status.OPTIMAL
    assert result.objective == optimum
