"""The T-FAM part of an explanation page: which requests were admitted with which plan, which
were refused and what binds them, drawn on the map and on a timeline.

A refused request's *binding reason* is computed here from the problem arrays and the decision:
for each of its plans, the resources that adding the plan would put over capacity; the plan
blocked by the fewest is named with its worst resource and the admitted requests holding that
resource. A refused request with a plan that fits is reported as such (the solver's choice, not
a capacity, left it out).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..drrt.instance import Instance
from ..errors import InputError
from ..result import Result
from ..tfam.solution import from_solution, load_of, slack
from .assets import Cell, figure, fmt, num_cell, pct, table, text_cell
from .mapview import MapRoute, snapshot_map
from .svg import Row, Segment, colour, timeline

KINDS = {"admitted plan": "#1f77b4", "refused": "#bdbdbd", "deadline": "#d62728"}


def _label(problem: Any, p: int) -> str:
    return (problem.plan_labels or [f"plan {p}"] * problem.n_plans)[p]


def holders(problem: Any, choice: np.ndarray, k: int) -> list[str]:
    """Admitted requests whose chosen plan uses resource ``k``."""
    return [
        problem.request_ids[r]
        for r, p in enumerate(choice.tolist())
        if p >= 0 and problem.use[p, k] > 0
    ]


def binding_reason(problem: Any, choice: np.ndarray, r: int) -> str:
    """Why refused request ``r`` cannot join the admitted set (see the module docstring)."""
    lo, hi = int(problem.plan_start[r]), int(problem.plan_start[r + 1])
    if hi == lo:
        return "no candidate plan"
    load, cap = load_of(problem, choice), slack(problem)
    best: tuple[int, int, list[tuple[float, int, float]]] | None = None
    for p in range(lo, hi):
        row = problem.use[p]
        over = [
            (load[k] + v - problem.capacity[k], int(k), float(v))
            for k, v in zip(row.indices, row.data, strict=True)
            if load[k] + v > cap[k]
        ]
        if not over:
            return (
                f"plan {p - lo} ({_label(problem, p)}) fits the capacity left: the solver "
                "chose not to admit it (no binding capacity)"
            )
        if best is None or len(over) < best[0]:
            best = (len(over), p, over)
    assert best is not None
    n, p, over = best
    _excess, k, need = max(over)
    held = holders(problem, choice, k)
    by = f" held by {', '.join(held)}" if held else ""
    more = f" (and {n - 1} more resource(s))" if n > 1 else ""
    every = "its only plan" if hi - lo == 1 else f"each of its {hi - lo} plans is blocked; plan"
    return (
        f"capacity: {every} {p - lo} ({_label(problem, p)}) needs {need:g} of "
        f"{problem.resource_ids[k]} where {load[k]:g} of {problem.capacity[k]:g} is{by}{more}"
    )


def _plan_route(label: str, owner: str | None) -> tuple[list[str], bool]:
    """Node ids to draw for a plan label: ``a>b>c`` a route, ``{a,b} ...`` a client star."""
    head = label.split(" +")[0].strip()
    if head.startswith("{") and head.endswith("}"):
        clients = [c for c in head[1:-1].split(",") if c]
        if owner is None:
            return clients, True
        ids = [owner]
        for c in clients:
            ids += [c, owner]
        return ids, True
    return [v for v in head.split(">") if v], False


def tfam_sections(instance: Instance, problem: Any, result: Result) -> str:
    """Admissions, binding reasons, the map of admitted plans, the timeline and the resources."""
    solution = result.solution or {}
    try:
        choice = from_solution(problem, {"admitted": solution.get("admitted") or {}})
    except InputError:
        choice = np.full(problem.n_requests, -1, dtype=np.int64)
    unplannable = dict(solution.get("unplannable") or problem.unplannable or {})
    requests = {q.id: q for q in instance.requests}
    index = problem.request_index()
    rows, tl_rows, routes = [], [], []
    roles: dict[str, str] = {}
    for rid, req in requests.items():
        entry = _request_entry(problem, choice, req, index.get(rid), unplannable, len(routes))
        if entry.route is not None:
            routes.append(entry.route)
            for v in entry.route.ids:
                roles.setdefault(v, "visited")
        if getattr(req, "owner", None):
            roles[req.owner] = "start"
        tl_rows.append(entry.timeline)
        rows.append(entry.cells)
    attrs = [{"class": "request-row", "data-state": str(c[3].sort)} for c in rows]
    admitted = int((choice >= 0).sum())
    mp = snapshot_map(
        instance.snapshot, roles=roles, routes=routes, title="snapshot map with the admitted plans"
    )
    parts = [
        "<h2>Admission</h2>",
        f"<p>{admitted} of {len(requests)} requests admitted (value "
        f"{fmt(float(problem.value[choice[choice >= 0]].sum()) if admitted else 0.0)}); "
        f"{problem.n_requests - admitted} refused, {len(requests) - problem.n_requests} "
        "could not be planned. A refused request's reason names the resource that binds.</p>",
        table(
            "requests",
            (
                "request",
                "mode",
                "data",
                "decision",
                "plan",
                "value",
                "finishes s",
                "deadline s",
                "must admit",
                "reason",
            ),
            rows,
            row_attrs=attrs,
        ),
        figure(
            mp,
            "Admitted plans over the snapshot: a sequential plan as its route, a "
            "federated plan (dashed) as a star from the owner to its clients.",
        ),
        "<h2>Timeline</h2>",
        figure(
            timeline(
                tl_rows,
                kinds=KINDS,
                xlabel="seconds on the snapshot's clock",
                title="admission timeline",
                css_class="timeline admission",
            ),
            "Per request: its admitted plan from arrival to completion (blue) or, when "
            "refused, the time it had (grey); the red tick is its deadline.",
        ),
        _resources(problem, choice),
    ]
    return "".join(parts)


@dataclass
class _Entry:
    """One request on the page: its table cells, its timeline row, its plan on the map."""

    cells: list[Cell]
    timeline: Row
    route: MapRoute | None


def _request_entry(
    problem: Any,
    choice: np.ndarray,
    req: Any,
    r: int | None,
    unplannable: dict[str, str],
    n_routes: int,
) -> _Entry:
    """The decision on request ``req`` (batch index ``r``; None: not in the batch)."""
    rid = req.id
    p = int(choice[r]) if r is not None else -1
    must = bool(problem.must_admit[r]) if r is not None else False
    deadline = (
        float(problem.deadline[r])
        if r is not None and problem.deadline is not None
        else (float(req.deadline) if req.deadline is not None else math.inf)
    )
    arrival = float(req.arrival)
    row = Row(rid)
    route = None
    if r is None:
        state, plan, value, finish = "unplannable", "-", None, None
        why = unplannable.get(rid, "not in the admission batch")
    elif p >= 0:
        label = _label(problem, p)
        state, plan = "admitted", f"{p - int(problem.plan_start[r])}: {label}"
        value = float(problem.value[p])
        finish = float(problem.finish[p]) if problem.finish is not None else None
        why = "admitted" + (" (must admit)" if must else "")
        ids, star = _plan_route(label, getattr(req, "owner", None))
        route = MapRoute(rid, ids, colour(n_routes), dashed=star, title=f"{rid}: {label}")
        if finish is not None:
            done = f"{rid}: {label}, done at {fmt(arrival + finish, 4)} s"
            row.segments.append(Segment(arrival, arrival + finish, "admitted plan", done))
    else:
        state, plan, value, finish = "refused", "-", None, None
        why = binding_reason(problem, choice, r)
        if math.isfinite(deadline):
            refused = f"{rid} refused: {why}"
            row.segments.append(Segment(arrival, arrival + deadline, "refused", refused))
    if math.isfinite(deadline):
        row.marks.append((arrival + deadline, "deadline", f"{rid}: deadline"))
    state_html = f'<span class="bad">{state}</span>' if state != "admitted" else state
    cells = [
        text_cell(rid),
        text_cell(getattr(req, "mode", "")),
        text_cell(f"{getattr(req, 'modality', '')}/{getattr(req, 'task', '')}"),
        Cell(state_html, state),
        text_cell(plan),
        num_cell(value),
        num_cell(finish, fmt(finish, 4)),
        num_cell(deadline if math.isfinite(deadline) else None, fmt(deadline, 4)),
        text_cell("yes" if must else ""),
        text_cell(why),
    ]
    return _Entry(cells, row, route)


def _resources(problem: Any, choice: np.ndarray) -> str:
    load = load_of(problem, choice)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(
            problem.capacity > 0, load / problem.capacity, np.where(load > 0, np.inf, 0)
        )
    order = [int(k) for k in np.argsort(-util, kind="stable") if load[k] > 0][:60]
    rows = [
        [
            text_cell(problem.resource_ids[k]),
            num_cell(float(load[k])),
            num_cell(float(problem.capacity[k])),
            num_cell(float(util[k]), pct(float(util[k]))),
            text_cell(", ".join(holders(problem, choice, k))),
        ]
        for k in order
    ]
    return (
        "<h2>Resources in use</h2>"
        f'<p class="muted">{len(order)} of {problem.n_resources} resources carry load '
        "(fullest first, at most 60 shown).</p>"
        + table("resources", ("resource", "load", "capacity", "utilisation", "held by"), rows)
    )
