"""The routing paper (issue 13): families, the stratified ``--quick`` subset, the statistics, and a
small run through the bench store that resumes and writes its pages."""

from __future__ import annotations

import time

import pytest

from daitn_opt.bench.store import ResultsStore
from daitn_opt.drrt.converters import convert
from daitn_opt.papers.routing import run_paper
from daitn_opt.papers.routing.families import FAMILIES, family, quick_subset, size
from daitn_opt.papers.routing.run import Settings, plan, store_dir
from daitn_opt.papers.routing.tables import gap, lines, side_by_side


@pytest.mark.parametrize("fam", FAMILIES, ids=lambda f: f.name)
def test_size_read_from_the_text_matches_the_converted_instance(fam) -> None:
    _, path = fam.files()[0]
    assert size(path, fam.fmt) == len(convert(fam.fmt, path).snapshot.nodes)


def test_full_sets_are_all_there() -> None:
    counts = {f.name: len(f.files()) for f in FAMILIES}
    assert counts == {"op": 89, "oplib": 244, "tsplib": 65, "optw": 39}


def test_quick_subset_takes_every_group_and_spreads_over_sizes() -> None:
    for fam in FAMILIES:
        sized = [(g, p, size(p, fam.fmt)) for g, p in fam.files()]
        chosen = quick_subset(fam, sized)
        assert len(chosen) == fam.quick * len(fam.groups)
        assert {g for g, _, _ in chosen} == {g for g, _ in fam.groups}
    tsp = family("tsplib")
    sizes = [
        n
        for _, _, n in quick_subset(tsp, [("tsplib", p, size(p, "tsplib")) for _, p in tsp.files()])
    ]
    assert sizes == sorted(sizes) and sizes[0] < 60 < sizes[1] < 150 <= sizes[2]
    oplib = family("oplib")
    picked = quick_subset(oplib, [(g, p, size(p, "oplib")) for g, p in oplib.files()])
    assert all(n <= 200 for _, _, n in picked)
    assert len({n for _, _, n in picked}) == 4  # four sizes, one per generation


def row(solver, instance, value_gap, ok=1, status="feasible", runtime=1.0, n=50):
    return {
        "solver": solver,
        "instance": instance,
        "seed": 0,
        "n": n,
        "gap_to_best": value_gap,
        "check_ok": ok,
        "status": status,
        "runtime": runtime,
        "time_limit": 2.0,
        "load_at_start": 3.0,
        "best_known": 1.0,
    }


def test_statistics_count_failures_as_full_gaps_and_pair_peers_with_ils() -> None:
    rows = [
        row("ils", "a", 0.0),
        row("ils", "b", 0.02),
        row("ils", "c", -0.01, n=150),
        row("pyvrp", "a", 0.04, runtime=2.0),
        row("pyvrp", "b", 0.02, runtime=2.0),
        row("pyvrp", "c", None, ok=0, status="error", runtime=2.0, n=150),
        {**row("ils", "d", None), "best_known": None},  # no reference: out of every gap figure
        {**row("pyvrp", "d", None), "best_known": None},
    ]
    assert gap(rows[-1]) == 1.0
    table = {(s.solver, s.label): s for s in lines(rows, ((1, 99), (100, 200)), ["ils", "pyvrp"])}
    ils = table[("ils", "all")]
    assert (ils.runs, ils.ahead, ils.at, ils.behind) == (4, 1, 1, 1)
    assert ils.mean_gap == pytest.approx(0.01 / 3)
    assert table[("pyvrp", "100-200")].ok == 0 and table[("pyvrp", "100-200")].max_gap == 1.0
    s = side_by_side(rows, "pyvrp")
    assert (s.pairs, s.better, s.equal, s.worse) == (3, 0, 1, 2)
    assert s.gap_ratio == pytest.approx((1.06 / 3) / (0.01 / 3))
    assert s.time_ratio == pytest.approx(2.0)


