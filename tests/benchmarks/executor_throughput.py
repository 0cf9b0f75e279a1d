"""Benchmark: executor training throughput, per-hop overhead, and torch thread count.

Run from the repository root::

    .venv/bin/python tests/benchmarks/executor_throughput.py [--repeats 5]

Measures, on one torch intra-op thread unless said otherwise:

1. samples/s of the executor's local training loop (:func:`daitn_opt.executor.training.train_local`)
   for the MLP on breast-cancer (455 training samples, batch 32) and the small CNN on digits
   (1,437 samples), against a plain torch loop written inline here (the same model, optimizer and
   batch size, with a ``torch.randperm`` per epoch) — the ratio says what the executor costs;
2. the executor's overhead per hop: wall time of a sequential replay outside training and
   evaluation, divided by its steps, on the shipped healthcare instance (a route through every
   eligible hospital of the medium instance), after a warm-up replay;
3. the same MLP loop with two torch threads, to show why one is the default.

The median of ``--repeats`` runs is printed. The machine is shared: wall-clock figures are
inflated by other processes; the ratios measured in one run are the meaningful figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch.nn.functional import cross_entropy  # noqa: E402

from daitn_opt.drrt.instance import load_instance  # noqa: E402
from daitn_opt.drrt.view import view  # noqa: E402
from daitn_opt.executor import SequentialReplay  # noqa: E402
from daitn_opt.executor.data import load_source  # noqa: E402
from daitn_opt.executor.models import cnn, configure_torch, mlp  # noqa: E402
from daitn_opt.executor.training import TrainConfig, train_local  # noqa: E402


def raw_loop(model, x, y, epochs, batch, lr, gen) -> None:
    """The reference: the plainest correct minibatch SGD loop in torch."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    n = len(y)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, batch):
            idx = perm[i : i + batch]
            opt.zero_grad()
            cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()


def throughput(task: str, factory, epochs: int, repeats: int) -> tuple[float, float, float, float]:
    """(executor samples/s, raw loop samples/s, and both per CPU second), medians.

    Samples per CPU second (``time.thread_time``) discount the time the thread waited for a core
    while other processes ran: on a loaded shared machine it is the closer figure to an idle one.
    """
    src = load_source(task, "image" if task == "digits" else "tabular")
    n = int(0.8 * len(src.y))
    x = torch.from_numpy(src.x[:n].reshape((-1, *src.in_shape)).copy())
    y = torch.from_numpy(src.y[:n].copy())
    cfg = TrainConfig()
    ours, raw, ours_cpu, raw_cpu = [], [], [], []
    for r in range(repeats + 1):  # the first round warms torch up (lazy initialisation)
        torch.manual_seed(r)
        model = factory(src.in_shape, src.num_classes)
        t, c = time.perf_counter(), time.thread_time()
        train_local(model, x, y, epochs, cfg, torch.Generator().manual_seed(r))
        a, a_cpu = n * epochs / (time.perf_counter() - t), n * epochs / (time.thread_time() - c)
        torch.manual_seed(r)
        model = factory(src.in_shape, src.num_classes)
        t, c = time.perf_counter(), time.thread_time()
        raw_loop(model, x, y, epochs, cfg.batch_size, cfg.lr, torch.Generator().manual_seed(r))
        b, b_cpu = n * epochs / (time.perf_counter() - t), n * epochs / (time.thread_time() - c)
        if r:
            ours.append(a)
            raw.append(b)
            ours_cpu.append(a_cpu)
            raw_cpu.append(b_cpu)
    return tuple(statistics.median(v) for v in (ours, raw, ours_cpu, raw_cpu))


def overhead(repeats: int) -> tuple[float, int, float]:
    """(median overhead ms per step, steps per replay, median replay wall s)."""
    inst = load_instance(ROOT / "instances" / "healthcare-medium.json")
    rid = next(r.id for r in inst.requests if r.mode == "sequential" and r.modality == "tabular")
    v = view(inst, rid)
    inner = [n for i, n in enumerate(v.ids) if v.utility[i] > 0 and i not in (v.start, v.end)]
    route = [v.ids[v.start], *inner, v.ids[v.end]]
    rep = SequentialReplay(inst, rid, seed=0)
    rep.run({"routes": [route]})  # warm-up
    per_step, walls, steps = [], [], 0
    for _ in range(repeats):
        out = rep.run({"routes": [route]})
        per_step.append(out.summary.overhead_per_step_ms)
        walls.append(out.summary.wall_time)
        steps = len(out.trace)
    return statistics.median(per_step), steps, statistics.median(walls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    configure_torch(1)
    for name, task, factory, epochs, goal in (
        ("MLP / breast-cancer", "breast-cancer", mlp, 20, "50,000"),
        ("CNN / digits", "digits", cnn, 3, "10,000"),
    ):
        ours, raw, ours_cpu, raw_cpu = throughput(task, factory, epochs, args.repeats)
        print(
            f"{name}, 1 thread: executor {ours:,.0f} samples/s wall ({ours_cpu:,.0f} per CPU s), "
            f"raw torch loop {raw:,.0f} wall ({raw_cpu:,.0f} per CPU s); executor/raw "
            f"{ours / raw:.2f} wall, {ours_cpu / raw_cpu:.2f} CPU (goal >= {goal} samples/s)"
        )
        if task == "breast-cancer":
            mlp_ours = ours
    ms, steps, wall = overhead(args.repeats)
    print(
        f"sequential replay overhead outside training: {ms:.3f} ms per step "
        f"({steps} steps, replay wall {wall:.3f} s; goal <= 1 ms per hop)"
    )
    configure_torch(2)
    two = throughput("breast-cancer", mlp, 20, args.repeats)[0]
    configure_torch(1)
    print(
        f"MLP / breast-cancer, 2 threads: executor {two:,.0f} samples/s "
        f"(1 thread / 2 threads = {mlp_ours / two:.2f}x)"
    )
    print("(shared machine: wall-clock figures include contention from other processes)")


if __name__ == "__main__":
    main()
