"""``solve --time-limit`` covers the whole command: reading, the view, plan generation, the solve."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import INSTANCES, SMALL, run_cli


def solve_json(*args: str, instance: Path = SMALL) -> dict:
    result = run_cli("solve", instance, "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_result_records_the_limit_asked_for_and_the_setup_it_spent():
    """The solver gets what setup left of the limit; the result states the user's limit, the
    setup's share, and a solver runtime that fits in what was left."""
    doc = solve_json("--problem", "mtrce", "--solver", "greedy", "--time-limit", "7")
    assert doc["time_limit"] == 7.0
    setup = doc["stats"]["setup_seconds"]
    assert 0 < setup < 7
    assert doc["runtime"] <= 7 - setup + 1.0


def test_tfam_plan_generation_is_bounded_by_the_limit():
    """A limit far too short to plan 24 requests restricts the batch, and the result says so."""
    doc = solve_json(
        "--problem",
        "tfam",
        "--solver",
        "highs",
        "--time-limit",
        "0.001",
        instance=INSTANCES / "healthcare-large.json",
    )
    assert doc["status"] == "feasible"
    assert doc["bound"] is None
    assert "not planned within the time limit" in doc["message"]
