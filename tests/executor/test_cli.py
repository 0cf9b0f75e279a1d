"""``daitn-opt replay``: outcome files, and exit code 2 with one line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REQUEST

ROOT = Path(__file__).resolve().parents[2]
INSTANCE = str(ROOT / "instances" / "healthcare-small.json")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "daitn_opt.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def solution_file(tmp_path: Path, route: list[str], **extra) -> Path:
    doc = {
        "problem": "mtrce",
        "solver": "cpsat",
        "status": "optimal",
        "instance": "healthcare-14-s1",
        "request": REQUEST,
        "solution": {"routes": [route]},
    } | extra
    path = tmp_path / "sol.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.slow
def test_replay_writes_json_and_csv(tmp_path, optimal_route, healthcare_small):
    assert healthcare_small.name == "healthcare-14-s1"
    sol = solution_file(tmp_path, optimal_route)
    events = tmp_path / "events.json"
    events.write_text(json.dumps([{"time": 5, "type": "node_down", "node": optimal_route[2]}]))
    proc = cli(
        "replay",
        INSTANCE,
        str(sol),
        "--events",
        str(events),
        "--policy",
        "replan",
        "-o",
        "out",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "out" / "replay-sequential.json").read_text())
    assert doc["summary"]["deadline_met"] and doc["policy"] == "replan"
    assert optimal_route[2] not in doc["summary"]["visited"]
    csv = (tmp_path / "out" / "replay-sequential.csv").read_text().splitlines()
    assert csv[0].startswith("label,time,node,action,loss,accuracy,bytes")
    assert len(csv) == len(doc["trace"]) + 1


@pytest.mark.slow
def test_replay_bad_input_exits_2(tmp_path, healthcare_small):
    down = next(n.id for n in healthcare_small.snapshot.of_kind("data") if not n.up)
    cases = [
        (
            solution_file(tmp_path, ["owner", down, "mpvu"]),
            [],
            f"'{down}': cannot be visited: down",
        ),
    ]
    other = tmp_path / "other.json"
    other.write_text(
        json.dumps(
            {
                "problem": "mtrce",
                "solver": "x",
                "status": "feasible",
                "instance": "another",
                "solution": {"routes": [["owner", "mpvu"]]},
            }
        )
    )
    cases.append((other, [], "solution.instance = 'another': does not match"))
    events = tmp_path / "ev.json"
    events.write_text(json.dumps([{"time": 1, "type": "node_down", "node": "h99"}]))
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"routes": [["owner", "mpvu"]]}))
    cases.append((good, ["--events", str(events)], "[0].node = 'h99': is not a node id"))
    cases.append((good, ["--mode", "teleport"], "--mode = 'teleport'"))
    for path, extra, message in cases:
        proc = cli("replay", INSTANCE, str(path), *extra, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], proc.stderr


def test_demo_command_prints_the_comparison(tmp_path):
    """The README's main job, in the default run (about 12 s): a break here once went unseen
    for a session while this test was marked slow."""
    proc = cli("demo", "--seeds", "1", "--time-limit", "10", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for text in (
        "MTRCE plans replayed as real training",
        "exact CP-SAT",
        "random",
        "T-FAM",
        "Serving replay",
        "congestion-aware",
        "expected time to target (fitted)",
        "(E[time to",
        "wrote",
    ):
        assert text in proc.stdout, text
    assert (tmp_path / "out" / "accuracy.png").exists()
    fitted = "explain-plan-min_expected_time_to_target.html"
    for page in (
        "explain-plan-highs.html",
        "explain-tfam-highs.html",
        "explain-qirce-highs.html",
        fitted,
    ):
        assert (tmp_path / "out" / page).exists(), page
    assert "violation" not in (tmp_path / "out" / fitted).read_text()
    assert "Traceback" not in proc.stderr
