"""pytest-benchmark: building the MS-DRRT view of a 2,000-node snapshot, and generating one.

Run with ``.venv/bin/pytest tests/benchmarks/test_view_benchmark.py --benchmark-enable``; without
``--benchmark-enable`` (the project default) each function runs once as a plain test. No time is
asserted here: wall-clock limits belong to the benchmark report, not to unit tests.

The view of ``instances/rgg-2000.json`` holds about 1,740 eligible nodes, so its transfer matrix
takes a shortest-path search from each of them over 2,000 nodes and the ~14,800 of 24,400 arcs
that can lie on a shortest path (``daitn_opt.drrt.transfer``), compiled ones 16 close sources at
a time (``daitn_opt.drrt.shortest_paths``); that is most of the time. The rgg-2000 view
runs twice, on the compiled searches (numba) and on scipy's Dijkstra (``DAITN_NO_NUMBA=1``, the
code before them), in one group, so the table pytest-benchmark prints holds the ratio.
``view_scale.py`` beside this file does the same at 2,000, 10,000 and 100,000 nodes, with CPU
time and memory, each in a fresh process.
"""

from __future__ import annotations

import numpy as np
import pytest

from daitn_opt.drrt import shortest_paths
from daitn_opt.drrt.generators import generate
from daitn_opt.drrt.view import view


@pytest.mark.benchmark(group="view rgg-2000")
@pytest.mark.parametrize("path", ["compiled", "scipy"])
def test_view_rgg_2000(benchmark, rgg_2000, path, monkeypatch):
    """view() of the first request of the shipped 2,000-node random geometric instance."""
    if path == "scipy":
        monkeypatch.setenv("DAITN_NO_NUMBA", "1")
    elif not shortest_paths.available():
        pytest.skip("numba is not installed")
    v = benchmark.pedantic(view, args=(rgg_2000,), rounds=5, iterations=1, warmup_rounds=1)
    assert rgg_2000.snapshot.num_nodes == 2000
    assert v.n > 1500 and len(v.excluded) + v.n == 2000
    assert np.isfinite(v.transfer).all()


def test_view_healthcare_large(benchmark, instances_dir):
    """view() of every request of the 300-hospital healthcare instance (452 nodes)."""
    from daitn_opt.drrt.instance import load_instance

    inst = load_instance(instances_dir / "healthcare-large.json")
    ids = [r.id for r in inst.requests]
    views = benchmark.pedantic(
        lambda: [view(inst, r) for r in ids], rounds=3, iterations=1, warmup_rounds=0
    )
    assert len(views) == 24 and all(v.n > 2 for v in views)


def test_generate_rgg_2000(benchmark):
    """Generating (and validating) a 2,000-node random geometric instance."""
    inst = benchmark.pedantic(
        generate,
        args=("random-geometric",),
        kwargs={"nodes": 2000, "seed": 1, "requests": 3},
        rounds=3,
        iterations=1,
    )
    assert inst.snapshot.num_nodes == 2000
