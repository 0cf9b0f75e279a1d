"""Conformance of every registered solver of every problem kind, driven by the registry.

The solver list comes from :func:`daitn_opt.registry.solvers`, so a solver registered later (also a
third party's, through the entry-point group or ``DAITN_OPT_SOLVER_MODULES``) is covered without
editing this file; so is a problem kind added from outside, on the examples its package's optional
``examples()`` hook returns (name -> problem, or (problem, proven optimum)). On small instances of
each built-in kind (hand-checkable ones, shipped classic benchmarks converted in-process, the
generated ``healthcare-small``), every run must:

- pass the problem's independent checker, with the claimed objective equal to the recomputed one;
- say ``optimal`` only with ``gap <= 1e-6``, and report the problem's sense;
- have its bound on the correct side of the objective (min: bound <= objective; max: bound >=
  objective), and no defect recorded by the result contract (``Result.contract_violations``);
- never beat a proven optimum, and match it when it says ``optimal``;
- give the same result (status, objective, solution) for the same seed.

A solver whose ``supports`` gives a reason for a variant is skipped there, with that reason. The
time-limit promise (wall clock of the call within the limit plus 1 s on an instance too large to
finish) is the ``slow`` test at the end.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from daitn_opt.drrt.converters import convert
from daitn_opt.drrt.instance import load_instance
from daitn_opt.kinds import kinds
from daitn_opt.problems import check_result, problem_from_instance
from daitn_opt.registry import SolverSpec, problem_sense, solve, solvers
from daitn_opt.result import OPTIMALITY_GAP, Result, Status, bound_tolerance
from tests.mtrce import hand_instances as mtrce_hand
from tests.qirce import hand_instances as qirce_hand
from tests.tfam import helpers as tfam_hand

INSTANCES = Path(__file__).resolve().parent.parent / "instances"
CLASSIC = INSTANCES / "classic"
SEED = 7
EXACT_LIMIT = 5.0
"""Seconds for exact solvers: every instance here is proved in well under a second alone."""
HEURISTIC_LIMIT = 0.5
"""Seconds for heuristics; the metaheuristics that run to their limit (routing) use all of it."""


def _classic(kind: str, fmt: str, path: str, **kw: Any) -> Callable[[], tuple[Any, float | None]]:
    def build() -> tuple[Any, float | None]:
        instance = convert(fmt, CLASSIC / path, **kw)
        info = instance.benchmark
        known = info.best_known if info is not None and info.proven_optimal else None
        return problem_from_instance(kind, instance), known

    return build


def _brute(kind: str, instance: Any) -> tuple[Any, float | None]:
    problem = problem_from_instance(kind, instance)
    return problem, qirce_hand.brute_force_single_source(problem)


def _generated(kind: str, name: str) -> Callable[[], tuple[Any, float | None]]:
    return lambda: (problem_from_instance(kind, load_instance(INSTANCES / name)), None)


def _objective(name: str, objective: str) -> Callable[[], tuple[Any, float | None]]:
    """The MTRCE problem of a shipped instance under another objective (the coverage ones)."""
    return lambda: (
        problem_from_instance("mtrce", load_instance(INSTANCES / name)).replace(
            objective=objective
        ),
        None,
    )


def _expected(name: str) -> Callable[[], tuple[Any, float | None]]:
    """``min_expected_time_to_target`` on a shipped instance's first request: the prior outcome
    model (no replays) with target accuracy 0.6 and a fixed spread (0.03 per checkpoint, 0.02
    shared), written by ``OutcomeModel.apply``."""
    from daitn_opt.mtrce.anytime import Spread
    from daitn_opt.mtrce.calibration import basis_of, prior_model

    def build() -> tuple[Any, float | None]:
        instance = load_instance(INSTANCES / name)
        problem = problem_from_instance("mtrce", instance)
        model = prior_model(basis_of(instance, problem.request_id), target_accuracy=0.6)
        return model.apply(problem, "min_expected_time_to_target", spread=Spread(0.03, 0.02)), None

    return build


def _tag(name: str) -> Callable[[], tuple[Any, float | None]]:
    """The TAG problem (route + local epochs per node) of a shipped instance's first request."""
    from daitn_opt.mtrce import tag

    return lambda: (tag.from_instance(load_instance(INSTANCES / name)), None)


