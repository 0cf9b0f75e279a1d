"""TAG heuristics: ``tag-greedy`` and ``tag-ils`` (route and local epochs per node together).

A plan is an index route ``[s, ..., e]`` and a dict ``epochs`` of its customers. Plans are ranked
by :meth:`_Eval.key`: feasible first (windows, deadline, budget, mandatory nodes), then the TAG
objective (:func:`daitn_opt.mtrce.tag.tag_value`), then the earlier completion.

- ``tag-greedy``: starting from the mandatory customers (cheapest insertion, one epoch each),
  repeatedly apply the move with the best ``objective gain / added completion time`` among
  inserting an unvisited customer with one epoch (any position) and adding one epoch at a visited
  customer; stop when no move gains.
- ``tag-ils``: the greedy plan improved by first-improvement descent over insert (1 epoch),
  remove, one epoch more or less, move one epoch from one customer to another, swap a visited
  customer for an unvisited one in place (same epochs), relocate and 2-opt, then seeded kicks
  (remove a random third of the optional customers, reset a random third of the epochs to 1,
  re-run the noisy greedy and the descent), keeping the best plan. ``iterations`` kicks (default
  ``20 + 2 n``), ending after ``patience`` kicks without improvement (default ``8 + n // 2``).

Neither proves a bound. ``infeasible`` only when a single-trip test (every customer at one epoch,
the least time it can take) proves that no route exists.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..params import param
from ..registry import SolveOptions
from ..result import Result, Status
from .heuristics import infeasibility
from .plan import Arrays
from .route_solvers import no_route, register_greedy_and_ils
from .solution import EPS, windows
from .tag import TagProblem, least_service, supports, tag_result, tag_value

Plan = tuple[list[int], dict[int, int]]


class _Eval:
    """Schedules, values and keys of TAG plans (cached)."""

    def __init__(self, problem: TagProblem) -> None:
        p = problem.base
        self.problem = problem
        self.a, self.b = windows(p)
        self.t = np.asarray(p.travel, dtype=np.float64)
        self.d = np.asarray(p.service, dtype=np.float64)
        self.et = np.asarray(problem.epoch_time, dtype=np.float64)
        self.s, self.e = p.start, p.end
        self.deadline = float(p.deadline)
        self.verify = float(p.verify_time)
        self.budget = None if p.budget is None else float(p.budget)
        self.vc = None if p.visit_cost is None else np.asarray(p.visit_cost, dtype=np.float64)
        self.tc = None if p.travel_cost is None else np.asarray(p.travel_cost, dtype=np.float64)
        self.mandatory = {int(i) for i in p.mandatory} - {self.s, self.e}
        self.top = int(problem.max_epochs)
        self.cache: dict[tuple, tuple[float, float, float]] = {}

    def service(self, node: int, epochs: dict[int, int]) -> float:
        if node in (self.s, self.e):
            return float(self.d[node])
        return float(epochs[node] * self.et[node])

    def completion(self, route: list[int], epochs: dict[int, int]) -> tuple[float, bool]:
        """Earliest-start completion and whether every window, the deadline and budget hold."""
        a, b = self.a, self.b
        t = max(0.0, float(a[route[0]]))
        ok = t <= b[route[0]] + EPS
        for prev, node in itertools.pairwise(route):
            arrive = t + self.service(prev, epochs) + self.t[prev, node]
            t = max(arrive, float(a[node]))
            if not math.isfinite(arrive) or t > b[node] + EPS:
                return math.inf, False
        done = t + self.service(route[-1], epochs) + self.verify
        ok = ok and done <= self.deadline + EPS
        if ok and self.budget is not None:
            r = np.asarray(route, dtype=np.int64)
            cost = float(self.vc[np.unique(r)].sum() + self.tc[r[:-1], r[1:]].sum())
            ok = cost <= self.budget + EPS
        return done, ok

    def key(self, route: list[int], epochs: dict[int, int]) -> tuple[float, float, float]:
        """Bigger is better: (feasible, objective, -completion)."""
        k = (tuple(route), tuple(epochs[v] for v in route[1:-1]))
        if k not in self.cache:
            done, ok = self.completion(route, epochs)
            if not ok or not self.mandatory <= set(route):
                value = (0.0, -math.inf, -math.inf)
            else:
                value = (1.0, tag_value(self.problem, route, epochs), -done)
            if len(self.cache) > 200_000:
                self.cache.clear()
            self.cache[k] = value
        return self.cache[k]


def _moves_greedy(ev: _Eval, route: list[int], epochs: dict[int, int], pool: list[int]):
    """Candidate plans of the greedy step: insertions (1 epoch) and one more epoch."""
    for v in pool:
        new = {**epochs, v: 1}
        for pos in range(1, len(route)):
            yield [*route[:pos], v, *route[pos:]], new
    for v in route[1:-1]:
        if epochs[v] < ev.top:
            yield route, {**epochs, v: epochs[v] + 1}


def greedy(
    ev: _Eval,
    plan: Plan,
    pool: list[int],
    rng: np.random.Generator | None = None,
    noise: float = 0.0,
    stop: Callable[[], bool] | None = None,
) -> Plan:
    """Best ``gain / added time`` move, repeated while some move gains."""
    route, epochs = list(plan[0]), dict(plan[1])
    pool = [v for v in pool if v not in route]
    while not (stop is not None and stop()):
        base = ev.key(route, epochs)
        best, best_score = None, 0.0
        for cand, cep in _moves_greedy(ev, route, epochs, pool):
            k = ev.key(cand, cep)
            if k[0] < 1:
                continue
            gain = k[1] - base[1]
            if gain <= 1e-12:
                continue
            score = gain / max(base[2] - k[2], 1e-6)
            if rng is not None and noise > 0:
                score *= 1.0 + noise * rng.random()
            if score > best_score:
                best, best_score = (cand, cep), score
        if best is None:
            break
        route, epochs = best
        pool = [v for v in pool if v not in route]
    return route, epochs


def _neighbours(ev: _Eval, route: list[int], epochs: dict[int, int], pool: list[int]):
    inner = route[1:-1]
    out = [v for v in pool if v not in inner]
    for v in out:  # insert with one epoch
        new = {**epochs, v: 1}
        for pos in range(1, len(route)):
            yield [*route[:pos], v, *route[pos:]], new
    for v in inner:  # one epoch more or less
        if epochs[v] < ev.top:
            yield route, {**epochs, v: epochs[v] + 1}
        if epochs[v] > 1:
            yield route, {**epochs, v: epochs[v] - 1}
    for v in inner:  # move one epoch from v to w
        if epochs[v] > 1:
            for w in inner:
                if w != v and epochs[w] < ev.top:
                    yield route, {**epochs, v: epochs[v] - 1, w: epochs[w] + 1}
    for p in range(1, len(route) - 1):  # remove
        v = route[p]
        if v not in ev.mandatory:
            yield route[:p] + route[p + 1 :], {k: e for k, e in epochs.items() if k != v}
    for p in range(1, len(route) - 1):  # swap in place
        v = route[p]
        if v in ev.mandatory:
            continue
        rest = {k: e for k, e in epochs.items() if k != v}
        for w in out:
            yield [*route[:p], w, *route[p + 1 :]], {**rest, w: epochs[v]}
    for p in range(1, len(route) - 1):  # relocate
        rest = route[:p] + route[p + 1 :]
        for q in range(1, len(rest)):
            if q != p:
                yield [*rest[:q], route[p], *rest[q:]], epochs
    for i in range(1, len(route) - 2):  # 2-opt
        for j in range(i + 1, len(route) - 1):
            yield route[:i] + route[i : j + 1][::-1] + route[j + 1 :], epochs


def local_search(ev: _Eval, plan: Plan, pool: list[int], stop: Callable[[], bool]) -> Plan:
    """First-improvement descent over the moves of :func:`_neighbours`."""
    route, epochs = plan
    improved = True
    while improved and not stop():
        improved = False
        current = ev.key(route, epochs)
        for cand, cep in _neighbours(ev, route, epochs, pool):
            if ev.key(cand, cep) > current:
                route, epochs = cand, cep
                improved = True
                break
    return route, epochs


def _start(ev: _Eval) -> Plan:
    """The mandatory customers by cheapest insertion (one epoch each)."""
    route, epochs = [ev.s, ev.e], {}
    for v in sorted(ev.mandatory):
        new = {**epochs, v: 1}
        cands = [[*route[:p], v, *route[p:]] for p in range(1, len(route))]
        route = min(cands, key=lambda r: ev.completion(r, new)[0])
        epochs = new
    return route, epochs


def search(
    problem: TagProblem,
    seed: int,
    stop: Callable[[], bool],
    local: bool = True,
    iterations: int | None = None,
    patience: int | None = None,
) -> Plan | None:
    """Greedy (and, with ``local``, ILS) plan; None when it is infeasible."""
    ev = _Eval(problem)
    cust = problem.base.customers.tolist()
    pool = [
        v
        for v in cust
        if v in ev.mandatory
        or (
            ev.key([ev.s, v, ev.e], {v: 1})[0] == 1.0
            and tag_value(problem, [ev.s, v, ev.e], {v: 1})
            > tag_value(problem, [ev.s, ev.e], {}) + 1e-12
        )
    ]
    best = greedy(ev, _start(ev), pool, stop=stop)
    if local:
        best = local_search(ev, best, pool, stop)
        rng = np.random.default_rng(seed)
        n = problem.n
        iterations = 20 + 2 * n if iterations is None else iterations
        patience = 8 + n // 2 if patience is None else patience
        quiet = 0
        for _ in range(iterations):
            if stop() or quiet >= patience:
                break
            route, epochs = list(best[0]), dict(best[1])
            optional = [v for v in route[1:-1] if v not in ev.mandatory]
            drop = (
                set(rng.choice(optional, size=len(optional) // 3, replace=False).tolist())
                if (len(optional) >= 3)
                else set(optional[: len(optional) // 2])
            )
            route = [v for v in route if v not in drop]
            epochs = {v: e for v, e in epochs.items() if v not in drop}
            inner = route[1:-1]
            for v in (
                rng.choice(inner, size=len(inner) // 3, replace=False).tolist() if inner else []
            ):
                epochs[v] = 1
            cand = greedy(ev, (route, epochs), pool, rng, 0.5, stop)
            cand = local_search(ev, cand, pool, stop)
            if ev.key(*cand) > ev.key(*best):
                best, quiet = cand, 0
            else:
                quiet += 1
    if ev.key(*best)[0] < 1:
        return None
    return best


def _run(problem: TagProblem, options: SolveOptions, name: str, ils: bool) -> Result:
    arr = Arrays.of(problem.base.replace(service=least_service(problem)))
    reason = infeasibility(problem.base, arr)
    if reason is not None:
        return no_route(problem, name, reason, Status.INFEASIBLE)
    plan = search(
        problem,
        options.seed,
        lambda: options.remaining() <= 0.05,
        local=ils,
        iterations=getattr(options.params, "iterations", None),  # tag-greedy takes none
        patience=getattr(options.params, "patience", None),
    )
    if plan is None:
        return no_route(problem, name, "no feasible route with the mandatory nodes found")
    return tag_result(problem, name, plan[0], plan[1], Status.FEASIBLE)


@dataclass(frozen=True)
class TagIlsParams:
    """Parameters of the ``tag-ils`` solver."""

    iterations: int | None = param(None, "most kicks (None: 20 + 2 n)")
    patience: int | None = param(None, "kicks without improvement before stopping (None: 8 + n/2)")


register_greedy_and_ils(
    "tag",
    supports,
    _run,
    (
        "TAG: route and local epochs per node, gain-per-second insertion and epoch increments",
        "TAG: route and local epochs per node, greedy + local search + seeded kicks",
    ),
    TagIlsParams,
)
