"""One-line proofs that an MTRCE problem has no route, from shortest paths (no model needed).

Used by the OR-Tools solvers (``cpsat``, ``routing``, ``coverage-cpsat``) before they build a
model: :func:`infeasibility_reason` tests the deadline against the fastest trip from the start to
the end, and every mandatory node against its window and the deadline.
"""

from __future__ import annotations

import numpy as np

from .problem import Problem
from .solution import windows


def dijkstra(weights_of, n: int, source: int, target: int | None = None) -> np.ndarray:
    """Shortest distances from ``source`` on a dense graph given row by row (exact for every
    node when ``target`` is None, else at least for ``target``: the search stops there).

    ``weights_of(u)`` returns the ``n`` weights of the arcs leaving ``u`` (``inf``: no arc; zero
    weights are arcs). O(n^2) time and O(n) memory: the graph is never materialised, so a
    10,000-node view costs two passes over its matrix, not a 10^8-entry sparse copy.
    """
    dist = np.full(n, np.inf)
    dist[source] = 0.0
    done = np.zeros(n, dtype=bool)
    frontier = dist.copy()
    for _ in range(n):
        u = int(np.argmin(frontier))
        if not np.isfinite(frontier[u]):
            break
        done[u] = True
        if u == target:
            break
        frontier[u] = np.inf
        cand = dist[u] + np.asarray(weights_of(u), dtype=np.float64)
        better = (cand < dist) & ~done
        dist[better] = cand[better]
        frontier[better] = cand[better]
    return dist


def infeasibility_reason(problem: Problem) -> str | None:
    """A one-line proof that no route can exist, or None when none is found.

    Uses shortest paths over ``service[i] + travel[i, j]`` (a lower bound on any route's time
    between two nodes, since waiting only adds): the deadline against the fastest trip from the
    start to the end, and every mandatory node against its window and the deadline.
    """
    a, b = windows(problem)
    s, e = problem.start, problem.end
    service = np.asarray(problem.service, dtype=np.float64)
    start = max(0.0, float(a[s]))
    if start > b[s] + 1e-9:
        return f"the start {problem.ids[s]!r} closes at {b[s]:g}, before time 0"
    travel = problem.travel
    n = problem.n
    required = set(np.asarray(problem.mandatory, dtype=np.int64).tolist())
    if problem.objective == "min_time":
        required |= set(problem.customers.tolist())
    required -= {s, e}
    # shortest times over service[i] + travel[i, j] from s (until e when no node is mandatory)
    # and, for mandatory nodes only, to e: O(n^2) passes over the matrix, no n x n temporaries
    from_s = dijkstra(lambda u: service[u] + travel[u], n, s, None if required else e)
    to_e = dijkstra(lambda u: service + travel[:, u], n, e) if required else np.zeros(n)
    tail = float(service[e]) + float(problem.verify_time)
    latest_e = min(float(b[e]), float(problem.deadline) - tail)

    def finish(arrival_e: float) -> float:
        return max(arrival_e, float(a[e]))

    fastest = start + from_s[e] if s != e else start + service[s]
    if s == e:
        # A tour must leave and come back; the idle trip [s, s] is the fastest route of all.
        fastest = start + service[s] + float(problem.travel[s, s])
    if not np.isfinite(fastest):
        return f"the end {problem.ids[e]!r} cannot be reached from the start {problem.ids[s]!r}"
    if finish(fastest) > latest_e + 1e-9:
        return (
            f"the deadline {problem.deadline:g} is shorter than the fastest trip from "
            f"{problem.ids[s]!r} to {problem.ids[e]!r} ({finish(fastest) + tail:g} incl. "
            "service and verification)"
        )
    for m in sorted(required):
        arrival = start + from_s[m]
        if not np.isfinite(arrival) or not np.isfinite(to_e[m]):
            return f"mandatory node {problem.ids[m]!r} is not connected to the start and end"
        begin = max(arrival, float(a[m]))
        if begin > b[m] + 1e-9:
            return (
                f"mandatory node {problem.ids[m]!r} cannot be reached (earliest {arrival:g}) "
                f"before its window closes at {b[m]:g}"
            )
        if finish(begin + to_e[m]) > latest_e + 1e-9:
            return (
                f"mandatory node {problem.ids[m]!r} cannot be visited and the end reached "
                f"before the deadline {problem.deadline:g}"
            )
    return None
