"""LK-class local search on a symmetric tour, array-based, compiled by numba when installed.

The problem: shorten a closed tour (or a path with fixed ends, as a tour whose closing edge
``{e, s}`` may not be removed) over symmetric travel times much faster than the vectorised
2-opt / or-opt of :mod:`daitn_opt.mtrce.tour`, which rebuilds O(n) arrays per move.

The tour is an array ``tour`` (a cycle) with ``pos[v]`` its position (``-1`` for nodes off the
tour, so an orienteering route searches with the neighbour lists of the whole graph). Moves, in
the style of Johnson and McGeoch's notes on 2-opt, 3-opt and Lin-Kernighan (1997):

- an LK step (Lin and Kernighan 1973) built from 2-opt moves: break ``{t1, t2}``, add
  ``{t2, t3}`` for ``t3`` among the neighbours of ``t2`` while the partial gain stays positive,
  close with ``{t4, t1}``; when the closed tour is not shorter, continue from ``t4`` (the best
  next ``t3`` by ``|x| - |y|``) up to ``depth`` levels, then undo. The first level tries up to
  ``breadth`` candidates; depth 1 is plain 2-opt;
- or-opt (Or 1976): a segment of 1-3 nodes starting or ending at the node moved between two
  neighbours, either orientation (this includes 2h-opt);
- don't-look bits as a FIFO queue of active nodes (Bentley 1992): after a move the ends of the
  changed edges are queued again.

A reversal flips the shorter side of the cycle, so a move costs O(min(len, n - len)).
:func:`ils` adds the kick: a segment-local double bridge (Martin, Otto and Felten 1991) of three
cuts within ``span`` positions (a share ``wide`` of the kicks: anywhere in the tour), the tour
kept when it is not longer, otherwise the best restored.

Without numba the same functions run as plain Python (correct, about 100 times slower); the
callers then prefer the vectorised search of :mod:`daitn_opt.mtrce.tour`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

try:  # numba is an optional speed-up; the plain functions below are the reference.
    from numba import njit as _njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is missing
    HAVE_NUMBA = False

EPS = 1e-9
"""Smallest gain that counts as an improvement."""
DEPTH = 6
"""Most 2-opt moves in one LK move. Measured at 1 s CPU on ten TSPLIB tours (96-442 cities)
with the best gaps: 3 left 0.2-0.9% on five of them, 6 none above 0.2% but pcb442 and rat195."""
BREADTH = 5
"""Candidates for the first added edge of an LK move (deeper levels take the best only)."""
SPAN = 150
"""Largest window of a kick, in tour positions; with ``vary`` each kick draws its window in
``8..SPAN`` (fixed windows of 15, 30, 50 and 100 left more of the ten tours above optimum)."""
WIDE = 0.05
"""Share of the kicks whose window is the whole tour (a plain double bridge): the local windows
alone leave a tour's large-scale order as the start gave it. Measured with
``tests/benchmarks/tsp_engines.py`` (1.5 s CPU, the twelve TSPLIB graphs of 493-1,000 cities,
seeds 0-2, load about 10): mean gap 0.23 / 0.29 / 0.27% without, 0.13 / 0.16 / 0.18% with 5%
(10%: 0.18 / 0.24 / 0.23%; 20%: 0.14 / 0.14 / 0.17%); on the 53 graphs up to 442 cities at 1 s
CPU, seeds 0-1: 0.005 / 0.069% without (max 0.22 / 3.06%), 0.000 / 0.011% with 5% (max 0.008 /
0.36%). Configuration ``lk:wide=0`` of that script is the search without them."""
QUEUE_LIMIT_FACTOR = 50
"""Moves per local search at most ``QUEUE_LIMIT_FACTOR * m`` (guards against float cycling)."""


def _jit(fn):
    return _njit(cache=True, nogil=True)(fn) if HAVE_NUMBA else fn


@_jit
def _succ(tour, pos, v):
    p = pos[v] + 1
    return tour[0] if p == len(tour) else tour[p]


@_jit
def _pred(tour, pos, v):
    p = pos[v] - 1
    return tour[len(tour) - 1] if p < 0 else tour[p]


@_jit
def _fixed(a, b, fa, fb):
    return (a == fa and b == fb) or (a == fb and b == fa)


@_jit
def _reverse(tour, pos, i, j):
    """Reverse the forward path from position ``i`` to ``j``, or its complement if shorter (the
    same cycle read the other way round)."""
    m = len(tour)
    n_in = (j - i) % m + 1
    if 2 * n_in > m:
        i, j = (j + 1) % m, (i - 1) % m
        n_in = m - n_in
    for _ in range(n_in // 2):
        a = tour[i]
        b = tour[j]
        tour[i] = b
        pos[b] = i
        tour[j] = a
        pos[a] = j
        i += 1
        if i == m:
            i = 0
        j -= 1
        if j < 0:
            j = m - 1


@_jit
def _move2(tour, pos, a, b, c, d):
    """2-opt: remove ``{a, b}`` and ``{c, d}``, add ``{a, c}`` and ``{b, d}``; ``b`` follows ``a``
    and ``d`` follows ``c`` in one orientation of the tour."""
    if _succ(tour, pos, a) == b:
        _reverse(tour, pos, pos[b], pos[c])
    else:
        _reverse(tour, pos, pos[c], pos[b])


@_jit
def _lk_step(dist, nbrs, tour, pos, t1, fa, fb, depth, breadth, moves, touch):
    """One improving LK move from ``t1`` (applied); the gain, 0 if none. ``touch`` receives the
    end nodes of the changed edges (count in ``touch[0]``)."""
    k_max = nbrs.shape[1]
    for side in range(2):
        t2 = _succ(tour, pos, t1) if side == 0 else _pred(tour, pos, t1)
        if _fixed(t1, t2, fa, fb):
            continue
        tried = 0
        for k in range(k_max):
            t3 = nbrs[t2, k]
            if pos[t3] < 0 or t3 == t1:
                continue
            g1 = dist[t1, t2] - dist[t2, t3]
            if g1 <= EPS:
                break
            forward = _succ(tour, pos, t1) == t2
            t4 = _pred(tour, pos, t3) if forward else _succ(tour, pos, t3)
            if t4 == t2 or _fixed(t3, t4, fa, fb):
                continue
            tried += 1
            _move2(tour, pos, t2, t1, t3, t4)
            moves[0, 0], moves[0, 1], moves[0, 2], moves[0, 3] = t2, t1, t3, t4
            n_moves = 1
            g = g1 + dist[t3, t4]
            cur = t4
            gain = g - dist[cur, t1]
            while gain <= EPS and n_moves < depth:
                forward = _succ(tour, pos, t1) == cur
                best_v, b3, b4 = -np.inf, -1, -1
                for k2 in range(k_max):
                    c3 = nbrs[cur, k2]
                    if pos[c3] < 0 or c3 == t1:
                        continue
                    if g - dist[cur, c3] <= EPS:
                        break
                    c4 = _pred(tour, pos, c3) if forward else _succ(tour, pos, c3)
                    if c4 == cur or _fixed(c3, c4, fa, fb):
                        continue
                    added = False  # an edge added by this move is not removed again
                    for q in range(n_moves):
                        a0, c0 = moves[q, 0], moves[q, 2]
                        if (a0 == c3 and c0 == c4) or (a0 == c4 and c0 == c3):
                            added = True
                    if added:
                        continue
                    v = dist[c3, c4] - dist[cur, c3]
                    if v > best_v:
                        best_v, b3, b4 = v, c3, c4
                if b3 < 0:
                    break
                _move2(tour, pos, cur, t1, b3, b4)
                moves[n_moves, 0], moves[n_moves, 1] = cur, t1
                moves[n_moves, 2], moves[n_moves, 3] = b3, b4
                n_moves += 1
                g += best_v
                cur = b4
                gain = g - dist[cur, t1]
            if gain > EPS:
                cnt = 0
                for q in range(n_moves):
                    for r in range(4):
                        touch[1 + cnt] = moves[q, r]
                        cnt += 1
                touch[0] = cnt
                return gain
            for q in range(n_moves - 1, -1, -1):  # undo: the reverse 2-opt moves
                _move2(tour, pos, moves[q, 0], moves[q, 2], moves[q, 1], moves[q, 3])
            if tried >= breadth:
                break
    return 0.0


@_jit
def _shift_segment(tour, pos, f, seg_len, x, rev, buf):
    """Move the forward segment of ``seg_len`` nodes starting at ``f`` between ``x`` and its
    successor (``rev``: reversed), shifting the shorter run of nodes in between."""
    m = len(tour)
    i = pos[f]
    for q in range(seg_len):
        buf[q] = tour[(i + q) % m]
    gx = pos[x]
    k1 = (gx - (i + seg_len - 1)) % m  # nodes from after the segment up to x
    k2 = m - seg_len - k1  # nodes from x's successor up to the segment's predecessor
    if k1 <= k2:
        for q in range(k1):
            v = tour[(i + seg_len + q) % m]
            p = (i + q) % m
            tour[p] = v
            pos[v] = p
        base = i + k1
    else:
        for q in range(k2):
            v = tour[(i - 1 - q) % m]
            p = (i - 1 - q + seg_len) % m
            tour[p] = v
            pos[v] = p
        base = gx + 1
    for q in range(seg_len):
        v = buf[seg_len - 1 - q] if rev else buf[q]
        p = (base + q) % m
        tour[p] = v
        pos[v] = p


@_jit
def _or_step(dist, nbrs, tour, pos, a, fa, fb, buf, touch):
    """Best or-opt move of a segment of 1-3 nodes with ``a`` at one end (applied); the gain."""
    m = len(tour)
    if m < 8:
        return 0.0
    k_max = nbrs.shape[1]
    best, bf, bl, bx, brev = EPS, -1, 0, -1, False
    for seg_len in range(1, 4):
        for side in range(2):
            if seg_len == 1 and side == 1:
                continue
            if side == 0:
                f = a
                p_last = (pos[a] + seg_len - 1) % m
                last = tour[p_last]
            else:
                last = a
                f = tour[(pos[a] - seg_len + 1) % m]
            pf = _pred(tour, pos, f)
            nl = _succ(tour, pos, last)
            if _fixed(pf, f, fa, fb) or _fixed(last, nl, fa, fb):
                continue
            gain0 = dist[pf, f] + dist[last, nl] - dist[pf, nl]
            if gain0 <= EPS:
                continue
            i0 = pos[f]
            for k in range(k_max):
                c = nbrs[a, k]
                if pos[c] < 0:
                    continue
                if dist[a, c] >= gain0:
                    break
                if (pos[c] - i0) % m < seg_len:
                    continue
                for g_side in range(2):  # the gaps (c, succ c) and (pred c, c)
                    x = c if g_side == 0 else _pred(tour, pos, c)
                    y = _succ(tour, pos, x)
                    if (pos[x] - i0) % m < seg_len or (pos[y] - i0) % m < seg_len:
                        continue
                    if _fixed(x, y, fa, fb):
                        continue
                    base = dist[x, y]
                    fwd = dist[x, f] + dist[last, y] - base
                    rvs = dist[x, last] + dist[f, y] - base
                    add = min(fwd, rvs)
                    if gain0 - add > best:
                        best, bf, bl, bx, brev = gain0 - add, f, seg_len, x, rvs < fwd
    if bf < 0:
        return 0.0
    pf = _pred(tour, pos, bf)
    last = tour[(pos[bf] + bl - 1) % m]
    nl = _succ(tour, pos, last)
    y = _succ(tour, pos, bx)
    _shift_segment(tour, pos, bf, bl, bx, brev, buf)
    touch[1], touch[2], touch[3], touch[4], touch[5], touch[6] = pf, nl, bx, y, bf, last
    touch[0] = 6
    return best


@_jit
def _push(queue, inq, head_tail, v):
    if not inq[v]:
        inq[v] = True
        cap = len(queue)
        queue[head_tail[1] % cap] = v
        head_tail[1] += 1


@_jit
def _local_search(dist, nbrs, tour, pos, queue, inq, head_tail, fa, fb, depth, breadth):
    """Apply improving moves until the queue of active nodes is empty; the total gain."""
    m = len(tour)
    moves = np.empty((max(depth, 1), 4), dtype=np.int64)
    touch = np.empty(4 * max(depth, 1) + 8, dtype=np.int64)
    buf = np.empty(3, dtype=np.int64)
    total = 0.0
    applied = 0
    while head_tail[0] < head_tail[1]:
        cap = len(queue)
        a = queue[head_tail[0] % cap]
        head_tail[0] += 1
        inq[a] = False
        if pos[a] < 0:
            continue
        gain = _lk_step(dist, nbrs, tour, pos, a, fa, fb, depth, breadth, moves, touch)
        if gain <= 0.0:
            gain = _or_step(dist, nbrs, tour, pos, a, fa, fb, buf, touch)
        if gain > 0.0:
            total += gain
            applied += 1
            if applied > QUEUE_LIMIT_FACTOR * m:
                break
            _push(queue, inq, head_tail, a)
            for q in range(touch[0]):
                _push(queue, inq, head_tail, touch[1 + q])
    return total


@_jit
def _tour_length(dist, tour):
    m = len(tour)
    s = 0.0
    for q in range(m):
        s += dist[tour[q], tour[(q + 1) % m]]
    return s


@_jit
def _improve(dist, nbrs, tour, pos, active, fa, fb, depth, breadth):
    """Local search from the ``active`` nodes; returns the gain."""
    n = dist.shape[0]
    queue = np.empty(n + 1, dtype=np.int64)
    inq = np.zeros(n, dtype=np.bool_)
    head_tail = np.zeros(2, dtype=np.int64)
    for v in active:
        _push(queue, inq, head_tail, v)
    return _local_search(dist, nbrs, tour, pos, queue, inq, head_tail, fa, fb, depth, breadth)


@_jit
def _ils(
    dist,
    nbrs,
    tour,
    pos,
    best,
    draws,
    best_len,
    stale,
    patience,
    fa,
    fb,
    depth,
    breadth,
    span,
    vary,
    wide,
):
    """``len(draws)`` kicks (fewer once ``stale`` reaches ``patience``) from the local optimum
    ``best`` (== ``tour``); returns ``(best_len, stale, kicks done, improved)``."""
    n = dist.shape[0]
    m = len(tour)
    queue = np.empty(n + 1, dtype=np.int64)
    inq = np.zeros(n, dtype=np.bool_)
    head_tail = np.zeros(2, dtype=np.int64)
    cur_len = best_len
    done = 0
    improved = False
    span = max(8, min(span, m - 1))
    cuts = np.empty(3, dtype=np.int64)
    for it in range(len(draws)):
        if stale >= patience:
            break
        done += 1
        stale += 1
        base = int(draws[it, 0] * m)
        # A window of 8..span positions (uniform when ``vary``), in it three distinct cut
        # offsets 1..window-1: the segments [c0, c1) and [c1, c2) swap.
        # With probability ``wide`` the window is the whole tour (a plain double bridge).
        u = draws[it, 4]
        if u < wide:
            window = m - 1
        elif vary:
            window = 8 + int((u - wide) / (1.0 - wide) * (span - 7))
        else:
            window = span
        for q in range(3):
            cuts[q] = 1 + int(draws[it, 1 + q] * (window - 1 - q))
        cuts.sort()
        if cuts[1] <= cuts[0]:
            cuts[1] = cuts[0] + 1
        if cuts[2] <= cuts[1]:
            cuts[2] = cuts[1] + 1
        if cuts[2] > window:
            continue
        p0, p1, p2 = (base + cuts[0]) % m, (base + cuts[1]) % m, (base + cuts[2]) % m
        a0, b0 = tour[(p0 - 1) % m], tour[p0]
        a1, b1 = tour[(p1 - 1) % m], tour[p1]
        a2, b2 = tour[(p2 - 1) % m], tour[p2]
        if _fixed(a0, b0, fa, fb) or _fixed(a1, b1, fa, fb) or _fixed(a2, b2, fa, fb):
            continue
        delta = (
            dist[a0, b1] + dist[a2, b0] + dist[a1, b2] - dist[a0, b0] - dist[a1, b1] - dist[a2, b2]
        )
        # Segment exchange A B C D -> A C B D as three reversals of the positions p0..p2-1.
        length_b = cuts[1] - cuts[0]
        length_c = cuts[2] - cuts[1]
        seg = np.empty(length_b + length_c, dtype=np.int64)
        for q in range(length_c):
            seg[q] = tour[(p1 + q) % m]
        for q in range(length_b):
            seg[length_c + q] = tour[(p0 + q) % m]
        for q in range(length_b + length_c):
            p = (p0 + q) % m
            tour[p] = seg[q]
            pos[seg[q]] = p
        cur_len += delta
        for v in (a0, b0, a1, b1, a2, b2):
            _push(queue, inq, head_tail, v)
        cur_len -= _local_search(
            dist, nbrs, tour, pos, queue, inq, head_tail, fa, fb, depth, breadth
        )
        if cur_len < best_len - EPS:
            cur_len = _tour_length(dist, tour)  # exact, so rounding cannot accumulate
        if cur_len < best_len - EPS:
            best_len = cur_len
            best[:] = tour
            stale = 0
            improved = True
        elif cur_len <= best_len + EPS:
            best[:] = tour
        else:
            tour[:] = best
            for q in range(m):
                pos[tour[q]] = q
            cur_len = best_len
    return best_len, stale, done, improved


# -- drivers (plain Python) ---------------------------------------------------------------------
def as_cycle(path: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The cycle of a path ``[s, ..., e]`` and its fixed edge ``(e, s)`` (``-1, -1`` if s == e)."""
    path = np.asarray(path, dtype=np.int64)
    if path[0] == path[-1]:
        return path[:-1].copy(), -1, -1
    return path.copy(), int(path[-1]), int(path[0])


