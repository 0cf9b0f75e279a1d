"""The executor's local probe (``SequentialReplay(probe=True)``) leaves every replay unchanged."""

from __future__ import annotations

import pytest
import torch

from daitn_opt.drrt.instance import load_instance
from daitn_opt.executor import SequentialReplay
from daitn_opt.executor.training import evaluate, probe_local

ROUTE = ["owner", "h02", "h07", "h11", "mpvu"]


@pytest.fixture(scope="module")
def inst():
    return load_instance("instances/healthcare-small.json")


@pytest.mark.parametrize("seed", [0, 3])
def test_probe_keeps_the_replay_bit_identical(inst, seed: int) -> None:
    plain = SequentialReplay(inst, "r1", model="auto", seed=seed).run({"routes": [ROUTE]})
    probes: list = []
    replay = SequentialReplay(inst, "r1", model="auto", seed=seed, probe=True)

    def callback(kind: str, info: dict) -> None:
        if info["step"].action == "train":
            probes.append((info["step"].node, info["probe"]))

    probed = replay.run({"routes": [ROUTE]}, callback=callback)
    assert probed.fingerprint() == plain.fingerprint()
    assert [n for n, _ in probes] == ROUTE[1:-1]
    for node, p in probes:
        local = replay.data.nodes[node]
        assert p.samples == int(local.y.shape[0])
        assert sum(p.labels) == p.samples
        assert 0.0 <= p.agreement <= 1.0 and p.loss > 0 and p.rms_loss >= p.loss


def test_probe_local_matches_evaluate() -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    x, y = torch.randn(30, 3), torch.randint(0, 2, (30,))
    p = probe_local(model, x, y, 2)
    loss, acc = evaluate(model, x, y)
    assert p.loss == pytest.approx(loss) and p.agreement == pytest.approx(acc)
    assert p.labels == tuple(torch.bincount(y, minlength=2).tolist())
    empty = probe_local(model, x[:0], y[:0], 2)
    assert empty.samples == 0 and empty.labels == (0, 0)
