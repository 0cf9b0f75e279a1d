"""numba kernels of :mod:`daitn_opt.mtrce.optw_dp` (imported only when the solver runs).

Kept apart so that importing the solver does not import numba. Three kernels:

- :func:`min_transit`: Floyd-Warshall on the transit ``d[i] + t[i, j]`` (a lower bound on the
  time from the start of service at ``i`` to the start of service at ``j`` over any path);
- :func:`completion_bound`: the backward dynamic programme on a time grid that bounds the score
  a route can still collect after serving a node at a given time (non-elementary, two-cycles
  excluded), the pruning bound of the label search;
- :func:`label_chunk`: a resumable piece of the forward label-setting search of one decremental
  state-space relaxation (DSSR) iteration.

Every time comparison of a feasibility test allows ``EPS`` (the checker's tolerance).
"""

from __future__ import annotations

import numba
import numpy as np

EPS = 1e-6

NEG = -np.inf


def _njit(**options):
    return numba.njit(cache=True, **options)


@_njit()
def min_transit(t, d):
    """``sp[i, j]``: the least ``sum(d[v] + t[v, w])`` over paths ``i -> ... -> j``."""
    n = t.shape[0]
    sp = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            sp[i, j] = 0.0 if i == j else d[i] + t[i, j]
    for k in range(n):
        for i in range(n):
            sik = sp[i, k]
            if sik == np.inf:
                continue
            for j in range(n):
                v = sik + sp[k, j]
                if v < sp[i, j]:
                    sp[i, j] = v
    return sp


@_njit()
def completion_bound(cust, t, d, a, u, last, fin, h, k_count, cap):
    """``(r1, s1, r2)`` on the grid ``tau = k h``: ``r1[j, k]`` bounds the score of the
    customers a route collects after starting service at ``j`` at any time in ``[k h, (k+1) h)``
    (``-inf``: it cannot reach the end); ``s1`` is the successor of that best continuation
    (``-1``: straight to the end), ``r2`` the best continuation through another successor.

    The recursion is the non-elementary one with immediate returns ``j -> k -> j`` excluded:
    ``r(j, tau) = max(0 if tau <= fin[j], max_k u[k] + r(k, max(tau + d[j] + t[j, k], a[k])))``
    over ``k`` with ``max(...) <= last[k]``, times rounded down to the grid (``r`` falls with
    time, so the grid value bounds every time of its cell). A successor whose cell is not later
    than ``k`` (transit below ``h``) counts with ``cap`` (the sum of the positive scores)."""
    n = t.shape[0]
    r1 = np.full((n, k_count), NEG)
    r2 = np.full((n, k_count), NEG)
    s1 = np.full((n, k_count), -1, dtype=np.int32)
    m = cust.shape[0]
    for k in range(k_count - 1, -1, -1):
        tau = k * h
        for jj in range(m):
            j = cust[jj]
            if tau > last[j] + EPS:
                continue
            b1 = 0.0 if tau <= fin[j] + EPS else NEG
            c1 = -1
            b2 = NEG
            leave = tau + d[j]
            for qq in range(m):
                q = cust[qq]
                if q == j:
                    continue
                tq = leave + t[j, q]
                if tq < a[q]:
                    tq = a[q]
                if tq > last[q] + EPS:
                    continue
                idx = int(tq / h)
                if idx <= k:
                    val = cap
                else:
                    if idx >= k_count:
                        idx = k_count - 1
                    rest = r1[q, idx] if s1[q, idx] != j else r2[q, idx]
                    if rest == NEG:
                        continue
                    val = u[q] + rest
                if val > b1:
                    b2 = b1
                    b1 = val
                    c1 = q
                elif val > b2:
                    b2 = val
            r1[j, k] = min(b1, cap)
            r2[j, k] = min(b2, cap)
            s1[j, k] = c1
    return r1, s1, r2


@_njit()
def _bound(r1, h, k_count, j, tj):
    idx = int(tj / h)
    if idx >= k_count:
        idx = k_count - 1
    return r1[j, idx]


@_njit()
def _heap_push(heap, size, key, lab):
    pos = size
    heap[pos] = lab
    while pos > 0:
        parent = (pos - 1) >> 1
        if key[heap[parent]] <= key[lab]:
            break
        heap[pos] = heap[parent]
        pos = parent
    heap[pos] = lab


@_njit()
def _heap_pop(heap, size, key):
    top = heap[0]
    size -= 1
    last = heap[size]
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        if child + 1 < size and key[heap[child + 1]] < key[heap[child]]:
            child += 1
        if key[heap[child]] >= key[last]:
            break
        heap[pos] = heap[child]
        pos = child
    if size > 0:
        heap[pos] = last
    return top


