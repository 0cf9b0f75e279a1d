"""Convert OPLib orienteering files (TSPLIB syntax, ``TYPE : OP``) into instances.

OPLib (G. Kobeaga, M. Merino and J. A. Lozano, github ``bcamath-ds/OPLib``; instances built from
TSPLIB as by Fischetti, Salazar-Gonzalez and Toth 1998) writes an orienteering problem as a TSPLIB
file with three additions:

- ``COST_LIMIT : L``: the budget on the length of the closed route;
- ``NODE_SCORE_SECTION``: one ``id score`` line per node;
- ``DEPOT_SECTION``: the depot's id, then ``-1``.

Distances are TSPLIB's (every weight type :mod:`~daitn_opt.drrt.converters.tsplib` reads: EUC_2D,
CEIL_2D, ATT, GEO and EXPLICIT matrices), node numbers may be zero-padded (``0001`` is node 1), and
other ``KEY : value`` lines (e.g. ``TSPSOL``, the TSP optimum some files carry) are kept in the
instance's metadata and otherwise ignored.

The problem: a **closed** route that leaves the depot and returns to it, of length at most
``COST_LIMIT``, maximising the summed score of the nodes visited, **the depot's score included**
(as EA4OP's ``ROUTE_SCORE`` counts it). The instance: every node a data node (id = its node
number) whose dataset utility is its score; one ``max_utility`` request from the depot to the depot
with deadline ``COST_LIMIT`` and a weightless model. Published values: EA4OP's routes
(:mod:`daitn_opt.drrt.converters.known`, family ``oplib``), best known, not proven.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import InputError
from ..instance import Instance, TravelSpec
from ..snapshot import Snapshot
from ._common import (
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
from .tsplib import TsplibProblem, check_header, graph_of, read_sections
from .tsplib import parse_problem as parse_tsp

FAMILY = "oplib"
REFERENCE = (
    "OPLib, G. Kobeaga, M. Merino and J. A. Lozano, github bcamath-ds/OPLib (generations of "
    "M. Fischetti, J. J. Salazar-Gonzalez and P. Toth (1998), INFORMS J. Computing 10(2):133-148)"
)
_SECTIONS = ("NODE_SCORE_SECTION", "DEPOT_SECTION")
# TSPLIB sections an OP file cannot use (DEPOT_SECTION is OPLib's own here).
_UNSUPPORTED = ("FIXED_EDGES_SECTION", "DEMAND_SECTION")
_STANDARD_KEYS = {
    "NAME",
    "TYPE",
    "COMMENT",
    "DIMENSION",
    "EDGE_WEIGHT_TYPE",
    "EDGE_WEIGHT_FORMAT",
    "NODE_COORD_TYPE",
    "DISPLAY_DATA_TYPE",
    "COST_LIMIT",
}


@dataclass(frozen=True, eq=False)
class OplibProblem:
    """The content of an OPLib file, validated.

    ``graph`` holds the TSPLIB part (node ids in file order, coordinates or matrix); ``scores[i]``
    is the score of node ``graph.ids[i]``; ``extra`` the keywords OPLib does not define.
    """

    graph: TsplibProblem
    cost_limit: float
    scores: list[float]
    depot: str
    extra: dict[str, str] = field(default_factory=dict)


def parse_problem(text: str, source: str = "text") -> OplibProblem:
    """Parse the text of an OPLib file.

    Raises
    ------
    InputError
        Naming the keyword or section and the offending value: a ``TYPE`` other than OP, a
        missing or negative ``COST_LIMIT``, a score or depot line that names no node (or a node
        twice), a node without a score, a depot section that does not give exactly one depot
        before ``-1``, and every TSPLIB error of the distance part.

    Example
    -------
    >>> p = parse_problem("TYPE: OP\\nDIMENSION: 3\\nCOST_LIMIT: 10\\nEDGE_WEIGHT_TYPE: EUC_2D\\n"
    ...     "NODE_COORD_SECTION\\n1 0 0\\n2 3 0\\n3 0 4\\nNODE_SCORE_SECTION\\n1 0\\n2 5\\n3 7\\n"
    ...     "DEPOT_SECTION\\n1\\n-1\\nEOF\\n")
    >>> p.cost_limit, p.scores, p.depot
    (10.0, [0.0, 5.0, 7.0], '1')
    """
    nonempty(text, source)
    spec, sections = read_sections(
        text, extra_keys=("*",), extra_sections=_SECTIONS, unsupported=_UNSUPPORTED
    )
    kind = spec.get("TYPE", "").split()
    if not kind or kind[0].upper() != "OP":
        raise InputError("TYPE", spec.get("TYPE"), "an OPLib file must say TYPE : OP")
    if "COST_LIMIT" not in spec:
        raise InputError("COST_LIMIT", None, "missing; an OP file must give its budget")
    cost_limit = to_float(spec["COST_LIMIT"], "COST_LIMIT", "header")
    if cost_limit < 0:
        raise InputError("COST_LIMIT", spec["COST_LIMIT"], "the budget must be >= 0")
    n, ewt, fmt = check_header(spec, "TSP")
    name = spec.get("NAME", source) or source
    graph = graph_of(name, "OP", spec, sections, n, ewt, fmt, symmetric=True)
    return OplibProblem(
        graph=graph,
        cost_limit=cost_limit,
        scores=_scores(sections, graph.ids),
        depot=_depot(sections, graph.ids),
        extra={k: v for k, v in spec.items() if k not in _STANDARD_KEYS},
    )


def _scores(sections: dict, ids: list[str]) -> list[float]:
    """The score of every node, in the order of ``ids``."""
    key = "NODE_SCORE_SECTION"
    if key not in sections:
        raise InputError(key, None, "missing; an OP file must give the node scores")
    position = {node: k for k, node in enumerate(ids)}
    scores: list[float | None] = [None] * len(ids)
    for number, tokens in sections[key]:
        where = f"line {number}"
        if len(tokens) != 2:
            raise InputError(key, " ".join(tokens), f"expected 'id score' ({where})")
        node = str(to_int(tokens[0], key, where))
        if node not in position:
            raise InputError(key, tokens[0], f"names no node of the file ({where})")
        if scores[position[node]] is not None:
            raise InputError(key, tokens[0], f"a second score for node {node} ({where})")
        score = to_float(tokens[1], key, where)
        if score < 0:
            raise InputError(key, tokens[1], f"a score must be >= 0 ({where})")
        scores[position[node]] = score
    missing = [node for node, s in zip(ids, scores, strict=True) if s is None]
    if missing:
        raise InputError(key, missing[:3], f"{len(missing)} node(s) without a score")
    return [float(s) for s in scores if s is not None]


def _depot(sections: dict, ids: list[str]) -> str:
    """The one depot id of ``DEPOT_SECTION`` (terminated by ``-1``)."""
    key = "DEPOT_SECTION"
    if key not in sections:
        raise InputError(key, None, "missing; an OP file must name its depot")
    depots: list[str] = []
    for number, tokens in sections[key]:
        for token in tokens:
            node = to_int(token, key, f"line {number}")
            if node == -1:
                if len(depots) != 1:
                    raise InputError(key, depots, "must name exactly one depot before -1")
                if depots[0] not in ids:
                    raise InputError(key, depots[0], "names no node of the file")
                return depots[0]
            depots.append(str(node))
    raise InputError(key, depots, "must end with -1")


def _generation(name: str) -> int | None:
    """OPLib's score generation (1-4) from a file name such as ``att48-gen2-50``."""
    match = re.search(r"-gen(\d)-", name)
    return int(match.group(1)) if match else None


