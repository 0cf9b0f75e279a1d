"""The QIRCE Problem constructor rejects bad arrays with one InputError naming the field and
value, and accepts plain lists."""

from __future__ import annotations

import numpy as np
import pytest

from daitn_opt import solve
from daitn_opt.errors import InputError
from daitn_opt.qirce import Problem, from_instance

from .hand_instances import tiny


def _gap(**changes):
    """Two jobs, two agents, single-source; every array given as a plain list."""
    args = {
        "demand_ids": ["j1", "j2"],
        "facility_ids": ["a1", "a2"],
        "model_ids": ["m"],
        "demand_model": [0, 0],
        "rate": [1.0, 1.0],
        "value": [1.0, 1.0],
        "slo_ms": [np.inf, np.inf],
        "model_memory": [0.0],
        "facility_memory": [np.inf, np.inf],
        "capacity": [3.0, 3.0],
        "open_cost": [0.0, 0.0],
        "arc_demand": [0, 0, 1, 1],
        "arc_facility": [0, 1, 0, 1],
        "arc_cost": [4.0, 1.0, 2.0, 5.0],
        "arc_load": [2.0, 2.0, 2.0, 2.0],
        "arc_latency": [0.0, 0.0, 0.0, 0.0],
        "single_source": True,
    }
    args.update(changes)
    return Problem(**args)


def test_lists_are_accepted_like_arrays():
    p = _gap()
    assert isinstance(p.arc_demand, np.ndarray) and p.arc_demand.dtype == np.int64
    r = solve(p, "highs", time_limit=5)
    assert r.status.value == "optimal" and r.objective == 3.0


@pytest.mark.parametrize(
    ("changes", "field", "shown"),
    [
        ({"rate": [np.nan, 1.0]}, "demand 'j1' rate", "nan"),
        ({"rate": [-1.0, 1.0]}, "demand 'j1' rate", "-1.0"),
        ({"value": [1.0, np.inf]}, "demand 'j2' value", "inf"),
        ({"slo_ms": [np.nan, 1.0]}, "demand 'j1' slo_ms", "nan"),
        ({"capacity": [np.nan, 3.0]}, r"capacity\[0\]", "nan"),
        ({"open_cost": [0.0, -1.0]}, r"open_cost\[1\]", "-1.0"),
        ({"facility_memory": [np.nan, 1.0]}, r"facility_memory\[0\]", "nan"),
        ({"arc_cost": [np.nan, 1.0, 2.0, 5.0]}, r"arc_cost\[0\]", "nan"),
        ({"arc_load": [2.0, -2.0, 2.0, 2.0]}, r"arc_load\[1\]", "-2.0"),
        ({"arc_latency": [0.0, np.nan, 0.0, 0.0]}, r"arc_latency\[1\]", "nan"),
        ({"arc_latency": [0.0, 0.0, -1.0, 0.0]}, r"arc_latency\[2\]", "-1.0"),
        ({"demand_ids": ["j", "j"]}, "demand_ids", "'j'"),
        ({"facility_ids": ["a", "a"]}, "facility_ids", "'a'"),
        ({"model_ids": ["m", "m"], "model_memory": [0.0, 0.0]}, "model_ids", "'m'"),
        ({"rate": [1.0]}, "rate", r"\(1,\)"),
        ({"arc_cost": [1.0, 2.0]}, "arc_cost", r"\(2,\)"),
        ({"arc_demand": [0, 0, 1, 5]}, "arc_demand", "None"),
        ({"arc_demand": [0.5, 0, 1, 1]}, "arc_demand", r"\[0\.5, 0, 1, 1\]"),
        ({"rate": ["fast", 1.0]}, "rate", r"\['fast', 1\.0\]"),
        ({"cost_weight": float("nan")}, "cost_weight", "nan"),
        ({"cost_weight": float("inf")}, "cost_weight", "inf"),
        ({"single_source": "yes"}, "single_source", "'yes'"),
        ({"demand_ids": "j1"}, "demand_ids", "'j1'"),
        ({"arc_facility": [0, 1, 0, 0]}, "arcs", "None"),
    ],
)
def test_bad_values_are_one_input_error_naming_the_field(changes, field, shown):
    with pytest.raises(InputError, match=rf"^{field} = {shown}"):
        _gap(**changes)


def test_replace_validates_too():
    p = from_instance(tiny())
    with pytest.raises(InputError, match=r"^demand 'u1/a' rate = nan"):
        p.replace(rate=np.array([np.nan, 3.0, 5.0]))
