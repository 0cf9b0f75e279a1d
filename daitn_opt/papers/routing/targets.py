"""Issue 13's targets, each measured from the routing sweep's rows and called met or missed.

The problem: the issue states its goals as thresholds (a mean gap at most so much, a share of the
instances ahead of the reference, a count of proofs); the note must say, for each, what the run
measured and whether the target was met, and on how many of the planned runs (a sweep stopped
early measures a target on fewer instances, which the table says).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .families import LARGE_TSP
from .run import Planned
from .tables import TIE, gap, has_reference, proved


@dataclass(frozen=True)
class Target:
    """A threshold on one statistic of one family's runs of one solver (or several)."""

    text: str
    family: str
    solvers: tuple[str, ...]
    keep: Callable[[int], bool]
    """Which instance sizes count."""
    measure: Callable[[Sequence[dict]], float]
    shown: Callable[[float, int], str]
    met: Callable[[float, int], bool | None]
    """From the measured value and the number of planned runs; None: no threshold."""
    peers: tuple[str, ...] = ()
    """Solvers whose value of the same statistic is shown beside (measured in the same run)."""


def _gaps(rows: Sequence[dict]) -> list[float]:
    return [gap(r) for r in rows if has_reference(r)] or [math.nan]


def _mean_gap(rows: Sequence[dict]) -> float:
    return sum(_gaps(rows)) / len(_gaps(rows))


def _share_ahead(rows: Sequence[dict]) -> float:
    return sum(g < -TIE for g in _gaps(rows)) / len(_gaps(rows))


def _proofs(rows: Sequence[dict]) -> float:
    """Instances proved by at least one of the solvers."""
    return float(len({r["instance"] for r in rows if proved(r)}))


def _percent(value: float, _: int) -> str:
    return f"{100 * value:.2f}%"


def _count(value: float, _: int) -> str:
    return f"{value:g} proved"


def _ils_gap(
    text: str,
    family: str,
    keep: Callable[[int], bool],
    most: float,
    peers: tuple[str, ...] = (),
) -> Target:
    """``ils``'s mean gap on ``family`` (sizes ``keep``) at most ``most``."""
    return Target(text, family, ("ils",), keep, _mean_gap, _percent, lambda v, _: v <= most, peers)


TARGETS: tuple[Target, ...] = (
    _ils_gap(
        "OPLib, `ils`, n <= 200, 2 s: mean gap to EA4OP <= 0.3%", "oplib", lambda n: n <= 200, 0.003
    ),
    _ils_gap(
        "OPLib, `ils`, n <= 1,000 (10 s above 200): mean gap to EA4OP <= 1%",
        "oplib",
        lambda n: True,
        0.01,
    ),
    Target(
        "OPLib, `ils`: ahead of EA4OP on at least a quarter of the instances",
        "oplib",
        ("ils",),
        lambda n: True,
        _share_ahead,
        lambda v, _: f"{100 * v:.1f}% ahead",
        lambda v, _: v >= 0.25,
    ),
    _ils_gap(
        "TSPLIB, `ils`, n <= 300, 1 s: mean gap to the optimum <= 0.1%",
        "tsplib",
        lambda n: n <= 300,
        0.001,
    ),
    _ils_gap(
        "TSP, `ils`, n ~ 1,000 (here 493-1,000), 5 s: mean gap to the optimum <= 1%",
        "tsplib",
        lambda n: n >= LARGE_TSP,
        0.01,
        peers=("lkh", "pyvrp"),
    ),
    Target(
        "Chao 64/66 (n >= 64), `highs`, 60 s: 40 of 40 proved",
        "op",
        ("highs",),
        lambda n: n >= 64,
        _proofs,
        _count,
        lambda v, planned: v >= planned,  # every planned instance (the 40 of the full sets)
    ),
    _ils_gap("OPTW, `ils`, 2 s: mean gap to the best known <= 1%", "optw", lambda n: True, 0.01),
    Target(
        "OPTW, `optw-dp`, `cpsat` or `highs`, 60 s: Righini & Salani's optima reproduced with "
        "proofs (no threshold: as many as 60 s allow)",
        "optw",
        ("optw-dp", "cpsat", "highs"),
        lambda n: True,
        _proofs,
        _count,
        lambda v, _: None,
    ),
)


def target_lines(planned: Sequence[Planned], rows: Sequence[dict]) -> list[str]:
    """The Markdown table of every target with a planned run."""
    out = [
        "| target | measured | met | runs present / planned |",
        "|---|---|---|---|",
    ]
    for t in TARGETS:
        mine = [p for p in planned if p.family == t.family and p.task.solver in t.solvers]
        mine = [p for p in mine if t.keep(p.n)]
        if not mine:
            continue
        keys = {p.task.key for p in mine}
        have = [r for r in rows if r["key"] in keys]
        if not have:
            out.append(f"| {t.text} | not run | - | 0 / {len(mine)} |")
            continue
        value = t.measure(have)
        partial = " (partial)" if len(have) < len(mine) else ""
        met = t.met(value, len(mine))
        verdict = ("-" if met is None else "yes" if met else "**no**") + partial
        shown = t.shown(value, len(have)) + _beside(t, planned, rows)
        out.append(f"| {t.text} | {shown} | {verdict} | {len(have)} / {len(mine)} |")
    return out


def _beside(t: Target, planned: Sequence[Planned], rows: Sequence[dict]) -> str:
    """`` (lkh 0.10%, pyvrp 9.50%)``: the peers' value of the statistic on the same sizes."""
    shown = []
    for peer in t.peers:
        keys = {
            p.task.key
            for p in planned
            if p.family == t.family and p.task.solver == peer and t.keep(p.n)
        }
        have = [r for r in rows if r["key"] in keys]
        if have:
            shown.append(f"`{peer}` {t.shown(t.measure(have), len(have))}")
    return f" (beside it: {', '.join(shown)})" if shown else ""
