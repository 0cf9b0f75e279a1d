"""``daitn-opt oam``: plan, replay, measure, update for N rounds from the command line."""

from __future__ import annotations

import json

from daitn_opt.oam import UtilityEstimates
from tests.conftest import SMALL, run_cli


def run(*args: str):
    return run_cli("oam", SMALL, *args)


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
