"""MTRCE heuristics: feasibility on random variants, quality on classics, determinism, the CLI.

Every solution goes through the independent checker. Quality assertions use iteration caps (not
wall-clock limits) so that they hold on a loaded machine; wall-clock figures are reported by
``tests/benchmarks/mtrce_heuristics.py``.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daitn_opt.drrt.converters import convert
from daitn_opt.drrt.instance import save_instance
from daitn_opt.mtrce import Problem, check, from_instance
from daitn_opt.registry import solve, solvers
from daitn_opt.result import Status

from .registered import solvers_for

CLASSIC = Path(__file__).resolve().parents[2] / "instances" / "classic"
HEURISTICS = [
    name
    for name, spec in solvers("mtrce")["mtrce"].items()
    if spec.fn.__module__ == "daitn_opt.mtrce.heuristics"
]
"""The registered solvers of :mod:`daitn_opt.mtrce.heuristics` (random, nearest, greedy, ils, ...)."""


def capped(name: str, iterations: int) -> dict[str, int]:
    """``iterations`` for the solvers that declare it (the constructions take no parameters)."""
    fields = dataclasses.fields(solvers("mtrce")["mtrce"][name].params)
    return {"iterations": iterations} if any(f.name == "iterations" for f in fields) else {}


def random_problem(seed: int, n: int, windows: bool, budget: bool, k: int, mandatory: bool):
    """A random Euclidean MTRCE instance with the requested features (possibly infeasible)."""
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2)) * 50
    t = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    kw: dict = {}
    if windows:
        opens = rng.random(n) * 60
        kw["window_open"] = np.r_[0.0, opens[1:]]
        kw["window_close"] = np.r_[np.inf, opens[1:] + 10 + rng.random(n - 1) * 40]
    if budget:
        kw.update(budget=80.0, visit_cost=rng.random(n) * 5, travel_cost=t * 0.5)
    if mandatory:
        kw["mandatory"] = np.array([1])
    return Problem(
        ids=[f"v{i}" for i in range(n)],
        start=0,
        end=n - 1 if n % 2 else 0,
        travel=t,
        service=rng.random(n) * 3,
        utility=rng.integers(0, 10, n).astype(float),
        deadline=120.0,
        verify_time=1.0,
        k=k,
        **kw,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(3, 14),
    windows=st.booleans(),
    budget=st.booleans(),
    k=st.integers(1, 3),
    mandatory=st.booleans(),
    visit_all=st.booleans(),
)
def test_every_heuristic_is_valid_on_random_variants(
    seed, n, windows, budget, k, mandatory, visit_all
):
    p = random_problem(seed, n, windows, budget, k, mandatory)
    if visit_all:  # the TSP family: every node, minimise the summed completion times
        p = p.replace(objective="min_time", mandatory=p.customers, deadline=400.0)
    values = {}
    for name in HEURISTICS:
        result = solve(p, name, time_limit=10, seed=seed, **capped(name, 30))
        if result.status == Status.INFEASIBLE:
            assert result.message and "\n" not in result.message
            continue
        if result.status == Status.NO_SOLUTION:
            assert (mandatory or visit_all) and result.message
            continue
        assert result.status == Status.FEASIBLE, result.message
        report = check(p, result.solution)
        assert report.ok, (name, report.violations)
        assert result.objective == pytest.approx(report.objective)
        values[name] = result.objective
    if "ils" in values and "greedy" in values and not visit_all:
        # ils starts from the greedy construction and keeps only improvements.
        assert values["ils"] >= values["greedy"] - 1e-9


@pytest.mark.parametrize("name", HEURISTICS)
def test_same_seed_same_result_different_seed_may_differ(name):
    p = random_problem(7, 30, windows=False, budget=False, k=2, mandatory=False)
    a = solve(p, name, time_limit=30, seed=5, **capped(name, 40))
    b = solve(p, name, time_limit=30, seed=5, **capped(name, 40))
    assert a.solution["routes"] == b.solution["routes"]
    if name == "random":
        c = solve(p, name, time_limit=30, seed=6)
        assert c.solution["routes"] != a.solution["routes"]


def test_ils_beats_the_naive_baseline_on_chao():
    inst = convert("op", CLASSIC / "op" / "chao_set_64" / "set_64_1_45.txt")
    p = from_instance(inst)
    base = solve(p, "random", time_limit=10, seed=0)
    ils = solve(p, "ils", time_limit=60, seed=0, iterations=60)
    for r in (base, ils):
        assert check(p, r.solution).ok
    assert ils.objective >= 0.97 * 816  # published optimum of set 64, budget 45 (see README)
    assert ils.objective > 1.3 * base.objective


@pytest.mark.slow
def test_ils_reaches_the_chao_optimum():
    inst = convert("op", CLASSIC / "op" / "chao_set_64" / "set_64_1_45.txt")
    p = from_instance(inst)
    result = solve(p, "ils", time_limit=120, seed=0, iterations=400)
    assert check(p, result.solution).ok
    assert result.objective == pytest.approx(816.0)  # optimum (benchmarks README)


def test_ils_tsp_within_two_percent_of_eil51():
    inst = convert("tsplib", CLASSIC / "tsplib" / "eil51.tsp")
    p = from_instance(inst)
    result = solve(p, "ils", time_limit=60, seed=0, iterations=150)
    report = check(p, result.solution)
    assert report.ok, report.violations
    assert result.objective == report.objective
    assert result.objective <= 1.02 * 426  # TSPLIB optimum of eil51
    route = result.solution["routes"][0]
    assert route[0] == route[-1] and len(set(route)) == p.n


def test_greedy_cheapest_insertion_tsp_is_a_tour():
    inst = convert("tsplib", CLASSIC / "tsplib" / "eil51.tsp")
    p = from_instance(inst)
    for name in [h for h in HEURISTICS if not capped(h, 1)]:  # the constructions
        result = solve(p, name, time_limit=30)
        assert check(p, result.solution).ok
        assert result.objective >= 426


def test_optw_solomon_instance_feasible():
    path = next((CLASSIC / "optw" / "solomon_100").glob("c101*"))
    p = from_instance(convert("optw", path))
    for name in HEURISTICS:
        result = solve(p, name, time_limit=30, seed=0, **capped(name, 10))
        report = check(p, result.solution)
        assert report.ok, (name, report.violations)
        assert result.objective > 0


# -- the command line -------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("daitn-opt")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=300)


def test_cli_solve_json_then_check(tmp_path):
    src = CLASSIC / "op" / "tsiligirides_2" / "tsiligirides_problem_2_budget_15.txt"
    inst_file = tmp_path / "op.json"
    save_instance(convert("op", src), inst_file)
    out = _cli(
        "solve",
        str(inst_file),
        "--problem",
        "mtrce",
        "--solver",
        "ils",
        "--json",
        "--time-limit",
        "5",
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    for key in ("status", "objective", "bound", "gap", "runtime", "solver", "solution"):
        assert key in doc
    assert doc["solver"] == "ils" and doc["status"] == "feasible"
    route = doc["solution"]["routes"][0]
    p = from_instance(convert("op", src))
    assert route[0] == p.ids[p.start] and route[-1] == p.ids[p.end]

    good = tmp_path / "sol.json"
    good.write_text(out.stdout)
    ok = _cli("check", str(inst_file), str(good))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "valid" in ok.stdout

    tampered = dict(doc)
    tampered["solution"] = dict(doc["solution"])
    tampered["solution"]["routes"] = [[route[0], route[1], route[1], *route[2:]]]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(tampered))
    res = _cli("check", str(inst_file), str(bad))
    assert res.returncode == 1
    assert "violation" in res.stdout and "twice" in res.stdout


@pytest.mark.parametrize("solver", solvers_for(random_problem(0, 5, False, False, 1, False)))
@pytest.mark.parametrize(
    "objective", ["max_coverage", "max_recency_coverage", "min_time_to_target"]
)
def test_route_solvers_refuse_coverage_objectives(solver, objective, healthcare_small):
    """The solvers of the utility objective optimise and report the summed utility: on a
    coverage objective that would be a silently wrong objective value (and, for a target, a
    route that may miss it)."""
    from daitn_opt.errors import UnsupportedError

    problem = from_instance(healthcare_small).replace(objective=objective)
    with pytest.raises(UnsupportedError, match="coverage-"):
        solve(problem, solver, time_limit=2)


# -- the plain OP search (op_search.py) ---------------------------------------------------------
def test_op_route_insertion_cache_matches_a_full_evaluation():
    """After any sequence of insertions, removals and reversals, every unvisited node's cached
    cheapest insertion equals the minimum over all gaps of the current route."""
    from daitn_opt.mtrce.op_search import OpRoute
    from daitn_opt.mtrce.plan import Arrays

    p = random_problem(3, 40, windows=False, budget=False, k=1, mandatory=False)
    arr = Arrays.of(p)
    route = OpRoute(arr, arr.customers)
    rng = np.random.default_rng(0)
    for step in range(300):
        out = route.outside()
        inner = route.inside()
        draw = rng.random()
        if len(inner) >= 4 and draw < 0.2:  # a 2-opt reversal, as route shortening makes
            seq = route.sequence()
            i, j = sorted(rng.choice(np.arange(1, len(seq) - 1), size=2, replace=False))
            seq[i : j + 1] = seq[i : j + 1][::-1]
            route.relink(seq)
        elif len(inner) and (draw < 0.5 or len(out) == 0):
            route.remove(int(rng.choice(inner)))
        else:
            j = int(rng.choice(out))
            route.insert(j, int(route.best_from[j]))
        seq = route.sequence()
        assert route.length == pytest.approx(float(route.w[seq[:-1], seq[1:]].sum()))
        out = route.outside()
        full = (
            route.w[np.ix_(seq[:-1], out)]
            + route.w[np.ix_(out, seq[1:])].T
            - route.w[seq[:-1], seq[1:]][:, None]
        ).min(axis=0)
        np.testing.assert_allclose(route.best_add[out], full, atol=1e-9, err_msg=f"step {step}")
        a = route.best_from[out]  # the cached gap is on the route and costs what is cached
        b = route.nxt[a]
        at_gap = route.w[a, out] + route.w[out, b] - route.w[a, b]
        np.testing.assert_allclose(at_gap, full, atol=1e-9, err_msg=f"step {step}")


def test_ils_on_oplib_reaches_ea4op_and_is_deterministic():
    """eil51-gen2 (EA4OP's route scores 1668; CP-SAT proves a higher optimum): ils with an
    iteration cap reaches EA4OP's value, and the same seed gives the same route."""
    inst = convert("oplib", CLASSIC / "oplib" / "gen2" / "eil51-gen2-50.oplib")
    p = from_instance(inst)
    # 300 kicks: with LK shortening 2 of 10 seeds (3 among them) stop at 1662 after 150 kicks;
    # after 300 all ten reach 1674 with either shortening.
    a = solve(p, "ils", time_limit=60, seed=3, iterations=300)
    b = solve(p, "ils", time_limit=60, seed=3, iterations=300)
    report = check(p, a.solution)
    assert report.ok, report.violations
    assert a.objective == pytest.approx(report.objective)
    assert a.objective >= inst.benchmark.best_known
    assert a.solution["routes"] == b.solution["routes"]


def test_ils_op_keeps_mandatory_nodes_and_service_times():
    """The plain OP search with mandatory nodes and service times: every mandatory node visited,
    the checked completion within the deadline, at least the greedy construction's utility."""
    p = random_problem(11, 60, windows=False, budget=False, k=1, mandatory=True)
    p = p.replace(mandatory=np.array([1, 5, 9]))
    ils = solve(p, "ils", time_limit=60, seed=0, iterations=80)
    greedy = solve(p, "greedy", time_limit=60)
    report = check(p, ils.solution)
    assert report.ok, report.violations
    visited = set(ils.solution["routes"][0])
    assert {p.ids[1], p.ids[5], p.ids[9]} <= visited
    assert ils.objective >= greedy.objective - 1e-9
