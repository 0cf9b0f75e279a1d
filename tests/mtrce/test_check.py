"""The independent MTRCE checker on hand-made valid and invalid solutions, one per violation kind.

Nodes lie on a line (:func:`tests.mtrce.hand_instances.line`), so every time below is a sum of
distances that can be read off the positions.
"""

from __future__ import annotations

import numpy as np
import pytest

from daitn_opt.mtrce import check
from tests.mtrce.hand_instances import line, op5, optw5, path6, top6, tsp5


def one(report) -> str:
    assert len(report.violations) == 1, report.violations
    return report.violations[0]


def test_valid_op_route_and_objective_counts_start_once():
    p, _ = op5()  # x: n0 0 (u 1), n1 -2 (u 5), n2 1 (u 2), n3 3 (u 4), n4 4 (u 3)
    report = check(p, {"routes": [["n0", "n2", "n3", "n1", "n0"]]})
    assert report.ok, report.violations
    assert report.objective == 12.0  # 1 + 2 + 4 + 5: the start's utility once


def test_deadline_violation_names_route_and_end():
    p, _ = op5()  # 0 -> 4 -> -2 -> 0 is 4 + 6 + 2 = 12 > 10
    v = one(check(p, {"routes": [["n0", "n4", "n1", "n0"]]}))
    assert "route 1" in v and "deadline" in v and "'n0'" in v and "12" in v


def test_windows_wait_is_allowed_and_lateness_is_not():
    p, _ = optw5()  # n2 at 1 opens at 5 closes at 6; n3 at 3 closes at 2
    ok = check(p, {"routes": [["n0", "n1", "n2", "n0"]]})  # arrive n2 at 6: on time
    assert ok.ok, ok.violations
    waited = check(p, {"routes": [["n0", "n2", "n0"]]})  # arrive at 1, wait until 5
    assert waited.ok
    late = one(check(p, {"routes": [["n0", "n3", "n0"]]}))
    assert "route 1" in late and "'n3'" in late and "window" in late
    # Waiting delays what follows: n2 (wait to 5, serve to 6) then n1 arrives home at 12 > 10.
    v = one(check(p, {"routes": [["n0", "n2", "n1", "n0"]]}))
    assert "deadline" in v and "12" in v


def test_unknown_id_wrong_start_and_end():
    p, _ = op5()
    assert "unknown node id" in one(check(p, {"routes": [["n0", "zz", "n0"]]}))
    assert "starts at 'n2'" in one(check(p, {"routes": [["n2", "n3", "n0"]]}))
    assert "ends at 'n2'" in one(check(p, {"routes": [["n0", "n3", "n2"]]}))


def test_repeats_within_and_across_routes():
    p, _ = top6()
    within = one(check(p, {"routes": [["n0", "n3", "n3", "n0"], ["n0", "n0"]]}))
    assert "'n3'" in within and "twice" in within
    across = check(p, {"routes": [["n0", "n3", "n0"], ["n0", "n3", "n4", "n0"]]})
    assert any("also on route 1" in v for v in across.violations)
    through = check(p, {"routes": [["n0", "n3", "n0", "n4", "n0"]]})
    assert any("passes through the start/end" in v for v in through.violations)


def test_route_count_and_idle_routes():
    p, _ = top6()  # k = 2
    assert "at most k = 2" in one(check(p, {"routes": [["n0", "n0"]] * 3}))
    report = check(p, {"routes": [["n0", "n3", "n4", "n0"], ["n0", "n0"]]})
    assert report.ok and report.objective == 8.0
    assert check(p, {"routes": [["n0", "n3", "n4", "n0"]]}).ok  # fewer than k is fine


def test_budget_violation():
    x = np.array([0, 1, 2, -1.0])
    p = line(
        x,
        [0, 3, 4, 2],
        budget=6.0,
        visit_cost=np.array([0, 1, 1, 1.0]),
        travel_cost=np.abs(x[:, None] - x[None, :]),
    )
    assert check(p, {"routes": [["n0", "n1", "n2", "n0"]]}).ok  # 4 + 2 = 6
    v = one(check(p, {"routes": [["n0", "n2", "n3", "n0"]]}))  # 6 + 2 = 8
    assert "budget" in v and "8" in v


def test_mandatory_missing():
    p, _ = op5()
    p = p.replace(mandatory=np.array([4]))
    v = one(check(p, {"routes": [["n0", "n2", "n3", "n0"]]}))
    assert "mandatory node 'n4'" in v


def test_infinite_travel_is_a_violation():
    p, _ = op5()
    t = p.travel.copy()
    t[2, 3] = np.inf
    p = p.replace(travel=t)
    v = one(check(p, {"routes": [["n0", "n2", "n3", "n0"]]}))
    assert "no connection from 'n2' to 'n3'" in v


def test_min_time_objective_is_the_tour_length_and_every_node_is_required():
    p, optimum = tsp5()
    report = check(p, {"routes": [["n0", "n2", "n4", "n1", "n3", "n0"]]})
    assert report.ok and report.objective == optimum
    v = one(check(p, {"routes": [["n0", "n2", "n4", "n1", "n0"]]}))
    assert "mandatory node 'n3'" in v


def test_min_time_sums_route_completions_with_service_and_verification():
    p = line(
        [0, 1, 2],
        [0, 0, 0],
        objective="min_time",
        k=2,
        service=np.array([0, 2, 3.0]),
        verify_time=0.5,
    )
    # Route 1: 0 -> 1 (serve 2) -> 0: 1 + 2 + 1 + 0.5 = 4.5; route 2: 2 + 3 + 2 + 0.5 = 7.5.
    report = check(p, {"routes": [["n0", "n1", "n0"], ["n0", "n2", "n0"]]})
    assert report.ok and report.objective == pytest.approx(12.0)


def test_path_to_a_different_end():
    p, optimum = path6()
    report = check(p, {"routes": [["n0", "n3", "n2", "n5", "n1"]]})
    assert report.ok and report.objective == optimum
    assert "deadline" in one(check(p, {"routes": [["n0", "n4", "n1"]]}))


def test_malformed_solutions_are_violations_not_crashes():
    p, _ = op5()
    assert not check(p, {}).ok
    assert not check(p, {"routes": "n0"}).ok
    assert not check(p, {"routes": []}).ok
    assert "at least the start and the end" in one(check(p, {"routes": [["n0"]]}))


def test_claimed_objective_is_compared():
    p, _ = op5()
    report = check(p, {"routes": [["n0", "n2", "n0"]]}).compare_objective(5.0)
    assert "differs from recomputed 3" in one(report)


def test_checker_imports_no_solver_code():
    import ast
    import sys
    from pathlib import Path

    module = sys.modules["daitn_opt.mtrce.check"]  # the package re-exports the function
    tree = ast.parse(Path(module.__file__).read_text())
    imported = {
        (node.module or "") for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    } | {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    assert imported <= {"__future__", "typing", "itertools", "numpy", "checking", "problem"}
