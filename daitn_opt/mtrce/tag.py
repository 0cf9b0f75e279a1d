"""TAG: choose how to train, not only where (issue 12, part 3).

Two decisions on top of an MTRCE route (``formulations/mtrce.md``, section "TAG"):

- **local epochs per visited node**, jointly with the route (:class:`TagProblem`, solvers
  ``tag-highs`` in :mod:`.tag_milp` and ``tag-greedy`` / ``tag-ils`` in :mod:`.tag_heuristics`,
  independent checker :mod:`.tag_check`). At customer ``i`` the model trains ``e_i`` epochs in
  ``{1, ..., E}``; service takes ``e_i * t_i`` with the per-epoch time ``t_i = service_i /
  request_epochs`` (the view's training time is the request's epochs times a per-epoch time).
  Returns diminish in ``e``: the node's value counts ``f(e) = (1 - exp(-e / tau)) /
  (1 - exp(-1 / tau))`` times (``f(1) = 1``, concave, ``f(inf) = 1 / (1 - exp(-1 / tau))``).
  Under ``max_utility`` the route collects ``sum_i f(e_i) u_i`` (start and end once, at factor 1);
  under ``max_coverage`` a node's label mass is scaled by ``f(e_i)`` before the concave coverage
  curve of :mod:`.coverage`. The start and the end keep the base problem's service time.
- **paradigm**: sequential (the TAG route) or federated (FedAvg over a T-FAM client set), by
  predicted time to a target accuracy (:func:`choose_paradigm`).

Solutions carry the epochs: ``{"routes": [[ids...]], "epochs": {node_id: e}}``; the sequential
replay honours them (:class:`daitn_opt.executor.SequentialReplay`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from ..errors import InputError
from .problem import Problem

DEFAULT_MAX_EPOCHS = 5
"""Largest number of local epochs per node unless the request asks for more."""
DEFAULT_TAU = 2.0
"""Epoch scale of the diminishing returns: ``f(2) = 1.62``, ``f(3) = 2.0``, ``f(5) = 2.39``."""
VALUES = {"max_utility": "utility", "max_coverage": "coverage"}
"""Base objectives TAG extends, and the value each gives a visit."""


def epoch_factor(epochs: np.ndarray | Sequence[int] | int, tau: float) -> np.ndarray:
    """``f(e) = (1 - exp(-e / tau)) / (1 - exp(-1 / tau))``: a visit's value relative to 1 epoch."""
    e = np.asarray(epochs, dtype=np.float64)
    return -np.expm1(-e / tau) / -math.expm1(-1.0 / tau)