def to_instance(problem: OplibProblem, source: str, name: str) -> Instance:
    """The MTRCE instance of a parsed OPLib file (see the module docstring)."""
    graph = problem.graph
    nodes = [
        point_node(
            node_id,
            None if graph.xy is None else (float(graph.xy[k, 0]), float(graph.xy[k, 1])),
            score_dataset(problem.scores[k], FAMILY, "NODE_SCORE_SECTION", f"node {node_id}"),
        )
        for k, node_id in enumerate(graph.ids)
    ]
    if graph.matrix is not None:
        travel = TravelSpec(metric="EXPLICIT", matrix=graph.matrix.tolist())
    else:
        travel = TravelSpec(metric=graph.edge_weight_type)
    known = lookup(
        FAMILY,
        name,
        dimension=graph.dimension,
        cost_limit=problem.cost_limit,
        score_sum=sum(problem.scores),
    )
    generation = _generation(name)
    return Instance(
        name=name,
        description=(
            f"OPLib orienteering {name}: {graph.dimension} nodes, closed route at depot "
            f"{problem.depot}, COST_LIMIT {problem.cost_limit:g}"
        ),
        snapshot=Snapshot(name=name, nodes=nodes),
        requests=[route_request(FAMILY, problem.depot, problem.depot, problem.cost_limit)],
        travel=travel,
        benchmark=benchmark_info(FAMILY, f"{source} (OPLib)", known, REFERENCE),
        metadata={
            "format": FAMILY,
            "tsp": graph.name,
            "dimension": graph.dimension,
            "cost_limit": problem.cost_limit,
            "edge_weight_type": graph.edge_weight_type,
            "depot": problem.depot,
        }
        | ({"edge_weight_format": graph.edge_weight_format} if graph.matrix is not None else {})
        | ({"generation": generation} if generation is not None else {})
        | ({"keywords": problem.extra} if problem.extra else {})
        | ({"value_note": known.note} if known is not None and known.note else {}),
    )


_OP_ONLY_SECTIONS = frozenset(_SECTIONS)
"""Sections of an OPLib file that its TSP (:func:`tsp_text`) drops."""


