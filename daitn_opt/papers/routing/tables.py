"""Statistics of the routing paper's runs: gaps to the reference per solver and size class, and
side-by-side comparisons of each peer with ``ils`` on the same instances.

The problem: a bench store holds one row per run (objective, reference value, checker verdict,
status, runtime, load). A table needs, per solver and size class, how far the runs are from the
reference (mean and max gap), how many are ahead of it, at it or behind it, how many were proved
optimal, and, per peer, how it compares with ``ils`` on the very same instances (the ratio of the
mean gaps and of the mean runtimes, and who wins instance by instance). A run without a checked
solution counts as a 100 % gap, so a failure never improves a mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import mean

TIE = 1e-9
"""Relative gaps within this of 0 count as *at* the reference."""

FAILED_GAP = 1.0
"""The gap a run without a checked solution counts as (100 %)."""


def has_reference(row: dict) -> bool:
    """Whether the instance has a reference value (two OPTW instances have none)."""
    return row.get("best_known") is not None


def gap(row: dict) -> float:
    """The run's relative gap to the reference (positive: behind; negative: ahead).

    Only defined for a row with a reference (:func:`has_reference`); the statistics leave the
    others out of every gap figure.
    """
    if row.get("status") in ("error", "timeout") or not row.get("check_ok"):
        return FAILED_GAP
    value = row.get("gap_to_best")
    return FAILED_GAP if value is None else float(value)


def solved(row: dict) -> bool:
    """Whether the run returned a solution the checker accepted."""
    return row.get("status") not in ("error", "timeout") and bool(row.get("check_ok"))


def proved(row: dict) -> bool:
    return row.get("status") == "optimal" and solved(row)


@dataclass(frozen=True)
class Line:
    """One table line: a solver's runs in one size class."""

    solver: str
    label: str
    limits: str
    runs: int
    ok: int
    mean_gap: float
    max_gap: float
    ahead: int
    at: int
    behind: int
    proved: int
    mean_runtime: float
    mean_load: float


def line(solver: str, label: str, rows: Sequence[dict]) -> Line:
    """The statistics of ``rows``; gap figures over the rows with a reference (nan: none)."""
    gaps = [gap(r) for r in rows if has_reference(r)]
    limits = "/".join(f"{t:g}" for t in sorted({float(r["time_limit"]) for r in rows}))
    return Line(
        solver,
        label,
        limits,
        len(rows),
        sum(solved(r) for r in rows),
        mean(gaps) if gaps else math.nan,
        max(gaps) if gaps else math.nan,
        sum(g < -TIE for g in gaps),
        sum(abs(g) <= TIE for g in gaps),
        sum(g > TIE for g in gaps),
        sum(proved(r) for r in rows),
        mean(float(r.get("runtime") or r.get("wall") or 0.0) for r in rows),
        mean(float(r.get("load_at_start") or 0.0) for r in rows),
    )


def class_label(n: int, classes: Sequence[tuple[int, int]]) -> str:
    for lo, hi in classes:
        if lo <= n <= hi:
            return f"{lo}-{hi}" if lo != hi else f"{lo}"
    return f"> {classes[-1][1]}"


def lines(
    rows: Sequence[dict], classes: Sequence[tuple[int, int]], solvers: Sequence[str]
) -> list[Line]:
    """Per solver (in ``solvers`` order) one line per size class that has runs, then ``all``."""
    out = []
    order = [class_label(hi, classes) for _, hi in classes]
    for solver in solvers:
        mine = [r for r in rows if r["solver"] == solver]
        if not mine:
            continue
        by_class: dict[str, list[dict]] = {}
        for r in mine:
            by_class.setdefault(class_label(int(r["n"]), classes), []).append(r)
        for label in sorted(by_class, key=lambda x: order.index(x) if x in order else len(order)):
            out.append(line(solver, label, by_class[label]))
        if len(by_class) > 1:
            out.append(line(solver, "all", mine))
    return out


@dataclass(frozen=True)
class SideBySide:
    """A peer against ``base`` on the instances (and seeds) both ran."""

    peer: str
    base: str
    pairs: int
    peer_gap: float
    base_gap: float
    gap_ratio: float | None
    """peer mean gap / base mean gap; None when the base's mean gap is not positive."""
    time_ratio: float | None
    better: int
    equal: int
    worse: int
    """Pairs where the peer's gap is below, equal to (within :data:`TIE`), above the base's."""


def side_by_side(rows: Sequence[dict], peer: str, base: str = "ils") -> SideBySide | None:
    """The peer's runs paired with ``base``'s on the same instance and seed (None: no pair)."""
    index = {(r["instance"], r["seed"]): r for r in rows if r["solver"] == base}
    mine = [r for r in rows if r["solver"] == peer and has_reference(r)]
    found = [(r, index.get((r["instance"], r["seed"]))) for r in mine]
    pairs = [(p, b) for p, b in found if b is not None]
    if not pairs:
        return None
    pg = mean(gap(p) for p, _ in pairs)
    bg = mean(gap(b) for _, b in pairs)
    pt = mean(float(p.get("runtime") or p.get("wall") or 0.0) for p, _ in pairs)
    bt = mean(float(b.get("runtime") or b.get("wall") or 0.0) for _, b in pairs)
    diffs = [gap(p) - gap(b) for p, b in pairs]
    return SideBySide(
        peer,
        base,
        len(pairs),
        pg,
        bg,
        pg / bg if bg > TIE else None,
        pt / bt if bt > 0 else None,
        sum(d < -TIE for d in diffs),
        sum(abs(d) <= TIE for d in diffs),
        sum(d > TIE for d in diffs),
    )
