"""Network dynamics during a replay: a timeline of events, the evolving snapshot, and policies.

DA-ITN's premise (arXiv 2501.05323, Sec. II) is that the network changes while a model is in
flight: nodes fail and return, links slow down or are cut, data is added or ages. An
:class:`EventTimeline` lists such changes at simulated times; :class:`NetworkState` applies them
to a copy of the snapshot as the replay's clock passes them, so that every later decision sees
the updated map.

Three policies decide the model's next hop (:class:`Policy`):

- ``static``: follow the plan; skip a node that is down, unreachable or no longer eligible;
- ``replan``: at the start and after every change, call an MTRCE solver again from the current
  node, with the remaining deadline and budget, on the updated snapshot, excluding the nodes
  already visited (a new request with ``start`` = current node);
- ``aats``: the paper's alternative (AATS): decide each hop locally, from the current node's
  neighbourhood only, by the registered ``aats`` solver when it exists, else by the local rule
  of :meth:`AATSPolicy.local_choice` (best utility per second among the nodes from which the
  end is still reachable in time).

Events file (JSON): a list of events, or ``{"events": [...]}``, each with ``time`` (simulated
seconds), ``type`` and its fields::

    {"time": 40, "type": "node_down", "node": "h3"}
    {"time": 90, "type": "node_up", "node": "h3"}
    {"time": 10, "type": "link_slowed", "source": "h1", "target": "h2", "factor": 5}
    {"time": 10, "type": "link_cut", "source": "h1", "target": "h2"}
    {"time": 60, "type": "link_restored", "source": "h1", "target": "h2"}
    {"time": 20, "type": "data_added", "node": "h4", "samples": 40}
    {"time": 20, "type": "data_aged", "node": "h4", "days": 365}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ..drrt.instance import Instance
from ..drrt.requests import TrainingRequest
from ..drrt.snapshot import Count, NonNeg, Positive, Snapshot
from ..drrt.view import View, build_view
from ..errors import InputError

# -- events -------------------------------------------------------------------------------------


class _Event(BaseModel):
    # Strict like the snapshot: a bool is not a time, "3" is not 3 and 2.5 is not a count.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)
    time: NonNeg


class NodeDown(_Event):
    """A node fails: it trains nothing and forwards nothing until it comes back."""

    type: Literal["node_down"] = "node_down"
    node: str


class NodeUp(_Event):
    """A failed node comes back (its links too, unless they were cut on their own)."""

    type: Literal["node_up"] = "node_up"
    node: str


class LinkSlowed(_Event):
    """A link's latency is multiplied and its bandwidth divided by ``factor``."""

    type: Literal["link_slowed"] = "link_slowed"
    source: str
    target: str
    factor: Positive


class LinkCut(_Event):
    """A link goes down."""

    type: Literal["link_cut"] = "link_cut"
    source: str
    target: str


class LinkRestored(_Event):
    """A cut or slowed link is back to its original state."""

    type: Literal["link_restored"] = "link_restored"
    source: str
    target: str


class DataAdded(_Event):
    """A data node receives ``samples`` new samples (same label mix and quality)."""

    type: Literal["data_added"] = "data_added"
    node: str
    samples: Count


class DataAged(_Event):
    """A data node's datasets age by ``days`` (they may fall out of the request's age limit)."""

    type: Literal["data_aged"] = "data_aged"
    node: str
    days: NonNeg


Event = Annotated[
    NodeDown | NodeUp | LinkSlowed | LinkCut | LinkRestored | DataAdded | DataAged,
    Field(discriminator="type"),
]
_EVENTS = TypeAdapter(list[Event])


def describe(event: Any) -> str:
    """One line for the trace."""
    if hasattr(event, "node"):
        extra = (
            f" +{event.samples} samples"
            if event.type == "data_added"
            else f" +{event.days:g} days"
            if event.type == "data_aged"
            else ""
        )
        return f"{event.type} {event.node}{extra}"
    extra = f" x{event.factor:g}" if event.type == "link_slowed" else ""
    return f"{event.type} {event.source}-{event.target}{extra}"


