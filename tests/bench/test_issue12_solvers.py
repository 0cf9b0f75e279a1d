"""Issue 12's solvers are reachable through ``bench`` from instance fields, each row checked.

- TAG: a request with ``local_epochs`` is a TAG problem (``mtrce.from_instance``), so ``tag-ils``,
  ``tag-greedy`` and ``tag-highs`` run on it; the exact one is never below the heuristics.
- Congestion-aware QIRCE: ``metadata.qirce.congestion = "md1"`` prices M/D/1 queueing; the
  bench's optimum is no worse, under that model, than the congestion-blind optimum.
- The expected time to target: see ``tests/mtrce/test_request_outcome_model.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from daitn_opt import mtrce, qirce
from daitn_opt.bench.store import ResultsStore
from daitn_opt.bench.sweep import plan_tasks, run_sweep
from daitn_opt.drrt.instance import load_instance, parse_instance, save_instance
from daitn_opt.errors import InputError
from daitn_opt.mtrce.tag import TagProblem
from daitn_opt.registry import solve
from tests.conftest import SMALL


def _variant(tmp_path: Path, name: str, change) -> Path:
    doc = load_instance(SMALL).model_dump(mode="json", exclude_none=True)
    change(doc)
    path = tmp_path / f"{name}.json"
    save_instance(parse_instance(doc), path)
    return path


def _bench(path: Path, problem: str, solvers: list[str], tmp_path: Path) -> dict[str, dict]:
    tasks = plan_tasks([path], problem, solvers, [0], 10.0)
    with ResultsStore(tmp_path / f"{path.stem}.sqlite") as store:
        run_sweep(tasks, store, workers=1)
        rows = {r["solver"]: r for r in store.rows()}
    assert set(rows) == set(solvers)
    for row in rows.values():
        assert row["status"] in ("optimal", "feasible"), row["message"]
        assert row["check_ok"] == 1 and not row["violations"], row
    return rows


def test_tag_solvers_run_in_bench_on_a_request_that_chooses_its_epochs(tmp_path) -> None:
    path = _variant(
        tmp_path, "tag", lambda d: d["requests"][0].update(local_epochs={"max": 4, "tau": 2.0})
    )
    problem = mtrce.from_instance(load_instance(path), "r1")
    assert isinstance(problem, TagProblem) and problem.max_epochs == 4
    assert problem.request_epochs == 3 and mtrce.default_solver(problem) == "tag-ils"
    rows = _bench(path, "mtrce", ["tag-ils", "tag-greedy", "tag-highs"], tmp_path)
    assert rows["tag-highs"]["status"] == "optimal"
    for name in ("tag-ils", "tag-greedy"):
        assert rows[name]["objective"] <= rows["tag-highs"]["objective"] * (1 + 1e-6)
    plain = solve(problem.base, "highs", time_limit=10, seed=0)
    assert rows["tag-highs"]["objective"] >= plain.objective - 1e-6  # epochs only add value


def test_local_epochs_need_a_route_value_objective() -> None:
    doc = load_instance(SMALL).model_dump(mode="json", exclude_none=True)
    doc["requests"][0].update(local_epochs={"max": 4}, objective="min_time")
    with pytest.raises(InputError) as err:
        parse_instance(doc)
    assert err.value.field == "requests[0].local_epochs"


def test_congestion_aware_qirce_runs_in_bench_from_the_instance_metadata(tmp_path) -> None:
    def md1(doc: dict) -> None:
        doc["metadata"]["qirce"] = {"congestion": "md1", "single_source": True}

    path = _variant(tmp_path, "md1", md1)
    aware = qirce.from_instance(load_instance(path))
    assert aware.congestion == "md1"
    rows = _bench(path, "qirce", ["highs", "greedy", "ls"], tmp_path)
    assert rows["highs"]["status"] == "optimal"
    blind = solve(qirce.from_instance(load_instance(SMALL)), "highs", time_limit=10, seed=0)
    blind_cost = qirce.check(aware, blind.solution).objective  # priced with queueing
    assert rows["highs"]["objective"] <= blind_cost + 1e-6
    for name in ("greedy", "ls"):
        assert rows[name]["objective"] >= rows["highs"]["objective"] - 1e-6
