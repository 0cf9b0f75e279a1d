"""Many-source shortest paths between a group of nodes, compiled and parallel over sources.

A view needs the (k, k) times between its own nodes: one shortest-path search per view node.
scipy's csgraph Dijkstra (a Fibonacci heap, one source after another) spends ~0.28 ms per source
on the 2,000-node random geometric graph. Here the searches are compiled with numba, split over
the machine's threads (``numba.prange``), write only the k view columns of their row (no
(block, n) array) and stop as soon as every view node is final (a capped view is a close group
in a large graph: its searches stay local). Three queues:

- lane searches (the default): 16 view nodes close to each other in the graph searched at
  once, each node holding 16 distances, one bucket queue (Dial's) for all: a node that the 16
  searches reach at nearly the same time is scanned once for all of them (1.9 scans per node
  per group of 16 on rgg-2000), about a third of the time of one search per source;
- a bucket queue per source, buckets as wide as the lightest arc, when per-source limits are
  given (the lane searches take none);
- a binary heap with decrease-key when the arc weights span too many buckets (a zero-time
  link, weights over many decades).

Measured (same run, rgg-2000 view, CPU of the searches): lanes 0.065 s, one bucket queue per
source 0.20 s, heap 0.45 s, scipy 0.52 s, igraph 0.85 s, networkit 1.1 s
(``papers/kas/views.md``).

Values are bit for bit those of scipy: a node's value is the smallest left-to-right
floating-point sum over the paths to it whatever the queue and the order of the sources (see
:mod:`daitn_opt.drrt.transfer`; any label-correcting method ends at that fixed point), and every
search adds ``dist[u] + w`` exactly as scipy does. Predecessors (and hence money along paths)
are not computed here: ties between equal paths would be broken otherwise than by scipy's heap,
so money graphs keep scipy's trees.

numba is optional: :func:`available` says whether it is installed; callers fall back to scipy.
"""

from __future__ import annotations

import importlib.util
import os
import threading

import numpy as np

from ..errors import InputError

INSTALLED = importlib.util.find_spec("numba") is not None
"""Whether numba is installed (optional: the view falls back to scipy without it). Looked up
without importing it: numba takes about a second to import, the kernels import it on first use."""

_LAUNCH = threading.Lock()
"""numba's default (workqueue) threading layer runs one parallel kernel at a time per process:
views built from several Python threads (a Dask worker's) take turns here instead of aborting."""


def available() -> bool:
    """Whether the compiled path can run (numba is installed and ``DAITN_NO_NUMBA`` is unset)."""
    return INSTALLED and not os.environ.get("DAITN_NO_NUMBA")


def threads() -> int:
    """Threads the compiled searches run on (numba's count: ``NUMBA_NUM_THREADS``, else cores)."""
    if not INSTALLED:
        return 1
    return int(_numba().get_num_threads())


def _numba():
    """numba, its threading layer set to a fork-safe one before any parallel launch.

    With GNU OpenMP (numba's pick where libgomp is found) a process that forks after one
    parallel search has its child killed ("fork() called from a process already using GNU
    OpenMP"); benchmarks and process pools fork. ``NUMBA_THREADING_LAYER`` still decides.
    """
    import numba

    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "forksafe"
    return numba


