"""The QIRCE part of an explanation page: where each model is deployed, where each user's
queries go, and each route's latency against its SLO.

Latency is the problem's arc latency (network round trip plus the model's service time) of the
(demand, facility) pair a route uses; the per-model summary gives the worst latency and the
tightest SLO over the model's served demand, weighted means by routed query rate.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from ..drrt.instance import Instance
from ..result import Result
from .assets import Cell, esc, figure, fmt, num_cell, pct, table, text_cell
from .mapview import MapRoute, snapshot_map
from .svg import Row, Segment, colour, timeline

KINDS = {"within SLO": "#2ca02c", "over SLO": "#d62728", "SLO": "#111111"}
MAX_BARS = 80
"""Routes drawn on the latency chart (the table lists them all)."""


def _arc(problem: Any, d: int, f: int) -> int | None:
    hits = np.flatnonzero((problem.arc_demand == d) & (problem.arc_facility == f))
    return int(hits[0]) if hits.size else None


def served_routes(problem: Any, solution: dict[str, Any], node_ids: set[str]) -> list[dict]:
    """Each route of the solution with its user, model, rate, latency and SLO."""
    d_index = {d: k for k, d in enumerate(problem.demand_ids)}
    f_index = {f: k for k, f in enumerate(problem.facility_ids)}
    out = []
    for route in solution.get("routes") or []:
        if not isinstance(route, dict):
            continue
        demand, facility = str(route.get("demand")), str(route.get("facility"))
        d, f = d_index.get(demand), f_index.get(facility)
        frac = route.get("fraction", 1.0)
        frac = float(frac) if isinstance(frac, int | float) else math.nan
        user = demand.split("/")[0]
        info = {
            "demand": demand,
            "facility": facility,
            "fraction": frac,
            "user": user if user in node_ids else None,
            "model": None,
            "rate": None,
            "latency": None,
            "slo": None,
            "load": 0.0,
        }
        if d is not None:
            info["model"] = problem.model_ids[int(problem.demand_model[d])]
            info["rate"] = float(problem.rate[d]) * frac
            slo = float(problem.slo_ms[d])
            info["slo"] = slo if math.isfinite(slo) else None
        arc = _arc(problem, d, f) if d is not None and f is not None else None
        if arc is not None:
            info["latency"] = float(problem.arc_latency[arc])
            info["load"] = float(problem.arc_load[arc]) * frac
        out.append(info)
    return out


def _met(r: dict) -> bool | None:
    if r["latency"] is None or r["slo"] is None:
        return None
    return r["latency"] <= r["slo"] + 1e-9


def qirce_sections(instance: Instance, problem: Any, result: Result) -> str:
    """Placements, query routes on the map, latency against SLO, refusals."""
    solution = result.solution or {}
    node_ids = set(instance.snapshot.ids())
    routes = served_routes(problem, solution, node_ids)
    deployed: dict[str, list[str]] = defaultdict(list)
    for dep in solution.get("deployments") or []:
        if isinstance(dep, dict):
            deployed[str(dep.get("facility"))].append(str(dep.get("model")))
    models = sorted({r["model"] for r in routes if r["model"]})
    model_colour = {m: colour(k) for k, m in enumerate(models)}
    map_routes = [
        MapRoute(
            f"{r['demand']} -> {r['facility']}",
            [r["user"], r["facility"]],
            model_colour.get(r["model"], "#7f7f7f"),
            width=1.2 + 2.5 * (r["fraction"] if math.isfinite(r["fraction"]) else 1.0),
            title=f"{r['demand']} -> {r['facility']}: {pct(r['fraction'])} of the queries, "
            f"{fmt(r['latency'], 4)} ms against an SLO of {fmt(r['slo'], 4)} ms",
        )
        for r in routes
        if r["user"] and r["facility"] in node_ids
    ]
    load: dict[str, float] = defaultdict(float)
    for r in routes:
        load[r["facility"]] += r["load"]
    roles, notes = {}, {}
    for k, f in enumerate(problem.facility_ids):
        if f in deployed:
            roles[f] = "visited"
        notes[f] = (
            f"deploys {', '.join(deployed.get(f, [])) or 'nothing'}; load "
            f"{fmt(load.get(f, 0.0), 4)} of {fmt(float(problem.capacity[k]), 4)}"
        )
    for r in routes:
        if r["user"]:
            roles.setdefault(r["user"], "start")
    mp = snapshot_map(
        instance.snapshot,
        roles=roles,
        notes=notes,
        routes=map_routes,
        title="snapshot map with the query routes",
    )
    parts = [
        "<h2>Placement and query routes</h2>",
        f"<p>{len(routes)} query route(s) over {len(deployed)} facility(ies); "
        f"{len(solution.get('refused') or [])} demand(s) not (fully) served. Colour by model: "
        + ", ".join(f'<span style="color:{c}">{esc(m)}</span>' for m, c in model_colour.items())
        + ".</p>",
        figure(
            mp,
            "Each line goes from a user to the facility serving (part of) its demand for "
            "one model, thicker for a larger fraction; hover a facility for its models and "
            "load.",
        ),
        _latency_chart(routes),
        _route_table(routes),
        _model_table(routes),
        _facility_table(problem, deployed, load),
        _refused_table(solution),
    ]
    return "".join(parts)


def _latency_chart(routes: list[dict]) -> str:
    rows = []
    for r in routes[:MAX_BARS]:
        row = Row(f"{r['demand']}>{r['facility']}")
        met = _met(r)
        if r["latency"] is not None:
            kind = "over SLO" if met is False else "within SLO"
            row.segments.append(
                Segment(
                    0.0,
                    r["latency"],
                    kind,
                    f"{r['demand']} at {r['facility']}: {fmt(r['latency'], 4)} ms",
                )
            )
        if r["slo"] is not None:
            row.marks.append((r["slo"], "SLO", f"SLO {fmt(r['slo'], 4)} ms"))
        rows.append(row)
    more = f" (the first {MAX_BARS} of {len(routes)})" if len(routes) > MAX_BARS else ""
    return "<h2>Latency against SLO</h2>" + figure(
        timeline(
            rows,
            kinds=KINDS,
            xlabel="milliseconds (round trip + service)",
            title="latency per route",
            css_class="timeline latency",
        ),
        f"Per query route{more}: its latency (green within the SLO, red over it) and the "
        "demand's SLO (black tick).",
    )


def _route_table(routes: list[dict]) -> str:
    rows = []
    for r in routes:
        met = _met(r)
        shown = {True: "yes", False: '<span class="bad">NO</span>', None: "-"}[met]
        slack = None if met is None else r["slo"] - r["latency"]
        rows.append(
            [
                text_cell(r["demand"]),
                text_cell(r["user"] or "-"),
                text_cell(r["model"] or "-"),
                text_cell(r["facility"]),
                num_cell(r["fraction"], pct(r["fraction"])),
                num_cell(r["rate"], fmt(r["rate"], 4)),
                num_cell(r["latency"], fmt(r["latency"], 4)),
                num_cell(r["slo"], fmt(r["slo"], 4)),
                num_cell(slack, fmt(slack, 4)),
                Cell(shown, {True: "1", False: "0", None: ""}[met]),
            ]
        )
    return "<h3>Query routes</h3>" + table(
        "query-routes",
        (
            "demand",
            "user",
            "model",
            "facility",
            "fraction",
            "q/s",
            "latency ms",
            "SLO ms",
            "slack ms",
            "SLO met",
        ),
        rows,
        row_attrs=[{"class": "route-row"} for _ in rows],
    )


def _model_table(routes: list[dict]) -> str:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in routes:
        if r["model"]:
            groups[r["model"]].append(r)
    rows = []
    for model, rs in sorted(groups.items()):
        lat = [r["latency"] for r in rs if r["latency"] is not None]
        slos = [r["slo"] for r in rs if r["slo"] is not None]
        weights = [(r["rate"] or 0.0, r["latency"]) for r in rs if r["latency"] is not None]
        total = sum(w for w, _ in weights)
        mean = sum(w * v for w, v in weights) / total if total > 0 else None
        over = sum(_met(r) is False for r in rs)
        rows.append(
            [
                text_cell(model),
                num_cell(len(rs)),
                num_cell(
                    sum(r["rate"] or 0.0 for r in rs), fmt(sum(r["rate"] or 0.0 for r in rs), 4)
                ),
                num_cell(mean, fmt(mean, 4)),
                num_cell(max(lat) if lat else None, fmt(max(lat), 4) if lat else "-"),
                num_cell(min(slos) if slos else None, fmt(min(slos), 4) if slos else "-"),
                Cell(f'<span class="bad">{over}</span>' if over else "0", str(over), True),
                text_cell(", ".join(sorted({r["facility"] for r in rs}))),
            ]
        )
    return "<h3>Per model</h3>" + table(
        "per-model",
        (
            "model",
            "routes",
            "served q/s",
            "mean latency ms",
            "worst latency ms",
            "tightest SLO ms",
            "routes over SLO",
            "facilities",
        ),
        rows,
        filterable=False,
    )


def _facility_table(problem: Any, deployed: dict[str, list[str]], load: dict[str, float]) -> str:
    rows = []
    for k, f in enumerate(problem.facility_ids):
        cap = float(problem.capacity[k])
        mem = sum(
            float(problem.model_memory[problem.model_ids.index(m)])
            for m in deployed.get(f, [])
            if m in problem.model_ids
        )
        util = load.get(f, 0.0) / cap if cap > 0 else None
        rows.append(
            [
                text_cell(f),
                text_cell(", ".join(deployed.get(f, [])) or "-"),
                num_cell(load.get(f, 0.0), fmt(load.get(f, 0.0), 4)),
                num_cell(cap, fmt(cap, 4)),
                num_cell(util, pct(util)),
                num_cell(mem, fmt(mem, 4)),
                num_cell(
                    float(problem.facility_memory[k]), fmt(float(problem.facility_memory[k]), 4)
                ),
            ]
        )
    return "<h3>Facilities</h3>" + table(
        "facilities",
        (
            "facility",
            "models deployed",
            "load",
            "capacity",
            "utilisation",
            "memory used GB",
            "memory GB",
        ),
        rows,
        filterable=False,
    )


def _refused_table(solution: dict[str, Any]) -> str:
    refused = [r for r in solution.get("refused") or [] if isinstance(r, dict)]
    if not refused:
        return '<h3>Refused demand</h3><p class="muted">None: every demand is served in full.</p>'
    rows = [
        [
            text_cell(r.get("demand")),
            num_cell(r.get("fraction"), pct(r.get("fraction"))),
            text_cell(r.get("reason", "")),
        ]
        for r in refused
    ]
    return "<h3>Refused demand</h3>" + table("refused", ("demand", "fraction", "reason"), rows)