@dataclass(frozen=True)
class EventTimeline:
    """Events sorted by time (stable: same-time events keep their file order)."""

    events: tuple[Any, ...] = ()

    @classmethod
    def parse(cls, data: Any, snapshot: Snapshot, source: str = "events") -> EventTimeline:
        """Validate a decoded events document against ``snapshot``.

        Raises
        ------
        InputError
            A malformed event, or a node or link the snapshot does not have.
        """
        if isinstance(data, dict):
            if "events" not in data:
                raise InputError(source, "{...}", 'expected a list of events or {"events": [...]}')
            data = data["events"]
        try:
            events = _EVENTS.validate_python(data)
        except ValidationError as exc:
            raise _event_error(exc, source) from None
        ids = set(snapshot.ids())
        pairs = {(lk.source, lk.target) for lk in snapshot.links}
        for k, ev in enumerate(events):
            if hasattr(ev, "node"):
                if ev.node not in ids:
                    raise InputError(
                        f"{source}[{k}].node", ev.node, "is not a node id of the snapshot"
                    )
                if ev.type in ("data_added", "data_aged") and snapshot.node(ev.node).kind != "data":
                    raise InputError(f"{source}[{k}].node", ev.node, "is not a data node")
            else:
                for end in ("source", "target"):
                    if getattr(ev, end) not in ids:
                        raise InputError(
                            f"{source}[{k}].{end}",
                            getattr(ev, end),
                            "is not a node id of the snapshot",
                        )
                if (ev.source, ev.target) not in pairs and (ev.target, ev.source) not in pairs:
                    raise InputError(
                        f"{source}[{k}]",
                        f"{ev.source}-{ev.target}",
                        "no link joins these nodes in the snapshot",
                    )
        order = sorted(range(len(events)), key=lambda k: events[k].time)
        return cls(tuple(events[k] for k in order))

    @classmethod
    def load(cls, path: str | Path, snapshot: Snapshot) -> EventTimeline:
        from ..io import read_json

        return cls.parse(read_json(path), snapshot, source=str(path))

    def __len__(self) -> int:
        return len(self.events)


_TYPES = {
    "node_down",
    "node_up",
    "link_slowed",
    "link_cut",
    "link_restored",
    "data_added",
    "data_aged",
}


def _event_error(exc: ValidationError, source: str) -> InputError:
    """One :class:`InputError` naming ``events[k].field`` (pydantic's union tag left out)."""
    err = exc.errors(include_url=False)[0]
    where = source
    for part in err["loc"]:
        if isinstance(part, int):
            where += f"[{part}]"
        elif part not in _TYPES:
            where += f".{part}"
    value = err.get("input")
    reason = err["msg"]
    if err["type"] == "union_tag_invalid":
        value = err.get("ctx", {}).get("tag", value)
        where += ".type"
        reason = f"unknown event type; expected one of {sorted(_TYPES)}"
    elif err["type"] == "union_tag_not_found":
        where += ".type"
        reason = f"missing; expected one of {sorted(_TYPES)}"
    if isinstance(value, dict | list):
        value = "{...}" if isinstance(value, dict) else "[...]"
    return InputError(where, value, reason)


# -- the evolving snapshot ----------------------------------------------------------------------


