"""``daitn-opt oam --aligned``: the loop planned for time to target on the fitted outcome model."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SMALL, run_cli


def test_target_outside_zero_one_is_refused_with_exit_2() -> None:
    res = run_cli("oam", SMALL, "--aligned", "--target", "1.5")
    assert res.exit_code == 2
    assert "--target" in res.output


@pytest.mark.slow
def test_aligned_loop_runs_rounds_on_the_fitted_model() -> None:
    res = run_cli(
        "oam",
        SMALL,
        "--rounds",
        "2",
        "--aligned",
        "--misreport",
        "4",
        "--time-limit",
        "2",
        "--json",
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout.strip().splitlines()[-1])
    assert [r["round"] for r in doc["rounds"]] == [0, 1]
    for r in doc["rounds"]:
        assert len(r["route"]) > 2  # trains somewhere
        assert r["target_accuracy"] == pytest.approx(0.9)
        assert r["deadline_met"]


def test_poison_setting_flips_labels_and_saves_mixture_estimates(tmp_path) -> None:
    """``--setting poison``: the misreporting copy holds label-flipping poisoners (stated on
    stderr like any misreport) and new estimates use the honest-or-liar rule, which the saved
    file records; an unknown setting exits 2 naming it."""
    saved = tmp_path / "est.json"
    res = run_cli(
        "oam",
        SMALL,
        "--rounds",
        "2",
        "--misreport",
        "4",
        "--setting",
        "poison",
        "--save-estimates",
        str(saved),
        "--json",
    )
    assert res.exit_code == 0, res.output
    assert "misreport" in res.stderr
    doc = json.loads(saved.read_text())
    assert doc["rule"] == "mixture"
    assert any(row.get("lie_probability") is not None for row in doc["estimates"])
    bad = run_cli("oam", SMALL, "--setting", "bogus")
    assert bad.exit_code == 2 and "bogus" in bad.output
