"""Fit the coverage objective to what replays measure (issue 12: close the loop).

The coverage objectives of :mod:`daitn_opt.mtrce.coverage` come with hand-typed priors: a
saturation scale of a third of each label's eligible mass, a recency factor of 0.95, a noise
discount ``w_q(q) = ((L q - 1) / (L - 1))^2`` and a target of 0.75 of the coverage of every
node. This module fits those parameters, per request, to **pilot replays** (routes and seeds
disjoint from the evaluation), and turns a *target accuracy* into a coverage target.

**Model** (``formulations/mtrce.md``, section "Fitted outcome model"). For node ``i`` and label
``l``, with counts ``c_il``, quality ``q_i`` (label noise ``1 - q_i``) and age weight
``w_a(i) = 0.5 ** (age_i / 365)`` (the half-life is not fitted), parameters ``theta = (kappa,
rho, gamma)``:

- mass ``m_il = c_il * max(0, (L q_i - 1) / (L - 1)) ** gamma * w_a(i)`` (``gamma = 2`` is the
  prior; ``gamma = 0`` ignores noise);
- scale ``s_l = kappa * sum_{i eligible} m_il`` (``kappa = 1/3`` is the prior);
- after training on nodes ``v_1, ..., v_j`` in that order, the gathered mass is
  ``X_l = sum_k rho ** (j - k) m_{v_k l}`` (``rho = 1``: order-blind; small ``rho``: the last
  nodes dominate, i.e. sequential training forgets);
- coverage ``C = sum_l (1 / L) g(X_l / s_l)`` with ``g`` the piecewise-linear ``1 - exp(-z)`` at
  the coverage breakpoints (the curve the solvers use), and predicted test accuracy
  ``acc = a + b C h(S) - lambda D(X)`` (``b, lambda >= 0``): ``h(S) = 1 - exp(-S / (tau *
  mean steps))`` the warm-up after ``S`` optimisation steps (``ceil(samples / batch)`` per visit;
  ``tau = 0``: ``h = 1``), ``D`` the total-variation distance of ``X``'s label shares from the
  eligible nodes' (label skew), ``tau`` and ``lambda`` on grids (0 included), plus the last
  node's effect (:func:`node_effects`).

**Fitting rule.** Every pilot route is replayed on every pilot seed; each prefix of trained nodes
(the empty prefix, the untrained model, included) gives one measurement, the mean accuracy over
the seeds ``y_k`` with weight ``n_k`` (the number of seeds). For every ``theta`` on a grid,
``(a, b)`` is the weighted least-squares line of ``y`` on ``C_theta`` (``b`` clipped at 0); the
``theta`` with the smallest weighted squared error is kept (first in grid order on ties). The
grid search is exhaustive and deterministic; the pilot routes are drawn from a seed.

**Use.** :meth:`OutcomeModel.apply` writes ``label_mass``, ``coverage_scale``, ``label_weight``,
``recency`` and ``target = (target accuracy - a) / b`` into a :class:`~.problem.Problem`, so that
the existing coverage solvers (``coverage-highs``, ``coverage-ils``, ...) plan on the fitted
model. ``min_time_to_target`` reads plain coverage (recency ignored); ``max_recency_coverage``
uses the fitted ``rho``. ``apply(problem, "min_expected_time_to_target")`` also writes the
per-node decay and effect, the accuracy line, the target accuracy and the pilot spread, which is
all ``anytime-ils`` and ``anytime-bnb`` (:mod:`daitn_opt.mtrce.coverage_anytime`) read.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from .problem import COVERAGE_BREAKS, Problem

KAPPA_GRID = tuple(float(x) for x in np.geomspace(0.01, 3.0, 25))
"""Saturation scale factors tried (log-spaced; the prior 1/3 lies between two of them)."""
RECENCY_GRID = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0)
NOISE_GRID = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0)
WARMUP_GRID = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0)
"""Warm-up scales tried, in units of an average eligible node's optimisation steps (0: none)."""
SKEW_GRID = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.6)
"""Label-skew penalties tried (accuracy lost per unit of total-variation skew; 0: none)."""
PILOT_SEEDS = (100, 101, 102, 103, 104)
"""Default pilot seeds: disjoint from the evaluation seeds (0-19) of ``paper outcomes``."""
HALF_LIFE_DAYS = 365.0
FORGETTING = ("position", "samples")
"""What drives forgetting: the number of nodes trained after one (``"position"``, the solvers'
recency) or the samples trained after it, in units of an average eligible node (``"samples"``)."""

Progress = Callable[[str, dict[str, Any]], None]


