"""``--max-nodes``: `solve` and `view` on a snapshot too large for an uncapped view."""

from __future__ import annotations

import importlib
import json

import pytest

from daitn_opt.drrt.generators import generate
from daitn_opt.drrt.instance import dump_instance
from tests.conftest import assert_input_error, run_cli


@pytest.fixture
def over_cap(tmp_path, monkeypatch):
    """A 60-node snapshot with the uncapped-view limit lowered to 20 nodes."""
    view_module = importlib.import_module("daitn_opt.drrt.view")
    monkeypatch.setattr(view_module, "MAX_DENSE_NODES", 20)
    path = tmp_path / "rgg60.json"
    path.write_text(dump_instance(generate("random-geometric", nodes=60, seed=1, requests=1)))
    return path


@pytest.mark.parametrize("command", ["solve", "view"])
def test_without_the_cap_the_view_refusal_is_one_line(over_cap, command):
    assert_input_error(run_cli(command, over_cap), "max_nodes")


def test_solve_with_the_cap_returns_a_solution_on_the_capped_view(over_cap):
    result = run_cli(
        "solve", over_cap, "--max-nodes", "20", "--time-limit", "2", "--json", "--solver", "greedy"
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["status"] in {"feasible", "optimal"}, doc["status"]
    (route,) = doc["solution"]["routes"]
    assert 2 <= len(route) <= 20


def test_view_with_the_cap_has_that_many_nodes(over_cap):
    result = run_cli("view", over_cap, "--max-nodes", "20", "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["ids"]) == 20


@pytest.mark.parametrize("value", ["1", "0"])
def test_a_cap_below_two_is_an_input_error(over_cap, value):
    assert_input_error(run_cli("solve", over_cap, "--max-nodes", value), "--max-nodes")


def test_a_kind_without_a_view_refuses_the_cap():
    from daitn_opt.errors import InputError
    from daitn_opt.problems import problem_from_instance

    inst = generate("random-geometric", nodes=20, seed=1, requests=1)
    with pytest.raises(InputError) as err:
        problem_from_instance("tfam", inst, max_nodes=10)
    assert err.value.field == "--max-nodes"
