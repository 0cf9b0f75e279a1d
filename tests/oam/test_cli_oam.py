"""``daitn-opt oam``: plan, replay, measure, update for N rounds from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from daitn_opt.cli import app
from daitn_opt.oam import UtilityEstimates

SMALL = Path(__file__).resolve().parents[2] / "instances" / "healthcare-small.json"


def run(*args: str):
    result = CliRunner().invoke(app, ["oam", str(SMALL), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_rounds_are_printed_and_the_estimates_saved_and_reloaded(tmp_path):
    saved = tmp_path / "estimates.json"
    first = run("--rounds", "2", "--misreport", "4", "--save-estimates", str(saved), "--json")
    assert first.exit_code == 0, first.output
    doc = json.loads(first.stdout)
    assert [r["round"] for r in doc["rounds"]] == [0, 1]
    assert all(r["deadline_met"] for r in doc["rounds"])
    estimates = UtilityEstimates.load(saved)
    assert estimates.to_dict() == doc["estimates"]
    again = run("--rounds", "1", "--estimates", str(saved), "--objective", "max_coverage")
    assert again.exit_code == 0, again.output
    assert "coverage-greedy on max_coverage" in again.stdout


def test_truth_and_misreport_together_are_refused(tmp_path):
    result = run("--truth", str(SMALL), "--misreport", "1")
    assert result.exit_code == 2
    assert "--misreport" in result.stderr
