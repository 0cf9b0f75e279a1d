"""Hand-built inline SVG: line charts, Gantt-style timelines and scales.

Inline SVG keeps every page self-contained and lets each drawn thing carry a class and a
``<title>`` tooltip (a test counts ``path.series`` or ``rect.seg``; a user hovers for values),
which a rendered matplotlib figure would not. Nothing here knows about solvers or snapshots.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from .assets import esc, fmt

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
"""Matplotlib's tab10: distinguishable, and the colours the PNG reports already use."""


def colour(k: int) -> str:
    return PALETTE[k % len(PALETTE)]


@dataclass(frozen=True)
class Scale:
    """Maps a data interval onto a pixel interval, linearly or logarithmically."""

    lo: float
    hi: float
    start: float
    end: float
    log: bool = False

    def _t(self, v: float) -> float:
        return math.log10(v) if self.log else v

    def __call__(self, v: float) -> float:
        a, b = self._t(self.lo), self._t(self.hi)
        if self.log:
            v = max(v, self.lo)
        frac = 0.5 if b == a else (self._t(v) - a) / (b - a)
        return self.start + frac * (self.end - self.start)

    def ticks(self, count: int = 5) -> list[float]:
        """Round tick values inside the interval (powers of ten on a log scale)."""
        if self.log and self.hi < 10 * self.lo:
            # less than a decade: round linear ticks read better than a single power of ten
            return Scale(self.lo, self.hi, self.start, self.end).ticks(count)
        if self.log:
            lo, hi = math.floor(math.log10(self.lo)), math.ceil(math.log10(self.hi))
            step = max(1, (hi - lo) // count)
            return [10.0**e for e in range(lo, hi + 1, step) if self.lo <= 10.0**e <= self.hi]
        span = self.hi - self.lo
        if not math.isfinite(span):
            return []
        if span <= 0:
            return [self.lo]
        raw = span / max(count, 1)
        mag = 10 ** math.floor(math.log10(raw))
        step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
        first = math.ceil(self.lo / step - 1e-9)
        count_max = int((self.hi - first * step) / step + 1e-9) + 1
        # indexed, not accumulated: adding a tiny step to a large value could stall forever
        return [round((first + i) * step, 12) for i in range(max(0, min(count_max, 50)))]


def _num(v: float) -> str:
    return f"{v:.1f}"


def _tick_label(v: float) -> str:
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        return f"{v:.0e}"
    return fmt(v, 4)


@dataclass
class Series:
    """One curve: a label, x and y values (same length), and whether it is drawn as steps."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    step: bool = True
    dashed: bool = False
    points: bool = False
    """Also draw a dot at each point (for sparse curves such as accuracy checkpoints)."""


@dataclass
class Frame:
    """Plot area geometry and the two scales of a chart."""

    x: Scale
    y: Scale
    width: int
    height: int
    left: int = 58
    right: int = 150
    top: int = 12
    bottom: int = 40
    parts: list[str] = field(default_factory=list)

    def axes(self, xlabel: str, ylabel: str) -> None:
        x0, x1 = self.left, self.width - self.right
        y0, y1 = self.height - self.bottom, self.top
        p = self.parts
        p.append(
            f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" fill="#fff" '
            'stroke="#c3c9d0"/>'
        )
        for v in self.x.ticks():
            px = _num(self.x(v))
            p.append(f'<line x1="{px}" x2="{px}" y1="{y1}" y2="{y0}" stroke="#eef0f3"/>')
            p.append(
                f'<text x="{px}" y="{y0 + 14}" font-size="10" text-anchor="middle">'
                f"{esc(_tick_label(v))}</text>"
            )
        for v in self.y.ticks():
            py = _num(self.y(v))
            p.append(f'<line x1="{x0}" x2="{x1}" y1="{py}" y2="{py}" stroke="#eef0f3"/>')
            p.append(
                f'<text x="{x0 - 4}" y="{py}" font-size="10" text-anchor="end" '
                f'dominant-baseline="middle">{esc(_tick_label(v))}</text>'
            )
        p.append(
            f'<text x="{(x0 + x1) / 2:.0f}" y="{self.height - 6}" font-size="11" '
            f'text-anchor="middle">{esc(xlabel)}</text>'
        )
        p.append(
            f'<text x="12" y="{(y0 + y1) / 2:.0f}" font-size="11" text-anchor="middle" '
            f'transform="rotate(-90 12 {(y0 + y1) / 2:.0f})">{esc(ylabel)}</text>'
        )

    def legend(self, labels: Sequence[tuple[str, str, bool]], blocks: bool = False) -> None:
        """Legend entries right of the plot: (label, colour, dashed); ``blocks``: bar swatches."""
        x = self.width - self.right + 10
        chars = max(4, (self.right - 34) // 6)
        for k, (label, col, dashed) in enumerate(labels[:24]):
            y = self.top + 8 + 15 * k
            dash = ' stroke-dasharray="5 3"' if dashed else ""
            if blocks:
                self.parts.append(
                    f'<g class="legend-item"><rect x="{x}" y="{y - 5}" width="18" height="10" '
                    f'fill="{col}"/><text x="{x + 22}" y="{y}" font-size="11" '
                    f'dominant-baseline="middle">{esc(label[:chars])}</text></g>'
                )
                continue
            self.parts.append(
                f'<g class="legend-item"><line x1="{x}" x2="{x + 18}" y1="{y}" y2="{y}" '
                f'stroke="{col}" stroke-width="2"{dash}/><text x="{x + 22}" y="{y}" '
                f'font-size="11" dominant-baseline="middle">{esc(label[:chars])}</text></g>'
            )

    def svg(self, css_class: str, label: str) -> str:
        return (
            f'<svg class="{esc(css_class)}" role="img" aria-label="{esc(label)}" '
            f'xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{self.height}" '
            f'viewBox="0 0 {self.width} {self.height}">{"".join(self.parts)}</svg>'
        )


def _bounds(values: list[float], log: bool) -> tuple[float, float]:
    vals = [v for v in values if math.isfinite(v) and (v > 0 or not log)]
    if not vals:
        return (1.0, 10.0) if log else (0.0, 1.0)
    lo, hi = min(vals), max(vals)
    if hi == lo:
        return (lo / 2, hi * 2) if log else (lo - 0.5 if lo else 0.0, hi + 0.5)
    return lo, hi


def line_chart(
    series: Sequence[Series],
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    xlog: bool = False,
    ylim: tuple[float, float] | None = None,
    xlim: tuple[float, float] | None = None,
    width: int = 640,
    height: int = 340,
    legend: int = 150,
    css_class: str = "chart",
) -> str:
    """A line (or step) chart; each series is one ``path.series`` with its label as tooltip."""
    xs = [float(x) for s in series for x in s.xs]
    ys = [float(y) for s in series for y in s.ys]
    xlo, xhi = xlim or _bounds(xs, xlog)
    if ylim is None:
        ylo, yhi = _bounds(ys, False)
        # a margin, so that a curve along the top or bottom edge stays visible
        ylo, yhi = ylo - 0.04 * (yhi - ylo), yhi + 0.04 * (yhi - ylo)
    else:
        ylo, yhi = ylim
    frame = Frame(
        Scale(xlo, xhi, 58, width - legend, xlog),
        Scale(ylo, yhi, height - 40, 12),
        width,
        height,
        right=legend,
    )
    frame.axes(xlabel, ylabel)
    entries = []
    for k, s in enumerate(series):
        pts = [
            (float(x), float(y))
            for x, y in zip(s.xs, s.ys, strict=True)
            if math.isfinite(float(x)) and math.isfinite(float(y)) and (float(x) > 0 or not xlog)
        ]
        col = colour(k)
        entries.append((s.label, col, s.dashed))
        if not pts:
            continue
        cmds = [f"M{_num(frame.x(pts[0][0]))},{_num(frame.y(pts[0][1]))}"]
        for x1, y1 in pts[1:]:
            if s.step:
                cmds.append(f"H{_num(frame.x(x1))}V{_num(frame.y(y1))}")
            else:
                cmds.append(f"L{_num(frame.x(x1))},{_num(frame.y(y1))}")
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        frame.parts.append(
            f'<path class="series" data-label="{esc(s.label)}" d="{"".join(cmds)}" fill="none" '
            f'stroke="{col}" stroke-width="1.8"{dash}><title>{esc(s.label)}</title></path>'
        )
        if s.points:
            for x, y in pts:
                frame.parts.append(
                    f'<circle class="point" cx="{_num(frame.x(x))}" cy="{_num(frame.y(y))}" '
                    f'r="2.5" fill="{col}"><title>{esc(s.label)}: {fmt(x, 4)}, {fmt(y, 4)}'
                    "</title></circle>"
                )
    frame.legend(entries)
    return frame.svg(css_class, title)


@dataclass
class Segment:
    """A bar from ``start`` to ``end`` on a timeline row, of a kind that picks its colour."""

    start: float
    end: float
    kind: str
    title: str


@dataclass
class Row:
    """One row of a timeline: its label, its bars and its point marks (time, kind, title)."""

    label: str
    segments: list[Segment] = field(default_factory=list)
    marks: list[tuple[float, str, str]] = field(default_factory=list)


def timeline(
    rows: Sequence[Row],
    *,
    kinds: dict[str, str],
    xlabel: str,
    title: str,
    vlines: Sequence[tuple[float, str, str]] = (),
    width: int = 900,
    css_class: str = "timeline",
) -> str:
    """A Gantt chart: one ``g.row`` per row, one ``rect.seg`` per bar, ``kinds`` -> colours.

    ``vlines`` are full-height lines (time, colour, label): a deadline, a request's arrival.
    Windows (kind ``window``) are drawn as light bands behind the other bars.
    """
    row_h = 22
    height = 46 + row_h * max(1, len(rows)) + 18
    times = [t for r in rows for s in r.segments for t in (s.start, s.end)]
    times += [t for r in rows for t, _, _ in r.marks] + [t for t, _, _ in vlines]
    finite = [t for t in times if math.isfinite(t)]
    hi = max(finite, default=1.0) or 1.0
    lo = min(0.0, min(finite, default=0.0))
    label_w = 120
    frame = Frame(
        Scale(lo, hi * 1.02, label_w, width - 150),
        Scale(0, 1, height - 40, 12),
        width,
        height,
        left=label_w,
    )
    x0, x1 = label_w, width - 150
    p = frame.parts
    y_top, y_bot = 12, height - 40
    p.append(
        f'<rect x="{x0}" y="{y_top}" width="{x1 - x0}" height="{y_bot - y_top}" '
        'fill="#fff" stroke="#c3c9d0"/>'
    )
    for v in frame.x.ticks(8):
        px = _num(frame.x(v))
        p.append(f'<line x1="{px}" x2="{px}" y1="{y_top}" y2="{y_bot}" stroke="#eef0f3"/>')
        p.append(
            f'<text x="{px}" y="{y_bot + 14}" font-size="10" text-anchor="middle">'
            f"{esc(_tick_label(v))}</text>"
        )
    p.append(
        f'<text x="{(x0 + x1) / 2:.0f}" y="{height - 6}" font-size="11" '
        f'text-anchor="middle">{esc(xlabel)}</text>'
    )
    for k, row in enumerate(rows):
        p.append(_timeline_row(row, frame, y_top + 8 + row_h * k, x0, hi, kinds))
    for t, col, text in vlines:
        if math.isfinite(t):
            px = _num(frame.x(t))
            p.append(
                f'<line class="vline" x1="{px}" x2="{px}" y1="{y_top}" y2="{y_bot}" '
                f'stroke="{col}" stroke-width="1.5" stroke-dasharray="6 3"><title>'
                f"{esc(text)}</title></line>"
            )
    frame.legend([(k, c, False) for k, c in kinds.items()], blocks=True)
    return frame.svg(css_class, title)


def _timeline_row(
    row: Row, frame: Frame, y: float, x0: float, hi: float, kinds: dict[str, str]
) -> str:
    """One ``g.row`` of a timeline at height ``y``: its label, bars (windows first, as bands)
    and marks."""
    parts = [
        f'<g class="row" data-label="{esc(row.label)}">',
        f'<text x="{x0 - 6}" y="{y + 8}" font-size="11" text-anchor="end" '
        f'dominant-baseline="middle">{esc(row.label[:18])}</text>',
    ]
    for s in sorted(row.segments, key=lambda s: s.kind != "window"):
        if not (math.isfinite(s.start) and s.end > s.start):
            continue
        end = min(s.end, hi * 1.02) if not math.isfinite(s.end) else s.end
        band = s.kind == "window"
        top, h = (y - 2, 20) if band else (y + 1, 14)
        opacity = ' fill-opacity="0.35"' if band else ""
        parts.append(
            f'<rect class="seg {esc(s.kind)}" x="{_num(frame.x(s.start))}" y="{top}" '
            f'width="{max(1.0, frame.x(end) - frame.x(s.start)):.1f}" height="{h}" '
            f'fill="{kinds.get(s.kind, "#999")}"{opacity}><title>{esc(s.title)}</title></rect>'
        )
    for t, kind, text in row.marks:
        if not math.isfinite(t):
            continue
        px = _num(frame.x(t))
        parts.append(
            f'<line class="mark {esc(kind)}" x1="{px}" x2="{px}" y1="{y - 3}" y2="{y + 19}" '
            f'stroke="{kinds.get(kind, "#000")}" stroke-width="2.5"><title>{esc(text)}'
            "</title></line>"
        )
    parts.append("</g>")
    return "".join(parts)


def anytime_chart(
    trace: Sequence[Sequence[float | None]], end: float, *, width: int = 620, height: int = 260
) -> str:
    """Incumbent (solid) and bound (dashed) of an anytime trace ``[(t, incumbent, bound)]``,
    each held to ``end``; an empty string when the trace has neither."""
    series = []
    for label, col, dashed in (("incumbent", 1, False), ("bound", 2, True)):
        pts = [(float(p[0]), float(p[col])) for p in trace if p[col] is not None]  # type: ignore[arg-type]
        if pts:
            xs = [t for t, _ in pts] + [max(end, pts[-1][0])]
            ys = [v for _, v in pts] + [pts[-1][1]]
            series.append(Series(label, xs, ys, dashed=dashed, points=True))
    if not series:
        return ""
    return line_chart(
        series,
        xlabel="seconds",
        ylabel="objective",
        title="anytime trace",
        width=width,
        height=height,
        css_class="chart trace",
    )
