"""Candidate plans from a generated snapshot, admission of them, and the admission cascade."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from daitn_opt import solve
from daitn_opt.drrt.generators import generate
from daitn_opt.drrt.instance import Instance, load_instance, save_instance
from daitn_opt.tfam import check, from_instance
from daitn_opt.tfam.plans import Candidate, Step, admission_spec, candidates, plan_use

from .helpers import ALL, EXACT, HEURISTICS


@pytest.fixture(scope="module")
def batch() -> Instance:
    """12 hospitals, 10 requests, arrivals compressed 20 times so that requests overlap."""
    inst = generate("healthcare", nodes=12, seed=1, requests=10)
    reqs = [r.model_copy(update={"arrival": round(r.arrival / 20, 1)}) for r in inst.requests]
    return inst.model_copy(update={"requests": reqs})


def test_plan_use_covers_every_overlapped_slot():
    """A job from 95 s to 130 s with 50 s slots busies slots 1 and 2; one ending at 100 only 1."""
    c = Candidate(
        "r", "sequential", ["a"], [Step("a", 95.0, 130.0), Step("b", 50.0, 100.0)], 0, 0, 0, 0
    )
    assert plan_use(c, 50.0) == {("a", 1): 1.0, ("a", 2): 1.0, ("b", 1): 1.0}


def test_candidates_meet_deadline_and_target(batch):
    planned = 0
    for req in batch.requests:
        found, _v = candidates(batch, req, count=4)
        planned += bool(found)
        for c in found:
            assert c.finish <= req.deadline + 1e-6
            assert c.delay >= 0 and c.steps
            if req.budget is not None:
                assert c.cost <= req.budget + 1e-9
        assert len({(tuple(c.nodes), c.delay) for c in found}) == len(found)
    assert planned >= 3


def test_generated_batch_round_trips_and_every_solver_is_checked(batch, tmp_path):
    spec = admission_spec(batch)
    inst = batch.model_copy(update={"admission": spec})
    save_instance(inst, tmp_path / "batch.json")
    problem = from_instance(load_instance(tmp_path / "batch.json"))
    assert problem.n_requests == len(spec.requests)
    results = {}
    for solver in ALL:
        result = solve(problem, solver, time_limit=10)
        assert check(problem, result.solution).compare_objective(result.objective).ok, solver
        results[solver] = result
    optimum = results["highs"].objective
    for solver in EXACT:
        assert results[solver].objective == pytest.approx(optimum), solver
    assert max(results[h].objective for h in HEURISTICS) <= optimum + 1e-9


def test_unknown_modality_in_a_batch_is_refused_with_its_reason(batch):
    """A request whose modality no node holds is valid input: it is refused (unplannable) with
    the binding reason; the rest of the batch is admitted as usual."""
    reqs = [batch.requests[0].model_copy(update={"modality": "audio"}), *batch.requests[1:]]
    problem = from_instance(batch.model_copy(update={"requests": reqs}))
    rid = batch.requests[0].id
    assert rid not in problem.request_ids
    assert problem.unplannable[rid].startswith("no eligible data node: modality 'audio' held by")
    result = solve(problem, "greedy", time_limit=5)
    assert result.status.has_solution
    assert result.solution["unplannable"][rid] == problem.unplannable[rid]


@pytest.mark.parametrize("solver", ALL)
def test_batch_of_unknown_modalities_only_is_optimal_with_nothing_admitted(batch, solver):
    """Every request asks for a modality nobody holds: nothing to admit, proved (objective 0),
    the same decision MTRCE gives; a must-admit one makes the batch infeasible instead."""
    reqs = [r.model_copy(update={"modality": "audio"}) for r in batch.requests[:2]]
    problem = from_instance(batch.model_copy(update={"requests": reqs}))
    assert problem.n_requests == 0 and len(problem.unplannable) == 2
    result = solve(problem, solver, time_limit=5)
    assert result.status.value == "optimal" and result.objective == 0 and result.bound == 0
    assert check(problem, result.solution).ok
    forced = [reqs[0].model_copy(update={"must_admit": True}), reqs[1]]
    problem = from_instance(batch.model_copy(update={"requests": forced}))
    result = solve(problem, solver, time_limit=5)
    assert result.status.value == "infeasible"
    assert "modality 'audio' held by none" in result.message


def _cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "daitn_opt.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


@pytest.mark.slow
def test_cli_solve_and_check_mknap(tmp_path):
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "instances" / "classic" / "mknap" / "mknap1.txt"
    assert (
        _cli("convert", "mknap", str(src), "--index", "3", "-o", "m.json", cwd=tmp_path).returncode
        == 0
    )
    proc = _cli(
        "solve",
        "m.json",
        "--problem",
        "tfam",
        "--solver",
        "highs",
        "--json",
        "-o",
        "r.json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "optimal" and result["objective"] == 4015
    assert _cli("check", "m.json", "r.json", cwd=tmp_path).returncode == 0
    result["solution"]["admitted"] = {f"item{j}": 0 for j in range(1, 16)}  # everything: too heavy
    (tmp_path / "bad.json").write_text(json.dumps(result))
    proc = _cli("check", "m.json", "bad.json", cwd=tmp_path)
    assert proc.returncode == 1 and "over capacity" in proc.stdout


def test_cli_bad_admission_input_exits_2(tmp_path):
    doc = {
        "name": "zero",
        "snapshot": {"nodes": []},
        "admission": {
            "resources": [{"id": "k", "capacity": 0}],
            "requests": [{"id": "a", "plans": [{"value": 1, "use": {"k": 1}}]}],
        },
    }
    (tmp_path / "zero.json").write_text(json.dumps(doc))
    proc = _cli("solve", "zero.json", "--problem", "tfam", "--solver", "greedy", cwd=tmp_path)
    assert proc.returncode == 2 and "zero for every resource" in proc.stderr
    assert "Traceback" not in proc.stderr
    doc["admission"]["resources"][0]["capacity"] = 1
    doc["admission"]["requests"][0]["plans"][0]["use"]["k"] = -1
    (tmp_path / "neg.json").write_text(json.dumps(doc))
    proc = _cli("solve", "neg.json", "--problem", "tfam", "--solver", "greedy", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    unknown_owner = {
        "name": "u",
        "snapshot": {"nodes": [{"id": "h", "kind": "data"}]},
        "requests": [{"id": "r", "owner": "ghost", "modality": "m", "task": "t"}],
    }
    (tmp_path / "owner.json").write_text(json.dumps(unknown_owner))
    proc = _cli("solve", "owner.json", "--problem", "tfam", "--solver", "greedy", cwd=tmp_path)
    assert proc.returncode == 2 and "ghost" in proc.stderr


def test_plan_generation_keeps_its_time_limit(batch):
    """With no time for plan generation, no request is planned and each says why; with ample
    time the batch is the one planned without a limit."""
    problem = from_instance(batch, time_limit=0.0)
    assert problem.n_requests == 0
    assert set(problem.unplannable) == {r.id for r in batch.requests}
    assert all("time limit" in why for why in problem.unplannable.values())
    full = from_instance(batch, time_limit=600.0)
    assert full.request_ids == from_instance(batch).request_ids