# -- data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Basis:
    """What the model is computed from, per node of a request's view (``ids`` order)."""

    ids: tuple[str, ...]
    counts: np.ndarray
    """(n, L) label counts."""
    quality: np.ndarray
    """(n,) samples-weighted quality (label noise ``1 - q``)."""
    age_weight: np.ndarray
    """(n,) ``0.5 ** (age / half-life)``."""
    eligible: np.ndarray
    """(n,) bool: nodes whose mass counts in the scale (utility > 0)."""
    batch_size: int = 10
    """Minibatch size of the replay's local training (``TrainConfig.batch_size``): a visit
    takes ``ceil(samples / batch_size)`` optimisation steps per epoch."""

    def __post_init__(self) -> None:
        counts = np.asarray(self.counts, dtype=np.float64)
        n = len(self.ids)
        if counts.ndim != 2 or counts.shape[0] != n or counts.shape[1] == 0:
            raise InputError("counts", counts.shape, f"expected ({n}, L) with L >= 1")
        if not np.all(np.isfinite(counts)) or (counts < 0).any():
            raise InputError("counts", "negative or non-finite", "label counts must be >= 0")
        for name in ("quality", "age_weight", "eligible"):
            arr = np.asarray(getattr(self, name))
            if arr.shape != (n,):
                raise InputError(name, arr.shape, f"expected ({n},)")
        q = np.asarray(self.quality, dtype=np.float64)
        if not np.all(np.isfinite(q)) or (q < 0).any() or (q > 1).any():
            raise InputError("quality", q.tolist(), "must lie in [0, 1]")
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "quality", q)
        object.__setattr__(self, "age_weight", np.asarray(self.age_weight, dtype=np.float64))
        object.__setattr__(self, "eligible", np.asarray(self.eligible, dtype=bool))

    @property
    def labels(self) -> int:
        return int(self.counts.shape[1])

    def mass(self, gamma: float) -> np.ndarray:
        """(n, L) effective mass under noise exponent ``gamma``."""
        L = self.labels
        signal = self.quality if L < 2 else np.maximum(0.0, (L * self.quality - 1.0) / (L - 1.0))
        # 0 ** 0 = 1: gamma = 0 ignores noise altogether
        return self.counts * (signal**gamma * self.age_weight)[:, None]

    def decay(self, rho: float, forgetting: str = "position") -> np.ndarray:
        """(n,) factor by which training at each node discounts the mass gathered before it:
        ``rho`` (``"position"``), or ``rho ** (samples_i / mean samples of the eligible
        nodes)`` (``"samples"``: a node with twice the average data forgets as much as two)."""
        if forgetting == "position":
            return np.full(len(self.ids), float(rho))
        if forgetting != "samples":
            raise InputError("forgetting", forgetting, f"expected one of {FORGETTING}")
        samples = self.counts.sum(axis=1)
        ref = samples[self.eligible].mean() if self.eligible.any() else 0.0
        return float(rho) ** (samples / ref) if ref > 0 else np.ones(len(self.ids))

    def steps(self) -> np.ndarray:
        """(n,) optimisation steps of one epoch at each node, ``ceil(samples / batch_size)``:
        a hospital of 3 samples takes one step per epoch, as one of 10 does."""
        return np.ceil(self.counts.sum(axis=1) / max(1, int(self.batch_size)))

    def warm_scale(self, warmup: float) -> float:
        """The warm-up scale in steps: ``warmup`` times the mean steps of the eligible nodes
        (0: no warm-up term)."""
        st = self.steps()
        ref = float(st[self.eligible].mean()) if self.eligible.any() else 0.0
        return float(warmup) * ref if ref > 0 else 0.0

    def prior(self, gamma: float) -> np.ndarray:
        """(L,) label distribution of the eligible nodes' mass: the reference of the skew."""
        total = self.mass(gamma)[self.eligible].sum(axis=0)
        s = total.sum()
        return total / s if s > 0 else np.full(self.labels, 1.0 / self.labels)

    def index(self, node: str) -> int:
        try:
            return self.ids.index(node)
        except ValueError:
            raise InputError(
                "node", node, f"not a node of the view ({len(self.ids)} nodes)"
            ) from None


