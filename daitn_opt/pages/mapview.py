"""The snapshot drawn as a map: one marker per node (shape and colour by kind), its links (up
solid, down dashed red) and routes drawn over it as arrowed paths.

Positions come from the snapshot (``node.position``, y pointing north); nodes without one are
put on a circle around the others, so that converted benchmarks without coordinates (GAP) still
get a picture. The map knows nothing about solvers: callers pass each node's role in the decision
(``start``, ``eligible``, ``excluded``, ...) and tooltips, and the routes to draw.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..drrt.snapshot import Snapshot
from .assets import esc

KIND_COLOUR = {
    "data": "#1f77b4",
    "compute": "#8c564b",
    "mpvu": "#9467bd",
    "user": "#2ca02c",
    "mdfp": "#ff7f0e",
}
ROLE_STYLE = {
    "start": ("#111", 3.0),
    "end": ("#111", 3.0),
    "eligible": ("#1e7b34", 2.0),
    "visited": ("#111", 2.0),
    "excluded": ("#b3261e", 1.2),
}
"""Role -> (outline colour, outline width); nodes without a role get a thin white outline."""


@dataclass
class MapRoute:
    """A route to draw: node ids in order, its colour and tooltip."""

    label: str
    ids: Sequence[str]
    colour: str
    width: float = 2.5
    dashed: bool = False
    title: str = ""


def layout(snapshot: Snapshot) -> dict[str, tuple[float, float]]:
    """Node id -> (x, y) in the snapshot's own units; missing positions go on a circle."""
    pos = {n.id: (n.position.x, n.position.y) for n in snapshot.nodes if n.position is not None}
    missing = [n.id for n in snapshot.nodes if n.id not in pos]
    if missing:
        if pos:
            xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
            cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
            radius = 0.6 * max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
        else:
            cx, cy, radius = 0.0, 0.0, 1.0
        for k, node_id in enumerate(missing):
            angle = 2 * math.pi * k / len(missing)
            pos[node_id] = (cx + radius * math.cos(angle), cy + radius * math.sin(angle))
    return pos


def _marker(kind: str, x: float, y: float, r: float) -> tuple[str, str]:
    """(element name, geometry attributes) of a node marker of ``kind`` centred at (x, y)."""
    if kind == "data":
        return "circle", f'cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}"'
    if kind in ("compute", "mdfp"):
        return "rect", f'x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}"'
    if kind == "mpvu":
        pts = [(x, y - 1.3 * r), (x + 1.3 * r, y), (x, y + 1.3 * r), (x - 1.3 * r, y)]
    else:  # user: a triangle
        pts = [(x, y - 1.3 * r), (x + 1.2 * r, y + r), (x - 1.2 * r, y + r)]
    return "polygon", 'points="' + " ".join(f"{a:.1f},{b:.1f}" for a, b in pts) + '"'


def snapshot_map(
    snapshot: Snapshot,
    *,
    roles: dict[str, str] | None = None,
    notes: dict[str, str] | None = None,
    routes: Sequence[MapRoute] = (),
    title: str = "snapshot map",
    width: int = 820,
    height: int = 560,
) -> str:
    """The map as one ``<svg class="map">``: ``.node`` markers, ``.link`` lines, ``.route`` paths.

    ``roles`` (node id -> start/end/eligible/visited/excluded) sets each marker's outline and
    ``data-role``; ``notes`` adds a line to a node's tooltip (an exclusion reason, a deployment).
    """
    roles = roles or {}
    notes = notes or {}
    pos = layout(snapshot)
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    pad, legend_w = 24, 160
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    scale = min((width - legend_w - 2 * pad), (height - 2 * pad)) / span

    x_min, y_min = min(xs), min(ys)

    def at(node_id: str) -> tuple[float, float]:
        x, y = pos[node_id]
        return pad + (x - x_min) * scale, height - pad - (y - y_min) * scale

    n = snapshot.num_nodes
    r = 7.0 if n <= 60 else (4.5 if n <= 400 else 2.5)
    parts = [
        f'<rect x="0" y="0" width="{width - legend_w}" height="{height}" fill="#fbfcfd" '
        'stroke="#d6dbe1"/>',
    ]
    parts.append(f'<g class="links">{"".join(_link_lines(snapshot, at))}</g>')
    parts.append(f'<g class="routes">{"".join(_route_paths(routes, pos, at))}</g>')
    nodes = _node_markers(snapshot, at, r, roles, notes, routes)
    parts.append(f'<g class="nodes">{"".join(nodes)}</g>')
    parts.append(_legend(width - legend_w + 10, routes))
    return (
        f'<svg class="map" role="img" aria-label="{esc(title)}" xmlns="http://www.w3.org/2000/svg"'
        f' width="{width}" height="{height}" viewBox="0 0 {width} {height}">{"".join(parts)}</svg>'
    )


Place = Callable[[str], tuple[float, float]]
"""Node id -> its (x, y) on the drawing."""


def _link_lines(snapshot: Snapshot, at: Place) -> list[str]:
    """One ``.link`` line per link: grey when usable, dashed red when it or an end is down."""
    down_nodes = {node.id for node in snapshot.nodes if not node.up}
    links = []
    for lk in snapshot.links:
        (x1, y1), (x2, y2) = at(lk.source), at(lk.target)
        up = lk.up and lk.source not in down_nodes and lk.target not in down_nodes
        style = (
            'stroke="#c3c9d0" stroke-width="1"'
            if up
            else ('stroke="#d62728" stroke-width="1" stroke-dasharray="4 3" stroke-opacity="0.7"')
        )
        state = "up" if up else "down"
        why = "" if lk.up else " (link down)"
        if lk.up and not up:
            why = " (an end node is down)"
        links.append(
            f'<line class="link {state}" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" '
            f'y2="{y2:.1f}" {style}><title>{esc(lk.source)} - {esc(lk.target)}: '
            f"{lk.latency:.3g} s, {lk.bandwidth:.4g} Mbit/s{why}</title></line>"
        )
    return links


