"""``daitn-opt paper outcomes``: statistics helpers, practice baselines, and the command end to end."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from daitn_opt.mtrce import Problem
from daitn_opt.mtrce.baselines import cycle_completion, cyclic_route, key_first_route
from daitn_opt.mtrce.check import check
from daitn_opt.papers.stats import mean_ci, paired_wilcoxon, spearman

# -- statistics on hand numbers ----------------------------------------------------------------


def test_mean_ci_t_interval():
    c = mean_ci([1, 2, 3, 4, 5])
    # s = sqrt(2.5), t(0.975, 4) = 2.776445: half width 2.776445 * 1.581139 / sqrt(5) = 1.963243
    assert c.mean == 3.0 and c.n == 5
    assert c.half_width == pytest.approx(1.963243, rel=1e-5)
    assert c.low == pytest.approx(3 - 1.963243, rel=1e-5)


def test_mean_ci_edge_cases():
    assert mean_ci([]).mean is None
    one = mean_ci([2.0, math.inf])  # the miss is dropped
    assert one.mean == 2.0 and one.low is None and one.n == 1


def test_wilcoxon_known_case():
    b = np.zeros(10)
    a = b + np.arange(1, 11)  # every difference positive: W- = 0, exact p = 2 / 2**10
    p = paired_wilcoxon(a, b)
    assert (p.better, p.worse, p.ties) == (10, 0, 0)
    assert p.statistic == 0.0
    assert p.p == pytest.approx(2 / 2**10)
    lower = paired_wilcoxon(b, a, higher_is_better=False)  # smaller times are better
    assert lower.better == 10 and lower.p == pytest.approx(2 / 2**10)


def test_wilcoxon_misses_and_ties():
    p = paired_wilcoxon(
        [1.0, 2.0, math.inf], [math.inf, math.inf, math.inf], higher_is_better=False
    )
    assert (p.better, p.worse, p.ties) == (2, 0, 1)
    assert p.p is not None
    same = paired_wilcoxon([1, 2, 3], [1, 2, 3])
    assert same.ties == 3 and same.p is None


def test_spearman_hand_numbers():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    # d = (0, 1, 1, 0): rho = 1 - 6 * 2 / (4 * 15) = 0.8
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert spearman([1, 2, 3], [5, 5, 5]) is None
    assert spearman([1, 2], [1, 2]) is None


# -- practice baselines --------------------------------------------------------------------------


def _line() -> Problem:
    """Start/end at x = 0; customers at 1, 2, 3, 10 (utility 1 each); deadline 8."""
    x = np.array([0.0, 1.0, 2.0, 3.0, 10.0])
    return Problem(
        ids=[f"n{i}" for i in range(5)],
        start=0,
        end=0,
        travel=np.abs(x[:, None] - x[None, :]),
        service=np.zeros(5),
        utility=np.array([0.0, 1, 1, 1, 1]),
        deadline=8.0,
    )


def _checked(problem: Problem, route: list[int]) -> list[int]:
    report = check(problem, {"routes": [[problem.ids[i] for i in route]]})
    assert report.ok, report.violations
    return route


def test_cyclic_route_is_truncated_at_the_deadline():
    p = _line()
    # 0-1-2-3-0 takes 6; adding x = 10 would take 20 > 8: the cycle stops there
    assert _checked(p, cyclic_route(p)) == [0, 1, 2, 3, 0]
    assert cycle_completion(p) == pytest.approx(20.0)
    # a given cyclic order: 3, 1, 2 (0-3-1-2-0 = 3 + 2 + 1 + 2 = 8 fits exactly)
    assert _checked(p, cyclic_route(p, order=[3, 1, 2, 4])) == [0, 3, 1, 2, 0]


def test_key_first_routes_skip_what_does_not_fit():
    p = _line()
    # quality-first: node 4 (key 9) never fits; then 2, 3, 1 appended: 0-2-3-1-0 = 6
    assert _checked(p, key_first_route(p, [0, 1, 5, 3, 9])) == [0, 2, 3, 1, 0]
    # data-first: 1, 3, 2 (0-1-3-2-0 = 6), node 4 skipped
    assert _checked(p, key_first_route(p, [0, 4, 1, 2, 0])) == [0, 1, 3, 2, 0]
    with pytest.raises(Exception, match="key"):
        key_first_route(p, [1, 2])


# -- the share of pairs ---------------------------------------------------------------------------


def _result(times: dict[int, tuple[float, float]], **extra) -> dict:
    """One request's results: per seed the aligned plan's and AATS's time to target, every
    other baseline never reaching it."""
    from daitn_opt.papers.outcomes import ALIGNED, BASELINES

    others = [(b, math.inf) for b in BASELINES if b != "AATS"]
    runs = [
        {
            "case": "healthcare-small/r1",
            "plan": plan,
            "seed": seed,
            "time_to_target": t,
            "final_accuracy": 0.9,
            "bytes_moved": 1,
            "deadline_met": True,
        }
        for seed, (mine, aats) in times.items()
        for plan, t in [(ALIGNED, mine), ("AATS", aats), *others]
    ]
    return {
        "case": "healthcare-small/r1",
        "family": "healthcare",
        "runs": runs,
        "plans": [{"plan": ALIGNED}, {"plan": "AATS"}],
        "calibration": [],
        **extra,
    }


def test_share_counts_sooner_later_and_ties_per_baseline():
    """Seed 0: aligned 5 s, AATS 7 s, the rest never: strictly sooner than every baseline.
    Seed 1: aligned 5 s, AATS 5 s: a tie, no later but not strictly sooner. Seed 2: aligned
    never, AATS 9 s: later; both never against the others: ties."""
    from daitn_opt.papers.outcomes import analyse

    inf = math.inf
    share = analyse([_result({0: (5.0, 7.0), 1: (5.0, 5.0), 2: (inf, 9.0)})])["share"]
    assert share["all"]["pairs"] == 3
    assert (share["all"]["sooner"], share["all"]["no_later"]) == (1, 2)
    assert share["healthcare"]["versus"]["AATS"] == {"sooner": 1, "later": 1, "tie": 1}
    assert share["all"]["versus"]["quality-first"] == {"sooner": 2, "later": 0, "tie": 1}


def test_share_bound_counts_the_pairs_no_route_can_win():
    """The earliest checkpoint is 4 s. Seed 0: AATS reaches the target at 4 s, no route can be
    strictly sooner. Seed 1: aligned and AATS both at 6 s (the same trained prefix): a tie of
    this plan, not of every plan. Seed 2: nothing reaches, nor any pool route. Seed 3: aligned
    never, the pool reached it on that seed."""
    from daitn_opt.papers.outcomes import analyse

    inf = math.inf
    times = {0: (4.0, 4.0), 1: (6.0, 6.0), 2: (inf, inf), 3: (inf, inf)}
    res = _result(times, earliest_checkpoint=4.0, pool_reached=[3])
    bound = analyse([res])["bound"]
    want = {"pairs": 4, "impossible": 1, "shared_prefix": 2, "none_reach": 1}
    assert bound["all"] == want and bound["healthcare"] == want


def test_earliest_checkpoint_is_the_fastest_single_visit():
    """Travel 2 s to n1 (service 3 s, back by 7 s) and 1 s to n2 (service 4.5 s, back by 6.5
    s): the first checkpoint can end at 5 s at the earliest; a node whose own route breaks the
    deadline does not count (deadline 6.8: only n2 fits, 5.5 s)."""
    from daitn_opt.papers.outcomes import earliest_checkpoint

    travel = np.array(
        [[0, 2, 1, 9, 0], [2, 0, 1, 9, 2], [1, 1, 0, 9, 1], [9, 9, 9, 0, 9], [0, 2, 1, 9, 0]],
        dtype=float,
    )
    p = Problem(
        ids=["s", "n1", "n2", "n3", "e"],
        start=0,
        end=4,
        travel=travel,
        service=np.array([0, 3, 4.5, 1, 0], dtype=float),
        utility=np.array([0, 1, 1, 1, 0], dtype=float),
        deadline=12.0,
    )
    assert earliest_checkpoint(p) == pytest.approx(5.0)
    assert earliest_checkpoint(p.replace(deadline=6.8)) == pytest.approx(5.5)
    assert earliest_checkpoint(p.replace(deadline=6.0)) == math.inf


# -- the command end to end ----------------------------------------------------------------------


@pytest.mark.slow
def test_paper_outcomes_quick(tmp_path):
    from tests.conftest import run_cli

    out = tmp_path / "evidence"
    res = run_cli("paper", "outcomes", "--part", "evidence", "--quick", "-o", out)
    assert res.exit_code == 0, res.output
    for name in (
        "evidence.md",
        "evidence.json",
        "evidence-runs.csv",
        "evidence-summary.csv",
        "evidence-wilcoxon.csv",
        "evidence-calibration.csv",
        "evidence-plans.csv",
        "evidence-time.png",
        "evidence-calibration.png",
    ):
        assert (out / name).is_file(), name
    with (out / "evidence-summary.csv").open() as fh:
        summary = list(csv.DictReader(fh))
    cases = {r["case"] for r in summary}
    assert cases == {"healthcare-small/r1", "digits-small/r4"}
    for case in cases:
        plans = {r["plan"] for r in summary if r["case"] == case}
        for plan in ("utility exact", "coverage exact", "random (per seed)", "cyclic (truncated)"):
            assert plan in plans, (case, plan)
        assert all(int(r["runs"]) == 3 for r in summary if r["case"] == case)
    with (out / "evidence-wilcoxon.csv").open() as fh:
        tests = list(csv.DictReader(fh))
    assert {r["family"] for r in tests} == {"healthcare", "digits"}
    assert {r["metric"] for r in tests} == {"time_to_target", "final_accuracy"}
    text = (out / "evidence.md").read_text()
    assert "Calibration" in text and "Wilcoxon" in text
    assert "reaches the target strictly sooner than every baseline" in res.output
