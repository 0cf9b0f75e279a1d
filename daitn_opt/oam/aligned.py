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

The model cannot represent harm: a node whose labels are more often wrong than right (quality at
or below chance, ``1 / L``) gets zero mass, so the planner is indifferent to visiting it when the
route has time to spare, and a label-flipping poisoner (:mod:`.truth`) then undoes what the model
learned. With ``exclude_harmful`` the planner leaves out every node whose quality *as this round
believes it* (report, estimate or truth) is at or below chance, except the start, the end and
mandatory nodes: the same rule for every arm, each on its own beliefs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from ..errors import InputError
from ..mtrce.calibration import Basis, OutcomeModel, plan_to_target
from ..mtrce.plan import Arrays, Plan
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
        if est is None or est.is_report:
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


def extend_route(problem: Problem, route: list[int], model: OutcomeModel) -> list[int]:
    """``route`` (problem indices) with nodes appended before its end while it stays feasible.

    Each step appends the unvisited node with utility > 0 of the largest predicted coverage gain
    (order included) per added second; it stops when no node fits or none adds coverage.
    """
    plan = Plan(Arrays.of(problem), [list(route)])
    util = np.asarray(problem.utility, dtype=np.float64)
    while True:
        candidates = np.array([v for v in plan.unvisited() if util[v] > 0], dtype=np.int64)
        if len(candidates) == 0:
            break
        ok, added, _ = plan.insertion_table(0, candidates)
        last = len(plan.routes[0]) - 2  # the gap just before the end
        fits = ok[:, last]
        if not fits.any():
            break
        current = plan.routes[0]
        base = model.coverage(model.trained(problem, current))
        best, best_score = -1, 0.0
        for j in np.flatnonzero(fits):
            v = int(candidates[j])
            trial = [*current[:-1], v, current[-1]]
            gain = model.coverage(model.trained(problem, trial)) - base
            score = gain / max(float(added[j, last]), 1e-9)
            if gain > 1e-12 and score > best_score:
                best, best_score = v, score
        if best < 0:
            break
        plan.insert(0, len(current) - 1, best)
    return list(plan.routes[0])


def without_harmful(problem: Problem, basis: Basis) -> tuple[Problem, list[str]]:
    """``(problem without the nodes whose quality in basis is at or below chance, their ids)``.

    Chance is ``1 / L`` for ``L`` labels (at least 2); the start, the end and mandatory nodes are
    kept whatever their quality.
    """
    chance = 1.0 / max(2, basis.labels)
    protected = {problem.start, problem.end, *(int(m) for m in problem.mandatory)}
    keep, dropped = [], []
    for i, node in enumerate(problem.ids):
        harmful = node in basis.ids and basis.quality[basis.index(node)] <= chance
        if harmful and i not in protected:
            dropped.append(str(node))
        else:
            keep.append(i)
    return (problem.restrict(keep) if dropped else problem), dropped


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
        ``anytime-ils`` or ``anytime-bnb``: ``min_expected_time_to_target``; a coverage solver
        (``coverage-ils``, ``coverage-highs``, ...): ``min_time_to_target`` (the earliest time
        the mean prediction reaches the target), then the remaining time filled by
        :func:`extend_route`.
    time_limit
        Seconds per solve.
    seed
        The solver's seed.
    """

    model: OutcomeModel
    solver: str = "anytime-ils"
    time_limit: float = 10.0
    seed: int = 0
    exclude_harmful: bool = False
    """Leave out nodes believed at or below chance quality (see the module doc)."""

    def __post_init__(self) -> None:
        if self.model.target_accuracy is None:
            raise InputError("model", "target_accuracy=None", "the planner needs a target")

    def __call__(self, problem: Problem, estimates: UtilityEstimates, task: str) -> PlannedRoute:
        model = model_with_estimates(self.model, estimates, task)
        excluded: list[str] = []
        if self.exclude_harmful:
            problem, excluded = without_harmful(problem, model.basis)
        if self.solver.startswith("anytime-"):
            planned = model.apply(problem, EXPECTED_TIME)
            res = solve(planned, self.solver, time_limit=self.time_limit, seed=self.seed)
            if not res.is_feasible():
                raise InputError("solver", self.solver, f"found no route: {res.status.value}")
            idx = [problem.ids.index(str(n)) for n in res.solution["routes"][0]]
            info: dict[str, Any] = {"expected_time": res.objective}
        else:
            res, idx, info = self._to_target(problem, model)
        predicted = model.predicted_time(problem, idx)
        prefix = len(idx) - 2
        for k in range(1, len(idx) - 1):  # the nodes the mean prediction needs for the target
            if math.isfinite(model.predicted_time(problem, [*idx[: k + 1], idx[-1]])):
                prefix = k
                break
        info.update(prefix=prefix, predicted_accuracy=model.predict(model.trained(problem, idx)))
        if excluded:
            info["excluded"] = excluded
        route = [problem.ids[i] for i in idx]
        return PlannedRoute(
            route, res.status.value, predicted if math.isfinite(predicted) else None, info
        )

    def _to_target(self, problem: Problem, model: OutcomeModel) -> tuple[Any, list[int], dict]:
        """``min_time_to_target`` by a coverage solver (:func:`plan_to_target`), then extended
        by :func:`extend_route`; when the model says no route reaches the target, the
        ``max_recency_coverage`` route (the most predicted accuracy)."""
        res, _, rounds = plan_to_target(
            problem, model, solver=self.solver, time_limit=self.time_limit
        )
        fallback = res is None or not res.is_feasible()
        if fallback:
            res = solve(
                model.apply(problem, "max_recency_coverage"),
                self.solver,
                time_limit=self.time_limit,
                seed=self.seed,
            )
            if not res.is_feasible():
                raise InputError("solver", self.solver, f"found no route: {res.status.value}")
        idx = [problem.ids.index(str(n)) for n in res.solution["routes"][0]]
        return res, extend_route(problem, idx, model), {"retargets": rounds, "fallback": fallback}


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
    exclude_harmful: bool = False,
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
    return AlignedPlanner(model, solver, time_limit, exclude_harmful=exclude_harmful)
