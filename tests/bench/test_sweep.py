"""The benchmark harness: rows stored, checked, resumable, robust to crashing and hanging solvers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from daitn_opt.bench.report import gap_profile, shifted_geometric_mean, summarize, time_profile
from daitn_opt.bench.store import ResultsStore
from daitn_opt.bench.sweep import plan_tasks, run_sweep
from daitn_opt.drrt import (
    BenchmarkInfo,
    Compute,
    DataNode,
    Dataset,
    Instance,
    Position,
    Snapshot,
    TrainingRequest,
    TrainModel,
    TravelSpec,
    save_instance,
)
from daitn_opt.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def op_instance(n: int, seed: int, best_known: float | None = None) -> Instance:
    """A random orienteering instance: n points in a 10x10 square, start 1, end 2, budget 15."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 10, size=(n, 2))
    score = rng.integers(1, 10, size=n)
    score[:2] = 0
    nodes = [
        DataNode(
            id=str(i + 1),
            position=Position(x=float(xy[i, 0]), y=float(xy[i, 1])),
            compute=Compute(),
            datasets=[Dataset(modality="benchmark", task="op", samples=int(score[i]))],
        )
        for i in range(n)
    ]
    request = TrainingRequest(
        id="r",
        owner="1",
        start="1",
        end="2",
        modality="benchmark",
        task="op",
        deadline=15.0,
        model=TrainModel(size_mb=0, gflop_per_sample=0),
    )
    bench = BenchmarkInfo(
        family="random-op",
        source="test",
        sense="max",
        objective="score",
        best_known=best_known,
    )
    return Instance(
        name=f"op{n}-{seed}",
        snapshot=Snapshot(nodes=nodes),
        requests=[request],
        travel=TravelSpec(metric="EUCLIDEAN"),
        benchmark=bench,
    )


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    out = []
    for seed in range(3):
        path = tmp_path / f"op{seed}.json"
        save_instance(op_instance(12, seed), path)
        out.append(path)
    return out


def test_sweep_stores_checked_rows_and_resumes(files: list[Path], tmp_path: Path) -> None:
    """Every run becomes one checked row; a second identical sweep runs nothing."""
    tasks = plan_tasks(files, "mtrce", ["greedy", "ils"], [0, 1], time_limit=0.5)
    assert len(tasks) == 12
    with ResultsStore(tmp_path / "r.sqlite") as store:
        first = run_sweep(tasks, store, workers=2)
        rows = store.rows()
        assert (first.ran, first.skipped) == (12, 0)
        assert len(rows) == 12
        assert all(r["status"] in ("optimal", "feasible") for r in rows), rows
        assert all(r["check_ok"] == 1 for r in rows)
        assert all(r["objective"] > 0 and r["family"] == "random-op" for r in rows)
        assert all(r["time_to_first"] is not None for r in rows if r["trace"])
        again = run_sweep(tasks, store, workers=2)
        assert (again.ran, again.skipped) == (0, 12)
        assert store.count() == 12


def test_crash_and_hang_become_rows(files: list[Path], tmp_path: Path) -> None:
    """A solver that kills its process is an error row, one that hangs a timeout row."""
    db = tmp_path / "faulty.sqlite"
    env = {**os.environ, "DAITN_OPT_SOLVER_MODULES": "tests.bench.faulty_solvers"}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-c", _SWEEP_SCRIPT, str(db), str(files[0]), "crash,hang,greedy", "0.5"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    with ResultsStore(db) as store:
        status = {r["solver"]: r["status"] for r in store.rows()}
    assert status == {"crash": "error", "hang": "timeout", "greedy": status["greedy"]}
    assert status["greedy"] in ("optimal", "feasible")


_SWEEP_SCRIPT = """
import sys
from daitn_opt.bench.store import ResultsStore
from daitn_opt.bench.sweep import plan_tasks, run_sweep
db, inst, solvers, limit = sys.argv[1:]
tasks = plan_tasks([inst], "mtrce", solvers.split(","), [0], float(limit))
with ResultsStore(db) as store:
    run_sweep(tasks, store, workers=1, grace=2.0)
"""


