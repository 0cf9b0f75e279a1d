"""The admission cascade (:mod:`daitn_opt.tfam.cascade`): plans executed on a shared clock."""

from __future__ import annotations

import math

import pytest

from daitn_opt.drrt.generators import generate
from daitn_opt.tfam.cascade import Job, cascade_demo, job_of, replay
from daitn_opt.tfam.plans import candidates

from .helpers import ALL


@pytest.fixture(scope="module")
def crowded():
    """8 hospitals, 8 requests arriving within seconds of each other: the naive admission
    over-subscribes two (node, slot) resources and one admitted request misses its deadline."""
    inst = generate("healthcare", nodes=8, seed=3, requests=8)
    reqs = [r.model_copy(update={"arrival": round(r.arrival * 0.05, 1)}) for r in inst.requests]
    return inst.model_copy(update={"requests": reqs})


def test_replay_queues_on_a_busy_node():
    """Two 10 s jobs on a one-slot node, both ready at 1 s: the second waits and finishes late."""
    jobs = [
        Job("a", 0.0, 20.0, "sequential", steps=[("n", 1.0, 10.0, 0.0)], tail=[1.0]),
        Job("b", 0.0, 20.0, "sequential", steps=[("n", 1.0, 10.0, 0.0)], tail=[1.0]),
    ]
    assert replay(jobs, {"n": 1}) == {"a": 12.0, "b": 22.0}
    assert replay(jobs, {"n": 2}) == {"a": 12.0, "b": 12.0}


def test_a_round_ends_with_its_slowest_client_and_the_verification():
    """Client a: download 2, train 10, upload 3 -> 15; client b: 1 + 5 + 1 -> 7; verify 0.5."""
    job = Job(
        "r",
        0.0,
        math.inf,
        "federated",
        steps=[("a", 2.0, 10.0, 0.0), ("b", 1.0, 5.0, 0.0)],
        tail=[3.0, 1.0],
        verify=0.5,
    )
    assert replay([job], {"a": 1, "b": 1}) == {"r": 15.5}


def test_a_step_waits_for_its_window_and_a_node_without_slots_never_serves():
    waiting = Job("w", 0.0, math.inf, "sequential", steps=[("n", 1.0, 2.0, 5.0)], tail=[1.0])
    assert replay([waiting], {"n": 1}) == {"w": 8.0}  # starts at 5, not at 1
    assert replay([waiting], {"n": 0}) == {"w": math.inf}


@pytest.mark.parametrize("mode", ["sequential", "federated"])
def test_a_plan_alone_finishes_when_it_was_planned_to(crowded, mode):
    """On an idle network the replay of a candidate finishes at its planned completion: the
    executable job and the plan describe the same schedule."""
    checked = 0
    for req in crowded.requests:
        if req.mode != mode:
            continue
        found, v = candidates(crowded, req, count=2)
        for c in found:
            job = job_of(c, v, req.arrival, req.deadline)
            assert job.release == pytest.approx(req.arrival + c.delay)
            assert job.due == pytest.approx(req.arrival + req.deadline)
            done = replay([job], {s[0]: 1 for s in job.steps})
            assert done[req.id] == pytest.approx(req.arrival + c.finish, abs=1e-6)
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("solver", ALL)
def test_every_solvers_admission_meets_its_deadlines_where_the_naive_one_does_not(crowded, solver):
    out = cascade_demo(crowded, solver=solver, time_limit=5)
    assert out["oversubscribed_resources"] > 0 and out["naive"]["missed"] > 0
    assert out["tfam"]["solver"] == solver and out["tfam"]["admitted"] > 0
    assert out["tfam"]["missed"] == 0 and out["tfam"]["total_lateness"] == 0.0
    assert out["plannable"] <= out["requests"] == len(crowded.requests)


@pytest.mark.slow
def test_admission_cascade_naive_misses_deadlines_tfam_does_not():
    """On an over-subscribed batch, FCFS without capacity accounting admits requests that then
    miss their deadline in the replay; every request T-FAM admits finishes on time."""
    inst = generate("healthcare", nodes=10, seed=3, requests=30)
    reqs = [r.model_copy(update={"arrival": round(r.arrival * 0.05, 1)}) for r in inst.requests]
    out = cascade_demo(inst.model_copy(update={"requests": reqs}), solver="highs", time_limit=30)
    assert out["oversubscribed_resources"] > 0
    assert out["naive"]["missed"] > 0
    assert out["tfam"]["missed"] == 0 and out["tfam"]["admitted"] > 0
