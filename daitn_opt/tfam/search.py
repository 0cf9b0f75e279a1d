"""Building and improving one admission: the engine of the T-FAM heuristics and warm starts.

An admission under construction is a :class:`State` (chosen plan per request, resource loads).
:func:`fcfs_choice` admits in arrival order, :func:`greedy_choice` in decreasing
scarcity-weighted value density (:func:`plan_density`; Senju and Toyoda 1968, Chu and Beasley
1997), both placing must-admit requests first. :func:`local_search` improves an admission by
upgrades, additions, drop-add swaps and seeded perturbations (iterated local search);
:func:`best_heuristic` is its best admission within a share of a time limit, the warm start of
the exact solvers (:mod:`.support`). The solvers ``fcfs``, ``greedy`` and ``ls`` that register
these are in :mod:`.heuristics`; this module registers nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..registry import SolveOptions
from ..result import TracePoint
from .problem import Problem
from .solution import objective_of, slack


@dataclass
class State:
    """An admission under construction: chosen plan per request and the resource loads."""

    problem: Problem
    choice: np.ndarray = field(init=False)
    load: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        p = self.problem
        self.cap = slack(p)
        self.indptr = p.use.indptr
        self.indices = p.use.indices
        self.data = p.use.data
        self.plan_req = p.plan_request
        self.choice = np.full(p.n_requests, -1, dtype=np.int64)
        self.load = np.zeros(p.n_resources)

    def row(self, plan: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.indptr[plan], self.indptr[plan + 1]
        return self.indices[lo:hi], self.data[lo:hi]

    def fits(self, plan: int) -> bool:
        idx, amount = self.row(plan)
        return bool(np.all(self.load[idx] + amount <= self.cap[idx]))

    def add(self, plan: int) -> None:
        idx, amount = self.row(plan)
        self.load[idx] += amount
        self.choice[self.plan_req[plan]] = plan

    def drop(self, request: int) -> None:
        idx, amount = self.row(int(self.choice[request]))
        self.load[idx] -= amount
        self.choice[request] = -1

    def copy_from(self, choice: np.ndarray) -> None:
        self.choice = choice.copy()
        plans = choice[choice >= 0]
        self.load = (
            np.asarray(self.problem.use[plans].sum(axis=0)).ravel()
            if plans.size
            else np.zeros(self.problem.n_resources)
        )


def plan_density(problem: Problem) -> np.ndarray:
    """(P,) value per unit of scarcity-weighted resource use (inf for plans using nothing scarce).

    A resource's scarcity is its expected demand (each request taking one of its plans at random)
    over its capacity; resources nobody can over-subscribe weigh little, busy ones a lot.
    """
    counts = np.diff(problem.plan_start)
    share = np.repeat(1.0 / counts, counts)
    demand = problem.use.T @ share
    cap = np.maximum(problem.capacity, 1e-12)
    weight = (demand / cap) / cap
    size = problem.use @ weight
    with np.errstate(divide="ignore"):
        return np.where(size > 0, problem.value / np.maximum(size, 1e-300), np.inf)


def _fits_alone(problem: Problem) -> np.ndarray:
    """(P,) plans that fit into the empty network (no single resource over capacity)."""
    cap = slack(problem)
    rows = np.repeat(np.arange(problem.n_plans), np.diff(problem.use.indptr))
    bad = np.unique(rows[problem.use.data > cap[problem.use.indices]])
    ok = np.ones(problem.n_plans, dtype=bool)
    ok[bad] = False
    return ok


def _place_must(state: State, plan_order: np.ndarray) -> list[str]:
    """Place every must-admit request (plans in ``plan_order``); the ids that did not fit."""
    p = state.problem
    failed: list[str] = []
    must = np.flatnonzero(p.must_admit)
    if must.size == 0:
        return failed
    rank = np.empty(p.n_plans, dtype=np.int64)
    rank[plan_order] = np.arange(p.n_plans)
    for r in must[np.argsort(p.arrival[must], kind="stable")]:
        plans = sorted(p.plans_of(int(r)), key=lambda q: rank[q])
        for q in plans:
            if state.fits(q):
                state.add(q)
                break
        else:
            failed.append(p.request_ids[int(r)])
    return failed


def _fill(
    state: State, plan_order: np.ndarray, usable: np.ndarray, deadline: float = np.inf
) -> None:
    """Admit plans in ``plan_order`` whose request is still refused and which fit.

    Stops early (leaving the rest refused) once ``time.perf_counter()`` passes ``deadline``.
    """
    for step, q in enumerate(plan_order.tolist()):
        if step % 1024 == 1023 and time.perf_counter() > deadline:
            return
        if usable[q] and state.choice[state.plan_req[q]] < 0 and state.fits(q):
            state.add(q)


def fcfs_choice(problem: Problem) -> tuple[State, list[str]]:
    """First come, first served: arrival order, each request's first plan that fits."""
    state = State(problem)
    order = np.arange(problem.n_plans)
    failed = _place_must(state, order)
    usable = np.ones(problem.n_plans, dtype=bool)
    for r in np.argsort(problem.arrival, kind="stable").tolist():
        if state.choice[r] >= 0:
            continue
        for q in problem.plans_of(r):
            if usable[q] and state.fits(q):
                state.add(q)
                break
    return state, failed


