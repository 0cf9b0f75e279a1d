"""T-FAM admission: every solver through the independent checker, optima against brute force."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from daitn_opt import InputError, solve
from daitn_opt.drrt.instance import parse_instance
from daitn_opt.tfam import build, check, from_instance

from .helpers import EXACT, HEURISTICS, brute_force, knapsack, random_problem


@pytest.mark.parametrize("solver", EXACT + HEURISTICS)
def test_every_solver_is_checked_on_the_hand_knapsack(solver):
    """Each solver's admission passes the checker and its claimed objective is the recomputed one."""
    problem = knapsack()
    result = solve(problem, solver, time_limit=5)
    report = check(problem, result.solution).compare_objective(result.objective)
    assert result.status.has_solution and report.ok, report.violations


@pytest.mark.parametrize("solver", EXACT)
def test_exact_solvers_prove_the_hand_optimum(solver):
    result = solve(knapsack(), solver, time_limit=5)
    assert result.status.value == "optimal"
    assert result.objective == 18.0 and result.bound == pytest.approx(18.0)
    assert result.solution["admitted"] == {"i1": 0, "i2": 0, "i3": 0}
    assert result.solution["refused"] == ["i0"]


def test_fcfs_and_greedy_make_the_documented_choices():
    """FCFS admits in arrival order (17); greedy by value density stops at 15; ls finds 18."""
    assert solve(knapsack(), "fcfs").solution["admitted"] == {"i0": 0, "i1": 0}
    assert solve(knapsack(), "greedy").objective == 15.0
    assert solve(knapsack(), "ls", time_limit=3).objective == 18.0


@pytest.mark.parametrize("seed", range(12))
def test_exact_solvers_match_brute_force_on_random_batches(seed):
    problem = random_problem(seed)
    optimum = brute_force(problem)
    for solver in EXACT:
        result = solve(problem, solver, time_limit=10)
        assert result.status.value == "optimal", (solver, result.message)
        assert result.objective == pytest.approx(optimum), solver
        assert check(problem, result.solution).ok
    for solver in HEURISTICS:
        result = solve(problem, solver, time_limit=1)
        assert check(problem, result.solution).compare_objective(result.objective).ok
        assert result.objective <= optimum + 1e-9


def test_must_admit_changes_the_optimum():
    problem = knapsack(must=(0,))
    for solver in EXACT + HEURISTICS:
        result = solve(problem, solver, time_limit=5)
        assert "i0" in result.solution["admitted"], solver
        assert check(problem, result.solution).ok
    assert solve(problem, "highs", time_limit=5).objective == 17.0


def test_must_admit_over_capacity_is_infeasible_naming_the_requests():
    """Items 0, 1, 2 weigh 12 > 9: every solver says infeasible and names them (not item 3)."""
    problem = knapsack(must=(0, 1, 2))
    for solver in EXACT + HEURISTICS:
        result = solve(problem, solver, time_limit=5)
        assert result.status.value == "infeasible", solver
        for name in ("i0", "i1", "i2"):
            assert name in result.message
        assert "i3" not in result.message