def _kernels():
    _numba()
    from . import _sp_kernels

    return _sp_kernels


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
    ``limit``. ``method``: ``"lanes"`` (groups of close sources searched together, one bucket
    queue; no limits), ``"buckets"`` (one bucket-queue search per source), ``"heap"`` or
    ``"auto"`` (lanes, or buckets when limits are given, when the weights allow few enough
    buckets, see :func:`bucket_width`; else the heap). Requires numba (:func:`available`).
    """
    n = len(indptr) - 1
    nodes = np.ascontiguousarray(nodes, dtype=np.int32)
    k = len(nodes)
    column = np.full(n, -1, dtype=np.int32)
    column[nodes] = np.arange(k, dtype=np.int32)
    given = limits is not None
    limits = np.full(k, np.inf) if limits is None else np.ascontiguousarray(limits, np.float64)
    graph = (
        np.ascontiguousarray(indptr, dtype=np.int64),
        np.ascontiguousarray(indices, dtype=np.int32),
        np.ascontiguousarray(weights, dtype=np.float64),
    )
    out = np.empty((k, k))
    if method not in ("heap", "buckets", "lanes", "auto"):
        raise InputError("method", method, "expected 'auto', 'lanes', 'buckets' or 'heap'")
    width = None
    if method in ("buckets", "lanes"):
        width = _narrowest(graph[2]) if len(graph[2]) else 1.0  # no arc: any width
        if width is None or _bucket_count(graph[2], width) > MAX_BUCKETS:
            raise InputError("method", method, "the weights need too many buckets: use the heap")
        if method == "lanes" and given:
            raise InputError("method", method, "per-source limits need 'buckets' or 'heap'")
    elif method == "auto" and k:
        width = bucket_width(*graph, nodes)
        method = "lanes" if width is not None and not given else "buckets"
    with _LAUNCH:
        if width is None:
            chunks = min(k, max(1, threads() * 8))
            _kernels()._heap_searches(*graph, nodes, column, limits, chunks, out)
        elif method == "lanes":
            _lanes(graph, nodes, column, width, out)
        else:
            # A few chunks per thread: searches differ in length, chunks even the threads out.
            chunks = min(k, max(1, threads() * 8))
            count = _bucket_count(graph[2], width)
            kernel = _kernels()._bucket_searches
            kernel(*graph, nodes, column, limits, chunks, width, count, out)
    return out


def _lanes(graph, nodes: np.ndarray, column: np.ndarray, width: float, out: np.ndarray) -> None:
    """``out`` from :func:`._sp_kernels._lane_searches`: groups of close nodes searched together.

    Groups of up to ``LANES`` view nodes near each other in the graph (a breadth-first search
    from each node not yet grouped, in node order: with the graph renumbered, neighbours first)
    reach most nodes at nearly the same time in all their lanes, so one scan serves them all.
    """
    kernels = _kernels()
    k = len(nodes)
    order = np.empty(k, dtype=np.int64)
    starts = np.empty(k + 1, dtype=np.int64)
    by_node = np.argsort(nodes, kind="stable")
    groups = kernels._lane_groups(
        graph[0], graph[1], nodes, column, by_node, kernels.LANES, order, starts
    )
    starts = starts[: groups + 1]
    chunks = min(groups, max(1, threads() * 8))
    slots = 1 << max(0, int(_lane_slots(graph[2], width) - 1).bit_length())
    cap = max(_pool_size(len(graph[1])), kernels.LANES)
    kernels._lane_searches(
        *graph, nodes, column, order, starts, chunks, 1.0 / width, slots, cap, out
    )


def _lane_slots(weights: np.ndarray, width: float) -> int:
    """Bucket slots of the lane searches (rounded up to a power of two): enough that a node
    is rarely queued a lap or more ahead of the open bucket (it then waits in its slot)."""
    return _bucket_count(weights, width)


def _pool_size(arcs: int) -> int:
    """Queue entries a lane search starts with (it doubles them when they run out); measured
    at most ~0.95 per arc on the generated networks."""
    return 2 * arcs + 64


MAX_BUCKETS = 1 << 16
"""Most buckets (slots per thread) a search cycles through; more, and the heap serves instead."""


def bucket_width(
    indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray, nodes: np.ndarray
) -> float | None:
    """Width of the buckets of :func:`._sp_kernels._bucket_search` for this graph, None: use the heap.

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
    with _LAUNCH:
        _kernels()._heap_searches(
            indptr,
            indices,
            weights,
            np.array([source], np.int32),
            column,
            np.full(1, np.inf),
            1,
            out,
        )
    finite = out[np.isfinite(out)]
    return float(finite.max()) if len(finite) else 0.0


def two_hop_detours(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per arc u->v of the CSR graph (sorted indices), its shortest detour u->x->v (inf: none).

    What :func:`daitn_opt.drrt.transfer._drop_dominated` compares each arc with; the same sums
    ``w(u, x) + w(x, v)``, compiled and parallel over rows. Requires numba.
    """
    best = np.full(len(indices), np.inf)
    with _LAUNCH:
        _kernels()._detours(
            np.ascontiguousarray(indptr, dtype=np.int64),
            np.ascontiguousarray(indices, dtype=np.int64),
            np.ascontiguousarray(weights, dtype=np.float64),
            best,
        )
    return best
