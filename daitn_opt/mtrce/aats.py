"""AATS: the paper's autonomous AI object, deciding each hop from local information only.

DA-ITN (arXiv 2501.05323) contrasts its control-centre planning with "AI objects" that carry no
destination: a model travels through the network and, at each node, chooses where to go next from
what that node can see. Here that is made precise and enforced by construction:

- The **network** (:class:`Network`) owns the travel data, behind a :class:`TravelSource` that
  only answers two questions: the travel times *out of* one node (that node's own link table,
  ``row(u)``), and the distance-vector table to the end node (``to_end()``: the time from every node
  to the end, which a routed network's distance-vector protocol provides; a vector, not the
  matrix).
- **Neighbourhood.** A node's direct neighbours are its ``degree`` nearest nodes by travel time
  (or, when ``radius`` is given, every node within ``radius`` seconds). The ``hops``-hop
  neighbourhood of the current node is what a breadth-first search over direct neighbours reaches
  in ``hops`` steps; computing it reads the rows of the nodes within ``hops - 1`` hops only.
- The network turns that into an :class:`Observation` (utility, service time, windows and travel
  time from the current node of each neighbourhood node, the distance-vector entries, the clock,
  deadline and budget left). The **policy** (:class:`GreedyHopPolicy`) receives observations and
  nothing else; it cannot reach the matrix.

Policy: among unvisited neighbourhood nodes it can serve in their window and still reach the end by
the deadline afterwards (``start + d[v] + to_end[v]`` then the end's own window, service and
verification, within the budget), take the best ``utility / (travel + wait + service +
detour)``, where ``detour = max(0, to_end[v] - to_end[here])`` charges moving away from the end;
when none qualifies, go to the end. With ``k`` replicas the objects leave one after another; each
node remembers that it has been trained on (node-local state), so later replicas skip it.

AATS needs no global view, so it cannot promise to visit every node or a given mandatory node:
the ``min_time`` (visit-all) variant and mandatory nodes are refused before running.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..params import param
from ..registry import SolveOptions, register
from ..result import Result, Status, TracePoint
from .certify import route_objective_reason
from .problem import Problem
from .solution import EPS, make_result


class TravelSource(Protocol):
    """What the network may ask about travel: one node's outgoing times and the route table."""

    def row(self, u: int) -> np.ndarray:
        """Travel times from node ``u`` to every node (node ``u``'s own link table)."""
        ...

    def to_end(self) -> np.ndarray:
        """Time from every node to the end node (the distance-vector table)."""
        ...


class MatrixSource:
    """A :class:`TravelSource` over a full matrix (the network's ground truth)."""

    def __init__(self, travel: np.ndarray, end: int) -> None:
        self._travel = travel
        self._end = end

    def row(self, u: int) -> np.ndarray:
        return np.asarray(self._travel[u], dtype=np.float64)

    def to_end(self) -> np.ndarray:
        return np.asarray(self._travel[:, self._end], dtype=np.float64)


@dataclass(frozen=True)
class Observation:
    """What the AI object sees at one node: its neighbourhood and the distance-vector table.

    Arrays are aligned with ``nodes`` (the neighbourhood, current node excluded).
    """

    here: int
    clock: float
    """Time service at ``here`` ended (the object is ready to leave)."""
    end: int
    nodes: np.ndarray
    travel: np.ndarray
    """Travel time from ``here`` to each neighbourhood node."""
    utility: np.ndarray
    service: np.ndarray
    window_open: np.ndarray
    window_close: np.ndarray
    visited: np.ndarray
    """Whether each neighbourhood node has already been trained on (by any replica)."""
    step_cost: np.ndarray
    """Visit cost plus travel cost of going to each neighbourhood node (0 without a budget)."""
    to_end: np.ndarray
    """Time from each neighbourhood node to the end (distance-vector entries)."""
    cost_to_end: np.ndarray
    """Travel cost from each neighbourhood node to the end."""
    here_to_end: float
    here_cost_to_end: float
    end_open: float
    end_close: float
    end_service: float
    verify_time: float
    deadline: float
    budget_left: float


