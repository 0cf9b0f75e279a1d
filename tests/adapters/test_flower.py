"""daitn_opt.adapters.flower: the strategies inside Flower's simulation engine.

One simulation (5 nodes, Ray on one CPU, telemetry off, files in a temporary folder) runs the
T-FAM strategy and the sequential MTRCE strategy in turn; failures are scripted per round. The
assertions read the train replies (each names the client that trained), never the strategy's own
choice alone: the T-FAM rounds train exactly the clients that are up and eligible, the sequential
strategy trains one client per round, drops the client that fails and plans the rest again.
About a minute on this machine, most of it Ray's start-up: ``slow``.
"""

from __future__ import annotations

import pytest

pytest.importorskip("flwr")
pytest.importorskip("ray")

from daitn_opt.adapters.federation import RoundSpec, client_seconds
from daitn_opt.adapters.flower import (
    DaitnFedAvg,
    DaitnSequential,
    federation_config,
    federation_of,
    simulate,
)
from tests.adapters.helpers import run_example

pytestmark = pytest.mark.slow

NODES, TASK = 5, "breast-cancer"
SPEC = RoundSpec(task=TASK, deadline=4.0, gflop_per_sample=0.5, min_quality=0.8)
# seed 0: p1 and p4 hold noisy labels (quality < 0.8); p0, p2, p3 are eligible.
TFAM_CFG = federation_config(TASK, NODES, 0, p_down=0.0, down={1: [0], 2: [2]})
SEQ_CFG = federation_config(TASK, NODES, 0, p_down=0.0, down={2: list(range(NODES))})


@pytest.fixture(scope="module")
def runs():
    return simulate(
        [
            ("tfam", lambda: DaitnFedAvg(NODES, SPEC), TFAM_CFG),
            ("sequential", lambda: DaitnSequential(NODES, SPEC, pass_budget=30.0), SEQ_CFG),
        ],
        num_nodes=NODES,
        num_rounds=4,
    )


def eligible(cfg, server_round: int) -> list[str]:
    fed = federation_of(cfg)
    return [
        p.name
        for i, p in enumerate(fed.profiles)
        if p.quality >= SPEC.min_quality
        and fed.is_up(i, server_round)
        and client_seconds(p, SPEC) <= SPEC.deadline
    ]


def test_the_tfam_strategy_trains_exactly_the_clients_up_and_eligible(runs):
    logs = runs["tfam"].strategy.rounds
    assert [lg.server_round for lg in logs] == [1, 2, 3, 4]
    assert eligible(TFAM_CFG, 1) == ["p2", "p3"] and eligible(TFAM_CFG, 2) == ["p0", "p3"]
    for lg in logs:
        assert lg.trained == eligible(TFAM_CFG, lg.server_round), lg
        assert lg.failed == []
    # the node ids Flower assigned were mapped to all five clients through the query replies
    assert sorted(runs["tfam"].strategy.node_of) == [f"p{i}" for i in range(NODES)]
    acc = runs["tfam"].accuracy
    assert len(acc) == 5 and acc[-1] > 0.85 > acc[0]


def test_the_sequential_strategy_drops_a_failed_node_and_replans(runs):
    strategy = runs["sequential"].strategy
    logs = strategy.rounds
    assert [len(lg.chosen) for lg in logs] == [1, 1, 1, 1]  # one node per server round
    first, failed = logs[0], logs[1]
    assert first.trained == first.chosen and first.failed == []
    assert failed.trained == [] and failed.failed == failed.chosen  # everyone down in round 2
    assert strategy.plans[0][:2] == first.chosen + failed.chosen  # the MTRCE order of the pass
    replanned = strategy.plans[1]
    assert not set(replanned) & set(first.chosen + failed.chosen)  # visited and dropped are out
    assert logs[2].trained == replanned[:1]
    eligible_all = set(eligible(SEQ_CFG, 1))
    assert set(strategy.plans[0]) <= eligible_all
    trained = [n for lg in logs for n in lg.trained]
    assert set(trained) <= eligible_all
    # round 4: the pass over the eligible clients is over, a new pass starts
    assert len(strategy.plans) == 3 and set(strategy.plans[2]) == eligible_all
    assert logs[3].trained == strategy.plans[2][:1]


def test_the_example_app_runs_and_prints_who_trained(tmp_path):
    proc = run_example(
        "flower/run.py", "--nodes", "4", "--rounds", "2", "--p-down", "0", cwd=tmp_path
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith("round")]
    assert len(lines) == 4 and all("trained p" in ln and "failed -" in ln for ln in lines)
