"""pytest-benchmark: each constructive heuristic of each problem on a fixed classic instance.

Run with ``.venv/bin/pytest tests/benchmarks/test_heuristics_benchmark.py --benchmark-enable``;
by default (``--benchmark-disable``) each runs once as a plain test. Time-limited searches
(``ils``, ``ls``) use their whole limit by design, so they are benchmarked by their solution
quality at a fixed limit in the sweep scripts, not here. Every solution goes through its checker.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from daitn_opt import mtrce, qirce, solve, tfam
from daitn_opt.drrt.converters import convert

CLASSIC = Path(__file__).resolve().parents[2] / "instances" / "classic"


@pytest.fixture(scope="module")
def op_chao() -> mtrce.Problem:
    """Chao set 64, budget 45 (64 points; optimum 816)."""
    return mtrce.from_instance(convert("op", CLASSIC / "op" / "chao_set_64" / "set_64_1_45.txt"))


@pytest.fixture(scope="module")
def tsp_kroa200() -> mtrce.Problem:
    """TSPLIB kroA200 (optimum 29368)."""
    return mtrce.from_instance(convert("tsplib", CLASSIC / "tsplib" / "kroA200.tsp"))


@pytest.fixture(scope="module")
def mknap() -> tfam.Problem:
    """OR-Library mknapcb1, instance 1 (5 constraints, 100 items; optimum 24381)."""
    return tfam.from_instance(convert("mknap", CLASSIC / "mknap" / "mknapcb1.txt", index=1))


@pytest.fixture(scope="module")
def gap() -> qirce.Problem:
    """OR-Library gapa, instance 1 (5 agents, 100 jobs, minimise; optimum 1698)."""
    return qirce.from_instance(convert("gap", CLASSIC / "gap" / "gapa.txt", sense="min", index=1))


def _run(benchmark, problem, solver, package, **params):
    result = benchmark.pedantic(
        lambda: solve(problem, solver, time_limit=5.0, seed=0, **params), rounds=3, iterations=1
    )
    assert result.is_feasible(), result.message
    report = package.check(problem, result.solution)
    assert report.ok, report.violations
    return result


@pytest.mark.parametrize("solver", ["random", "nearest", "greedy", "aats"])
def test_mtrce_op(benchmark, op_chao, solver):
    result = _run(benchmark, op_chao, solver, mtrce)
    assert 0 < result.objective <= 816


@pytest.mark.parametrize("solver", ["nearest", "greedy"])
def test_mtrce_tsp(benchmark, tsp_kroa200, solver):
    result = _run(benchmark, tsp_kroa200, solver, mtrce)
    assert result.objective >= 29368


@pytest.mark.parametrize("solver", ["fcfs", "greedy"])
def test_tfam_mknap(benchmark, mknap, solver):
    result = _run(benchmark, mknap, solver, tfam)
    assert 0 < result.objective <= 24381


@pytest.mark.parametrize("solver", ["greedy"])
def test_qirce_gap(benchmark, gap, solver):
    result = _run(benchmark, gap, solver, qirce)
    assert result.objective >= 1698
