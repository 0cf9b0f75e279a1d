"""The T-FAM Problem constructors reject bad arrays with one InputError naming the field and
value, and accept plain lists."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from daitn_opt import solve
from daitn_opt.errors import InputError
from daitn_opt.tfam import Problem, build

from .helpers import knapsack


def _build(**changes):
    args = {
        "request_ids": ["a", "b"],
        "plan_request": [0, 1],
        "value": [3.0, 2.0],
        "use": [[1.0], [2.0]],
        "capacity": [2.0],
    }
    args.update(changes)
    return build(
        args.pop("request_ids"),
        args.pop("plan_request"),
        args.pop("value"),
        args.pop("use"),
        args.pop("capacity"),
        **args,
    )


def test_lists_are_accepted_like_arrays():
    """Plain lists (dense use included) give the same problem and optimum as arrays."""
    p = _build()
    assert isinstance(p.use, csr_matrix) and p.value.dtype == np.float64
    assert solve(p, "highs", time_limit=5).objective == 3.0
    direct = Problem(
        request_ids=["a", "b"],
        plan_start=[0, 1, 2],
        value=[3.0, 2.0],
        use=[[1.0], [2.0]],
        capacity=[2.0],
        resource_ids=["k"],
        must_admit=[False, False],
        arrival=[0.0, 1.0],
    )
    assert isinstance(direct.plan_start, np.ndarray) and direct.must_admit.dtype == bool
    assert solve(direct, "greedy", time_limit=5).objective == 3.0


@pytest.mark.parametrize(
    ("changes", "field", "shown"),
    [
        ({"value": [np.nan, 2.0]}, r"value\[0\]", "nan"),
        ({"value": [np.inf, 2.0]}, r"value\[0\]", "inf"),
        ({"value": [-1.0, 2.0]}, r"value\[0\]", "-1.0"),
        ({"capacity": [np.nan]}, r"resources\['k0'\]\.capacity", "nan"),
        ({"capacity": [-2.0]}, r"resources\['k0'\]\.capacity", "-2.0"),
        ({"use": [[np.nan], [1.0]]}, r"requests\['a'\]\.plans\[0\]\.use\['k0'\]", "nan"),
        ({"use": [[-1.0], [1.0]]}, r"requests\['a'\]\.plans\[0\]\.use\['k0'\]", "-1.0"),
        ({"request_ids": ["a", "a"]}, "request_ids", "'a'"),
        (
            {"resource_ids": ["k", "k"], "capacity": [2.0, 2.0], "use": [[1, 0], [0, 1]]},
            "resource_ids",
            "'k'",
        ),
        ({"value": [1.0, 2.0, 3.0]}, "value", r"\(3,\)"),
        ({"use": [[1.0], [2.0], [3.0]]}, "use", r"\(3, 1\)"),
        ({"capacity": [[2.0]]}, "capacity", r"\(1, 1\)"),
        ({"value": ["x", "y"]}, "value", r"\['x', 'y'\]"),
        ({"plan_request": [0.5, 1]}, "plan_request", r"\[0\.5, 1\]"),
        ({"arrival": [0.0, np.nan]}, r"requests\['b'\]\.arrival", "nan"),
        ({"deadline": [np.nan, 5.0]}, r"requests\['a'\]\.deadline", "nan"),
        ({"deadline": [-1.0, 5.0]}, r"requests\['a'\]\.deadline", "-1.0"),
        ({"finish": [1.0, -3.0]}, r"finish\[1\]", "-3.0"),
        ({"finish": [1.0]}, "finish", r"\(1,\)"),
        ({"slot_seconds": float("nan")}, "slot_seconds", "nan"),
        ({"must_admit": [2, 0]}, "must_admit", r"\[2, 0\]"),
        ({"request_ids": "ab"}, "request_ids", "'ab'"),
    ],
)
def test_bad_values_are_one_input_error_naming_the_field(changes, field, shown):
    with pytest.raises(InputError, match=rf"^{field} = {shown}"):
        _build(**changes)


def test_infinite_deadline_means_none():
    p = _build(deadline=[np.inf, 5.0])
    assert np.isinf(p.deadline[0])


def test_relabelled_copy_keeps_the_hand_optimum():
    """The relabelling helper used by the invariance tests keeps the knapsack's optimum 18."""
    from .permute import relabel

    for seed in range(3):
        p = relabel(knapsack(), seed)
        assert solve(p, "highs", time_limit=5).objective == 18.0


def test_a_batch_keeps_its_name_through_build(healthcare_small) -> None:
    """The name reaches results and the explanation page, which refuses a result whose instance
    differs (a loop variable once replaced it with 'plan_details' and broke the demo's pages)."""
    from daitn_opt import tfam

    problem = tfam.from_instance(healthcare_small)
    assert problem.name == healthcare_small.name
    assert tfam.build(["a"], [0], [1.0], [[1.0]], [1.0], name="batch-7").name == "batch-7"
