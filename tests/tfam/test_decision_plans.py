"""A T-FAM decision describes itself: each admitted request's plan, checked against the problem."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from daitn_opt import solve
from daitn_opt.drrt.instance import load_instance
from daitn_opt.mtrce import from_instance as route_problem
from daitn_opt.mtrce.solution import schedule
from daitn_opt.result import Result
from daitn_opt.tfam import check, from_instance

from .helpers import knapsack

INSTANCE = Path(__file__).resolve().parents[2] / "instances" / "healthcare-small.json"


@pytest.fixture(scope="module")
def instance():
    return load_instance(INSTANCE)


@pytest.fixture(scope="module")
def decided(instance):
    problem = from_instance(instance)
    return problem, solve(problem, "highs", time_limit=20)


def test_every_admitted_request_carries_its_plan(instance, decided):
    problem, result = decided
    plans = result.solution["plans"]
    assert [e["request"] for e in plans] == list(result.solution["admitted"])
    modes = {r.id: r.mode for r in instance.requests}
    arrival = {r.id: r.arrival for r in instance.requests}
    deadline = {r.id: r.deadline for r in instance.requests}
    for entry in plans:
        rid = entry["request"]
        assert entry["plan"] == result.solution["admitted"][rid]
        key = "clients" if modes[rid] == "federated" else "route"
        assert entry[key] and ("route" if key == "clients" else "clients") not in entry
        assert arrival[rid] <= entry["start"] < entry["finish"]
        assert entry["finish"] <= arrival[rid] + deadline[rid] + 1e-6
        p = int(problem.plan_start[problem.request_ids.index(rid)]) + entry["plan"]
        assert entry["label"] == problem.plan_labels[p]
    assert {"clients" in e for e in plans} == {True, False}  # both modes admitted here
    assert check(problem, result.solution).ok


def test_a_route_plan_finishes_when_the_route_schedule_says(instance, decided):
    """The plan's finish is MTRCE's schedule of its route, started at the plan's start."""
    _, result = decided
    entry = next(e for e in result.solution["plans"] if "route" in e and e["start"] == 0.0)
    rp = route_problem(instance, entry["request"])
    position = {node: i for i, node in enumerate(rp.ids)}
    _, _, completion, feasible = schedule(rp, [position[n] for n in entry["route"]])
    assert feasible and entry["finish"] == pytest.approx(completion)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda e: e.update(clients=["h99"]), "clients"),
        (lambda e: e.update(start=e["start"] + 60.0), "start"),
        (lambda e: e.update(finish=1.0), "finish"),
        (lambda e: e.update(label="{h1}"), "label"),
        (lambda e: e.update(plan=e["plan"] + 1), "is admitted"),
    ],
)
def test_the_checker_refuses_a_plan_that_is_not_the_admitted_one(decided, change, words):
    problem, result = decided
    solution = copy.deepcopy(result.solution)
    change(next(e for e in solution["plans"] if "clients" in e))
    report = check(problem, solution)
    assert not report.ok and any(words in v for v in report.violations), report.violations


def test_the_checker_wants_one_plan_per_admitted_request(decided):
    problem, result = decided
    solution = copy.deepcopy(result.solution)
    dropped = solution["plans"].pop()
    assert any(dropped["request"] in v for v in check(problem, solution).violations)
    solution["plans"] += [dropped, dropped]
    assert not check(problem, solution).ok


def test_the_description_survives_json(decided):
    problem, result = decided
    again = Result.from_dict(json.loads(result.to_json()))
    assert again.solution["plans"] == result.solution["plans"]
    assert check(problem, again.solution).ok


def test_an_explicit_batch_describes_its_plans_by_label():
    """A knapsack has no clients, route or times: only request, plan and label are stated."""
    result = solve(knapsack(), "highs", time_limit=5)
    assert result.solution["plans"] == [
        {"request": rid, "plan": 0, "start": None, "finish": None, "label": ""}
        for rid in ("i1", "i2", "i3")
    ]
    assert check(knapsack(), result.solution).ok
