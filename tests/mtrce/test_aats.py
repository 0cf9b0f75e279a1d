"""AATS: the AI object decides from its neighbourhood and the distance-vector table only.

The locality is tested by handing the network a travel source that records every row it is asked
for: the rows read must belong to the nodes the objects stood on or to nodes within ``hops - 1``
hops of them (to find a node's links one reads that node's own row), and never the whole matrix.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from daitn_opt.errors import UnsupportedError
from daitn_opt.mtrce import Problem, check
from daitn_opt.mtrce.aats import GreedyHopPolicy, MatrixSource, Network, Observation, walk
from daitn_opt.registry import solve
from daitn_opt.result import Status
from tests.mtrce.hand_instances import op5, optw5, top6, tsp5


class RecordingSource(MatrixSource):
    """Counts which rows of the matrix were read and how often the route table was asked for."""

    def __init__(self, travel: np.ndarray, end: int) -> None:
        super().__init__(travel, end)
        self.rows: list[int] = []
        self.tables = 0

    def row(self, u: int) -> np.ndarray:
        self.rows.append(int(u))
        return super().row(u)

    def to_end(self) -> np.ndarray:
        self.tables += 1
        return super().to_end()


def random_op(n: int = 120, seed: int = 1) -> Problem:
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2)) * 100
    t = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    return Problem(
        ids=[f"v{i}" for i in range(n)],
        start=0,
        end=0,
        travel=t,
        service=np.zeros(n),
        utility=np.r_[0, rng.integers(1, 10, n - 1)].astype(float),
        deadline=150.0,
    )


def within(net: Network, sources: set[int], hops: int) -> set[int]:
    """Nodes within ``hops`` hops of ``sources`` (sources included)."""
    reach = set(sources)
    frontier = set(sources)
    for _ in range(hops):
        frontier = {int(w) for v in frontier for w in net.links(v)} - reach
        reach |= frontier
    return reach


@pytest.mark.parametrize("hops", [1, 2, 3])
def test_reads_only_rows_of_its_neighbourhood(hops):
    p = random_op()
    source = RecordingSource(p.travel, p.end)
    net = Network(p, source=source, hops=hops, degree=4)
    routes = walk(p, net, GreedyHopPolicy())
    stood_on = {v for r in routes for v in r[:-1]}
    assert source.tables == 1  # the distance-vector table, once
    allowed = within(Network(p, hops=hops, degree=4), stood_on, hops - 1)
    assert set(source.rows) <= allowed
    assert len(set(source.rows)) < p.n // 2  # nowhere near the full matrix
    report = check(p, {"routes": [[p.ids[v] for v in r] for r in routes]})
    assert report.ok, report.violations
    assert report.objective > 0


def test_observation_is_bounded_by_the_neighbourhood():
    p = random_op()
    seen = []

    class Spy(GreedyHopPolicy):
        def decide(self, obs: Observation) -> int | None:
            seen.append(len(obs.nodes))
            assert obs.to_end.shape == obs.nodes.shape  # distance-vector entries, per node
            return super().decide(obs)

    walk(p, Network(p, hops=2, degree=3), Spy())
    assert seen and max(seen) <= 3 + 3 * 3
    # The policy's only input is the observation.
    params = list(inspect.signature(GreedyHopPolicy.decide).parameters)
    assert params == ["self", "obs"]


def test_radius_neighbourhood():
    p = random_op()
    net = Network(p, hops=1, radius=15.0)
    nbrs = net.neighbourhood(0)
    assert np.all(p.travel[0, nbrs] <= 15.0)
    assert set(nbrs.tolist()) == set(np.flatnonzero(p.travel[0] <= 15.0).tolist()) - {0}


def test_hand_instances_feasible_and_no_better_than_optimum():
    for build in (op5, optw5, top6):
        p, optimum = build()
        result = solve(p, "aats", time_limit=5)
        assert result.status == Status.FEASIBLE
        report = check(p, result.solution)
        assert report.ok, report.violations
        assert result.objective == report.objective <= optimum


def test_op5_local_choice_is_derived_by_hand():
    """op5 with hops 1, degree 2 (each node sees its 2 nearest), derived step by step.

    Positions 0, -2, 1, 3, 4 (u 1, 5, 2, 4, 3), deadline 10; score = u / (time spent + detour),
    detour = how much farther from the end (at 0) the node is. At 0 (clock 0) the two nearest are
    x = 1 (2 / (1 + 1) = 1) and x = -2 (5 / (2 + 2) = 1.25) -> -2, clock 2. At -2 the two nearest
    are 0 (the end itself) and x = 1 (3 away, nearer the end: 2 / 3; finish 2 + 3 + 1 = 6 <= 10)
    -> x = 1, clock 5. At 1 the nearest are 0 and x = 3 (finish 5 + 2 + 3 = 10 <= 10) -> x = 3,
    clock 7. At 3 they are x = 4 (finish 7 + 1 + 4 = 12 > 10) and x = 1 (visited) -> the end.
    Route 0, -2, 1, 3, 0: utility 1 + 5 + 2 + 4 = 12 (here also the optimum).
    """
    p, _ = op5()
    result = solve(p, "aats", time_limit=5, hops=1, degree=2)
    assert result.solution["routes"] == [["n0", "n1", "n2", "n3", "n0"]]
    assert result.objective == 12.0


def test_refuses_visit_all_and_mandatory():
    p, _ = tsp5()
    with pytest.raises(UnsupportedError, match=r"^aats: visit-all"):
        solve(p, "aats")
    q, _ = op5()
    with pytest.raises(UnsupportedError, match=r"^aats: mandatory"):
        solve(q.replace(mandatory=np.array([2])), "aats")


def test_infeasible_direct_trip():
    p, _ = op5()
    q = p.replace(end=4, deadline=3.0)
    result = solve(q, "aats")
    assert result.status == Status.INFEASIBLE and "alone" in result.message


# -- the public hop rule ------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_next_hop_replays_the_walk_of_the_aats_solver(seed):
    """Hop by hop, :func:`next_hop` makes the same choices as the walk of the ``aats`` solver."""
    from daitn_opt.mtrce.aats import HopState, next_hop

    p = random_op(40, seed)
    (route,) = walk(p, Network(p, hops=2, degree=4), GreedyHopPolicy())
    assert len(route) > 3
    here, clock = p.start, float(p.service[p.start])
    visited = [p.start, p.end]
    for nxt in route[1:-1]:
        state = HopState(here=here, clock=clock, visited=tuple(visited))
        assert next_hop(p, state, hops=2, degree=4) == nxt
        clock = clock + float(p.travel[here, nxt]) + float(p.service[nxt])
        visited.append(nxt)
        here = nxt
    assert next_hop(p, HopState(here, clock, tuple(visited)), hops=2, degree=4) is None