def basis_of(instance: Any, request_id: str) -> Basis:
    """The :class:`Basis` of one request of ``instance`` (from its view)."""
    from ..drrt.view import build_view

    v = build_view(instance.snapshot, instance.request(request_id), instance.travel)
    counts = np.asarray(v.label_counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[1] == 0:
        raise InputError("request", request_id, "its view has no label histograms")
    samples = np.asarray(v.samples, dtype=np.float64)
    utility = np.asarray(v.utility, dtype=np.float64)
    q = np.divide(utility, samples, out=np.zeros_like(samples), where=samples > 0)
    age = np.zeros(len(samples)) if v.age_days is None else np.asarray(v.age_days, float)
    from ..executor.training import TrainConfig

    return Basis(
        ids=tuple(v.ids),
        counts=counts,
        quality=np.clip(q, 0.0, 1.0),
        age_weight=0.5 ** (age / HALF_LIFE_DAYS),
        eligible=utility > 0,
        batch_size=TrainConfig().batch_size,
    )


@dataclass(frozen=True)
class Measurement:
    """Mean test accuracy after training on ``nodes`` (basis indices, in order)."""

    nodes: tuple[int, ...]
    accuracy: float
    weight: float = 1.0
    """How many replays the mean is over."""


# -- the model ----------------------------------------------------------------------------------


def _curve(z: np.ndarray) -> np.ndarray:
    """``g(z)``: piecewise-linear ``1 - exp(-z)`` at the coverage breakpoints, flat after."""
    zb = np.asarray(COVERAGE_BREAKS, dtype=np.float64)
    return np.interp(z, zb, 1.0 - np.exp(-zb))


def _warm(steps: np.ndarray | float, scale: float) -> np.ndarray:
    """``h(S) = 1 - exp(-S / scale)``: the share of its coverage's worth a model has earned after
    ``S`` optimisation steps in all (1 when ``scale`` is 0: no warm-up term)."""
    S = np.asarray(steps, dtype=np.float64)
    return np.ones_like(S) if scale <= 0 else 1.0 - np.exp(-S / scale)


def _skew(X: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Total-variation distance of the gathered mass's label distribution (rows of ``X``, (m,
    L) or (L,)) from ``prior``; 0 where nothing is gathered."""
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    s = X.sum(axis=1, keepdims=True)
    dist = np.divide(X, s, out=np.broadcast_to(prior, X.shape).copy(), where=s > 0)
    return 0.5 * np.abs(dist - prior).sum(axis=1)


def _positions(sequences: Sequence[Sequence[int]], n: int, decay: float | np.ndarray) -> np.ndarray:
    """(len(sequences), n): weight of each trained node, the product of the decays of the nodes
    trained after it (``rho ** (j - k)`` for the k-th of j when every decay is ``rho``)."""
    d = np.broadcast_to(np.asarray(decay, dtype=np.float64), (n,))
    P = np.zeros((len(sequences), n))
    for r, seq in enumerate(sequences):
        w = 1.0
        for node in reversed(seq):
            P[r, node] += w
            w *= d[node]
    return P


@dataclass(frozen=True)
class FitReport:
    """How well the fitted model explains the pilot measurements."""

    measurements: int
    rmse: float
    """Weighted root-mean-square error of the predicted accuracy."""
    rho: float | None
    """Spearman rho between predicted and measured accuracy over the measurements."""
    prior_rmse: float
    """The same error for the hand priors (kappa 1/3, rho 0.95, gamma 2; a, b refitted)."""
    prior_rho: float | None
    candidates: int
    pilot_seeds: tuple[int, ...] = ()
    pilot_routes: int = 0
    checkpoint_sd: float = 0.0
    """Spread of one replay's accuracy around the prediction that is new at every checkpoint
    (:func:`spread_of`; 0 when the fit had no per-replay data)."""
    shared_sd: float = 0.0
    """The part of that spread shared by every checkpoint of one replay."""
    effect_rmse: float | None = None
    """RMSE over the pilot prefixes with the node effects added (in sample; None: none fitted)."""
    effects: str | None = None
    """How the node effects were fitted (:data:`EFFECTS`; None: none)."""
    effect_rho: float | None = None
    """Spearman rho over the pilot prefixes with the node effects added (in sample)."""
    persistent: float = 0.0
    """Share of the checkpoint part's variance that persists to the next checkpoint as an
    AR(1) (:func:`persistence_of`; 0: fresh at every checkpoint)."""
    phi: float = 0.0
    """The AR(1) coefficient of that persistent part."""


@dataclass(frozen=True)
class OutcomeModel:
    """A fitted (or prior) outcome model of one request; see the module docstring."""

    basis: Basis
    kappa: float
    recency: float
    noise_exponent: float
    intercept: float
    slope: float
    target_accuracy: float | None = None
    report: FitReport | None = field(default=None, compare=False)
    forgetting: str = "position"
    """:data:`FORGETTING`: what the recency discount counts (nodes or samples trained after)."""
    node_effect: np.ndarray | None = field(default=None, compare=False)
    """(n,) accuracy added when a node is the last one trained (:func:`node_effects`; None: 0)."""
    warmup: float = 0.0
    """Warm-up: coverage pays ``h(S) = 1 - exp(-S / (warmup * mean eligible steps))`` of its
    worth after ``S`` optimisation steps in all (:meth:`Basis.steps`; 0: none, ``h = 1``)."""
    skew: float = 0.0
    """Accuracy lost per unit of label skew: total-variation distance of the gathered
    (recency-weighted) mass's label distribution from the eligible nodes' (0: none)."""

    # -- evaluation -----------------------------------------------------------------------------
    def mass(self) -> np.ndarray:
        return self.basis.mass(self.noise_exponent)

    def scale(self) -> np.ndarray:
        total = self.mass()[self.basis.eligible].sum(axis=0)
        return np.maximum(self.kappa * total, 1e-9)

    def decay(self) -> np.ndarray:
        """(n,) per-node discount of the mass gathered before it (:meth:`Basis.decay`)."""
        return self.basis.decay(self.recency, self.forgetting)

    def gathered(self, nodes: Sequence[int], order: bool = True) -> np.ndarray:
        """(L,) mass gathered after training on ``nodes`` (basis indices, in order)."""
        P = _positions([list(nodes)], len(self.basis.ids), self.decay() if order else 1.0)
        return (P @ self.mass())[0]

    def coverage(self, nodes: Sequence[int], order: bool = True) -> float:
        """Coverage after training on ``nodes`` (basis indices, in order; recency unless not
        ``order``)."""
        return float(_curve(self.gathered(nodes, order) / self.scale()).mean())

    def predict(self, nodes: Sequence[int]) -> float:
        """Predicted test accuracy after training on ``nodes`` in that order (plus the last
        node's effect, when the model has them)."""
        seq = list(nodes)
        X = self.gathered(seq)
        steps = float(self.basis.steps()[seq].sum()) if seq else 0.0
        warm = float(_warm(steps, self.basis.warm_scale(self.warmup)))
        cov = float(_curve(X / self.scale()).mean())
        base = self.intercept + self.slope * cov * warm
        if self.skew > 0 and seq:
            base -= self.skew * float(_skew(X, self.basis.prior(self.noise_exponent))[0])
        if self.node_effect is not None and len(nodes):
            base += float(self.node_effect[list(nodes)[-1]])
        return base

    def coverage_target(self, target_accuracy: float | None = None) -> float:
        """The coverage at which the predicted accuracy reaches the target (inf: never)."""
        t = self.target_accuracy if target_accuracy is None else target_accuracy
        if t is None:
            raise InputError("target_accuracy", None, "the model has no target accuracy")
        if self.slope <= 0:
            return 0.0 if self.intercept >= t else math.inf
        return (t - self.intercept) / self.slope

    def trained(self, problem: Problem, route: Sequence[int]) -> list[int]:
        """Basis indices of the nodes a replay of ``route`` (problem indices) trains at, in
        order: the customers, then the end when it holds utility (the executor trains there)."""
        idx = [self.basis.index(problem.ids[i]) for i in route[1:-1]]
        end = route[-1]
        if len(route) >= 2 and problem.utility[end] > 0 and end not in route[1:-1]:
            idx.append(self.basis.index(problem.ids[end]))
        return idx

    def predicted_time(self, problem: Problem, route: Sequence[int]) -> float:
        """Simulated time at which the predicted accuracy first reaches the target along
        ``route`` (problem indices): the end of training at that node (inf: never)."""
        from .plan import Arrays, RouteTimes

        t = self.target_accuracy
        if t is None:
            raise InputError("target_accuracy", None, "the model has no target accuracy")
        if self.intercept >= t:
            return 0.0
        seq = self.trained(problem, route)
        times = RouteTimes(Arrays.of(problem), list(route))
        for p in range(1, len(seq) + 1):
            if self.predict(seq[:p]) >= t - 1e-12:
                pos = min(p, len(route) - 1)
                return float(times.start[pos] + problem.service[route[pos]])
        return math.inf

    # -- planning -------------------------------------------------------------------------------
    def apply(
        self, problem: Problem, objective: str | None = None, *, spread: Any = None
    ) -> Problem:
        """``problem`` with the fitted coverage fields (and ``objective`` when given).

        ``target`` is the coverage target of the target accuracy, clamped to
        ``[1e-6, coverage of every eligible node]`` (a target the model says no route reaches
        becomes the most any route can reach). Recency is written as fitted; the solvers read it
        under ``max_recency_coverage`` only. Under ``"min_expected_time_to_target"`` the
        outcome-model fields (:meth:`expected_time_fields`, with ``spread`` or the pilot spread)
        are written too (warm-up, label skew and the persistent checkpoint error included), so
        that ``anytime-ils``, ``anytime-bnb`` and the checker evaluate the result alone exactly as
        ``anytime.Objective(problem, self)`` does.
        """
        from .problem import EXPECTED_TIME

        pos = [self.basis.index(n) for n in problem.ids]
        mass = self.mass()[pos]
        scale = self.scale()
        L = self.basis.labels
        weight = np.full(L, 1.0 / L)
        changes: dict[str, Any] = {
            "label_mass": mass,
            "coverage_scale": scale,
            "label_weight": weight,
            "recency": float(self.recency),
        }
        if self.target_accuracy is not None:
            best = float(_curve(mass.sum(axis=0) / scale).mean())
            changes["target"] = float(min(max(self.coverage_target(), 1e-6), best))
        if objective == EXPECTED_TIME:
            if self.target_accuracy is None:
                raise InputError("target_accuracy", None, f"{EXPECTED_TIME} needs one")
            changes.update(self.expected_time_fields(problem, spread))
        if objective is not None:
            changes["objective"] = objective
        return problem.replace(**changes)

    def expected_time_fields(
        self, problem: Problem, spread: Any = None, target_accuracy: float | None = None
    ) -> dict[str, Any]:
        """The :class:`~.problem.Problem` fields of the expected-time objective for the nodes of
        ``problem``: coverage (mass, scale, weights, breakpoints), per-node decay and effect, the
        accuracy line, the target accuracy (``target_accuracy`` or the model's), the spread
        (``spread`` or :meth:`spread`, its persistent part included) and the warm-up and skew
        terms (:meth:`optimisation_fields`)."""
        from .anytime import spread_fields

        pos = [self.basis.index(n) for n in problem.ids]
        sp = self.spread() if spread is None else spread
        effect = None if self.node_effect is None else np.asarray(self.node_effect)[pos]
        target = self.target_accuracy if target_accuracy is None else target_accuracy
        L = self.basis.labels
        return {
            "label_mass": self.mass()[pos],
            "coverage_scale": self.scale(),
            "label_weight": np.full(L, 1.0 / L),
            "coverage_breaks": np.asarray(COVERAGE_BREAKS, dtype=np.float64).copy(),
            "node_decay": self.decay()[pos],
            "node_effect": effect,
            "accuracy_intercept": float(self.intercept),
            "accuracy_slope": float(self.slope),
            "target_accuracy": None if target is None else float(target),
            **spread_fields(sp),
            **self.optimisation_fields(problem),
        }

    def optimisation_fields(self, problem: Problem) -> dict[str, Any]:
        """The :class:`~.problem.Problem` fields of the warm-up and skew terms on the nodes of
        ``problem``: ``node_steps`` (n,), ``warm_scale`` (0: none), ``skew`` and ``skew_prior``
        (L,)."""
        pos = [self.basis.index(n) for n in problem.ids]
        return {
            "node_steps": self.basis.steps()[pos].astype(np.float64),
            "warm_scale": float(self.basis.warm_scale(self.warmup)),
            "skew": float(self.skew),
            "skew_prior": self.basis.prior(self.noise_exponent),
        }

    def spread(self) -> Any:
        """The :class:`~daitn_opt.mtrce.anytime.Spread` of the pilot replays around this model
        (zero without a report)."""
        from .anytime import Spread

        r = self.report
        if r is None:
            return Spread(0.0, 0.0)
        return Spread(r.checkpoint_sd, r.shared_sd, persistent=r.persistent, phi=r.phi)

    def describe(self) -> dict[str, Any]:
        """The parameters and the fit figures, as plain values."""
        out: dict[str, Any] = {
            "kappa": self.kappa,
            "recency": self.recency,
            "forgetting": self.forgetting,
            "noise_exponent": self.noise_exponent,
            "warmup": self.warmup,
            "skew": self.skew,
            "intercept": self.intercept,
            "slope": self.slope,
            "target_accuracy": self.target_accuracy,
        }
        if self.target_accuracy is not None:
            out["coverage_target"] = self.coverage_target()
        if self.report is not None:
            r = self.report
            out.update(
                measurements=r.measurements,
                rmse=r.rmse,
                pilot_rho=r.rho,
                prior_rmse=r.prior_rmse,
                prior_pilot_rho=r.prior_rho,
                pilot_seeds=list(r.pilot_seeds),
                pilot_routes=r.pilot_routes,
                checkpoint_sd=r.checkpoint_sd,
                shared_sd=r.shared_sd,
                persistent=r.persistent,
                phi=r.phi,
                effect_rmse=r.effect_rmse,
                effects=r.effects,
                effect_rho=r.effect_rho,
            )
        return out


def prior_model(basis: Basis, target_accuracy: float | None = None) -> OutcomeModel:
    """The hand priors (kappa 1/3, rho 0.95, gamma 2) with ``acc = C`` (no line fitted)."""
    return OutcomeModel(basis, 1.0 / 3.0, 0.95, 2.0, 0.0, 1.0, target_accuracy)


def plan_to_target(
    problem: Problem,
    model: OutcomeModel,
    *,
    solver: str = "coverage-highs",
    time_limit: float = 20.0,
    rounds: int = 3,
) -> tuple[Any, float, int]:
    """Plan ``min_time_to_target`` on the fitted model, order included.

    The solvers' target row reads plain coverage, which over-states what a forgetful model keeps
    (fitted ``recency < 1``). So: solve with the fitted coverage target; if the model predicts
    (with recency) that the route never reaches the target accuracy, raise the target halfway
    from the route's plain coverage to the coverage of every eligible node and solve again, at
    most ``rounds`` times. Returns ``(result, predicted time, rounds used)`` of the route with the
    earliest predicted time (the first on ties; when none reaches the target, the one of highest
    predicted final accuracy). ``result`` is None when no round found a route.
    """
    from ..registry import solve

    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise InputError("rounds", rounds, "expected a positive integer")
    base = model.apply(problem, "min_time_to_target")
    bound = float(_curve(base.label_mass.sum(axis=0) / model.scale()).mean())
    target = float(base.target)
    best: tuple[float, float, Any] | None = None
    used = 0
    while used < rounds:
        used += 1
        res = solve(base.replace(target=target), solver, time_limit=time_limit, seed=0)
        if not res.is_feasible():
            break
        route = [problem.ids.index(n) for n in res.solution["routes"][0]]
        seq = model.trained(problem, route)
        t = model.predicted_time(problem, route)
        key = (t, -model.predict(seq), res)
        if best is None or key[:2] < best[:2]:
            best = key
        if math.isfinite(t) or target >= bound - 1e-9:
            break
        target = min(bound, max(target, model.coverage(seq, order=False)) * 0.5 + bound * 0.5)
    if best is None:
        return None, math.inf, used
    return best[2], best[0], used


# -- fitting ------------------------------------------------------------------------------------


def _line(c: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float, float]:
    """Weighted least squares ``y ~ a + b c`` with ``b >= 0``: (a, b, weighted SSE)."""
    sw = w.sum()
    cm, ym = (w * c).sum() / sw, (w * y).sum() / sw
    var = (w * (c - cm) ** 2).sum()
    b = max(0.0, float((w * (c - cm) * (y - ym)).sum() / var)) if var > 1e-15 else 0.0
    a = float(ym - b * cm)
    return a, b, float((w * (y - a - b * c) ** 2).sum())


def _check_grid(name: str, values: Iterable[float], low: float, high: float, open_low: bool):
    vals = tuple(float(v) for v in values)
    if not vals:
        raise InputError(name, vals, "needs at least one value")
    for v in vals:
        bad_low = v <= low if open_low else v < low
        if not math.isfinite(v) or bad_low or v > high:
            side = "(" if open_low else "["
            raise InputError(name, v, f"must lie in {side}{low:g}, {high:g}]")
    return vals


def _check_measurements(basis: Basis, measurements: Sequence[Measurement]) -> None:
    if len(measurements) < 3:
        raise InputError("measurements", len(measurements), "need at least 3 to fit a line")
    n = len(basis.ids)
    for k, m in enumerate(measurements):
        if any(not 0 <= i < n for i in m.nodes):
            raise InputError(f"measurements[{k}].nodes", m.nodes, f"indices must lie in 0..{n - 1}")
        if not (math.isfinite(m.accuracy) and 0.0 <= m.accuracy <= 1.0):
            raise InputError(f"measurements[{k}].accuracy", m.accuracy, "must lie in [0, 1]")
        if not (math.isfinite(m.weight) and m.weight > 0):
            raise InputError(f"measurements[{k}].weight", m.weight, "must be positive")


def _lines(c: np.ndarray, d: np.ndarray, y: np.ndarray, w: np.ndarray, skews: np.ndarray):
    """:func:`_line` of ``y + s d`` on each row of ``c`` for every ``s`` of ``skews`` at once:
    arrays ``(a, b, sse)`` of shape ``(len(c), len(skews))`` (``b >= 0``)."""
    sw = w.sum()
    cm = (c * w).sum(axis=1, keepdims=True) / sw
    dc = c - cm
    var = (w * dc**2).sum(axis=1)[:, None]
    Y = y[None, :] + skews[:, None] * d[None, :]
    ym = (Y * w).sum(axis=1) / sw
    cov = (w * dc) @ (Y - ym[:, None]).T
    b = np.where(var > 1e-15, np.maximum(0.0, cov / np.where(var > 1e-15, var, 1.0)), 0.0)
    a = ym[None, :] - b * cm
    r = Y[None, :, :] - a[:, :, None] - b[:, :, None] * c[:, None, :]
    return a, b, (w * r**2).sum(axis=2)


def fit_measurements(
    basis: Basis,
    measurements: Sequence[Measurement],
    *,
    target_accuracy: float | None = None,
    kappas: Iterable[float] = KAPPA_GRID,
    recencies: Iterable[float] = RECENCY_GRID,
    noise_exponents: Iterable[float] = NOISE_GRID,
    forgetting: Iterable[str] = FORGETTING,
    warmups: Iterable[float] = WARMUP_GRID,
    skews: Iterable[float] = SKEW_GRID,
) -> OutcomeModel:
    """Fit ``(kappa, rho, gamma, warmup, skew, a, b)`` to ``measurements`` by the module's rule.

    Raises :class:`~daitn_opt.errors.InputError` naming the field on fewer than 3 measurements,
    node indices out of range, accuracies outside [0, 1], non-positive weights or grid values out
    of their ranges (kappa > 0, 0 < rho <= 1, 0 <= gamma <= 10, 0 <= warmup <= 1e6,
    0 <= skew <= 1).
    """
    from ..papers.stats import spearman

    _check_measurements(basis, measurements)
    ks = _check_grid("kappas", kappas, 0.0, 1e6, True)
    rs = _check_grid("recencies", recencies, 0.0, 1.0, True)
    gs = _check_grid("noise_exponents", noise_exponents, 0.0, 10.0, False)
    hs = _check_grid("warmups", warmups, 0.0, 1e6, False)
    ss = np.array(_check_grid("skews", skews, 0.0, 1.0, False))
    fs = tuple(forgetting)
    if not fs or any(f not in FORGETTING for f in fs):
        raise InputError("forgetting", fs, f"expected a non-empty subset of {FORGETTING}")
    if target_accuracy is not None and not 0.0 < float(target_accuracy) <= 1.0:
        raise InputError("target_accuracy", target_accuracy, "must lie in (0, 1]")
    y = np.array([m.accuracy for m in measurements])
    w = np.array([m.weight for m in measurements])
    seqs = [list(m.nodes) for m in measurements]
    n = len(basis.ids)
    steps = basis.steps()
    done = np.array([float(steps[q].sum()) if q else 0.0 for q in seqs])
    warm = np.array([_warm(done, basis.warm_scale(h)) for h in hs])  # (H, m)
    best: tuple[float, tuple[float, float, float, float, float, str, float, float]] | None = None
    for gamma in gs:
        mass = basis.mass(gamma)
        total = mass[basis.eligible].sum(axis=0)
        prior = basis.prior(gamma)
        for mode in fs:
            for rho in rs:
                if rho == 1.0 and mode != fs[0]:
                    continue  # no forgetting: every mode is the same model
                X = _positions(seqs, n, basis.decay(rho, mode)) @ mass
                d = _skew(X, prior)
                for kappa in ks:
                    c0 = _curve(X / np.maximum(kappa * total, 1e-9)).mean(axis=1)
                    a, b, sse = _lines(c0[None, :] * warm, d, y, w, ss)
                    k = int(np.argmin(sse))  # the first in grid order on ties
                    hi, si = divmod(k, len(ss))
                    if best is None or sse[hi, si] < best[0] - 1e-12 * max(1.0, best[0]):
                        best = (
                            float(sse[hi, si]),
                            (kappa, rho, gamma, float(a[hi, si]), float(b[hi, si]), mode,
                             hs[hi], float(ss[si])),
                        )  # fmt: skip
    assert best is not None
    sse, (kappa, rho, gamma, a, b, mode, h, sk) = best
    params = dict(forgetting=mode, warmup=h, skew=sk)
    model = OutcomeModel(basis, kappa, rho, gamma, a, b, target_accuracy, **params)
    pred = np.array([model.predict(s) for s in seqs])
    prior_m = prior_model(basis)
    pc = np.array([prior_m.coverage(s) for s in seqs])
    psse = _line(pc, y, w)[2]
    report = FitReport(
        measurements=len(measurements),
        rmse=math.sqrt(sse / w.sum()),
        rho=spearman(pred, y),
        prior_rmse=math.sqrt(psse / w.sum()),
        prior_rho=spearman(pc, y),
        candidates=len(ks) * len(rs) * len(gs) * len(fs) * len(hs) * len(ss),
    )
    return OutcomeModel(basis, kappa, rho, gamma, a, b, target_accuracy, report, **params)


# -- pilot replays ------------------------------------------------------------------------------


def draw_pilot_routes(problem: Problem, count: int = 12, seed: int = 5000) -> list[list[str]]:
    """``count`` seeded pilot routes and their reversals (distinct, as node ids).

    Half are the ``random`` solver's routes (random order, appended while feasible: short), half
    the ``greedy`` solver's routes under random utilities (long, random composition). Reversed
    copies show the model what order alone does. Seeds ``seed, seed + 1, ...``; keep them
    disjoint from the seeds of any route the evaluation replays.
    """
    from ..registry import solve

    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InputError("pilot_routes", count, "expected a positive number of routes")
    base = problem.replace(objective="max_utility")
    rng = np.random.default_rng(seed)
    out: dict[tuple[str, ...], None] = {}
    for k in range(count):
        if k % 2 == 0:
            res = solve(base, "random", time_limit=5, seed=seed + k)
        else:
            u = np.where(base.utility > 0, rng.uniform(0.05, 1.0, base.n), 0.0)
            res = solve(base.replace(utility=u), "greedy", time_limit=5, seed=seed + k)
        if not res.is_feasible():
            continue
        route = [str(x) for x in res.solution["routes"][0]]
        out.setdefault(tuple(route), None)
        if len(route) > 3:
            out.setdefault((route[0], *route[-2:0:-1], route[-1]), None)
    return [list(r) for r in out]


Run = list[tuple[tuple[int, ...], float]]
"""One replay: ``(trained prefix, accuracy)`` per checkpoint, the empty prefix first."""


def replay_prefixes(
    instance: Any,
    request_id: str,
    routes: Sequence[Sequence[str]],
    seeds: Sequence[int],
    basis: Basis,
    progress: Progress | None = None,
) -> list[Run]:
    """Replay every route on every seed; one :data:`Run` per replay (seed-major order)."""
    from ..executor import SequentialReplay

    runs: list[Run] = []
    for k, seed in enumerate(seeds):
        if progress is not None:
            progress("pilot", {"seed": seed, "index": k, "total": len(seeds)})
        rep = SequentialReplay(instance, request_id, seed=int(seed), threads=1)
        for route in routes:
            out = rep.run({"routes": [list(route)]})
            prefix: tuple[int, ...] = ()
            run: Run = []
            for step in out.trace:
                if step.action == "start":
                    run.append(((), float(step.accuracy)))
                elif step.action == "train" and not math.isnan(step.accuracy):
                    prefix = (*prefix, basis.index(step.node))
                    run.append((prefix, float(step.accuracy)))
            runs.append(run)
    return runs


def aggregate(runs: Sequence[Run]) -> list[Measurement]:
    """One :class:`Measurement` per distinct prefix: its accuracy averaged over the runs."""
    acc: dict[tuple[int, ...], list[float]] = {}
    for run in runs:
        for prefix, a in run:
            acc.setdefault(prefix, []).append(a)
    return [Measurement(p, float(np.mean(v)), float(len(v))) for p, v in acc.items()]


def measure(*args: Any, **kwargs: Any) -> list[Measurement]:
    """Replay every route on every seed (the arguments of :func:`replay_prefixes`); one
    :class:`Measurement` per distinct trained prefix (the empty prefix included), its accuracy
    averaged over the replays that trained it."""
    return aggregate(replay_prefixes(*args, **kwargs))


def node_effects(
    model: OutcomeModel, measurements: Sequence[Measurement], replay_var: float
) -> np.ndarray:
    """(n,) shrunken mean residual of the measurements whose last trained node is each node.

    The coverage line cannot see what one node's data does to the model beyond its labels,
    quality and size (a skewed hospital pulling a balanced model over, a digits node whose two
    classes decide what is left). Per node ``i``: ``m_i`` the weighted mean residual (measured
    minus ``model``) of the prefixes ending at ``i``, over ``N_i`` replays; empirical Bayes with
    prior mean 0: ``beta_i = m_i tau^2 / (tau^2 + replay_var / N_i)``, ``tau^2 = max(0, mean m_i^2 -
    mean replay_var / N_i)``. Nodes no pilot prefix ends at get 0. ``replay_var`` is the variance
    of one replay's accuracy around the prediction (:func:`spread_of`, both parts).
    """
    n = len(model.basis.ids)
    total, count = np.zeros(n), np.zeros(n)
    for m in measurements:
        if m.nodes:
            last = m.nodes[-1]
            total[last] += m.weight * (m.accuracy - model.predict(m.nodes))
            count[last] += m.weight
    seen = count > 0
    beta = np.zeros(n)
    if seen.sum() < 2 or not replay_var > 0:
        return beta
    mean = total[seen] / count[seen]
    noise = replay_var / count[seen]
    tau2 = max(0.0, float(np.mean(mean**2) - np.mean(noise)))
    beta[seen] = mean * tau2 / (tau2 + noise)
    return beta


EFFECTS = ("mean", "reach")
"""How the last-node effects are fitted: to the mean residual (:func:`node_effects`) or to the
share of replays that reach the target accuracy (:func:`reach_effects`)."""


def reach_effects(
    model: OutcomeModel, runs: Sequence[Run], target: float, sd: float, prior_sd: float
) -> np.ndarray:
    """(n,) last-node effects that match how often a checkpoint reaches ``target``.

    The expected-time objective reads the model only through each checkpoint's probability of
    reaching the target, ``Phi((p_k + beta_last - A) / sd)`` (``sd`` the total spread of one
    replay). Where one replay's scatter differs by node (pathological digits: a node with
    classes 6 and 7 ends at 0.20 +- 0.01 and reaches 0.2 on most replays, one with 8 and 9 ends
    at 0.18 +- 0.01 and never does; a common spread makes both about even chances), the mean
    residual gets that probability wrong. Per node ``i``, over every pilot checkpoint whose
    last trained node is ``i`` (prediction ``p_k`` of ``model`` without effects, hit ``h_k`` =
    accuracy >= ``A``): ``beta_i`` maximises ``sum_k log Bernoulli(h_k; Phi((p_k + beta - A) /
    sd)) - beta^2 / (2 prior_sd^2)`` (a normal prior at 0; bounded to [-1, 1]). Nodes no pilot
    checkpoint ends at get 0.
    """
    from scipy.optimize import minimize_scalar
    from scipy.special import log_ndtr

    if not (sd > 0 and prior_sd > 0):
        raise InputError("sd", (sd, prior_sd), "the spreads must be > 0")
    n = len(model.basis.ids)
    preds: dict[int, list[float]] = {}
    hits: dict[int, list[float]] = {}
    for run in runs:
        for prefix, acc in run:
            if prefix:
                preds.setdefault(prefix[-1], []).append(model.predict(list(prefix)))
                hits.setdefault(prefix[-1], []).append(float(acc >= target - 1e-12))
    beta = np.zeros(n)
    for i, ps in preds.items():
        u0 = (np.array(ps) - target) / sd
        h = np.array(hits[i])

        def loss(b: float, u0: np.ndarray = u0, h: np.ndarray = h) -> float:
            u = u0 + b / sd
            ll = h * log_ndtr(u) + (1.0 - h) * log_ndtr(-u)
            return float(-ll.sum() + b * b / (2.0 * prior_sd**2))

        beta[i] = float(minimize_scalar(loss, bounds=(-1.0, 1.0), method="bounded").x)
    return beta


def spread_of(model: OutcomeModel, runs: Sequence[Run]) -> tuple[float, float]:
    """``(checkpoint_sd, shared_sd)``: how one replay's accuracy scatters around ``model``.

    Residuals ``r = measured - predicted`` at every trained checkpoint (the untrained start is
    left out: it never decides a time to target). Their mean square is ``sigma_c^2 +
    sigma_s^2``; the mean product of two residuals of the same replay estimates the shared part
    ``sigma_c^2`` (clipped at 0), the rest is new at each checkpoint.
    """
    total = pairs = 0.0
    sq = count = 0.0
    for run in runs:
        r = np.array([a - model.predict(list(p)) for p, a in run if p])
        if r.size == 0:
            continue
        sq += float((r**2).sum())
        count += r.size
        total += float(r.sum() ** 2 - (r**2).sum()) / 2.0
        pairs += r.size * (r.size - 1) / 2.0
    if count == 0:
        return 0.0, 0.0
    var = sq / count
    shared = min(var, max(0.0, total / pairs)) if pairs else 0.0
    return math.sqrt(max(0.0, var - shared)), math.sqrt(shared)


def persistence_of(
    model: OutcomeModel, runs: Sequence[Run], checkpoint_sd: float, shared_sd: float
) -> tuple[float, float]:
    """``(alpha^2, phi)``: how much of the checkpoint part of one replay's error persists.

    :func:`spread_of` splits the error into a part shared by a whole replay and a part new at
    each checkpoint. Consecutive checkpoints of one replay are more alike than that (the same
    model trained a little further: on the healthcare-medium pilots the lag-1 correlation of the
    residuals is about 0.6 where the two parts imply 0.15), so each checkpoint is not a fresh
    chance. Model the checkpoint part as ``sigma_s (alpha U_k + (1 - alpha^2)^(1/2) E_k)``, ``U``
    a stationary AR(1) with coefficient ``phi`` and ``E`` independent: the lag-``j`` correlation
    of the checkpoint part is ``r_j = alpha^2 phi^j``. Estimated by moments from the mean
    products of residuals ``j = 1, 2`` checkpoints apart within a replay, less the shared
    variance: ``phi = r_2 / r_1`` (clipped to [0, 0.95]), ``alpha^2 = r_1 / phi`` (clipped to
    [0, 1]); (0, 0) when either correlation is not positive or nothing is left to estimate.
    """
    if not checkpoint_sd > 0:
        return 0.0, 0.0
    prods: dict[int, list[float]] = {1: [], 2: []}
    for run in runs:
        r = np.array([a - model.predict(list(p)) for p, a in run if p])
        for j in prods:
            if r.size > j:
                prods[j].extend((r[:-j] * r[j:]).tolist())
    if not prods[1] or not prods[2]:
        return 0.0, 0.0
    r1, r2 = ((float(np.mean(prods[j])) - shared_sd**2) / checkpoint_sd**2 for j in (1, 2))
    if not (r1 > 0 and r2 > 0):
        return 0.0, 0.0
    phi = min(0.95, r2 / r1)
    return min(1.0, r1 / phi), phi


def pilot_times(
    instance: Any,
    request_id: str,
    routes: Sequence[Sequence[str]],
    seeds: Sequence[int],
    target_accuracy: float,
) -> list[list[float]]:
    """Simulated times to ``target_accuracy`` of each route, one per seed of ``seeds`` (a replay
    that never reaches it counts as inf). For choosing among candidate plans on pilot seeds,
    never on the seeds they are evaluated on."""
    from ..executor import SequentialReplay

    if not 0.0 < float(target_accuracy) <= 1.0:
        raise InputError("target_accuracy", target_accuracy, "must lie in (0, 1]")
    times: list[list[float]] = [[] for _ in routes]
    for seed in seeds:
        rep = SequentialReplay(
            instance, request_id, seed=int(seed), threads=1, target_accuracy=target_accuracy
        )
        for k, route in enumerate(routes):
            t = rep.run({"routes": [list(route)]}).summary.time_to_target
            times[k].append(math.inf if t is None else float(t))
    return times


def fit_outcome_model(
    instance: Any,
    request_id: str,
    *,
    pilot_seeds: Sequence[int] = PILOT_SEEDS,
    pilot_routes: int | Sequence[Sequence[str]] = 12,
    route_seed: int = 5000,
    target_accuracy: float | None = None,
    progress: Progress | None = None,
    node_effect: bool = True,
    effects: str = "mean",
    terms: bool = False,
    **grid: Iterable[float],
) -> OutcomeModel:
    """Replay pilot routes on ``pilot_seeds`` and fit the outcome model of ``request_id``.

    ``pilot_routes`` is a number of routes to draw (:func:`draw_pilot_routes` with ``route_seed``) or
    the routes themselves (lists of node ids). ``grid`` may override ``kappas``, ``recencies``,
    ``noise_exponents``, ``forgetting``, ``warmups``, ``skews`` (:func:`fit_measurements`). With ``node_effect`` the
    model also gets each node's last-node effect: the shrunken mean residual
    (:func:`node_effects`, ``effects="mean"``) or, with ``effects="reach"`` (needs
    ``target_accuracy``), the effect that matches each node's pilot share of checkpoints at the
    target (:func:`reach_effects`, prior sd twice the total spread; the spread stays the one
    around the mean effects). With ``terms`` the fit also tries the warm-up and label-skew
    terms (their grids, unless ``grid`` gives them) and the spread gets the persistence of its
    checkpoint part (:func:`persistence_of`); ``apply`` writes all three into a
    :class:`~.problem.Problem`. Without it (the default) they stay 0. The pilot
    seeds must be disjoint from the seeds the plans are evaluated on; nothing here checks that,
    the caller chooses both.
    """
    from ..papers.stats import spearman
    from . import from_instance

    seeds = tuple(pilot_seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in seeds):
        raise InputError("pilot_seeds", pilot_seeds, "expected a non-empty list of integer seeds")
    keys = {"kappas", "recencies", "noise_exponents", "forgetting", "warmups", "skews"}
    unknown = set(grid) - keys
    if unknown:
        raise InputError("grid", sorted(unknown), f"expected some of {sorted(keys)}")
    if effects not in EFFECTS:
        raise InputError("effects", effects, f"expected one of {EFFECTS}")
    if effects == "reach" and target_accuracy is None:
        raise InputError("effects", effects, "reach effects need a target_accuracy")
    if not terms:
        grid = {"warmups": (0.0,), "skews": (0.0,), **grid}
    problem = from_instance(instance, request_id)
    basis = basis_of(instance, request_id)
    if isinstance(pilot_routes, int):
        routes = draw_pilot_routes(problem, pilot_routes, route_seed)
    else:
        routes = [list(map(str, r)) for r in pilot_routes]
        if not routes:
            raise InputError("pilot_routes", pilot_routes, "expected at least one route")
        for r in routes:
            for node in r:
                if node not in basis.ids:
                    raise InputError("pilot_routes", node, f"not a node of {request_id}'s view")
    runs = replay_prefixes(instance, request_id, routes, seeds, basis, progress)
    data = aggregate(runs)
    model = fit_measurements(basis, data, target_accuracy=target_accuracy, **grid)
    rep = model.report
    assert rep is not None
    effect = None
    if node_effect:
        effect = node_effects(model, data, sum(s**2 for s in spread_of(model, runs)))
        model = dataclasses.replace(model, node_effect=effect)
    checkpoint_sd, shared_sd = spread_of(model, runs)
    if node_effect and effects == "reach":
        assert target_accuracy is not None
        sd = math.hypot(checkpoint_sd, shared_sd)
        if sd > 0:
            base = dataclasses.replace(model, node_effect=None)
            effect = reach_effects(base, runs, float(target_accuracy), sd, 2.0 * sd)
            model = dataclasses.replace(model, node_effect=effect)
    w = np.array([m.weight for m in data])
    res = np.array([m.accuracy - model.predict(m.nodes) for m in data])
    persistent, phi = persistence_of(model, runs, checkpoint_sd, shared_sd) if terms else (0, 0)
    report = FitReport(
        **{
            **rep.__dict__,
            "pilot_seeds": seeds,
            "pilot_routes": len(routes),
            "checkpoint_sd": checkpoint_sd,
            "shared_sd": shared_sd,
            "persistent": float(persistent),
            "phi": float(phi),
            "effect_rmse": math.sqrt(float((w * res**2).sum() / w.sum())),
            "effects": effects if node_effect else None,
            "effect_rho": spearman(
                np.array([model.predict(m.nodes) for m in data]),
                np.array([m.accuracy for m in data]),
            ),
        }
    )
    return OutcomeModel(
        basis,
        model.kappa,
        model.recency,
        model.noise_exponent,
        model.intercept,
        model.slope,
        target_accuracy,
        report,
        forgetting=model.forgetting,
        node_effect=effect,
        warmup=model.warmup,
        skew=model.skew,
    )


__all__ = [
    "EFFECTS",
    "FORGETTING",
    "KAPPA_GRID",
    "NOISE_GRID",
    "PILOT_SEEDS",
    "RECENCY_GRID",
    "Basis",
    "FitReport",
    "Measurement",
    "OutcomeModel",
    "Run",
    "aggregate",
    "basis_of",
    "draw_pilot_routes",
    "fit_measurements",
    "fit_outcome_model",
    "measure",
    "node_effects",
    "persistence_of",
    "pilot_times",
    "plan_to_target",
    "prior_model",
    "reach_effects",
    "replay_prefixes",
    "spread_of",
]
