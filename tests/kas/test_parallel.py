"""The legs of a K-AS request on Dask give the same route as the same legs run in order."""

from __future__ import annotations

import pytest

from daitn_opt.drrt.generators import generate
from daitn_opt.drrt.view import view
from daitn_opt.errors import InputError
from daitn_opt.kas import partition, solve_hierarchical
from daitn_opt.kas.parallel import connect, dask_runner
from daitn_opt.mtrce import from_view


@pytest.mark.slow
def test_dask_legs_match_the_same_legs_run_in_order():
    from distributed import Client, LocalCluster

    inst = generate("random-geometric", nodes=150, seed=2)
    p, dom = from_view(view(inst)), partition(inst.snapshot, 3, seed=0)

    def in_order(fn, jobs):
        return [fn(*job) for job in jobs]

    # greedy is deterministic, so both runs must stitch the same legs
    ref = solve_hierarchical(p, dom, solver="greedy", time_limit=0.5, runner=in_order)
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False)
    with cluster, Client(cluster) as client:
        got = solve_hierarchical(
            p, dom, solver="greedy", time_limit=0.5, runner=dask_runner(client)
        )
    assert got.stats["checked"] and got.solution["routes"] == ref.solution["routes"]
    assert len(got.stats["order"]) >= 2


@pytest.mark.slow
def test_an_unreachable_scheduler_is_an_input_error():
    with pytest.raises(InputError) as err:
        connect("tcp://127.0.0.1:1")
    assert err.value.field == "--scheduler"


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_a_local_cluster_needs_a_whole_number_of_workers(bad):
    from daitn_opt.kas.parallel import cluster

    with pytest.raises(InputError) as err, cluster(bad):
        pass
    assert err.value.field == "--workers"


def test_the_in_order_runner_keeps_the_order_of_the_jobs():
    from daitn_opt.kas.parallel import in_order

    assert in_order(pow, [(2, 3), (3, 2), (5, 0)]) == [8, 9, 1]