def test_plan_puts_heuristics_first_with_the_issue_limits(tmp_path) -> None:
    planned = plan(Settings(families=("tsplib",)), tmp_path)
    exact = [p.exact for p in planned]
    assert exact == sorted(exact)  # every heuristic run before the first exact one
    assert {p.task.solver for p in planned if not p.exact} == {"ils", "lkh", "pyvrp"}
    assert all(p.n <= 150 and p.task.time_limit == 60 for p in planned if p.exact)
    assert all(p.task.time_limit == (1 if p.n <= 442 else 5) for p in planned if not p.exact)
    assert len([p for p in planned if not p.exact]) == 3 * 65
    assert len([p for p in planned if not p.exact and p.n > 442]) == 3 * 12


def test_a_small_run_resumes_and_lists_what_did_not_run(tmp_path) -> None:
    out = tmp_path / "pages"
    common = {"quick": True, "seeds": None, "time_limit": 0.2, "families": ("tsplib",)}
    lines_ = run_paper(out, until=time.time(), **common)  # no run fits: nothing starts
    assert lines_[-1].startswith("0 of 11 runs present")
    assert "11 planned runs have no row" in (out / "tsplib.md").read_text()
    lines_ = run_paper(out, **common)
    assert lines_[-1].startswith("11 of 11 runs present")
    page = (out / "tsplib.md").read_text()
    assert "Every planned run has a row." in page and "| lkh |" in page
    assert "tsplib.md" in (out / "README.md").read_text()
    csv_rows = (out / "tsplib-runs.csv").read_text().splitlines()
    assert len(csv_rows) == 12
    db = store_dir(out, quick=True) / "routing.sqlite"
    with ResultsStore(db, readonly=True) as store:
        before = store.done_keys()
    assert run_paper(out, **common)[-1].startswith("11 of 11")  # resumed: nothing to run
    with ResultsStore(db, readonly=True) as store:
        assert store.done_keys() == before and store.count() == 11


@pytest.mark.slow
def test_quick_runs_every_family(tmp_path) -> None:
    lines_ = run_paper(tmp_path, quick=True, seeds=None, time_limit=None)
    assert lines_[-1].startswith("42 of 42 runs present")
    for page in ("op.md", "oplib.md", "tsplib.md", "optw-sweep.md", "README.md"):
        assert (tmp_path / page).exists()
    assert "Runs without a checked solution: 0" in (tmp_path / "op.md").read_text()


def test_targets_say_met_missed_and_partial() -> None:
    from daitn_opt.bench.sweep import Task
    from daitn_opt.papers.routing.run import Planned
    from daitn_opt.papers.routing.targets import target_lines

    planned = [
        Planned(Task(f"set_64_{i}.json", "mtrce", "highs", 0, 60.0), "op", "chao 64", 64, True)
        for i in range(3)
    ] + [
        Planned(Task(f"i{i}.json", "mtrce", "ils", 0, 2.0), "oplib", "gen1", 100, False)
        for i in range(4)
    ]
    rows = [
        {**row("highs", f"set_64_{i}", 0.0, status="optimal"), "key": planned[i].task.key}
        for i in range(3)
    ] + [
        {**row("ils", f"i{i}", g), "key": planned[3 + i].task.key}
        for i, g in enumerate([-0.01, 0.0, 0.002])
    ]
    table = "\n".join(target_lines(planned, rows))
    assert (
        "| Chao 64/66 (n >= 64), `highs`, 60 s: 40 of 40 proved | 3 proved | yes | 3 / 3 |" in table
    )
    assert "n <= 200, 2 s: mean gap to EA4OP <= 0.3% | -0.27% | yes (partial) | 3 / 4 |" in table
    assert "quarter of the instances | 33.3% ahead | yes (partial) | 3 / 4 |" in table
    assert "TSPLIB" not in table  # no planned run, no line
