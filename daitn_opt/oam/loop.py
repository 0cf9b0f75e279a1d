"""The OAM loop: plan on the current estimates, replay, measure every hop, update; N rounds.

Round r plans with a registered MTRCE solver on the request's view, with the estimates applied
(:meth:`~.estimates.UtilityEstimates.apply`; round 0 therefore plans on the reports), replays the
route as real training (:class:`~.measure.ObservedReplay`, on the ``truth`` snapshot's data when
one is given), and feeds every training visit's measured sample count and label quality into the
estimates with the update rule of :mod:`.estimates` (the sample count is exact, the quality is
weighed by its standard error). The same seed fixes the data split and initial weights of every round, so rounds differ
only by their route. A command ``daitn-opt oam FILE --request R --rounds N`` is a thin wrapper of
:func:`run_oam`.

Instead of a registered solver, a ``planner`` (a callable ``(problem with the estimates applied,
estimates, task) -> PlannedRoute``, e.g. :class:`~.aligned.AlignedPlanner`, which plans for time to
target on the fitted outcome model) may choose each round's route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..drrt.instance import Instance
from ..drrt.snapshot import Snapshot
from ..drrt.view import view as build_request_view
from ..errors import InputError
from ..executor import Outcome, TrainConfig, build_network_data
from ..io import json_safe
from ..mtrce import from_view
from ..registry import solve
from .aligned import PlannedRoute
from .estimates import UtilityEstimates
from .measure import HopMeasurement, ObservedReplay, split_holdout


@dataclass
class OAMRound:
    """One plan -> replay -> measure -> update cycle."""

    round: int
    route: list[str]
    status: str
    planned_objective: float | None
    outcome: Outcome
    hops: list[HopMeasurement]
    estimates: UtilityEstimates
    """The estimates after this round's update."""
    info: dict[str, Any] = field(default_factory=dict)
    """What the planner said about its route (empty for a registered solver)."""

    def to_dict(self) -> dict[str, Any]:
        s = self.outcome.summary
        return json_safe(
            {
                "round": self.round,
                "route": self.route,
                "status": self.status,
                "planned_objective": self.planned_objective,
                "final_accuracy": s.final_accuracy,
                "time_to_target": s.time_to_target,
                "target_accuracy": s.target_accuracy,
                "finish_time": s.finish_time,
                "deadline_met": s.deadline_met,
                "bytes_moved": s.bytes_moved,
                "planner": self.info,
                "hops": [h.to_dict() for h in self.hops],
                "estimates": self.estimates.to_dict(),
            }
        )


@dataclass
class OAMResult:
    """Every round of :func:`run_oam` and the final estimates."""

    instance: str
    request: str
    task: str
    solver: str
    objective: str
    seed: int
    rounds: list[OAMRound] = field(default_factory=list)
    estimates: UtilityEstimates = field(default_factory=UtilityEstimates)

    def to_dict(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "request": self.request,
            "task": self.task,
            "solver": self.solver,
            "objective": self.objective,
            "seed": self.seed,
            "rounds": [r.to_dict() for r in self.rounds],
            "estimates": self.estimates.to_dict(),
        }


def prior_estimates(
    instance: Instance,
    request_id: str | None = None,
    estimates: UtilityEstimates | None = None,
) -> UtilityEstimates:
    """``estimates`` (new when None) holding an entry, from the report and the node's trust,
    for every eligible node.

    Entries already present are kept (they carry what earlier rounds learned).
    """
    est = estimates if estimates is not None else UtilityEstimates()
    request = instance.request(request_id)
    v = build_request_view(instance, request.id)
    for i, node in enumerate(v.ids):
        samples = float(v.samples[i])
        if samples > 0:
            trust = float(instance.snapshot.node(node).trust)
            quality = min(1.0, float(v.utility[i]) / samples)
            est.ensure(node, request.task, samples, quality, trust)
    return est