CASES: dict[str, dict[str, Callable[[], tuple[Any, float | None]]]] = {
    "mtrce": {
        "tsp5": mtrce_hand.tsp5,
        "optw5": mtrce_hand.optw5,
        "top6": mtrce_hand.top6,
        "budget4": mtrce_hand.budget4,
        "mandatory5": mtrce_hand.mandatory5,
        "path6": mtrce_hand.path6,
        "infeasible-deadline": lambda: (mtrce_hand.infeasible_deadline(), None),
        "tsplib-burma14": _classic("mtrce", "tsplib", "tsplib/burma14.tsp"),
        "op-tsiligirides2-15": _classic(
            "mtrce", "op", "op/tsiligirides_2/tsiligirides_problem_2_budget_15.txt"
        ),
        "top-p2.2.a": _classic("mtrce", "top", "top/Set_21_234/p2.2.a.txt"),
        "healthcare-small": _generated("mtrce", "healthcare-small.json"),
        "healthcare-small-coverage": _objective("healthcare-small.json", "max_coverage"),
        "healthcare-small-recency": _objective("healthcare-small.json", "max_recency_coverage"),
        "healthcare-small-target": _objective("healthcare-small.json", "min_time_to_target"),
        "healthcare-small-expected": _expected("healthcare-small.json"),
        "healthcare-small-outcome": _generated("mtrce", "healthcare-small-outcome.json"),
        "healthcare-small-tag": _tag("healthcare-small.json"),
    },
    "tfam": {
        "knapsack": lambda: (tfam_hand.knapsack(), 18.0),
        "knapsack-must": lambda: (tfam_hand.knapsack(must=(0,)), 17.0),
        "random3": lambda: (
            (p := tfam_hand.random_problem(3, requests=6)),
            tfam_hand.brute_force(p),
        ),
        "mknap1-1": _classic("tfam", "mknap", "mknap/mknap1.txt", index=1),
        "mknap1-2": _classic("tfam", "mknap", "mknap/mknap1.txt", index=2),
        "healthcare-small": _generated("tfam", "healthcare-small.json"),
    },
    "qirce": {
        "tiny": lambda: (problem_from_instance("qirce", qirce_hand.tiny()), None),
        "tiny-single": lambda: _brute("qirce", qirce_hand.tiny(single_source=True)),
        "tiny-admit": lambda: _brute("qirce", qirce_hand.tiny(single_source=True, mode="admit")),
        "gap1-max": _classic("qirce", "gap", "gap/gap1.txt", sense="max"),
        "gap1-min": _classic("qirce", "gap", "gap/gap1.txt", sense="min"),
        "healthcare-small": _generated("qirce", "healthcare-small.json"),
        "congested": qirce_hand.congested_case,
    },
}
"""Problem kind -> instance name -> builder of ``(problem, proven optimum or None)``."""

DETERMINISM = {
    "mtrce": ("healthcare-small", "healthcare-small-expected"),
    "tfam": ("random3",),
    "qirce": ("gap1-max",),
}
"""The instances each kind's solvers are run on twice with the same seed (a solver skips the ones
its ``supports`` refuses: the expected-time case is the one ``anytime-*`` run on)."""


def _examples(kind: str) -> dict[str, Callable[[], tuple[Any, float | None]]]:
    """The cases of a kind this file does not know: its package's optional ``examples()`` hook
    (name -> problem, or (problem, proven optimum)); none when it has no hook."""
    from daitn_opt.kinds import package

    hook = getattr(package(kind), "examples", None)
    found = hook() if hook is not None else {}
    return {
        name: (lambda ex=ex: ex if isinstance(ex, tuple) else (ex, None))
        for name, ex in found.items()
    }


def cases_of(kind: str) -> dict[str, Callable[[], tuple[Any, float | None]]]:
    """The instances every solver of ``kind`` runs on: :data:`CASES`, else the kind's examples."""
    return CASES[kind] if kind in CASES else _examples(kind)


def determinism_case(kind: str) -> list[str]:
    """The instance run twice with the same seed: :data:`DETERMINISM`, else the last example."""
    return list(DETERMINISM[kind]) if kind in DETERMINISM else list(cases_of(kind))[-1:]


@cache
def case(kind: str, name: str) -> tuple[Any, float | None]:
    """The problem (built once; problems are frozen) and its proven optimum if known."""
    return cases_of(kind)[name]()


def spec_of(kind: str, solver: str) -> SolverSpec:
    return solvers(kind)[kind][solver]


def run(kind: str, solver: str, problem: Any, *, seed: int = SEED) -> Result:
    """Solve ``problem`` with ``solver``, skipping a variant the solver says it does not support."""
    spec = spec_of(kind, solver)
    reason = spec.supports(problem) if spec.supports is not None else None
    if reason is not None:
        pytest.skip(f"{solver}: {reason}")
    limit = EXACT_LIMIT if spec.exact else HEURISTIC_LIMIT
    return solve(problem, solver, time_limit=limit, seed=seed)


