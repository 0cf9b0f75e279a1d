"""Fit the outcome model of each sequential request of an instance and write a copy carrying it.

    .venv/bin/python instances/outcome_models.py \
        [instances/healthcare-small.json] [-o instances/healthcare-small-outcome.json]

For every sequential one-route request (healthcare-small: r1, r3, r4, r6) the outcome model is
fitted to pilot replays as ``daitn-opt paper outcomes`` fits it
(:func:`daitn_opt.mtrce.calibration.fit_outcome_model`: 12 pilot routes drawn from seed 5000
plus their reversals, replayed on the pilot seeds 100-104, disjoint from the evaluation seeds
0-19), for a target accuracy of 0.9 on breast-cancer and 0.6 on digits. The copy's request then
asks for ``min_expected_time_to_target`` and carries the model in ``outcome_model``
(:class:`daitn_opt.drrt.requests.OutcomeModelSpec`, per-node values keyed by node id), so that

    daitn-opt solve instances/healthcare-small-outcome.json --solver anytime-ils
    daitn-opt bench instances/healthcare-small-outcome.json --solvers anytime-ils,anytime-bnb

plan on it. Seeded replays on one torch thread: under a minute for the four requests on one
core. The federated requests are copied unchanged. Deterministic: the same command writes the
same file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_ACCURACY = {"breast-cancer": 0.9, "digits": 0.6}
"""Target accuracy per task (breast-cancer: the one of ``paper outcomes`` and the demo)."""
SIGNIFICANT = 8
"""Significant digits kept in the file."""


def _round(x: float) -> float:
    return float(f"{float(x):.{SIGNIFICANT}g}")


def model_spec(instance: Any, request_id: str, target_accuracy: float) -> dict[str, Any]:
    """The ``outcome_model`` document of one request, fitted to pilot replays."""
    from daitn_opt.drrt.view import view
    from daitn_opt.mtrce.calibration import PILOT_SEEDS, fit_outcome_model

    model = fit_outcome_model(
        instance, request_id, pilot_seeds=PILOT_SEEDS, target_accuracy=target_accuracy
    )
    labels = list(view(instance, request_id).labels)
    ids = model.basis.ids
    mass, decay, spread = model.mass(), model.decay(), model.spread()
    effect = model.node_effect
    rep = model.report
    assert rep is not None
    return {
        "labels": labels,
        "label_mass": {n: [_round(x) for x in mass[i]] for i, n in enumerate(ids)},
        "coverage_scale": [_round(x) for x in model.scale()],
        "node_decay": {n: min(1.0, _round(decay[i])) for i, n in enumerate(ids)},
        "node_effect": (
            {}
            if effect is None
            else {n: _round(effect[i]) for i, n in enumerate(ids) if effect[i] != 0}
        ),
        "accuracy_intercept": _round(model.intercept),
        "accuracy_slope": _round(model.slope),
        "target_accuracy": float(target_accuracy),
        "checkpoint_sd": _round(spread.checkpoint),
        "shared_sd": _round(spread.shared),
        "quadrature_nodes": int(spread.nodes),
        "recency": _round(model.recency),
        "source": (
            f"fit_outcome_model on pilot seeds {list(rep.pilot_seeds)}, {rep.pilot_routes} "
            f"pilot routes (route seed 5000): kappa {model.kappa:.4g}, rho {model.recency:g} "
            f"({model.forgetting}), noise exponent {model.noise_exponent:g}; pilot RMSE "
            f"{rep.effect_rmse:.4f}, Spearman {rep.rho:.3f}"
        ),
    }


def fitted_instance(instance: Any, progress: Any = None) -> Any:
    """A copy of ``instance`` whose sequential one-route requests ask for the expected time to
    target on their fitted outcome model."""
    from daitn_opt.drrt.instance import Instance

    doc = instance.model_dump(mode="json", exclude_none=True)
    doc["name"] = f"{instance.name}-outcome"
    doc["description"] = (
        f"{instance.description} Sequential requests ask for min_expected_time_to_target on an "
        "outcome model fitted to pilot replays (instances/outcome_models.py)."
    ).strip()
    for req, out in zip(instance.requests, doc["requests"], strict=True):
        if req.mode != "sequential" or req.replicas != 1 or req.mandatory:
            continue
        target = TARGET_ACCURACY.get(req.task)
        if target is None:
            continue
        if progress is not None:
            progress(f"fitting {req.id} ({req.task}, target {target:g})")
        out["objective"] = "min_expected_time_to_target"
        out["outcome_model"] = model_spec(instance, req.id, target)
    return Instance.model_validate(doc)


def main(argv: list[str] | None = None) -> int:
    from daitn_opt.drrt.instance import load_instance, save_instance

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "instance", nargs="?", default=str(ROOT / "instances/healthcare-small.json")
    )
    parser.add_argument("-o", "--output", default=None)
    args = parser.parse_args(argv)
    source = Path(args.instance)
    output = Path(args.output or source.with_name(f"{source.stem}-outcome.json"))
    inst = fitted_instance(load_instance(source), progress=lambda m: print(m, flush=True))
    save_instance(inst, output)
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