@dataclass(frozen=True, eq=False)
class TagProblem:
    """An MTRCE route problem whose customers also get a number of local epochs.

    TAG is a second problem class of the ``mtrce`` kind: it keeps the problem contract
    (:class:`daitn_opt.kinds.ProblemContract`: ``kind``, ``sense``, ``size``, ``replace``,
    ``validate``) and wraps an :class:`~daitn_opt.mtrce.problem.Problem` (``base``) instead of
    extending it. Its decision adds epochs to the route, so its solutions (``routes`` plus
    ``epochs``) are checked by :mod:`.tag_check`, and only the ``tag-*`` solvers take it
    (:func:`supports`); the route solvers refuse it. Node indices, ids, start, end, ``n`` and
    ``size`` are those of ``base``; :meth:`restrict` keeps a node subset of both.

    Attributes
    ----------
    base
        The route problem (one route; objective ``max_utility`` or ``max_coverage``). Its
        ``service`` of the start and the end is used as is; its customers' service is replaced by
        ``e * epoch_time``.
    epoch_time
        (n,) seconds of one local epoch at each node.
    max_epochs
        ``E``: epochs range over ``1..E`` at every visited customer.
    tau
        Scale of the diminishing returns :func:`epoch_factor`.
    request_epochs
        The request's own epochs (the fixed-epochs plan; not a constraint).
    """

    kind: ClassVar[str] = "mtrce"

    base: Problem
    epoch_time: np.ndarray
    max_epochs: int = DEFAULT_MAX_EPOCHS
    tau: float = DEFAULT_TAU
    request_epochs: int = 1
    name: str = field(default="")

    def __post_init__(self) -> None:
        if not isinstance(self.base, Problem):
            raise InputError("base", type(self.base).__name__, "expected an mtrce Problem")
        try:
            t = np.asarray(self.epoch_time, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(
                "epoch_time", self.epoch_time, "expected an array of numbers"
            ) from None
        object.__setattr__(self, "epoch_time", t)
        self.validate()
        if not self.name:
            object.__setattr__(self, "name", self.base.name)

    def validate(self) -> None:
        """Raise :class:`~daitn_opt.errors.InputError` naming the first bad field."""
        if not isinstance(self.base, Problem):
            raise InputError("base", type(self.base).__name__, "expected an mtrce Problem")
        t = self.epoch_time
        if t.shape != (self.base.n,):
            raise InputError("epoch_time", t.shape, f"expected shape ({self.base.n},)")
        if not np.all(np.isfinite(t)) or np.any(t < 0):
            i = int(np.flatnonzero(~(np.isfinite(t) & (t >= 0)))[0])
            raise InputError(f"epoch_time[{i}]", float(t[i]), "must be finite and >= 0")
        for name in ("max_epochs", "request_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise InputError(name, value, "must be an integer >= 1")
        if not (isinstance(self.tau, int | float) and math.isfinite(self.tau) and self.tau > 0):
            raise InputError("tau", self.tau, "must be a finite number > 0")
        if self.base.objective not in VALUES:
            raise InputError(
                "base.objective", self.base.objective, f"TAG extends one of {sorted(VALUES)}"
            )
        if self.base.k != 1:
            raise InputError("base.k", self.base.k, "TAG plans one route")

    # -- what the registry and the results read -------------------------------------------------
    @property
    def n(self) -> int:
        return self.base.n

    @property
    def ids(self) -> list[str]:
        return self.base.ids

    @property
    def start(self) -> int:
        return self.base.start

    @property
    def end(self) -> int:
        return self.base.end

    @property
    def request_id(self) -> str | None:
        return self.base.request_id

    @property
    def size(self) -> int:
        """Nodes of the view (the problem contract's size), as in ``base``."""
        return self.base.n

    @property
    def sense(self) -> Literal["max"]:
        """TAG maximises (the utility or the coverage of its epochs-weighted visits)."""
        return "max"

    @property
    def value(self) -> str:
        """``"utility"`` or ``"coverage"``."""
        return VALUES[self.base.objective]

    @property
    def objective(self) -> str:
        return f"tag_{self.base.objective}"

    def factors(self) -> np.ndarray:
        """(E,) ``f(1), ..., f(E)``."""
        return epoch_factor(np.arange(1, self.max_epochs + 1), self.tau)

    def replace(self, **changes: Any) -> TagProblem:
        """A copy with some fields changed (``base``, ``epoch_time``, ``max_epochs``, ``tau``,
        ``request_epochs``, ``name``), validated again."""
        fields = {k: getattr(self, k) for k in ("base", "epoch_time", "max_epochs", "tau")}
        fields.update(request_epochs=self.request_epochs, name=self.name)
        fields.update(changes)
        return TagProblem(**fields)

    def restrict(self, keep: Sequence[int]) -> TagProblem:
        """The TAG problem on the nodes ``keep`` (:meth:`Problem.restrict` of ``base``, and the
        same rows of ``epoch_time``)."""
        idx = np.asarray(keep, dtype=np.int64).reshape(-1)
        base = self.base.restrict(idx)  # validates keep
        return self.replace(base=base, epoch_time=self.epoch_time[idx])


def from_problem(
    problem: Problem,
    request_epochs: int,
    *,
    max_epochs: int | None = None,
    tau: float = DEFAULT_TAU,
) -> TagProblem:
    """The TAG problem of an MTRCE problem built for ``request_epochs`` local epochs per node.

    Per-epoch time ``service / request_epochs``; ``max_epochs`` defaults to
    ``max(DEFAULT_MAX_EPOCHS, request_epochs)``.
    """
    if isinstance(request_epochs, bool) or not isinstance(request_epochs, int | np.integer):
        raise InputError("request_epochs", request_epochs, "must be an integer >= 1")
    if request_epochs < 1:
        raise InputError("request_epochs", request_epochs, "must be an integer >= 1")
    top = max(DEFAULT_MAX_EPOCHS, int(request_epochs)) if max_epochs is None else max_epochs
    return TagProblem(
        base=problem,
        epoch_time=np.asarray(problem.service, dtype=np.float64) / float(request_epochs),
        max_epochs=top,
        tau=tau,
        request_epochs=int(request_epochs),
    )


def from_instance(
    instance: Any,
    request_id: str | None = None,
    *,
    objective: str = "max_coverage",
    max_epochs: int | None = None,
    tau: float = DEFAULT_TAU,
) -> TagProblem:
    """The TAG problem of one request of ``instance`` (``objective``: the value of a visit)."""
    from .problem import from_instance as route_problem

    if objective not in VALUES:
        raise InputError("objective", objective, f"TAG extends one of {sorted(VALUES)}")
    base = route_problem(instance, request_id).replace(objective=objective)
    request = instance.request(request_id)
    return from_problem(base, int(request.epochs), max_epochs=max_epochs, tau=tau)


# -- evaluation (solver side; the checker is tag_check) ----------------------------------------
def service_of(problem: TagProblem, epochs: dict[int, int]) -> np.ndarray:
    """(n,) service times with ``epochs[i] * epoch_time[i]`` at the customers in ``epochs``."""
    d = np.asarray(problem.base.service, dtype=np.float64).copy()
    for i, e in epochs.items():
        if i not in (problem.start, problem.end):
            d[i] = e * problem.epoch_time[i]
    return d


def tag_value(problem: TagProblem, route: Sequence[int], epochs: dict[int, int]) -> float:
    """Objective of an index route ``[s, ..., e]`` with ``epochs`` at its customers."""
    from . import coverage

    p = problem.base
    inner = [int(v) for v in route[1:-1] if v not in (p.start, p.end)]
    f = {i: float(epoch_factor(epochs[i], problem.tau)) for i in inner}
    fixed = [p.start] if p.start == p.end else [p.start, p.end]
    if problem.value == "utility":
        u = np.asarray(p.utility, dtype=np.float64)
        return float(sum(u[i] for i in fixed) + sum(f[i] * u[i] for i in inner))
    mass = np.asarray(p.label_mass, dtype=np.float64)
    gathered = mass[fixed].sum(axis=0) + sum(
        (f[i] * mass[i] for i in inner), np.zeros(mass.shape[1])
    )
    return coverage.coverage_value(
        gathered,
        np.asarray(p.coverage_scale),
        coverage.label_weights(p),
        np.asarray(p.coverage_breaks),
    )


def value_bound(problem: TagProblem) -> float:
    """Every customer at ``E`` epochs (time ignored): an upper bound of the objective."""
    route = [problem.start, *problem.base.customers.tolist(), problem.end]
    return tag_value(problem, route, {i: problem.max_epochs for i in route[1:-1]})


def least_service(problem: TagProblem) -> np.ndarray:
    """Service with one epoch at every customer: the least time any plan can take there (the
    start and the end keep their own service)."""
    d = np.asarray(problem.epoch_time, dtype=np.float64).copy()
    base = np.asarray(problem.base.service, dtype=np.float64)
    d[[problem.start, problem.end]] = base[[problem.start, problem.end]]
    return d


def tag_result(
    problem: TagProblem,
    solver: str,
    route: Sequence[int] | None,
    epochs: dict[int, int] | None,
    status: Any,
    bound: float | None = None,
    **kwargs: Any,
) -> Any:
    """A :class:`~daitn_opt.result.Result` of one route with its epochs.

    ``solution`` = the MTRCE solution (routes, arrivals, service starts, completion under the
    chosen epochs) plus ``"epochs"`` ``{node_id: e}`` for every visited customer and, under the
    coverage value, ``"coverage"``.
    """
    from ..result import relative_gap
    from .solution import make_result

    epochs = dict(epochs or {})
    base = problem.base
    if route is not None:
        base = base.replace(service=service_of(problem, epochs))
    routes = None if route is None else [list(map(int, route))]
    result = make_result(base, solver, routes, status, bound=bound, **kwargs)
    if result.status.has_solution and routes is not None:
        inner = [v for v in routes[0][1:-1] if v not in (problem.start, problem.end)]
        result.objective = tag_value(problem, routes[0], epochs)
        result.solution["epochs"] = {problem.ids[v]: int(epochs[v]) for v in inner}
        if problem.value == "coverage":
            result.solution["coverage"] = result.objective
        if result.bound is not None:
            over = result.bound - result.objective
            if over < 0 and abs(over) <= 1e-6 * max(1.0, abs(result.objective)):
                result.bound = result.objective
        result.gap = relative_gap(result.objective, result.bound)
    return result


def supports(problem: Any) -> str | None:
    """Why the TAG solvers cannot solve ``problem`` (None when they can)."""
    if not isinstance(problem, TagProblem):
        return (
            "TAG solvers take a TagProblem (daitn_opt.mtrce.tag.from_instance or from_problem), "
            "which adds per-epoch times and the epoch range to a route problem"
        )
    return None


# -- paradigm choice ---------------------------------------------------------------------------
@dataclass
class ParadigmDecision:
    """Sequential or federated for one request, with the predictions behind the choice.

    Times are seconds on the simulated clock after the request starts; ``inf`` means the
    predictor does not expect the target before the deadline.
    """

    request: str
    paradigm: str
    reason: str
    sequential_time: float
    federated_time: float
    samples_to_target: float
    """Sample-epochs (the view's sample counts times epochs) a model needs to reach the target."""
    route: list[str]
    epochs: dict[str, int]
    sequential_samples: float
    clients: list[str]
    round_time: float
    round_samples: float
    """Progress of one FedAvg round, in sample-epochs (see :func:`predict_federated`)."""
    rounds: int | None
    """Rounds needed to reach the target (None: not within the deadline)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_samples_to_target(
    data: Any,
    nodes: Sequence[str],
    target: float,
    *,
    seed: int = 0,
    max_passes: int = 10,
    chunks_per_pass: int = 10,
    model: str = "auto",
) -> float:
    """Sample-epochs a model needs to reach ``target`` accuracy, measured on a central reference.

    The samples of ``nodes`` are pooled at one node (label noise kept) and trained in chunks of a
    tenth of a pass, each chunk by :func:`~daitn_opt.executor.training.train_local` (a fresh
    optimizer per chunk, as every hop of a sequential replay has), measuring the MPVU's test set
    after each. Returns the pooled sample-epochs consumed when the accuracy first reaches
    ``target``, as a fraction of one pass, times the pooled sample count; ``inf`` when
    ``max_passes`` passes do not reach it. Deterministic for a seed.
    """
    import torch

    from ..executor.models import resolve_model
    from ..executor.training import TrainConfig, evaluate, train_local

    parts = [data.nodes[n] for n in nodes if n in data.nodes and data.nodes[n].samples]
    if not parts:
        raise InputError("nodes", list(nodes), "hold no samples to train on")
    x = torch.cat([p.x for p in parts])
    y = torch.cat([p.y for p in parts])
    total = int(y.shape[0])
    torch.manual_seed(seed)
    net = resolve_model(model)(data.in_shape, data.num_classes)
    gen = torch.Generator().manual_seed(seed)
    config = TrainConfig()
    size = max(config.batch_size, total // chunks_per_pass)
    used = 0
    for _ in range(max_passes):
        perm = torch.randperm(total, generator=gen)
        for lo in range(0, total, size):
            idx = perm[lo : lo + size]
            train_local(net, x[idx], y[idx], 1, config, gen)
            used += int(idx.shape[0])
            if evaluate(net, data.test_x, data.test_y)[1] >= target - 1e-12:
                return used / total
    return math.inf


def predict_sequential(
    view: Any, route: Sequence[str], epochs: dict[str, int], request_epochs: int, needed: float
) -> tuple[float, float]:
    """(predicted time to target, sample-epochs of the whole route) of a sequential route.

    Earliest-start schedule over the view's times with ``epochs`` per node (the request's epochs
    where not given); the target is reached at the end of training at the first node where the
    cumulative ``samples * epochs`` reaches ``needed`` (inf when the route never does, or when
    it ends after the deadline).
    """
    ids = list(view.ids)
    idx = [ids.index(v) for v in route]
    t = max(0.0, float(view.window_open[idx[0]]))
    got, reached = 0.0, math.inf
    for p, i in enumerate(idx):
        if p:
            prev = idx[p - 1]
            t = max(t + float(view.transfer[prev, i]), float(view.window_open[i]))
        e = epochs.get(ids[i], request_epochs)
        t += float(view.train_time[i]) * e / request_epochs
        if view.train_time[i] > 0 or 0 < p < len(idx) - 1:
            got += float(view.samples[i]) * e
        if got >= needed - 1e-9 and not math.isfinite(reached):
            reached = t
    done = t + float(view.verify_time)
    if view.deadline is not None and done > float(view.deadline) + 1e-6:
        return math.inf, got
    return reached, got


def predict_federated(
    view: Any, clients: Sequence[str], epochs: int, needed: float
) -> tuple[float, float, float, int | None]:
    """(predicted time to target, round time, sample-epochs per round, rounds needed).

    A round lasts as long as its slowest client's download + wait for its window + local training
    + upload (the replay's rule). Progress model: FedAvg averages the clients' displacements from
    the same start, so a round advances the model about as far as one client of the
    sample-weighted mean size would in ``epochs`` epochs: ``epochs * sum n_i^2 / sum n_i``
    sample-epochs. Rounds needed ``ceil(needed / that)``; the time is theirs, inf when those
    rounds plus the final transfer and verification end after the deadline.
    """
    ids = list(view.ids)
    s, e = view.start, view.end
    idx = [ids.index(c) for c in clients]
    if not idx:
        return math.inf, math.inf, 0.0, None
    down = view.transfer[s, idx]
    begin = np.maximum(down, view.window_open[idx])
    round_time = float(np.max(begin + view.train_time[idx] + view.transfer[idx, s]))
    n = np.asarray(view.samples[idx], dtype=np.float64)
    per_round = float(epochs * (n**2).sum() / max(n.sum(), 1e-12))
    if not (math.isfinite(round_time) and per_round > 0 and math.isfinite(needed)):
        return math.inf, round_time, per_round, None
    rounds = max(1, math.ceil(needed / per_round - 1e-9))
    finish = rounds * round_time + float(view.transfer[s, e]) + float(view.verify_time)
    if view.deadline is not None and finish > float(view.deadline) + 1e-6:
        return math.inf, round_time, per_round, None
    return rounds * round_time, round_time, per_round, rounds


def federated_clients(instance: Any, request_id: str | None = None) -> list[list[str]]:
    """Candidate client sets of T-FAM (:func:`daitn_opt.tfam.plans.federated_candidates`, no
    delay), with every eligible client whose single round fits the deadline as a fallback."""
    from ..drrt.view import view as make_view
    from ..tfam.plans import client_times, federated_candidates

    request = instance.request(request_id)
    v = make_view(instance, request_id)
    found = federated_candidates(request, v, count=6, slot_seconds=60.0)
    sets = [c.nodes for c in found if c.delay == 0]
    deadline = math.inf if request.deadline is None else float(request.deadline)
    tau = client_times(v)
    every = [
        v.ids[i]
        for i in range(v.n)
        if i not in (v.start, v.end) and v.train_time[i] > 0 and tau[i] <= deadline + 1e-9
    ]
    if every and every not in sets:
        sets.append(every)
    return sets


def _best_federated(
    instance: Any, request_id: str | None, v: Any, epochs: int, needed: float
) -> tuple[float, float, list[str], float, float, int | None]:
    """The fastest T-FAM client set: (predicted time to target, sample-epochs of the rounds that
    fit before the deadline, clients, round time, sample-epochs per round, rounds); the most
    sample-epochs breaks ties. ``(inf, 0, [], inf, 0, None)`` without a client set."""
    best: tuple[float, float, list[str], float, float, int | None] | None = None
    for clients in federated_clients(instance, request_id):
        ttt, rt, per, rounds = predict_federated(v, clients, epochs, needed)
        fit_rounds = 0
        if math.isfinite(rt) and rt > 0 and v.deadline is not None:
            spare = float(v.deadline) - float(v.transfer[v.start, v.end]) - float(v.verify_time)
            fit_rounds = max(0, int(spare // rt))
        total = fit_rounds * per
        key = (ttt, -total)
        if best is None or key < (best[0], -best[1]):
            best = (ttt, total, list(clients), rt, per, rounds)
    return best or (math.inf, 0.0, [], math.inf, 0.0, None)


def choose_paradigm(
    instance: Any,
    request_id: str | None = None,
    *,
    target_accuracy: float = 0.9,
    samples_to_target: float | None = None,
    data: Any = None,
    solver: str = "tag-ils",
    objective: str = "max_coverage",
    time_limit: float = 5.0,
    seed: int = 0,
) -> ParadigmDecision:
    """Sequential (the TAG route) or federated (FedAvg over a T-FAM client set) for one request.

    Predictor (``formulations/mtrce.md``, "TAG", paradigm choice):

    1. ``S*``, the sample-epochs to ``target_accuracy`` (``samples_to_target``, or fitted by
       :func:`fit_samples_to_target` on the request's eligible nodes pooled centrally with the
       executor's data for ``seed``; in passes, converted to the view's sample counts);
    2. sequential: the TAG route (``solver`` on :func:`from_instance`) and its epochs;
       :func:`predict_sequential`;
    3. federated: each T-FAM client set (:func:`federated_clients`) with the request's epochs,
       :func:`predict_federated`; the fastest one;
    4. the paradigm with the earlier predicted time to target; when neither is predicted to
       reach it, the one with more sample-epochs before the deadline (the route's, or the
       federated rounds that fit times the progress per round).
    """
    from ..drrt.view import view as make_view
    from ..registry import solve

    request = instance.request(request_id)
    v = make_view(instance, request_id)
    if samples_to_target is None:
        if data is None:
            from ..executor.data import instance_network_data

            data = instance_network_data(instance, request, seed=seed)
        nodes = [v.ids[i] for i in range(v.n) if i not in (v.start, v.end) and v.samples[i] > 0]
        passes = fit_samples_to_target(data, nodes, target_accuracy, seed=seed)
        samples_to_target = passes * float(sum(v.samples[v.ids.index(n)] for n in nodes))
    elif not (samples_to_target > 0):
        raise InputError("samples_to_target", samples_to_target, "must be > 0")
    needed = float(samples_to_target)
    problem = from_instance(instance, request_id, objective=objective)
    result = solve(problem, solver, time_limit=time_limit, seed=seed)
    route: list[str] = []
    epochs: dict[str, int] = {}
    seq_time, seq_samples = math.inf, 0.0
    if result.status.has_solution:
        route = list(result.solution["routes"][0])
        epochs = dict(result.solution["epochs"])
        seq_time, seq_samples = predict_sequential(v, route, epochs, request.epochs, needed)
    fed_time, fed_total, clients, round_time, per_round, rounds = _best_federated(
        instance, request_id, v, request.epochs, needed
    )
    if math.isfinite(seq_time) or math.isfinite(fed_time):
        paradigm = "sequential" if seq_time <= fed_time else "federated"
        reason = (
            f"predicted time to {target_accuracy:g}: sequential {seq_time:.1f} s, federated "
            f"{fed_time:.1f} s ({rounds or '-'} rounds of {round_time:.1f} s); S* = "
            f"{needed:.0f} sample-epochs"
        )
    else:
        paradigm = "sequential" if seq_samples >= fed_total else "federated"
        reason = (
            f"neither is predicted to reach {target_accuracy:g} by the deadline (S* = "
            f"{needed:.4g} sample-epochs); sample-epochs before it: sequential "
            f"{seq_samples:.0f}, federated {fed_total:.0f}"
        )
    return ParadigmDecision(
        request=request.id,
        paradigm=paradigm,
        reason=reason,
        sequential_time=seq_time,
        federated_time=fed_time,
        samples_to_target=needed,
        route=route,
        epochs=epochs,
        sequential_samples=seq_samples,
        clients=clients,
        round_time=round_time,
        round_samples=per_round,
        rounds=rounds,
    )
