"""``daitn-opt paper da-itn``: the quick run writes every experiment's tables and figures."""

from __future__ import annotations

import csv
import math

import pytest

from daitn_opt.errors import InputError
from daitn_opt.papers.daitn.common import Settings, ci_text, md_table
from daitn_opt.papers.daitn.run import EXPERIMENTS, run_daitn
from daitn_opt.papers.daitn.scaling import exponent


def test_unknown_experiment_is_an_input_error(tmp_path):
    with pytest.raises(InputError):
        run_daitn(tmp_path, Settings.of(True, only=["nope"]))


def test_prototype_alone_writes_its_page_and_index(tmp_path):
    report = run_daitn(tmp_path, Settings.of(True, only=["prototype"]))
    names = {p.name for p in report["files"]}
    assert {"1-prototype.md", "1-prototype-views.csv", "README.md"} <= names
    rows = list(csv.DictReader((tmp_path / "1-prototype-views.csv").open()))
    built = rows[0]
    assert (built["state"], built["h1 utility"], built["best route"]) == (
        "as built",
        "750.0",
        "c1 > h1 > v1",
    )
    assert "Commit `" in (tmp_path / "README.md").read_text()  # provenance: the commit


def test_exponent_recovers_a_power_law():
    runs = [{"nodes": n, "seconds": 1e-4 * n**1.5} for n in (10, 100, 1000)]
    slope, used = exponent(runs, tl=100.0)
    assert used == 3 and math.isclose(slope, 1.5)
    assert exponent([*runs, {"nodes": 10_000, "seconds": 99.0}], tl=100.0)[1] == 3


def test_helpers():
    assert ci_text([]) == "-"
    assert ci_text([1.0, 1.0]) == "1.000 [1.000, 1.000]"
    assert md_table([{"a": 1.23456, "b": None}]) == ["| a | b |", "|---|---|", "| 1.235 | - |", ""]


@pytest.mark.slow
def test_quick_run_writes_every_experiment(tmp_path):
    report = run_daitn(tmp_path, Settings.of(True))
    titles = [s.title for s in report["sections"]]
    assert len(titles) == len(EXPERIMENTS)
    assert not any("FAILED" in t for t in titles)
    for section in report["sections"]:
        assert (tmp_path / f"{section.name}.md").exists()
        assert section.headline
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(pngs) >= 5
    # the admission cascade shows: naive misses deadlines where T-FAM's exact admission does not
    rows = list(csv.DictReader((tmp_path / "2-admission-runs.csv").open()))
    tight = [r for r in rows if float(r["factor"]) <= 0.5]
    assert sum(int(r["missed"]) for r in tight if r["policy"] == "naive") > 0
    assert sum(int(r["missed"]) for r in tight if r["policy"] == "highs") == 0
    # the plan on the true snapshot is the reference of the privacy experiment
    priv = list(csv.DictReader((tmp_path / "3-privacy-runs.csv").open()))
    assert all(float(r["utility_ratio"]) == 1.0 for r in priv if r["epsilon"] == "inf")
    assert "the concurrent replay (experiment 3" in (tmp_path / "README.md").read_text()
