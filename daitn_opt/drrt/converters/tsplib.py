"""Convert TSPLIB files (symmetric TSP, and ATSP given as a full matrix) into instances.

TSPLIB (Reinelt 1991, "TSPLIB - A Traveling Salesman Problem Library", ORSA J. Computing
3(4):376-384; format document "TSPLIB 95") files have a header of ``KEY : VALUE`` lines and data
sections. Supported here:

- ``EDGE_WEIGHT_TYPE`` EUC_2D, CEIL_2D, ATT, GEO with a ``NODE_COORD_SECTION`` (``id x y``): the
  instance keeps the coordinates and names the metric, whose exact rounding rules live in
  :mod:`daitn_opt.drrt.metrics`;
- ``EDGE_WEIGHT_TYPE`` EXPLICIT with ``EDGE_WEIGHT_FORMAT`` FULL_MATRIX, UPPER_ROW, LOWER_ROW,
  UPPER_DIAG_ROW, LOWER_DIAG_ROW and the four ``*_COL`` variants (for a symmetric matrix a column
  listing of the upper triangle is the row listing of the lower one): the instance carries the
  matrix (diagonal set to 0, which no tour uses). ``DISPLAY_DATA_SECTION`` coordinates, when
  present, become node positions (for plotting only).

Anything else (other edge weight types, ``FIXED_EDGES_SECTION``, CVRP data, 3-D coordinates) is
refused with an :class:`~daitn_opt.errors.InputError` naming the keyword and value.

The converted instance is the TSP as an MTRCE request: every city is an eligible data node (node
id = the TSPLIB node number), one request with ``objective="min_time"`` that starts and ends at
the first city and must visit all others; with a weightless model the completion time is exactly
the tour length. Optimal tour lengths come from TSPLIB's ``solutions`` file
(:mod:`daitn_opt.drrt.converters.known`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import InputError
from ..instance import BenchmarkInfo, Instance, TravelSpec
from ..metrics import distance_matrix
from ..requests import TrainingRequest, TrainModel
from ..snapshot import Dataset, Snapshot
from ._common import (
    MODALITY,
    nonempty,
    point_node,
    single_instance_options,
    source_text,
    to_float,
    to_int,
)
from ._common import lines as _lines
from .known import lookup

COORD_TYPES = ("EUC_2D", "CEIL_2D", "ATT", "GEO")
EDGE_WEIGHT_TYPES = (*COORD_TYPES, "EXPLICIT")
EDGE_WEIGHT_FORMATS = (
    "FULL_MATRIX",
    "UPPER_ROW",
    "LOWER_ROW",
    "UPPER_DIAG_ROW",
    "LOWER_DIAG_ROW",
    "UPPER_COL",
    "LOWER_COL",
    "UPPER_DIAG_COL",
    "LOWER_DIAG_COL",
)
# A column listing of one triangle of a symmetric matrix is the row listing of the other.
_COL_AS_ROW = {
    "UPPER_COL": "LOWER_ROW",
    "LOWER_COL": "UPPER_ROW",
    "UPPER_DIAG_COL": "LOWER_DIAG_ROW",
    "LOWER_DIAG_COL": "UPPER_DIAG_ROW",
}
_HEADER_KEYS = (
    "NAME",
    "TYPE",
    "COMMENT",
    "DIMENSION",
    "CAPACITY",
    "EDGE_WEIGHT_TYPE",
    "EDGE_WEIGHT_FORMAT",
    "EDGE_DATA_FORMAT",
    "NODE_COORD_TYPE",
    "DISPLAY_DATA_TYPE",
)
_SECTIONS = (
    "NODE_COORD_SECTION",
    "EDGE_WEIGHT_SECTION",
    "DISPLAY_DATA_SECTION",
    "TOUR_SECTION",
    "FIXED_EDGES_SECTION",
    "DEPOT_SECTION",
    "DEMAND_SECTION",
    "EDGE_DATA_SECTION",
)
_UNSUPPORTED_SECTIONS = ("FIXED_EDGES_SECTION", "DEPOT_SECTION", "DEMAND_SECTION")
REFERENCE = (
    "G. Reinelt (1991), TSPLIB - A Traveling Salesman Problem Library, ORSA Journal on "
    "Computing 3(4):376-384; optimal tour lengths from TSPLIB's solutions file"
)


@dataclass(frozen=True, eq=False)
class TsplibProblem:
    """The content of a TSPLIB problem file, validated.

    ``ids[i]`` is the node number of node ``i`` (as a decimal string), in file order; ``xy`` the
    coordinates (``NODE_COORD_SECTION``, or display coordinates for EXPLICIT files, else None);
    ``matrix`` the explicit weights (EXPLICIT only).
    """

    name: str
    type: str
    comment: str
    dimension: int
    edge_weight_type: str
    edge_weight_format: str | None
    ids: list[str]
    xy: np.ndarray | None
    matrix: np.ndarray | None

    def distances(self) -> np.ndarray:
        """The full distance matrix under TSPLIB's rules (diagonal 0)."""
        if self.matrix is not None:
            return self.matrix
        assert self.xy is not None
        return distance_matrix(self.xy[:, 0], self.xy[:, 1], self.edge_weight_type)


