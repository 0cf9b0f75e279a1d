"""Convert orienteering-with-time-windows (OPTW) files (Solomon- and Cordeau-based) into instances.

Format (Vansteenwegen et al.'s TOPTW files, ``TOPTW_format.txt``; built from Solomon's (1987)
VRPTW and Cordeau, Gendreau and Laporte's (1997) MDVRPTW instances, as in Righini and Salani
2009): a first line ``k v N t`` (only ``N``, the number of customers, matters), a second line
``D Q`` (unused), then one line per vertex ``i x y d S f a list O C``: number, coordinates, service
duration, score, an unused field, a list of unused length ``a``, and the window ``[O, C]`` on the
start of service. **Vertex 0 is the depot**, start and end of the route; its ``C`` is the time
budget.

Distances: Euclidean, **rounded down to one decimal** for the Solomon-based files (checked: this,
and neither real nor two-decimal distances, reproduces every start time printed in Righini and
Salani's optimal routes and keeps them feasible; with real distances several of those routes break
the budget or a window) and, as ``TOPTW_format.txt`` states, to two decimals for the Cordeau-based
files ``pr*`` (Righini and Salani's Cordeau results print no routes; one decimal is ruled out, since
it admits a pr01 route of score 309 above their proven 308, but real distances are not). ``decimals``
overrides the choice.

The instance: vertex ``i`` is data node ``"i"`` (its number as written) with service time
``Compute(overhead_s=d)``, window ``[O, C]`` and utility ``S``; one ``max_utility`` request from
``"0"`` back to ``"0"`` with deadline = the depot's ``C``.
"""

from __future__ import annotations

import re
from pathlib import Path

from ...errors import InputError
from ..instance import Instance, TravelSpec
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
from .known import lookup
from .op import benchmark_info

REFERENCE = (
    "P. Vansteenwegen, W. Souffriau, G. Vanden Berghe and D. Van Oudheusden (2009), Computers & "
    "Operations Research 36(12):3281-3290 (TOPTW files); M. M. Solomon (1987), Operations Research "
    "35(2):254-265; J.-F. Cordeau, M. Gendreau and G. Laporte (1997), Networks 30(2):105-119"
)
METRIC_BY_DECIMALS = {1: "EUCLIDEAN_FLOOR1", 2: "EUCLIDEAN_FLOOR2"}


def default_decimals(name: str) -> int:
    """1 for Solomon-based files, 2 for Cordeau-based ones (``pr01``..``pr20``)."""
    return 2 if re.fullmatch(r"pr\d+", name.lower()) else 1


def parse(
    text: str, source: str = "text", name: str | None = None, decimals: int | None = None
) -> Instance:
    """Parse OPTW text into an instance.

    Parameters
    ----------
    text
        The file's content.
    source
        The file name, for messages and metadata.
    name
        The instance name (default: ``source`` without extension, e.g. ``c101``); it selects the
        published value and the default distance rounding.
    decimals
        Round distances down to this many decimals (1 or 2); default by name, see the module.

    Raises
    ------
    InputError
        On empty text, malformed numbers, a vertex line whose length does not match its list
        length ``a``, a window that closes before it opens, or a vertex count other than ``N + 1``.
    """
    nonempty(text, source)
    name = name or Path(source).stem
    decimals = default_decimals(name) if decimals is None else decimals
    if decimals not in METRIC_BY_DECIMALS:
        raise InputError("decimals", decimals, "supported: 1 (Solomon), 2 (Cordeau)")
    rows = lines(text)
    if len(rows) < 3:
        raise InputError("file", source, "expected 'k v N t', 'D Q' and vertex lines")
    number, head = rows[0]
    if len(head) < 3:
        raise InputError("k v N t", " ".join(head), f"expected at least 3 numbers (line {number})")
    n_customers = to_int(head[2], "N", f"line {number}")
    for token in rows[1][1]:
        to_float(token, "D Q", f"line {rows[1][0]}")
    vertices = rows[2:]
    if len(vertices) != n_customers + 1:
        raise InputError("N", n_customers, f"the file lists {len(vertices)} vertices, not N + 1")

    nodes: list[DataNode] = []
    seen: set[str] = set()
    deadline = 0.0
    for k, (number, tokens) in enumerate(vertices):
        node, closes = _vertex(k, number, tokens, seen)
        nodes.append(node)
        if k == 0:
            deadline = closes  # the depot's closing time is the route's budget
    request = route_request("optw", "0", "0", deadline)
    known = lookup("optw", name, vertices=len(nodes), tmax=deadline)
    return Instance(
        name=name,
        description=f"OPTW {name}: {n_customers} customers, budget {deadline:g}",
        snapshot=Snapshot(name=name, nodes=nodes),
        requests=[request],
        travel=TravelSpec(metric=METRIC_BY_DECIMALS[decimals]),
        benchmark=benchmark_info("optw", f"{source} (OPTW, TOPTW format)", known, REFERENCE),
        metadata={
            "format": "optw",
            "customers": n_customers,
            "tmax": deadline,
            "distance": f"Euclidean rounded down to {decimals} decimal{'s' if decimals > 1 else ''}",
        }
        | ({"value_note": known.note} if known is not None and known.note else {}),
    )


def _vertex(k: int, number: int, tokens: list[str], seen: set[str]) -> tuple[DataNode, float]:
    """The data node of vertex line ``k`` and its closing time ``C`` (line 0: the depot, which
    has no window; its ``C`` is the route's budget)."""
    where = f"line {number}"
    if len(tokens) < 9:
        raise InputError("vertex", " ".join(tokens), f"expected 'i x y d S f a list O C' ({where})")
    node_id = str(to_int(tokens[0], "i", where))
    if node_id in seen:
        raise InputError("i", node_id, f"duplicate vertex number ({where})")
    seen.add(node_id)
    x, y, service, score = (to_float(t, f, where) for t, f in zip(tokens[1:5], "xydS", strict=True))
    a = to_int(tokens[6], "a", where)
    if len(tokens) != 9 + a:
        raise InputError(
            "a",
            tokens[6],
            f"a list of {a} needs {9 + a} fields, the line has {len(tokens)} ({where})",
        )
    opens = to_float(tokens[-2], "O", where)
    closes = to_float(tokens[-1], "C", where)
    if service < 0:
        raise InputError("d", tokens[3], f"a service time must be >= 0 ({where})")
    if opens < 0:
        raise InputError("O", tokens[-2], f"a window must open at time >= 0 ({where})")
    if closes < opens:
        raise InputError(
            "C", tokens[-1], f"the window closes before it opens at {opens:g} ({where})"
        )
    dataset = score_dataset(score, "optw", "S", where)
    if k == 0:
        if node_id != "0":
            raise InputError("i", node_id, f"the first vertex must be the depot 0 ({where})")
        if opens != 0:
            raise InputError("O", tokens[-2], f"the depot must open at 0 ({where})")
        return point_node(node_id, (x, y), dataset, service=service), closes
    return point_node(node_id, (x, y), dataset, service=service, window=(opens, closes)), closes


def read(path: str | Path, decimals: int | None = None) -> Instance:
    """Read an OPTW file into an instance (name = the file stem)."""
    text, file_name, stem = source_text(path)
    return parse(text, file_name, stem, decimals)


def convert(path: str | Path, *, sense: str | None = None, index: int = 1) -> Instance:
    """``daitn-opt convert optw``: :func:`read`, after checking the generic options."""
    single_instance_options("optw", sense, "max", index)
    return read(path)