@dataclass
class NetworkState:
    """The snapshot as the events so far have left it.

    ``version`` increases with every applied event, so callers can cache what they derive from
    the snapshot (views, plans). ``on_data_added(node, samples)`` is called for data events so
    that the real local data grows with the snapshot; it returns the label histogram of the
    added samples (or None to scale the reported histogram).
    """

    base: Snapshot
    timeline: EventTimeline = field(default_factory=EventTimeline)
    on_data_added: Callable[[str, int], dict[str, int] | None] | None = None
    version: int = 0
    applied: int = 0
    _down: set[str] = field(default_factory=set)
    _cut: set[int] = field(default_factory=set)
    _slow: dict[int, float] = field(default_factory=dict)
    _extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    _cache: dict[tuple[int, float], Snapshot] = field(default_factory=dict)

    def pending_before(self, t: float) -> bool:
        """Whether an event is due at or before ``t``."""
        return self.applied < len(self.timeline) and self.timeline.events[self.applied].time <= t

    def advance(self, t: float) -> list[Any]:
        """Apply every event due at or before ``t``; return them."""
        done = []
        while self.pending_before(t):
            ev = self.timeline.events[self.applied]
            self._apply(ev)
            self.applied += 1
            self.version += 1
            done.append(ev)
        return done

    def next_event_time(self) -> float:
        if self.applied < len(self.timeline):
            return float(self.timeline.events[self.applied].time)
        return math.inf

    def is_up(self, node_id: str) -> bool:
        return node_id not in self._down and self.base.node(node_id).up

    def _links_of(self, a: str, b: str) -> list[int]:
        return [k for k, lk in enumerate(self.base.links) if {lk.source, lk.target} == {a, b}]

    def _apply(self, ev: Any) -> None:
        kind = ev.type
        if kind == "node_down":
            self._down.add(ev.node)
        elif kind == "node_up":
            self._down.discard(ev.node)
        elif kind == "link_cut":
            self._cut.update(self._links_of(ev.source, ev.target))
        elif kind == "link_restored":
            for k in self._links_of(ev.source, ev.target):
                self._cut.discard(k)
                self._slow.pop(k, None)
        elif kind == "link_slowed":
            for k in self._links_of(ev.source, ev.target):
                self._slow[k] = self._slow.get(k, 1.0) * ev.factor
        elif kind == "data_added":
            hist = self.on_data_added(ev.node, ev.samples) if self.on_data_added else None
            extra = self._extra.setdefault(ev.node, {"samples": 0, "days": 0.0, "labels": {}})
            extra["samples"] += ev.samples
            for lb, c in (hist or {}).items():
                extra["labels"][lb] = extra["labels"].get(lb, 0) + c
            extra["exact"] = hist is not None
        elif kind == "data_aged":
            extra = self._extra.setdefault(ev.node, {"samples": 0, "days": 0.0, "labels": {}})
            extra["days"] += ev.days

    def snapshot(self, elapsed: float = 0.0) -> Snapshot:
        """The current snapshot, its clock ``elapsed`` seconds after the base snapshot's."""
        key = (self.version, float(elapsed))
        if key in self._cache:
            return self._cache[key]
        if self.version == 0 and elapsed == 0.0:
            return self.base
        data = self.base.model_dump()
        data["time"] = self.base.time + elapsed
        for nd in data["nodes"]:
            if nd["id"] in self._down:
                nd["up"] = False
            extra = self._extra.get(nd["id"])
            if extra and nd.get("datasets"):
                for d in nd["datasets"]:
                    d["age_days"] += extra["days"]
                first = nd["datasets"][0]
                if extra["samples"]:
                    _grow_dataset(first, extra)
        for k, lk in enumerate(data["links"]):
            # A down node forwards nothing: its links are down with it.
            if k in self._cut or lk["source"] in self._down or lk["target"] in self._down:
                lk["up"] = False
            if k in self._slow:
                lk["latency"] *= self._slow[k]
                lk["bandwidth"] /= self._slow[k]
        snap = Snapshot.model_validate(data)
        if len(self._cache) >= 4:  # the clock only moves forward: keep the latest few
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = snap
        return snap


def _grow_dataset(dataset: dict[str, Any], extra: dict[str, Any]) -> None:
    """Add the extra samples to a dumped dataset, keeping its histogram consistent."""
    added = int(extra["samples"])
    dataset["samples"] += added
    labels = dataset.get("labels")
    if not labels:
        return
    if extra.get("exact"):
        for lb, c in extra["labels"].items():
            labels[lb] = labels.get(lb, 0) + int(c)
        return
    # No real data behind it: spread the new samples in the current proportions.
    names = list(labels)
    weights = np.array([labels[n] for n in names], dtype=np.float64)
    share = (
        weights / weights.sum() * added
        if weights.sum()
        else np.full(len(names), added / len(names))
    )
    take = np.floor(share).astype(np.int64)
    take[np.argsort(-(share - take), kind="stable")[: added - int(take.sum())]] += 1
    for n, c in zip(names, take, strict=True):
        labels[n] += int(c)


# -- policies -----------------------------------------------------------------------------------


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
    """Decides the model's next hop. ``next_hop`` returns a node id, or None to head to the end."""

    name = "policy"

    def start(self, plan: Sequence[str]) -> None:
        """Receive the original plan (inner nodes, in order)."""

    def next_hop(self, ctx: Context) -> tuple[str | None, list[tuple[str, str]]]:
        """(next node or None, [(skipped node, reason), ...])."""
        raise NotImplementedError


class StaticPolicy(Policy):
    """Follow the plan; skip what failed (down, unreachable, no longer eligible)."""

    name = "static"

    def __init__(self) -> None:
        self.plan: list[str] = []

    def start(self, plan: Sequence[str]) -> None:
        self.plan = list(plan)

    def next_hop(self, ctx: Context) -> tuple[str | None, list[tuple[str, str]]]:
        skipped = []
        while self.plan:
            node = self.plan.pop(0)
            reason = unavailable(ctx, node)
            if reason is None:
                return node, skipped
            skipped.append((node, reason))
        return None, skipped


def unavailable(ctx: Context, node: str) -> str | None:
    """Why the model cannot go to ``node`` now (None: it can)."""
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
    problem = _restrict(problem, keep)
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