def greedy_choice(problem: Problem) -> tuple[State, list[str], np.ndarray]:
    """Value-density greedy; also returns the plan order it used."""
    state = State(problem)
    density = plan_density(problem)
    # Ties (and infinite densities) are broken by value, then by index for determinism.
    order = np.lexsort((np.arange(problem.n_plans), -problem.value, -density))
    failed = _place_must(state, order)
    _fill(state, order, _fits_alone(problem))
    return state, failed, order


class _Search:
    """Drop/add/upgrade/swap local search with seeded perturbations (iterated local search)."""

    def __init__(self, problem: Problem, state: State, order: np.ndarray, seed: int) -> None:
        self.problem = problem
        self.state = state
        self.order = order
        self.rng = np.random.default_rng(seed)
        self.usable = _fits_alone(problem)
        self.csc = problem.use.tocsc()
        self.must = problem.must_admit
        self.moves = {"upgrade": 0, "add": 0, "swap": 0, "perturb": 0}
        self.cursor = 0
        """Where the next swap pass resumes in the plan order (passes rotate through all plans)."""

    def value(self) -> float:
        return objective_of(self.problem, self.state.choice)

    def upgrade(self, deadline: float = np.inf) -> bool:
        """Move admitted requests to a more valuable plan that fits once the current is dropped."""
        p, st = self.problem, self.state
        improved = False
        multi = np.flatnonzero((np.diff(p.plan_start) > 1) & (st.choice >= 0))
        for step, r in enumerate(multi.tolist()):
            if step % 256 == 255 and time.perf_counter() > deadline:
                break
            current = int(st.choice[r])
            better = [q for q in p.plans_of(r) if p.value[q] > p.value[current] + 1e-12]
            if not better:
                continue
            st.drop(r)
            for q in sorted(better, key=lambda q: -p.value[q]):
                if self.usable[q] and st.fits(q):
                    st.add(q)
                    improved = True
                    self.moves["upgrade"] += 1
                    break
            else:
                st.add(current)
        return improved

    def add(self, deadline: float = np.inf) -> bool:
        before = int((self.state.choice >= 0).sum())
        _fill(self.state, self.order, self.usable, deadline)
        added = int((self.state.choice >= 0).sum()) - before
        self.moves["add"] += added
        return added > 0

    def swap(self, deadline: float, limit: int = 2000) -> bool:
        """Admit a refused plan by dropping cheaper conflicting admitted plans (net gain > 0)."""
        p, st = self.problem, self.state
        improved = False
        tried = 0
        n = self.problem.n_plans
        rotated = np.concatenate([self.order[self.cursor :], self.order[: self.cursor]])
        for step, q in enumerate(rotated.tolist()):
            if tried >= limit or time.perf_counter() > deadline:
                self.cursor = (self.cursor + step) % max(1, n)
                break
            r = int(st.plan_req[q])
            if st.choice[r] >= 0 or not self.usable[q]:
                continue
            tried += 1
            idx, amount = st.row(q)
            excess = st.load[idx] + amount - st.cap[idx]
            over = idx[excess > 0]
            need = excess[excess > 0]
            # Admitted plans on the over-full resources, cheapest first.
            owners: dict[int, float] = {}
            for k in over.tolist():
                lo, hi = self.csc.indptr[k], self.csc.indptr[k + 1]
                for plan in self.csc.indices[lo:hi].tolist():
                    req = int(st.plan_req[plan])
                    if st.choice[req] == plan and not self.must[req]:
                        owners[plan] = p.value[plan]
            if not owners:
                continue
            lost = 0.0
            dropped: list[int] = []
            remaining = dict(zip(over.tolist(), need.tolist(), strict=True))
            for plan in sorted(owners, key=lambda x: owners[x]):
                if lost + owners[plan] >= p.value[q] - 1e-12:
                    break
                pidx, pamount = st.row(plan)
                helps = False
                for k, a in zip(pidx.tolist(), pamount.tolist(), strict=True):
                    if remaining.get(k, 0) > 0:
                        remaining[k] -= a
                        helps = True
                if not helps:
                    continue
                dropped.append(plan)
                lost += owners[plan]
                if all(v <= 0 for v in remaining.values()):
                    break
            if not dropped or any(v > 0 for v in remaining.values()):
                continue
            for plan in dropped:
                st.drop(int(st.plan_req[plan]))
            if st.fits(q):
                st.add(q)
                improved = True
                self.moves["swap"] += 1
            else:  # numerical corner: restore
                for plan in dropped:
                    st.add(plan)
        return improved

    def perturb(self, fraction: float = 0.05, deadline: float = np.inf) -> None:
        st = self.state
        free = np.flatnonzero((st.choice >= 0) & ~self.must)
        if free.size == 0:
            return
        k = max(1, int(fraction * free.size))
        for r in self.rng.choice(free, size=min(k, free.size), replace=False).tolist():
            st.drop(r)
        self.moves["perturb"] += 1
        # Refill in a noisy density order so that the search leaves its basin.
        noise = self.rng.permutation(self.problem.n_plans)
        blend = np.argsort(np.argsort(self.order)) + 0.1 * self.problem.n_plans * self.rng.random(
            self.problem.n_plans
        )
        _fill(st, np.lexsort((noise, blend)), self.usable, deadline)