def as_path(cycle: np.ndarray, s: int, e: int) -> np.ndarray:
    """The path ``[s, ..., e]`` read off a cycle (through its edge ``{e, s}`` when s != e)."""
    i = int(np.flatnonzero(cycle == s)[0])
    rolled = np.roll(cycle, -i)
    if s == e:
        return np.append(rolled, s)
    if rolled[-1] != e:
        rolled = np.concatenate([rolled[:1], rolled[1:][::-1]])
    return rolled


def _arrays(dist: np.ndarray, nbrs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """C-contiguous float64 / int64 copies only where needed (one compiled signature)."""
    return (
        np.ascontiguousarray(dist, dtype=np.float64),
        np.ascontiguousarray(nbrs, dtype=np.int64),
    )


def positions(n: int, cycle: np.ndarray) -> np.ndarray:
    pos = np.full(n, -1, dtype=np.int64)
    pos[cycle] = np.arange(len(cycle))
    return pos


def improve(
    dist: np.ndarray,
    path: np.ndarray,
    nbrs: np.ndarray,
    active: np.ndarray | None = None,
    depth: int = DEPTH,
    breadth: int = BREADTH,
) -> np.ndarray:
    """LK + or-opt local optimum of the path ``[s, ..., e]`` (ends fixed; symmetric ``dist``),
    starting from the ``active`` nodes (default all)."""
    path = np.asarray(path, dtype=np.int64)
    cycle, fa, fb = as_cycle(path)
    if len(cycle) < 5:
        return path
    pos = positions(dist.shape[0], cycle)
    act = cycle.copy() if active is None else np.asarray(active, dtype=np.int64)
    _improve(*_arrays(dist, nbrs), cycle, pos, act, fa, fb, int(depth), int(breadth))
    return as_path(cycle, int(path[0]), int(path[-1]))


def ils(
    dist: np.ndarray,
    path: np.ndarray,
    nbrs: np.ndarray,
    rng: np.random.Generator,
    stop: Callable[[], bool],
    iterations: int,
    patience: int | None = None,
    on_improve: Callable[[float], None] | None = None,
    depth: int = DEPTH,
    breadth: int = BREADTH,
    span: int = SPAN,
    vary: bool = True,
    wide: float = WIDE,
) -> tuple[np.ndarray, int]:
    """Iterated LK + or-opt with segment double-bridge kicks; ``(best path, kicks done)``.

    The kicks run in compiled chunks between which ``stop()`` is asked; a chunk grows while it
    takes under 5 ms, so the time limit is overrun by a few milliseconds at most. The random
    draws are consumed in order whatever the chunks, so a run is deterministic for a seed
    unless ``stop()`` cuts it.
    """
    path = np.asarray(path, dtype=np.int64)
    s, e = int(path[0]), int(path[-1])
    cycle, fa, fb = as_cycle(path)
    closing = float(dist[fa, fb]) if fa >= 0 else 0.0
    pos = positions(dist.shape[0], cycle)
    dist, nbrs = _arrays(dist, nbrs)
    depth, breadth, span, vary = int(depth), int(breadth), int(span), bool(vary)
    _improve(dist, nbrs, cycle, pos, cycle.copy(), fa, fb, depth, breadth)
    best = cycle.copy()
    best_len = float(_tour_length(dist, cycle))
    if on_improve is not None:
        on_improve(best_len - closing)
    patience = int(np.iinfo(np.int64).max if patience is None else patience)
    done, stale, chunk = 0, 0, 8
    while done < iterations and stale < patience and not stop():
        draws = rng.random((min(chunk, iterations - done), 5))
        began = time.perf_counter()
        best_len, stale, did, improved = _ils(
            dist,
            nbrs,
            cycle,
            pos,
            best,
            draws,
            best_len,
            stale,
            patience,
            fa,
            fb,
            depth,
            breadth,
            span,
            vary,
            float(wide),
        )
        done += int(did)
        if improved and on_improve is not None:
            on_improve(float(best_len) - closing)
        stale = int(stale)
        if time.perf_counter() - began < 0.005 and chunk < 1 << 16:
            chunk *= 2
    return as_path(best, s, e), done


def warm_up() -> None:
    """Load (or compile) every compiled function of :func:`ils` now, on a 12-node tour.

    A caller that forks workers with time limits calls this first: the compiled code is loaded
    on first use, and :func:`ils` reaches its kick loop only when the first local search ends
    before its ``stop()`` -- a warm-up under a short time limit can skip it, and the first
    worker then compiles it inside its own limit (a 493-city run took 9.5 s at a 5 s limit,
    load 20).
    """
    n = 12
    angle = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    xy = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    dist = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    path = np.concatenate([[0], np.random.default_rng(0).permutation(np.arange(1, n)), [0]])
    nbrs = np.argsort(dist, axis=1)[:, 1:6]
    ils(dist, path, nbrs, np.random.default_rng(0), lambda: False, iterations=20)
