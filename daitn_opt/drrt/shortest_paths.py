"""Many-source shortest paths between a group of nodes, compiled and parallel over sources.

A view needs the (k, k) times between its own nodes: one shortest-path search per view node.
scipy's csgraph Dijkstra (a Fibonacci heap, one source after another) spends ~0.28 ms per source
on the 2,000-node random geometric graph. Here the searches are compiled with numba, split over
the machine's threads (``numba.prange``), write only the k view columns of their row (no
(block, n) array) and stop as soon as every view node is final (a capped view is a close group
in a large graph: its searches stay local). Two queues:

- a bucket queue (Dial's), buckets as wide as the lightest arc, when the arc weights span few
  buckets (link times of a network do): no heap at all, about half the CPU of the heap;
- a binary heap with decrease-key otherwise (a zero-time link, weights over many decades).

Measured candidates (same run, rgg-2000 view, CPU): buckets 0.23 s, heap 0.45 s, scipy 0.52 s,
igraph 0.85 s, networkit 1.1 s (``papers/kas/views.md``).

Values are bit for bit those of scipy: a node's value is the smallest left-to-right
floating-point sum over the paths to it whatever the queue and the order of the sources (see
:mod:`daitn_opt.drrt.transfer`; any label-correcting method ends at that fixed point), and every
search adds ``dist[u] + w`` exactly as scipy does. Predecessors (and hence money along paths)
are not computed here: ties between equal paths would be broken otherwise than by scipy's heap,
so money graphs keep scipy's trees.

numba is optional: :func:`available` says whether it imports; callers fall back to scipy.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from ..errors import InputError

try:  # optional: the view falls back to scipy without it
    import numba
except ImportError:  # pragma: no cover - exercised where numba is absent
    numba = None

_LAUNCH = threading.Lock()
"""numba's default (workqueue) threading layer runs one parallel kernel at a time per process:
views built from several Python threads (a Dask worker's) take turns here instead of aborting."""


def available() -> bool:
    """Whether the compiled path can run (numba imports and ``DAITN_NO_NUMBA`` is unset)."""
    return numba is not None and not os.environ.get("DAITN_NO_NUMBA")


def threads() -> int:
    """Threads the compiled searches run on (numba's count: ``NUMBA_NUM_THREADS``, else cores)."""
    return int(numba.get_num_threads()) if numba is not None else 1


def group_distances(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    nodes: np.ndarray,
    limits: np.ndarray | None = None,
    method: str = "auto",
) -> np.ndarray:
    """(k, k) shortest-path sums between ``nodes`` over the CSR graph (inf: unreachable).

    ``out[a, b]`` is the time from ``nodes[a]`` to ``nodes[b]``. ``limits[a]``, when given, stops
    the search from ``nodes[a]`` at that distance (nodes beyond it read inf), as scipy's
    ``limit``. ``method``: ``"buckets"``, ``"heap"`` or ``"auto"`` (buckets when the weights
    allow few enough of them, see :func:`bucket_width`). Requires numba (:func:`available`).
    """
    n = len(indptr) - 1
    nodes = np.ascontiguousarray(nodes, dtype=np.int32)
    k = len(nodes)
    column = np.full(n, -1, dtype=np.int32)
    column[nodes] = np.arange(k, dtype=np.int32)
    limits = np.full(k, np.inf) if limits is None else np.ascontiguousarray(limits, np.float64)
    graph = (
        np.ascontiguousarray(indptr, dtype=np.int64),
        np.ascontiguousarray(indices, dtype=np.int32),
        np.ascontiguousarray(weights, dtype=np.float64),
    )
    out = np.empty((k, k))
    # A few chunks per thread: searches differ in length, chunks even the threads out.
    chunks = min(k, max(1, threads() * 8))
    width = None
    if method == "buckets":
        width = _narrowest(graph[2]) if len(graph[2]) else 1.0  # no arc: any width
        if width is None or _bucket_count(graph[2], width) > MAX_BUCKETS:
            raise InputError("method", method, "the weights need too many buckets: use the heap")
    elif method == "auto" and k:
        width = bucket_width(*graph, nodes)
    elif method not in ("heap", "auto"):
        raise InputError("method", method, "expected 'auto', 'buckets' or 'heap'")
    with _LAUNCH:
        if width is None:
            _heap_searches(*graph, nodes, column, limits, chunks, out)
        else:
            count = _bucket_count(graph[2], width)
            _bucket_searches(*graph, nodes, column, limits, chunks, width, count, out)
    return out


MAX_BUCKETS = 1 << 16
"""Most buckets (slots per thread) a search cycles through; more, and the heap serves instead."""


def bucket_width(
    indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray, nodes: np.ndarray
) -> float | None:
    """Width of the buckets of :func:`_bucket_search` for this graph, None: use the heap.

    The lightest arc's weight: scanning a node then moves every neighbour to a later bucket,
    so each node is scanned once (but for rounding at a bucket's edge, which a rescan fixes).
    Worth it when the buckets are few (the heaviest arc spans at most :data:`MAX_BUCKETS`) and
    a search steps over few empty ones (the reach of one search from ``nodes[0]`` spans at most
    ``max(MAX_BUCKETS, 8 n)``); a zero-time link (floored to 1e-12 s) makes them too many.
    """
    width = _narrowest(weights)
    if width is None or _bucket_count(weights, width) > MAX_BUCKETS:
        return None
    reach = _reach(indptr, indices, weights, int(nodes[0]))
    if reach / width > max(MAX_BUCKETS, 8 * (len(indptr) - 1)):
        return None
    return width


def _narrowest(weights: np.ndarray) -> float | None:
    positive = weights[weights > 0]
    return float(positive.min()) if len(positive) else None


def _bucket_count(weights: np.ndarray, width: float) -> int:
    """Slots enough that a node never waits more than one lap ahead of the open bucket."""
    return int(float(weights.max(initial=0.0)) / width) + 3


def _reach(indptr, indices, weights, source: int) -> float:
    """The largest finite distance from ``source`` (one heap search over all nodes)."""
    n = len(indptr) - 1
    out = np.empty((1, n))
    column = np.arange(n, dtype=np.int32)
    _heap_searches(
        indptr, indices, weights, np.array([source], np.int32), column, np.full(1, np.inf), 1, out
    )
    finite = out[np.isfinite(out)]
    return float(finite.max()) if len(finite) else 0.0


def _njit(**options):
    """numba.njit(cache=True, ...), or the plain function where numba is missing."""
    if numba is None:
        return lambda f: f
    return numba.njit(cache=True, **options)


_prange = numba.prange if numba is not None else range


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


def two_hop_detours(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per arc u->v of the CSR graph (sorted indices), its shortest detour u->x->v (inf: none).

    What :func:`daitn_opt.drrt.transfer._drop_dominated` compares each arc with; the same sums
    ``w(u, x) + w(x, v)``, compiled and parallel over rows. Requires numba.
    """
    best = np.full(len(indices), np.inf)
    with _LAUNCH:
        _detours(
            np.ascontiguousarray(indptr, dtype=np.int64),
            np.ascontiguousarray(indices, dtype=np.int64),
            np.ascontiguousarray(weights, dtype=np.float64),
            best,
        )
    return best


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
