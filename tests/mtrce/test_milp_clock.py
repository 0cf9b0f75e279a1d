"""The CPU clock of ``highs`` (``cpu_limit``): a result on a shared machine means "so many
seconds of solver CPU". A small instance is proved under a CPU budget, the trace is in CPU
seconds, the budget is kept, and a bad budget is refused."""

from __future__ import annotations

import time

import pytest

from daitn_opt.errors import InputError
from daitn_opt.mtrce import check
from daitn_opt.mtrce.milp_cuts import CpuOptions, cpu_options, highs_seconds, wall_remaining
from daitn_opt.registry import SolveOptions, solve
from tests.mtrce.test_milp_op import _chao


def test_a_chao_instance_is_proved_under_a_cpu_limit():
    problem, optimum = _chao("64", "15")
    result = solve(problem, "highs", time_limit=600, cpu_limit=30, seed=0)
    assert result.status.value == "optimal"
    assert result.objective == pytest.approx(optimum)
    assert check(problem, result.solution).ok
    assert result.stats["clock"] == "cpu"
    assert 0 < result.stats["cpu_seconds"] <= 30 + 1
    assert result.trace[-1].time <= result.stats["cpu_seconds"] + 1e-6


def test_the_wall_clock_stays_the_default():
    problem, _ = _chao("64", "15")
    result = solve(problem, "highs", time_limit=60, seed=0)
    assert result.stats["clock"] == "wall"
    assert "cpu_seconds" not in result.stats


def test_a_spent_cpu_budget_stops_the_run_with_the_warm_start_kept():
    """A budget far below what the proof needs: the run stops on the CPU clock with a checked
    route and a valid bound (Chao 66, budget 50, best known 730). HiGHS asks its interrupt
    callback only between steps of its search (in its root cut loop about once a second), so
    the budget may be overrun by that much."""
    problem, best = _chao("66", "050", proven=False)
    result = solve(problem, "highs", time_limit=600, cpu_limit=3, seed=0)
    assert result.is_feasible() and check(problem, result.solution).ok
    assert result.message.startswith("CPU time limit reached")
    assert result.stats["cpu_seconds"] <= 3 + 5
    assert result.objective <= best and (result.bound is None or result.bound >= best)


@pytest.mark.parametrize("bad", [0, -1.0])
def test_a_cpu_limit_that_is_not_positive_is_refused(bad):
    problem, _ = _chao("64", "15")
    with pytest.raises(InputError, match=r"param\.cpu_limit"):
        solve(problem, "highs", time_limit=10, cpu_limit=bad)


def test_cpu_options_count_cpu_seconds_and_keep_the_wall_cap():
    base = SolveOptions(time_limit=7.0, seed=3)
    opts = cpu_options(base, 2.0)
    assert isinstance(opts, CpuOptions) and opts.seed == 3
    assert opts.time_limit == 2.0 and opts.wall_limit == 7.0
    time.sleep(0.2)  # sleeping costs no CPU: the CPU budget is (nearly) untouched
    assert opts.remaining() > 1.9
    assert wall_remaining(opts) < 6.9
    assert highs_seconds(opts) <= wall_remaining(opts)