class Network:
    """The environment: owns the problem's data and builds observations for the AI object."""

    def __init__(
        self,
        problem: Problem,
        source: TravelSource | None = None,
        hops: int = 2,
        degree: int = 5,
        radius: float | None = None,
        cost_source: TravelSource | None = None,
    ) -> None:
        self._p = problem
        self._source = source or MatrixSource(problem.travel, problem.end)
        has_budget = problem.budget is not None
        self._cost_source = cost_source or (
            MatrixSource(problem.travel_cost, problem.end) if has_budget else None
        )
        self.hops = hops
        self.degree = degree
        self.radius = radius
        self._links: dict[int, np.ndarray] = {}
        self._rows: dict[int, np.ndarray] = {}
        self._to_end = self._source.to_end()
        self._cost_to_end = (
            self._cost_source.to_end() if self._cost_source is not None else np.zeros(problem.n)
        )
        self.visited = np.zeros(problem.n, dtype=bool)
        if problem.window_open is not None:
            self._open = np.asarray(problem.window_open, dtype=np.float64)
            self._close = np.asarray(problem.window_close, dtype=np.float64)
        else:
            self._open, self._close = np.zeros(problem.n), np.full(problem.n, np.inf)

    def _row(self, u: int) -> np.ndarray:
        if u not in self._rows:
            self._rows[u] = self._source.row(u)
        return self._rows[u]

    def links(self, u: int) -> np.ndarray:
        """Direct neighbours of ``u`` (its ``degree`` nearest, or all within ``radius``)."""
        if u not in self._links:
            row = self._row(u).copy()
            row[u] = np.inf
            if self.radius is not None:
                nbrs = np.flatnonzero(row <= self.radius)
            else:
                finite = np.flatnonzero(np.isfinite(row))
                order = finite[np.argsort(row[finite], kind="stable")]
                nbrs = order[: self.degree]
            self._links[u] = nbrs
        return self._links[u]

    def neighbourhood(self, u: int) -> np.ndarray:
        """Nodes within ``hops`` hops of ``u`` (``u`` excluded), by breadth-first search."""
        depth = {u: 0}
        queue = deque([u])
        while queue:
            v = queue.popleft()
            if depth[v] == self.hops:
                continue
            for w in self.links(v):
                w = int(w)
                if w not in depth:
                    depth[w] = depth[v] + 1
                    queue.append(w)
        del depth[u]
        return np.asarray(sorted(depth), dtype=np.int64)

    def observe(self, here: int, clock: float, budget_left: float) -> Observation:
        p = self._p
        nodes = self.neighbourhood(here)
        row = self._row(here)
        if self._cost_source is not None:
            crow = self._cost_source.row(here)
            step_cost = np.asarray(p.visit_cost)[nodes] + crow[nodes]
        else:
            step_cost = np.zeros(len(nodes))
        e = p.end
        return Observation(
            here=here,
            clock=clock,
            end=e,
            nodes=nodes,
            travel=row[nodes],
            utility=p.utility[nodes],
            service=p.service[nodes],
            window_open=self._open[nodes],
            window_close=self._close[nodes],
            visited=self.visited[nodes],
            step_cost=step_cost,
            to_end=self._to_end[nodes],
            cost_to_end=self._cost_to_end[nodes],
            here_to_end=float(self._to_end[here]),
            here_cost_to_end=float(self._cost_to_end[here]),
            end_open=float(self._open[e]),
            end_close=float(self._close[e]),
            end_service=float(p.service[e]),
            verify_time=float(p.verify_time),
            deadline=float(p.deadline),
            budget_left=budget_left,
        )

    def travel_time(self, u: int, v: int) -> float:
        """Time of the hop the object takes (it is on the node's own link table)."""
        return float(self._row(u)[v])

    def travel_cost(self, u: int, v: int) -> float:
        return 0.0 if self._cost_source is None else float(self._cost_source.row(u)[v])

    @property
    def rows_read(self) -> set[int]:
        return set(self._rows)


def _finish_time(start_end: float, obs: Observation) -> float:
    """Completion at the end node when arriving at ``start_end``."""
    return max(start_end, obs.end_open) + obs.end_service + obs.verify_time


