"""Convert orienteering (OP) files in the Tsiligirides/Chao format into instances.

Format (Tsiligirides 1984, "Heuristic methods applied to orienteering", J. Oper. Res. Soc.
35(9):797-809; Chao, Golden and Wasil 1996, EJOR 88(3):475-489): a first line ``Tmax P`` (time
budget, number of paths, always 1), then one line ``x y S`` per point (coordinates, score). The
**first point is the start and the second the end**; distances are real (unrounded) Euclidean.

The instance: point ``k`` (1-based position in the file) is data node ``"k"`` with local compute
and a benchmark dataset whose utility is its score (integer scores are samples of quality 1; a
fractional score is represented exactly, see
:func:`~daitn_opt.drrt.converters._common.score_dataset`); one ``max_utility`` request from ``"1"``
to ``"2"`` with deadline ``Tmax`` and a weightless model, so a route's completion time is its
length. Published values: :mod:`daitn_opt.drrt.converters.known`.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import InputError
from ..instance import BenchmarkInfo, Instance, TravelSpec
from ..snapshot import DataNode, Snapshot
from ._common import (
    lines,
    nonempty,
    point_node,
    route_request,
    score_dataset,
    single_instance_options,
    source_text,
    to_float,
    to_int,
)
from .known import KnownValue, lookup

REFERENCE = (
    "T. Tsiligirides (1984), J. Oper. Res. Soc. 35(9):797-809; I.-M. Chao, B. L. Golden and "
    "E. A. Wasil (1996), EJOR 88(3):475-489"
)


def parse_points(
    rows: list[tuple[int, list[str]]], task: str
) -> tuple[list[DataNode], list[tuple[float, float]]]:
    """Data nodes ``"1".."n"`` from ``x y S`` rows (ids are 1-based positions)."""
    nodes: list[DataNode] = []
    xy: list[tuple[float, float]] = []
    for k, (number, tokens) in enumerate(rows, start=1):
        where = f"line {number}, point {k}"
        if len(tokens) != 3:
            raise InputError("point", " ".join(tokens), f"expected 'x y S' ({where})")
        x = to_float(tokens[0], "x", where)
        y = to_float(tokens[1], "y", where)
        score = to_float(tokens[2], "S", where)
        nodes.append(point_node(str(k), (x, y), score_dataset(score, task, "S", where)))
        xy.append((x, y))
    return nodes, xy


def benchmark_info(
    family: str, source: str, known: KnownValue | None, reference: str
) -> BenchmarkInfo:
    """The :class:`BenchmarkInfo` of a score-maximising benchmark with its published value."""
    return BenchmarkInfo(
        family=family,
        source=source,
        sense="max",
        objective="total score",
        best_known=None if known is None else known.value,
        proven_optimal=known is not None and known.proven,
        reference=reference if known is None else f"{reference}; value: {known.source}",
    )


def parse(text: str, source: str = "text", name: str | None = None) -> Instance:
    """Parse OP text into an instance.

    Parameters
    ----------
    text
        The file's content.
    source
        The file name, for messages and metadata.
    name
        The instance name (default: ``source`` without extension); it selects the published value.

    Raises
    ------
    InputError
        On empty text, a malformed ``Tmax P`` line or point, ``P != 1``, or fewer than 2 points.
    """
    nonempty(text, source)
    name = name or Path(source).stem
    rows = lines(text)
    number, head = rows[0]
    if len(head) != 2:
        raise InputError("Tmax P", " ".join(head), f"expected two numbers (line {number})")
    tmax = to_float(head[0], "Tmax", f"line {number}")
    paths = to_int(head[1], "P", f"line {number}")
    if tmax < 0:
        raise InputError("Tmax", head[0], "the budget must be >= 0")
    if paths != 1:
        raise InputError("P", head[1], "the OP format has one path; convert with `top` for more")
    points = rows[1:]
    if len(points) < 2:
        raise InputError("points", len(points), "need at least a start and an end point")
    nodes, _ = parse_points(points, "op")
    request = route_request("op", "1", "2", tmax)
    known = lookup("op", name, budget=tmax, points=len(nodes))
    return Instance(
        name=name,
        description=f"Orienteering {name}: {len(nodes)} points, budget {tmax:g}",
        snapshot=Snapshot(name=name, nodes=nodes),
        requests=[request],
        travel=TravelSpec(metric="EUCLIDEAN"),
        benchmark=benchmark_info(
            "op", f"{source} (OP, Tsiligirides/Chao format)", known, REFERENCE
        ),
        metadata={"format": "op", "points": len(nodes), "tmax": tmax}
        | ({"value_note": known.note} if known is not None and known.note else {}),
    )


def read(path: str | Path) -> Instance:
    """Read an OP file into an instance (name = the file stem)."""
    text, file_name, stem = source_text(path)
    return parse(text, file_name, stem)


def convert(path: str | Path, *, sense: str | None = None, index: int = 1) -> Instance:
    """``daitn-opt convert op``: :func:`read`, after checking the generic options."""
    single_instance_options("op", sense, "max", index)
    return read(path)
