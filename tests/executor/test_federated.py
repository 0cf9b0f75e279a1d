"""Federated replay: FedAvg rounds, the slowest client sets the round time, bytes per round."""

from __future__ import annotations

import pytest

from daitn_opt.errors import InputError
from daitn_opt.executor import model_bytes, replay_federated, select_clients
from daitn_opt.executor.models import mlp

from .conftest import REQUEST


def test_rounds_time_bytes_and_accuracy(healthcare_small, hc_view):
    v = hc_view
    clients = select_clients(v, "top-k", k=3)
    out = replay_federated(healthcare_small, clients, request_id=REQUEST, rounds=3, seed=0)
    rounds = [s for s in out.trace if s.action == "round"]
    assert len(rounds) == 3
    s = v.start
    idx = [v.ids.index(c) for c in clients]
    slowest = max(
        max(v.transfer[s, j], v.window_open[j]) + v.train_time[j] + v.transfer[j, s] for j in idx
    )
    assert [r.time for r in rounds] == pytest.approx([slowest, 2 * slowest, 3 * slowest])
    nbytes = model_bytes(mlp((30,), 2))
    assert all(r.bytes == 2 * nbytes * 3 for r in rounds)
    assert out.summary.bytes_moved == 3 * 2 * nbytes * 3 + nbytes  # + final model to the MPVU
    assert out.summary.finish_time == pytest.approx(
        3 * slowest + v.transfer[v.start, v.end] + v.verify_time
    )
    assert rounds[-1].accuracy > out.trace[0].accuracy + 0.2  # it really learned
    again = replay_federated(healthcare_small, clients, request_id=REQUEST, rounds=3, seed=0)
    assert again.fingerprint() == out.fingerprint()


def test_deadline_driven_rounds_end_in_time(healthcare_small):
    out = replay_federated(healthcare_small, None, request_id=REQUEST, seed=1)
    assert out.summary.deadline_met
    assert sum(s.action == "round" for s in out.trace) >= 1


def test_bad_clients(healthcare_small, hc_view):
    with pytest.raises(InputError, match="cannot train"):
        replay_federated(healthcare_small, ["owner"], request_id=REQUEST)
    with pytest.raises(InputError, match="listed twice"):
        c = select_clients(hc_view, "top-k", k=1)
        replay_federated(healthcare_small, c + c, request_id=REQUEST)
    with pytest.raises(InputError, match="selection"):
        select_clients(hc_view, "best")


def test_client_down_sits_out(healthcare_small, hc_view):
    from daitn_opt.executor.dynamics import EventTimeline

    clients = select_clients(hc_view, "top-k", k=3)
    events = EventTimeline.parse(
        [{"time": 0, "type": "node_down", "node": clients[0]}], healthcare_small.snapshot
    )
    out = replay_federated(
        healthcare_small, clients, request_id=REQUEST, rounds=2, seed=0, events=events
    )
    assert clients[0] in out.summary.skipped and clients[0] not in out.summary.visited
    assert all("2 clients" in s.note for s in out.trace if s.action == "round")


def test_tfam_solution_gives_the_client_set(healthcare_small):
    from daitn_opt import tfam
    from daitn_opt.executor.replay import replay_document
    from daitn_opt.registry import solve

    result = solve(tfam.from_instance(healthcare_small), "fcfs", time_limit=10)
    doc = result.to_dict() | {"instance": healthcare_small.name}
    out = replay_document(healthcare_small, doc, mode="federated", seed=0)
    fed = [r.id for r in healthcare_small.requests if r.mode == "federated"]
    assert out.mode == "federated" and out.summary.visited
    assert set(out.summary.visited) <= set(healthcare_small.snapshot.ids())
    assert any(r in result.solution["admitted"] for r in fed)
