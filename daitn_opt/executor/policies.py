"""Policies that decide a travelling model's next hop while the network changes.

Three policies decide the model's next hop (:class:`Policy`):

- ``static``: follow the plan; skip a node that is down, unreachable or no longer eligible;
- ``replan``: at the start and after every change, call an MTRCE solver again from the current
  node, with the remaining deadline and budget, on the updated snapshot, excluding the nodes
  already visited (a new request with ``start`` = current node);
- ``aats``: the paper's alternative (AATS): decide each hop locally, from the current node's
  neighbourhood only, by the registered ``aats`` solver when it exists, else by MTRCE's AATS
  rule directly (:func:`daitn_opt.mtrce.aats.next_hop`, :meth:`AATSPolicy.local_choice`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..drrt.instance import Instance
from ..drrt.requests import TrainingRequest
from ..drrt.view import View, build_view
from ..errors import InputError
from .state import NetworkState


@dataclass
class Context:
    """What a policy sees when the model sits at ``current`` at simulated time ``time``."""

    instance: Instance
    request: TrainingRequest
    state: NetworkState
    current: str
    time: float
    visited: list[str]
    end: str
    spent: float
    """Money spent so far (compute + transfer), for the remaining budget."""
    view: View
    """The view of the current snapshot from ``current`` (eligible nodes, times, utilities)."""
    seed: int = 0


class Policy:
    """Decides the model's next hop. ``next_hop`` returns a node id, or None to head to the end.

    A subclass sets ``name`` and implements :meth:`next_hop` (and :meth:`start` when it follows
    a plan); a ``log`` list of strings, when it has one, ends up in the outcome's notes.
    """

    name = "policy"

    def start(self, plan: Sequence[str]) -> None:
        """Receive the original plan (inner nodes, in order)."""

    def next_hop(self, ctx: Context) -> tuple[str | None, list[tuple[str, str]]]:
        """(next node or None, [(skipped node, reason), ...])."""
        raise NotImplementedError


class StaticPolicy(Policy):
    """Follow the plan; skip what failed (down, unreachable, no longer eligible).

    Examples
    --------
    >>> from daitn_opt.drrt.instance import load_instance
    >>> from daitn_opt.drrt.view import view
    >>> from daitn_opt.executor.events import EventTimeline
    >>> inst = load_instance("instances/healthcare-small.json")
    >>> state = NetworkState(inst.snapshot, EventTimeline.parse(
    ...     [{"time": 0, "type": "node_down", "node": "h07"}], inst.snapshot))
    >>> _ = state.advance(0.0)
    >>> ctx = Context(inst, inst.request("r1"), state, "owner", 0.0, ["owner"], "mpvu", 0.0,
    ...               view(inst, "r1"))
    >>> policy = make_policy("static")
    >>> policy.start(["h07", "h02"])
    >>> policy.next_hop(ctx)
    ('h02', [('h07', 'node down')])
    """

    name = "static"

    def __init__(self) -> None:
        self.plan: list[str] = []

    def start(self, plan: Sequence[str]) -> None:
        self.plan = list(plan)

    def next_hop(self, ctx: Context) -> tuple[str | None, list[tuple[str, str]]]:
        return self.follow(ctx)

    def follow(self, ctx: Context) -> tuple[str | None, list[tuple[str, str]]]:
        """Pop the plan up to its first available node; the ones passed over, with why."""
        skipped = []
        while self.plan:
            node = self.plan.pop(0)
            reason = unavailable(ctx, node)
            if reason is None:
                return node, skipped
            skipped.append((node, reason))
        return None, skipped


def unavailable(ctx: Context, node: str) -> str | None:
    """Why the model cannot go to ``node`` now (None: it can).

    Already visited, down, outside the current view (the view's reason), or unreachable from
    the current node.
    """
    if node in ctx.visited:
        return "already visited"
    if not ctx.state.is_up(node):
        return "node down"
    v = ctx.view
    if node not in v.ids:
        return ctx.view.excluded.get(node, "not in the request's view")
    if not math.isfinite(v.transfer[v.ids.index(ctx.current), v.ids.index(node)]):
        return "unreachable"
    return None


def remaining_problem(ctx: Context):
    """The MTRCE problem of what is left: start at the current node, remaining deadline/budget.

    Built on the updated snapshot as a new request (``start`` = current node, ``deadline`` =
    time left, ``budget`` = money left, still-missing mandatory nodes), then restricted to the
    nodes not yet visited; the current node's own training is already done (service and utility
    0). Returns ``(problem, ids)`` or ``(None, reason)`` when nothing is left to plan.

    The restriction is :meth:`daitn_opt.mtrce.Problem.restrict`; the problem's objective is the
    summed utility (``max_utility``) whatever the request's.
    """
    from ..mtrce.problem import from_view

    req = ctx.request
    deadline = None if req.deadline is None else max(0.0, req.deadline - ctx.time)
    budget = None if req.budget is None else max(0.0, req.budget - ctx.spent)
    sub_req = req.model_copy(
        update={
            "start": ctx.current,
            "end": ctx.end,
            "deadline": deadline,
            "budget": budget,
            "mandatory": [m for m in req.mandatory if m not in ctx.visited],
            # The view counts windows from the request's arrival: "now" is arrival + elapsed.
            "arrival": req.arrival + ctx.time,
            "objective": "max_utility",
        }
    )
    snap = ctx.state.snapshot()
    try:
        v = build_view(snap, sub_req, ctx.instance.travel)
    except InputError as exc:
        return None, str(exc)
    problem = from_view(v, name="replan")
    visited = set(ctx.visited) - {ctx.current, ctx.end}
    keep = [i for i, node in enumerate(v.ids) if node not in visited]
    problem = problem.restrict(keep)
    s = problem.start
    service = problem.service.copy()
    utility = problem.utility.copy()
    service[s] = 0.0
    utility[s] = 0.0
    changes: dict[str, Any] = {"service": service, "utility": utility}
    if problem.window_open is not None:
        # The model is already at the start: its window no longer constrains anything.
        changes["window_open"] = problem.window_open.copy()
        changes["window_close"] = problem.window_close.copy()
        changes["window_open"][s] = 0.0
        changes["window_close"][s] = np.inf
    if problem.visit_cost is not None:
        changes["visit_cost"] = problem.visit_cost.copy()
        changes["visit_cost"][s] = 0.0  # already paid
    if ctx.end in ctx.visited and problem.end != s:
        utility[problem.end] = 0.0
    return problem.replace(**changes), problem.ids


class ReplanPolicy(StaticPolicy):
    """Re-solve MTRCE from the current node whenever the network changed (and at the start).

    Parameters
    ----------
    solvers
        Registered MTRCE solvers to re-plan with, in order of preference: the first registered
        one that returns a feasible plan is used. Default: exact ones first (``highs``,
        ``cpsat``), then heuristics (``ils``, ``greedy``).
    time_limit
        Seconds per re-plan. Default 5.
    """

    name = "replan"

    def __init__(
        self,
        solvers: Sequence[str] = ("highs", "cpsat", "ils", "greedy"),
        time_limit: float = 5.0,
    ):
        super().__init__()
        self.solvers = tuple(solvers)
        self.time_limit = time_limit
        self.planned_version = -1
        self.replans = 0
        self.log: list[str] = []

    def start(self, plan: Sequence[str]) -> None:
        self.plan = list(plan)
        self.planned_version = 0

    def next_hop(self, ctx: Context) -> tuple[str | None, list[tuple[str, str]]]:
        broken = bool(self.plan) and unavailable(ctx, self.plan[0]) is not None
        if ctx.state.version != self.planned_version or broken:
            self._replan(ctx)
        return self.follow(ctx)

    def _replan(self, ctx: Context) -> None:
        """Re-solve the remaining problem; keep the best checked plan found.

        The rest of the current plan (without the nodes that became unavailable) is the warm
        start and the incumbent when it is still feasible, so a re-plan never collects less
        than skipping would.
        """
        self.planned_version = ctx.state.version
        problem, ids = remaining_problem(ctx)
        if problem is None:
            self.plan = []
            self.log.append(f"t={ctx.time:.1f}s: nothing to re-plan ({ids})")
            return
        keep = [n for n in self.plan if n in problem.ids and unavailable(ctx, n) is None]
        start, end = problem.ids[problem.start], problem.ids[problem.end]
        best_route, best_value, best_name = self._best_plan(ctx, problem, [start, *keep, end])
        if best_route is None:
            self.plan = []
            self.log.append(
                f"t={ctx.time:.1f}s: no feasible plan from {ctx.current}; heading to the end"
            )
            return
        self.plan = list(best_route[1:-1])
        self.replans += 1
        self.log.append(
            f"t={ctx.time:.1f}s: re-planned with {best_name} from {ctx.current}: "
            f"{' -> '.join(best_route)} (utility {best_value:.4g})"
        )

    def _best_plan(
        self, ctx: Context, problem: Any, rest: list[str]
    ) -> tuple[list[str] | None, float, str]:
        """``(route, utility, by whom)`` of the best checked plan: ``rest`` or a solver's.

        The solvers are tried in order until one proves optimality (or infeasibility); the best
        feasible plan among them is kept otherwise (a time-limited exact solver on a large view
        can return a poor incumbent). ``route`` is None when nothing is feasible.
        """
        from ..mtrce.check import check
        from ..registry import solve, solvers

        initial = {"routes": [rest]}
        report = check(problem, initial)
        best_route, best_value, best_name = None, -np.inf, "the rest of the plan"
        if report.ok:
            best_route, best_value = rest, float(report.objective)
        names = solvers("mtrce")["mtrce"]
        for name in self.solvers:
            spec = names.get(name)
            # a solver that does not handle this variant (e.g. AATS with mandatory nodes) is
            # passed over rather than raising in the middle of a replay
            if spec is None or (spec.supports is not None and spec.supports(problem)):
                continue
            result = solve(
                problem,
                name,
                time_limit=self.time_limit,
                seed=ctx.seed,
                initial=initial if report.ok else None,
            )
            if result.is_feasible():
                route = result.solution["routes"][0]
                verdict = check(problem, {"routes": [route]})
                if verdict.ok and verdict.objective > best_value + 1e-9:
                    best_route, best_value, best_name = route, float(verdict.objective), name
                if result.status.value == "optimal":
                    break
            elif result.status.value == "infeasible":
                break
        return best_route, best_value, best_name


class AATSPolicy(Policy):
    """Local hop-by-hop decisions (AATS): no destination list, only what is visible from here.

    At every node it calls the registered ``aats`` MTRCE solver on the remaining problem and takes
    the first hop of its answer; if no ``aats`` solver is registered (or ``use_solver`` is False),
    it applies :meth:`local_choice`.

    Parameters
    ----------
    use_solver
        Ask the registered ``aats`` solver (default) rather than the local rule.
    time_limit
        Seconds per call of the solver.
    """

    name = "aats"

    def __init__(self, use_solver: bool = True, time_limit: float = 2.0):
        self.use_solver = use_solver
        self.time_limit = time_limit
        self.used = "local rule"

    def next_hop(self, ctx: Context) -> tuple[str | None, list[tuple[str, str]]]:
        from ..registry import solve, solvers

        if self.use_solver and "aats" in solvers("mtrce")["mtrce"]:
            problem, _ = remaining_problem(ctx)
            if problem is None:
                return None, []
            result = solve(problem, "aats", time_limit=self.time_limit, seed=ctx.seed)
            self.used = "aats solver"
            if result.is_feasible() and len(result.solution["routes"][0]) > 2:
                return result.solution["routes"][0][1], []
            return None, []
        return self.local_choice(ctx), []

    @staticmethod
    def local_choice(ctx: Context) -> str | None:
        """The next hop by the AATS rule (:func:`daitn_opt.mtrce.aats.next_hop`) on what is left.

        The rule sees the current node's neighbourhood (two hops over each node's five nearest
        neighbours, as the ``aats`` solver's defaults) and the distance-vector table to the end
        of the remaining problem (:func:`remaining_problem`: the current node as its start, the
        time and budget left, the nodes visited left out); among the nodes it can still serve in
        their window and leave in time for the end, it takes the best utility per second.
        """
        from ..mtrce.aats import HopState, next_hop

        problem, _ = remaining_problem(ctx)
        if problem is None:
            return None
        s, e = problem.start, problem.end
        budget = math.inf
        if problem.budget is not None:
            # the start's visit is paid (remaining_problem set it to 0), the end's is still due
            end_cost = 0.0 if problem.visit_cost is None or e == s else problem.visit_cost[e]
            budget = float(problem.budget) - float(end_cost)
        k = next_hop(problem, HopState(here=s, clock=0.0, visited=(s, e), budget_left=budget))
        return None if k is None else problem.ids[k]


POLICIES: dict[str, Callable[[], Policy]] = {
    "static": StaticPolicy,
    "replan": ReplanPolicy,
    "aats": AATSPolicy,
}


def make_policy(policy: str | Policy) -> Policy:
    """A fresh policy of a name in :data:`POLICIES`, or ``policy`` itself when it is one.

    Raises
    ------
    InputError
        A name that is not ``static``, ``replan`` or ``aats``.

    Examples
    --------
    >>> make_policy("replan").name
    'replan'
    >>> make_policy("teleport")
    Traceback (most recent call last):
    ...
    daitn_opt.errors.InputError: policy = 'teleport': expected one of ['aats', 'replan', 'static']
    """
    if isinstance(policy, Policy):
        return policy
    if policy not in POLICIES:
        raise InputError("policy", policy, f"expected one of {sorted(POLICIES)}")
    return POLICIES[policy]()
