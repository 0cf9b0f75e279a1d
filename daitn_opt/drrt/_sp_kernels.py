"""numba kernels of :mod:`daitn_opt.drrt.shortest_paths` (imported only when they run).

Kept apart so that importing the view does not import numba (~1 s); module-level functions so
that ``cache=True`` keeps their machine code on disk between processes. Each kernel's contract
is in the docstring of the function of :mod:`.shortest_paths` that calls it.
"""

import numba
import numpy as np


def _njit(**options):
    return numba.njit(cache=True, **options)


_prange = numba.prange


@_njit(nogil=True)
def _heap_search(
    indptr, indices, weights, source, column, limit, dist, keys, heap, where, seen, row
):
    """One Dijkstra from ``source`` into ``row`` (view columns); returns nodes it touched.

    A binary heap of (``keys[i]``, ``heap[i]``) pairs, keys held in the heap itself so sifting
    reads contiguous memory; ``where[v]`` is v's heap position, -1 never reached, -2 settled.
    Touched nodes are listed in ``seen`` so the caller resets only them (a search that stops
    early touched few). The search ends when every view node is settled.
    """
    for j in range(len(row)):
        row[j] = np.inf
    dist[source] = 0.0
    keys[0] = 0.0
    heap[0] = source
    where[source] = 0
    seen[0] = source
    size = 1
    touched = 1
    left = len(row)  # view nodes not yet settled
    while size:
        u = heap[0]
        du = keys[0]
        where[u] = -2
        size -= 1
        if size:  # sift the last pair down from the root
            x, dx = heap[size], keys[size]
            i = 0
            c = 1
            while c < size:
                if c + 1 < size and keys[c + 1] < keys[c]:
                    c += 1
                if keys[c] < dx:
                    keys[i] = keys[c]
                    heap[i] = heap[c]
                    where[heap[i]] = i
                    i = c
                    c = 2 * i + 1
                else:
                    break
            keys[i] = dx
            heap[i] = x
            where[x] = i
        col = column[u]
        if col >= 0:
            row[col] = du
            left -= 1
            if left == 0:
                break
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            pv = where[v]
            if pv == -2:
                continue
            nd = du + weights[e]
            if nd > limit:
                continue
            if pv == -1:
                i = size
                size += 1
                seen[touched] = v
                touched += 1
            elif nd < dist[v]:
                i = pv
            else:
                continue
            dist[v] = nd
            while i > 0:  # sift v up from position i
                p = (i - 1) >> 1
                if keys[p] > nd:
                    keys[i] = keys[p]
                    heap[i] = heap[p]
                    where[heap[i]] = i
                    i = p
                else:
                    break
            keys[i] = nd
            heap[i] = v
            where[v] = i
    return touched


