"""Direct API callers get one InputError naming the field (issue 10, item 4), not a crash."""

from __future__ import annotations

import pytest

from daitn_opt.errors import InputError
from daitn_opt.executor.dynamics import EventTimeline
from daitn_opt.executor.replay import admitted_clients, parse_document
from daitn_opt.executor.serving import routes_of_placement


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"type": "node_down", "node": "h02", "time": True}, "events[0].time"),
        ({"type": "node_down", "node": "h02", "time": "x"}, "events[0].time"),
        ({"type": "node_down", "node": "h02", "time": "3"}, "events[0].time"),
        ({"type": "node_down", "node": "h02", "time": 1e300}, "events[0].time"),
        ({"type": "data_added", "node": "h02", "time": 1, "samples": 2.5}, "events[0].samples"),
        ({"type": "data_added", "node": "h02", "time": 1, "samples": True}, "events[0].samples"),
        ({"type": "data_aged", "node": "h02", "time": 1, "days": "10"}, "events[0].days"),
        (
            {"type": "link_slowed", "source": "h02", "target": "h07", "time": 1, "factor": "2"},
            "events[0].factor",
        ),
    ],
)
def test_events_are_strict_like_the_snapshot(healthcare_small, event, field):
    """`time: true` used to mean 1 s and `"3"` 3 s; a bool or a string is not a number."""
    with pytest.raises(InputError) as info:
        EventTimeline.parse([event], healthcare_small.snapshot)
    assert info.value.field == field


def test_well_formed_events_still_parse(healthcare_small):
    events = [
        {"type": "node_down", "node": "h02", "time": 3},
        {"type": "data_aged", "node": "h02", "time": 1.5, "days": 10},
    ]
    timeline = EventTimeline.parse(events, healthcare_small.snapshot)
    assert [e.time for e in timeline.events] == [1.5, 3.0]


def test_admitted_clients_validates_the_tfam_solution(healthcare_small):
    """A non-integer plan index used to raise a bare ValueError from int('x')."""
    for bad in ({"admitted": {"r2": "x"}}, {"admitted": {"r2": 1.5}}, {"admitted": []}):
        with pytest.raises(InputError, match=r"solution\.admitted"):
            admitted_clients(healthcare_small, bad)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (
            {
                "problem": "tfam",
                "solver": "ls",
                "status": "feasible",
                "solution": {"admitted": {"r2": "x"}},
            },
            "solution.solution.admitted",
        ),
        (
            {
                "problem": "qirce",
                "solver": "ls",
                "status": "feasible",
                "solution": {"deployments": [{"model": 1}]},
            },
            "solution.solution.deployments[0].model",
        ),
        ({"problem": "mtrce", "solver": "ils", "status": "feasible", "trace": [[1]]}, "trace"),
        (
            {"problem": "mtrce", "solver": "ils", "status": "feasible", "objective": "9"},
            "objective",
        ),
        ({"deployments": "x"}, "solution.deployments"),
        ({"admitted": {"r1": None}}, "solution.admitted"),
    ],
)
def test_parse_document_validates_the_solution(healthcare_small, doc, field):
    with pytest.raises(InputError) as info:
        parse_document(doc, healthcare_small)
    assert field in info.value.field


@pytest.mark.parametrize(
    ("placement", "field"),
    [
        (
            {"routes": [{"demand": "d", "facility": "f", "fraction": "half"}]},
            "solution.routes[0].fraction",
        ),
        ({"routes": [{"facility": "f"}]}, "solution.routes[0].demand"),
        ({"routes": [], "open": "f1"}, "solution.open"),
    ],
)
def test_routes_of_placement_validates_the_qirce_solution(placement, field):
    with pytest.raises(InputError) as info:
        routes_of_placement(placement)
    assert info.value.field == field
