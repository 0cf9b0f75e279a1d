"""Expected time to target: the anytime route of a fitted outcome model (issue 12).

**Problem.** ``min_time_to_target`` minimises the time at which the *mean* predicted accuracy
crosses the target and ends the route there. But one replay's accuracy after a hop scatters
around its mean (seed: data split, label noise, initial weights), so such a route reaches the
target on about half of the replays and then has no further chance; a route that keeps training
on nearby nodes gets another chance at every checkpoint (``papers/outcomes/README.md``, the
diagnosis). The objective here is the one a user with a deadline cares about: the **expected**
time to target under the model's prediction error, censored at the deadline.

**Objective** (``formulations/mtrce.md``, section "Expected time to target"). A route ``[s, v_1,
..., v_m, e]`` trains at ``v_1, ..., v_m`` (and at ``e`` when it holds data); checkpoint ``k``
(``k = 0`` the untrained model at time 0) ends at ``t_k`` with predicted accuracy ``p_k`` of the
:class:`~daitn_opt.mtrce.calibration.OutcomeModel` (order, forgetting and the last node's effect
included). The measured
accuracy is ``p_k + sigma_c Z + sigma_s E_k`` with ``Z, E_k`` independent standard normals:
``sigma_c`` the error shared by every checkpoint of one replay (model error and the seed's
level), ``sigma_s`` the part that is new at each checkpoint. Given ``Z = z`` checkpoint ``k``
reaches the target ``A`` with probability ``q_k(z) = Phi((p_k + sigma_c z - A) / sigma_s)``
(a step when ``sigma_s = 0``), independently of the others, and (below; with a persistent part,
:attr:`Spread.persistent` of ``E_k`` follows a stationary AR(1) carried as a Rouwenhorst chain and
the same sum is a forward recursion over its states: consecutive checkpoints of one replay are
alike, so a later checkpoint is less of a fresh chance)

    ``E[min(T, H)] = E_z[ sum_k t_k q_k(z) prod_{j<k} (1 - q_j(z)) + H prod_k (1 - q_k(z)) ]``

with ``H`` the deadline (a replay that never reaches the target costs the deadline: no later
than any replay that does). ``E_z`` is Gauss-Hermite quadrature (``nodes`` points). A checkpoint
early on a route is worth most: its probability counts against the whole remaining time, so the
route front-loads predicted accuracy per second (the first hop matters most), and it keeps
visiting nodes while another checkpoint still lowers the expected time.

**Solvers.** :func:`plan_anytime` is a greedy insertion (best decrease of the objective) followed
by an iterated local search (insert, remove, swap, relocate, reverse a segment; seeded
perturbations). :func:`solve_exact` is a depth-first branch and bound over ordered node
sequences (the bound: checkpoints already made are fixed, every later one ends no earlier than
the last one), optimal when it finishes within its time limit; :func:`brute_force` enumerates
every feasible route of a small view (the independent check of both). Nothing here prints.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr

from ..errors import InputError
from .coverage_heuristics import route_feasible
from .plan import Arrays, RouteTimes
from .problem import Problem

Route = list[int]


@dataclass(frozen=True)
class Spread:
    """Prediction error of one replay's accuracy, in accuracy units."""

    checkpoint: float
    """``sigma_s``: the part that is new at every checkpoint."""
    shared: float
    """``sigma_c``: the part shared by every checkpoint of one replay (model error, seed level)."""
    nodes: int = 9
    """Gauss-Hermite points over the shared part (1 when ``shared`` is 0)."""
    persistent: float = 0.0
    """``alpha^2``: the share of the checkpoint part's variance that persists from one checkpoint
    to the next as a stationary AR(1) (0: every checkpoint a fresh draw)."""
    phi: float = 0.0
    """The AR(1) coefficient of the persistent part (lag-1 correlation ``alpha^2 phi``)."""
    states: int = 15
    """Rouwenhorst states of the persistent part."""

    def __post_init__(self) -> None:
        for name in ("checkpoint", "shared"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise InputError(name, v, "must be a finite number >= 0")
        for name in ("persistent", "phi"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                raise InputError(name, v, "must lie in [0, 1]")
        for name in ("nodes", "states"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(name, v, "expected a positive integer")

    def chain(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(u, stationary, transition)`` of the persistent part: Rouwenhorst's discrete AR(1)
        (Kopecky and Suen 2010; exact mean, unit variance and lag-1 correlation ``phi``); one
        state at 0 when nothing persists."""
        if self.persistent == 0 or self.checkpoint == 0:
            return np.zeros(1), np.ones(1), np.ones((1, 1))
        n = max(2, self.states)
        p = (1.0 + self.phi) / 2.0
        P = np.array([[p, 1 - p], [1 - p, p]])
        for m in range(3, n + 1):
            Z = np.zeros((m, m))
            Z[:-1, :-1] += p * P
            Z[:-1, 1:] += (1 - p) * P
            Z[1:, :-1] += (1 - p) * P
            Z[1:, 1:] += p * P
            Z[1:-1] /= 2.0
            P = Z
        from scipy.stats import binom

        pi = binom.pmf(np.arange(n), n - 1, 0.5)
        return np.linspace(-math.sqrt(n - 1), math.sqrt(n - 1), n), pi, P

    def quadrature(self) -> tuple[np.ndarray, np.ndarray]:
        """Points ``z`` and weights (summing to 1) of ``E_z`` for a standard normal ``Z``."""
        if self.shared == 0 or self.nodes == 1:
            return np.zeros(1), np.ones(1)
        z, w = np.polynomial.hermite_e.hermegauss(self.nodes)
        return z, w / w.sum()


class Objective:
    """``E[min(T, H)]`` of index routes of ``problem`` (see module).

    The model is read from the problem's fields (``label_mass``, ``coverage_scale``,
    ``label_weight``, ``coverage_breaks``, ``node_decay``, ``node_effect``, the accuracy line,
    ``target_accuracy``, the spread ``checkpoint_sd``, ``shared_sd``, ``quadrature_nodes``,
    ``persistent``, ``phi``, ``persistent_states``, the warm-up ``node_steps``, ``warm_scale``
    and the skew ``skew``, ``skew_prior``), as ``OutcomeModel.apply(problem,
    "min_expected_time_to_target")`` writes them; ``H`` is the deadline unless ``horizon`` is
    given. Passing a fitted ``model`` (and optionally ``spread`` and ``target_accuracy``) writes
    those fields first (:meth:`from_model`); a ``spread`` or ``target_accuracy`` without a model
    replaces the problem's own.
    """

    def __init__(
        self,
        problem: Problem,
        model: Any = None,
        spread: Spread | None = None,
        target_accuracy: float | None = None,
        horizon: float | None = None,
    ) -> None:
        if model is not None:
            problem = problem.replace(
                **model.expected_time_fields(problem, spread, target_accuracy)
            )
        else:
            changes: dict[str, Any] = {} if spread is None else spread_fields(spread)
            if target_accuracy is not None:
                changes["target_accuracy"] = float(target_accuracy)
            if changes:
                problem = problem.replace(**changes)
        missing = missing_fields(problem)
        if missing is not None:
            raise InputError(missing, None, "needs a fitted outcome model: OutcomeModel.apply")
        h = float(problem.deadline) if horizon is None else float(horizon)
        if not (math.isfinite(h) and h > 0):
            raise InputError("horizon", h, "needs a finite deadline or horizon > 0")
        self.problem = problem
        self.arr = Arrays.of(problem)
        self.target = float(problem.target_accuracy)  # type: ignore[arg-type]
        self.horizon = h
        self.spread = Spread(
            problem.checkpoint_sd,
            problem.shared_sd,
            int(problem.quadrature_nodes),
            float(problem.persistent),
            float(problem.phi),
            int(problem.persistent_states),
        )
        steps = problem.node_steps
        self.steps = np.zeros(problem.n) if steps is None else np.asarray(steps, np.float64)
        self.warm_scale = float(problem.warm_scale)
        self.skew = float(problem.skew)
        self.prior = problem.skew_prior
        self.mass = np.asarray(problem.label_mass, dtype=np.float64)
        self.scale = np.asarray(problem.coverage_scale, dtype=np.float64)
        labels = self.mass.shape[1]
        weight = problem.label_weight
        self.weight = np.full(labels, 1.0 / labels) if weight is None else np.asarray(weight)
        self.breaks = np.asarray(problem.coverage_breaks, dtype=np.float64)
        self.levels = 1.0 - np.exp(-self.breaks)
        self.decay = np.asarray(problem.node_decay, dtype=np.float64)
        effect = problem.node_effect
        self.effect = np.zeros(problem.n) if effect is None else np.asarray(effect, np.float64)
        self.a = float(problem.accuracy_intercept)  # type: ignore[arg-type]
        self.b = float(problem.accuracy_slope)  # type: ignore[arg-type]
        self.end_trains = bool(problem.utility[problem.end] > 0)
        self.z, self.w = self.spread.quadrature()
        self.u, self.pi, self.step = self.spread.chain()
        self.cache: dict[tuple[int, ...], float] = {}

    @classmethod
    def from_model(
        cls,
        problem: Problem,
        model: Any,
        spread: Spread | None = None,
        target_accuracy: float | None = None,
        horizon: float | None = None,
    ) -> Objective:
        """The objective of ``problem`` under a fitted ``OutcomeModel`` (its pilot spread unless
        ``spread``; its target accuracy unless ``target_accuracy``)."""
        return cls(problem, model, spread, target_accuracy, horizon)

    # -- pieces ---------------------------------------------------------------------------------
    def coverage(self, X: np.ndarray) -> float:
        """Coverage of the gathered per-label mass ``X``."""
        return float(self.weight @ np.interp(X / self.scale, self.breaks, self.levels))

    def predict(self, X: np.ndarray, steps: float | None = None) -> float:
        """``a + b C(X) h(S) - skew D(X)`` of the gathered per-label mass ``X`` after ``S =
        steps`` optimisation steps in all. ``steps=None`` gives ``a + b C(X)``, an upper bound
        of every prediction at ``X`` (``b >= 0``, ``h <= 1``, ``D >= 0``)."""
        cov = self.coverage(X)
        if steps is None:
            return self.a + self.b * cov
        warm = 1.0 - math.exp(-steps / self.warm_scale) if self.warm_scale > 0 else 1.0
        out = self.a + self.b * cov * warm
        # the untrained model (nothing gathered) has no label distribution to be skewed
        if self.skew > 0 and self.prior is not None:
            s = float(X.sum())
            if s > 0:
                out -= self.skew * 0.5 * float(np.abs(X / s - self.prior).sum())
        return out

    def trained(self, route: Sequence[int]) -> list[int]:
        """Problem indices trained at, in order (as the replay does)."""
        out = list(route[1:-1])
        end = route[-1]
        if self.end_trains and len(route) >= 2 and end not in out:
            out.append(end)
        return out

    def checkpoints(self, route: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """``(t_k, p_k)`` for ``k = 0..``: time 0 and the untrained model first."""
        seq = self.trained(route)
        times = RouteTimes(self.arr, list(route))
        t = [0.0]
        X = np.zeros(self.mass.shape[1])
        p = [self.predict(X, 0.0)]
        steps = 0.0
        for k, node in enumerate(seq, start=1):
            X = self.decay[node] * X + self.mass[node]
            steps += float(self.steps[node])
            pos = min(k, len(route) - 1)
            t.append(float(times.start[pos] + self.problem.service[route[pos]]))
            p.append(self.predict(X, steps) + float(self.effect[node]))
        return np.array(t), np.array(p)

    def reach(self, p: np.ndarray) -> np.ndarray:
        """(len(z), len(p)) probability that each checkpoint reaches the target, per ``z`` (its
        marginal: the persistent part integrated out)."""
        level = p[None, :] + self.spread.shared * self.z[:, None] - self.target
        if self.spread.checkpoint == 0:
            return (level >= -1e-12).astype(np.float64)
        return ndtr(level / self.spread.checkpoint)

    def _state_reach(self, p: np.ndarray) -> np.ndarray:
        """(len(z), len(u), len(p)): each checkpoint's probability of reaching the target given
        the shared draw ``z`` and the persistent part's state ``u``."""
        sp = self.spread
        a2 = sp.persistent if len(self.u) > 1 else 0.0
        level = (
            p[None, None, :]
            + sp.shared * self.z[:, None, None]
            + sp.checkpoint * math.sqrt(a2) * self.u[None, :, None]
            - self.target
        )
        fresh = sp.checkpoint * math.sqrt(1.0 - a2)
        if fresh == 0:
            return (level >= -1e-12).astype(np.float64)
        return ndtr(level / fresh)

    def _survival(self, t: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(sum_k t_k P(T = t_k | z), P(no hit | z))`` per ``z``, the persistent part carried
        forward as a Markov chain (given ``z`` and its state, checkpoints are independent)."""
        if len(self.u) == 1:
            q = self.reach(p)
            survive = np.cumprod(1.0 - q, axis=1)
            before = np.hstack([np.ones((len(self.z), 1)), survive[:, :-1]])
            hit = (np.minimum(t, self.horizon)[None, :] * q * before).sum(axis=1)
            return hit, survive[:, -1]
        q = self._state_reach(p)
        alive = np.broadcast_to(self.pi, (len(self.z), len(self.pi))).copy()
        hit = np.zeros(len(self.z))
        tt = np.minimum(t, self.horizon)
        for k in range(len(p)):
            if k:
                alive = alive @ self.step
            hit += tt[k] * (alive * q[:, :, k]).sum(axis=1)
            alive = alive * (1.0 - q[:, :, k])
        return hit, alive.sum(axis=1)

    def expected(self, t: np.ndarray, p: np.ndarray) -> float:
        """``E[min(T, H)]`` of checkpoints at times ``t`` with predictions ``p``."""
        hit, miss = self._survival(t, p)
        return float(self.w @ (hit + self.horizon * miss))

    def reach_probability(self, route: Sequence[int]) -> float:
        """Probability that a replay of ``route`` reaches the target at some checkpoint."""
        t, p = self.checkpoints(route)
        return float(self.w @ (1.0 - self._survival(t, p)[1]))

    # -- routes ---------------------------------------------------------------------------------
    def feasible(self, route: Sequence[int]) -> bool:
        return route_feasible(self.arr, list(route))

    def value(self, route: Sequence[int]) -> float:
        """The objective of a route (inf when it breaks a window, the deadline or the budget)."""
        key = tuple(map(int, route))  # the searches revisit most routes: the cache is the speed
        value = self.cache.get(key)
        if value is None:
            if len(self.cache) > 200_000:
                self.cache.clear()
            value = self.expected(*self.checkpoints(key)) if self.feasible(key) else math.inf
            self.cache[key] = value
        return value

    def candidates(self) -> list[int]:
        """Customers worth visiting: positive utility (data to train on), on a route of their
        own within the deadline."""
        pr = self.problem
        out = []
        for i in pr.customers:
            if pr.utility[i] > 0 and self.feasible([pr.start, int(i), pr.end]):
                out.append(int(i))
        return out


def best_distinct(obj: Objective, count: int, depth: int = 3) -> list[Route]:
    """The ``count`` routes of least objective among those ``obj`` has evaluated (its cache),
    distinct in their first ``depth`` trained nodes, best first: the plans a search found
    nearly as good, differing where the time to target is decided (the first hops)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InputError("count", count, "expected an integer >= 0")
    out: list[Route] = []
    seen: set[tuple[int, ...]] = set()
    for key, val in sorted(obj.cache.items(), key=lambda kv: (kv[1], kv[0])):
        if len(out) >= count or not math.isfinite(val):
            break
        head = tuple(obj.trained(list(key))[:depth])
        if head not in seen:
            seen.add(head)
            out.append(list(key))
    return out


def spread_fields(spread: Spread) -> dict[str, Any]:
    """The :class:`~.problem.Problem` fields of ``spread``."""
    return {
        "checkpoint_sd": float(spread.checkpoint),
        "shared_sd": float(spread.shared),
        "quadrature_nodes": int(spread.nodes),
        "persistent": float(spread.persistent),
        "phi": float(spread.phi),
        "persistent_states": int(spread.states),
    }


def missing_fields(problem: Problem) -> str | None:
    """The first outcome-model field the expected-time objective needs that ``problem`` lacks
    (None: it has them all)."""
    from .problem import MODEL_FIELDS

    for name in ("label_mass", "coverage_scale", *MODEL_FIELDS):
        if getattr(problem, name) is None:
            return name
    return None


# -- heuristic ----------------------------------------------------------------------------------


def _best_insertion(obj: Objective, route: Route, pool: Sequence[int]) -> tuple[float, Route]:
    best, best_route = obj.value(route), route
    for v in pool:
        if v in route:
            continue
        for p in range(1, len(route)):
            cand = [*route[:p], v, *route[p:]]
            val = obj.value(cand)
            if val < best - 1e-12:
                best, best_route = val, cand
    return best, best_route


def greedy(obj: Objective, pool: Sequence[int], stop: Callable[[], bool]) -> Route:
    """From ``[s, e]``, insert the node and position that lower the objective most, repeatedly."""
    pr = obj.problem
    route: Route = [pr.start, pr.end]
    while not stop():
        _, cand = _best_insertion(obj, route, pool)
        if cand is route:
            break
        route = cand
    return route


def _neighbours(route: Route, pool: Sequence[int]):
    inner = range(1, len(route) - 1)
    free = [v for v in pool if v not in route]
    for v in free:  # insert
        for p in range(1, len(route)):
            yield [*route[:p], v, *route[p:]]
    for i in inner:  # remove
        yield [*route[:i], *route[i + 1 :]]
    for i in inner:  # swap a visited node for an unvisited one
        for v in free:
            yield [*route[:i], v, *route[i + 1 :]]
    for i in inner:  # relocate
        rest = [*route[:i], *route[i + 1 :]]
        for p in range(1, len(rest)):
            if p != i:
                yield [*rest[:p], route[i], *rest[p:]]
    for i in inner:  # reverse a segment
        for j in range(i + 1, len(route) - 1):
            yield [*route[:i], *route[i : j + 1][::-1], *route[j + 1 :]]


def local_search(obj: Objective, route: Route, pool: Sequence[int], stop: Callable[[], bool]):
    """First-improvement descent over :func:`_neighbours` until none improves (or ``stop``)."""
    best = obj.value(route)
    improved = True
    while improved and not stop():
        improved = False
        for cand in _neighbours(route, pool):
            val = obj.value(cand)
            if val < best - 1e-12:
                route, best, improved = cand, val, True
                break
            if stop():
                break
    return route


def plan_anytime(
    obj: Objective,
    *,
    time_limit: float = 10.0,
    seed: int = 0,
    kicks: int | None = None,
    patience: int | None = None,
    starts: Sequence[Sequence[int]] = (),
) -> tuple[Route, float]:
    """Greedy insertion, then iterated local search with seeded random kicks (remove 1-2 nodes,
    insert 1-2 random ones where they fit, descend); the best route and its objective.

    ``starts`` are further starting routes (index routes, e.g. every baseline's route: AATS's
    nearest-first walk, most data first, the utility greedy route): each feasible one is
    descended too, best first, and the kicks start from the best descent of all. The result is
    never worse than any feasible start. ``kicks`` defaults to ``10 + n`` for ``n`` candidate
    nodes; ``patience`` kicks in a row without improvement end it early (None: never); the time
    limit may end it first (then the same seed can give another route on a slower machine).
    """
    if not (math.isfinite(time_limit) and time_limit > 0):
        raise InputError("time_limit", time_limit, "must be a finite number > 0")
    t0 = time.perf_counter()

    def stop() -> bool:
        return time.perf_counter() - t0 > time_limit

    pool = obj.candidates()
    rng = np.random.default_rng(seed)
    route = local_search(obj, greedy(obj, pool, stop), pool, stop)
    best, best_val = route, obj.value(route)
    firsts = sorted(
        (obj.value(r), k, r)
        for k, r in enumerate([list(map(int, r)) for r in starts])
        if math.isfinite(obj.value(r))
    )
    for val, _, start in firsts:  # an exhausted limit still keeps the start itself
        if val < best_val - 1e-12:
            best, best_val = start, val
        if stop():
            continue
        cur = local_search(obj, start, pool, stop)
        if obj.value(cur) < best_val - 1e-12:
            best, best_val = cur, obj.value(cur)
    idle = 0
    for _ in range(10 + len(pool) if kicks is None else kicks):
        if stop() or (patience is not None and idle >= patience):
            break
        idle += 1
        cur = list(best)
        for _ in range(int(rng.integers(1, 3))):
            if len(cur) > 2:
                cur.pop(int(rng.integers(1, len(cur) - 1)))
        free = [v for v in pool if v not in cur]
        for v in rng.permutation(free)[: int(rng.integers(1, 3))]:
            spots = [p for p in range(1, len(cur)) if obj.feasible([*cur[:p], int(v), *cur[p:]])]
            if spots:
                p = spots[int(rng.integers(len(spots)))]
                cur = [*cur[:p], int(v), *cur[p:]]
        cur = local_search(obj, cur, pool, stop)
        val = obj.value(cur)
        if val < best_val - 1e-12:
            best, best_val, idle = cur, val, 0
    return best, best_val


# -- exact --------------------------------------------------------------------------------------


class PrefixBound:
    """Lower bound of the objective of every route that extends a prefix ``[s, v_1, ..., v_c]``.

    The prefix's checkpoints are fixed. Any route extending it has some number ``j`` of later
    checkpoints (at most the candidates left, plus the end when it trains), each ending at least
    ``delta`` (the least service of a node trained later plus the least travel between two nodes)
    after the one before, and each with a prediction no higher than ``p_max = a + b C(mass of
    every node) + max effect`` (coverage is nondecreasing in the gathered mass, which never
    exceeds the sum of every node's mass since decays lie in [0, 1]). The expected cost is
    decreasing in each checkpoint's probability and increasing in its time (every later event
    costs at least the checkpoint's time), so replacing each by ``q_max`` and ``t_last + k delta``
    (capped at ``H``) gives a lower bound; the minimum over ``j`` of its expectation bounds every
    extension. (``j = 0``: a miss, at ``H``.)
    """

    def __init__(self, obj: Objective, pool: Sequence[int]) -> None:
        pr = obj.problem
        self.obj = obj
        self.pool_size = len(pool)
        self.end_extra = 1 if obj.end_trains else 0
        later = [*pool, pr.end] if obj.end_trains else list(pool)
        self.delta = 0.0
        q_max = np.zeros(len(obj.z))
        if later:
            rows, cols = [*pool, pr.start], [*pool, pr.end]
            sub = np.array(pr.travel[np.ix_(rows, cols)], dtype=np.float64)
            for r, i in enumerate(rows):
                for c, j in enumerate(cols):
                    if i == j and i != pr.start:  # a customer never follows itself
                        sub[r, c] = math.inf
            self.delta = max(0.0, float(pr.service[later].min()) + float(sub.min()))
            p_max = obj.predict(obj.mass.sum(axis=0)) + float(obj.effect[later].max())
            # with a persistent part, at its highest state: a bound on every later checkpoint's
            # probability whatever the replay went through before
            q_max = obj._state_reach(np.array([p_max]))[:, -1, 0]
        self.q = q_max

    def tail(self, t_last: float, customers_left: int) -> np.ndarray:
        """(len(z), j + 1): the least cost after the prefix, given survival, for ``j`` later
        checkpoints (``j = 0..customers_left + end``)."""
        H = self.obj.horizon
        m = customers_left + self.end_extra
        k = np.arange(1, m + 1)
        tau = np.minimum(t_last + k * self.delta, H)
        q = self.q[:, None]
        alive = (1.0 - q) ** (k - 1)[None, :]
        hits = np.hstack([np.zeros((len(self.q), 1)), np.cumsum(tau * q * alive, axis=1)])
        miss = H * (1.0 - q) ** np.arange(m + 1)[None, :]
        return hits + miss

    def __call__(self, prefix: Sequence[int]) -> float:
        obj = self.obj
        # checkpoints of the customers on the prefix (not the end's): fixed from here on
        t, p = obj.checkpoints([*prefix, obj.problem.end])
        m = len(prefix)  # checkpoints 0..m-1: the start and the prefix's customers
        t, p = t[:m], p[:m]
        fixed, alive = obj._survival(t, p)
        rest = self.tail(min(float(t[-1]), obj.horizon), self.pool_size - (m - 1))
        per_j = obj.w @ (fixed[:, None] + alive[:, None] * rest)
        return float(per_j.min())


@dataclass
class ExactResult:
    route: Route
    value: float
    optimal: bool
    nodes: int
    """Search nodes expanded."""
    bound: float
    """A lower bound of the optimum (the value when ``optimal``)."""


def solve_exact(
    obj: Objective, *, time_limit: float = 20.0, incumbent: Route | None = None
) -> ExactResult:
    """Depth-first branch and bound over ordered sequences of candidate nodes.

    A prefix (its route closed by the end) is a route; every extension of a prefix is bounded by
    :class:`PrefixBound`. Children are searched best first. Optimal when the search ends within
    ``time_limit``; else the incumbent and the smallest bound of the subtrees left open.
    """
    pr = obj.problem
    pool = obj.candidates()
    t0 = time.perf_counter()
    best_route: Route = list(incumbent) if incumbent is not None else [pr.start, pr.end]
    best = obj.value(best_route)
    if not math.isfinite(best):
        best_route, best = [pr.start, pr.end], obj.value([pr.start, pr.end])
    expanded = 0
    open_bound = math.inf
    timed_out = False

    bound = PrefixBound(obj, pool)

    def dfs(prefix: Route) -> None:
        nonlocal best, best_route, expanded, open_bound, timed_out
        expanded += 1
        if time.perf_counter() - t0 > time_limit:
            timed_out = True
            open_bound = min(open_bound, bound(prefix))
            return
        children = []
        for v in pool:
            if v in prefix:
                continue
            route = [*prefix, v, pr.end]
            val = obj.value(route)
            if not math.isfinite(val):
                continue
            if val < best - 1e-12:
                best, best_route = val, route
            children.append((bound([*prefix, v]), val, v))
        for b, _, v in sorted(children):
            if b >= best - 1e-12:
                break
            dfs([*prefix, v])

    start_val = obj.value([pr.start, pr.end])
    if start_val < best - 1e-12:
        best, best_route = start_val, [pr.start, pr.end]
    dfs([pr.start])
    lower = best if not timed_out else min(best, open_bound)
    return ExactResult(best_route, best, not timed_out, expanded, lower)


def brute_force(obj: Objective, max_nodes: int = 8) -> tuple[Route, float]:
    """Every feasible route over the candidate nodes (small views only: the independent check
    of :func:`solve_exact` and :func:`plan_anytime`)."""
    from itertools import permutations

    pr = obj.problem
    pool = obj.candidates()
    if len(pool) > max_nodes:
        raise InputError("candidates", len(pool), f"brute force takes at most {max_nodes}")
    best_route: Route = [pr.start, pr.end]
    best = obj.value(best_route)
    for r in range(1, len(pool) + 1):
        for perm in permutations(pool, r):
            route = [pr.start, *perm, pr.end]
            val = obj.value(route)
            if val < best - 1e-12:
                best, best_route = val, route
    return best_route, best


__all__ = [
    "ExactResult",
    "Objective",
    "PrefixBound",
    "Spread",
    "best_distinct",
    "brute_force",
    "greedy",
    "local_search",
    "missing_fields",
    "plan_anytime",
    "solve_exact",
    "spread_fields",
]