def test_kill_minus_nine_loses_and_repeats_nothing(tmp_path: Path) -> None:
    """Kill -9 a sweep halfway; rerun it: every finished row kept, none repeated, all present."""
    files = []
    for seed in range(8):
        path = tmp_path / f"k{seed}.json"
        save_instance(op_instance(10, seed), path)
        files.append(path)
    db = tmp_path / "kill.sqlite"
    cmd = [
        sys.executable, "-m", "daitn_opt.cli", "bench", *map(str, files),
        "--problem", "mtrce", "--solvers", "ils", "--time-limit", "0.7", "--db", str(db),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 90
    before: set[str] = set()
    while time.time() < deadline:
        time.sleep(0.2)
        if db.exists():
            try:
                with sqlite3.connect(db) as conn:
                    before = {k for (k,) in conn.execute("SELECT key FROM runs")}
            except sqlite3.OperationalError:
                continue
            if len(before) >= 3:
                break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 3 <= len(before) < 8, "the sweep should have been killed halfway"
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, timeout=120)
    with sqlite3.connect(db) as conn:
        keys = [k for (k,) in conn.execute("SELECT key FROM runs")]
    assert len(keys) == len(set(keys)) == 8
    assert before <= set(keys)


def test_plan_rejects_unknown_solver(files: list[Path]) -> None:
    with pytest.raises(InputError) as err:
        plan_tasks(files, "mtrce", ["nope"], [0], 1.0)
    assert err.value.field == "solvers"


def test_report_metrics() -> None:
    """Shifted geometric mean, summary and profiles on hand-made rows."""
    assert shifted_geometric_mean([0.0, 0.0]) == pytest.approx(0.0)
    assert shifted_geometric_mean([1.0, 3.0]) == pytest.approx(np.sqrt(2 * 4) - 1)
    base = {"problem": "mtrce", "family": "f", "time_limit": 10.0, "seed": 0, "sense": "max"}
    rows = [
        {**base, "instance": "a", "solver": "x", "status": "optimal", "runtime": 1.0,
         "objective": 10.0, "gap_to_best": 0.0, "check_ok": 1, "trace": [[0.5, 10.0, 10.0]]},
        {**base, "instance": "a", "solver": "y", "status": "optimal", "runtime": 4.0,
         "objective": 10.0, "gap_to_best": 0.0, "check_ok": 1, "trace": []},
        {**base, "instance": "b", "solver": "x", "status": "feasible", "runtime": 10.0,
         "objective": 9.0, "gap_to_best": 0.1, "check_ok": 1, "trace": []},
        {**base, "instance": "b", "solver": "y", "status": "optimal", "runtime": 2.0,
         "objective": 10.0, "gap_to_best": 0.0, "check_ok": 1, "trace": []},
    ]  # fmt: skip
    summary = {s["solver"]: s for s in summarize(rows)}
    assert summary["x"]["optimal"] == 1 and summary["y"]["optimal"] == 2
    assert summary["x"]["mean_gap"] == pytest.approx(0.05)
    _taus, frac = time_profile(rows)["y"]
    assert frac[0] == pytest.approx(0.5)  # y is fastest on b only
    assert frac[-1] == pytest.approx(1.0)
    _xs, frac = gap_profile(rows)["x"]
    assert frac[0] == pytest.approx(0.5)


def test_dask_local_cluster_gives_the_same_rows(files: list[Path], tmp_path: Path) -> None:
    """The same sweep through a Dask LocalCluster stores the same rows as a local run."""
    distributed = pytest.importorskip("distributed")
    tasks = plan_tasks(files, "mtrce", ["greedy", "nearest"], [0], time_limit=1.0)

    def outcome(store: ResultsStore) -> dict[str, tuple]:
        return {r["key"]: (r["status"], r["objective"], r["check_ok"]) for r in store.rows()}

    with ResultsStore(tmp_path / "local.sqlite") as store:
        run_sweep(tasks, store, workers=2)
        local = outcome(store)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        ResultsStore(tmp_path / "dask.sqlite") as store,
    ):
        run_sweep(tasks, store, scheduler=cluster.scheduler_address)
        remote = outcome(store)
    assert len(local) == len(tasks)
    assert remote == local


