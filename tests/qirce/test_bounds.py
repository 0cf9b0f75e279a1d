"""Lower bounds: the LP relaxation and the Lagrangian bound never exceed the optimum, and the
Lagrangian bound reaches the LP bound on GAP (where the two coincide)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from daitn_opt.drrt.converters import convert
from daitn_opt.qirce import from_instance
from daitn_opt.qirce.lagrangian import lagrangian_bound
from daitn_opt.qirce.relaxation import lp_relaxation
from daitn_opt.qirce.synthetic import synthetic_instance
from daitn_opt.registry import solve

GAP = Path(__file__).resolve().parents[2] / "instances" / "classic" / "gap"


def test_lagrangian_equals_lp_bound_on_gap():
    """gapa-1: with only capacity rows per agent, relaxing the job rows gives the LP bound."""
    p = from_instance(convert("gap", GAP / "gapa.txt", sense="min", index=1))
    _, lp = lp_relaxation(p, 10)
    lag = lagrangian_bound(p, 1698.0, time.perf_counter() + 30, iterations=400)
    assert lag <= 1698 and lag == pytest.approx(lp, abs=0.5)


@pytest.mark.parametrize("single", [False, True])
def test_bounds_below_optimum_with_memory_and_open_costs(single):
    """A synthetic instance (memory binding, fixed costs): LP and Lagrangian bounds <= optimum."""
    p = from_instance(
        synthetic_instance(users=40, models=6, facilities=8, seed=4, capacity_factor=2.0)
    ).replace(single_source=single)
    r = solve(p, "highs", time_limit=30)
    assert r.status.value == "optimal"
    _, lp = lp_relaxation(p, 10)
    lag = lagrangian_bound(p, r.objective, time.perf_counter() + 10)
    assert lp <= r.objective + 1e-6
    assert lag is not None and lag <= r.objective + 1e-6
    admit = p.replace(mode="admit", capacity=p.capacity * 0.5)
    ra = solve(admit, "highs", time_limit=30)
    lag = lagrangian_bound(admit, admit.to_internal(ra.objective), time.perf_counter() + 10)
    assert admit.reported(lag) >= ra.objective - 1e-6  # max problem: the bound is above
