"""Convert team orienteering (TOP) files in Chao's format into instances.

Format (Chao, Golden and Wasil 1996, "The team orienteering problem", EJOR 88(3):464-474): lines
``n N``, ``m P``, ``tmax T`` (vertices, routes, budget per route), then ``x y S`` per point. The
**first point is the start and the last point the end**; distances are real Euclidean.

The instance: point ``k`` (1-based position) is data node ``"k"`` as in
:mod:`~daitn_opt.drrt.converters.op`; one ``max_utility`` request from ``"1"`` to ``"N"`` with
``replicas = m`` (the team's routes) and deadline ``tmax`` per route. Published values (Chao et
al.'s heuristic results, best known, not proven): :mod:`daitn_opt.drrt.converters.known`.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import InputError
from ..instance import Instance, TravelSpec
from ..snapshot import Snapshot
from ._common import (
    lines,
    nonempty,
    route_request,
    single_instance_options,
    source_text,
    to_float,
    to_int,
)
from .known import lookup
from .op import benchmark_info, parse_points

REFERENCE = "I.-M. Chao, B. L. Golden and E. A. Wasil (1996), EJOR 88(3):464-474"


def parse(text: str, source: str = "text", name: str | None = None) -> Instance:
    """Parse TOP text into an instance (``name`` selects the published value; default the stem).

    Raises
    ------
    InputError
        On empty text, a missing or malformed ``n``/``m``/``tmax`` line, a malformed point, or a
        number of points different from ``n``.
    """
    nonempty(text, source)
    name = name or Path(source).stem
    rows = lines(text)
    if len(rows) < 3:
        raise InputError("header", len(rows), "expected the lines 'n N', 'm P', 'tmax T'")
    values: dict[str, str] = {}
    for (number, tokens), key in zip(rows[:3], ("n", "m", "tmax"), strict=True):
        if len(tokens) != 2 or tokens[0] != key:
            raise InputError(key, " ".join(tokens), f"expected '{key} <number>' (line {number})")
        values[key] = tokens[1]
    n = to_int(values["n"], "n", f"line {rows[0][0]}")
    m = to_int(values["m"], "m", f"line {rows[1][0]}")
    tmax = to_float(values["tmax"], "tmax", f"line {rows[2][0]}")
    if m < 1:
        raise InputError("m", values["m"], "the number of routes must be at least 1")
    if tmax < 0:
        raise InputError("tmax", values["tmax"], "the budget must be >= 0")
    points = rows[3:]
    if len(points) != n:
        raise InputError("n", n, f"the file lists {len(points)} points")
    if n < 2:
        raise InputError("n", n, "need at least a start and an end point")
    nodes, _ = parse_points(points, "top")
    request = route_request("top", "1", str(n), tmax, routes=m)
    known = lookup("top", name, n=n, m=m, tmax=tmax)
    return Instance(
        name=name,
        description=f"Team orienteering {name}: {n} points, {m} routes, budget {tmax:g} each",
        snapshot=Snapshot(name=name, nodes=nodes),
        requests=[request],
        travel=TravelSpec(metric="EUCLIDEAN"),
        benchmark=benchmark_info("top", f"{source} (TOP, Chao format)", known, REFERENCE),
        metadata={"format": "top", "points": n, "routes": m, "tmax": tmax},
    )


def read(path: str | Path) -> Instance:
    """Read a TOP file into an instance (name = the file stem, e.g. ``p4.3.k``)."""
    text, file_name, stem = source_text(path)
    return parse(text, file_name, stem)


def convert(path: str | Path, *, sense: str | None = None, index: int = 1) -> Instance:
    """``daitn-opt convert top``: :func:`read`, after checking the generic options."""
    single_instance_options("top", sense, "max", index)
    return read(path)
