"""Fixtures of the executor tests: the shipped healthcare instance, its views and solved routes."""

from __future__ import annotations

import pytest

from daitn_opt.drrt.instance import Instance
from daitn_opt.drrt.view import View, view
from daitn_opt.executor import SequentialReplay
from daitn_opt.mtrce import from_instance
from daitn_opt.registry import solve

REQUEST = "r1"
"""The sequential breast-cancer request of instances/healthcare-small.json (deadline 79 s)."""


@pytest.fixture(scope="session")
def hc_view(healthcare_small: Instance) -> View:
    """The MS-DRRT view of request r1."""
    return view(healthcare_small, REQUEST)


@pytest.fixture(scope="session")
def optimal_route(healthcare_small: Instance) -> list[str]:
    """The MTRCE-optimal route of r1 (CP-SAT, proved optimal)."""
    result = solve(from_instance(healthcare_small, REQUEST), "cpsat", time_limit=20, seed=0)
    assert result.status.value == "optimal", result.summary()
    return result.solution["routes"][0]


@pytest.fixture(scope="session")
def replay_r1(healthcare_small: Instance) -> SequentialReplay:
    """A sequential replay of r1 with seed 0 (data built once)."""
    return SequentialReplay(healthcare_small, REQUEST, seed=0)
