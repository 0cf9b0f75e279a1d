"""Plug-ins both ways, installed as packages: a solver and a problem kind found by entry points.

``tests/plugins/dist_toy_enum`` and ``tests/plugins/dist_knapsack_lite`` are two distributions
with their own ``pyproject.toml``. The module fixture installs them with pip (``--target`` a
temporary folder, no index, no build isolation: about 4 s) from copies, so the source tree stays
clean; a folder on ``sys.path`` / ``PYTHONPATH`` is all an installed distribution needs to be
found by :func:`importlib.metadata.entry_points`. Their code is the test tree's toy plug-ins
(``tests/plugins/toy_solver.py``, ``tests/plugins/knapsack_lite``, also used by
``tests/test_kinds.py`` through ``DAITN_OPT_SOLVER_MODULES``), importable in place as after an
editable install. Nothing sets ``DAITN_OPT_SOLVER_MODULES`` here: only the entry points register
them. The command line runs as a real process, as a user would run it after ``pip install``.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import distributions
from pathlib import Path

import pytest

from tests.conftest import ROOT, SMALL

DISTRIBUTIONS = {
    "daitn-opt-toy-enum": ROOT / "tests" / "plugins" / "dist_toy_enum",
    "daitn-opt-knapsack-lite": ROOT / "tests" / "plugins" / "dist_knapsack_lite",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the two plug-in distributions, installed by pip."""
    tmp = tmp_path_factory.mktemp("plugins")
    sources = [shutil.copytree(src, tmp / "src" / src.name) for src in DISTRIBUTIONS.values()]
    target = tmp / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    proc = subprocess.run(
        [*pip, "--no-build-isolation", "--target", str(target), *map(str, sources)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return target


def run(site: Path | None, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``daitn-opt ARGS`` in a fresh process; with ``site`` the plug-ins are installed."""
    env = {k: v for k, v in os.environ.items() if k != "DAITN_OPT_SOLVER_MODULES"}
    env["PYTHONPATH"] = os.pathsep.join([*([str(site)] if site else []), str(ROOT)])
    code = "from daitn_opt.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def installed(site: Path) -> Iterator[Path]:
    """The plug-ins installed in this process: ``site`` on ``sys.path``, the registry reloaded,
    and afterwards everything as it was (registries, loaded flags, modules, ``sys.path``)."""
    from daitn_opt import kinds, registry

    registry.solvers()  # the built-in kinds registered first: the snapshot below holds them
    solvers_before = {k: dict(v) for k, v in registry._REGISTRY.items()}
    kinds_before, loaded_before = dict(kinds._KINDS), set(registry._loaded)
    modules_before = set(sys.modules)
    sys.path.insert(0, str(site))
    registry._plugins_loaded = kinds._entry_points_loaded = False
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        registry._REGISTRY.clear()
        registry._REGISTRY.update(solvers_before)
        kinds._KINDS.clear()
        kinds._KINDS.update(kinds_before)
        registry._loaded.clear()
        registry._loaded.update(loaded_before)
        registry._plugins_loaded = kinds._entry_points_loaded = False
        for name in set(sys.modules) - modules_before:
            if name.startswith("tests.plugins."):
                del sys.modules[name]


def test_pip_installs_both_distributions_with_their_entry_points(site):
    found = {d.metadata["Name"]: d for d in distributions(path=[str(site)])}
    assert set(found) == set(DISTRIBUTIONS)
    groups = {(ep.group, ep.name, ep.value) for d in found.values() for ep in d.entry_points}
    assert groups == {
        ("daitn_opt.solvers", "toy-enum", "tests.plugins.toy_solver"),
        ("daitn_opt.problems", "knapsack-lite", "tests.plugins.knapsack_lite"),
    }
    for src in DISTRIBUTIONS.values():  # pip built copies, the source tree stays clean
        assert sorted(p.name for p in src.iterdir()) == ["pyproject.toml"]


def test_the_registry_finds_the_installed_plugins_and_their_checkers_judge(installed):
    import daitn_opt
    from daitn_opt import kinds, tfam
    from daitn_opt.problems import check_result, problem_from_instance
    from daitn_opt.registry import solvers
    from tests.conftest import load_instance

    registered = solvers()
    assert registered["tfam"]["toy-enum"].exact
    assert set(registered["knapsack-lite"]) == {"dp", "greedy"}
    assert kinds.kinds()["knapsack-lite"].package == "tests.plugins.knapsack_lite"

    inst = load_instance(SMALL)
    knap = problem_from_instance("knapsack-lite", inst)
    exact = daitn_opt.solve(knap, "dp", time_limit=5)
    greedy = daitn_opt.solve(knap, "greedy", time_limit=5)
    assert str(exact.status) == "optimal" and check_result(knap, exact).ok
    assert greedy.objective <= exact.objective and check_result(knap, greedy).ok
    exact.solution = {"chosen": list(knap.ids)}  # everything: over the capacity
    assert not check_result(knap, exact).ok

    batch = tfam.from_instance(inst)
    toy = daitn_opt.solve(batch, "toy-enum", time_limit=10)
    ls = daitn_opt.solve(batch, "ls", time_limit=5, seed=0)
    assert str(toy.status) == "optimal" and check_result(batch, toy).ok
    assert toy.objective >= ls.objective - 1e-9


def test_without_the_distributions_the_plugins_are_absent(tmp_path):
    listed = run(None, "solvers", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "toy-enum" not in listed.stdout and "knapsack-lite" not in listed.stdout


def test_the_command_line_lists_solves_and_benches_the_installed_plugins(site, tmp_path):
    listed = run(site, "solvers", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "toy-enum" in listed.stdout and "knapsack-lite" in listed.stdout

    solved = run(
        site, "solve", SMALL, "--problem", "knapsack-lite", "--solver", "dp", "--json", cwd=tmp_path
    )
    assert solved.returncode == 0, solved.stderr
    doc = json.loads(solved.stdout)
    assert (doc["problem"], doc["solver"], doc["status"]) == ("knapsack-lite", "dp", "optimal")

    db = tmp_path / "results.sqlite"
    for problem, names in [("knapsack-lite", "dp,greedy"), ("tfam", "toy-enum,ls")]:
        bench = run(
            site,
            "bench",
            SMALL,
            "--problem",
            problem,
            "--solvers",
            names,
            "--time-limit",
            "5",
            "--db",
            db,
            cwd=tmp_path,
        )
        assert bench.returncode == 0, bench.stdout + bench.stderr
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "select problem, solver, status, check_ok, violations, objective from runs"
        ).fetchall()
    by_solver = {(p, s): (st, ok, v, obj) for p, s, st, ok, v, obj in rows}
    assert set(by_solver) == {
        ("knapsack-lite", "dp"),
        ("knapsack-lite", "greedy"),
        ("tfam", "toy-enum"),
        ("tfam", "ls"),
    }
    for status, ok, violations, _ in by_solver.values():  # every row passed its kind's checker
        assert status in ("optimal", "feasible") and ok == 1 and json.loads(violations) == []
    assert by_solver["knapsack-lite", "dp"][0] == "optimal"
    assert by_solver["tfam", "toy-enum"][3] >= by_solver["tfam", "ls"][3] - 1e-9