def tsp_text(text: str, source: str = "text", origin: str | None = None) -> str:
    """The TSPLIB ``TYPE : TSP`` file of an OPLib file's graph (its TSP), as text.

    OPLib builds each orienteering instance on a TSPLIB graph and keeps the graph's lines as
    TSPLIB wrote them (node coordinates or the ``EXPLICIT`` matrix, the weight type); this writes
    them back as a TSP file: ``TYPE : TSP``, the same ``NAME``, ``DIMENSION``, weight keywords and
    data sections line for line, ``COMMENT`` extended by where the data came from (``origin``,
    default ``source``), and without OPLib's budget, scores and depot (``COST_LIMIT``, any further
    keyword such as ``TSPSOL``, ``NODE_SCORE_SECTION``, ``DEPOT_SECTION``).

    Raises
    ------
    InputError
        Everything :func:`parse_problem` refuses; and (a defect here, not in the file) a written
        file whose graph differs from the OPLib file's.

    Example
    -------
    >>> print(tsp_text("NAME : t3\\nTYPE : OP\\nCOMMENT : toy\\nDIMENSION : 3\\nCOST_LIMIT : 10\\n"
    ...     "EDGE_WEIGHT_TYPE : EUC_2D\\nNODE_COORD_SECTION\\n1 0 0\\n2 3 0\\n3 0 4\\n"
    ...     "NODE_SCORE_SECTION\\n1 0\\n2 5\\n3 7\\nDEPOT_SECTION\\n1\\n-1\\nEOF\\n", "t3.oplib"))
    NAME : t3
    TYPE : TSP
    COMMENT : toy; graph of the OPLib file t3.oplib
    DIMENSION : 3
    EDGE_WEIGHT_TYPE : EUC_2D
    NODE_COORD_SECTION
    1 0 0
    2 3 0
    3 0 4
    EOF
    <BLANKLINE>
    """
    problem = parse_problem(text, source)
    note = f"graph of the OPLib file {origin or source}"
    comment = problem.graph.comment
    header: list[str] = []
    body: list[str] = []
    skipping = False
    for raw in text.splitlines():
        tokens = raw.split()
        if not tokens:
            continue
        word = tokens[0].rstrip(":").upper()
        if word == "EOF":
            break
        if word.endswith("_SECTION"):
            skipping = word in _OP_ONLY_SECTIONS
            if not skipping:
                body.append(raw.rstrip())
            continue
        key, colon, value = raw.partition(":")
        key = key.strip().upper()
        if not body and colon and not key[:1].isdigit():
            if key == "TYPE":
                header.append("TYPE : TSP")
            elif key == "COMMENT":
                header.append(f"COMMENT : {value.strip()}; {note}")
            elif key in _STANDARD_KEYS and key != "COST_LIMIT":
                header.append(raw.rstrip())
            continue
        if not skipping:
            body.append(raw.rstrip())
    if not comment:
        header.insert(1, f"COMMENT : {note}")
    out = "\n".join([*header, *body, "EOF"]) + "\n"
    _same_graph(problem.graph, parse_tsp(out, source))
    return out


def _same_graph(a: TsplibProblem, b: TsplibProblem) -> None:
    """InputError unless two parsed graphs have the same nodes, weight type and data."""
    same = (
        a.name == b.name
        and a.ids == b.ids
        and a.edge_weight_type == b.edge_weight_type
        and a.edge_weight_format == b.edge_weight_format
        and _equal(a.xy, b.xy)
        and _equal(a.matrix, b.matrix)
    )
    if not same:
        raise InputError("tsp_text", a.name, "the written TSP file's graph differs (a defect)")


def _equal(x: np.ndarray | None, y: np.ndarray | None) -> bool:
    return (x is None and y is None) or (x is not None and y is not None and np.array_equal(x, y))


def parse(text: str, source: str = "text", name: str | None = None) -> Instance:
    """Parse OPLib text into an instance.

    ``source`` names the file in messages and metadata; ``name`` is the instance name, which
    selects the published value (default: the stem of an ``.oplib`` source, else the file's
    ``NAME``, which OPLib sets to the TSP's name and so selects no value).
    """
    problem = parse_problem(text, source)
    if name is None:
        name = Path(source).stem if source.endswith(".oplib") else problem.graph.name
    return to_instance(problem, source, name)


def read(path: str | Path) -> Instance:
    """Read an OPLib file into an instance (name = the file stem, e.g. ``att48-gen1-50``)."""
    text, file_name, stem = source_text(path)
    return parse(text, file_name, stem)


def convert(path: str | Path, *, sense: str | None = None, index: int = 1) -> Instance:
    """``daitn-opt convert oplib``: :func:`read`, after checking the generic options."""
    single_instance_options(FAMILY, sense, "max", index)
    return read(path)
