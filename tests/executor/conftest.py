"""Fixtures of the executor tests: the shipped healthcare instance, its views and solved routes."""

from __future__ import annotations

import pytest

from daitn_opt.drrt.instance import Instance
from daitn_opt.drrt.view import View, view
from daitn_opt.executor import SequentialReplay
from daitn_opt.mtrce import check, from_instance
from daitn_opt.registry import solve

REQUEST = "r1"
"""The sequential breast-cancer request of instances/healthcare-small.json (deadline 79 s)."""


@pytest.fixture(scope="session")
def hc_view(healthcare_small: Instance) -> View:
    """The MS-DRRT view of request r1."""
    return view(healthcare_small, REQUEST)


OPTIMAL_R1 = ["owner", "h02", "h07", "h12", "h11", "mpvu"]
"""One of r1's optimal routes (utility 141.324; h11 and h12 may be swapped at equal utility).

Pinned so that the dynamics tests do not depend on which of the tied optima a solver returns;
:func:`optimal_route` checks it against CP-SAT's proved optimum.
"""


@pytest.fixture(scope="session")
def optimal_route(healthcare_small: Instance) -> list[str]:
    """An MTRCE-optimal route of r1: checked feasible, with an exact solver's proved optimum.

    The first of HiGHS and CP-SAT that proves optimality gives the optimum.
    """
    problem = from_instance(healthcare_small, REQUEST)
    results = [solve(problem, s, time_limit=30, seed=0) for s in ("highs", "cpsat")]
    proved = [r for r in results if r.status.value == "optimal"]
    assert proved, [r.summary() for r in results]
    report = check(problem, {"routes": [OPTIMAL_R1]})
    assert report.ok and abs(report.objective - proved[0].objective) < 1e-6
    return list(OPTIMAL_R1)


@pytest.fixture(scope="session")
def replay_r1(healthcare_small: Instance) -> SequentialReplay:
    """A sequential replay of r1 with seed 0 (data built once)."""
    return SequentialReplay(healthcare_small, REQUEST, seed=0)