@_njit(parallel=True)
def _heap_searches(indptr, indices, weights, sources, column, limits, chunks, out):
    n = len(indptr) - 1
    k = len(sources)
    for c in _prange(chunks):
        dist = np.full(n, np.inf)
        keys = np.empty(n)
        heap = np.empty(n, dtype=np.int32)
        where = np.full(n, -1, dtype=np.int32)
        seen = np.empty(n, dtype=np.int32)
        for a in range(c * k // chunks, (c + 1) * k // chunks):
            s, w = sources[a], weights
            touched = _heap_search(
                indptr, indices, w, s, column, limits[a], dist, keys, heap, where, seen, out[a]
            )
            for t in range(touched):
                where[seen[t]] = -1
                dist[seen[t]] = np.inf
    return 0


@_njit(nogil=True)
def _bucket_search(
    indptr, indices, weights, source, column, limit, width, dist, slot, mark, lists, row
):
    """One search from ``source`` into ``row`` (view columns); returns nodes it touched.

    A bucket queue (Dial's, label-correcting within a bucket): node v waits in bucket
    ``floor(dist[v] / width)``, the buckets cycling over ``len(head)`` slots, each a doubly
    linked list. Scanning a node adds at least 0 to a distance, so nothing can lower a node
    below the bucket being scanned: once that bucket is empty its nodes are final (a node
    improved while its bucket is open goes back into it and is scanned again). Every value is
    a left-to-right path sum that no arc can improve, Dijkstra's fixed point, bit for bit.

    ``slot[v]``: the slot v waits in, -1 none; ``mark[v]``: 1 scanned in the open bucket, 2
    final. ``lists`` rows: next, previous, touched nodes (for the caller's reset), nodes
    scanned in the open bucket; then the slot heads.
    """
    nxt, prv, seen, scan = lists[0], lists[1], lists[2], lists[3]
    head = lists[4]
    count = len(head)
    for j in range(len(row)):
        row[j] = np.inf
    dist[source] = 0.0
    seen[0] = source
    touched = 1
    head[0] = source
    nxt[source] = -1
    prv[source] = -1
    slot[source] = 0
    waiting = 1
    left = len(row)  # view nodes not yet final
    current = 0
    while waiting:
        here = current % count
        opened = 0
        while head[here] != -1:
            u = head[here]
            head[here] = nxt[u]
            if nxt[u] != -1:
                prv[nxt[u]] = -1
            slot[u] = -1
            waiting -= 1
            if mark[u] == 0:
                mark[u] = 1
                scan[opened] = u
                opened += 1
            du = dist[u]
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                nd = du + weights[e]
                if nd >= dist[v] or nd > limit:
                    continue
                if dist[v] == np.inf:
                    seen[touched] = v
                    touched += 1
                sv = slot[v]
                if sv >= 0:  # unlink v from the bucket it waits in
                    if prv[v] != -1:
                        nxt[prv[v]] = nxt[v]
                    else:
                        head[sv] = nxt[v]
                    if nxt[v] != -1:
                        prv[nxt[v]] = prv[v]
                    waiting -= 1
                dist[v] = nd
                b = np.int64(nd / width) % count
                nxt[v] = head[b]
                prv[v] = -1
                if head[b] != -1:
                    prv[head[b]] = v
                head[b] = v
                slot[v] = b
                waiting += 1
        for t in range(opened):  # the bucket is closed: its nodes are final
            u = scan[t]
            mark[u] = 2
            col = column[u]
            if col >= 0:
                row[col] = dist[u]
                left -= 1
        if left == 0:
            break
        current += 1
    return touched


@_njit(parallel=True)
def _bucket_searches(indptr, indices, weights, sources, column, limits, chunks, width, count, out):
    n = len(indptr) - 1
    k = len(sources)
    for c in _prange(chunks):
        dist = np.full(n, np.inf)
        slot = np.full(n, -1, dtype=np.int32)
        mark = np.zeros(n, dtype=np.int8)
        lists = np.empty((5, max(n, count)), dtype=np.int32)
        lists[4, :count] = -1
        head = lists[4, :count]
        for a in range(c * k // chunks, (c + 1) * k // chunks):
            touched = _bucket_search(
                indptr, indices, weights, sources[a], column, limits[a], width, dist, slot,
                mark, (lists[0], lists[1], lists[2], lists[3], head), out[a],
            )  # fmt: skip
            for t in range(touched):
                v = lists[2, t]
                dist[v] = np.inf
                slot[v] = -1
                mark[v] = 0
            for b in range(count):  # a search that stopped early leaves nodes waiting
                head[b] = -1
    return 0


@_njit(parallel=True)
def _detours(indptr, indices, weights, best):
    n = len(indptr) - 1
    for u in _prange(n):
        lo, hi = indptr[u], indptr[u + 1]
        for a in range(lo, hi):
            x = indices[a]
            wa = weights[a]
            for b in range(indptr[x], indptr[x + 1]):
                v = indices[b]
                if v == u:
                    continue
                at = lo + np.searchsorted(indices[lo:hi], v)
                if at < hi and indices[at] == v:
                    via = wa + weights[b]
                    if via < best[at]:
                        best[at] = via
    return 0


LANES = 16
"""Sources searched together by :func:`_lane_search` (one float64 lane each per node; its
relaxation spells the 16 lanes out). Measured on rgg-2000 and 10,000 nodes: 8 lanes scan each
node 1.4 times per search, 16 lanes 1.9 times, 32 lanes 2.5 times; 16 took the least time."""


@_njit(nogil=True)
def _lane_search(
    indptr, indices, weights, seeds, nodes, column, inv, dist, queued, fin, pool, head
):
    """The searches from up to :data:`LANES` sources at once; returns the pool entries used.

    ``dist[v * LANES + j]`` is node v's distance from ``seeds[j]``. One bucket queue serves all
    lanes: a node waits in bucket ``floor(queued[v] * inv)``, ``queued[v]`` the smallest value
    that improved in any lane since v was last scanned (inf: not waiting); scanning v relaxes
    every lane of every arc (``dist[x, j] = min(dist[x, j], dist[v, j] + w)``, one vectorisable
    loop), so a node reached in several lanes near the same time is scanned once for all of
    them. A lane that did not change since v's last scan improves nothing, so every value
    created while bucket b is open lies in bucket b or later: once b is done, values below it
    are final. Label-correcting: at the end no arc can lower any lane, every value is a
    left-to-right path sum, hence the same fixed point as one Dijkstra per source, bit for bit.

    The buckets cycle over ``len(head)`` slots (a power of two), singly linked lists of pool
    entries (``pool[0]`` node, ``pool[1]`` next); an entry for a later lap goes back into its
    slot, one whose node was scanned since is dropped. ``fin[v]``: v's finite lanes when last
    scanned (view nodes): once every (view node, lane) is finite the search runs only until
    the bucket of the largest of them is done. Returns -1 when the pool is full (the caller
    grows it and searches again).
    """
    lanes = len(seeds)
    mask = len(head) - 1
    node, nxt = pool[0], pool[1]
    cap = len(node)
    used = 0
    for j in range(lanes):
        s = seeds[j]
        dist[s * LANES + j] = 0.0
        if queued[s] != 0.0:
            if used == cap:
                return -1
            queued[s] = 0.0
            node[used] = s
            nxt[used] = head[0]
            head[0] = used
            used += 1
    waiting = used
    left = len(nodes) * lanes  # (view node, lane) pairs not yet finite
    stop = -1  # once known: the bucket after which every view value is final
    current = 0
    while waiting:
        here = current & mask
        later = -1
        while head[here] != -1:
            p = head[here]
            head[here] = nxt[p]
            u = node[p]
            key = queued[u]
            if key == np.inf:  # u was scanned since this entry was made
                waiting -= 1
                continue
            if np.int64(key * inv) > current:  # a later lap: back into the slot
                nxt[p] = later
                later = p
                continue
            waiting -= 1
            queued[u] = np.inf
            bu = u * LANES
            if column[u] >= 0:
                finite = 0
                for j in range(lanes):
                    finite += dist[bu + j] < np.inf
                left -= finite - fin[u]
                fin[u] = finite
            # The 16 lanes spelled out: u's in registers, and 10 % less time than a loop over
            # dist[bu + j] (which every store to dist[bx + j] might overwrite) at 2,000 nodes.
            d0 = dist[bu + 0]
            d1 = dist[bu + 1]
            d2 = dist[bu + 2]
            d3 = dist[bu + 3]
            d4 = dist[bu + 4]
            d5 = dist[bu + 5]
            d6 = dist[bu + 6]
            d7 = dist[bu + 7]
            d8 = dist[bu + 8]
            d9 = dist[bu + 9]
            d10 = dist[bu + 10]
            d11 = dist[bu + 11]
            d12 = dist[bu + 12]
            d13 = dist[bu + 13]
            d14 = dist[bu + 14]
            d15 = dist[bu + 15]
            for e in range(indptr[u], indptr[u + 1]):
                x = indices[e]
                w = weights[e]
                bx = x * LANES
                y0 = d0 + w
                m0 = y0 if y0 < dist[bx + 0] else np.inf
                dist[bx + 0] = min(y0, dist[bx + 0])
                y1 = d1 + w
                m1 = y1 if y1 < dist[bx + 1] else np.inf
                dist[bx + 1] = min(y1, dist[bx + 1])
                y2 = d2 + w
                m2 = y2 if y2 < dist[bx + 2] else np.inf
                dist[bx + 2] = min(y2, dist[bx + 2])
                y3 = d3 + w
                m3 = y3 if y3 < dist[bx + 3] else np.inf
                dist[bx + 3] = min(y3, dist[bx + 3])
                y4 = d4 + w
                m4 = y4 if y4 < dist[bx + 4] else np.inf
                dist[bx + 4] = min(y4, dist[bx + 4])
                y5 = d5 + w
                m5 = y5 if y5 < dist[bx + 5] else np.inf
                dist[bx + 5] = min(y5, dist[bx + 5])
                y6 = d6 + w
                m6 = y6 if y6 < dist[bx + 6] else np.inf
                dist[bx + 6] = min(y6, dist[bx + 6])
                y7 = d7 + w
                m7 = y7 if y7 < dist[bx + 7] else np.inf
                dist[bx + 7] = min(y7, dist[bx + 7])
                y8 = d8 + w
                m8 = y8 if y8 < dist[bx + 8] else np.inf
                dist[bx + 8] = min(y8, dist[bx + 8])
                y9 = d9 + w
                m9 = y9 if y9 < dist[bx + 9] else np.inf
                dist[bx + 9] = min(y9, dist[bx + 9])
                y10 = d10 + w
                m10 = y10 if y10 < dist[bx + 10] else np.inf
                dist[bx + 10] = min(y10, dist[bx + 10])
                y11 = d11 + w
                m11 = y11 if y11 < dist[bx + 11] else np.inf
                dist[bx + 11] = min(y11, dist[bx + 11])
                y12 = d12 + w
                m12 = y12 if y12 < dist[bx + 12] else np.inf
                dist[bx + 12] = min(y12, dist[bx + 12])
                y13 = d13 + w
                m13 = y13 if y13 < dist[bx + 13] else np.inf
                dist[bx + 13] = min(y13, dist[bx + 13])
                y14 = d14 + w
                m14 = y14 if y14 < dist[bx + 14] else np.inf
                dist[bx + 14] = min(y14, dist[bx + 14])
                y15 = d15 + w
                m15 = y15 if y15 < dist[bx + 15] else np.inf
                dist[bx + 15] = min(y15, dist[bx + 15])
                low = min(
                    min(min(min(m0, m1), min(m2, m3)), min(min(m4, m5), min(m6, m7))),
                    min(min(min(m8, m9), min(m10, m11)), min(min(m12, m13), min(m14, m15))),
                )  # smallest improved lane
                if low < queued[x]:
                    if used == cap:
                        return -1
                    queued[x] = low
                    b = np.int64(low * inv) & mask
                    node[used] = x
                    nxt[used] = head[b]
                    head[b] = used
                    used += 1
                    waiting += 1
        head[here] = later
        if left == 0 and stop < 0:
            top = 0.0
            for t in range(len(nodes)):
                bt = nodes[t] * LANES
                for j in range(lanes):
                    top = max(top, dist[bt + j])
            stop = np.int64(top * inv)
        if 0 <= stop <= current:
            break
        current += 1
    return used


@_njit(parallel=True)
def _lane_searches(
    indptr, indices, weights, nodes, column, order, starts, chunks, inv, slots, cap, out
):
    n = len(indptr) - 1
    groups = len(starts) - 1
    for c in _prange(chunks):
        dist = np.full(n * LANES, np.inf)
        queued = np.full(n, np.inf)
        fin = np.zeros(n, dtype=np.int8)
        head = np.full(slots, -1, dtype=np.int32)
        size = cap
        pool = np.empty((2, size), dtype=np.int32)
        for g in range(c * groups // chunks, (c + 1) * groups // chunks):
            rows = order[starts[g] : starts[g + 1]]
            seeds = nodes[rows]
            while True:
                used = _lane_search(
                    indptr, indices, weights, seeds, nodes, column, inv, dist, queued, fin,
                    pool, head,
                )  # fmt: skip
                if used >= 0:
                    for j in range(len(rows)):
                        row = out[rows[j]]
                        for t in range(len(nodes)):
                            row[t] = dist[nodes[t] * LANES + j]
                for p in range(used if used >= 0 else size):
                    x = pool[0, p]
                    for j in range(LANES):
                        dist[x * LANES + j] = np.inf
                    queued[x] = np.inf
                    fin[x] = 0
                for b in range(slots):
                    head[b] = -1
                if used >= 0:
                    break
                size *= 2
                pool = np.empty((2, size), dtype=np.int32)
    return 0


@_njit(nogil=True)
def _lane_groups(indptr, indices, nodes, column, by_node, lanes, order, starts):
    """Split the view nodes into groups of up to ``lanes`` that lie close in the graph.

    From each view node not yet grouped (in ``by_node`` order), a breadth-first search takes
    the first ``lanes`` ungrouped view nodes it meets. ``order`` receives positions in
    ``nodes``, group g being ``order[starts[g]:starts[g + 1]]``; returns the group count.
    """
    n = len(indptr) - 1
    done = np.zeros(len(nodes), dtype=np.bool_)
    seen = np.zeros(n, dtype=np.bool_)
    queue = np.empty(n, dtype=np.int32)
    filled = 0
    groups = 0
    for a in by_node:
        if done[a]:
            continue
        starts[groups] = filled
        groups += 1
        queue[0] = nodes[a]
        seen[nodes[a]] = True
        h, t, taken = 0, 1, 0
        while h < t and taken < lanes:
            u = queue[h]
            h += 1
            p = column[u]
            if p >= 0 and not done[p]:
                done[p] = True
                order[filled] = p
                filled += 1
                taken += 1
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                if not seen[v]:
                    seen[v] = True
                    queue[t] = v
                    t += 1
        for i in range(t):
            seen[queue[i]] = False
    starts[groups] = filled
    return groups
