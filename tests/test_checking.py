"""daitn_opt.checking: the checkers' verdict (CheckReport) and the shape test of solution
documents that every checker runs first."""

from __future__ import annotations

import math

import pytest

from daitn_opt.checking import CheckReport, is_kind, shape_error


def test_a_report_without_violations_is_ok():
    assert CheckReport(3.0).ok
    assert not CheckReport(3.0, ["x"]).ok


@pytest.mark.parametrize(
    ("recomputed", "claimed", "ok"),
    [
        (100.0, 100.0, True),
        (100.0, 100.0 + 1e-5, True),  # within 1e-6 relative
        (100.0, 100.1, False),
        (0.0, 1e-7, True),  # absolute near zero
        (0.0, 1e-3, False),
        (5.0, None, True),  # nothing claimed: nothing to compare
        (None, 5.0, True),  # nothing recomputed (no solution)
    ],
)
def test_compare_objective_adds_one_violation_when_the_claim_differs(recomputed, claimed, ok):
    report = CheckReport(recomputed).compare_objective(claimed)
    assert report.ok is ok
    if not ok:
        assert report.violations == [
            f"claimed objective {claimed:.10g} differs from recomputed {recomputed:.10g}"
        ]


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("a", "str", True),
        (1, "str", False),
        (3, "int", True),
        (2**53, "int", True),
        (2**53 + 1, "int", False),  # not exact in JSON
        (3.5, "int", False),
        (True, "int", False),
        (True, "number", False),
        (3, "number", True),
        (2.5, "number", True),
        (math.inf, "number", False),
        (math.nan, "number", False),
        (None, "number", False),
        (None, "any", True),
    ],
)
def test_json_kinds(value, kind, expected):
    assert is_kind(value, kind) is expected


SHAPE = {"routes": [["str"]], "?count": "int", "weights": ("map", "number")}


@pytest.mark.parametrize(
    ("doc", "field", "reason"),
    [
        ([], "solution", "expected an object"),
        ({"weights": {}}, "solution.routes", "missing"),
        ({"routes": "a", "weights": {}}, "solution.routes", "expected a list"),
        ({"routes": [["a", 1]], "weights": {}}, "solution.routes[0][1]", "expected a str"),
        ({"routes": [], "count": 1.5, "weights": {}}, "solution.count", "expected a int"),
        ({"routes": [], "weights": []}, "solution.weights", "expected an object"),
        ({"routes": [], "weights": {"a": "x"}}, "solution.weights.a", "expected a number"),
    ],
)
def test_shape_error_names_the_first_bad_place(doc, field, reason):
    err = shape_error(doc, SHAPE)
    assert err is not None
    assert err.field == field and reason in str(err)


def test_a_document_of_the_shape_passes_and_extra_keys_are_ignored():
    doc = {"routes": [["a", "b"], []], "weights": {"a": 1, "b": 2.5}, "note": object()}
    assert shape_error(doc, SHAPE) is None
    assert shape_error({**doc, "count": 3}, SHAPE) is None


def test_containers_are_shown_short_in_the_message():
    err = shape_error({"routes": {"deep": list(range(1000))}, "weights": {}}, SHAPE)
    assert "{...}" in str(err) and "999" not in str(err)