def _split_header(tokens: list[str]) -> tuple[str, str] | None:
    """``(KEY, value)`` of a header line, or None when the line is not ``KEY : value``."""
    line = " ".join(tokens)
    if ":" in line:
        key, _, value = line.partition(":")
        return key.strip().upper(), value.strip()
    return None


def _section_name(tokens: list[str], extra: tuple[str, ...] = ()) -> str | None:
    head = tokens[0].rstrip(":").upper()
    return head if head in _SECTIONS or head in extra or head == "EOF" else None


def _known_key(key: str, keys: tuple[str, ...]) -> bool:
    """``key`` is a header keyword: listed, or any upper-case word when ``"*"`` is listed."""
    if key in keys:
        return True
    return "*" in keys and key.replace("_", "").isalnum() and key[0].isalpha()


def parse_problem(text: str, source: str = "text") -> TsplibProblem:
    """Parse the text of a TSPLIB problem file.

    Raises
    ------
    InputError
        Naming the keyword or section and the offending value: empty text, an unsupported
        ``TYPE``/``EDGE_WEIGHT_TYPE``/``EDGE_WEIGHT_FORMAT``/section, a malformed number, or
        counts that do not match ``DIMENSION``.

    Example
    -------
    >>> p = parse_problem("NAME: t3\\nTYPE: TSP\\nDIMENSION: 3\\nEDGE_WEIGHT_TYPE: EUC_2D\\n"
    ...                   "NODE_COORD_SECTION\\n1 0 0\\n2 3 0\\n3 0 4\\nEOF\\n")
    >>> p.name, p.dimension, p.ids
    ('t3', 3, ['1', '2', '3'])
    """
    nonempty(text, source)
    spec, sections = read_sections(text)
    name = spec.get("NAME", source).removesuffix(".tsp").removesuffix(".atsp") or source
    type_words = spec.get("TYPE", "").split()  # e.g. "TSP (M.~Hofmeister)" in si175
    kind = type_words[0].upper() if type_words else "TSP"
    if kind not in ("TSP", "ATSP"):
        raise InputError("TYPE", spec.get("TYPE"), "unsupported; supported: TSP, ATSP")
    n, ewt, fmt = check_header(spec, kind)
    return graph_of(name, kind, spec, sections, n, ewt, fmt, symmetric=kind == "TSP")


def graph_of(
    name: str,
    kind: str,
    spec: dict[str, str],
    sections: Sections,
    n: int,
    ewt: str,
    fmt: str | None,
    *,
    symmetric: bool,
) -> TsplibProblem:
    """The graph part of a TSPLIB-syntax file: ids, coordinates and weights from its sections."""
    ids, xy, matrix = read_weights(sections, n, ewt, fmt, symmetric=symmetric)
    return TsplibProblem(
        name=name,
        type=kind,
        comment=spec.get("COMMENT", ""),
        dimension=n,
        edge_weight_type=ewt,
        edge_weight_format=fmt,
        ids=ids,
        xy=xy,
        matrix=matrix,
    )


Sections = dict[str, list[tuple[int, list[str]]]]
"""Section name -> its (line number, tokens) rows."""