def local_search(
    problem: Problem,
    *,
    seconds: float,
    seed: int,
    iterations: int,
    start_choice: np.ndarray | None = None,
) -> tuple[np.ndarray, list[str], list[TracePoint], dict]:
    """The local search of ``ls``: (best choice, failed must-admit ids, trace, stats).

    Starts from ``start_choice`` (a feasible admission) or the better of greedy and FCFS; stops
    after ``seconds`` or ``iterations`` rounds without improvement (each followed by a seeded
    perturbation).
    """
    t0 = time.perf_counter()
    deadline = t0 + seconds
    g_state, failed, order = greedy_choice(problem)
    if failed:
        return g_state.choice, failed, [], {}
    f_state, f_failed = fcfs_choice(problem)
    state = g_state
    if not f_failed and objective_of(problem, f_state.choice) > objective_of(
        problem, g_state.choice
    ):
        state = f_state
    if start_choice is not None:
        state = State(problem)
        state.copy_from(start_choice)
    search = _Search(problem, state, order, seed)
    best = state.choice.copy()
    best_value = search.value()
    trace = [TracePoint(time.perf_counter() - t0, best_value, None)]
    without = 0
    while time.perf_counter() < deadline:
        changed = search.upgrade(deadline)
        changed |= search.add(deadline)
        changed |= search.swap(deadline)
        value = search.value()
        if value > best_value + 1e-9:
            best, best_value = state.choice.copy(), value
            trace.append(TracePoint(time.perf_counter() - t0, best_value, None))
            without = 0
        elif not changed:
            without += 1
            if without > iterations:
                break
            state.copy_from(best)
            search.perturb(deadline=deadline)
    stats = {"moves": search.moves, "admitted": int((best >= 0).sum())}
    return best, [], trace, stats


def best_heuristic(
    problem: Problem, options: SolveOptions, iterations: int = 30, share: float = 0.1
) -> np.ndarray | None:
    """The local search's best admission within ``share`` of the remaining time (for warm starts).

    ``iterations``: rounds without improvement before it stops. None when the must-admit requests
    could not be placed.
    """
    seconds = max(0.05, min(5.0, share * options.remaining()))
    best, failed, _, _ = local_search(
        problem, seconds=0.95 * seconds, seed=options.seed, iterations=iterations
    )
    return None if failed else best
