"""A request carries its outcome model: instance file -> view -> Problem -> anytime solvers.

The request's ``outcome_model`` (:class:`daitn_opt.drrt.requests.OutcomeModelSpec`) holds what
``OutcomeModel.apply`` writes into a problem, per-node values keyed by node id. Checked here:
the problem built from the file equals the one ``apply`` builds; the optimum survives reordering
and renaming the snapshot's nodes; a missing or malformed model is one line naming the field and
value, exit 2; ``solve`` and ``bench`` run the expected-time solvers on it, checked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from daitn_opt import mtrce
from daitn_opt.drrt.instance import Instance, load_instance, parse_instance, save_instance
from daitn_opt.errors import InputError
from daitn_opt.mtrce.anytime import Spread
from daitn_opt.mtrce.calibration import basis_of, prior_model
from daitn_opt.mtrce.problem import EXPECTED_TIME
from daitn_opt.registry import solve
from tests.conftest import SMALL, assert_input_error, run_cli

SPREAD = Spread(0.03, 0.02)
TARGET = 0.6


def model_doc(instance: Instance, request_id: str = "r1") -> tuple[dict[str, Any], Any]:
    """The prior outcome model of a request (no replays; a few node effects added) as the
    request's ``outcome_model`` document, and the model itself."""
    import dataclasses

    from daitn_opt.drrt.view import view

    model = prior_model(basis_of(instance, request_id), target_accuracy=TARGET)
    ids = model.basis.ids
    effect = np.zeros(len(ids))
    effect[1::3] = 0.01 * np.arange(1, len(effect[1::3]) + 1)
    model = dataclasses.replace(model, node_effect=effect)
    mass, decay = model.mass(), model.decay()
    doc = {
        "labels": list(view(instance, request_id).labels),
        "label_mass": {n: mass[i].tolist() for i, n in enumerate(ids)},
        "coverage_scale": model.scale().tolist(),
        "node_decay": {n: float(decay[i]) for i, n in enumerate(ids)},
        "node_effect": {n: float(effect[i]) for i, n in enumerate(ids) if effect[i]},
        "accuracy_intercept": model.intercept,
        "accuracy_slope": model.slope,
        "target_accuracy": TARGET,
        "checkpoint_sd": SPREAD.checkpoint,
        "shared_sd": SPREAD.shared,
        "recency": model.recency,
    }
    return doc, model


def with_model(instance: Instance, doc: dict[str, Any] | None, request: int = 0) -> dict:
    """The instance document whose ``request``-th request asks for the expected time."""
    data = instance.model_dump(mode="json", exclude_none=True)
    data["requests"][request]["objective"] = EXPECTED_TIME
    if doc is not None:
        data["requests"][request]["outcome_model"] = doc
    return data


@pytest.fixture(scope="module")
def small() -> Instance:
    return load_instance(SMALL)


@pytest.fixture(scope="module")
def carried(small: Instance) -> tuple[Instance, Any]:
    doc, model = model_doc(small)
    return parse_instance(with_model(small, doc)), model


def test_the_request_model_gives_the_problem_apply_gives(small, carried) -> None:
    instance, model = carried
    built = mtrce.from_instance(instance, "r1")
    applied = model.apply(mtrce.from_instance(small, "r1"), EXPECTED_TIME, spread=SPREAD)
    assert built.objective == applied.objective == EXPECTED_TIME
    assert built.ids == applied.ids
    for name in ("label_mass", "coverage_scale", "label_weight", "coverage_breaks"):
        np.testing.assert_allclose(getattr(built, name), getattr(applied, name), rtol=1e-12)
    for name in ("node_decay", "node_effect"):
        np.testing.assert_allclose(getattr(built, name), getattr(applied, name), rtol=1e-12)
    for name in ("accuracy_intercept", "accuracy_slope", "target_accuracy", "recency", "target"):
        assert getattr(built, name) == pytest.approx(getattr(applied, name), rel=1e-12), name
    assert (built.checkpoint_sd, built.shared_sd) == (SPREAD.checkpoint, SPREAD.shared)
    a = solve(built, "anytime-bnb", time_limit=30, seed=0)
    b = solve(applied, "anytime-bnb", time_limit=30, seed=0)
    assert a.status.value == b.status.value == "optimal"
    assert a.objective == pytest.approx(b.objective, rel=1e-9)
    assert mtrce.check(built, a.solution).ok


