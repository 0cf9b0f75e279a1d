"""The K-AS paper's pieces: the comparison rows, the Dask speed-up rows and the estimate."""

from __future__ import annotations

from dataclasses import replace

import pytest

from daitn_opt.papers.kas import (
    Settings,
    compare_size,
    dask_page,
    dask_speedups,
    estimate,
    headline_compare,
    results_page,
)

TINY = replace(
    Settings.of(True, [3], 0.3),
    sizes=(150,),
    counts=(2, 3),
    ladder=(0.1, 0.3),
    legs_nodes=150,
    legs_domains=3,
    leg_iterations=5,
    batch_nodes=120,
    batch_requests=2,
    workers=(1, 2),
)


def test_quick_and_full_settings_span_what_the_issue_asks():
    quick, full = Settings.of(True, None, None), Settings.of(False, [1, 2], 3.0)
    assert max(quick.sizes) <= 2_000 and quick.pipeline_nodes is None
    assert full.sizes[0] == 1_000 and full.sizes[-1] == 100_000 and full.pipeline_nodes
    assert full.workers == (1, 2, 4) and full.seeds == (1, 2) and full.legs_time == 3.0


def test_compare_rows_hold_a_checked_kas_route_and_the_monolithic_ladder():
    rows = compare_size(150, 3, TINY)
    assert [r["domains"] for r in rows] == [2, 3]
    for r in rows:
        assert r["hier"] > 0 and r["same"] > 0 and r["best"] >= r["same"] * 0.5
        assert r["best_s"] in TINY.ladder and r["view_nodes"] <= 150
    page = results_page(rows, TINY)
    assert page.count("\n| 150 | 3 |") == 2
    (line,) = headline_compare(rows)
    assert line.startswith("150 nodes")


def _speed(legs, serial, requests, overheads):
    runs = [{"workers": i + 1, "overhead": o} for i, o in enumerate(overheads)]
    return {
        "legs": [(c, 2 * c) for c in legs],  # (CPU, wall): wall doubled as on a loaded machine
        "serial_cpu": serial,
        "requests": [(c, 3 * c) for c in requests],
        "batch_load_s": 0.5,
        "runs": runs,
    }


def test_the_cluster_estimate_uses_the_measured_cpu_seconds():
    est = estimate(_speed([1.0, 2.0, 1.0], 1.0, [2.0, 4.0], [0.3, 0.2]), nodes=100)
    assert est["overhead"] == pytest.approx(0.2)  # the least round trip measured
    assert est["legs_seq_total"] == pytest.approx(5.0)
    assert est["legs_cluster"] == pytest.approx(1.0 + 2.0 + 0.2)
    assert est["fraction"] == pytest.approx(0.8)
    assert est["amdahl"] == pytest.approx(1 / (0.2 + 0.8 / 100))
    assert est["batch_cluster"] == pytest.approx(0.5 + 4.0 + 0.2)
    assert est["thousand_seq"] == pytest.approx(3000.0)
    assert est["thousand_cluster"] == pytest.approx(0.5 + 10 * (3.0 + 0.2))


@pytest.mark.slow
def test_dask_runs_give_the_routes_of_the_runs_in_order():
    speed = dask_speedups(TINY)
    assert [r["workers"] for r in speed["runs"]] == [1, 2]
    for r in speed["runs"]:
        assert r["legs_same"] and r["batch_same"] and r["batch_checked"] == 2
    page = dask_page(speed, TINY)
    assert "Dask, 2 worker(s)" in page and "estimate" in page and "| NO |" not in page
