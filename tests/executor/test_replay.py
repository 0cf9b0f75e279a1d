"""Mirror of executor/replay.py: a solution document goes to the replay its kind and mode name.

The dispatch tests replace local training by a stub (as the CLI fuzz test does): they check
which replay ran on which nodes, not how well a model learned (the replay modules' own tests do).
"""

from __future__ import annotations

import copy

import pytest

import daitn_opt.executor.federated as federated
import daitn_opt.executor.reference as reference
import daitn_opt.executor.sequential as sequential
from daitn_opt.drrt.qrrt import build_qrrt
from daitn_opt.errors import InputError
from daitn_opt.executor import EventTimeline, ServingOutcome, nearest_placement
from daitn_opt.executor.replay import (
    admitted_clients,
    admitted_plan,
    parse_document,
    replay_document,
)

from .conftest import OPTIMAL_R1, REQUEST

FEDERATED = "r2"
"""The first federated request of instances/healthcare-small.json."""


@pytest.fixture
def no_training(monkeypatch):
    """Local training that touches no weights (loss 0.5): the dispatch is what is tested."""

    def stub(model, x, y, epochs, config, generator) -> float:
        return 0.5 if int(y.shape[0]) else float("nan")

    for module in (sequential, federated, reference):
        monkeypatch.setattr(module, "train_local", stub)


def result_doc(problem: str, solution: dict, **extra) -> dict:
    """A ``daitn-opt solve --json`` document around ``solution``."""
    return {"problem": problem, "solver": "x", "status": "feasible", "solution": solution} | extra


@pytest.fixture(scope="module")
def tfam_solution(healthcare_small) -> dict:
    """A checked T-FAM decision of the instance's batch (it admits federated r2)."""
    from daitn_opt import tfam
    from daitn_opt.registry import solve

    problem = tfam.from_instance(healthcare_small)
    result = solve(problem, "fcfs", time_limit=10)
    assert tfam.check(problem, result.solution).ok and FEDERATED in result.solution["admitted"]
    return result.solution


# -- dispatch by kind and mode ----------------------------------------------------------------------


def test_an_mtrce_result_replays_its_route_sequentially(healthcare_small, no_training):
    doc = result_doc("mtrce", {"routes": [OPTIMAL_R1]}, request=REQUEST)
    doc["instance"] = healthcare_small.name
    out = replay_document(healthcare_small, doc, seed=0)
    assert out.mode == "sequential" and out.policy == "static"
    assert out.summary.visited == OPTIMAL_R1[:-1]
    assert out.notes[-1].startswith("ceiling (trained centrally")


def test_routes_replayed_federated_take_the_inner_nodes_as_clients(healthcare_small, no_training):
    out = replay_document(
        healthcare_small, {"routes": [OPTIMAL_R1]}, mode="federated", request_id=REQUEST
    )
    assert out.mode == "federated"
    assert set(out.summary.visited) == set(OPTIMAL_R1[1:-1])


def test_a_tfam_decision_replays_the_admitted_client_set(
    healthcare_small, tfam_solution, no_training
):
    plan = next(p for p in tfam_solution["plans"] if p["request"] == FEDERATED)
    doc = result_doc("tfam", tfam_solution, instance=healthcare_small.name)
    out = replay_document(healthcare_small, doc, mode="federated")
    assert out.mode == "federated"
    assert set(out.summary.visited) <= set(plan["clients"]) and out.summary.visited
    assert out.summary.planned_utility > 0


def test_a_placement_replays_as_serving(healthcare_small):
    placement = nearest_placement(build_qrrt(healthcare_small))
    out = replay_document(healthcare_small, placement, mode="serving", horizon=5.0, seed=0)
    assert isinstance(out, ServingOutcome) and out.horizon == 5.0 and out.queries > 0


def test_admitted_plan_reads_the_plans_the_decision_states(healthcare_small, tfam_solution):
    """No re-solve, no label parsing: the entry of the solution itself comes back."""
    plan = admitted_plan(healthcare_small, tfam_solution)
    assert plan is next(p for p in tfam_solution["plans"] if p["request"] == FEDERATED)
    rid, clients = admitted_clients(healthcare_small, tfam_solution, FEDERATED)
    assert rid == FEDERATED and clients == {"clients": plan["clients"]}


def test_parse_document_tells_results_from_bare_solutions(healthcare_small):
    kind, request, solution = parse_document(
        result_doc("mtrce", {"routes": [OPTIMAL_R1]}, request=REQUEST), healthcare_small
    )
    assert (kind, request, solution) == ("mtrce", REQUEST, {"routes": [OPTIMAL_R1]})
    assert parse_document({"clients": ["h02"]}, healthcare_small) == (
        None,
        None,
        {"clients": ["h02"]},
    )


# -- one InputError naming the field ------------------------------------------------------------------


def _field(call) -> str:
    with pytest.raises(InputError) as info:
        call()
    return info.value.field


def test_bad_documents_name_the_field(healthcare_small):
    inst = healthcare_small
    routes = {"routes": [OPTIMAL_R1]}
    events = EventTimeline.parse([{"time": 1, "type": "node_down", "node": "h02"}], inst.snapshot)
    cases = {
        "--mode": lambda: replay_document(inst, routes, mode="teleport"),
        "solution": lambda: replay_document(inst, [OPTIMAL_R1]),
        "solution.instance": lambda: replay_document(
            inst, result_doc("mtrce", routes, instance="elsewhere")
        ),
        "solution.status": lambda: replay_document(
            inst, result_doc("mtrce", routes) | {"status": "infeasible"}
        ),
        "solution.problem": lambda: replay_document(
            inst, result_doc("mtrce", routes), mode="serving"
        ),
        "--events": lambda: replay_document(
            inst, nearest_placement(build_qrrt(inst)), mode="serving", events=events
        ),
        "solution.request": lambda: replay_document(
            inst, result_doc("mtrce", routes, request="r99")
        ),
    }
    assert {name: _field(call) for name, call in cases.items()} == {k: k for k in cases}


def test_a_tfam_decision_is_replayed_federated_only(healthcare_small, tfam_solution):
    doc = result_doc("tfam", tfam_solution)
    assert _field(lambda: replay_document(healthcare_small, doc)) == "solution.problem"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s.pop("plans"), "solution.plans"),
        (lambda s: s.update(plans="r2"), "solution.plans"),
        (lambda s: s.update(plans=[7]), "solution.plans[0]"),
        (lambda s: s.update(plans=[]), "solution.plans"),
        (lambda s: s.update(admitted={"r1": 0}, plans=[]), "solution.admitted"),
    ],
)
def test_bad_tfam_decisions_name_the_field(healthcare_small, tfam_solution, change, field):
    """A decision written before solutions stated their plans is refused, not re-solved."""
    solution = copy.deepcopy(tfam_solution)
    change(solution)
    assert _field(lambda: admitted_plan(healthcare_small, solution)) == field


def test_a_stated_plan_must_agree_with_the_admission(healthcare_small, tfam_solution):
    solution = copy.deepcopy(tfam_solution)
    k, plan = next((k, p) for k, p in enumerate(solution["plans"]) if p["request"] == FEDERATED)
    plan["plan"] += 1
    assert _field(lambda: admitted_plan(healthcare_small, solution)) == f"solution.plans[{k}].plan"
    plan["plan"] -= 1
    plan["clients"] = "h02"
    assert _field(lambda: admitted_clients(healthcare_small, solution)) == (
        f"solution.plans[{k}].clients"
    )
    assert _field(lambda: admitted_plan(healthcare_small, tfam_solution, "r1")) == "request"