def _restrict(problem, keep: list[int]):
    """The problem on the node subset ``keep`` (indices; start and end must be in it)."""
    idx = np.asarray(keep, dtype=np.int64)
    pos = {int(i): k for k, i in enumerate(idx)}
    opt = lambda a: None if a is None else a[idx]  # noqa: E731
    return problem.replace(
        ids=[problem.ids[i] for i in idx],
        start=pos[problem.start],
        end=pos[problem.end],
        travel=problem.travel[np.ix_(idx, idx)],
        service=problem.service[idx],
        utility=problem.utility[idx],
        window_open=opt(problem.window_open),
        window_close=opt(problem.window_close),
        visit_cost=opt(problem.visit_cost),
        travel_cost=None if problem.travel_cost is None else problem.travel_cost[np.ix_(idx, idx)],
        mandatory=np.asarray([pos[m] for m in problem.mandatory if m in pos], dtype=np.int64),
        # Per-node fields of the coverage objectives (absent on older problems).
        **(
            {"label_mass": opt(problem.label_mass)}
            if getattr(problem, "label_mass", None) is not None
            else {}
        ),
    )


class ReplanPolicy(Policy):
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
        self.solvers = tuple(solvers)
        self.time_limit = time_limit
        self.plan: list[str] = []
        self.planned_version = -1
        self.replans = 0
        self.log: list[str] = []

    def start(self, plan: Sequence[str]) -> None:
        self.plan = list(plan)
        self.planned_version = 0

    def next_hop(self, ctx: Context) -> tuple[str | None, list[tuple[str, str]]]:
        skipped: list[tuple[str, str]] = []
        broken = bool(self.plan) and unavailable(ctx, self.plan[0]) is not None
        if ctx.state.version != self.planned_version or broken:
            self._replan(ctx)
        while self.plan:
            node = self.plan.pop(0)
            reason = unavailable(ctx, node)
            if reason is None:
                return node, skipped
            skipped.append((node, reason))
        return None, skipped

    def _replan(self, ctx: Context) -> None:
        """Re-solve the remaining problem; keep the best checked plan found.

        The rest of the current plan (without the nodes that became unavailable) is the warm
        start and the incumbent when it is still feasible, so a re-plan never collects less
        than skipping would. The solvers are tried in order until one proves optimality; the
        best feasible plan among them is kept otherwise (a time-limited exact solver on a large
        view can return a poor incumbent).
        """
        from ..mtrce.check import check
        from ..registry import solve, solvers

        self.planned_version = ctx.state.version
        problem, ids = remaining_problem(ctx)
        if problem is None:
            self.plan = []
            self.log.append(f"t={ctx.time:.1f}s: nothing to re-plan ({ids})")
            return
        keep = [n for n in self.plan if n in problem.ids and unavailable(ctx, n) is None]
        start, end = problem.ids[problem.start], problem.ids[problem.end]
        initial = {"routes": [[start, *keep, end]]}
        report = check(problem, initial)
        best_route, best_value, best_name = None, -np.inf, "the rest of the plan"
        if report.ok:
            best_route, best_value = initial["routes"][0], float(report.objective)
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


class AATSPolicy(Policy):
    """Local hop-by-hop decisions (AATS): no destination list, only what is visible from here.

    At every node it calls the registered ``aats`` MTRCE solver on the remaining problem and takes
    the first hop of its answer; if no ``aats`` solver is registered (or ``use_solver`` is False),
    it applies :meth:`local_choice`.
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
        """Best ``utility / (transfer + wait + training)`` among nodes still safe to visit.

        A node is safe when, after training there, the model can still reach the end and be
        verified by the deadline, and its window is still open on arrival.
        """
        v = ctx.view
        cur = v.ids.index(ctx.current)
        end = v.ids.index(ctx.end)
        deadline = math.inf if ctx.request.deadline is None else ctx.request.deadline
        arrive = ctx.time + v.transfer[cur]
        begin = np.maximum(arrive, v.window_open)
        finish = begin + v.train_time
        back = finish + v.transfer[:, end] + v.train_time[end] * 0 + v.verify_time
        ok = (
            np.isfinite(back)
            & (back <= deadline + 1e-9)
            & (begin <= v.window_close + 1e-9)
            & (v.utility > 0)
        )
        for k, node in enumerate(v.ids):
            if node in ctx.visited or node == ctx.end or not ctx.state.is_up(node):
                ok[k] = False
        if not ok.any():
            return None
        ratio = np.where(ok, v.utility / np.maximum(finish - ctx.time, 1e-9), -np.inf)
        return v.ids[int(np.argmax(ratio))]


POLICIES: dict[str, Callable[[], Policy]] = {
    "static": StaticPolicy,
    "replan": ReplanPolicy,
    "aats": AATSPolicy,
}


def make_policy(policy: str | Policy) -> Policy:
    if isinstance(policy, Policy):
        return policy
    if policy not in POLICIES:
        raise InputError("policy", policy, f"expected one of {sorted(POLICIES)}")
    return POLICIES[policy]()
