"""Shortest paths over a dense matrix of arc weights, zero-weight arcs included.

scipy's csgraph reads a zero in a dense matrix as "no arc", so a zero-time leg (two nodes at the
same site, a free transfer) silently disappears from shortest paths built from dense input, and
every bound derived from them (earliest arrivals, latest departures, big-M) can cut off feasible
routes. Building the sparse matrix from the finite entries keeps explicit zeros as arcs.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import shortest_path


def shortest_paths(weights: np.ndarray, indices: int | np.ndarray | None = None) -> np.ndarray:
    """Shortest path lengths over the arcs ``i -> j`` with a finite ``weights[i, j]``.

    Parameters
    ----------
    weights
        (n, n) non-negative arc weights; ``inf`` means no arc, ``0`` is an arc of length zero.
        The diagonal is ignored (a path from a node to itself has length 0).
    indices
        Source rows to compute (all when None).

    Returns
    -------
    numpy.ndarray
        Path lengths from each source to every node (``inf`` when unreachable).

    Notes
    -----
    Floyd-Warshall (``O(n^3)``) up to 60 nodes, Dijkstra from each source beyond (or for the
    given ``indices``).

    Example
    -------
    The zero-time leg ``0 -> 1`` stays an arc (a dense csgraph input would drop it):

    >>> inf = np.inf
    >>> shortest_paths(np.array([[0.0, 0.0, inf], [inf, 0.0, 2.0], [1.0, inf, 0.0]]))
    array([[0., 0., 2.],
           [3., 0., 2.],
           [1., 1., 0.]])
    """
    w = np.asarray(weights, dtype=np.float64)
    arcs = np.isfinite(w)
    np.fill_diagonal(arcs, False)
    rows, cols = np.nonzero(arcs)
    graph = csr_array((w[rows, cols], (rows, cols)), shape=w.shape)
    method = "D" if w.shape[0] > 60 or indices is not None else "FW"
    return shortest_path(graph, method=method, directed=True, indices=indices)
