"""Branch and cut in Python (``highs`` with ``search="cuts"``, :mod:`daitn_opt.mtrce.milp_branch`):
the same proved optima as HiGHS's own search, on random, Tsiligirides and Chao orienteering
instances (routes through the checker); the objective step and the cut purge."""

from __future__ import annotations

import numpy as np
import pytest

from daitn_opt.errors import InputError
from daitn_opt.mtrce import check
from daitn_opt.mtrce import milp_cuts as mc
from daitn_opt.mtrce.milp import build_model
from daitn_opt.mtrce.milp_branch import branch_phase, purge
from daitn_opt.registry import SolveOptions, solve
from daitn_opt.result import Status
from tests.mtrce.test_milp_op import _chao
from tests.mtrce.test_milp_rcfix import _random_op, _tsiligirides, root_loop

CASES = [
    pytest.param(lambda: _tsiligirides(15), id="tsiligirides1-15"),
    *(pytest.param(lambda s=s: _random_op(s, path=s % 2 == 1), id=f"random-{s}") for s in range(6)),
    pytest.param(lambda: _chao("66", "015")[0], id="chao66-015", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("search", ["cuts", "auto"])
@pytest.mark.parametrize("make", CASES)
def test_branch_and_cut_proves_the_optimum_highs_proves(make, search):
    """The opt-in tree searches (the Python branch and cut, alone or after HiGHS's search) prove
    the optimum the default (HiGHS's search) proves, with reduced-cost fixing on."""
    problem = make()
    ref = solve(problem, "highs", time_limit=60, seed=0)
    ours = solve(problem, "highs", time_limit=60, seed=0, search=search, rc_fixing=True)
    assert ref.status == Status.OPTIMAL and ours.status == Status.OPTIMAL
    assert check(problem, ours.solution).ok
    assert ours.objective == pytest.approx(ref.objective)


def test_branch_and_cut_from_no_incumbent_finds_and_proves_the_optimum():
    """No warm start and no rc fixing: the tree alone finds the route and closes the gap."""
    problem = _random_op(3, path=True)
    ref = solve(problem, "highs", time_limit=60, seed=0)
    ours = solve(
        problem, "highs", time_limit=60, seed=0, search="cuts", warm_start_solver=None,
        rc_fixing=False,
    )  # fmt: skip
    assert ours.status == Status.OPTIMAL and check(problem, ours.solution).ok
    assert ours.objective == pytest.approx(ref.objective)
    assert ours.stats["bc_nodes"] >= 1


def test_an_unknown_search_is_refused():
    problem = _random_op(0)
    with pytest.raises(InputError, match=r"param\.search"):
        solve(problem, "highs", time_limit=5, search="dfs")


def test_the_objective_step_is_the_gcd_of_the_scores():
    problem = _random_op(0)
    assert build_model(problem).objective_step == 1.0
    five = problem.replace(utility=5.0 * problem.utility)
    assert build_model(five).objective_step == 5.0
    run = mc.CutRun(build_model(five), SolveOptions(time_limit=5.0))
    run.tighten(214.9)  # a bound of 214.9 proves 210 when every value is a multiple of 5
    assert run.bound == 210.0


def test_purge_drops_slack_cut_rows_and_forgets_their_keys():
    h, run, model = root_loop(_random_op(1))
    h.run()  # the LP with every cut, solved
    before = h.getNumRow()
    bound = h.getInfo().objective_function_value
    gone = purge(h, run)
    assert h.getNumRow() == before - gone == model.num_row
    assert set(run.row_keys) == run.cut_keys
    h.run()
    assert h.getInfo().objective_function_value == pytest.approx(bound, abs=1e-6)
    assert np.isfinite(bound)


def test_branch_phase_alone_closes_a_small_instance():
    problem = _random_op(2)
    h, run, _ = root_loop(problem)
    branch_phase(h, run)
    assert run.closed() and run.best is not None
    ref = solve(problem, "highs", time_limit=60, seed=0)
    assert run.best_value == pytest.approx(ref.objective)
