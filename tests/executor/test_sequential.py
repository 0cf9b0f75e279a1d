"""Sequential replay: the clock follows the view, bytes follow the hops, seeds fix the trace."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from daitn_opt.errors import InputError
from daitn_opt.executor import SequentialReplay, model_bytes
from daitn_opt.mtrce import check, from_instance
from daitn_opt.registry import solve

from .conftest import REQUEST


def expected_schedule(v, route):
    """Independent recomputation of the simulated clock from the view's arrays."""
    idx = [v.ids.index(n) for n in route]
    t = max(0.0, v.window_open[idx[0]]) + v.train_time[idx[0]]
    times = []
    for a, b in itertools.pairwise(idx):
        t = max(t + v.transfer[a, b], v.window_open[b]) + v.train_time[b]
        times.append(t)
    return times, t + v.verify_time


def test_clock_bytes_and_utility_follow_the_view(replay_r1, hc_view, optimal_route):
    out = replay_r1.run({"routes": [optimal_route]})
    times, finish = expected_schedule(hc_view, optimal_route)
    trained = [s for s in out.trace if s.action == "train"]
    assert [s.node for s in trained] == optimal_route[1:-1]
    assert [s.time for s in trained] == pytest.approx(times[:-1], rel=1e-12)
    assert out.summary.finish_time == pytest.approx(finish, rel=1e-12)
    assert out.summary.deadline_met and finish <= hc_view.deadline
    nbytes = model_bytes(replay_r1.new_model())
    assert out.summary.bytes_moved == nbytes * (len(optimal_route) - 1)
    utility = sum(hc_view.utility[hc_view.ids.index(n)] for n in optimal_route)
    assert out.summary.utility_collected == pytest.approx(utility)
    # Every visit really trained on that node's samples x the request's epochs.
    epochs = replay_r1.request.epochs
    for s in trained:
        assert s.samples == replay_r1.data.nodes[s.node].samples * epochs
        assert 0.0 <= s.accuracy <= 1.0 and math.isfinite(s.loss)


def test_same_seed_same_trace_bit_for_bit(healthcare_small, optimal_route):
    a = SequentialReplay(healthcare_small, REQUEST, seed=7).run({"routes": [optimal_route]})
    b = SequentialReplay(healthcare_small, REQUEST, seed=7).run({"routes": [optimal_route]})
    c = SequentialReplay(healthcare_small, REQUEST, seed=8).run({"routes": [optimal_route]})
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()
    # Replaying twice on the same object is also identical (datasets are restored).
    rep = SequentialReplay(healthcare_small, REQUEST, seed=7)
    assert rep.run({"routes": [optimal_route]}).fingerprint() == a.fingerprint()


def test_optimal_route_beats_random_order_on_accuracy(healthcare_small, optimal_route):
    """The MTRCE-optimal route reaches higher accuracy within the deadline than random orders.

    Request r1 of instances/healthcare-small.json, its proved optimum (utility 141.3) against the
    ``random`` MTRCE solver's feasible random orders (utility 33-93), seeds 0-15, MLP, SGD lr
    0.01, 5 local epochs. Measured when written: mean final accuracy 0.890 (optimal) vs 0.817
    (random), mean difference 0.072 (standard error 0.028); the test asks for 0.03. Both meet the
    deadline by construction; the test checks it on the replay's clock.
    """
    problem = from_instance(healthcare_small, REQUEST)
    opt_acc, rnd_acc = [], []
    for seed in range(16):
        rnd = solve(problem, "random", time_limit=5, seed=seed)
        assert check(problem, rnd.solution).ok
        rep = SequentialReplay(healthcare_small, REQUEST, seed=seed)
        o = rep.run({"routes": [optimal_route]}, label="optimal")
        r = rep.run(rnd.solution, label="random")
        assert o.summary.deadline_met and r.summary.deadline_met
        opt_acc.append(o.summary.final_accuracy)
        rnd_acc.append(r.summary.final_accuracy)
    assert np.mean(opt_acc) > np.mean(rnd_acc) + 0.03, (np.mean(opt_acc), np.mean(rnd_acc))


def test_team_routes_are_averaged(healthcare_small, hc_view):
    """Two replicas on disjoint routes: both train, the MPVU verifies their average."""
    inner = [n for n in hc_view.ids if hc_view.utility[hc_view.ids.index(n)] > 0]
    routes = [["owner", inner[0], "mpvu"], ["owner", inner[1], "mpvu"]]
    out = SequentialReplay(healthcare_small, REQUEST, seed=0).run({"routes": routes})
    assert sorted(out.summary.visited) == sorted(["owner", "owner", inner[0], inner[1]])
    assert out.trace[-1].action == "verify" and "average of 2 replicas" in out.trace[-1].note


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ([["h02", "mpvu"]], "solution.routes[0][0] = 'h02': the request starts at 'owner'"),
        ([["owner", "h02"]], "solution.routes[0][-1] = 'h02': the request ends at 'mpvu'"),
        ([["owner", "nowhere", "mpvu"]], "'nowhere': is not a node of instance"),
        ([["owner", "h02", "h02", "mpvu"]], "is visited twice"),
    ],
)
def test_bad_routes(replay_r1, routes, message):
    with pytest.raises(InputError) as exc:
        replay_r1.run({"routes": routes})
    assert message in str(exc.value)


def test_route_through_a_down_or_ineligible_node(healthcare_small, replay_r1, hc_view):
    down = [n.id for n in healthcare_small.snapshot.of_kind("data") if not n.up]
    assert down, "the shipped instance has a hospital that is down"
    with pytest.raises(InputError, match=f"'{down[0]}': cannot be visited: down"):
        replay_r1.run({"routes": [["owner", down[0], "mpvu"]]})
    other = next(n for n, why in hc_view.excluded.items() if why != "down")
    with pytest.raises(InputError, match=f"'{other}': cannot be visited"):
        replay_r1.run({"routes": [["owner", other, "mpvu"]]})
    with pytest.raises(InputError, match="not an MTRCE solution"):
        replay_r1.run({"clients": ["h02"]})


def test_user_model_factory_and_generated_data(healthcare_small, instances_dir):
    """Any ``(in_shape, num_classes) -> Module`` factory trains; tasks without a shipped dataset
    get generated data of the snapshot's size and labels (rgg-100: task 'synthetic')."""
    import torch

    from daitn_opt.drrt.instance import load_instance
    from daitn_opt.drrt.view import view

    calls = []

    def tiny(in_shape, num_classes):
        calls.append((in_shape, num_classes))
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(in_shape[0], num_classes))

    rep = SequentialReplay(healthcare_small, REQUEST, seed=0, model=tiny)
    out = rep.run({"routes": [["owner", "h02", "mpvu"]]})
    assert calls[0] == ((30,), 2) and out.summary.bytes_moved == 2 * 4 * (30 * 2 + 2)
    rgg = load_instance(instances_dir / "rgg-100.json")
    v = view(rgg)
    node = min(
        (i for i in range(v.n) if v.utility[i] > 0 and i not in (v.start, v.end)),
        key=lambda i: v.samples[i],
    )
    rep = SequentialReplay(rgg, v.request_id, seed=0)
    assert rep.data.task == rgg.request(v.request_id).task and rep.data.source.name == rep.data.task
    assert rep.data.nodes[v.ids[node]].samples == v.samples[node]
    out = rep.run({"routes": [[v.ids[v.start], v.ids[node], v.ids[v.end]]]})
    assert out.summary.final_accuracy > 1.0 / rep.data.num_classes