class GreedyHopPolicy:
    """Next hop by utility per time spent, among nodes after which the end stays reachable."""

    def decide(self, obs: Observation) -> int | None:
        """The next node to visit, or None to head for the end."""
        if len(obs.nodes) == 0:
            return None
        arrive = obs.clock + obs.travel
        start = np.maximum(arrive, obs.window_open)
        leave = start + obs.service
        end_arrival = leave + obs.to_end
        done = np.maximum(end_arrival, obs.end_open) + obs.end_service + obs.verify_time
        ok = (
            ~obs.visited
            & (obs.nodes != obs.end)
            & (obs.utility > 0)
            & np.isfinite(end_arrival)
            & (start <= obs.window_close + EPS)
            & (done <= obs.deadline + EPS)
            & (np.maximum(end_arrival, obs.end_open) <= obs.end_close + EPS)
            & (obs.step_cost + obs.cost_to_end <= obs.budget_left + EPS)
        )
        if not ok.any():
            return None
        spent = (leave - obs.clock) + np.maximum(0.0, obs.to_end - obs.here_to_end)
        score = np.where(ok, obs.utility / np.maximum(spent, 1e-9), -np.inf)
        return int(obs.nodes[int(np.argmax(score))])


@dataclass(frozen=True)
class HopState:
    """Where an AI object stands: the node it is at, when it is ready to leave (its training
    there done), the nodes already trained on (by any replica) and the budget left."""

    here: int
    clock: float
    visited: tuple[int, ...] = ()
    budget_left: float = np.inf


def next_hop(
    problem: Problem,
    state: HopState,
    *,
    hops: int = 2,
    degree: int = 5,
    radius: float | None = None,
) -> int | None:
    """The AATS rule: the next node an AI object at ``state.here`` visits, or None for the end.

    The one hop rule of DA-ITN's autonomous objects (the ``aats`` solver walks with it, and the
    executor's AATS policy calls it hop by hop). The object sees the nodes within ``hops`` hops
    of its node (each node's direct neighbours are its ``degree`` nearest, or those within
    ``radius``) and the distance-vector table to the end; among the unvisited ones with positive
    utility that it can serve within their window and after which it can still reach the end
    (its window, service and verification) by the deadline and within the budget, it takes the
    best ``utility / (travel + wait + service + detour)``, ``detour = max(0, to_end[v] -
    to_end[here])``.

    Parameters
    ----------
    problem : Problem
        The MTRCE problem (its travel matrix is read only row by row, as the network allows).
    state : HopState
        The object's node (an index), the time it can leave, the nodes already trained on and
        the budget left (visit costs of the start and the end already paid).
    hops, degree, radius
        The neighbourhood (see :class:`Network`); ``radius=inf`` sees every reachable node.

    Returns
    -------
    int or None
        The index of the next node, or None when no node qualifies (head for the end).

    Notes
    -----
    A heuristic with no bound: O(size of the neighbourhood) per hop after reading the rows of the
    nodes within ``hops - 1`` hops.

    Examples
    --------
    >>> import numpy as np
    >>> from daitn_opt.mtrce import Problem
    >>> from daitn_opt.mtrce.aats import HopState, next_hop
    >>> x = np.array([0.0, 1.0, 2.0, 5.0])
    >>> p = Problem(ids=["s", "a", "b", "c"], start=0, end=0, travel=np.abs(x[:, None] - x),
    ...             service=np.zeros(4), utility=[0.0, 1.0, 3.0, 9.0], deadline=6.0)
    >>> next_hop(p, HopState(here=0, clock=0.0))  # c is worth most but cannot come back in time
    2
    >>> next_hop(p, HopState(here=2, clock=2.0, visited=(2,)))
    1
    """
    network = Network(problem, hops=hops, degree=degree, radius=radius)
    network.visited[list(state.visited)] = True
    return GreedyHopPolicy().decide(network.observe(state.here, state.clock, state.budget_left))


