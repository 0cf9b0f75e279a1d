"""The OAM experiment's misreport settings and its held time to target (the delivered model)."""

from __future__ import annotations

import pytest

from daitn_opt.errors import InputError
from daitn_opt.executor.outcome import Outcome, Step, Summary
from daitn_opt.papers.oam import SETTINGS, OAMSettings, analyse, compare, time_to_target_held
from tests.papers.test_oam_paper import _run as paper_run


def _outcome(accuracies: list[float], target: float = 0.9) -> Outcome:
    trace = [Step(10.0 * k, "n", "train", accuracy=a) for k, a in enumerate(accuracies)]
    first = next((s.time for s in trace if s.accuracy >= target), None)
    summary = Summary(accuracies[-1], first, target, 0, 10.0 * len(trace), 100.0, True, 0.0, 0.0)
    return Outcome("x", "sequential", trace, summary)


def test_held_time_is_where_the_accuracy_stays_above_the_target() -> None:
    assert time_to_target_held(_outcome([0.5, 0.92, 0.95, 0.93])) == 10.0
    # reached at 10 s, undone by a poisoner at 30 s, back at 40 s
    assert time_to_target_held(_outcome([0.5, 0.92, 0.95, 0.4, 0.91])) == 40.0
    # reached, then undone for good: the delivered model misses the target
    undone = _outcome([0.5, 0.92, 0.95, 0.4])
    assert undone.summary.time_to_target == 10.0 and time_to_target_held(undone) is None


def test_presets_name_their_lies_and_are_validated() -> None:
    poison = OAMSettings.preset("poison")
    assert poison.setting == "poison" and poison.kinds == ("flip", "samples")
    assert poison.exclude_harmful and (poison.rule, poison.label_mix) == ("mixture", "clean")
    assert OAMSettings.preset("noise") == OAMSettings()
    assert OAMSettings.preset("poison", quick=True).quick
    assert set(SETTINGS) == {"noise", "poison"}
    with pytest.raises(InputError, match="setting"):
        OAMSettings.preset("bribes")
    with pytest.raises(InputError, match="setting"):
        OAMSettings(setting="bribes")


def _arm(t, held, acc=0.9, route=("s", "x", "e")):
    return {
        "route": list(route),
        "predicted_time": None,
        "prefix": 1,
        "final_accuracy": acc,
        "time_to_target": t,
        "time_to_target_held": held,
        "deadline": 100.0,
    }


def _run(seed, reported, learned, oracle):
    run = paper_run(seed, reported, learned, oracle, {"x": "flip"})
    run["hops"] = [
        {"round": 0, "node": "x", "liar": "flip", "accuracy_gain": -0.3, "quality_hat": 0.1,
         "true_quality": 0.05, "samples": 20, "quality_sd": 0.1, "source": "arriving"},
    ]  # fmt: skip
    return run


def test_held_comparison_counts_an_undone_target_as_the_deadline() -> None:
    good = ("s", "y", "e")
    runs = [
        # the reported plan reaches the target at 20 s, then a poisoner undoes it
        _run(0, _arm(20.0, None, 0.5), _arm(30.0, 30.0, route=good), _arm(30.0, 30.0, route=good)),
        _run(1, _arm(20.0, 40.0), _arm(20.0, 20.0, route=good), _arm(20.0, 20.0, route=good)),
    ]
    got = compare(runs, "learned", "reported")
    assert got["time"]["mean"] == pytest.approx(5.0)  # first crossing: the learned plan is later
    assert got["held"]["mean"] == pytest.approx(-45.0)  # (30 - 100 + 20 - 40) / 2
    assert got["held_test"]["better"] == 2
    an = analyse(runs)
    pool = next(p for p in an["pools"] if p["pool"] == "all")
    assert pool["arms"]["reported"]["held_reached"] == 1
    assert pool["diagnosis"]["reported"]["quality_liars_on_route"] == 1.0
    assert pool["diagnosis"]["learned"]["quality_liars_on_route"] == 0.0
    assert pool["diagnosis"]["gain flip"]["mean"] == pytest.approx(-0.3)
