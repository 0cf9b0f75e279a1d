"""Local search for QIRCE / Q-FAM: LP-guided tabu search, descents, facility close/open moves.

:func:`local_search` (the ``ls`` solver and the exact solvers' warm start): the LP relaxation
(HiGHS) gives a bound and a start (each demand to its largest LP fraction); a tabu search over
shift and swap moves then runs with adaptive penalties on capacity and memory excess (strategic
oscillation, in the spirit of Yagiura, Ibaraki and Glover's ejection-chain search for GAP, 2004:
infeasible intermediate states play the role of ejection chains), with facility close/open moves
when facilities have fixed costs. With splittable routing, the routing of the final deployments
is re-optimised by an LP (:func:`splittable_search`). Above :data:`LARGE_DEMANDS` demands,
batched shift descents replace the quadratic swaps and the tabu search; above
:data:`~daitn_opt.qirce.relaxation.LP_ARCS` arcs a Lagrangian bound replaces the LP's.
"""

from __future__ import annotations

import time

import numpy as np

from .assignment import Dense, State, shift_fits
from .bounds import internal_bound
from .congestion import descent, insertion
from .construction import greedy_assign, insert_refused, repair
from .lagrangian import lagrangian_bound
from .problem import Problem
from .relaxation import LP_ARCS, RoutingLP, lp_assign, lp_relaxation
from .solution import internal_objective

LARGE_DEMANDS = 1500
"""Above this many demands, swaps (quadratic) and the tabu search give way to batched shifts."""


