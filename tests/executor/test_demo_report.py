"""Mirror of demo_report.py: the typed rows keep the layout demo.json and the CLI read."""

from __future__ import annotations

import json
import math

import pytest

from daitn_opt.demo_report import (
    AdmissionRow,
    DemoReport,
    DynamicsRow,
    FederatedRow,
    PlanRow,
    format_gap,
    mean_finite,
)


def report() -> DemoReport:
    rep = DemoReport("inst", "r1", 79.0, 0.9, [0, 1])
    rep.plans.append(PlanRow("exact HiGHS", "highs", "optimal", utility=1.5, gap=0.0))
    rep.dynamics.append(
        DynamicsRow("static", "h07", 12.5, 80.0, 100.0, math.nan, True, ["owner"], ["lost"])
    )
    rep.admission["highs"] = AdmissionRow("optimal", 322.0, {"r2": 2}, [], True, 0.03)
    return rep


def test_rows_read_as_attributes_and_as_keys():
    rep = report()
    d = rep.dynamics[0]
    assert d["policy"] == d.policy == "static" and rep.admission["highs"]["admitted"] == {"r2": 2}
    with pytest.raises(KeyError):
        d["no_such_column"]


def test_demo_json_keeps_the_dict_layout():
    """The keys (and their order) of demo.json are those the dict rows had."""
    doc = report().to_dict()
    assert list(doc) == [
        "instance", "request", "deadline", "target_accuracy", "seeds", "plans", "dynamics",
        "admission", "federated", "reference", "serving", "missing", "files", "wall_time", "notes",
    ]  # fmt: skip
    assert list(doc["dynamics"][0]) == [
        "policy", "failed", "at", "utility", "planned_utility", "final_accuracy", "deadline_met",
        "visited", "notes",
    ]  # fmt: skip
    assert doc["dynamics"][0]["final_accuracy"] is None  # nan is not JSON
    assert list(doc["admission"]["highs"]) == [
        "status", "value", "admitted", "refused", "checked", "solve_time",
    ]  # fmt: skip
    assert doc["federated"] == {}  # no FedAvg replay: an empty object, as before
    json.dumps(doc)


def test_a_federated_row_serialises_in_its_column_order():
    rep = report()
    rep.federated = FederatedRow("r2", "{h02}", ["h02"], 3, 0.9, 10, 30.0, 40.0, True, [])
    assert list(rep.to_dict()["federated"]) == [
        "request", "plan", "clients", "rounds", "final_accuracy", "bytes_moved", "finish_time",
        "deadline", "deadline_met", "notes",
    ]  # fmt: skip
    assert bool(rep.federated) and rep.federated["clients"] == ["h02"]


def test_helpers():
    assert mean_finite([0.5, math.nan, 0.7]) == pytest.approx(0.6)
    assert mean_finite([math.nan]) is None
    assert (format_gap(0.0123), format_gap(None), format_gap(math.nan)) == ("1.2%", "-", "-")