def walk(
    problem: Problem,
    network: Network,
    policy: GreedyHopPolicy,
    stop: Callable[[], bool] | None = None,
) -> list[list[int]]:
    """Let ``k`` AI objects walk from the start to the end; their routes as node indices."""
    s, e = problem.start, problem.end
    budget_left = np.inf if problem.budget is None else float(problem.budget)
    if problem.budget is not None:
        vc = np.asarray(problem.visit_cost, dtype=np.float64)
        budget_left -= vc[s] + (vc[e] if e != s else 0.0)
    network.visited[[s, e]] = True
    open_s = 0.0 if problem.window_open is None else float(problem.window_open[s])
    routes: list[list[int]] = []
    for _ in range(problem.k):
        route = [s]
        here, clock = s, max(0.0, open_s) + float(problem.service[s])
        while stop is None or not stop():
            obs = network.observe(here, clock, budget_left)
            nxt = policy.decide(obs)
            if nxt is None:
                break
            i = int(np.flatnonzero(obs.nodes == nxt)[0])
            start = max(clock + network.travel_time(here, nxt), float(obs.window_open[i]))
            budget_left -= float(obs.step_cost[i])
            clock = start + float(problem.service[nxt])
            network.visited[nxt] = True
            route.append(nxt)
            here = nxt
        if len(route) > 1 and problem.budget is not None:
            budget_left -= network.travel_cost(here, e)
        route.append(e)
        routes.append(route)
        if len(route) == 2:
            break  # nothing reachable for this replica: the others would find nothing either
    return routes


def _supports(problem: Problem) -> str | None:
    reason = route_objective_reason(problem)
    if reason is not None:
        return reason
    if problem.objective == "min_time":
        return "visit-all (min_time) needs global knowledge; AATS sees only its neighbourhood"
    if len(problem.mandatory):
        return "mandatory nodes need global knowledge; AATS sees only its neighbourhood"
    return None


@dataclass(frozen=True)
class AatsParams:
    """Parameters of the ``aats`` solver: the neighbourhood an AI object sees."""

    hops: int = param(2, "hops of the neighbourhood an object observes")
    degree: int = param(5, "neighbours per node (nearest by travel time) when radius is None")
    radius: float | None = param(None, "neighbours are the nodes within this travel time")


@register(
    "mtrce",
    "aats",
    params=AatsParams,
    exact=False,
    description="autonomous AI object: next hop from its k-hop neighbourhood only (AATS)",
    supports=_supports,
)
def solve_aats(problem: Problem, options: SolveOptions) -> Result:
    """Run the AATS objects (parameters: :class:`AatsParams`)."""
    params: AatsParams = options.params
    network = Network(problem, hops=params.hops, degree=params.degree, radius=params.radius)
    # The direct trip decides feasibility (the end's window and the deadline).
    s, e = problem.start, problem.end
    obs = network.observe(s, 0.0, np.inf)
    open_s = 0.0 if problem.window_open is None else float(problem.window_open[s])
    leave = max(0.0, open_s) + float(problem.service[s])
    arrive_end = leave + obs.here_to_end
    done = _finish_time(arrive_end, obs)
    reason = None
    if not np.isfinite(done) or done > problem.deadline + EPS:
        reason = f"completes at {done:g}, after the deadline {problem.deadline:g}"
    elif max(arrive_end, obs.end_open) > obs.end_close + EPS:
        reason = f"arrives after the end's window closes at {obs.end_close:g}"
    elif problem.budget is not None:
        vc = np.asarray(problem.visit_cost, dtype=np.float64)
        cost = vc[s] + (vc[e] if e != s else 0.0) + obs.here_cost_to_end
        if cost > problem.budget + EPS:
            reason = f"costs {cost:g}, more than the budget {problem.budget:g}"
    if reason is not None:
        trip = f"the trip from {problem.ids[s]!r} to {problem.ids[e]!r} alone {reason}"
        return make_result(problem, "aats", None, Status.INFEASIBLE, message=trip)
    routes = walk(problem, network, GreedyHopPolicy(), lambda: options.remaining() <= 0.02)
    result = make_result(
        problem,
        "aats",
        routes,
        Status.FEASIBLE,
        stats={"rows_read": len(network.rows_read), "hops": network.hops},
    )
    result.trace = [TracePoint(options.elapsed(), result.objective, None)]
    return result
