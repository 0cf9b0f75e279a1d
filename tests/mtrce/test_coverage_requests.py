"""A request asks for an outcome-aligned objective in the instance file (issue 12, part 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daitn_opt import mtrce
from daitn_opt.cli import app
from daitn_opt.drrt.instance import load_instance, parse_instance
from daitn_opt.errors import InputError
from daitn_opt.mtrce.coverage import DEFAULT_RECENCY

SMALL = Path(__file__).resolve().parents[2] / "instances" / "healthcare-small.json"


def with_request(tmp_path: Path, **fields) -> Path:
    doc = json.loads(SMALL.read_text())
    doc["requests"] = [dict(doc["requests"][0], id="q", **fields)]
    path = tmp_path / "instance.json"
    path.write_text(json.dumps(doc))
    return path


def test_the_request_sets_objective_recency_and_target(tmp_path):
    plain = mtrce.from_instance(load_instance(SMALL))
    problem = mtrce.from_instance(
        load_instance(with_request(tmp_path, objective="max_recency_coverage", recency=0.5))
    )
    assert problem.objective == "max_recency_coverage" and problem.recency == 0.5
    assert plain.recency == DEFAULT_RECENCY
    half = mtrce.from_instance(
        load_instance(with_request(tmp_path, objective="min_time_to_target", coverage_target=0.5))
    )
    # the default target is 0.75 of what every eligible node gives together
    assert half.target == pytest.approx(plain.target * 0.5 / 0.75)


@pytest.mark.parametrize(("field", "value"), [("recency", 0.0), ("coverage_target", 1.5)])
def test_out_of_range_options_are_named(tmp_path, field, value):
    doc = json.loads(with_request(tmp_path, objective="max_coverage", **{field: value}).read_text())
    with pytest.raises(InputError, match=field):
        parse_instance(doc)


@pytest.mark.parametrize("objective", ["max_coverage", "min_time_to_target"])
def test_solve_defaults_to_a_coverage_solver_and_check_accepts_it(tmp_path, objective):
    path = with_request(tmp_path, objective=objective)
    out = tmp_path / "result.json"
    runner = CliRunner()
    solved = runner.invoke(app, ["solve", str(path), "--time-limit", "3", "-o", str(out)])
    assert solved.exit_code == 0, solved.output
    doc = json.loads(out.read_text())
    assert doc["solver"] == "coverage-ils" and doc["status"] == "feasible"
    checked = runner.invoke(app, ["check", str(path), str(out)])
    assert checked.exit_code == 0, checked.output
