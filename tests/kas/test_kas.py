"""K-AS hierarchical control: partitions, leg problems and checked stitched routes."""

from __future__ import annotations

import numpy as np
import pytest

from daitn_opt import solve
from daitn_opt.drrt.generators import generate
from daitn_opt.drrt.view import view
from daitn_opt.errors import InputError
from daitn_opt.kas import partition, solve_hierarchical
from daitn_opt.kas.domains import domains_of
from daitn_opt.kas.subproblem import leg_problem
from daitn_opt.mtrce import from_view
from daitn_opt.mtrce.check import check


@pytest.fixture(scope="module")
def rgg():
    inst = generate("random-geometric", nodes=200, seed=3)
    return inst, from_view(view(inst))


@pytest.mark.parametrize("method", ["geography", "louvain"])
def test_partition_covers_every_node_with_at_most_count_domains(rgg, method):
    inst, _ = rgg
    dom = partition(inst.snapshot, 4, method=method, seed=1)
    assert set(dom) == {n.id for n in inst.snapshot.nodes}
    assert 2 <= len(set(dom.values())) <= 4
    assert dom == partition(inst.snapshot, 4, method=method, seed=1)  # seeded


def test_geographic_domains_are_regions(rgg):
    """Each domain's nodes are nearer their own centroid than any other on average."""
    inst, _ = rgg
    dom = partition(inst.snapshot, 4, seed=0)
    xy = {n.id: (n.position.x, n.position.y) for n in inst.snapshot.nodes}
    cent = {d: np.mean([xy[v] for v in dom if dom[v] == d], axis=0) for d in set(dom.values())}
    own = [np.hypot(*(np.array(xy[v]) - cent[dom[v]])) for v in dom]
    other = [
        min(np.hypot(*(np.array(xy[v]) - c)) for d, c in cent.items() if d != dom[v]) for v in dom
    ]
    assert np.mean(np.array(own) < np.array(other)) > 0.95


@pytest.mark.parametrize("method", ["geography", "louvain"])
def test_partition_of_some_nodes_only(rgg, method):
    inst, p = rgg
    dom = partition(inst.snapshot, 3, method=method, seed=0, only=p.ids[:60])
    assert set(dom) == set(p.ids[:60]) and len(set(dom.values())) == 3


@pytest.mark.parametrize("bad", [0, 201, 2.5, True])
def test_partition_refuses_a_bad_count(rgg, bad):
    with pytest.raises(InputError) as err:
        partition(rgg[0].snapshot, bad)
    assert err.value.field == "domains"


def test_border_table_is_the_least_transfer_between_domains(rgg):
    inst, p = rgg
    doms = domains_of(p, partition(inst.snapshot, 3, seed=0))
    a, b = doms.members[0], doms.members[1]
    assert doms.border[0, 1] == pytest.approx(p.travel[np.ix_(a, b)].min())
    x = doms.exit[0, 1]
    assert x in a
    cost = p.travel[np.ix_(a, b)].min(axis=1) + p.service[a]
    assert p.service[x] + p.travel[x, b].min() == pytest.approx(cost.min())


def test_a_later_leg_does_not_count_its_entry_again(rgg):
    _, p = rgg
    members = np.arange(2, 12)
    sub = leg_problem(p, (5, members, 9), 100.0, 300.0, last=False)
    assert sub.ids[0] == p.ids[5] and sub.ids[sub.end] == p.ids[9]
    assert sub.service[0] == 0 and sub.utility[0] == 0
    assert sub.deadline == 200.0 and sub.verify_time == 0.0
    assert len(sub.ids) == 10  # entry, the 8 other members, exit
    assert leg_problem(p, (5, members, 9), 300.0, 300.0, last=False) is None


@pytest.mark.parametrize("count", [1, 2, 4, 8])
@pytest.mark.parametrize("solver", ["greedy", "ils"])
def test_the_stitched_route_is_feasible_on_the_whole_problem(rgg, count, solver):
    inst, p = rgg
    result = solve_hierarchical(
        p, partition(inst.snapshot, count, seed=0), solver=solver, time_limit=0.3
    )
    assert result.stats["checked"], result.stats["violations"]
    report = check(p, result.solution)
    assert report.ok and report.objective == pytest.approx(result.objective)
    (route,) = result.solution["routes"]
    assert route[0] == p.ids[p.start] and route[-1] == p.ids[p.end]
    # Crossing domains costs utility (the figures are in papers/kas), but never most of it here.
    assert result.objective > 0.25 * solve(p, "greedy", time_limit=1.0).objective


def test_one_domain_is_the_monolithic_solve(rgg):
    inst, p = rgg
    one = solve_hierarchical(p, partition(inst.snapshot, 1), solver="greedy", time_limit=1.0)
    assert one.objective == pytest.approx(solve(p, "greedy", time_limit=1.0).objective)


def test_a_parallel_runner_gives_a_feasible_route_too(rgg):
    inst, p = rgg
    calls = []

    def runner(fn, jobs):
        calls.append(len(jobs))
        return [fn(*job) for job in jobs]

    result = solve_hierarchical(
        p, partition(inst.snapshot, 4, seed=0), solver="greedy", time_limit=0.2, runner=runner
    )
    assert calls[-1] == len(result.stats["order"]) >= 2  # one job per leg, in one call
    assert result.stats["checked"], result.stats["violations"]


@pytest.mark.parametrize(
    ("change", "field"), [({"k": 2}, "k"), ({"objective": "min_time"}, "objective")]
)
def test_several_routes_and_other_objectives_are_refused(rgg, change, field):
    inst, p = rgg
    dom = partition(inst.snapshot, 2, seed=0)
    with pytest.raises(InputError) as err:
        solve_hierarchical(p.replace(**change), dom)
    assert err.value.field == field
