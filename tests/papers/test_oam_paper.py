"""The OAM experiment as a library function: settings, paired analysis, and a quick end-to-end run."""

from __future__ import annotations

import json

import pytest

from daitn_opt.errors import InputError
from daitn_opt.papers.oam import (
    OAMSettings,
    analyse,
    compare,
    interpretation,
    measurement_quality,
    run_oam,
    ttt,
    write_report,
)


def _arm(route, acc, t, deadline=100.0, prefix=1):
    return {
        "route": route,
        "predicted_time": None,
        "prefix": prefix,
        "final_accuracy": acc,
        "time_to_target": t,
        "deadline": deadline,
    }


def _run(seed, reported, learned, oracle, liars=None):
    return {
        "instance": "healthcare-small",
        "request": "r1",
        "seed": seed,
        "liars": liars or {},
        "eligible": 3,
        "error": {
            k: [1.0, 0.5] for k in ("misreporters visited", "misreporters", "visited", "all")
        },
        "reported": reported,
        "learned": learned,
        "oracle": oracle,
        "rounds": [reported, learned],
        "hops": [],
    }


def test_settings_refuse_overlapping_pilot_seeds_and_one_round() -> None:
    with pytest.raises(InputError, match="pilot_seeds"):
        OAMSettings(seeds=(0, 100))
    with pytest.raises(InputError, match="rounds"):
        OAMSettings(rounds=1)
    with pytest.raises(InputError, match="instances"):
        OAMSettings(instances=("large",))
    quick = OAMSettings.quick_run()
    assert len(quick.seeds) == 3 and len(quick.requests) == 2


def test_paired_comparison_on_hand_numbers() -> None:
    a, b, c = ["s", "x", "e"], ["s", "y", "e"], ["s", "z", "e"]
    runs = [
        # learned 10 s sooner; the oracle misses (counts as the deadline, 100)
        _run(0, _arm(a, 0.90, 50.0), _arm(b, 0.92, 40.0), _arm(c, 0.85, None), {"x": "quality"}),
        _run(1, _arm(a, 0.90, 60.0), _arm(b, 0.91, 40.0), _arm(c, 0.95, 30.0)),
        _run(2, _arm(a, 0.90, 70.0), _arm(a, 0.90, 70.0), _arm(c, 0.95, 20.0)),
    ]
    assert ttt(runs[0]["oracle"]) == 100.0
    got = compare(runs, "learned", "reported")
    assert got["changed"] == 2
    assert got["time"]["mean"] == pytest.approx(-10.0)
    assert got["time_share"]["mean"] == pytest.approx(-10.0)
    assert (got["time_test"]["better"], got["time_test"]["worse"], got["time_test"]["ties"]) == (
        2,
        0,
        1,
    )
    assert got["accuracy"]["mean"] == pytest.approx(0.01)
    an = analyse(runs)
    pool = an["pools"][0]
    assert pool["pool"] == "healthcare-small" and pool["runs"] == 3
    assert pool["arms"]["oracle"]["reached"] == 2
    assert pool["diagnosis"]["reported"]["first_hop_quality_liar"] == pytest.approx(1 / 3)
    assert pool["diagnosis"]["learned"]["first_hop_quality_liar"] == 0.0
    assert [p["pool"] for p in an["pools"]] == ["healthcare-small", "healthcare-small / r1", "all"]


def _hop(q_hat, q, sd, samples=12, source="arriving"):
    return {
        "round": 0,
        "node": "x",
        "liar": "",
        "samples": samples,
        "true_quality": q,
        "quality_hat": q_hat,
        "quality_sd": sd,
        "source": source,
        "accuracy_gain": 0.0,
    }


def test_measurement_quality_on_hand_numbers() -> None:
    hops = [_hop(0.5, 0.55, 0.1), _hop(0.9, 0.88, 0.1), _hop(0.7, 0.95, 0.25, 3, "audit")]
    hops.append(_hop(None, 0.9, None))  # not measured: left out
    m = measurement_quality(hops)
    assert m["hops"] == 3 and m["hops_10"] == 2 and m["audits"] == 1
    assert m["rho"] == pytest.approx(0.5)  # ranks (1, 3, 2) against (1, 2, 3)
    assert m["rho_10"] is None  # fewer than three hops
    assert m["mae"] == pytest.approx((0.05 + 0.02 + 0.25) / 3)
    assert m["z2"] == pytest.approx((0.25 + 0.04 + 1.0) / 3)


def test_interpretation_prints_the_tables_figures() -> None:
    a, b = ["s", "x", "e"], ["s", "y", "e"]
    runs = [
        _run(k, _arm(a, 0.9, 60.0 + k), _arm(b, 0.9, 40.0 + 2 * k), _arm(b, 0.9, 40.0))
        for k in range(6)
    ]
    an = analyse(runs)
    c = next(x for x in an["pools"][-1]["compare"] if x["arm"] == "learned")
    text = "\n".join(interpretation(an))
    assert f"{c['time']['mean']:+.1f} [{c['time']['low']:+.1f}, {c['time']['high']:+.1f}]" in text
    assert "**shown**" in text and "6/0/0 sooner/later/tie over 6 pairs" in text
    assert "1.000 -> 0.500" in text  # the error curve of _run


@pytest.mark.slow
def test_quick_run_writes_the_report(tmp_path) -> None:
    events = []
    result = run_oam(tmp_path, OAMSettings.quick_run(), lambda e, d: events.append(e))
    assert {p.name for p in result["files"]} == {
        "oam.md",
        "oam.json",
        "oam-error.png",
        "oam-time.png",
    }
    assert events.count("fit") == 2 and events.count("run") == 6 and events[-1] == "done"
    doc = json.loads((tmp_path / "oam.json").read_text())
    assert len(doc["runs"]) == 6
    for run in doc["runs"]:
        assert run["reported"]["route"] == run["rounds"][0]["route"]
        assert run["learned"]["route"] == run["rounds"][-1]["route"]
    text = (tmp_path / "oam.md").read_text()
    assert "learned - reported" in text and "oracle - reported" in text
    # re-rendering from the JSON (nan stored as null) gives the same report
    write_report(tmp_path, doc["meta"], doc["runs"], [])
    assert (tmp_path / "oam.md").read_text() == text
