"""A batch of requests solved in order or on Dask: checked results, bad input named."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from daitn_opt.drrt.generators import generate
from daitn_opt.drrt.instance import save_instance
from daitn_opt.errors import InputError
from daitn_opt.kas.batch import BatchSpec, solve_batch, worker_instance
from daitn_opt.kas.commands import register

GREEDY = BatchSpec(solver="kas", time_limit=60.0, params={"leg_solver": "greedy", "domains": 3})


@pytest.fixture(scope="module")
def instance_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("batch") / "rgg.json"
    save_instance(generate("random-geometric", nodes=150, seed=5, requests=3), path)
    return path


def test_every_request_is_solved_and_checked_in_order(instance_file):
    report = solve_batch(instance_file, GREEDY)
    assert [r["request"] for r in report.results] == ["r1", "r2", "r3"]
    assert report.checked == 3
    for row in report.results:
        assert row["status"] == "feasible" and row["objective"] > 0 and row["solver"] == "kas"
        assert row["solution"]["routes"] and row["violations"] == []


def test_named_requests_only_and_the_same_results_for_the_same_seed(instance_file):
    one = solve_batch(instance_file, GREEDY, requests=["r3", "r1"])
    assert [r["request"] for r in one.results] == ["r3", "r1"]
    again = solve_batch(instance_file, GREEDY, requests=["r3", "r1"])
    assert [r["solution"] for r in again.results] == [r["solution"] for r in one.results]


@pytest.mark.parametrize(
    ("requests", "spec", "field"),
    [
        (["r9"], GREEDY, "--request"),
        (["r1", "r1"], GREEDY, "--request"),
        (None, BatchSpec(solver="nope"), "solver"),
        (None, BatchSpec(params={"domain": "3"}), "param"),
        (None, BatchSpec(time_limit=0.0), "time_limit"),
    ],
)
def test_bad_input_is_named_before_any_solve(instance_file, requests, spec, field):
    with pytest.raises(InputError) as err:
        solve_batch(instance_file, spec, requests=requests)
    assert err.value.field == field


def test_a_failing_request_is_an_error_row_not_a_failed_batch(instance_file):
    # leg_iterations is an ils parameter: greedy legs refuse it inside the solve
    spec = BatchSpec(time_limit=2.0, params={"leg_solver": "greedy", "leg_iterations": "5"})
    report = solve_batch(instance_file, spec, requests=["r1"])
    (row,) = report.results
    assert row["status"] == "error" and "iterations" in row["message"]
    assert report.checked == 0


def test_the_worker_reads_a_file_again_only_when_it_changed(instance_file, tmp_path):
    assert worker_instance(str(instance_file)) is worker_instance(str(instance_file))
    other = tmp_path / "copy.json"
    other.write_bytes(instance_file.read_bytes())
    assert worker_instance(str(other)) is not worker_instance(str(instance_file))
    with pytest.raises(InputError):
        worker_instance(str(tmp_path / "missing.json"))


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # two commands: typer keeps the command's name
    return app


@pytest.mark.slow
def test_the_command_on_a_local_cluster_writes_checked_results(instance_file, tmp_path):
    out = tmp_path / "results.json"
    args = ["batch", str(instance_file), "-o", str(out), "--workers", "2", "--time-limit", "60"]
    args += ["--param", "leg_solver=greedy", "--param", "domains=3"]
    run = CliRunner().invoke(_app(), args)
    assert run.exit_code == 0, run.output
    data = json.loads(out.read_text())
    assert data["checked"] == 3 and len(data["results"]) == 3
    in_order = solve_batch(instance_file, GREEDY)
    # greedy legs are deterministic (and a generous limit never cuts them, whatever the load):
    # Dask changes where a request runs, not its route
    assert [r["solution"] for r in data["results"]] == [r["solution"] for r in in_order.results]
    assert "3 checked" in run.output


def test_the_command_refuses_to_write_over_its_instance(instance_file):
    run = CliRunner().invoke(_app(), ["batch", str(instance_file), "-o", str(instance_file)])
    assert run.exit_code == 2 and "--output" in run.output


@pytest.mark.slow
def test_the_command_names_an_unreachable_scheduler_in_one_line(instance_file, tmp_path):
    out = tmp_path / "results.json"
    args = ["batch", str(instance_file), "-o", str(out), "--scheduler", "tcp://127.0.0.1:1"]
    run = CliRunner().invoke(_app(), args)
    assert run.exit_code == 2 and "--scheduler" in run.output
    assert not out.exists()
