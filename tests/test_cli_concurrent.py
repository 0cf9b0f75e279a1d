"""``daitn-opt concurrent``: a T-FAM decision's admitted plans replayed at once (timing only)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

INSTANCE = Path(__file__).resolve().parent.parent / "instances" / "healthcare-small.json"


def test_every_admitted_plan_is_replayed_once(tmp_path):
    out = tmp_path / "adm.json"
    solved = run_cli(
        "solve", INSTANCE, "--problem", "tfam", "--solver", "highs", "--json", "-o", out
    )
    assert solved.exit_code == 0, solved.output
    admitted = json.loads(out.read_text())["solution"]["admitted"]
    res = run_cli("concurrent", INSTANCE, out, "--mpvus", "2", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["summary"]["requests"] == len(admitted) == len(doc["requests"])
    assert {r["request"] for r in doc["requests"]} == set(admitted)


def test_a_solution_without_plans_is_one_line_and_exit_2(tmp_path):
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"admitted": {}, "refused": []}))
    res = run_cli("concurrent", INSTANCE, bare)
    assert res.exit_code == 2 and "solution.plans" in res.output
