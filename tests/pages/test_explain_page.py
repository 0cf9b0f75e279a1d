"""Explanation pages: what each problem kind's page draws, counted in the HTML."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from daitn_opt.drrt.instance import Instance
from daitn_opt.drrt.view import view
from daitn_opt.errors import InputError
from daitn_opt.pages import explain_html, write_explain
from daitn_opt.pages.tfam_page import binding_reason
from daitn_opt.result import Result
from daitn_opt.tfam.problem import Problem as AdmissionProblem

from .conftest import Dom, rows_of


def test_mtrce_page_draws_every_node_the_route_and_the_view(
    small: Instance, route_result: Result
) -> None:
    page = explain_html(small, route_result)
    dom = Dom(page)
    assert dom.select("", "body")[0].attrs["data-page"] == "explain-mtrce"
    markers = dom.select("node")
    assert sorted(m.attrs["data-id"] for m in markers) == sorted(small.snapshot.ids())
    assert len(dom.select("link")) == small.snapshot.num_links
    down = [lk for lk in small.snapshot.links if not lk.up] + [
        lk
        for lk in small.snapshot.links
        if lk.up and not all(small.snapshot.node(e).up for e in (lk.source, lk.target))
    ]
    assert len(dom.select("down", "line")) == len(down) > 0  # h01 is down
    routes = route_result.solution["routes"]
    assert len(dom.select("route", "path")) == len(routes) == 1
    v = view(small, route_result.request)
    assert len(rows_of(page, "view-excluded")) == len(v.excluded) > 0
    excluded = {m.attrs["data-id"] for m in markers if m.attrs["data-role"] == "excluded"}
    assert excluded == set(v.excluded)
    assert len(rows_of(page, "view-eligible")) == v.n
    # the schedule: one timeline row and one table row per stop, ending at the MPVU
    stops = rows_of(page, "schedule")
    assert [s[2] for s in stops] == routes[0]
    assert len(dom.select("row", "g")) == len(routes[0])
    assert len(dom.select("training", "rect")) == len(routes[0]) - 2  # start, end: no training
    assert len(dom.select("verification", "rect")) == 1
    assert len(dom.select("vline", "line")) == 1  # the deadline
    arrivals = [float(s[3]) for s in stops]
    assert arrivals == pytest.approx(route_result.solution["arrivals"][0], rel=1e-4)
    assert "checker verified" in page


def test_a_rejected_decision_is_drawn_with_its_violations(small: Instance) -> None:
    v = view(small, "r1")
    inner = [i for i in v.ids if i not in (v.ids[v.start], v.ids[v.end])]
    two = {
        "routes": [
            [v.ids[v.start], inner[0], v.ids[v.end]],
            [v.ids[v.start], inner[1], inner[2], v.ids[v.end]],
        ]
    }
    page = explain_html(
        small,
        {
            "problem": "mtrce",
            "solver": "hand",
            "status": "feasible",
            "solution": two,
            "request": "r1",
        },
    )
    dom = Dom(page)
    assert len(dom.select("route", "path")) == 2
    assert "independent checker found violations" in page
    assert len(rows_of(page, "schedule")) == 3 + 4


def test_tfam_page_lists_every_request_with_its_decision(
    small: Instance, tfam_result: Result
) -> None:
    page = explain_html(small, tfam_result)
    rows = rows_of(page, "requests")
    assert [r[0] for r in rows] == [q.id for q in small.requests]
    decided = {r[0]: r[3] for r in rows}
    admitted = tfam_result.solution["admitted"]
    assert {rid for rid, d in decided.items() if d == "admitted"} == set(admitted)
    assert decided["r3"] == "unplannable"  # no plan of r3 meets its target (see the instance)
    dom = Dom(page)
    assert len(dom.select("route", "path")) == len(admitted)
    assert len(dom.select("admitted", "rect")) == len(admitted)  # timed plans: one bar each
    assert len(dom.select("deadline", "line")) == len(small.requests)


def test_a_refused_request_names_the_resource_that_binds() -> None:
    # two requests, one slot: admitting r0 leaves r1's only plan over capacity
    problem = AdmissionProblem(
        request_ids=["r0", "r1", "r2"],
        plan_start=np.array([0, 1, 2, 3]),
        value=np.array([3.0, 2.0, 1.0]),
        use=np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
        capacity=np.array([1.0, 1.0]),
        resource_ids=["h1@0", "h2@0"],
        must_admit=np.zeros(3, dtype=bool),
        arrival=np.zeros(3),
        plan_labels=["s>h1>e", "s>h1>e", "s>h2>e"],
    )
    choice = np.array([0, -1, -1])
    why = binding_reason(problem, choice, 1)
    assert why.startswith("capacity: its only plan 0 (s>h1>e) needs 1 of h1@0")
    assert "held by r0" in why
    assert "fits the capacity left" in binding_reason(problem, choice, 2)


def test_qirce_page_draws_one_path_per_query_route(small: Instance, qirce_result: Result) -> None:
    page = explain_html(small, qirce_result)
    dom = Dom(page)
    routes = qirce_result.solution["routes"]
    assert len(dom.select("route", "path")) == len(routes)
    assert len(rows_of(page, "query-routes")) == len(routes)
    assert len(dom.select("within", "rect")) + len(dom.select("over", "rect")) == len(routes)
    assert len(dom.select("SLO", "line")) == len(routes)
    models = {r["demand"].split("/")[1] for r in routes}
    assert {r[0] for r in rows_of(page, "per-model")} == models
    facilities = rows_of(page, "facilities")
    deployed = {d["facility"] for d in qirce_result.solution["deployments"]}
    assert {f[0] for f in facilities if f[1] != "-"} == deployed


def test_a_replay_adds_its_accuracy_curve(small: Instance, route_result: Result) -> None:
    steps = [
        {"time": 0.0, "node": "owner", "action": "start", "accuracy": 0.4, "loss": math.nan},
        {"time": 9.0, "node": "h02", "action": "train", "accuracy": 0.7, "loss": 0.5},
        {"time": 12.0, "node": "h07", "action": "skip", "accuracy": None, "note": "down"},
        {"time": 30.0, "node": "h11", "action": "train", "accuracy": 0.9, "loss": 0.3},
    ]
    replay = {
        "label": "static",
        "mode": "sequential",
        "policy": "static",
        "seed": 0,
        "trace": steps,
        "summary": {
            "final_accuracy": 0.9,
            "target_accuracy": 0.85,
            "time_to_target": 30.0,
            "deadline_met": True,
        },
        "notes": ["ceiling 0.95"],
    }
    page = explain_html(small, route_result, replay=replay)
    dom = Dom(page)
    charts = dom.select("replay", "svg")
    assert len(charts) == 1
    assert len(dom.select("point", "circle")) >= 3  # the three evaluated steps
    assert len(rows_of(page, "replay-steps")) == 4
    assert "ceiling 0.95" in page


def test_write_explain_takes_paths_and_refuses_another_instance(
    small: Instance, route_result: Result, tmp_path: Path
) -> None:
    doc = tmp_path / "route.json"
    doc.write_text(route_result.to_json(), encoding="utf-8")
    out = write_explain(
        Path(__file__).parents[2] / "instances" / "healthcare-small.json",
        doc,
        tmp_path / "page.html",
    )
    assert out.read_text(encoding="utf-8").count('class="route"') == 1
    other = Result.from_dict({**route_result.to_dict(), "instance": "elsewhere"})
    with pytest.raises(InputError, match=r"solution\.instance"):
        explain_html(small, other)
    with pytest.raises(InputError, match="--request"):
        explain_html(small, route_result, request="r2")


def test_nodes_without_positions_are_laid_on_a_circle() -> None:
    from daitn_opt.drrt.snapshot import Snapshot
    from daitn_opt.pages.mapview import layout, snapshot_map

    snap = Snapshot.model_validate(
        {
            "nodes": [
                {"id": "a", "kind": "data", "position": {"x": 0.0, "y": 0.0}},
                {"id": "b", "kind": "data", "position": {"x": 10.0, "y": 0.0}},
                {"id": "c", "kind": "compute"},
                {"id": "d", "kind": "compute"},
            ],
            "links": [{"source": "a", "target": "c", "latency": 1.0, "up": False}],
        }
    )
    pos = layout(snap)
    assert pos["a"] == (0.0, 0.0) and pos["b"] == (10.0, 0.0)
    assert len(set(pos.values())) == 4  # the two without a position get distinct places
    dom = Dom(snapshot_map(snap))
    assert len(dom.select("node")) == 4 and len(dom.select("down", "line")) == 1


def test_a_bare_solution_is_explained_as_its_kind(small: Instance, qirce_result: Result) -> None:
    page = explain_html(small, dict(qirce_result.solution))
    assert Dom(page).select("", "body")[0].attrs["data-page"] == "explain-qirce"
    assert len(rows_of(page, "query-routes")) == len(qirce_result.solution["routes"])
    with pytest.raises(InputError, match="bare solution"):
        explain_html(small, {"nothing": 1})


@pytest.mark.slow
def test_a_real_replay_outcome_is_drawn(small: Instance, route_result: Result) -> None:
    from daitn_opt.executor.replay import replay_document

    outcome = replay_document(small, route_result.to_dict(), mode="sequential", seed=0)
    page = explain_html(small, route_result, replay=outcome)
    times, _ = outcome.curve()
    assert len(Dom(page).select("point", "circle")) >= len(times)
    assert len(rows_of(page, "replay-steps")) == len(outcome.trace)


def test_a_solver_name_with_markup_is_shown_as_text(small: Instance, qirce_result: Result) -> None:
    doc = {**qirce_result.to_dict(), "solver": "<img src=x onerror=alert(1)>"}
    dom = Dom(explain_html(small, doc))
    assert not [el for el in dom.elements if el.tag == "img"]
    assert "<img src=x onerror=alert(1)>" in "".join(dom.text)
