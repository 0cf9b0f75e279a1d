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
