"""Input validation of :class:`daitn_opt.mtrce.Problem` (issue 10, item 4): one InputError that
names the field and the value; lists are accepted as arrays."""

from __future__ import annotations

import numpy as np
import pytest

from daitn_opt.errors import InputError
from daitn_opt.mtrce import Problem


def _base(**changes):
    travel = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])
    fields = dict(
        ids=["a", "b", "c"],
        start=0,
        end=0,
        travel=travel,
        service=np.zeros(3),
        utility=np.ones(3),
    )
    fields.update(changes)
    return Problem(**fields)


def _nan_travel():
    travel = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])
    travel[1, 2] = np.nan
    return travel


@pytest.mark.parametrize(
    ("changes", "field", "shown"),
    [
        ({"travel": _nan_travel()}, "travel[1, 2]", "nan"),
        ({"ids": ["a", "b", "a"]}, "ids", "'a'"),
        ({"deadline": float("nan")}, "deadline", "nan"),
        ({"verify_time": float("nan")}, "verify_time", "nan"),
        ({"utility": np.array([1.0, np.inf, 1.0])}, "utility[1]", "inf"),
        ({"service": np.array([0.0, -1.0, 0.0])}, "service[1]", "-1.0"),
        ({"ids": ["a", "", "c"]}, "ids", "''"),
        ({"start": 1.5}, "start", "1.5"),
        ({"mandatory": [0.5]}, "mandatory", "[0.5]"),
        ({"travel": [[0, 1], [1, 0, 2], [1]]}, "travel", "[[0, 1]"),
        ({"travel": "not an array"}, "travel", "'not an array'"),
        (
            {"window_open": np.array([0.0, np.nan, 0.0]), "window_close": np.full(3, np.inf)},
            "window_open[1]",
            "nan",
        ),
    ],
)
def test_bad_input_is_one_input_error_naming_field_and_value(changes, field, shown):
    with pytest.raises(InputError) as err:
        _base(**changes)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field} = {shown}")
    assert "\n" not in str(err.value)


def test_lists_are_accepted_as_arrays():
    problem = _base(
        travel=[[0, 1, 2], [1, 0, 1], [2, 1, 0]],
        service=[0, 0, 0],
        utility=(1, 2, 3),
        mandatory=[1],
        ids=("a", "b", "c"),
    )
    assert isinstance(problem.travel, np.ndarray) and problem.travel.dtype == np.float64
    assert problem.utility.tolist() == [1.0, 2.0, 3.0]
    assert problem.mandatory.dtype == np.int64 and problem.mandatory.tolist() == [1]
    assert problem.ids == ["a", "b", "c"]


def test_infinite_travel_and_deadline_stay_allowed():
    travel = np.array([[0.0, 1.0, np.inf], [1.0, 0.0, 1.0], [np.inf, 1.0, 0.0]])
    problem = _base(travel=travel, deadline=np.inf)
    assert np.isinf(problem.travel[0, 2])


# -- Problem.restrict and the route schedule -------------------------------------------------------
def _five(**changes):
    x = np.array([0.0, 3.0, 1.0, 4.0, 2.0])
    fields = dict(
        ids=[f"n{i}" for i in range(5)],
        start=1,
        end=3,
        travel=np.abs(x[:, None] - x[None, :]),
        service=np.arange(5.0),
        utility=np.arange(5.0) * 10,
        window_open=np.arange(5.0),
        window_close=np.arange(5.0) + 100,
        budget=50.0,
        visit_cost=np.arange(5.0) + 0.5,
        travel_cost=np.abs(x[:, None] - x[None, :]) * 2,
        mandatory=[0, 2, 3],
        label_mass=np.arange(10.0).reshape(5, 2),
        coverage_scale=np.ones(2),
    )
    fields.update(changes)
    return Problem(**fields)


def test_restrict_slices_every_per_node_array_and_renumbers():
    p = _five()
    keep = [4, 1, 3]
    q = p.restrict(keep)
    assert q.ids == ["n4", "n1", "n3"]
    assert (q.start, q.end) == (1, 2)
    np.testing.assert_array_equal(q.travel, p.travel[np.ix_(keep, keep)])
    np.testing.assert_array_equal(q.travel_cost, p.travel_cost[np.ix_(keep, keep)])
    for name in ("service", "utility", "window_open", "window_close", "visit_cost", "label_mass"):
        np.testing.assert_array_equal(getattr(q, name), getattr(p, name)[keep], err_msg=name)
    assert q.mandatory.tolist() == [2]  # n3 kept (now 2); n0 and n2 dropped
    np.testing.assert_array_equal(q.coverage_scale, p.coverage_scale)
    assert (q.budget, q.deadline, q.k) == (p.budget, p.deadline, p.k)


def test_restrict_without_optional_arrays_keeps_them_none():
    q = _base(end=2).restrict([0, 2])
    assert q.ids == ["a", "c"] and q.window_open is None and q.travel_cost is None
    assert q.travel.tolist() == [[0.0, 2.0], [2.0, 0.0]]


@pytest.mark.parametrize(
    ("keep", "reason"),
    [([3, 4], "start"), ([0, 1, 9], "0..4"), ([1, 3, 1], "twice"), ([1, 2], "end")],
)
def test_restrict_rejects_bad_subsets(keep, reason):
    with pytest.raises(InputError) as exc:
        _five().restrict(keep)
    assert exc.value.field == "keep" and reason in str(exc.value)


def test_route_schedule_waits_for_windows_and_reports_each_stage():
    from daitn_opt.mtrce.solution import route_schedule, schedule

    p = _five(deadline=30.0)
    sch = route_schedule(p, [1, 4, 3])
    # Leave n1 at 1 (window) + 1 (service) = 2; travel 1 -> n4 at 3, open 4: wait 1, train 4, leave
    # at 8; travel 2 -> n3 at 10, train 3 from 10, leave at 13.
    assert sch.arrival.tolist() == [0.0, 3.0, 10.0]
    assert sch.wait.tolist() == [1.0, 1.0, 0.0]
    assert sch.start.tolist() == [1.0, 4.0, 10.0]
    assert sch.departure.tolist() == [2.0, 8.0, 13.0]
    assert (sch.completion, sch.feasible) == (13.0, True)
    assert not route_schedule(p.replace(deadline=12.0), [1, 4, 3]).feasible
    arrivals, starts, done, ok = schedule(p, [1, 4, 3])
    assert arrivals.tolist() == sch.arrival.tolist() and starts.tolist() == sch.start.tolist()
    assert (done, ok) == (13.0, True)


def test_the_package_keeps_the_problem_kind_contract():
    from daitn_opt import mtrce
    from daitn_opt.kinds import ProblemContract
    from daitn_opt.registry import solvers

    p = _five()
    assert isinstance(p, ProblemContract) and p.size == 5
    assert mtrce.DEFAULT_SOLVER in solvers("mtrce")["mtrce"]
    assert mtrce.default_solver(p) == "ils"
    assert mtrce.default_solver(p.replace(objective="max_coverage")) == "coverage-ils"
    route = [1, 4, 3]
    result = mtrce.make_result(p.replace(deadline=30.0), "manual", [route], "feasible")
    assert result.solution["routes"] == [["n1", "n4", "n3"]]
    assert mtrce.check(p.replace(deadline=30.0), result.solution).objective == result.objective