class Tabu:
    """The moves of :func:`tabu_search`: penalised shift and swap deltas, tabu tenures and the
    adaptive penalty weights (capacity ``beta``, memory ``gamma``) of one run."""

    def __init__(self, g: Dense, start: np.ndarray, rng: np.random.Generator) -> None:
        self.g, self.st, self.rng = g, State(g, start), rng
        D, F1 = g.D, g.F + 1
        self.rows = np.arange(D)
        finite_w = g.W[np.isfinite(g.W)]
        spread = float(np.abs(finite_w).mean()) if finite_w.size else 1.0
        load_scale = float(g.L[g.L > 0].mean()) if np.any(g.L > 0) else 1.0
        self.beta = np.full(F1, spread / load_scale)
        self.beta[g.F] = 0.0
        mem_scale = float(g.mem[g.mem > 0].mean()) if np.any(g.mem > 0) else 1.0
        self.gamma = np.full(F1, spread / mem_scale)
        self.gamma[g.F] = 0.0
        self.tabu = np.zeros((D, F1), dtype=np.int64)
        self.capf = np.where(np.isfinite(g.cap), g.cap, np.inf)
        self.do_swap = D <= LARGE_DEMANDS
        self.same_model = (
            g.model[:, None] == g.model[None, :] if (g.use_mem and self.do_swap) else None
        )
        self.Wsafe = np.where(np.isfinite(g.W), g.W, np.inf)
        self.span = 5 + max(5, D // 10)

    def shift_deltas(self, it: int) -> np.ndarray:
        """(D, F1) penalised cost change of moving each demand to each facility (inf: tabu or
        no move)."""
        g, st, beta, gamma, capf = self.g, self.st, self.beta, self.gamma, self.capf
        a, load, rows = st.a, st.load, self.rows
        exc = np.maximum(load - capf, 0.0)
        delta = self.Wsafe - g.W[rows, a][:, None]
        delta += beta[None, :] * (
            np.maximum(load[None, :] + g.L - capf[None, :], 0.0) - exc[None, :]
        )
        rel = beta[a] * (np.maximum(load[a] - g.L[rows, a] - capf[a], 0.0) - exc[a])
        delta += rel[:, None]
        if g.use_open:
            delta += (g.Fo * (st.n == 0))[None, :]
            delta -= (g.Fo[a] * (st.n[a] == 1))[:, None]
        if g.use_mem:
            memf = g.mem_cap
            excm = np.maximum(st.memu - memf, 0.0)
            add = g.mem[:, None] * (st.cnt[g.model] == 0)
            delta += gamma[None, :] * (
                np.maximum(st.memu[None, :] + add - memf[None, :], 0.0) - excm[None, :]
            )
            drop = g.mem * (st.cnt[g.model, a] == 1)
            delta += (gamma[a] * (np.maximum(st.memu[a] - drop - memf[a], 0.0) - excm[a]))[:, None]
        delta[rows, a] = np.inf
        delta[self.tabu > it] = np.inf
        return delta

    def swap_deltas(self, it: int) -> np.ndarray:
        """(D, D) penalised cost change of exchanging the facilities of two demands (inf: same
        facility, other models where memory binds, or tabu). O(D^2)."""
        g, st, beta, capf = self.g, self.st, self.beta, self.capf
        a, load, rows = st.a, st.load, self.rows
        exc = np.maximum(load - capf, 0.0)
        wcur = g.W[rows, a]
        wx = self.Wsafe[:, a]  # wx[i, j] = W[i, a_j]
        lx = g.L[:, a]  # lx[i, j] = L[i, a_j]
        # pen[i, j]: penalty change at a_i when i leaves it and j arrives (symmetric pair).
        pen = (load[a] - g.L[rows, a])[:, None] + lx.T - capf[a][:, None]
        np.maximum(pen, 0.0, out=pen)
        pen -= exc[a][:, None]
        pen *= beta[a][:, None]
        sd = wx + pen
        sd = sd + sd.T
        sd -= wcur[:, None]
        sd -= wcur[None, :]
        sd[a[:, None] == a[None, :]] = np.inf
        if self.same_model is not None:
            sd[~self.same_model] = np.inf
        tab = self.tabu[rows[:, None], a[None, :]] > it  # i may not go to a_j
        sd[tab | tab.T] = np.inf
        return sd

    def best_move(self, it: int) -> tuple[float, tuple[str, int, int]]:
        """The best non-tabu move: a shift, or a swap when no shift improves."""
        delta = self.shift_deltas(it)
        F1, D = self.g.F + 1, self.g.D
        k = int(np.argmin(delta))
        best = float(delta.flat[k])
        move = ("shift", k // F1, k % F1)
        if self.do_swap and best > -1e-9:
            # Swaps only when no shift improves: they cost O(D^2) to evaluate.
            sd = self.swap_deltas(it)
            k2 = int(np.argmin(sd))
            if sd.flat[k2] < best - 1e-12:
                best, move = float(sd.flat[k2]), ("swap", k2 // D, k2 % D)
        return best, move

    def apply(self, move: tuple[str, int, int], it: int) -> None:
        """Make ``move``, forbidding the facilities left for a random tenure."""
        st, a = self.st, self.st.a
        if move[0] == "shift":
            _, d, f = move
            self.tabu[d, a[d]] = it + int(self.rng.integers(5, self.span))
            st.move(int(d), int(f))
        else:
            _, i, j = move
            fi, fj = a[i], a[j]
            self.tabu[i, fi] = it + int(self.rng.integers(5, self.span))
            self.tabu[j, fj] = it + int(self.rng.integers(5, self.span))
            st.move(int(i), int(fj))
            st.move(int(j), int(fi))

    def adapt(self, grow: float, shrink: float) -> bool:
        """Strategic oscillation: penalties grow on violated facilities and shrink elsewhere.
        Whether the current assignment is feasible."""
        g, st = self.g, self.st
        over = st.load > self.capf + 1e-9
        self.beta = np.where(over, self.beta * grow, np.maximum(self.beta * shrink, 1e-6))
        self.beta[g.F] = 0.0
        if g.use_mem:
            overm = st.memu > g.mem_cap + 1e-9
            self.gamma = np.where(overm, self.gamma * grow, np.maximum(self.gamma * shrink, 1e-6))
            self.gamma[g.F] = 0.0
            over = over | overm
        return not over.any()


def tabu_search(
    g: Dense,
    start: np.ndarray,
    deadline: float,
    rng: np.random.Generator,
    target: float = -np.inf,
    on_best=None,
    grow: float = 1.05,
    shrink: float = 0.99,
    max_idle: int = 20_000,
) -> tuple[np.ndarray | None, float]:
    """Penalised tabu search over shift and swap moves; returns the best feasible assignment.

    Capacity and memory excess cost ``beta[f]`` / ``gamma[f]`` per unit; the weights grow on
    facilities that stay violated and shrink otherwise, so the search oscillates around the
    feasibility boundary (:class:`Tabu`). Stops at ``deadline`` (perf_counter), when ``target``
    is reached or after ``max_idle`` iterations without a new best.
    """
    search = Tabu(g, start, rng)
    st = search.st
    best, best_cost = None, np.inf
    if g.feasible(st.a):
        best, best_cost = st.a.copy(), g.true_cost(st.a)
    it = last_best = 0
    while time.perf_counter() < deadline and best_cost > target + 1e-9:
        it += 1
        if it - last_best > max_idle:
            break
        best_delta, move = search.best_move(it)
        if not np.isfinite(best_delta):
            search.tabu[:] = 0
            continue
        search.apply(move, it)
        if search.adapt(grow, shrink):
            cost = g.true_cost(st.a)
            if cost < best_cost - 1e-9:
                best, best_cost, last_best = st.a.copy(), cost, it
                if on_best is not None:
                    on_best(best_cost)
    return best, best_cost


def descend(g: Dense, assign: np.ndarray, deadline: float) -> np.ndarray:
    """Feasible-space descent: best improving shift, else best improving swap, until none."""
    st = State(g, assign)
    D, F1 = g.D, g.F + 1
    rows = np.arange(D)
    W = np.where(np.isfinite(g.W), g.W, np.inf)
    while time.perf_counter() < deadline:
        a = st.a
        wcur = W[rows, a]
        delta = np.where(shift_fits(g, st), W - wcur[:, None], np.inf)
        if g.use_open:
            delta += (g.Fo * (st.n == 0))[None, :]
            delta -= (g.Fo[a] * (st.n[a] == 1))[:, None]
        delta[rows, a] = np.inf
        k = int(np.argmin(delta))
        if delta.flat[k] < -1e-9:
            st.move(k // F1, k % F1)
            continue
        if D > 1500:
            break
        wx = W[:, a]
        lx = g.L[:, a]
        room = g.cap[a] - st.load[a] + g.L[rows, a]  # room at a_i once i leaves
        ok = room[:, None] + 1e-9 >= lx.T  # j fits at a_i
        ok &= ok.T
        sd = np.where(ok, wx + wx.T - wcur[:, None] - wcur[None, :], np.inf)
        sd[a[:, None] == a[None, :]] = np.inf
        if g.use_mem:
            sd[g.model[:, None] != g.model[None, :]] = np.inf
        k2 = int(np.argmin(sd))
        if sd.flat[k2] < -1e-9:
            i, j = k2 // D, k2 % D
            fi, fj = a[i], a[j]
            st.move(int(i), int(fj))
            st.move(int(j), int(fi))
            continue
        break
    return st.a


def batch_descend(g: Dense, assign: np.ndarray, deadline: float) -> np.ndarray:
    """Shift descent for large instances: each pass computes every demand's best feasible shift
    once, then applies the improving ones in order, re-checking each against the current state."""
    st = State(g, assign)
    rows = np.arange(g.D)
    W = g.W
    while time.perf_counter() < deadline:
        a = st.a
        delta = np.where(shift_fits(g, st), W - W[rows, a][:, None], np.inf)
        if g.use_open:
            delta += (g.Fo * (st.n == 0))[None, :]
            delta -= (g.Fo[a] * (st.n[a] == 1))[:, None]
        delta[rows, a] = np.inf
        best_f = np.argmin(delta, axis=1)
        gain = delta[rows, best_f]
        order = np.flatnonzero(gain < -1e-9)
        if order.size == 0:
            break
        moved = 0
        for d in order[np.argsort(gain[order])]:
            d, f = int(d), int(best_f[d])
            if time.perf_counter() >= deadline:
                break
            old = st.a[d]
            change = W[d, f] - W[d, old]
            if g.use_open:
                change += g.Fo[f] * (st.n[f] == 0) - g.Fo[old] * (st.n[old] == 1)
            if change < -1e-9 and st.fits(d, f):
                st.move(d, f)
                moved += 1
        if moved == 0:
            break
    return st.a


def open_close(g: Dense, assign: np.ndarray, deadline: float) -> np.ndarray:
    """Facility close moves: close an open facility with a fixed cost and greedily re-place its
    demands elsewhere; keep each closure that lowers the cost."""
    best, best_cost = assign.copy(), g.true_cost(assign)
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        st0 = State(g, best)
        for f in np.flatnonzero((st0.n[: g.F] > 0) & (g.Fo[: g.F] > 0)):
            if time.perf_counter() >= deadline:
                break
            st = State(g, best)
            demands = np.flatnonzero(best == f)
            order = demands[np.argsort(-g.L[demands, f])]
            ok = True
            for d in order:
                cand = np.flatnonzero(np.isfinite(g.W[d, : g.F]) & (np.arange(g.F) != f))
                cand = cand[np.argsort(g.W[d, cand] + g.Fo[cand] * (st.n[cand] == 0))]
                for h in cand:
                    if st.fits(int(d), int(h)):
                        st.move(int(d), int(h))
                        break
                else:
                    ok = False
                    break
            if ok:
                cost = g.true_cost(st.a)
                if cost < best_cost - 1e-9:
                    best, best_cost, improved = st.a.copy(), cost, True
                    break
    return best


def splittable_search(
    problem: Problem, starts: list[np.ndarray], deadline: float
) -> np.ndarray | None:
    """Facility close/open search over the open set, each set routed optimally by an LP.

    Starts from the facilities (and deployments) each start solution uses; a closing move drops
    one open facility with a fixed cost, an opening move adds one closed facility (deploying the
    models its arcs serve most, while memory lasts); first improvement, until no move helps or
    the deadline passes.
    """
    p = problem
    n_f = p.num_facilities
    router = RoutingLP(p)
    key = p.arc_model * n_f + p.arc_facility
    fo = p.internal_open_weight()

    def evaluate(open_mask: np.ndarray, deployed: np.ndarray | None):
        return router.solve(open_mask, deployed, deadline - time.perf_counter())

    best_x, best_c, best_open, best_dep = None, np.inf, None, None
    for x in starts:
        used = x > 1e-9
        open_mask = np.zeros(n_f, dtype=bool)
        open_mask[p.arc_facility[used]] = True
        open_mask |= fo <= 0  # a facility without fixed cost is free to use
        deployed = np.unique(key[used]) if router.lay.pairs.size else None
        y, c = evaluate(open_mask, deployed)
        if y is not None and c < best_c - 1e-9:
            best_x, best_c, best_open, best_dep = y, c, open_mask, deployed
    if best_x is None:
        return None
    demand_w = (p.rate * np.maximum(p.value, 1e-9))[p.arc_demand]
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        used_fac = np.bincount(p.arc_facility, weights=best_x, minlength=n_f)
        closable = np.flatnonzero(best_open & (fo > 0))
        for f in closable[np.argsort(-fo[closable] / np.maximum(used_fac[closable], 1e-9))]:
            if time.perf_counter() >= deadline:
                break
            trial = best_open.copy()
            trial[f] = False
            dep = None if best_dep is None else best_dep[best_dep % n_f != f]
            y, c = evaluate(trial, dep)
            if y is not None and c < best_c - 1e-9:
                best_x, best_c, best_open, best_dep, improved = y, c, trial, dep, True
                break
        if improved:
            continue
        for f in np.flatnonzero(~best_open):
            if time.perf_counter() >= deadline:
                break
            trial = best_open.copy()
            trial[f] = True
            dep = best_dep
            if dep is not None:
                arcs = np.flatnonzero(p.arc_facility == f)
                weight = np.bincount(
                    p.arc_model[arcs], weights=demand_w[arcs], minlength=p.num_models
                )
                room, add = p.facility_memory[f], []
                for m in np.argsort(-weight):
                    if weight[m] > 0 and p.model_memory[m] <= room:
                        add.append(m * n_f + f)
                        room -= p.model_memory[m]
                dep = np.union1d(dep, np.asarray(add, dtype=np.int64))
            y, c = evaluate(trial, dep)
            if y is not None and c < best_c - 1e-9:
                best_x, best_c, best_open, best_dep, improved = y, c, trial, dep, True
                break
    return best_x


class _Best:
    """The best complete, feasible assignment seen; ``on_best`` hears of each improvement."""

    def __init__(self, g: Dense, on_best=None) -> None:
        self.g, self.on_best = g, on_best
        self.assign: np.ndarray | None = None
        self.cost = np.inf

    def consider(self, a: np.ndarray) -> None:
        g = self.g
        if g.feasible(a) and (g.p.mode == "admit" or not np.any(a == g.F)):
            c = g.true_cost(a)
            if c < self.cost - 1e-9:
                self.assign, self.cost = a.copy(), c
                if self.on_best is not None:
                    self.on_best(c)


def _descended(g: Dense, start: np.ndarray, deadline: float) -> np.ndarray:
    """A feasible fallback: ``start`` repaired and improved by descent, retrying (descent frees
    room) to place what is still refused."""
    improve = batch_descend if g.D > LARGE_DEMANDS else descend
    current = improve(g, repair(g, start, deadline), deadline)
    for _ in range(3):
        if g.big <= 0 or not np.any(current == g.F) or time.perf_counter() >= deadline:
            break
        current = improve(g, insert_refused(g, State(g, current), deadline), deadline)
    return current


def local_search(
    problem: Problem, budget: float, seed: int = 0, on_best=None, max_idle: int = 20_000
) -> tuple[np.ndarray | None, float | None, dict]:
    """LP-guided tabu search; returns (arc fractions or None, internal LP or Lagrangian bound
    or None, stats). Every phase keeps ``budget`` seconds (see the module docstring)."""
    t_start = time.perf_counter()
    g = Dense(problem)
    if problem.congestion != "none":
        return _congestion_search(g, t_start + budget, on_best, seed)
    lp_affordable = problem.num_arcs * (2 if problem.memory_binding else 1) <= LP_ARCS
    # Without the LP, the last quarter goes to a Lagrangian bound.
    t_end = t_start + (budget if lp_affordable else 0.75 * budget)
    # Splittable routing keeps half the budget for the LP-routed open/close search (when the
    # routing LP is small enough to be solved repeatedly).
    routed = not problem.single_source and problem.num_arcs <= LP_ARCS
    ls_end = t_start + 0.5 * budget if routed else t_end
    stats: dict = {}
    large = g.D > LARGE_DEMANDS
    # The LP relaxation guides the start and bounds the optimum, when it is cheap enough.
    x_lp, lb = lp_relaxation(problem, max(0.05, 0.5 * budget)) if lp_affordable else (None, None)
    if x_lp is not None:
        start = lp_assign(g, x_lp)
    else:  # one regret pass: on large instances each takes seconds
        start = greedy_assign(g, first_feasible=large, deadline=ls_end)
        if start is None:  # out of time: nothing complete to improve
            return None, lb, stats
    best = _Best(g, on_best)
    best.consider(_descended(g, start, ls_end))
    target = -np.inf
    if lb is not None:
        target = internal_bound(problem, lb)
        stats["lp_bound"] = problem.reported(lb)
    if best.cost > target + 1e-9 and not large:
        rng = np.random.default_rng(seed)
        found, _ = tabu_search(g, start, ls_end, rng, target=target, max_idle=max_idle)
        if found is not None:
            best.consider(descend(g, found, ls_end + 0.05 * budget))
    if best.assign is None and time.perf_counter() < t_end:
        found = greedy_assign(g, deadline=t_end)
        if found is not None:
            best.consider(found)
    if best.assign is None:
        return None, lb, stats
    assign = open_close(g, best.assign, ls_end + 0.1 * budget) if g.use_open else best.assign
    if problem.mode == "serve_all" and np.any(assign == g.F):
        return None, lb, stats
    x = g.x_of(assign)
    if not lp_affordable:
        lb = lagrangian_bound(problem, best.cost, t_start + budget)
        if lb is not None:
            stats["lagrangian_bound"] = problem.reported(lb)
    if routed:
        split = splittable_search(problem, [x] if x_lp is None else [x, x_lp], t_end)
        if split is not None and internal_objective(problem, split) < internal_objective(
            problem, x
        ):
            x = split
    return x, lb, stats


def _congestion_search(
    g: Dense, deadline: float, on_best=None, seed: int = 0
) -> tuple[np.ndarray | None, float | None, dict]:
    """Congestion-aware search: the better of the congestion insertion and the regret greedy
    (both priced with the queueing penalty), improved by shifts until ``deadline``."""

    starts = [insertion(g, deadline, seed), greedy_assign(g, deadline=deadline)]
    best, best_cost = None, np.inf
    for a in starts:
        if a is None or not g.feasible(a) or (g.big > 0 and np.any(a == g.F)):
            continue
        a = descent(g, a, deadline)
        cost = g.true_cost(a)
        if cost < best_cost - 1e-12:
            best, best_cost = a, cost
            if on_best is not None:
                on_best(cost)
    if best is None:
        return None, None, {}
    return g.x_of(best), None, {}