def _relabelled(instance: Instance) -> tuple[Instance, dict[str, str]]:
    """Snapshot nodes in reverse order, every id renamed; requests and the model follow."""
    data = instance.model_dump(mode="json", exclude_none=True)
    rename = {n["id"]: f"x{k:02d}" for k, n in enumerate(reversed(data["snapshot"]["nodes"]))}
    nodes = list(reversed(data["snapshot"]["nodes"]))
    for node in nodes:
        node["id"] = rename[node["id"]]
    data["snapshot"]["nodes"] = nodes
    for link in data["snapshot"].get("links", []):
        link["source"], link["target"] = rename[link["source"]], rename[link["target"]]
    for node in nodes:
        for demand in node.get("demands", []):
            demand.get("node") and demand.update(node=rename[demand["node"]])
    for req in data["requests"]:
        for key in ("owner", "start", "end"):
            if req.get(key) is not None:
                req[key] = rename[req[key]]
        model = req.get("outcome_model")
        for name in ("label_mass", "node_decay", "node_effect", "node_steps"):
            if model and name in model:
                model[name] = {rename[k]: v for k, v in model[name].items()}
    return parse_instance(data), rename


def test_the_optimum_survives_reordering_and_renaming_the_nodes(carried) -> None:
    instance, _ = carried
    copy, rename = _relabelled(instance)
    original = mtrce.from_instance(instance, "r1")
    moved = mtrce.from_instance(copy, "r1")
    assert sorted(rename[i] for i in original.ids) == sorted(moved.ids)
    assert moved.ids != [rename[i] for i in original.ids]  # really reordered
    row = {v: k for k, v in enumerate(moved.ids)}
    order = [row[rename[i]] for i in original.ids]
    np.testing.assert_allclose(moved.node_decay[order], original.node_decay)
    np.testing.assert_allclose(moved.node_effect[order], original.node_effect)
    np.testing.assert_allclose(moved.label_mass[order], original.label_mass)
    a = solve(original, "anytime-bnb", time_limit=30, seed=0)
    b = solve(moved, "anytime-bnb", time_limit=30, seed=0)
    assert a.status.value == b.status.value == "optimal"
    assert b.objective == pytest.approx(a.objective, rel=1e-9)
    assert mtrce.check(moved, b.solution).ok


TERMS = Spread(0.03, 0.02, persistent=0.5, phi=0.6)


@pytest.fixture(scope="module")
def carried_terms(small: Instance) -> tuple[Instance, Any]:
    """The request's model with a warm-up, a label skew and a persistent checkpoint error."""
    import dataclasses

    doc, model = model_doc(small)
    model = dataclasses.replace(model, warmup=0.6, skew=0.1)
    terms = model.optimisation_fields(mtrce.from_instance(small, "r1"))
    steps = model.basis.steps()
    doc.update(
        checkpoint_sd=TERMS.checkpoint,
        shared_sd=TERMS.shared,
        persistent=TERMS.persistent,
        phi=TERMS.phi,
        node_steps={n: float(steps[i]) for i, n in enumerate(model.basis.ids)},
        warm_scale=terms["warm_scale"],
        skew=terms["skew"],
        skew_prior=terms["skew_prior"].tolist(),
    )
    return parse_instance(with_model(small, doc)), model


