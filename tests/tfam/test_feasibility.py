"""Feasibility of one request, on a hand-built snapshot whose times are worked out by hand.

Snapshot: an owner (start and end, no MPVU) linked to data nodes A, B, C (latency 1 s each, A-B
also linked, 1 s); the model weighs 0 MB, so a transfer takes exactly the links' latency.
A and B hold 100 tabular samples each and train at 10 GFLOP/s, C holds 100 at 1 GFLOP/s; one
GFLOP per sample and one epoch: training takes 10 s at A and B, 100 s at C. Compute costs 3600
per hour: 10 per visit at A or B, 100 at C. D holds image data (excluded: modality), E is down.

- Federated: a client alone takes download 1 + training + upload 1: 12 s for A and B, 102 s for
  C. 250 samples need all three: the fastest round is 102 s.
- Sequential: 150 samples need two nodes; owner -> A -> B -> owner takes 1 + 10 + 1 + 10 + 1 =
  23 s; one node alone collects only 100.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from daitn_opt import InputError
from daitn_opt.drrt.instance import Instance, save_instance
from daitn_opt.tfam.feasibility import feasibility


def make_instance(**request) -> Instance:
    def data(node_id, gflops, modality="tabular", up=True, cost=3600.0):
        return {
            "id": node_id,
            "kind": "data",
            "up": up,
            "compute": {"gflops": gflops, "cost_per_hour": cost},
            "datasets": [{"modality": modality, "task": "t", "samples": 100}],
        }

    nodes = [
        {"id": "owner", "kind": "user"},
        data("A", 10.0),
        data("B", 10.0),
        data("C", 1.0),
        data("D", 10.0, modality="image"),
        data("E", 10.0, up=False),
    ]
    links = [{"source": "owner", "target": x, "latency": 1.0} for x in "ABCDE"]
    links.append({"source": "A", "target": "B", "latency": 1.0})
    req = {
        "id": "r",
        "owner": "owner",
        "modality": "tabular",
        "task": "t",
        "model": {"size_mb": 0.0, "gflop_per_sample": 1.0},
    }
    req.update(request)
    return Instance.model_validate(
        {"name": "hand", "snapshot": {"nodes": nodes, "links": links}, "requests": [req]}
    )


def test_federated_fastest_round_is_exact():
    report = feasibility(
        make_instance(mode="federated", deadline=50, target={"kind": "samples", "amount": 250})
    )
    assert not report.feasible and report.proven
    assert report.shortest_time == pytest.approx(102.0)
    assert "102 s (slowest client C) > deadline 50 s" in report.reasons[0]
    assert report.excluded == {"D": "modality image != tabular", "E": "down"}


def test_federated_feasible_with_the_fastest_set():
    report = feasibility(
        make_instance(mode="federated", deadline=50, target={"kind": "samples", "amount": 200})
    )
    assert report.feasible
    assert sorted(report.plan["nodes"]) == ["A", "B"]
    assert report.plan["finish"] == pytest.approx(12.0)


def test_federated_budget_binds():
    report = feasibility(
        make_instance(
            mode="federated", deadline=200, budget=5, target={"kind": "samples", "amount": 200}
        )
    )
    assert not report.feasible and report.proven
    assert "costs 20 > budget 5" in report.reasons[0]


def test_sequential_deadline_binds_with_the_shortest_time():
    report = feasibility(make_instance(deadline=20, target={"kind": "samples", "amount": 150}))
    assert not report.feasible
    assert report.shortest_time == pytest.approx(23.0)
    assert report.shortest_time_lower <= 23.0
    assert any("23 s" in r and "deadline 20 s" in r for r in report.reasons), report.reasons


def test_sequential_feasible_route():
    report = feasibility(make_instance(deadline=30, target={"kind": "samples", "amount": 150}))
    assert report.feasible and report.plan["finish"] == pytest.approx(23.0)
    assert report.plan["nodes"][0] == "owner" and report.plan["nodes"][-1] == "owner"


def test_sequential_budget_bound_is_proved():
    """150 samples cost at least 10 + 5 (a fractional second visit at 10 per 100 samples) > 14."""
    report = feasibility(
        make_instance(deadline=1000, budget=14, target={"kind": "samples", "amount": 150})
    )
    assert not report.feasible and report.proven
    assert any("> budget 14" in r for r in report.reasons)


def test_target_beyond_the_eligible_data():
    report = feasibility(make_instance(deadline=1000, target={"kind": "samples", "amount": 400}))
    assert not report.feasible and report.proven
    assert "hold 300, short of the target 400" in report.reasons[0]


def test_unknown_modality_is_a_decision_not_an_input_error():
    """A modality no node holds is valid input: infeasible, proved, with the binding reason
    (as MTRCE answers it with a decision rather than exit code 2)."""
    report = feasibility(make_instance(modality="audio"))
    assert not report.feasible and report.proven
    assert report.reasons == [
        "no eligible data node: modality 'audio' held by none (held: ['image', 'tabular'])"
    ]


def _cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "daitn_opt.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.mark.slow
def test_cli_feasible_prints_the_report_and_sets_the_exit_code(tmp_path):
    path = tmp_path / "hand.json"
    save_instance(make_instance(deadline=20, target={"kind": "samples", "amount": 150}), path)
    proc = _cli("feasible", str(path), "--request", "r", "--json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["feasible"] is False and doc["excluded"]["E"] == "down"
    save_instance(make_instance(deadline=30, target={"kind": "samples", "amount": 150}), path)
    proc = _cli("feasible", str(path), cwd=tmp_path)
    assert proc.returncode == 0 and "FEASIBLE" in proc.stdout
    proc = _cli("feasible", str(path), "--request", "nope", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_must_admit_request_without_a_plan_is_an_input_error():
    from daitn_opt.tfam import from_instance

    inst = make_instance(deadline=20, must_admit=True, target={"kind": "samples", "amount": 150})
    with pytest.raises(InputError, match="must-admit but has no plan"):
        from_instance(inst)


def test_unplannable_requests_are_listed_in_the_solution():
    from daitn_opt import solve
    from daitn_opt.tfam import check, from_instance

    feasible = make_instance(deadline=30, target={"kind": "samples", "amount": 150}).requests[0]
    hopeless = feasible.model_copy(update={"id": "late", "deadline": 20.0})
    inst = make_instance().model_copy(update={"requests": [feasible, hopeless]})
    problem = from_instance(inst)
    result = solve(problem, "highs", time_limit=10)
    assert list(result.solution["admitted"]) == ["r"]
    assert list(result.solution["unplannable"]) == ["late"]
    assert check(problem, result.solution).ok
