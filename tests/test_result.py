"""daitn_opt.result: the gap, the result contract, the anytime measures and the JSON round trip."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from daitn_opt.errors import InputError
from daitn_opt.result import (
    OPTIMALITY_GAP,
    Result,
    Status,
    TracePoint,
    bound_tolerance,
    enforce_contract,
    relative_gap,
)


def result(status="feasible", sense="max", objective=None, bound=None, **kw) -> Result:
    return Result("mtrce", "test", Status(status), sense, objective, bound, **kw)


# relative_gap ---------------------------------------------------------------------------------


def test_relative_gap_is_the_difference_over_the_objective():
    assert relative_gap(100.0, 110.0) == pytest.approx(0.1)
    assert relative_gap(100.0, 90.0) == pytest.approx(0.1)
    assert relative_gap(-50.0, -40.0) == pytest.approx(0.2)


def test_relative_gap_is_zero_for_equal_values_and_none_when_unknown():
    assert relative_gap(5.0, 5.0) == 0.0
    assert relative_gap(0.0, 0.0) == 0.0
    assert relative_gap(1e6, 1e6 + 1e-4) == 0.0  # within 1e-9 relative
    assert relative_gap(None, 3.0) is None
    assert relative_gap(3.0, None) is None
    assert relative_gap(3.0, math.inf) is None


def test_relative_gap_of_a_zero_objective_is_finite():
    assert relative_gap(0.0, 1.0) == pytest.approx(1e9)


# enforce_contract ---------------------------------------------------------------------------


@pytest.mark.parametrize(("sense", "bound"), [("min", 90.0), ("max", 110.0)])
def test_a_bound_on_the_correct_side_is_kept_and_the_gap_recomputed(sense, bound):
    r = result("feasible", sense, 100.0, bound, gap=0.5)
    enforce_contract(r, sense=sense)
    assert (r.status, r.bound, r.gap) == (Status.FEASIBLE, bound, pytest.approx(0.1))
    assert "contract" not in r.stats and r.contract_violations == []


@pytest.mark.parametrize(("sense", "bound"), [("min", 26524.01), ("max", 99.99995)])
def test_a_bound_crossing_within_rounding_tolerance_proves_optimality(sense, bound):
    objective = 26524.0 if sense == "min" else 100.0
    r = result("feasible", sense, objective, bound)
    enforce_contract(r, sense=sense)
    assert r.status is Status.OPTIMAL
    assert (r.bound, r.gap) == (objective, 0.0)
    assert r.contract_violations == []
    assert r.stats["contract"]["corrected"]


@pytest.mark.parametrize(
    ("sense", "objective", "bound"), [("min", 26524.0, 26525.0), ("max", 100.0, 99.0)]
)
@pytest.mark.parametrize("status", ["feasible", "optimal"])
def test_a_bound_crossing_by_more_is_a_recorded_defect_and_is_dropped(
    sense, objective, bound, status
):
    r = result(status, sense, objective, bound, message="time limit")
    enforce_contract(r, sense=sense)
    assert r.bound is None and r.gap is None
    assert r.status is Status.FEASIBLE  # an optimality claim resting on it is withdrawn
    assert len(r.contract_violations) == 1
    assert "wrong side" in r.contract_violations[0]
    assert r.message.startswith("time limit; solver defect: bound")


def test_floating_point_noise_in_a_bound_is_snapped_without_a_note():
    r = result("optimal", "min", 6.146, 6.146 + 1e-15)
    enforce_contract(r, sense="min")
    assert (r.status, r.bound, r.gap) == (Status.OPTIMAL, 6.146, 0.0)
    assert "contract" not in r.stats


def test_optimal_needs_a_closed_gap():
    r = result("optimal", "max", 100.0, 100.1)
    enforce_contract(r, sense="max")
    assert r.status is Status.FEASIBLE
    assert r.gap == pytest.approx(1e-3)
    assert r.gap > OPTIMALITY_GAP


def test_a_closed_gap_means_optimal():
    r = result("feasible", "max", 100.0, 100.0 + 1e-5)
    enforce_contract(r, sense="max", exact=False)
    assert r.status is Status.OPTIMAL and r.gap <= OPTIMALITY_GAP


def test_optimal_without_a_bound_is_trusted_from_an_exact_solver_only():
    exact = result("optimal", "max", 12.0)
    enforce_contract(exact, sense="max", exact=True)
    assert (exact.status, exact.bound, exact.gap) == (Status.OPTIMAL, 12.0, 0.0)
    heuristic = result("optimal", "max", 12.0)
    enforce_contract(heuristic, sense="max", exact=False)
    assert (heuristic.status, heuristic.bound) == (Status.FEASIBLE, None)
    assert heuristic.contract_violations == []


def test_the_problem_sense_wins():
    r = result("feasible", "max", 10.0, 8.0)
    enforce_contract(r, sense="min")
    assert r.sense == "min" and r.bound == 8.0
    assert any("sense" in note for note in r.stats["contract"]["corrected"])


@pytest.mark.parametrize("objective", [None, math.nan, math.inf])
def test_a_solution_without_a_finite_objective_is_an_error(objective):
    r = result("feasible", "max", objective)
    enforce_contract(r, sense="max")
    assert r.status is Status.ERROR
    assert r.contract_violations


def test_a_bound_that_is_not_a_number_is_dropped():
    r = result("feasible", "max", 10.0, math.nan)
    enforce_contract(r, sense="max")
    assert r.bound is None and r.contract_violations


def test_numpy_numbers_become_floats():
    r = result("feasible", "max", np.float64(10.0), np.int64(12))
    enforce_contract(r, sense="max")
    assert type(r.objective) is float and type(r.bound) is float
    assert r.to_json()  # serialisable


@pytest.mark.parametrize("status", ["infeasible", "no_solution", "error"])
def test_results_without_a_solution_keep_their_bound_and_have_no_gap(status):
    r = result(status, "min", None, 40.0)
    enforce_contract(r, sense="min")
    assert r.status is Status(status) and r.bound == 40.0 and r.gap is None
    assert r.contract_violations == []


def test_bound_tolerance_scales_with_the_objective():
    assert bound_tolerance(0.0) == pytest.approx(1e-6)
    assert bound_tolerance(-26524.0) == pytest.approx(0.026524)


# anytime measures ---------------------------------------------------------------------------


def traced() -> Result:
    trace = [
        TracePoint(1.0, None, 200.0),
        TracePoint(2.0, 50.0, 150.0),
        TracePoint(6.0, 100.0, 100),
    ]
    return result("optimal", "max", 100.0, 100.0, runtime=10.0, trace=trace)


def test_primal_integral_integrates_the_primal_gap_over_time():
    # gap 1 until t = 2 (no incumbent), 0.5 until t = 6, then 0: 2 + 2 = 4.
    assert traced().primal_integral() == pytest.approx(4.0)
    assert traced().primal_integral(horizon=4.0) == pytest.approx(3.0)
    # against a better reference (200): 2 + 4 * 0.75 + 4 * 0.5 = 7
    assert traced().primal_integral(reference=200.0) == pytest.approx(7.0)


def test_primal_integral_is_the_horizon_without_an_incumbent_or_a_reference():
    r = result("no_solution", runtime=3.0)
    assert r.primal_integral() == 3.0
    assert r.primal_integral(horizon=5.0) == 5.0


def test_primal_integral_is_zero_with_the_optimum_at_time_zero():
    r = result("optimal", "min", 8.0, 8.0, runtime=2.0, trace=[TracePoint(0.0, 8.0, 8.0)])
    assert r.primal_integral() == 0.0


def test_time_to_first_and_cost():
    assert traced().time_to_first() == 2.0
    assert result("no_solution").time_to_first() is None
    assert traced().cost() == -100.0
    assert result("feasible", "min", 7.0).cost() == 7.0
    assert result("infeasible").cost() == math.inf


# JSON ---------------------------------------------------------------------------------------


def test_a_result_round_trips_through_json_with_its_contract_record():
    r = result("feasible", "min", 10.0, 11.0, solution={"routes": [["a", "b"]]}, trace=[])
    enforce_contract(r, sense="min")
    back = Result.from_dict(json.loads(r.to_json()))
    assert back == r
    assert back.contract_violations == r.contract_violations != []


def test_from_dict_names_the_missing_or_bad_field():
    with pytest.raises(InputError, match="status"):
        Result.from_dict({"problem": "mtrce", "solver": "x", "status": "great"})
    with pytest.raises(InputError, match="solver"):
        Result.from_dict({"problem": "mtrce", "status": "optimal"})
    with pytest.raises(InputError, match="solution"):
        Result.from_dict([])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("trace", [[0.0, 1.0]]),
        ("trace", "not a list"),
        ("trace", [["t", 1.0, 2.0]]),
        ("objective", "12"),
        ("objective", True),
        ("bound", [1.0]),
        ("runtime", "fast"),
        ("sense", "upwards"),
        ("solution", ["a", "b"]),
        ("seed", -1),
    ],
)
def test_from_dict_rejects_malformed_fields_naming_them(field, value):
    """A direct caller's malformed document is an InputError naming the field, not a TypeError
    from deep inside (a 2-element trace point used to crash TracePoint(*p))."""
    doc = {"problem": "mtrce", "solver": "ils", "status": "feasible", "objective": 1.0}
    doc[field] = value
    with pytest.raises(InputError) as info:
        Result.from_dict(doc)
    assert field in str(info.value)