def _route_paths(routes: Sequence[MapRoute], pos: dict, at: Place) -> list[str]:
    """One ``.route`` path per route with at least two placed nodes, with arrowheads."""
    paths = []
    for k, route in enumerate(routes):
        known = [v for v in route.ids if v in pos]
        if len(known) < 2:
            continue
        pts = [at(v) for v in known]
        d = "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        dash = ' stroke-dasharray="7 4"' if route.dashed else ""
        paths.append(
            f'<path class="route" data-route="{k}" data-label="{esc(route.label)}" d="{d}" '
            f'fill="none" stroke="{route.colour}" stroke-width="{route.width:.1f}" '
            f'stroke-opacity="0.85" stroke-linejoin="round"{dash}><title>'
            f"{esc(route.title or route.label)}</title></path>"
        )
        paths.extend(_arrows(pts, route.colour))
    return paths


def _node_markers(
    snapshot: Snapshot,
    at: Place,
    r: float,
    roles: dict[str, str],
    notes: dict[str, str],
    routes: Sequence[MapRoute],
) -> list[str]:
    """One ``.node`` marker per node (shape by kind, outline by role, faded when excluded,
    dashed red when down) and the labels worth showing."""
    label_all = snapshot.num_nodes <= 40
    on_route = {v for route in routes for v in route.ids}
    nodes = []
    for node in snapshot.nodes:
        x, y = at(node.id)
        role = roles.get(node.id, "")
        stroke, sw = ROLE_STYLE.get(role, ("#ffffff", 1.0))
        fill = KIND_COLOUR.get(node.kind, "#7f7f7f")
        extra = ' fill-opacity="0.35"' if role == "excluded" else ""
        if not node.up:
            fill, stroke, sw, extra = "#ffffff", "#d62728", 2.0, ' stroke-dasharray="2 2"'
        tag, geom = _marker(node.kind, x, y, r)
        name = f" ({node.name})" if node.name else ""
        lines = [f"{node.id}{name}: {node.kind}{'' if node.up else ', DOWN'}"]
        if role:
            lines.append(f"role: {role}")
        if node.id in notes:
            lines.append(notes[node.id])
        nodes.append(
            f'<{tag} class="node {esc(node.kind)}" data-id="{esc(node.id)}" '
            f'data-kind="{esc(node.kind)}" data-role="{esc(role)}" {geom} fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{sw}"{extra}><title>{esc(chr(10).join(lines))}'
            f"</title></{tag}>"
        )
        if label_all or node.id in on_route or role in ("start", "end"):
            nodes.append(
                f'<text class="node-label" x="{x + r + 2:.1f}" y="{y - r:.1f}" font-size="10" '
                f'fill="#333">{esc(node.id[:14])}</text>'
            )
    return nodes


def _arrows(pts: Sequence[tuple[float, float]], col: str) -> list[str]:
    """A small arrowhead at the middle of each leg, pointing the way the route goes."""
    out = []
    for (x1, y1), (x2, y2) in itertools.pairwise(pts):
        if math.hypot(x2 - x1, y2 - y1) < 12:
            continue  # too short a leg to carry an arrow
        angle = math.degrees(math.atan2(y2 - y1, x2 - x1))
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        out.append(
            f'<polygon class="arrow" points="-5,-4 5,0 -5,4" fill="{col}" '
            f'transform="translate({mx:.1f},{my:.1f}) rotate({angle:.0f})"/>'
        )
    return out


def _legend(x: float, routes: Sequence[MapRoute]) -> str:
    items = []
    y = 14
    for kind, col in KIND_COLOUR.items():
        tag, geom = _marker(kind, x + 8, y, 6)
        items.append(
            f'<{tag} {geom} fill="{col}"/><text x="{x + 22}" y="{y + 4}" '
            f'font-size="11">{esc(kind)}</text>'
        )
        y += 18
    for text, style in (
        ("link up", 'stroke="#c3c9d0"'),
        ("link down", 'stroke="#d62728" stroke-dasharray="4 3"'),
    ):
        items.append(
            f'<line x1="{x}" x2="{x + 16}" y1="{y}" y2="{y}" {style} '
            f'stroke-width="1.5"/><text x="{x + 22}" y="{y + 4}" font-size="11">'
            f"{text}</text>"
        )
        y += 18
    for text, (col, sw) in ROLE_STYLE.items():
        if text in ("end", "visited"):
            continue
        items.append(
            f'<circle cx="{x + 8}" cy="{y}" r="6" fill="#fff" stroke="{col}" '
            f'stroke-width="{sw}"/><text x="{x + 22}" y="{y + 4}" font-size="11">'
            f"{'start / end' if text == 'start' else text}</text>"
        )
        y += 18
    for route in list(routes)[:12]:
        dash = ' stroke-dasharray="7 4"' if route.dashed else ""
        items.append(
            f'<line x1="{x}" x2="{x + 16}" y1="{y}" y2="{y}" stroke="{route.colour}" '
            f'stroke-width="3"{dash}/><text x="{x + 22}" y="{y + 4}" font-size="11">'
            f"{esc(route.label[:20])}</text>"
        )
        y += 18
    return f'<g class="legend">{"".join(items)}</g>'