def read_sections(
    text: str,
    *,
    extra_keys: tuple[str, ...] = (),
    extra_sections: tuple[str, ...] = (),
    unsupported: tuple[str, ...] = _UNSUPPORTED_SECTIONS,
) -> tuple[dict[str, str], Sections]:
    """The header keywords (``KEY: value``) and the data sections of a TSPLIB-syntax text.

    A TSPLIB-syntax format with more keywords or sections (OPLib's ``COST_LIMIT``,
    ``NODE_SCORE_SECTION``, ``DEPOT_SECTION``) names them in ``extra_keys``/``extra_sections`` and
    passes the sections it refuses as ``unsupported``; ``extra_keys=("*",)`` accepts any
    ``KEY : value`` line whose key is an upper-case word.
    """
    spec: dict[str, str] = {}
    sections: Sections = {}
    current: str | None = None
    header_keys = (*_HEADER_KEYS, *extra_keys)
    for number, tokens in _lines(text):
        section = _section_name(tokens, extra_sections)
        if section == "EOF":
            break
        if section is not None:
            if section in sections:
                raise InputError(section, "twice", f"the section appears twice (line {number})")
            if section in unsupported:
                raise InputError(
                    section, tokens[0], f"unsupported (line {number}); only plain TSP/ATSP data"
                )
            current = section
            sections[current] = []
            rest = tokens[1:]
            if rest and rest[0] == ":":
                rest = rest[1:]
            if rest:
                sections[current].append((number, rest))
            continue
        header = _split_header(tokens) if not tokens[0][0].isdigit() else None
        if header is not None and _known_key(header[0], header_keys):
            key, value = header
            if key in spec:
                raise InputError(key, value, f"given twice (line {number})")
            spec[key] = value
            current = None
            continue
        if current is None:
            first = tokens[0].rstrip(":")
            raise InputError(
                "keyword", first, f"not a TSPLIB keyword or data outside a section (line {number})"
            )
        sections[current].append((number, tokens))
    return spec, sections


def check_header(spec: dict[str, str], kind: str) -> tuple[int, str, str | None]:
    """``DIMENSION``, ``EDGE_WEIGHT_TYPE`` and (EXPLICIT only) ``EDGE_WEIGHT_FORMAT``, validated;
    ``kind`` is ``"TSP"`` (symmetric) or ``"ATSP"``."""
    n, ewt = _dimension_and_weight_type(spec, kind)
    return n, ewt, None if ewt in COORD_TYPES else _weight_format(spec, kind)


def _dimension_and_weight_type(spec: dict[str, str], kind: str) -> tuple[int, str]:
    """``DIMENSION`` and ``EDGE_WEIGHT_TYPE``, validated (with ``NODE_COORD_TYPE``)."""
    if "DIMENSION" not in spec:
        raise InputError("DIMENSION", None, "missing; a TSPLIB file must give its dimension")
    n = to_int(spec["DIMENSION"], "DIMENSION", "header")
    if n < 1:
        raise InputError("DIMENSION", spec["DIMENSION"], "must be at least 1")
    ewt = spec.get("EDGE_WEIGHT_TYPE", "").upper()
    if not ewt:
        raise InputError("EDGE_WEIGHT_TYPE", None, "missing")
    if ewt not in EDGE_WEIGHT_TYPES:
        raise InputError(
            "EDGE_WEIGHT_TYPE", ewt, f"unsupported; supported: {', '.join(EDGE_WEIGHT_TYPES)}"
        )
    node_coord_type = spec.get("NODE_COORD_TYPE", "TWOD_COORDS").upper()
    if node_coord_type not in ("TWOD_COORDS", "NO_COORDS"):
        raise InputError("NODE_COORD_TYPE", node_coord_type, "unsupported; supported: TWOD_COORDS")
    if kind == "ATSP" and ewt != "EXPLICIT":
        raise InputError("EDGE_WEIGHT_TYPE", ewt, "an ATSP must give an EXPLICIT matrix")
    return n, ewt


def _weight_format(spec: dict[str, str], kind: str) -> str:
    """``EDGE_WEIGHT_FORMAT`` of an EXPLICIT file, validated."""
    fmt = spec.get("EDGE_WEIGHT_FORMAT", "").upper()
    if fmt not in EDGE_WEIGHT_FORMATS:
        raise InputError(
            "EDGE_WEIGHT_FORMAT",
            fmt or None,
            f"unsupported; supported: {', '.join(EDGE_WEIGHT_FORMATS)}",
        )
    if kind == "ATSP" and fmt != "FULL_MATRIX":
        raise InputError("EDGE_WEIGHT_FORMAT", fmt, "an ATSP needs FULL_MATRIX")
    return fmt


