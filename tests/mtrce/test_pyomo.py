"""Tests of the ``pyomo`` MTRCE solver and of ``export_model`` (daitn_opt/mtrce/pyomo_model.py)."""

from __future__ import annotations

from pathlib import Path

import highspy
import numpy as np
import pytest

from daitn_opt.drrt.converters import convert
from daitn_opt.errors import InputError
from daitn_opt.mtrce import check, from_instance
from daitn_opt.mtrce.milp import build_model
from daitn_opt.mtrce.pyomo_model import build_pyomo, export_model
from daitn_opt.registry import solve
from daitn_opt.result import Status
from tests.mtrce.hand_instances import SOLVABLE, infeasible_deadline
from tests.mtrce.test_milp import op_plane, optw_plane, top_plane, tsp_rectangle

TSPLIB = Path(__file__).resolve().parents[2] / "instances" / "classic" / "tsplib"


def solve_checked(problem, **params):
    result = solve(problem, "pyomo", time_limit=30.0, seed=0, **params)
    if result.is_feasible():
        report = check(problem, result.solution)
        assert report.ok, report.violations
        assert result.objective == pytest.approx(report.objective, abs=1e-6)
    return result


@pytest.mark.parametrize("build", [tsp_rectangle, op_plane, top_plane], ids=lambda f: f.__name__)
def test_hand_instances_are_solved_to_their_optimum(build):
    """The Pyomo model proves the optima derived in tests/mtrce/test_milp.py."""
    problem, optimum = build()
    result = solve_checked(problem)
    assert result.status == Status.OPTIMAL
    assert result.objective == pytest.approx(optimum, abs=1e-6)


def test_windows():
    """OPTW: the same unique optimal route as the highs solver."""
    problem, optimum, route = optw_plane()
    result = solve_checked(problem)
    assert result.status == Status.OPTIMAL
    assert result.objective == pytest.approx(optimum)
    assert result.solution["routes"] == [route]


def test_build_and_translation_times_are_reported():
    """stats carry the Pyomo build and translation times (they count against the limit)."""
    problem, _ = SOLVABLE["path6"]()
    result = solve_checked(problem)
    assert result.stats["build_seconds"] > 0 and result.stats["translate_seconds"] > 0
    assert result.stats["pyomo_solver"] == "appsi_highs"


def test_tsplib_bays29_reproduces_the_published_optimum():
    """bays29 (EXPLICIT): 2020 (TSPLIB solutions file)."""
    instance = convert("tsplib", TSPLIB / "bays29.tsp")
    result = solve_checked(from_instance(instance))
    assert result.status == Status.OPTIMAL
    assert result.objective == 2020


def test_infeasible_instance_says_so():
    result = solve(infeasible_deadline(), "pyomo", time_limit=5)
    assert result.status == Status.INFEASIBLE and "deadline" in result.message


def test_unknown_pyomo_solver_is_an_input_error():
    problem, _ = SOLVABLE["op5"]()
    with pytest.raises(InputError, match="pyomo_solver"):
        solve(problem, "pyomo", time_limit=5, pyomo_solver="no_such_solver")


def test_pyomo_model_has_the_columns_and_rows_of_the_array_model():
    """Same formulation: one Pyomo variable per column and one constraint per row."""
    problem, _ = SOLVABLE["optw5"]()
    mm = build_model(problem)
    m = build_pyomo(problem)
    from pyomo.environ import Constraint, Var

    n_vars = sum(len(v) for v in m.component_objects(Var))
    n_rows = sum(len(c) for c in m.component_objects(Constraint))
    assert n_vars == mm.num_col
    assert n_rows == mm.num_row


@pytest.mark.parametrize("suffix", [".mps", ".lp"])
def test_exported_compact_model_solves_to_the_optimum_elsewhere(tmp_path, suffix):
    """The exported file is a complete MILP: HiGHS reading it finds the optimum of tsp5 (8)."""
    problem, optimum = SOLVABLE["tsp5"]()
    path = export_model(problem, tmp_path / f"tsp5{suffix}")
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(path))
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert h.getInfo().objective_function_value == pytest.approx(optimum)
    names = [h.getColName(i)[1] for i in range(h.getNumCol())]
    assert any(name.startswith("x") for name in names)


def test_export_rejects_an_unknown_format(tmp_path):
    problem, _ = SOLVABLE["tsp5"]()
    with pytest.raises(InputError, match="mps"):
        export_model(problem, tmp_path / "model.txt")


def test_compact_model_of_an_op_is_exact():
    """The compact (MTZ) model of op5 solved directly gives its optimum 12."""
    problem, optimum = SOLVABLE["op5"]()
    mm = build_model(problem, compact=True)
    assert mm.directed and (mm.order_col >= 0).sum() == len(problem.customers)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    from daitn_opt.mtrce.milp import _pass_model

    _pass_model(h, mm)
    h.run()
    assert h.getInfo().objective_function_value == pytest.approx(optimum)
    assert np.isfinite(h.getInfo().mip_dual_bound)


@pytest.mark.parametrize("name", ["op5", "top6"])
def test_legacy_interface_solver_by_name(name):
    """pyomo_solver="highs" (Pyomo's non-persistent interface) reaches the same optima."""
    problem, optimum = SOLVABLE[name]()
    result = solve_checked(problem, pyomo_solver="highs")
    assert result.status == Status.OPTIMAL
    assert result.objective == pytest.approx(optimum)
    assert result.stats["pyomo_solver"] == "highs"