def run_oam(
    instance: Instance,
    request_id: str | None = None,
    rounds: int = 3,
    solver: str = "greedy",
    seed: int = 0,
    *,
    objective: str | None = None,
    truth: Snapshot | None = None,
    estimates: UtilityEstimates | None = None,
    time_limit: float = 10.0,
    min_accuracy: float = 0.7,
    drop_below: float | None = None,
    validation_share: float = 0.5,
    target_accuracy: float = 0.9,
    model: str = "auto",
    train: TrainConfig | None = None,
    planner: Callable[[Any, UtilityEstimates, str], PlannedRoute] | None = None,
    explore: float = 0.0,
    label_mix: str = "observed",
    callback: Callable[[str, dict[str, Any]], None] | None = None,
) -> OAMResult:
    """Plan, replay, measure and update for ``rounds`` rounds; see the module doc.

    Parameters
    ----------
    instance, request_id
        The reported instance and a sequential request with one replica (default: the first).
    rounds
        Number of rounds (>= 1).
    solver
        A registered MTRCE solver that supports the objective.
    seed
        Seed of the solver, the data split and the initial weights.
    objective
        MTRCE objective (default: the request's).
    truth
        The snapshot whose data the executor trains on (default: the reported one).
    estimates
        Estimates to start from (updated in place; default: the reports).
    time_limit
        Seconds per solve.
    min_accuracy
        MPVU accuracy below which a model's label agreement is not turned into a quality.
    validation_share
        Share of the MPVU's held-out set kept for OAM's measurements (:func:`.split_holdout`,
        seeded); the replay scores accuracy on the rest. 0: OAM measures on the replay's test
        set itself (the feedback then sees the samples that score the plans).
    drop_below
        Plan without the nodes whose estimated quality fell below it (see
        :meth:`~.estimates.UtilityEstimates.apply`); None keeps every node.
    planner
        Chooses each round's route instead of ``solver`` (see the module doc); it receives the
        problem with the estimates applied (``objective`` and ``drop_below`` included).
    explore
        Rounds ``1 .. rounds - 2`` plan on :meth:`~.estimates.UtilityEstimates.optimistic`
        estimates (``explore`` standard deviations above each quality), so that nodes not yet
        measured, or measured imprecisely, get visited; round 0 plans on the reports and the last
        round on the estimates themselves. 0: never.
    label_mix
        Reference label mix of the quality measurement (:attr:`.ObservedReplay.label_mix`):
        ``observed`` (the node's histogram) or ``clean`` (implied by the quality; robust to
        label-flipping poisoners).
    callback
        Called as ``callback("round", {"round": r, "route": ..., "outcome": ...})``.

    Raises
    ------
    InputError
        On a bad ``rounds``, a request that is not sequential with one replica, or a solve that
        finds no route.
    """
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise InputError("rounds", rounds, "expected an integer >= 1")
    if label_mix not in ("observed", "clean"):
        raise InputError("label_mix", label_mix, "expected 'observed' or 'clean'")
    request = instance.request(request_id)
    if request.mode != "sequential" or request.replicas != 1:
        raise InputError("request", request.id, "OAM replays sequential requests with one replica")
    est = prior_estimates(instance, request.id, estimates)
    problem = from_view(
        build_request_view(instance, request.id), name=instance.name, request=request
    )
    if objective is not None:
        problem = problem.replace(objective=objective)
    data = build_network_data(truth or instance.snapshot, request, seed=seed)
    validation = None
    if validation_share:
        data, validation = split_holdout(data, validation_share, seed)
    replay = ObservedReplay(
        instance,
        request.id,
        model=model,
        seed=seed,
        data=data,
        train=train,
        target_accuracy=target_accuracy,
    )
    replay.validation = validation
    replay.label_mix = label_mix
    result = OAMResult(
        instance.name, request.id, request.task, solver, problem.objective, seed, estimates=est
    )
    for r in range(rounds):
        seen = est.optimistic(explore) if explore and 0 < r < rounds - 1 else est
        planned = seen.apply(problem, request.task, drop_below)
        if planner is not None:
            chosen = planner(planned, seen, request.task)
        else:
            res = solve(planned, solver, time_limit=time_limit, seed=seed)
            if not res.is_feasible():
                msg = f"found no route in round {r}: {res.status.value}"
                raise InputError("solver", solver, msg)
            chosen = PlannedRoute(list(res.solution["routes"][0]), res.status.value, res.objective)
        route = list(chosen.route)
        outcome, hops = replay.measure(route, label=f"round {r}", min_accuracy=min_accuracy)
        for hop in hops:
            if est.get(hop.node, request.task) is None:
                continue
            est.observe(
                hop.node,
                request.task,
                samples=hop.samples,
                quality=hop.quality,
                quality_var=hop.quality_sd**2 if hop.quality is not None else 0.0,
            )
        result.rounds.append(
            OAMRound(
                r, route, chosen.status, chosen.objective, outcome, hops, est.copy(), chosen.info
            )
        )
        if callback is not None:
            callback("round", {"round": r, "route": route, "outcome": outcome})
    return result
