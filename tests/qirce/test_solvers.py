"""Every registered QIRCE solver on small seeded synthetic instances: checked, and compared with
the exact optimum (brute force where the instance is small enough). The solvers come from the
registry (:mod:`tests.qirce.registered`)."""

from __future__ import annotations

import numpy as np
import pytest

from daitn_opt.qirce import check, from_instance
from daitn_opt.qirce.synthetic import synthetic_instance
from daitn_opt.registry import solve, solvers

from .hand_instances import brute_force_single_source
from .registered import DEFAULT_SOLVER, EXACT, handling


def test_registered():
    """The six QIRCE solvers are registered, three of them exact."""
    specs = solvers("qirce")["qirce"]
    assert set(specs) >= {"highs", "cpsat", "pyomo", "nearest", "greedy", "ls"}
    assert {n for n, s in specs.items() if s.exact} >= {"highs", "cpsat", "pyomo"}


@pytest.fixture(scope="module", params=[0, 1, 2])
def small(request):
    """3 users, 3 models, 2 MDFPs: at most 9 demands, small enough to enumerate."""
    inst = synthetic_instance(users=3, models=3, facilities=2, seed=request.param)
    return from_instance(inst)


def test_single_source_against_brute_force(small):
    """Exact solvers equal the enumerated optimum; heuristics are feasible and never better."""
    p = small.replace(single_source=True)
    best = brute_force_single_source(p)
    for name in handling(p):
        r = solve(p, name, time_limit=10, seed=1)
        if best is None:
            assert r.status.value in ("infeasible", "no_solution"), name
            continue
        if not r.status.has_solution:
            assert name not in (*EXACT, DEFAULT_SOLVER), name
            continue
        rep = check(p, r.solution).compare_objective(r.objective)
        assert rep.ok, (name, rep.violations)
        if name in EXACT:
            assert r.status.value == "optimal" and r.objective == pytest.approx(best, rel=1e-6)
        else:
            assert r.objective >= best - 1e-6


def test_admit_mode_against_brute_force(small):
    """Q-FAM admission with a scarce capacity: the exact optimum is the enumerated one."""
    p = small.replace(single_source=True, mode="admit", capacity=small.capacity * 0.4)
    best = brute_force_single_source(p)
    for name in handling(p):
        r = solve(p, name, time_limit=10)
        rep = check(p, r.solution).compare_objective(r.objective)
        assert rep.ok, (name, rep.violations)
        if name in EXACT:
            assert r.objective == pytest.approx(best, rel=1e-6), name
        else:
            assert r.objective <= best + 1e-6
        for refusal in r.solution["refused"]:
            assert refusal["reason"]


def test_splittable_exact_solvers_agree_and_bound_single_source(small):
    """Splittable optimum (every exact solver that routes splittably agrees: HiGHS = Pyomo) is
    at most the single-source one."""
    exact = [solve(small, name, time_limit=10) for name in handling(small, EXACT)]
    assert len(exact) >= 2
    a = exact[0]
    if a.status.value == "infeasible":
        assert {r.status.value for r in exact} == {"infeasible"}
        return
    for r in exact:
        assert r.objective == pytest.approx(a.objective, rel=1e-6), r.solver
        assert check(small, r.solution).compare_objective(r.objective).ok
    ss = solve(small.replace(single_source=True), "highs", time_limit=10)
    if ss.status.has_solution:
        assert a.objective <= ss.objective + 1e-6
    ls = solve(small, "ls", time_limit=5)
    assert check(small, ls.solution).compare_objective(ls.objective).ok
    assert ls.objective >= a.objective - 1e-6


def test_cpsat_refuses_splittable(small):
    """CP-SAT has no continuous variables: splittable routing is an UnsupportedError."""
    from daitn_opt.errors import UnsupportedError

    with pytest.raises(UnsupportedError, match="cpsat: splittable"):
        solve(small.replace(single_source=False), "cpsat")


def test_medium_synthetic_heuristics_near_exact():
    """60 users, 8 models, 12 MDFPs (splittable, memory binding): ls within 5 % of HiGHS's
    optimum; every solution checks out; warm start recorded."""
    p = from_instance(synthetic_instance(users=60, models=8, facilities=12, seed=4))
    exact = solve(p, "highs", time_limit=30)
    assert exact.status.value == "optimal"
    assert exact.stats["warm_start"] is not None
    assert check(p, exact.solution).compare_objective(exact.objective).ok
    ls = solve(p, "ls", time_limit=3)
    assert check(p, ls.solution).compare_objective(ls.objective).ok
    assert exact.objective <= ls.objective <= exact.objective * 1.05
    assert ls.bound is not None and ls.bound <= exact.objective + 1e-6


def test_warm_start_from_initial():
    """A given initial solution is used as the first incumbent."""
    p = from_instance(synthetic_instance(users=10, models=3, facilities=4, seed=5))
    first = solve(p, "greedy", time_limit=5)
    if not first.status.has_solution:
        pytest.skip("greedy found nothing to start from on this seed")
    r = solve(p, "highs", time_limit=10, initial=first.solution)
    assert r.trace[0].incumbent == pytest.approx(first.objective)
    assert r.objective <= first.objective + 1e-9


def test_synthetic_generator_is_seeded():
    """Same seed, same instance; bad sizes are InputErrors."""
    from daitn_opt.errors import InputError

    a = synthetic_instance(users=5, models=2, facilities=3, seed=9)
    b = synthetic_instance(users=5, models=2, facilities=3, seed=9)
    assert a.model_dump() == b.model_dump()
    with pytest.raises(InputError, match="users"):
        synthetic_instance(users=0, models=2, facilities=3)
    p = from_instance(a)
    assert np.all(p.arc_latency <= p.slo_ms[p.arc_demand] + 1e-9)


def test_a_model_that_cannot_run_in_time_returns_the_heuristic_and_says_why(monkeypatch):
    """Pyomo refuses a model it cannot build in the time left (estimate from its size); with no
    warm start asked for, the skeleton's rescue gives the time left to the heuristic, so the run
    returns a checked solution and the reason instead of nothing. The build estimate is inflated
    so that the refusal does not depend on the machine's speed, and the heuristic has time."""
    from daitn_opt import budget
    from daitn_opt.result import Status

    monkeypatch.setattr(budget, "PYOMO_SECONDS_PER_TERM", 1.0)
    # Splittable: the heuristic finds a solution of this instance in well under a second (the
    # single-source variant's heuristic finds none within 9 s).
    p = from_instance(synthetic_instance(users=300, models=10, facilities=40, seed=0))
    r = solve(p, "pyomo", time_limit=4.0, warm_start=False)
    assert "building the Pyomo model" in r.message
    assert r.status is Status.FEASIBLE and "returning the warm start" in r.message
    assert r.stats["warm_start"] == pytest.approx(r.objective)
    assert check(p, r.solution).compare_objective(r.objective).ok


def test_the_package_exposes_the_problem_kind_contract():
    """DEFAULT_SOLVER is registered and make_result is the one result builder."""
    from daitn_opt import qirce
    from daitn_opt.qirce import solution

    assert qirce.DEFAULT_SOLVER in solvers("qirce")["qirce"]
    assert qirce.make_result is solution.make_result
    p = from_instance(synthetic_instance(users=3, models=2, facilities=2, seed=1))
    empty = qirce.make_result(p, "mine", None, message="nothing")
    assert empty.status.value == "no_solution" and empty.sense == p.sense == "min"