def read_weights(
    sections: Sections, n: int, ewt: str, fmt: str | None, *, symmetric: bool
) -> tuple[list[str], np.ndarray | None, np.ndarray | None]:
    """Node ids, coordinates (None when the file gives none) and the explicit matrix (None for
    coordinate weight types) from the data sections."""
    if ewt in COORD_TYPES:
        if "NODE_COORD_SECTION" not in sections:
            raise InputError("NODE_COORD_SECTION", None, f"missing; needed by {ewt}")
        ids, xy = _coords(sections["NODE_COORD_SECTION"], n, "NODE_COORD_SECTION")
        return ids, xy, None
    if "EDGE_WEIGHT_SECTION" not in sections:
        raise InputError("EDGE_WEIGHT_SECTION", None, "missing; needed by EXPLICIT")
    matrix = _explicit(sections["EDGE_WEIGHT_SECTION"], n, fmt, symmetric=symmetric)
    ids = [str(i) for i in range(1, n + 1)]
    xy = None
    for key in ("DISPLAY_DATA_SECTION", "NODE_COORD_SECTION"):
        if key in sections:
            shown_ids, xy = _coords(sections[key], n, key)
            if shown_ids != ids:
                raise InputError(key, shown_ids[:3], "must list nodes 1..DIMENSION in order")
            break
    return ids, xy, matrix


def _coords(
    rows: list[tuple[int, list[str]]], n: int, section: str
) -> tuple[list[str], np.ndarray]:
    """Node numbers and (n, 2) coordinates of a coordinate section."""
    if len(rows) != n:
        raise InputError(section, len(rows), f"has {len(rows)} nodes, DIMENSION says {n}")
    ids: list[str] = []
    xy = np.empty((n, 2))
    seen: set[int] = set()
    for k, (number, tokens) in enumerate(rows):
        where = f"line {number}"
        if len(tokens) != 3:
            raise InputError(section, " ".join(tokens), f"expected 'id x y' ({where})")
        node = to_int(tokens[0], section, where)
        if node in seen:
            raise InputError(section, node, f"duplicate node number ({where})")
        seen.add(node)
        ids.append(str(node))
        xy[k, 0] = to_float(tokens[1], section, where)
        xy[k, 1] = to_float(tokens[2], section, where)
    return ids, xy


def _explicit(
    rows: list[tuple[int, list[str]]], n: int, fmt: str, *, symmetric: bool
) -> np.ndarray:
    """The full (n, n) matrix of an ``EDGE_WEIGHT_SECTION`` in format ``fmt``."""
    values: list[float] = []
    for number, tokens in rows:
        values.extend(to_float(t, "EDGE_WEIGHT_SECTION", f"line {number}") for t in tokens)
    layout = _COL_AS_ROW.get(fmt, fmt)
    expected = {
        "FULL_MATRIX": n * n,
        "UPPER_ROW": n * (n - 1) // 2,
        "LOWER_ROW": n * (n - 1) // 2,
        "UPPER_DIAG_ROW": n * (n + 1) // 2,
        "LOWER_DIAG_ROW": n * (n + 1) // 2,
    }[layout]
    if len(values) != expected:
        raise InputError(
            "EDGE_WEIGHT_SECTION",
            len(values),
            f"has {len(values)} numbers; {fmt} with DIMENSION {n} needs {expected}",
        )
    data = np.asarray(values, dtype=np.float64)
    if layout == "FULL_MATRIX":
        matrix = data.reshape(n, n).copy()
        if symmetric and not np.array_equal(matrix, matrix.T):
            i, j = np.argwhere(matrix != matrix.T)[0]
            raise InputError(
                "EDGE_WEIGHT_SECTION",
                f"w({i + 1},{j + 1})={matrix[i, j]:g} but w({j + 1},{i + 1})={matrix[j, i]:g}",
                "a TYPE: TSP matrix must be symmetric (use TYPE: ATSP)",
            )
    else:
        diag = 0 if "DIAG" in layout else 1
        if layout.startswith("UPPER"):
            r, c = np.triu_indices(n, k=diag)  # row-major order = the row listing
        else:
            r, c = np.tril_indices(n, k=-diag)
        matrix = np.zeros((n, n))
        matrix[r, c] = data
        matrix[c, r] = data
    np.fill_diagonal(matrix, 0.0)  # TSPLIB diagonals are 0 or a large "forbidden" value
    if np.any(matrix < 0):
        i, j = np.argwhere(matrix < 0)[0]
        raise InputError("EDGE_WEIGHT_SECTION", matrix[i, j], f"negative weight w({i + 1},{j + 1})")
    return matrix


