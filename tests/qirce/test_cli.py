"""The command line on QIRCE: convert a GAP file, solve it as JSON, check the result; bad input
exits with code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from daitn_opt.drrt.instance import save_instance

from .hand_instances import tiny

GAP = Path(__file__).resolve().parents[2] / "instances" / "classic" / "gap"
CLI = [sys.executable, "-m", "daitn_opt.cli"]


def run(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("daitn-opt")
    cmd = [str(exe)] if exe.exists() else [*CLI]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def gap_file(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("qirce") / "gap1-2.json"
    res = run(
        "convert", "gap", str(GAP / "gap1.txt"), "-o", str(out), "--sense", "max", "--index", "2"
    )
    assert res.returncode == 0, res.stderr
    return out


def test_solve_json_and_check(gap_file, tmp_path):
    """solve --json prints one JSON document (nothing else on stdout) with the published optimum
    in OR-Library's units and sense; check accepts it, and rejects a tampered objective."""
    res = run("solve", str(gap_file), "--problem", "qirce", "--solver", "highs", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["problem"] == "qirce" and doc["status"] == "optimal"
    assert doc["sense"] == "max" and doc["objective"] == 327 and doc["instance"] == "gap1-2"
    sol = tmp_path / "sol.json"
    sol.write_text(res.stdout)
    ok = run("check", str(gap_file), str(sol))
    assert ok.returncode == 0 and "valid: objective 327" in ok.stdout
    doc["objective"] = 330
    sol.write_text(json.dumps(doc))
    bad = run("check", str(gap_file), str(sol))
    assert bad.returncode == 1 and "differs from recomputed" in bad.stdout


def test_solve_heuristic_and_infeasible(tmp_path):
    """A generated-style instance: ls solves it; an impossible SLO gives an infeasible status
    naming the demand (exit 0: the run worked)."""
    inst = tmp_path / "tiny.json"
    save_instance(tiny(), inst)
    res = run(
        "solve", str(inst), "--problem", "qirce", "--solver", "ls", "--time-limit", "2", "--json"
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["objective"] == pytest.approx(6.146)
    doc = json.loads(inst.read_text())
    for node in doc["snapshot"]["nodes"]:
        if node["id"] == "u2":
            node["demands"][0]["slo_ms"] = 4.0
    inst.write_text(json.dumps(doc))
    res = run("solve", str(inst), "--problem", "qirce", "--solver", "highs", "--json")
    out = json.loads(res.stdout)
    assert out["status"] == "infeasible" and "u2/a" in out["message"]


def test_malformed_input_exits_2(tmp_path):
    """Negative demand, missing GAP sense, unknown solver: one-line error, exit code 2."""
    doc = tiny().model_dump(mode="json")
    doc["snapshot"]["nodes"][0]["demands"][0]["rate"] = -2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    res = run("solve", str(bad), "--problem", "qirce", "--solver", "highs")
    assert res.returncode == 2 and "rate" in res.stderr
    res = run("convert", "gap", str(GAP / "gapa.txt"), "-o", str(tmp_path / "x.json"))
    assert res.returncode == 2 and "sense" in res.stderr
    good = tmp_path / "tiny.json"
    save_instance(tiny(), good)
    res = run("solve", str(good), "--problem", "qirce", "--solver", "nope")
    assert res.returncode == 2 and "unknown for qirce" in res.stderr
