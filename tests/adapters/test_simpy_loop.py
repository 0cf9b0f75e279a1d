"""daitn_opt.adapters.simpy_loop: the online DA-ITN loop inside SimPy.

Short horizons (two simulated hours on a 10-hospital network) keep the tests to seconds; the day
runs in ``papers/simpy/day.py``. The assertions check the loop's accounting, that commitments
are respected (no node ever holds more planned jobs than its slots), that without failures every
admitted job is back by its deadline, and that stale snapshots make jobs wait at failed nodes.
"""

from __future__ import annotations

import pytest

pytest.importorskip("simpy")

from daitn_opt.adapters.simpy_loop import LoopConfig, OnlineLoop, run_day
from daitn_opt.drrt.generators import generate
from daitn_opt.errors import InputError
from tests.adapters.helpers import run_example

HOURS = 2 * 3600.0


@pytest.fixture(scope="module")
def network():
    inst = generate("healthcare", nodes=10, seed=2, requests=5)
    requests = [r.model_copy(update={"mode": "sequential"}) for r in inst.requests]
    return inst.model_copy(update={"requests": requests})


def run(network, **changes):
    loop = OnlineLoop(network, LoopConfig(horizon=HOURS, **changes))
    return loop, loop.run()


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    best = level = 0
    for _, step in events:  # an end before a start at the same instant (-1 sorts first)
        level += step
        best = max(best, level)
    return best


def test_the_loop_accounts_for_every_request(network):
    loop, rep = run(network, mtbf=3600.0, seed=1)
    pending = len(loop.pending)
    assert rep.arrived > 10 and rep.admitted > 0
    assert rep.admitted + rep.refused + pending == rep.arrived
    finished = [j for j in loop.jobs if j.finish is not None]
    on_time = [j for j in finished if j.finish <= j.deadline + 1e-6]
    assert len(on_time) + rep.deadline_misses == len(finished)
    assert len(finished) + rep.unfinished == rep.admitted
    assert rep.value_on_time == pytest.approx(sum(j.value for j in on_time))
    assert rep.value_on_time <= rep.admitted_value
    assert rep.decisions == len(rep.latencies) > 0 and rep.failures > 0


def test_committed_slots_are_never_oversubscribed(network):
    loop = OnlineLoop(network, LoopConfig(horizon=3600.0, arrival_gap=60.0, mtbf=1e9, seed=3))
    rep = loop.run()  # a busy network, no failures
    per_node: dict[str, list[tuple[float, float]]] = {}
    for job in loop.jobs:
        for node, start, service in zip(job.route, job.starts, job.service, strict=True):
            if node in loop.slots and service > 0:
                per_node.setdefault(node, []).append((start, start + service))
    assert rep.admitted > 10 and rep.refused > 0  # contention: some requests do not fit
    assert any(max_overlap(v) >= 2 for v in per_node.values())  # slots are shared ...
    for node, intervals in per_node.items():
        assert max_overlap(intervals) <= loop.slots[node], node  # ... never beyond capacity


def test_without_failures_every_admitted_job_is_back_by_its_deadline(network):
    loop, rep = run(network, mtbf=1e9, seed=4)
    assert rep.failures == 0 and rep.waits_at_failed_nodes == 0
    assert rep.deadline_misses == 0 and rep.admitted > 0
    finished = [j for j in loop.jobs if j.finish is not None]
    assert rep.value_on_time == pytest.approx(sum(j.value for j in finished))


def test_a_stale_snapshot_sends_models_to_failed_nodes(network):
    _, fresh = run(network, mtbf=1800.0, mttr=1200.0, refresh=30.0, seed=5)
    _, stale = run(network, mtbf=1800.0, mttr=1200.0, refresh=HOURS, seed=5)
    assert stale.failures == fresh.failures > 0  # the same failures (the same seed)
    assert stale.waits_at_failed_nodes > fresh.waits_at_failed_nodes
    assert stale.waits_at_failed_nodes > 0


def test_exact_and_heuristic_solvers_run_the_same_day(network):
    exact = run_day(
        network, LoopConfig(horizon=HOURS, tfam_solver="highs", mtrce_solver="highs", seed=6)
    )
    heuristic = run_day(network, LoopConfig(horizon=HOURS, seed=6))
    assert exact.arrived == heuristic.arrived  # the same arrivals
    assert exact.row()["solvers"] == "highs+highs" and heuristic.row()["solvers"] == "ls+ils"
    for rep in (exact, heuristic):
        assert rep.admitted > 0 and rep.latency_p95 >= rep.latency_mean > 0


def test_the_loop_needs_a_sequential_request(network):
    fed = network.model_copy(
        update={"requests": [r.model_copy(update={"mode": "federated"}) for r in network.requests]}
    )
    with pytest.raises(InputError, match="sequential"):
        OnlineLoop(fed, LoopConfig())


def test_the_example_runs_both_solver_pairs(tmp_path):
    proc = run_example("simpy/day.py", "--hours", "0.5", "--hospitals", "8", cwd=tmp_path)
    lines = proc.stdout.splitlines()
    assert [ln.split(",")[0] for ln in lines] == ["solvers highs+highs", "solvers ls+ils"]
    assert all("admitted_value" in ln and "latency_mean_s" in ln for ln in lines)
