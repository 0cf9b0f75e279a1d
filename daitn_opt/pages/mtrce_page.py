"""The MTRCE part of an explanation page: the map, the request's view, the routes and their
schedule.

The schedule is the one the solution document carries (``arrivals``, ``service_starts``) when it
does, else the earliest-start schedule of :func:`daitn_opt.mtrce.solution.schedule`; wait,
training and transfer are read from it and the problem's service and travel times, so the
timeline shows exactly where each route spends its time against windows and the deadline.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..drrt.instance import Instance
from ..drrt.view import View
from ..mtrce.solution import schedule
from ..result import Result
from .assets import esc, figure, fmt, num_cell, table, text_cell
from .mapview import MapRoute, snapshot_map
from .svg import Row, Segment, colour, timeline

KINDS = {
    "window": "#9ecae1",
    "wait": "#bdbdbd",
    "training": "#1f77b4",
    "transfer": "#ff7f0e",
    "verification": "#9467bd",
}
"""Timeline bar kinds and their colours (the legend of the schedule)."""


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def route_schedule(problem: Any, route: list[str], k: int, solution: dict[str, Any]) -> list[dict]:
    """Per stop of ``route``: node, arrival, service start, training, transfer to the next."""
    idx = [problem.ids.index(v) for v in route]
    arrivals, starts = None, None
    given_a, given_s = solution.get("arrivals"), solution.get("service_starts")
    if (
        isinstance(given_a, list)
        and isinstance(given_s, list)
        and k < min(len(given_a), len(given_s))
        and len(given_a[k]) == len(route) == len(given_s[k])
    ):
        arrivals = [float(a) if a is not None else math.inf for a in given_a[k]]
        starts = [float(s) if s is not None else math.inf for s in given_s[k]]
    if arrivals is None or starts is None:
        arr, st, _, _ = schedule(problem, idx)
        arrivals, starts = arr.tolist(), st.tolist()
    stops = []
    for p, node in enumerate(idx):
        train = float(problem.service[node])
        nxt = idx[p + 1] if p + 1 < len(idx) else None
        travel = float(problem.travel[node, nxt]) if nxt is not None else None
        stops.append(
            {
                "node": problem.ids[node],
                "index": node,
                "arrival": arrivals[p],
                "start": starts[p],
                "wait": max(0.0, starts[p] - arrivals[p]),
                "training": train,
                "transfer": travel,
            }
        )
    return stops


def _timeline(problem: Any, routes: list[list[str]], plans: list[list[dict]]) -> str:
    a = problem.window_open
    b = problem.window_close
    rows = []
    for k, stops in enumerate(plans):
        for p, s in enumerate(stops):
            i = s["index"]
            label = f"{k + 1}.{p} {s['node']}" if len(plans) > 1 else f"{p} {s['node']}"
            row = Row(label)
            if a is not None and (a[i] > 0 or math.isfinite(b[i])):
                close = float(b[i]) if math.isfinite(b[i]) else math.inf
                row.segments.append(
                    Segment(
                        float(a[i]),
                        close,
                        "window",
                        f"{s['node']}: window {fmt(float(a[i]))} - {fmt(close)} s",
                    )
                )
            if s["wait"] > 1e-9:
                row.segments.append(
                    Segment(
                        s["arrival"],
                        s["start"],
                        "wait",
                        f"{s['node']}: waits {fmt(s['wait'], 4)} s for its window",
                    )
                )
            done = s["start"] + s["training"]
            if s["training"] > 0:
                row.segments.append(
                    Segment(
                        s["start"],
                        done,
                        "training",
                        f"{s['node']}: trains {fmt(s['training'], 4)} s "
                        f"({fmt(s['start'], 4)} - {fmt(done, 4)})",
                    )
                )
            if s["transfer"] is not None and p + 1 < len(stops):
                nxt = stops[p + 1]
                row.segments.append(
                    Segment(
                        done,
                        nxt["arrival"],
                        "transfer",
                        f"{s['node']} -> {nxt['node']}: {fmt(s['transfer'], 4)} s",
                    )
                )
            if p == len(stops) - 1 and problem.verify_time > 0:
                row.segments.append(
                    Segment(
                        done,
                        done + problem.verify_time,
                        "verification",
                        f"verification at {s['node']}: {fmt(problem.verify_time, 4)} s",
                    )
                )
            rows.append(row)
    vlines = []
    if math.isfinite(problem.deadline):
        vlines.append((problem.deadline, "#d62728", f"deadline {fmt(problem.deadline)} s"))
    return timeline(
        rows,
        kinds=KINDS,
        xlabel="seconds after the request arrives",
        title="route schedule",
        vlines=vlines,
        css_class="timeline schedule",
    )


def _schedule_table(problem: Any, plans: list[list[dict]]) -> str:
    a, b = problem.window_open, problem.window_close
    rows = []
    for k, stops in enumerate(plans):
        for p, s in enumerate(stops):
            i = s["index"]
            window = "-"
            if a is not None and (a[i] > 0 or math.isfinite(b[i])):
                window = f"{fmt(float(a[i]), 4)} - {fmt(float(b[i]), 4)}"
            rows.append(
                [
                    num_cell(k + 1),
                    num_cell(p),
                    text_cell(s["node"]),
                    num_cell(s["arrival"], fmt(s["arrival"], 5)),
                    num_cell(s["wait"], fmt(s["wait"], 4)),
                    num_cell(s["start"], fmt(s["start"], 5)),
                    num_cell(s["training"], fmt(s["training"], 4)),
                    text_cell(window),
                    num_cell(s["transfer"], fmt(s["transfer"], 4)),
                    num_cell(float(problem.utility[i]), fmt(float(problem.utility[i]), 4)),
                ]
            )
    cols = (
        "route",
        "stop",
        "node",
        "arrival s",
        "wait s",
        "training starts s",
        "training s",
        "window s",
        "transfer to next s",
        "utility",
    )
    return table("schedule", cols, rows, filterable=False)


def mtrce_sections(instance: Instance, problem: Any, result: Result, v: View) -> str:
    """Map, view ``v`` (the one ``problem`` was built from), routes and schedule."""
    routes = [list(map(str, r)) for r in (result.solution.get("routes") or [])]
    start, end = problem.ids[problem.start], problem.ids[problem.end]
    roles: dict[str, str] = {node_id: "excluded" for node_id in v.excluded}
    roles.update({node_id: "eligible" for node_id in v.ids})
    roles.update({node_id: "visited" for r in routes for node_id in r if node_id in roles})
    roles[start], roles[end] = "start", "end"
    notes = {node_id: f"excluded: {why}" for node_id, why in v.excluded.items()}
    for i, node_id in enumerate(v.ids):
        notes[node_id] = (
            f"utility {fmt(float(v.utility[i]), 4)}, training {fmt(float(v.train_time[i]), 4)} s"
        )
    in_view = set(problem.ids)
    plans, outside = [], []
    for k, r in enumerate(routes):
        missing = [node_id for node_id in r if node_id not in in_view]
        if missing:
            outside.append(f"route {k + 1} passes {', '.join(missing)}, outside the view")
            plans.append([])
            continue
        plans.append(route_schedule(problem, r, k, result.solution))
    map_routes = []
    for k, (r, stops) in enumerate(zip(routes, plans, strict=True)):
        done = ""
        if stops:
            last = stops[-1]
            done = (
                f"; completes at {fmt(last['start'] + last['training'] + problem.verify_time, 5)} s"
            )
        map_routes.append(
            MapRoute(
                f"route {k + 1}",
                r,
                colour(k + 2) if k else "#d62728",
                title=f"route {k + 1}: {' -> '.join(r)}{done}",
            )
        )
    mp = snapshot_map(
        instance.snapshot,
        roles=roles,
        notes=notes,
        routes=map_routes,
        title="snapshot map with the routes",
    )
    parts = [
        "<h2>The snapshot and the route</h2>",
        f"<p>Request <b>{esc(v.request_id)}</b>: start {esc(start)}, end {esc(end)}, "
        f"deadline {fmt(problem.deadline)} s, verification {fmt(problem.verify_time, 4)} s, "
        f"objective <code>{esc(problem.objective)}</code>, {len(v.ids)} nodes in view, "
        f"{len(v.excluded)} data nodes excluded, {len(routes)} route(s).</p>",
        figure(
            mp,
            "Each marker is a node (shape and colour by kind; green outline: eligible "
            "for the request, faded with a red outline: excluded, dashed red: down). Grey "
            "lines are links that are up, dashed red ones links that are down; the "
            "arrowed paths are the routes. Hover a node or a route for details.",
        ),
    ]
    parts += [f'<p class="bad">{esc(o)}</p>' for o in outside]
    if any(plans):
        parts.append("<h2>Schedule</h2>")
        parts.append(
            figure(
                _timeline(problem, routes, [p for p in plans if p]),
                "Per stop: the availability window (light band), waiting for it "
                "(grey), training (blue), moving the model to the next stop (orange) "
                "and the MPVU's verification (purple); the dashed red line is the "
                "deadline.",
            )
        )
        parts.append(_schedule_table(problem, [p for p in plans if p]))
    parts.append(_view_tables(v, routes))
    return "".join(parts)


def _view_tables(v: Any, routes: list[list[str]]) -> str:
    where = {node_id: f"{k + 1}.{p}" for k, r in enumerate(routes) for p, node_id in enumerate(r)}
    rows = []
    for i, node_id in enumerate(v.ids):
        close = v.window_close[i]
        window = (
            "-"
            if not math.isfinite(close) and v.window_open[i] == 0
            else (f"{fmt(float(v.window_open[i]), 4)} - {fmt(float(close), 4)}")
        )
        rows.append(
            [
                text_cell(node_id),
                text_cell(where.get(node_id, "")),
                num_cell(float(v.utility[i]), fmt(float(v.utility[i]), 4)),
                num_cell(float(v.samples[i]), fmt(float(v.samples[i]))),
                num_cell(float(v.train_time[i]), fmt(float(v.train_time[i]), 4)),
                text_cell(window),
                num_cell(_finite(v.transfer[v.start, i]), fmt(float(v.transfer[v.start, i]), 4)),
                num_cell(_finite(v.transfer[i, v.end]), fmt(float(v.transfer[i, v.end]), 4)),
            ]
        )
    excluded = [[text_cell(node_id), text_cell(why)] for node_id, why in v.excluded.items()]
    unused = int(np.sum([node_id not in where for node_id in v.ids]))
    return (
        "<h2>The request's view</h2>"
        f'<p class="muted">{len(v.ids)} nodes are in the view ({unused} of them on no route); '
        'the column "on route" gives route.stop.</p>'
        + table(
            "view-eligible",
            (
                "node",
                "on route",
                "utility",
                "samples",
                "training s",
                "window s",
                "from start s",
                "to end s",
            ),
            rows,
        )
        + f"<h3>Excluded data nodes ({len(excluded)})</h3>"
        + (
            table("view-excluded", ("node", "reason"), excluded)
            if excluded
            else '<p class="muted">None.</p>'
        )
    )