def parse_tour(text: str, source: str = "text") -> list[str]:
    """The node numbers of a TSPLIB ``.tour`` file's ``TOUR_SECTION`` (up to ``-1``), as ids."""
    nonempty(text, source)
    tour: list[str] = []
    in_tour = False
    for number, tokens in _lines(text):
        if not in_tour:
            if tokens[0].rstrip(":").upper() == "TOUR_SECTION":
                in_tour = True
                tokens = tokens[1:]
            else:
                continue
        for token in tokens:
            if token.upper() == "EOF":
                return tour
            node = to_int(token, "TOUR_SECTION", f"line {number}")
            if node == -1:
                return tour
            tour.append(str(node))
    if not in_tour:
        raise InputError("TOUR_SECTION", None, f"missing in {source}")
    return tour


def read_tour(path: str | Path) -> list[str]:
    """Read a TSPLIB tour file; see :func:`parse_tour`."""
    text, file_name, _ = source_text(path)
    return parse_tour(text, file_name)


def to_instance(problem: TsplibProblem, source: str) -> Instance:
    """The MTRCE instance of a parsed TSPLIB problem (see the module docstring)."""
    dataset = Dataset(modality=MODALITY, task="tsp", samples=0)
    nodes = [
        point_node(node_id, None if problem.xy is None else tuple(problem.xy[k]), dataset)
        for k, node_id in enumerate(problem.ids)
    ]
    if problem.matrix is not None:
        travel = TravelSpec(metric="EXPLICIT", matrix=problem.matrix.tolist())
    else:
        travel = TravelSpec(metric=problem.edge_weight_type)
    first = problem.ids[0]
    request = TrainingRequest(
        id="tsp",
        owner=first,
        start=first,
        end=first,
        modality=MODALITY,
        task="tsp",
        model=TrainModel(name="tour", size_mb=0, gflop_per_sample=0),
        objective="min_time",
    )
    known = lookup("tsplib", problem.name, dimension=problem.dimension)
    benchmark = BenchmarkInfo(
        family="tsplib",
        source=f"{source} (TSPLIB)",
        sense="min",
        objective="tour length",
        best_known=None if known is None else known.value,
        proven_optimal=known is not None and known.proven,
        reference=REFERENCE if known is None else f"{REFERENCE}; {known.source}",
    )
    return Instance(
        name=problem.name,
        description=f"TSPLIB {problem.type} {problem.name}: {problem.comment}".rstrip(": "),
        snapshot=Snapshot(name=problem.name, nodes=nodes),
        requests=[request],
        travel=travel,
        benchmark=benchmark,
        metadata={
            "format": "tsplib",
            "type": problem.type,
            "dimension": problem.dimension,
            "edge_weight_type": problem.edge_weight_type,
            **(
                {"edge_weight_format": problem.edge_weight_format}
                if problem.matrix is not None
                else {}
            ),
        },
    )


def parse(text: str, source: str = "text") -> Instance:
    """Parse TSPLIB text into an instance; ``source`` names it in messages and metadata."""
    return to_instance(parse_problem(text, source), source)


def read(path: str | Path) -> Instance:
    """Read a TSPLIB file into an instance."""
    text, file_name, _ = source_text(path)
    return parse(text, file_name)


def convert(path: str | Path, *, sense: str | None = None, index: int = 1) -> Instance:
    """``daitn-opt convert tsplib``: :func:`read`, after checking the generic options."""
    single_instance_options("tsplib", sense, "min", index)
    return read(path)
