"""Many-source shortest paths between a group of nodes, compiled and parallel over sources.

A view needs the (k, k) times between its own nodes: one Dijkstra per view node. scipy's csgraph
Dijkstra (a Fibonacci heap, one source after another) spends ~0.28 ms per source on a 2,000-node
random geometric graph. This module is the same computation compiled with numba: a binary heap
with decrease-key, sources split over the machine's threads (``numba.prange``), each search
writing only the k view columns of its row (no (block, n) array) and stopping as soon as every
view node is settled (a capped view is a close group in a large graph: its searches stay local).

Values are bit for bit those of scipy: a node's Dijkstra value is the smallest left-to-right
floating-point sum over the paths to it whatever the heap and the order of the sources (see
:mod:`daitn_opt.drrt.transfer`), and this search adds ``dist[u] + w`` exactly as scipy does.
Predecessors (and hence money along paths) are not computed here: ties between equal paths are
broken by the heap, so money graphs keep scipy's trees.

numba is optional: :func:`available` says whether it imports; callers fall back to scipy.
"""

from __future__ import annotations

import os
import threading

import numpy as np

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
) -> np.ndarray:
    """(k, k) shortest-path sums between ``nodes`` over the CSR graph (inf: unreachable).

    ``out[a, b]`` is the time from ``nodes[a]`` to ``nodes[b]``. ``limits[a]``, when given, stops
    the search from ``nodes[a]`` at that distance (nodes beyond it read inf), as scipy's
    ``limit``. Requires numba (:func:`available`).
    """
    n = len(indptr) - 1
    nodes = np.ascontiguousarray(nodes, dtype=np.int32)
    k = len(nodes)
    column = np.full(n, -1, dtype=np.int32)
    column[nodes] = np.arange(k, dtype=np.int32)
    if limits is None:
        limits = np.full(k, np.inf)
    out = np.empty((k, k))
    # A few chunks per thread: searches differ in length, chunks even the threads out.
    chunks = min(k, max(1, threads() * 8))
    with _LAUNCH:
        _searches(
            np.ascontiguousarray(indptr, dtype=np.int64),
            np.ascontiguousarray(indices, dtype=np.int32),
            np.ascontiguousarray(weights, dtype=np.float64),
            nodes,
            column,
            np.ascontiguousarray(limits, dtype=np.float64),
            chunks,
            out,
        )
    return out


def _njit(**options):
    """numba.njit(cache=True, ...), or the plain function where numba is missing."""
    if numba is None:
        return lambda f: f
    return numba.njit(cache=True, **options)


_prange = numba.prange if numba is not None else range


@_njit(nogil=True)
def _search(indptr, indices, weights, source, column, limit, dist, keys, heap, where, seen, row):
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
def _searches(indptr, indices, weights, sources, column, limits, chunks, out):
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
            touched = _search(
                indptr, indices, w, s, column, limits[a], dist, keys, heap, where, seen, out[a]
            )
            for t in range(touched):
                where[seen[t]] = -1
                dist[seen[t]] = np.inf
    return 0
