"""Plan OAM rounds for the expected time to target on the fitted outcome model, with the
estimates in it.

The first OAM loop planned ``max_coverage`` routes: better estimates changed *which* nodes a
route visits but not *when* the good ones come, so the time to a target accuracy did not follow
the information (``papers/outcomes/oam.md``). This planner uses the objective a user with a
target cares about, ``min_expected_time_to_target`` on the outcome model of
:mod:`daitn_opt.mtrce.calibration` (``acc = a + b C``, ``C`` the coverage of the noise-discounted
label mass; the expectation over the model's prediction error, :mod:`daitn_opt.mtrce.anytime`),
solved by the registered ``anytime-ils`` solver, and puts OAM's estimates into that model:

- the model's parameters (``kappa``, recency, noise exponent ``gamma``, ``a``, ``b``, spread)
  describe how training on data turns into accuracy; they are fitted once per request on pilot
  replays of the reported instance and are not changed by OAM;
- OAM's per-(node, task) estimates say what data a node holds: row ``i`` of the label counts is
  scaled by ``estimated samples / reported samples`` and its quality becomes the estimated one, so
  its mass is ``counts_i * ratio_i * signal(q_hat_i) ** gamma * age weight``;
- the per-label saturation scale ``s_l`` stays the one of the reported instance: how much mass
  saturates a label is a property of the task, not of who lied (recomputing it from the estimates
  would make every honest node look more valuable once a liar is found).

The expected-time route keeps visiting nodes while another checkpoint still lowers the expected
time (the insurance against an optimistic prediction), so no extension step is needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from ..errors import InputError
from ..mtrce.calibration import Basis, OutcomeModel
from ..mtrce.problem import EXPECTED_TIME, Problem
from ..registry import solve
from .estimates import UtilityEstimates


@dataclass(frozen=True)
class FixedScaleModel(OutcomeModel):
    """An :class:`OutcomeModel` whose per-label scale is given instead of recomputed."""

    fixed_scale: np.ndarray | None = field(default=None, compare=False)

    def scale(self) -> np.ndarray:
        if self.fixed_scale is None:
            return super().scale()
        return self.fixed_scale


def estimated_basis(basis: Basis, estimates: UtilityEstimates, task: str) -> Basis:
    """``basis`` with every node's counts and quality taken from its observed estimate.

    Nodes without an estimate or without any observation keep their reported row.
    """
    counts = basis.counts.copy()
    quality = basis.quality.copy()
    for i, node in enumerate(basis.ids):
        est = estimates.get(node, task)
        if est is None or est.samples_count + est.quality_count == 0:
            continue
        ratio = est.samples / est.reported_samples if est.reported_samples > 0 else 0.0
        counts[i] *= ratio
        quality[i] = min(1.0, max(0.0, est.quality))
    return Basis(basis.ids, counts, quality, basis.age_weight, basis.eligible)


def model_with_estimates(
    model: OutcomeModel, estimates: UtilityEstimates, task: str
) -> FixedScaleModel:
    """``model`` (fitted on the reports) on the estimated data, its label scale kept."""
    kept = {f.name: getattr(model, f.name) for f in fields(OutcomeModel)}
    # every fitted part (forgetting mode, last-node effects, ...) carries over; only the data
    # changes (a field added to OutcomeModel later cannot be dropped here by omission)
    kept["basis"] = estimated_basis(model.basis, estimates, task)
    return FixedScaleModel(**kept, fixed_scale=model.scale())


@dataclass(frozen=True)
class PlannedRoute:
    """What a planner returns to the OAM loop."""

    route: list[str]
    status: str
    objective: float | None
    """The planner's own value of the route (here: the predicted time to the target, s)."""
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class AlignedPlanner:
    """Plans an OAM round for the expected time to target on ``model`` with the round's
    estimates; see the module doc.

    Parameters
    ----------
    model
        The request's outcome model, fitted on the reports, with its target accuracy set.
    solver
        A registered solver of ``min_expected_time_to_target`` (``anytime-ils``,
        ``anytime-bnb``).
    time_limit
        Seconds per solve.
    seed
        The solver's seed.
    """

    model: OutcomeModel
    solver: str = "anytime-ils"
    time_limit: float = 10.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.model.target_accuracy is None:
            raise InputError("model", "target_accuracy=None", "the planner needs a target")

    def __call__(self, problem: Problem, estimates: UtilityEstimates, task: str) -> PlannedRoute:
        model = model_with_estimates(self.model, estimates, task)
        planned = model.apply(problem, EXPECTED_TIME)
        res = solve(planned, self.solver, time_limit=self.time_limit, seed=self.seed)
        if not res.is_feasible():
            raise InputError("solver", self.solver, f"found no route: {res.status.value}")
        idx = [problem.ids.index(str(n)) for n in res.solution["routes"][0]]
        predicted = model.predicted_time(problem, idx)
        prefix = len(idx) - 2
        for k in range(1, len(idx) - 1):  # the nodes the mean prediction needs for the target
            if math.isfinite(model.predicted_time(problem, [*idx[: k + 1], idx[-1]])):
                prefix = k
                break
        info = {
            "prefix": prefix,
            "expected_time": res.objective,
            "predicted_accuracy": model.predict(model.trained(problem, idx)),
        }
        route = [problem.ids[i] for i in idx]
        return PlannedRoute(
            route, res.status.value, predicted if math.isfinite(predicted) else None, info
        )


def fitted_planner(
    instance: Any,
    request_id: str,
    *,
    target_accuracy: float = 0.9,
    pilot_seeds: tuple[int, ...] = (100, 101, 102, 103, 104),
    pilot_routes: int = 12,
    noise_exponents: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0),
    solver: str = "anytime-ils",
    time_limit: float = 5.0,
) -> AlignedPlanner:
    """An :class:`AlignedPlanner` on the outcome model fitted to pilot replays of ``instance``.

    The pilots replay the reported instance on ``pilot_seeds`` (keep them disjoint from the seeds
    the plans are evaluated on). The noise exponent is fitted on ``noise_exponents`` only (default
    1-4, not 0): reports that barely vary in quality cannot show the fit that label noise costs
    accuracy, and a model that ignores quality cannot use a measured one.
    """
    from ..mtrce.calibration import fit_outcome_model

    model = fit_outcome_model(
        instance,
        request_id,
        pilot_seeds=pilot_seeds,
        pilot_routes=pilot_routes,
        target_accuracy=target_accuracy,
        noise_exponents=noise_exponents,
    )
    return AlignedPlanner(model, solver, time_limit)
