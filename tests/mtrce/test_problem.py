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