def test_parameters_reach_every_run_and_are_part_of_the_key(files: list[Path], tmp_path: Path):
    """``plan_tasks(params=...)`` checks them against each solver's class before any run, passes
    them to every run and keys the runs by them (a sweep with other values runs again)."""
    with pytest.raises(InputError, match="valid: "):
        plan_tasks(files[:1], "mtrce", ["ils"], [0], 2.0, params={"iteration": "3"})
    tasks = plan_tasks(files[:1], "mtrce", ["ils"], [0], 2.0, params={"iterations": "3"})
    plain = plan_tasks(files[:1], "mtrce", ["ils"], [0], 2.0)
    assert tasks[0].params == (("iterations", "3"),) and tasks[0].key != plain[0].key
    assert plain[0].key.count("|") == tasks[0].key.count("|") - 1  # old keys unchanged
    with ResultsStore(tmp_path / "p.sqlite") as store:
        summary = run_sweep(tasks, store)
        rows = store.rows()
    assert summary.ran == 1 and rows[0]["check_ok"] == 1


def test_bench_param_on_the_command_line(files: list[Path], tmp_path: Path):
    from tests.conftest import run_cli

    db = tmp_path / "c.sqlite"
    ok = run_cli("bench", files[0], "--solvers", "ils", "--param", "iterations=3", "--db", db,
                 "--time-limit", "2")  # fmt: skip
    assert ok.exit_code == 0, ok.output
    bad = run_cli("bench", files[0], "--solvers", "ils", "--param", "iteration=3", "--db", db)
    assert bad.exit_code == 2 and "iteration" in bad.output and "\n" not in bad.output.strip()


@pytest.mark.parametrize(
    ("problem", "solver", "package"),
    [
        ("mtrce", "highs", "highspy"),
        ("mtrce", "coverage-highs", "highspy"),
        ("tfam", "cpsat", "ortools"),
        ("mtrce", "routing", "ortools"),
        ("qirce", "pyomo", "pyomo"),
        ("mtrce", "lkh", "elkai"),
        ("mtrce", "ils", "daitn-opt"),
        ("mtrce", "no-such-solver", "unknown"),
    ],
)
def test_each_run_records_the_version_of_the_package_that_solved_it(problem, solver, package):
    from daitn_opt.bench.sweep import _solver_version

    assert _solver_version(problem, solver).split(" ")[0] == package


def test_resumed_sweep_reruns_failed_rows_and_keeps_finished_ones(
    files: list[Path], tmp_path: Path
) -> None:
    """An error row and a killed (timeout) row of an earlier sweep are run again and replaced;
    a finished row, a ``no_solution`` one included, is kept as it was."""
    tasks = plan_tasks(files, "mtrce", ["greedy"], [0], time_limit=0.5)
    failed, killed, finished = tasks[0].key, tasks[1].key, tasks[2].key
    with ResultsStore(tmp_path / "resume.sqlite") as store:
        store.insert({"key": failed, "solver": "greedy", "status": "error", "message": "boom"})
        store.insert({"key": killed, "solver": "greedy", "status": "timeout", "message": "kill"})
        store.insert({"key": finished, "solver": "greedy", "status": "no_solution"})
        assert store.done_keys() == {finished}
        summary = run_sweep(tasks, store, workers=1)
        assert (summary.ran, summary.skipped) == (2, 1)
        rows = {r["key"]: r for r in store.rows()}
        assert store.count() == 3
        for key in (failed, killed):
            assert rows[key]["status"] in ("optimal", "feasible")
            assert rows[key]["check_ok"] == 1 and rows[key]["objective"] > 0
        assert rows[finished]["status"] == "no_solution"  # kept, not rerun
        # a finished row is never replaced, an error row of a finished key is not stored
        assert not store.insert({"key": failed, "solver": "greedy", "status": "error"})
        assert store.rows(where="key = ?", params=[failed])[0]["status"] != "error"
        assert run_sweep(tasks, store, workers=1).ran == 0
