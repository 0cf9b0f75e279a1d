"""pytest-benchmark: the executor's local training loop and a whole sequential replay.

Run with ``.venv/bin/pytest tests/benchmarks/test_executor_benchmark.py --benchmark-enable``;
without it (the project default) each function runs once as a plain test. No time is asserted:
``tests/benchmarks/executor_throughput.py`` prints samples/s and overhead per hop, with the raw
torch loop alongside for a ratio measured in the same run.
"""

from __future__ import annotations

import torch

from daitn_opt.executor import SequentialReplay, configure_torch
from daitn_opt.executor.data import load_source
from daitn_opt.executor.models import cnn, mlp
from daitn_opt.executor.training import TrainConfig, evaluate, train_local


def _tensors(task: str):
    src = load_source(task, "image" if task == "digits" else "tabular")
    x = torch.from_numpy(src.x.reshape((-1, *src.in_shape)).copy())
    return src, x, torch.from_numpy(src.y.copy())


def test_train_mlp_breast_cancer(benchmark):
    """10 epochs of the MLP over the 569 breast-cancer samples, one thread (5,690 samples)."""
    configure_torch(1)
    src, x, y = _tensors("breast-cancer")
    torch.manual_seed(0)
    model = mlp(src.in_shape, src.num_classes)
    gen = torch.Generator().manual_seed(0)
    benchmark.pedantic(
        train_local, args=(model, x, y, 10, TrainConfig(), gen), rounds=5, warmup_rounds=1
    )
    assert evaluate(model, x, y)[1] > 0.95  # it trained (training-set accuracy)


def test_train_cnn_digits(benchmark):
    """One epoch of the small CNN over the 1,797 digits, one thread."""
    configure_torch(1)
    src, x, y = _tensors("digits")
    torch.manual_seed(0)
    model = cnn(src.in_shape, src.num_classes)
    gen = torch.Generator().manual_seed(0)
    cfg = TrainConfig(lr=0.05)
    benchmark.pedantic(train_local, args=(model, x, y, 1, cfg, gen), rounds=3, warmup_rounds=1)
    assert evaluate(model, x, y)[1] > 0.5


def test_sequential_replay_healthcare(benchmark, healthcare_small):
    """A whole replay of r1's optimal route (data built once, outside the timing)."""
    rep = SequentialReplay(healthcare_small, "r1", seed=0)
    route = {"routes": [["owner", "h02", "h07", "h12", "h11", "mpvu"]]}
    out = benchmark.pedantic(rep.run, args=(route,), rounds=5, warmup_rounds=1)
    assert out.summary.deadline_met and len(out.trace) == 6