def test_the_request_model_carries_the_terms_apply_writes(small, carried_terms) -> None:
    """Warm-up, skew and persistence in the request's model: the problem built from the file
    holds what ``apply`` writes, and evaluates as ``Objective(problem, model, spread)``; after
    reordering and renaming the nodes the steps follow their nodes and the values are the same."""
    from daitn_opt.mtrce.anytime import Objective

    instance, model = carried_terms
    built = mtrce.from_instance(instance, "r1")
    plain = mtrce.from_instance(small, "r1")
    applied = model.apply(plain, EXPECTED_TIME, spread=TERMS)
    assert built.warm_scale > 0 and built.skew > 0 and built.persistent == 0.5
    for name in ("node_steps", "skew_prior"):
        np.testing.assert_allclose(getattr(built, name), getattr(applied, name), rtol=1e-12)
    for name in ("warm_scale", "skew", "persistent", "phi", "persistent_states"):
        assert getattr(built, name) == pytest.approx(getattr(applied, name), rel=1e-12), name
    res = solve(built, "anytime-ils", time_limit=5, seed=0)
    route = [built.ids.index(v) for v in res.solution["routes"][0]]
    want = Objective(plain, model, TERMS).value(route)
    assert len(route) > 2 and res.objective == pytest.approx(want, rel=1e-9)
    assert mtrce.check(built, res.solution).objective == pytest.approx(want, rel=1e-9)
    copy, rename = _relabelled(instance)
    moved = mtrce.from_instance(copy, "r1")
    row = {v: k for k, v in enumerate(moved.ids)}
    order = [row[rename[i]] for i in built.ids]
    np.testing.assert_allclose(moved.node_steps[order], built.node_steps)
    route_moved = [order[i] for i in route]
    assert Objective(moved).value(route_moved) == pytest.approx(want, rel=1e-12)


def test_a_warm_up_needs_every_view_nodes_steps(small, carried_terms) -> None:
    instance, _ = carried_terms
    data = instance.model_dump(mode="json", exclude_none=True)
    node = mtrce.from_instance(instance, "r1").ids[2]
    del data["requests"][0]["outcome_model"]["node_steps"][node]
    with pytest.raises(InputError) as err:
        mtrce.from_instance(parse_instance(data), "r1")
    assert err.value.field == "outcome_model.node_steps" and err.value.value == node


@pytest.mark.parametrize(
    ("change", "field", "value"),
    [
        (lambda d: None, "requests[0].outcome_model", "None"),
        (lambda d: d["node_decay"].update(h02=1.5), "outcome_model.node_decay.h02", "1.5"),
        (lambda d: d["node_decay"].update(nowhere=0.5), "outcome_model.node_decay", "nowhere"),
        (lambda d: d["label_mass"].update(h02=[1.0]), "outcome_model.label_mass.h02", "1"),
        (lambda d: d.update(coverage_scale=[1.0]), "outcome_model.coverage_scale", "1"),
        (lambda d: d.update(target_accuracy=0), "outcome_model.target_accuracy", "0"),
        (lambda d: d.update(accuracy_slope=-1.0), "outcome_model.accuracy_slope", "-1"),
        (lambda d: d.pop("node_decay"), "outcome_model.node_decay", "Field required"),
        (lambda d: d.update(kappa=0.3), "outcome_model.kappa", "0.3"),
        (lambda d: d.update(skew=0.2), "outcome_model.skew_prior", "None"),
        (lambda d: d.update(skew_prior=[0.5]), "outcome_model.skew_prior", "1"),
        (lambda d: d.update(persistent=1.5), "outcome_model.persistent", "1.5"),
        (lambda d: d.update(node_steps={"h02": -1}), "outcome_model.node_steps.h02", "-1"),
        (lambda d: d.update(node_steps={"nowhere": 3}), "outcome_model.node_steps", "nowhere"),
    ],
)
def test_a_missing_or_malformed_model_names_field_and_value(small, change, field, value) -> None:
    doc, _ = model_doc(small)
    doc = None if change(doc) is None and field.endswith("outcome_model") else doc
    with pytest.raises(InputError) as err:
        parse_instance(with_model(small, doc))
    assert field in err.value.field, err.value
    assert value in str(err.value), err.value


