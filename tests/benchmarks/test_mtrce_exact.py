"""pytest-benchmark: the highspy and Pyomo builds of a 200-node MTRCE model, and exact solves.

Run with ``.venv/bin/pytest tests/benchmarks/test_mtrce_exact.py --benchmark-enable -m ''``;
without it (the project default) each function runs once as a plain test. No time is asserted:
``tests/benchmarks/run_mtrce_exact.py`` prints the figures (build ratio, TSPLIB, OP, TOP).
"""

from __future__ import annotations

import highspy
import numpy as np
import pytest

from daitn_opt.drrt.metrics import distance_matrix
from daitn_opt.mtrce import Problem, check
from daitn_opt.mtrce.milp import _pass_model, build_model
from daitn_opt.mtrce.pyomo_model import build_pyomo, translate
from daitn_opt.registry import solve
from daitn_opt.result import Status
from tests.benchmarks.mtrce_files import tsplib_optima, tsplib_problem


def _tsp(n: int) -> Problem:
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1000, n), rng.uniform(0, 1000, n)
    return Problem(
        ids=[str(i) for i in range(n)], start=0, end=0, travel=distance_matrix(x, y, "EUC_2D"),
        service=np.zeros(n), utility=np.zeros(n), mandatory=np.arange(1, n), objective="min_time",
    )  # fmt: skip


def test_highspy_build_200(benchmark):
    """build_model + passModel of a 200-city TSP: 19,900 edge columns (+ y, z) from numpy arrays."""
    problem = _tsp(200)

    def build():
        model = build_model(problem)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        _pass_model(h, model)
        return h

    h = benchmark(build)
    assert h.getNumCol() == 200 * 199 // 2 + 199 + 1  # edges, y of the customers, z


@pytest.mark.slow
def test_pyomo_build_and_translate_200(benchmark):
    """The same model through Pyomo (build + appsi_highs translation): seconds, not ms."""
    problem = _tsp(200)
    backend = benchmark.pedantic(
        lambda: translate(build_pyomo(problem), "appsi_highs"), rounds=1, iterations=1
    )
    assert backend.persistent


@pytest.mark.slow
@pytest.mark.parametrize("name", ["eil51", "st70", "rd100", "lin105", "pr107"])
def test_tsplib_proved_within_a_minute(benchmark, name):
    """Mid-size TSPLIB instances proved optimal at the published length (limit 60 s)."""
    problem = tsplib_problem(name)
    result = benchmark.pedantic(
        lambda: solve(problem, "highs", time_limit=60.0), rounds=1, iterations=1
    )
    assert check(problem, result.solution).ok
    assert result.objective == tsplib_optima()[name]
    assert result.status == Status.OPTIMAL
