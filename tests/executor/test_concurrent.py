"""Concurrent replay: hand-computed timings of slot contention, MPVU queues, windows, clients."""

from __future__ import annotations

import itertools
import math

import pytest

from daitn_opt.drrt.view import view
from daitn_opt.errors import InputError
from daitn_opt.executor.concurrent import Job, Leg, node_slots, replay_concurrent, simulate

from .conftest import OPTIMAL_R1, REQUEST


def two_on_one_slot() -> list[Job]:
    # A: arrives at a at 1, trains 1-5, reaches the end at 7, verified at 8 (due 10).
    # B: arrives at 2, waits for A until 5, trains 5-9, end at 10, verified at 11 (due 9);
    #    alone it would finish at 2 + 4 + 1 + 1 = 8: slack 1 < wait 3, so it is starved.
    a = Job("A", 0.0, 10.0, [Leg("a", 1.0, 4.0)], tail=2.0, verify=1.0)
    b = Job("B", 0.0, 9.0, [Leg("a", 2.0, 4.0)], tail=1.0, verify=1.0)
    return [a, b]


def test_two_requests_contend_for_one_slot() -> None:
    out = simulate(two_on_one_slot(), {"a": 1})
    a, b = out.requests
    assert (a.finish, a.slot_wait, a.deadline_met) == (8.0, 0.0, True)
    assert (b.finish, b.slot_wait, b.alone_finish) == (11.0, 3.0, 8.0)
    assert not b.deadline_met and b.starved and b.cause == "slots"
    s = out.summary()
    assert (s["met"], s["missed"], s["starved"], s["deadlocks"]) == (1, 1, 1, 0)


def test_two_slots_remove_the_wait() -> None:
    # no slot wait, but both reach the MPVU at 7: B is verified 8-9, just by its deadline
    out = simulate(two_on_one_slot(), {"a": 2})
    assert [r.finish for r in out.requests] == [8.0, 9.0]
    assert [r.verify_wait for r in out.requests] == [0.0, 1.0]
    assert all(r.deadline_met and r.slot_wait == 0 for r in out.requests)


def test_mpvu_queue_of_three() -> None:
    # four models reach the single MPVU at 0; verification takes 2 s each: one in service,
    # three waiting; queue 3, 2, 1, 0 over [0, 2), [2, 4), [4, 6), [6, 8): mean 12 / 8.
    jobs = [Job(f"r{i}", 0.0, 5.0, verify=2.0) for i in range(4)]
    out = simulate(jobs, {})
    assert [r.finish for r in out.requests] == [2.0, 4.0, 6.0, 8.0]
    assert [r.verify_wait for r in out.requests] == [0.0, 2.0, 4.0, 6.0]
    assert [r.cause for r in out.requests] == ["", "", "mpvu", "mpvu"]
    (m,) = out.mpvus
    assert (m.verified, m.max_queue, m.mean_queue, m.busy) == (4, 3, 1.5, 8.0)
    # three MPVUs, join the shortest queue: three start at once, the fourth waits 2 s
    out3 = simulate(jobs, {}, mpvus=3, seed=1)
    assert sorted(r.finish for r in out3.requests) == [2.0, 2.0, 2.0, 4.0]
    assert max(m.max_queue for m in out3.mpvus) == 1
    assert out3.summary()["missed"] == 0


def test_window_and_federated_clients() -> None:
    # window opens at 5: arrives at 1, trains 5-7, verified at 7 + 1 + 1 = 9
    seq = Job("s", 0.0, 20.0, [Leg("a", 1.0, 2.0, earliest=5.0)], tail=1.0, verify=1.0)
    # clients at b (1 + 3 + 2 = 6) and c (2 + 1 + 1 = 4); verified at 6 + 1 = 7
    fed = Job("f", 0.0, 6.5, [Leg("b", 1.0, 3.0, 0.0, 2.0), Leg("c", 2.0, 1.0, 0.0, 1.0)])
    fed.parallel, fed.verify = True, 1.0
    out = simulate([seq, fed], {"a": 1, "b": 1, "c": 1})
    assert [r.finish for r in out.requests] == [9.0, 7.0]
    assert out.requests[1].cause == "alone" and fed.alone() == 7.0


def test_zero_slots_leave_a_model_stuck() -> None:
    out = simulate([Job("x", 0.0, 5.0, [Leg("dead", 0.0, 1.0)])], {"dead": 0})
    (r,) = out.requests
    assert r.finish is None and r.cause == "stuck" and r.starved
    assert out.summary()["stuck"] == 1


def test_bad_mpvu_count() -> None:
    with pytest.raises(InputError):
        simulate([], {}, mpvus=0)


def test_instance_plans_alone_and_duplicated(healthcare_small) -> None:
    v = view(healthcare_small, REQUEST)
    pos = [v.ids.index(x) for x in OPTIMAL_R1]
    alone = sum(v.transfer[i, j] for i, j in itertools.pairwise(pos))
    alone += sum(v.train_time[k] for k in pos) + v.verify_time
    plan = {"request": REQUEST, "route": OPTIMAL_R1, "start": 0.0}
    (r,) = replay_concurrent(healthcare_small, [plan]).requests
    assert r.finish == pytest.approx(alone) and r.slot_wait == 0.0
    # the same plan twice at once: the second waits for the first node's slots
    first = OPTIMAL_R1[1]
    slots = node_slots(healthcare_small)[first]
    two = replay_concurrent(healthcare_small, [plan] * slots + [plan]).requests
    assert two[-1].slot_wait >= v.train_time[v.ids.index(first)] - 1e-9
    assert two[-1].finish > two[0].finish and math.isfinite(two[-1].finish)
    # unlimited slots: only the MPVU is shared, the copies differ by its verification
    free = replay_concurrent(healthcare_small, [plan] * 2, slots={}).requests
    assert [r.slot_wait for r in free] == [0.0, 0.0]
    assert free[1].verify_wait == pytest.approx(v.verify_time)


def test_experiment_batch_redraws_arrivals_at_the_rate() -> None:
    from daitn_opt.papers.daitn.concurrent import batch

    inst = batch(0, 2.0)
    arrivals = [r.arrival for r in inst.requests]
    assert all(r.mode == "sequential" for r in inst.requests)
    assert arrivals == sorted(arrivals) and arrivals[0] > 0
    assert arrivals[-1] < 10 * len(arrivals) / 2.0  # Poisson: mean gap 0.5 s


@pytest.mark.slow
def test_experiment_independent_plans_starve_where_tfam_does_not() -> None:
    from daitn_opt.papers.daitn.common import Settings
    from daitn_opt.papers.daitn.concurrent import run_seed

    rows = run_seed(0, (5.0,), Settings.of(True))
    by = {(r["planner"], r["mpvus"]): r for r in rows}
    assert by["independent", 1]["starved"] > 0
    assert by["tfam", 1]["missed"] == 0 and by["tfam", 3]["missed"] == 0
    assert all(r["deadlocks"] == 0 for r in rows)
    # with unlimited slots only the MPVU is shared: three servers shorten its queue
    assert by["free", 3]["max_mpvu_queue"] < by["free", 1]["max_mpvu_queue"]
    assert by["free", 1]["starved"] == 0