def test_a_view_node_without_an_entry_is_named(small) -> None:
    doc, _ = model_doc(small)
    node = mtrce.from_instance(small, "r1").ids[2]
    del doc["label_mass"][node]
    instance = parse_instance(with_model(small, doc))
    with pytest.raises(InputError) as err:
        mtrce.from_instance(instance, "r1")
    assert err.value.field == "outcome_model.label_mass" and err.value.value == node


def test_solve_runs_the_expected_time_solvers_and_names_a_bad_model(carried, tmp_path) -> None:
    instance, _ = carried
    path = tmp_path / "carried.json"
    save_instance(instance, path)
    out = run_cli("solve", path, "--solver", "anytime-ils", "--time-limit", "5", "--json")
    assert out.exit_code == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["solver"] == "anytime-ils" and doc["status"] == "feasible"
    result = tmp_path / "result.json"
    result.write_text(out.stdout)
    assert run_cli("check", path, result).exit_code == 0
    bad = json.loads(path.read_text())
    bad["requests"][0]["outcome_model"]["node_decay"]["h02"] = -0.1
    path.write_text(json.dumps(bad))
    assert_input_error(
        run_cli("solve", path, "--solver", "anytime-ils"),
        "requests[0].outcome_model.node_decay.h02",
        "-0.1",
    )
    del bad["requests"][0]["outcome_model"]
    path.write_text(json.dumps(bad))
    for cmd in (
        ["solve", path],
        ["bench", path, "--solvers", "anytime-ils", "--db", tmp_path / "x"],
    ):
        assert_input_error(run_cli(*cmd), "requests[0].outcome_model", "needs a fitted outcome")


def test_the_schema_describes_the_outcome_model() -> None:
    from daitn_opt.drrt.instance import instance_schema

    schema = instance_schema()
    spec = schema["$defs"]["OutcomeModelSpec"]
    assert {"label_mass", "node_decay", "target_accuracy"} <= set(spec["required"])
    assert EXPECTED_TIME in json.dumps(schema["$defs"]["TrainingRequest"])


EXAMPLE = Path(__file__).resolve().parents[2] / "instances" / "healthcare-small-outcome.json"


@pytest.mark.skipif(not EXAMPLE.exists(), reason="instances/outcome_models.py not run yet")
def test_bench_on_the_shipped_fitted_example(tmp_path) -> None:
    """The fitted example: both solvers run in ``bench``, every result checked, and the branch
    and bound (which minimises, and proves its optimum on these 11-node views) is never above
    the heuristic."""
    from daitn_opt.bench.store import ResultsStore
    from daitn_opt.bench.sweep import plan_tasks, run_sweep

    instance = load_instance(EXAMPLE)
    asked = [r.id for r in instance.requests if r.objective == EXPECTED_TIME]
    assert {"r1", "r6"} <= set(asked)
    with ResultsStore(tmp_path / "b.sqlite") as store:
        for request in ("r1", "r6"):
            tasks = plan_tasks([EXAMPLE], "mtrce", ["anytime-ils", "anytime-bnb"], [0], 10.0,
                               request=request)  # fmt: skip
            run_sweep(tasks, store, workers=1)
        rows = store.rows()
    assert len(rows) == 4
    assert all(r["check_ok"] == 1 and not r["violations"] for r in rows), rows
    for request in ("r1", "r6"):
        by = {r["solver"]: r for r in rows if r["key"].split("|")[7] == request}
        assert by["anytime-bnb"]["status"] == "optimal"
        assert by["anytime-bnb"]["objective"] <= by["anytime-ils"]["objective"] + 1e-9
        assert 0 < by["anytime-bnb"]["objective"] <= instance.request(request).deadline
