"""Iterated local search for the plain orienteering problem (one route, no windows, no budget).

The problem: choose nodes and an order for one route ``s -> ... -> e`` whose length (travel plus
service plus verification) stays within the deadline, maximising the summed utility. This is the
OP of the classic benchmarks (Chao, Tsiligirides, OPLib); :mod:`daitn_opt.mtrce.heuristics`
hands such problems here and keeps its general search for windows, budgets and k > 1 routes.

What makes it fast enough for 1,000 nodes in a few seconds:

- the route is a doubly linked list (``nxt``, ``prv``), so inserting or dropping a node is O(1);
- every unvisited node keeps its cheapest insertion (the gap and the added length); an insertion
  or a removal changes two gaps, so the cache is updated for all unvisited nodes at once in O(U)
  numpy, and only the nodes whose best gap disappeared are re-evaluated against every gap;
- route shortening is Lin-Kernighan (2-opt chains) + or-opt over neighbour lists with a
  don't-look queue, compiled (:func:`daitn_opt.mtrce.lk.improve`; without numba or for
  asymmetric travel the vectorised 2-opt + or-opt of :class:`daitn_opt.mtrce.tour.PathSearch`),
  started only from the nodes a kick or an insertion touched; a shorter route frees length for
  more insertions;
- service times are folded into the arc lengths, ``w[i, j] = t[i, j] + (d[i] + d[j]) / 2``, so a
  route's completion is its ``w`` length plus ``(d[s] + d[e]) / 2 + verify``.

The moves follow the best OP heuristics: insertion by utility per added length (Vansteenwegen et
al. 2009 use ``u^2 / added``; EA4OP, Kobeaga, Merino and Lozano 2018, ``u / added``), a replace
move (drop a visited node for an unvisited one of higher utility, every pair screened at once),
route shortening (EA4OP improves each route by Lin-Kernighan; so does this search), and two kicks:
removing a run of consecutive visits (Vansteenwegen et al.'s shake) and an add-and-drop after
EA4OP (force in an unvisited node drawn by utility and its nearest unvisited nodes, shorten, then
drop the nodes of least utility per length saved until the route fits). The removed nodes are
tabu for the first refill. The start is the better of ratio insertion and dropping from a tour of
every candidate; restarts (after ``patience`` stale kicks) alternate the two, randomised.

Measured (two OPLib instances, seed 1): the routes this search ends with are already as short as
LKH-3 makes them for the same nodes, so a stronger TSP step would not free length; the gaps left
come from which nodes are chosen. An iterated 2-opt / or-opt polish of every new best route was
tried and cost more kicks than it gained. The compiled LK shortening is measured by
``tests/benchmarks/op_heuristics.py --shorten 2opt,lk`` (both in one run, CPU-time limits): its
gain is mostly speed (about twice the kicks in the same time), see :data:`USE_LK`. Runs are
deterministic for a seed unless the time limit cuts them short.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import lk
from .plan import Arrays
from .solution import EPS
from .tour import PathSearch, farthest_insertion, is_symmetric, neighbour_lists, path_length

NEIGHBOURS = 12
"""Neighbour list length for 2-opt / or-opt (unvisited neighbours are skipped by the search)."""


DROP_START = True
"""Also build a start by dropping nodes from a tour of every candidate; keep the better."""
RESET_EVERY = 10
"""Stale kicks after which the search returns to the best route (Vansteenwegen et al.: 10)."""
EXPONENT = 2.0
"""Insertion score ``u^EXPONENT / added length`` (2: Vansteenwegen et al.; 1: EA4OP)."""
CLUSTER_SHARE = 0.5
"""Share of the kicks that add a cluster of unvisited nodes (the other half remove a run of
visits). Measured on 23 OPLib instances of 96-200 nodes at 2 s CPU: 0.5 gave a mean gap of
0.16% (5 ahead of EA4OP), 0.25 (the rest adding the best by ratio) 0.28% (9 ahead), 0 0.43%."""
PATIENCE = None
"""Stale kicks before a restart when ``patience`` is not given (None: the caller's default)."""
USE_LK = True
"""Route shortening by :func:`daitn_opt.mtrce.lk.improve` where it applies (else 2-opt / or-opt
of :class:`daitn_opt.mtrce.tour.PathSearch`). Measured in one run on the 136 OPLib instances of
n <= 200 at 2 s CPU: mean gap to EA4OP -0.25% (max 1.41%, 50 ahead) against -0.07% (max 2.92%,
41 ahead), with 1.8 times the kicks."""
REPLACE_CANDIDATES = 200
"""Unvisited nodes the replace move screens against every visited one (the matrix is
candidates x visited: unbounded, it was most of the time per kick at 800 nodes; 48 cost
quality below 200 nodes: 0.34% against 0.18% mean gap on 23 OPLib instances at 2 s CPU)."""


def applies(problem, arr: Arrays) -> bool:
    """True for the plain OP this module handles: max_utility, k = 1, no windows or budget."""
    return (
        problem.objective == "max_utility"
        and arr.k == 1
        and problem.window_open is None
        and not arr.has_budget
        and len(arr.customers) >= 2
        and bool(np.isfinite(arr.t).all())
        and bool(np.all(arr.t >= 0))
    )


class OpRoute:
    """One OP route as a linked list with the cheapest insertion of every unvisited node cached."""

    def __init__(self, arr: Arrays, pool: np.ndarray) -> None:
        n = arr.n
        d = arr.d
        self.w = arr.t + (d[:, None] + d[None, :]) / 2 if d.any() else arr.t
        self.s, self.e = arr.s, arr.e
        self.cap = arr.deadline - arr.verify - (d[arr.s] + d[arr.e]) / 2
        self.u = arr.u
        self.protected = arr.mandatory.copy()
        self.pool = np.asarray(pool, dtype=np.int64)
        self.nxt = np.full(n, -1, dtype=np.int64)
        self.prv = np.full(n, -1, dtype=np.int64)
        self.vis = np.zeros(n, dtype=bool)
        self.best_add = np.full(n, np.inf)
        self.best_from = np.full(n, -1, dtype=np.int64)
        self.symmetric = is_symmetric(self.w)
        self.load([self.s, self.e])

    # -- state ------------------------------------------------------------------------------
    def load(self, seq) -> None:
        """Set the route to the node sequence ``seq`` (``[s, ..., e]``) and refresh the cache."""
        seq = np.asarray(seq, dtype=np.int64)
        self.nxt[:] = -1
        self.prv[:] = -1
        self.vis[:] = False
        self.vis[seq] = True
        self.nxt[seq[:-1]] = seq[1:]
        self.prv[seq[1:]] = seq[:-1]
        self.length = float(self.w[seq[:-1], seq[1:]].sum())
        self.refresh()

    def relink(self, seq) -> None:
        """Reorder the route (same nodes) to ``seq``, updating the insertion cache for the arcs
        that changed only: a node keeps its best gap when that arc survives (either direction
        for symmetric travel), is compared with the new arcs, and re-evaluated in full only when
        its gap is gone."""
        seq = np.asarray(seq, dtype=np.int64)
        w = self.w
        old = self.nxt.copy()
        self.nxt[seq[:-1]] = seq[1:]
        self.prv[seq[1:]] = seq[:-1]
        self.length = float(w[seq[:-1], seq[1:]].sum())
        out = self.outside()
        if len(out) == 0:
            return
        a = self.best_from[out]
        b = old[a]
        same = self.nxt[a] == b
        flip = ~same & (self.nxt[np.maximum(b, 0)] == a) & (b >= 0) & self.symmetric
        self.best_from[out[flip]] = b[flip]
        lost = out[~same & ~flip]
        froms, tos = seq[:-1], seq[1:]
        new = old[froms] != tos
        if self.symmetric:
            new &= old[tos] != froms
        if new.any():
            nf, nt = froms[new], tos[new]
            add = w[np.ix_(nf, out)] + w[np.ix_(out, nt)].T - w[nf, nt][:, None]
            k = np.argmin(add, axis=0)
            val = add[k, np.arange(len(out))]
            better = val < self.best_add[out]
            self.best_add[out[better]] = val[better]
            self.best_from[out[better]] = nf[k[better]]
        self._evaluate(lost)

    def sequence(self) -> np.ndarray:
        """The route as an array ``[s, ..., e]``."""
        nxt = self.nxt.tolist()
        out = [self.s]
        v = nxt[self.s]
        while v != self.e:
            out.append(v)
            v = nxt[v]
        out.append(self.e)
        return np.asarray(out, dtype=np.int64)

    def snapshot(self) -> tuple:
        return (
            self.nxt.copy(),
            self.prv.copy(),
            self.vis.copy(),
            self.length,
            self.best_add.copy(),
            self.best_from.copy(),
        )

    def restore(self, snap: tuple) -> None:
        nxt, prv, vis, length, add, frm = snap
        self.nxt[:], self.prv[:], self.vis[:] = nxt, prv, vis
        self.length = length
        self.best_add[:], self.best_from[:] = add, frm

    def score(self) -> float:
        return float(self.u[self.vis].sum())

    def key(self) -> tuple[float, float]:
        """What the search maximises: utility, then a shorter route."""
        return self.score(), -self.length

    def outside(self) -> np.ndarray:
        """Pool nodes not on the route."""
        return self.pool[~self.vis[self.pool]]

    def inside(self) -> np.ndarray:
        """Customers on the route that may be dropped (not mandatory)."""
        v = self.vis.copy()
        v[[self.s, self.e]] = False
        v &= ~self.protected
        return np.flatnonzero(v)

    # -- insertion cache --------------------------------------------------------------------
    def _gaps(self) -> tuple[np.ndarray, np.ndarray]:
        froms = np.flatnonzero(self.vis & (self.nxt >= 0))
        return froms, self.nxt[froms]

    def _evaluate(self, js: np.ndarray) -> None:
        """Cheapest insertion of each of ``js`` over every gap of the route."""
        if len(js) == 0:
            return
        froms, tos = self._gaps()
        w = self.w
        add = w[np.ix_(froms, js)] + w[np.ix_(js, tos)].T - w[froms, tos][:, None]
        k = np.argmin(add, axis=0)
        self.best_add[js] = add[k, np.arange(len(js))]
        self.best_from[js] = froms[k]

    def refresh(self) -> None:
        self.best_add[:] = np.inf
        self._evaluate(self.outside())

    # -- moves ------------------------------------------------------------------------------
    def insert(self, j: int, a: int) -> None:
        """Insert node ``j`` right after the visited node ``a``."""
        w = self.w
        b = int(self.nxt[a])
        self.nxt[a], self.prv[j], self.nxt[j], self.prv[b] = j, a, b, j
        self.vis[j] = True
        self.length += float(w[a, j] + w[j, b] - w[a, b])
        self.best_add[j] = np.inf
        out = self.outside()
        if len(out) == 0:
            return
        c1 = w[a, out] + w[out, j] - w[a, j]
        c2 = w[j, out] + w[out, b] - w[j, b]
        new = np.minimum(c1, c2)
        frm = np.where(c1 <= c2, a, j)
        better = new < self.best_add[out]
        self.best_add[out[better]] = new[better]
        self.best_from[out[better]] = frm[better]
        lost = out[(self.best_from[out] == a) & ~better]  # their gap (a, b) is gone
        self._evaluate(lost)

    def remove(self, j: int) -> None:
        """Take node ``j`` off the route."""
        w = self.w
        a, b = int(self.prv[j]), int(self.nxt[j])
        self.nxt[a], self.prv[b] = b, a
        self.nxt[j] = self.prv[j] = -1
        self.vis[j] = False
        self.length -= float(w[a, j] + w[j, b] - w[a, b])
        out = self.outside()
        if len(out) == 0:
            return
        c = w[a, out] + w[out, b] - w[a, b]
        lost = (self.best_from[out] == a) | (self.best_from[out] == j) | (out == j)
        better = (c < self.best_add[out]) & ~lost
        self.best_add[out[better]] = c[better]
        self.best_from[out[better]] = a
        self._evaluate(out[lost])

    def remove_many(self, nodes) -> None:
        """Take several nodes off the route, then re-evaluate every insertion once."""
        w = self.w
        for j in nodes:
            a, b = int(self.prv[j]), int(self.nxt[j])
            self.nxt[a], self.prv[b] = b, a
            self.nxt[j] = self.prv[j] = -1
            self.vis[j] = False
            self.length -= float(w[a, j] + w[j, b] - w[a, b])
        self.refresh()

    def removal_savings(self, nodes: np.ndarray) -> np.ndarray:
        a, b = self.prv[nodes], self.nxt[nodes]
        return self.w[a, nodes] + self.w[nodes, b] - self.w[a, b]


class OpSearch:
    """The ILS driver (see the module docstring)."""

    def __init__(
        self,
        arr: Arrays,
        pool: np.ndarray,
        rng: np.random.Generator,
        stop: Callable[[], bool],
        on_improve: Callable[[float], None] | None = None,
        tabu: bool = True,
        noise: float = 0.0,
        max_kick: int | None = None,
    ) -> None:
        self.arr = arr
        self.r = OpRoute(arr, pool)
        self.rng = rng
        self.stop = stop
        self.on_improve = on_improve
        self.tabu, self.noise = tabu, noise
        self.max_kick = max_kick
        self.retire = True
        self.symmetric = self.r.symmetric
        nodes = np.unique(np.concatenate([self.r.pool, [arr.s, arr.e]]))
        self.nbrs = neighbour_lists(self.r.w, nodes, NEIGHBOURS, stop) if len(nodes) > 2 else None
        self.touched: set[int] = set()
        self.lk = USE_LK and self.symmetric and lk.HAVE_NUMBA
        """Shorten by the compiled LK + or-opt search (symmetric travel, numba installed)."""
        self.stats = {"iterations": 0, "improvements": 0, "restarts": 0}

    # -- local search -----------------------------------------------------------------------
    def fill(self, exclude: np.ndarray | None = None, exponent: float | None = None) -> int:
        """Insert the node of best ``u^exponent / added length`` that fits, until none does."""
        r = self.r
        exponent = EXPONENT if exponent is None else exponent
        count = 0
        while not (count % 32 == 31 and self.stop()):
            out = r.outside()
            if exclude is not None and len(exclude):
                out = out[~np.isin(out, exclude)]
            add = r.best_add[out]
            fits = add <= r.cap - r.length + EPS
            if not fits.any():
                break
            cand, add = out[fits], add[fits]
            u = np.maximum(r.u[cand], 0.0)
            score = u**exponent / np.maximum(add, 1e-9)
            if self.noise > 0:
                score = score * (1.0 + self.noise * self.rng.random(len(cand)))
            i = int(np.argmax(score))
            j, a = int(cand[i]), int(r.best_from[cand[i]])
            r.insert(j, a)
            self.touched.update((j, a, int(r.nxt[j])))
            count += 1
        return count

    def shorten(self, everything: bool = False) -> bool:
        """2-opt / or-opt from the touched nodes; True when the route got shorter."""
        r = self.r
        if self.nbrs is None or (not everything and not self.touched):
            return False
        seq = r.sequence()
        self.touched.discard(-1)
        active = None if everything else np.fromiter(self.touched, dtype=np.int64)
        self.touched.clear()
        if len(seq) < 5:
            return False
        if self.lk:
            new = lk.improve(r.w, seq, self.nbrs, seq if active is None else active)
            if path_length(r.w, new) >= r.length - 1e-9:
                return False
            r.relink(new)
            return True
        search = PathSearch(r.w, seq, self.nbrs, symmetric=self.symmetric)
        if search.run(active, deadline=self.stop, retire=self.retire) == 0:
            return False
        if search.length >= r.length - 1e-9:
            return False
        r.relink(search.tour)
        return True

    def replace(self) -> bool:
        """Drop a visited node for an unvisited one of higher utility (or equal and shorter)."""
        r = self.r
        inner = r.inside()
        out = r.outside()
        if len(inner) == 0 or len(out) == 0:
            return False
        cand = out[r.u[out] >= r.u[inner].min()]
        if len(cand) == 0:
            return False
        if len(cand) > REPLACE_CANDIDATES:  # the highest utilities, then the cheapest to insert
            cand = cand[np.lexsort((r.best_add[cand], -r.u[cand]))[:REPLACE_CANDIDATES]]
        w = r.w
        a, b = r.prv[inner], r.nxt[inner]
        here = w[a, inner] + w[inner, b]
        rem = here - w[a, b]
        # In the dropped node's place, or at the candidate's cached gap when it survives the drop.
        inplace = w[np.ix_(a, cand)].T + w[np.ix_(cand, b)] - here[None, :]
        bf = r.best_from[cand][:, None]
        elsewhere = np.where(
            (bf == inner[None, :]) | (bf == a[None, :]),
            np.inf,
            r.best_add[cand][:, None] - rem[None, :],
        )
        net = np.minimum(inplace, elsewhere)
        gain = r.u[cand][:, None] - r.u[inner][None, :]
        ok = (r.length + net <= r.cap + EPS) & ((gain > 1e-12) | ((gain > -1e-12) & (net < -1e-7)))
        if not ok.any():
            return False
        score = np.where(ok, gain - 1e-9 * net, -np.inf)
        jc, ic = np.unravel_index(int(np.argmax(score)), score.shape)
        j, i = int(cand[jc]), int(inner[ic])
        at = int(a[ic]) if inplace[jc, ic] <= elsewhere[jc, ic] else int(r.best_from[j])
        r.remove(i)
        r.insert(j, at)
        self.touched.update((j, at, int(r.nxt[j])))
        return True

    def local_search(self, exclude: np.ndarray | None = None) -> None:
        self.fill(exclude)
        for _ in range(10 * self.arr.n + 10):
            if self.stop():
                return
            self.shorten()
            if self.fill():
                continue
            if self.replace():
                continue
            return

    # -- kicks ------------------------------------------------------------------------------
    def kick_segment(self, start: int, size: int) -> np.ndarray:
        """Remove ``size`` consecutive optional visits from position ``start`` (cyclic)."""
        r = self.r
        seq = r.sequence()[1:-1]
        if len(seq) == 0:
            return seq
        first = start % len(seq)
        drop = seq[first : first + size]
        drop = drop[~r.protected[drop]]
        for v in drop:
            self.touched.update((int(r.prv[v]), int(r.nxt[v])))
        r.remove_many(drop.tolist())
        self.touched.difference_update(drop.tolist())
        return drop

    def kick_add_drop(self, count: int, cluster: bool = False) -> np.ndarray:
        """EA4OP's add and drop: insert ``count`` nodes regardless of the deadline, shorten, then
        drop the nodes of least utility per length saved until the route fits again.

        The nodes added are the best by utility per added length (randomised), or with
        ``cluster`` an unvisited node drawn by utility and its nearest unvisited nodes, which
        pulls the route into a region it does not visit yet.
        """
        r = self.r
        out = r.outside()
        if len(out) == 0:
            return out
        if cluster:
            weight = np.maximum(r.u[out], 0) + 1e-9
            v = int(self.rng.choice(out, p=weight / weight.sum()))
            pick = out[np.argsort(r.w[v, out] + r.w[out, v], kind="stable")[:count]]
        else:
            ratio = np.maximum(r.u[out], 0) / np.maximum(r.best_add[out], 1e-9)
            ratio = ratio * (1.0 + 0.5 * self.rng.random(len(out)))
            pick = out[np.argsort(-ratio)[:count]]
        for j in pick:
            a = int(r.best_from[j])
            r.insert(int(j), a)
            self.touched.update((int(j), a, int(r.nxt[j])))
        self.shorten()
        return np.asarray(self.drop_to_fit(), dtype=np.int64)

    # -- driver -----------------------------------------------------------------------------
    def construct(self, start: np.ndarray | None = None) -> None:
        """Mandatory nodes by cheapest insertion, then ratio insertion, then local search."""
        r = self.r
        if start is not None:
            r.load(start)
        for m in np.flatnonzero(r.protected & ~r.vis):
            r._evaluate(np.array([m]))
            r.insert(int(m), int(r.best_from[m]))
        self.local_search()

    def construct_drop(self, noise: float = 0.0) -> None:
        """Start from a tour of every candidate, shortened, and drop the nodes of least utility
        per length saved until the route fits (EA4OP builds its first routes this way)."""
        r = self.r
        seq = farthest_insertion(r.w, r.s, r.e, r.pool)
        if self.nbrs is not None and len(seq) >= 5:
            if self.lk:
                seq = lk.improve(r.w, seq, self.nbrs)
            else:
                search = PathSearch(r.w, seq, self.nbrs, symmetric=self.symmetric)
                search.run(deadline=self.stop, retire=True)
                seq = search.tour
        r.load(seq)
        self.drop_to_fit(noise)
        self.local_search()

    def drop_to_fit(self, noise: float = 0.0) -> list[int]:
        """Drop the optional node of least ``u / saving`` until the route fits (re-shortening
        every few drops, as each drop leaves a detour 2-opt can often straighten)."""
        r = self.r
        dropped: list[int] = []
        while r.length > r.cap + EPS and not self.stop():
            inner = r.inside()
            if len(inner) == 0:
                break
            save = r.removal_savings(inner)
            value = np.maximum(r.u[inner], 0) / np.maximum(save, 1e-9)
            if noise > 0:
                value = value * (1.0 + noise * self.rng.random(len(inner)))
            v = int(inner[np.argmin(value)])
            self.touched.update((int(r.prv[v]), int(r.nxt[v])))
            r.remove(v)
            dropped.append(v)
            if len(dropped) % 16 == 0:
                self.shorten()
        return dropped

    def feasible(self) -> bool:
        r = self.r
        return r.length <= r.cap + EPS and bool(r.vis[r.protected].all())

    def run(
        self, iterations: int, patience: int, start: np.ndarray | None = None
    ) -> np.ndarray | None:
        """Iterate kicks and local search; the best route found (None: the mandatory nodes did
        not fit the construction)."""
        r = self.r
        if PATIENCE is not None:
            patience = PATIENCE
        self.construct(start)
        if not self.feasible():
            return None
        best = r.snapshot()
        best_key = r.key()
        if DROP_START and start is None and not r.protected.any():
            self.construct_drop()
            if self.feasible() and r.key() > best_key:
                best, best_key = r.snapshot(), r.key()
            r.restore(best)
        self._improved()
        inner = max(1, len(r.pool))
        max_size = max(1, inner // 3)
        if self.max_kick is not None:
            max_size = max(1, min(max_size, self.max_kick))
        size, start_pos, stale = 1, 0, 0
        for it in range(1, iterations + 1):
            if self.stop():
                break
            self.stats["iterations"] = it
            if stale >= patience:
                # Restart from a randomised construction, by insertion and by dropping in turn.
                self.stats["restarts"] += 1
                self.noise, keep = 0.5, self.noise
                if self.stats["restarts"] % 2 or r.protected.any():
                    r.load([r.s, r.e])
                    self.construct()
                else:
                    self.construct_drop(noise=0.5)
                self.noise = keep
                stale, size = 0, 1
            else:
                draw = self.rng.random()
                if draw < 0.5:
                    removed = self.kick_segment(start_pos, size)
                else:
                    size_add = int(self.rng.integers(1, max(2, min(max_size, 10)) + 1))
                    removed = self.kick_add_drop(size_add, cluster=draw > 1 - CLUSTER_SHARE)
                self.local_search(removed if self.tabu else None)
            key = r.key()
            if not self.feasible():
                r.restore(best)
                key = best_key
            if key > best_key:
                best, best_key = r.snapshot(), key
                self._improved()
                size, stale = 1, 0
            else:
                stale += 1
                start_pos += size
                size = size + 1 if size < max_size else 1
                if stale % RESET_EVERY == 0:
                    r.restore(best)
                    start_pos = int(self.rng.integers(0, inner))
        r.restore(best)
        return r.sequence()

    def _improved(self) -> None:
        self.stats["improvements"] += 1
        if self.on_improve is not None and self.feasible():
            self.on_improve(self.r.score())