def assert_keeps_the_contract(problem: Any, result: Result) -> None:
    """Every promise a :class:`Result` makes, checked against the problem's own checker."""
    where = f"{result.problem}/{result.solver}: {result.summary()}"
    assert result.status is not Status.ERROR, where
    assert not result.contract_violations, where
    assert result.sense == problem_sense(problem), where
    if result.status.has_solution:
        assert result.objective is not None and math.isfinite(result.objective), where
        report = check_result(problem, result)
        assert report.ok, f"{where}: {report.violations[:5]}"
    if result.status is Status.OPTIMAL:
        assert result.gap is not None and result.gap <= OPTIMALITY_GAP, where
    if result.bound is not None and result.status.has_solution:
        tol = bound_tolerance(result.objective)
        if result.sense == "min":
            assert result.bound <= result.objective + tol, where
        else:
            assert result.bound >= result.objective - tol, where
        assert result.gap is not None, where


def kind_solvers() -> dict[str, dict[str, SolverSpec]]:
    """The registered solvers of every registered problem kind (a test may register solvers
    under a scratch kind it never registers as a kind: those are not problem kinds)."""
    known = kinds()
    return {k: v for k, v in sorted(solvers().items()) if k in known}


def _params(by: Callable[[str], list[str]]) -> list[Any]:
    return [
        pytest.param(kind, solver, name, id=f"{kind}-{solver}-{name}")
        for kind, registered in kind_solvers().items()
        for solver in sorted(registered)
        for name in by(kind)
    ]


@pytest.mark.parametrize(("kind", "solver", "instance"), _params(lambda k: list(cases_of(k))))
def test_every_solver_keeps_the_result_contract(kind, solver, instance):
    problem, optimum = case(kind, instance)
    result = run(kind, solver, problem)
    assert_keeps_the_contract(problem, result)
    if optimum is None:
        return
    where = f"{kind}/{solver} on {instance}: {result.summary()}; proven optimum {optimum}"
    assert result.status is not Status.INFEASIBLE, where
    if not result.status.has_solution:
        return
    tol = bound_tolerance(optimum)
    better = (
        result.objective < optimum - tol
        if result.sense == "min"
        else result.objective > optimum + tol
    )
    assert not better, where
    if result.status is Status.OPTIMAL:
        assert result.objective == pytest.approx(optimum, abs=tol), where


@pytest.mark.parametrize(("kind", "solver", "instance"), _params(determinism_case))
def test_the_same_seed_gives_the_same_result(kind, solver, instance):
    problem, _ = case(kind, instance)
    first = run(kind, solver, problem, seed=SEED + 1)
    second = run(kind, solver, problem, seed=SEED + 1)
    assert (first.status, first.objective) == (second.status, second.objective)
    assert first.solution == second.solution


def test_every_kind_has_cases_and_a_determinism_instance():
    for kind in kind_solvers():
        assert cases_of(kind) and determinism_case(kind), f"{kind}: no cases and no examples()"


# ---------------------------------------------------------------------------------------------
# The time limit: measured on instances no solver finishes within it.

TIME_LIMIT = 2.0
MARGIN = 1.0


def _large_mtrce() -> Any:
    return problem_from_instance("mtrce", load_instance(INSTANCES / "rgg-2000.json"))


def _large_tfam() -> Any:
    from daitn_opt.tfam.synthetic import random_batch

    return random_batch(3000, 200, 24, seed=1)


def _large_qirce() -> Any:
    from daitn_opt.qirce.synthetic import synthetic_instance

    instance = synthetic_instance(users=2000, models=50, facilities=200, seed=1)
    return problem_from_instance("qirce", instance)


LARGE = {"mtrce": _large_mtrce, "tfam": _large_tfam, "qirce": _large_qirce}
"""Per kind: an instance generous enough that an exact solver cannot finish in the limit (the
2,000-node rgg-2000; 3,000 admission requests; 2,000 QIRCE users, 50 models, 200 MDFPs)."""


@cache
def large(kind: str) -> Any:
    if kind not in LARGE:
        pytest.skip(f"{kind}: no instance too large to finish is known for this kind")
    return LARGE[kind]()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "solver"),
    [(k, s) for k, registered in kind_solvers().items() for s in sorted(registered)],
)
def test_the_call_returns_within_the_time_limit(kind, solver):
    problem = large(kind)
    spec = spec_of(kind, solver)
    reason = spec.supports(problem) if spec.supports is not None else None
    if reason is not None:
        pytest.skip(f"{solver}: {reason}")
    start = time.perf_counter()
    result = solve(problem, solver, time_limit=TIME_LIMIT, seed=SEED)
    wall = time.perf_counter() - start
    assert wall <= TIME_LIMIT + MARGIN, f"{kind}/{solver}: {wall:.1f} s; {result.summary()}"
    assert_keeps_the_contract(problem, result)