def test_must_admit_conflict_without_a_single_overloaded_resource():
    """Three must-admit requests, each fitting either of two unit resources: no resource alone is
    over-subscribed by their minimum use, yet they cannot all fit. The deletion filter names the
    three, not the unrelated must-admit request on a third resource."""
    use = np.array(
        [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float
    )
    problem = build(
        ["a", "b", "c", "d"],
        np.array([0, 0, 1, 1, 2, 2, 3]),
        np.ones(7),
        csr_matrix(use),
        np.ones(3),
        must_admit=np.ones(4, dtype=bool),
    )
    for solver in EXACT:
        result = solve(problem, solver, time_limit=10)
        assert result.status.value == "infeasible"
        assert "['a', 'b', 'c']" in result.message, result.message


def test_multiple_choice_knapsack_through_an_instance_file():
    """Three classes of three items, one knapsack of capacity 10 (multiple-choice knapsack).

    Class A: (value 6, weight 5), (4, 3), (1, 1); class B: (5, 4), (3, 2), (2, 1);
    class C: (7, 6), (4, 4), (1, 2). Optimum 13: C's first, A's second and B's third items
    (weights 6 + 3 + 1 = 10); with C's second item at most 4 + 6 + 2 = 12, with C's third at
    most 1 + 9 = 10, without C 6 + 5 = 11.
    """
    classes = {
        "A": [(6, 5), (4, 3), (1, 1)],
        "B": [(5, 4), (3, 2), (2, 1)],
        "C": [(7, 6), (4, 4), (1, 2)],
    }
    doc = {
        "name": "mckp",
        "snapshot": {"nodes": []},
        "admission": {
            "resources": [{"id": "knapsack", "capacity": 10}],
            "requests": [
                {"id": k, "plans": [{"value": v, "use": {"knapsack": w}} for v, w in items]}
                for k, items in classes.items()
            ],
        },
    }
    problem = from_instance(parse_instance(doc))
    assert (problem.n_requests, problem.n_plans, problem.n_resources) == (3, 9, 1)
    optimum = brute_force(problem)
    assert optimum == 13.0
    for solver in EXACT:
        result = solve(problem, solver, time_limit=5)
        assert result.objective == optimum and check(problem, result.solution).ok
        assert result.solution["admitted"] == {"A": 1, "B": 2, "C": 0}


def test_ls_is_deterministic_for_a_seed():
    problem = random_problem(3, requests=30, resources=6)
    a = solve(problem, "ls", time_limit=60, seed=7, iterations=20)
    b = solve(problem, "ls", time_limit=60, seed=7, iterations=20)
    assert a.solution == b.solution


def test_warm_start_from_the_optimum_is_kept():
    problem = knapsack()
    initial = {"admitted": {"i1": 0, "i2": 0, "i3": 0}}
    result = solve(problem, "highs", time_limit=5, initial=initial, warm_start=False)
    assert result.objective == 18.0
    assert result.trace[0].incumbent == 18.0


# -- checker -------------------------------------------------------------------------------------
def test_checker_finds_each_violation():
    problem = knapsack(must=(3,))
    report = check(problem, {"admitted": {"i0": 0, "i1": 0, "zz": 0, "i2": 4}, "refused": ["i0"]})
    text = "\n".join(report.violations)
    assert "'zz' is not in the batch" in text
    assert "plan 4 out of range" in text
    assert "both admitted and refused" in text
    assert "must-admit request 'i3' is not admitted" in text


def test_checker_capacity_and_objective():
    problem = knapsack()
    over = check(problem, {"admitted": {"i0": 0, "i1": 0, "i2": 0}, "refused": ["i3"]})
    assert any("resource 'w' over capacity: 12 > 9" in v for v in over.violations)
    ok = check(problem, {"admitted": {"i1": 0, "i2": 0, "i3": 0}, "refused": ["i0"]})
    assert ok.ok and ok.objective == 18.0
    assert not ok.compare_objective(19.0).ok


# -- bad input -----------------------------------------------------------------------------------
def test_negative_use_is_one_input_error():
    with pytest.raises(InputError, match=r"requests\['b'\]\.plans\[0\]\.use\['k1'\]"):
        build(
            ["a", "b"],
            np.array([0, 1]),
            np.ones(2),
            csr_matrix(np.array([[1.0, 0], [0, -2.0]])),
            np.ones(2),
        )
    doc = {
        "name": "bad",
        "snapshot": {"nodes": []},
        "admission": {
            "resources": [{"id": "k", "capacity": 3}],
            "requests": [{"id": "a", "plans": [{"value": 1, "use": {"k": -1}}]}],
        },
    }
    with pytest.raises(InputError, match="use"):
        parse_instance(doc)


def test_zero_capacity_everywhere_is_one_input_error():
    with pytest.raises(InputError, match="zero for every resource"):
        build(["a"], np.array([0]), np.ones(1), csr_matrix(np.ones((1, 2))), np.zeros(2))


def test_plan_naming_an_unknown_resource_is_rejected():
    doc = {
        "name": "bad",
        "snapshot": {"nodes": []},
        "admission": {
            "resources": [{"id": "k", "capacity": 3}],
            "requests": [{"id": "a", "plans": [{"value": 1, "use": {"q": 1}}]}],
        },
    }
    with pytest.raises(InputError, match="not a resource id"):
        parse_instance(doc)


@pytest.mark.parametrize("seed", range(8))
def test_lagrangian_bound_is_a_valid_upper_bound(seed):
    from daitn_opt.tfam.bounds import lagrangian_bound

    problem = random_problem(seed, requests=6)
    optimum = brute_force(problem)
    bound = lagrangian_bound(problem, lower=0.0, iterations=200)
    trivial = float(sum(max(problem.value[p] for p in problem.plans_of(r)) for r in range(6)))
    assert optimum - 1e-9 <= bound <= trivial + 1e-9