@_njit()
def label_chunk(
    cust,
    t,
    d,
    a,
    u,
    last,
    fin,
    sp,
    theta_list,
    theta_mask,
    r1,
    h,
    k_count,
    lt,
    ls,
    lnode,
    lpar,
    lnext,
    lelem,
    ldead,
    lvis,
    laug,
    heap,
    head,
    ctl,
    fctl,
    max_work,
):
    """Run the label search for about ``max_work`` steps (successors tried and dominance
    comparisons); return 0 when the search is over, 1 when the work budget is spent, 2 when the
    label arrays need more room.

    ``ctl``: ``[labels, heap size, best relaxed label, best elementary label, pops, dominated]``;
    ``fctl``: ``[best relaxed score, best elementary score, need, step]``: a label is kept only when
    its score plus its completion bound reaches ``need`` (the score a route must reach to beat
    the incumbent); ``need`` becomes the score plus ``step`` when an elementary route beats the
    incumbent.

    Labels: node, service start ``lt``, collected score ``ls``, parent, the nodes visited
    (``lvis``, one bit each), elementary so far (``lelem``), and ``laug``: the critical nodes
    (``theta_mask``) visited or out of reach in time. A label dominates another at its node when
    it starts no later, has no less score and its ``laug`` is a subset of the other's."""
    words = lvis.shape[1]
    cap = lt.shape[0]
    m = cust.shape[0]
    nth = theta_list.shape[0]
    aug = np.zeros(words, dtype=np.uint64)
    work = 0
    while ctl[1] > 0:
        if work >= max_work:
            return 1
        if ctl[0] + m + 1 > cap:
            return 2
        lab = _heap_pop(heap, ctl[1], lt)
        ctl[1] -= 1
        if ldead[lab]:
            continue
        work += m
        ctl[4] += 1
        i = lnode[lab]
        ti = lt[lab]
        si = ls[lab]
        if lpar[lab] >= 0 and si + _bound(r1, h, k_count, i, ti) < fctl[2]:
            continue
        # the route may end here
        if ti <= fin[i] + EPS:
            if si > fctl[0]:
                fctl[0] = si
                ctl[2] = lab
            if lelem[lab] and si > fctl[1]:
                fctl[1] = si
                ctl[3] = lab
                need = si + fctl[3]
                if need > fctl[2]:
                    fctl[2] = need
        leave = ti + d[i]
        for qq in range(m):
            j = cust[qq]
            if j == i:
                continue
            w = j >> 6
            bit = np.uint64(1) << np.uint64(j & 63)
            seen = (lvis[lab, w] & bit) != 0
            if seen and (theta_mask[w] & bit) != 0:
                continue
            tj = leave + t[i, j]
            if tj < a[j]:
                tj = a[j]
            if tj > last[j] + EPS:
                continue
            sj = si + u[j]
            if sj + _bound(r1, h, k_count, j, tj) < fctl[2]:
                continue
            for x in range(words):
                aug[x] = lvis[lab, x] & theta_mask[x]
            aug[w] |= bit & theta_mask[w]
            for y in range(nth):
                th = theta_list[y]
                if tj + sp[j, th] > last[th] + EPS:
                    aug[th >> 6] |= np.uint64(1) << np.uint64(th & 63)
            # dominance against the labels kept at j
            dominated = False
            prev = -1
            other = head[j]
            while other >= 0:
                work += 1
                nxt = lnext[other]
                if ldead[other]:
                    if prev < 0:
                        head[j] = nxt
                    else:
                        lnext[prev] = nxt
                    other = nxt
                    continue
                if lt[other] <= tj and ls[other] >= sj:
                    sub = True
                    for x in range(words):
                        if laug[other, x] & ~aug[x]:
                            sub = False
                            break
                    if sub:
                        dominated = True
                        break
                if tj <= lt[other] and sj >= ls[other]:
                    sub = True
                    for x in range(words):
                        if aug[x] & ~laug[other, x]:
                            sub = False
                            break
                    if sub:
                        ldead[other] = 1
                        ctl[5] += 1
                        if prev < 0:
                            head[j] = nxt
                        else:
                            lnext[prev] = nxt
                        other = nxt
                        continue
                prev = other
                other = nxt
            if dominated:
                ctl[5] += 1
                continue
            new = ctl[0]
            ctl[0] += 1
            lt[new] = tj
            ls[new] = sj
            lnode[new] = j
            lpar[new] = lab
            lelem[new] = 1 if (lelem[lab] and not seen) else 0
            ldead[new] = 0
            for x in range(words):
                lvis[new, x] = lvis[lab, x]
                laug[new, x] = aug[x]
            lvis[new, w] |= bit
            lnext[new] = head[j]
            head[j] = new
            _heap_push(heap, ctl[1], lt, new)
            ctl[1] += 1
    return 0
