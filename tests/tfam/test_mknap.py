"""The multidimensional knapsack (OR-Library mknap) through the T-FAM entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from daitn_opt import InputError, solve
from daitn_opt.drrt.converters import convert as dispatch
from daitn_opt.drrt.converters.mknap import convert, parse_mknap
from daitn_opt.tfam import check, from_instance

from .helpers import EXACT

FOLDER = Path(__file__).resolve().parents[2] / "instances" / "classic" / "mknap"
MKNAP1 = FOLDER / "mknap1.txt"
MKNAP1_OPTIMA = [3800, 8706.1, 4015, 6120, 12400, 10618, 16537]
"""The optimal values in mknap1.txt's instance headers (OR-Library)."""


def test_parse_first_instance_by_hand():
    """mknap1 #1: 6 items, 10 constraints, optimum 3800; profits and first weight row as in the file."""
    profits, weights, caps, opt = parse_mknap(MKNAP1, 1)
    assert profits == [100, 600, 1200, 2400, 500, 2000]
    assert weights[0] == [8, 12, 13, 64, 22, 41]
    assert len(weights) == 10 and caps[0] == 80 and caps[-1] == 24
    assert opt == 3800


def test_converted_instance_is_an_admission_batch():
    inst = convert(MKNAP1, index=2)
    assert inst.benchmark.best_known == 8706.1 and inst.benchmark.proven_optimal
    problem = from_instance(inst)
    assert (problem.n_requests, problem.n_resources) == (10, 10)
    assert problem.n_plans == 10  # one plan per item
    assert dispatch("mknap", MKNAP1, index=2).admission == inst.admission


def test_mknapcb_value_comes_from_mkcbres():
    inst = convert(FOLDER / "mknapcb1.txt", index=1)
    assert inst.benchmark.best_known == 24381  # mkcbres.txt, problem 5.100-00
    assert from_instance(inst).n_plans == 100


@pytest.mark.parametrize("index", range(1, 8))
def test_highs_proves_every_mknap1_optimum(index):
    inst = convert(MKNAP1, index=index)
    problem = from_instance(inst)
    result = solve(problem, "highs", time_limit=60)
    assert result.status.value == "optimal"
    assert result.objective == pytest.approx(MKNAP1_OPTIMA[index - 1], abs=1e-6)
    assert check(problem, result.solution).compare_objective(result.objective).ok


@pytest.mark.slow
@pytest.mark.parametrize("solver", [s for s in EXACT if s != "highs"])  # highs: above
@pytest.mark.parametrize("index", range(1, 8))
def test_every_exact_solver_proves_every_mknap1_optimum(solver, index):
    problem = from_instance(convert(MKNAP1, index=index))
    result = solve(problem, solver, time_limit=60)
    assert result.status.value == "optimal"
    assert result.objective == pytest.approx(MKNAP1_OPTIMA[index - 1], abs=1e-6)
    assert check(problem, result.solution).ok


@pytest.mark.slow
def test_mknapcb1_first_instance_reaches_the_published_value():
    inst = convert(FOLDER / "mknapcb1.txt", index=1)
    problem = from_instance(inst)
    result = solve(problem, "highs", time_limit=120)
    assert check(problem, result.solution).ok
    assert result.objective == 24381
    assert result.bound >= 24381


def test_bad_mknap_input_is_one_input_error(tmp_path):
    with pytest.raises(InputError, match=r"instances 1\.\.7"):
        convert(MKNAP1, index=8)
    with pytest.raises(InputError, match="maximises"):
        convert(MKNAP1, sense="min")
    short = tmp_path / "short.txt"
    short.write_text("1\n3 1 0\n1 2 3\n4 5\n")
    with pytest.raises(InputError, match="file ends"):
        convert(short)
    word = tmp_path / "word.txt"
    word.write_text("1\n2 1 0\n1 x\n1 1\n2\n")
    with pytest.raises(InputError, match="expected a number"):
        convert(word)
    with pytest.raises(InputError, match="cannot read"):
        convert(tmp_path / "missing.txt")
