"""Converters from classic benchmark formats (TSPLIB, OP, TOP, OPTW) into instances.

The strongest checks use published facts: every TSPLIB optimal tour has exactly the published
length under the converted instance's travel times; Righini and Salani's printed OPTW routes are
reproduced, start time by start time, by the converted instance's distances, service times and
windows; Tsiligirides set 2's proven optima are re-derived by an independent exact DP.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from daitn_opt.drrt.converters import FORMATS, convert, tsplib
from daitn_opt.drrt.converters import op as op_conv
from daitn_opt.drrt.converters import optw as optw_conv
from daitn_opt.drrt.converters import top as top_conv
from daitn_opt.drrt.converters.known import entries, lookup
from daitn_opt.drrt.instance import dump_instance, parse_instance
from daitn_opt.drrt.view import view
from daitn_opt.errors import InputError
from daitn_opt.mtrce.problem import Problem, from_instance

CLASSIC = Path(__file__).resolve().parents[2] / "instances" / "classic"
TSPLIB = CLASSIC / "tsplib"
TOURS = sorted((TSPLIB / "tours").glob("*.opt.tour"))
TSP_FILES = sorted(TSPLIB.glob("*.tsp"))
OP_FILES = sorted(
    p
    for folder in (
        "tsiligirides_1",
        "tsiligirides_2",
        "tsiligirides_3",
        "chao_set_64",
        "chao_set_66",
    )
    for p in (CLASSIC / "op" / folder).glob("*.txt")
)
TOP_FILES = sorted((CLASSIC / "top").glob("Set_*/*.txt"))
OPTW_FILES = sorted((CLASSIC / "optw").glob("*/*.txt"))


def solutions() -> dict[str, int]:
    """TSPLIB's published optimal tour lengths, read from the shipped ``solutions`` file."""
    out = {}
    for line in (TSPLIB / "solutions").read_text().splitlines():
        if ":" in line:
            name, value = line.split(":", 1)
            out[name.strip()] = int(value.split()[0])
    return out


def tour_length(problem: Problem, tour: list[str]) -> float:
    idx = np.array([problem.ids.index(node) for node in tour])
    return float(problem.travel[idx, np.roll(idx, -1)].sum())


def raises_field(field: str, fn, *args, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        fn(*args, **kwargs)
    assert info.value.field == field, str(info.value)
    return info.value


# -- TSPLIB ------------------------------------------------------------------------------------
def test_shipped_files_cover_every_optimal_tour():
    """Every optimal tour shipped has its instance shipped too (so the next test covers all)."""
    assert len(TOURS) == 28
    for tour in TOURS:
        assert (TSPLIB / f"{tour.name.split('.')[0]}.tsp").exists(), tour.name


@pytest.mark.parametrize("tour_file", TOURS, ids=lambda p: p.name.split(".")[0])
def test_optimal_tour_has_published_length(tour_file):
    """The published optimal tour has exactly the published optimal length in the MTRCE problem."""
    name = tour_file.name.split(".")[0]
    inst = convert("tsplib", TSPLIB / f"{name}.tsp")
    problem = from_instance(inst)
    tour = tsplib.read_tour(tour_file)
    assert sorted(tour) == sorted(problem.ids)
    assert tour_length(problem, tour) == solutions()[name]
    assert inst.benchmark.best_known == solutions()[name]
    assert inst.benchmark.proven_optimal


@pytest.mark.parametrize("path", TSP_FILES, ids=lambda p: p.stem)
def test_tsplib_instance_is_the_tsp(path):
    """All cities, start = end = first city, all mandatory, travel = the TSPLIB matrix exactly."""
    data = tsplib.parse_problem(path.read_text(), path.name)
    inst = convert("tsplib", path)
    v = view(inst)
    problem = from_instance(inst)
    assert problem.ids == data.ids == [n.id for n in inst.snapshot.nodes]
    assert problem.n == data.dimension
    assert problem.start == problem.end == 0
    assert problem.objective == "min_time" and problem.sense == "min" and problem.k == 1
    assert sorted(problem.mandatory.tolist()) == list(range(1, problem.n))
    assert np.array_equal(problem.travel, data.distances())
    assert np.all(problem.service == 0) and not problem.has_windows
    assert np.isinf(problem.deadline) and v.excluded == {}
    assert np.all(np.diag(problem.travel) == 0)
    assert np.array_equal(problem.travel, np.round(problem.travel))  # TSPLIB weights are integers
    assert inst.benchmark.best_known == solutions()[path.stem]
    # Through JSON and back, nothing changes.
    again = from_instance(parse_instance(json.loads(dump_instance(inst))))
    assert np.array_equal(again.travel, problem.travel)


SYM = np.array([[0, 1, 2, 3], [1, 0, 4, 5], [2, 4, 0, 6], [3, 5, 6, 0]], dtype=float)
EXPLICIT_SECTIONS = {
    "FULL_MATRIX": "0 1 2 3\n1 0 4 5\n2 4 0 6\n3 5 6 0",
    "UPPER_ROW": "1 2 3\n4 5\n6",
    "LOWER_ROW": "1\n2 4\n3 5 6",
    "UPPER_DIAG_ROW": "0 1 2 3\n0 4 5\n0 6\n0",
    "LOWER_DIAG_ROW": "0\n1 0\n2 4 0\n3 5 6 0",
    "UPPER_COL": "1\n2 4\n3 5 6",
    "LOWER_COL": "1 2 3\n4 5\n6",
    "UPPER_DIAG_COL": "0\n1 0\n2 4 0\n3 5 6 0",
    "LOWER_DIAG_COL": "0 1 2 3\n0 4 5\n0 6\n0",
}


def explicit_text(fmt: str, section: str, dimension: int = 4) -> str:
    return (
        f"NAME : tiny\nTYPE : TSP\nDIMENSION : {dimension}\nEDGE_WEIGHT_TYPE : EXPLICIT\n"
        f"EDGE_WEIGHT_FORMAT : {fmt}\nEDGE_WEIGHT_SECTION\n{section}\nEOF\n"
    )


@pytest.mark.parametrize("fmt", sorted(EXPLICIT_SECTIONS))
def test_explicit_formats(fmt):
    """Every EXPLICIT layout of the same symmetric matrix gives that matrix."""
    inst = tsplib.parse(explicit_text(fmt, EXPLICIT_SECTIONS[fmt]))
    assert inst.travel.metric == "EXPLICIT"
    assert np.array_equal(from_instance(inst).travel, SYM)
    assert [n.id for n in inst.snapshot.nodes] == ["1", "2", "3", "4"]


def coord_text(ewt: str, rows: str, dimension: int = 3) -> str:
    return (
        f"NAME: pts\nCOMMENT: test\nTYPE: TSP\nDIMENSION: {dimension}\n"
        f"EDGE_WEIGHT_TYPE: {ewt}\nNODE_COORD_SECTION\n{rows}\nEOF\n"
    )


def test_coordinate_rounding_rules():
    """EUC_2D rounds half up, CEIL_2D rounds up, ATT is TSPLIB's pseudo-Euclidean distance."""
    rows = "1 0 0\n2 3 4\n3 0 2.5"
    euc = from_instance(tsplib.parse(coord_text("EUC_2D", rows))).travel
    assert euc[0, 1] == 5 and euc[0, 2] == 3  # 2.5 -> 3
    rows = "1 0 0\n2 3 4.1\n3 0 2.01"
    ceil = from_instance(tsplib.parse(coord_text("CEIL_2D", rows))).travel
    assert ceil[0, 1] == 6 and ceil[0, 2] == 3
    # ATT: r = sqrt((dx^2 + dy^2) / 10); t = nint(r); t + 1 if t < r else t.
    rows = "1 0 0\n2 10 0\n3 30 40"
    att = from_instance(tsplib.parse(coord_text("ATT", rows))).travel
    assert att[0, 1] == 4  # r = 3.162..., t = 3 < r
    assert att[0, 2] == 16  # r = 15.811..., t = 16 > r
    assert att[1, 2] == 15  # r = sqrt(2000 / 10) = 14.14..., t = 14 < r


def test_node_numbers_are_ids_and_positions_kept():
    """Node numbers as written (any order) become ids; coordinates become positions."""
    inst = tsplib.parse(coord_text("EUC_2D", "7 0 0\n3 3 4\n5 6 8"))
    assert [n.id for n in inst.snapshot.nodes] == ["7", "3", "5"]
    assert inst.snapshot.nodes[1].position.x == 3 and inst.snapshot.nodes[1].position.y == 4
    req = inst.requests[0]
    assert (req.owner, req.start, req.end, req.objective) == ("7", "7", "7", "min_time")
    assert req.deadline is None and req.model.size_mb == 0 and req.model.gflop_per_sample == 0
    node = inst.snapshot.nodes[0]
    assert node.compute is not None
    assert [(d.modality, d.task, d.samples) for d in node.datasets] == [("benchmark", "tsp", 0)]


def test_atsp_full_matrix():
    """An ATSP keeps its asymmetric matrix (diagonal set to 0)."""
    text = (
        "NAME: a3\nTYPE: ATSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EXPLICIT\n"
        "EDGE_WEIGHT_FORMAT: FULL_MATRIX\nEDGE_WEIGHT_SECTION\n9999 1 2\n3 9999 4\n5 6 9999\nEOF"
    )
    travel = from_instance(tsplib.parse(text)).travel
    assert np.array_equal(travel, [[0, 1, 2], [3, 0, 4], [5, 6, 0]])


def test_tour_parser():
    assert tsplib.parse_tour("NAME : t\nTYPE : TOUR\nTOUR_SECTION\n3 1\n2\n-1\nEOF\n") == [
        "3",
        "1",
        "2",
    ]
    raises_field("TOUR_SECTION", tsplib.parse_tour, "TOUR_SECTION\n1 x -1")


TSPLIB_ERRORS = [
    ("EDGE_WEIGHT_TYPE", coord_text("XRAY1", "1 0 0\n2 1 1\n3 2 2"), "XRAY1"),
    ("NODE_COORD_SECTION", coord_text("EUC_2D", "1 0 0\n2 1 abc\n3 2 2"), "abc"),
    ("NODE_COORD_SECTION", coord_text("EUC_2D", "1 0 0\n2 1 1"), 2),
    ("NODE_COORD_SECTION", coord_text("EUC_2D", "1 0 0\n1 1 1\n3 2 2"), 1),
    ("NODE_COORD_SECTION", coord_text("EUC_2D", "1 0 0 5\n2 1 1\n3 2 2"), "1 0 0 5"),
    ("DIMENSION", coord_text("EUC_2D", "1 0 0\n2 1 1\n3 2 2", dimension="x"), "x"),
    ("EDGE_WEIGHT_SECTION", explicit_text("UPPER_ROW", "1 2 3\n4 5"), 5),
    ("EDGE_WEIGHT_SECTION", explicit_text("UPPER_ROW", "1 2 3\n4 five\n6"), "five"),
    ("EDGE_WEIGHT_FORMAT", explicit_text("TRIANGLE", "1 2 3\n4 5\n6"), "TRIANGLE"),
    (
        "TYPE",
        coord_text("EUC_2D", "1 0 0\n2 1 1\n3 2 2").replace("TYPE: TSP", "TYPE: CVRP"),
        "CVRP",
    ),
    ("file", "", "text"),
    ("file", "  \n\n ", "text"),
]


@pytest.mark.parametrize(("field", "text", "value"), TSPLIB_ERRORS, ids=lambda x: str(x)[:20])
def test_tsplib_errors_name_field_and_value(field, text, value):
    error = raises_field(field, tsplib.parse, text)
    assert error.value == value


def test_tsplib_refuses_unsupported_and_inconsistent_data():
    """Fixed edges, asymmetric TSP matrices, missing sections and unknown keywords are refused."""
    text = coord_text("EUC_2D", "1 0 0\n2 1 1\n3 2 2").replace(
        "EOF", "FIXED_EDGES_SECTION\n1 2\n-1\nEOF"
    )
    raises_field("FIXED_EDGES_SECTION", tsplib.parse, text)
    full = "0 1 2 3\n1 0 4 5\n2 4 0 6\n3 5 7 0"
    raises_field("EDGE_WEIGHT_SECTION", tsplib.parse, explicit_text("FULL_MATRIX", full))
    raises_field(
        "DIMENSION", tsplib.parse, "NAME: x\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0"
    )
    raises_field(
        "NODE_COORD_SECTION", tsplib.parse, "NAME: x\nDIMENSION: 1\nEDGE_WEIGHT_TYPE: GEO\n"
    )
    raises_field("keyword", tsplib.parse, "NAME: x\nFOO: 3\nDIMENSION: 1\nEDGE_WEIGHT_TYPE: GEO\n")
    raises_field("--sense", tsplib.convert, TSPLIB / "berlin52.tsp", sense="max")
    raises_field("--index", tsplib.convert, TSPLIB / "berlin52.tsp", index=2)


def test_display_data_become_positions():
    """EXPLICIT files keep their display coordinates as node positions (travel stays the matrix)."""
    inst = convert("tsplib", TSPLIB / "bayg29.tsp")
    assert inst.travel.metric == "EXPLICIT"
    first = inst.snapshot.nodes[0].position
    assert (first.x, first.y) == (1150.0, 1760.0)


def test_dispatch_is_lazy_and_case_insensitive():
    """Formats are dispatched by name to their module (gap/mknap written separately)."""
    inst = convert("MKNAP", CLASSIC / "mknap" / "mknap1.txt", index=2)
    assert inst.benchmark.family == "mknap"
    assert convert("TSPLIB", TSPLIB / "burma14.tsp").travel.metric == "GEO"


def test_unknown_format_lists_the_formats(tmp_path):
    error = raises_field("FORMAT", convert, "xray", tmp_path / "x.txt")
    for fmt in FORMATS:
        assert fmt in error.reason


def test_missing_and_empty_files(tmp_path):
    raises_field("file", convert, "tsplib", tmp_path / "missing.tsp")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    for fmt in ("tsplib", "op", "top", "optw"):
        raises_field("file", convert, fmt, empty)


# -- OP ----------------------------------------------------------------------------------------
OP_TEXT = "7.5\t1\n0 0 0\n3 4 0\n3 0 10\n0 4 2.5\n"


def test_op_parse_inline():
    """Ids are 1-based positions; start '1', end '2', budget = deadline; real distances."""
    inst = op_conv.parse(OP_TEXT, "tiny.txt")
    problem = from_instance(inst)
    assert problem.ids == ["1", "2", "3", "4"]
    assert (problem.ids[problem.start], problem.ids[problem.end]) == ("1", "2")
    assert problem.deadline == 7.5 and problem.k == 1 and problem.objective == "max_utility"
    assert problem.utility.tolist() == [0, 0, 10, 2.5]  # a fractional score, exactly
    assert problem.travel[0, 1] == 5 and problem.travel[2, 3] == 5
    assert problem.travel[0, 2] == 3 and not problem.has_windows
    assert inst.benchmark.sense == "max" and inst.benchmark.best_known is None
    assert inst.travel.metric == "EUCLIDEAN"
    data = inst.snapshot.nodes[3].datasets[0]
    assert data.samples * data.quality == 2.5 and data.task == "op"


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("Tmax", "abc 1\n0 0 0\n1 1 0\n"),
        ("P", "5 2\n0 0 0\n1 1 0\n"),
        ("Tmax P", "5\n0 0 0\n1 1 0\n"),
        ("S", "5 1\n0 0 0\n1 1 x\n"),
        ("S", "5 1\n0 0 0\n1 1 -3\n"),
        ("point", "5 1\n0 0 0\n1 1\n"),
        ("points", "5 1\n0 0 0\n"),
        ("file", ""),
    ],
)
def test_op_errors(field, text):
    raises_field(field, op_conv.parse, text)


@pytest.mark.parametrize("path", OP_FILES, ids=lambda p: p.stem)
def test_op_shipped_files(path):
    """Every shipped OP file converts with its published value and its file's points."""
    inst = convert("op", path)
    problem = from_instance(inst)
    rows = [line.split() for line in path.read_text().splitlines() if line.split()]
    pts = np.array(rows[1:], dtype=float)
    assert problem.n == len(pts) and problem.deadline == float(rows[0][0])
    assert problem.utility.tolist() == pts[:, 2].tolist()
    dist = np.hypot(*(pts[:, None, :2] - pts[None, :, :2]).transpose(2, 0, 1))
    np.testing.assert_allclose(problem.travel, dist, rtol=1e-15, atol=0)  # hypot vs sqrt: 1 ulp
    assert inst.benchmark.best_known is not None
    if path.parent.name.startswith("tsiligirides"):
        assert inst.benchmark.proven_optimal


def test_op_known_values_match_the_logs():
    """Tsiligirides values equal results-chao.log; Chao-set values are >= every log value."""
    logs: dict[tuple[str, int], dict[str, int]] = {}
    for log in (CLASSIC / "op" / "literature_values_vns_dopn").glob("*.log"):
        for line in log.read_text().splitlines():
            if line.strip():
                d = dict(kv.split(":", 1) for kv in line.strip().strip(";").split(";"))
                key = (d["NAME"], int(float(d["BUDGET"])))
                logs.setdefault(key, {})[log.name] = int(float(d["REWARDS"]))
    names = {"1": "Tsiligirides Set 1", "2": "Tsiligirides Set 2", "3": "Tsiligirides Set 3"}
    for stem, rec in entries("op").items():
        if stem.startswith("tsiligirides"):
            key = (names[stem.split("_")[2]], int(rec["budget"]))
            assert rec["value"] == logs[key]["results-chao.log"] and rec["proven"]
        else:
            shape = "diamond" if stem.startswith("set_64") else "squared"
            key = (f"Chao {shape}-shaped Set", int(rec["budget"]))
            assert rec["value"] >= max(logs[key].values())
            assert rec["proven"] or rec["value"] == max(logs[key].values())
    assert lookup("op", "set_64_1_80").value == 1284  # proven optimum above the logs' 1272


def _op_optima(problem: Problem, budgets: list[float]) -> list[float]:
    """Exact OP optima for several budgets by Held-Karp over customer subsets (independent of
    any solver): shortest start -> subset -> end path length for every subset, then the best
    score among subsets that fit."""
    s, e = problem.start, problem.end
    cust = [i for i in range(problem.n) if i not in (s, e)]
    m = len(cust)
    d = problem.travel[np.ix_(cust, cust)]
    masks = np.arange(1 << m)
    pop = np.zeros(1 << m, dtype=np.int64)
    for j in range(m):
        pop += (masks >> j) & 1
    best = np.full((1 << m, m), np.inf)
    best[1 << np.arange(m), np.arange(m)] = problem.travel[s, cust]
    for k in range(2, m + 1):
        layer = masks[pop == k]
        for j in range(m):
            sel = layer[((layer >> j) & 1) == 1]
            best[sel, j] = (best[sel ^ (1 << j)] + d[:, j]).min(axis=1)
    length = (best + problem.travel[cust, e]).min(axis=1)
    length[0] = problem.travel[s, e]
    bits = ((masks[:, None] >> np.arange(m)) & 1).astype(float)
    score = bits @ problem.utility[cust] + problem.utility[s] + problem.utility[e]
    return [float(score[length <= b + 1e-9].max()) for b in budgets]


@pytest.mark.slow
def test_tsiligirides_set2_optima_by_exact_dp():
    """An exact DP over the converted arrays gives every proven Tsiligirides set 2 optimum
    (so the higher values some logs report, 275 at budget 30 and 385 at 38, are infeasible)."""
    files = sorted((CLASSIC / "op" / "tsiligirides_2").glob("*.txt"))
    insts = [convert("op", f) for f in files]
    problems = [from_instance(i) for i in insts]
    for p in problems[1:]:
        assert np.array_equal(p.travel, problems[0].travel)
    optima = _op_optima(problems[0], [p.deadline for p in problems])
    assert optima == [i.benchmark.best_known for i in insts]


# -- TOP ---------------------------------------------------------------------------------------
def test_top_parse_inline():
    text = "n 4\nm 2\ntmax 10\n0 0 0\n3 4 5\n6 8 7\n0 1 0\n"
    problem = from_instance(top_conv.parse(text, "tiny.txt"))
    assert (problem.ids[problem.start], problem.ids[problem.end]) == ("1", "4")
    assert problem.k == 2 and problem.deadline == 10 and problem.utility.tolist() == [0, 5, 7, 0]
    assert problem.travel[0, 2] == 10


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("n", "n 5\nm 2\ntmax 10\n0 0 0\n1 1 1\n"),
        ("m", "n 2\ntmax 10\n0 0 0\n1 1 1\n"),
        ("m", "n 2\nm two\ntmax 10\n0 0 0\n1 1 1\n"),
        ("tmax", "n 2\nm 2\ntmax -1\n0 0 0\n1 1 1\n"),
        ("y", "n 2\nm 2\ntmax 1\n0 0 0\n1 ? 1\n"),
        ("header", "n 2\nm 2\n"),
    ],
)
def test_top_errors(field, text):
    raises_field(field, top_conv.parse, text)


@pytest.mark.parametrize("path", TOP_FILES[::13], ids=lambda p: p.stem)
def test_top_shipped_files(path):
    """Shipped TOP files: k = m, end = last point, deadline = tmax, Chao's value (not proven)."""
    inst = convert("top", path)
    problem = from_instance(inst)
    head = dict(line.split() for line in path.read_text().splitlines()[:3])
    assert problem.n == int(head["n"]) and problem.k == int(head["m"])
    assert problem.deadline == float(head["tmax"])
    assert problem.start == 0 and problem.end == problem.n - 1
    assert problem.ids[problem.end] == head["n"]
    chao = dict(
        line.split() for line in (CLASSIC / "top" / "chaoResults.txt").read_text().splitlines()
    )
    assert inst.benchmark.best_known == float(chao[path.name])
    assert not inst.benchmark.proven_optimal


def test_every_top_file_has_a_value():
    assert len(TOP_FILES) == len(entries("top")) == 387
    for path in TOP_FILES:
        assert lookup("top", path.stem) is not None


# -- OPTW --------------------------------------------------------------------------------------
OPTW_TEXT = (
    "1 1 2 1\n0 0\n0 0.0 0.0 0 0 0 0 0 100\n1 3.0 4.0 2 10 1 1 1 5 20\n2 1.0 1.0 1 7 1 2 1 2 0 8\n"
)


def test_optw_parse_inline():
    """Depot 0 is start and end, its C the deadline; service -> overhead; windows on customers."""
    inst = optw_conv.parse(OPTW_TEXT, "tiny.txt")
    problem = from_instance(inst)
    assert problem.ids == ["0", "1", "2"] and problem.start == problem.end == 0
    assert problem.deadline == 100 and problem.k == 1
    assert problem.service.tolist() == [0, 2, 1]
    assert problem.utility.tolist() == [0, 10, 7]
    assert problem.window_open.tolist() == [0, 5, 0]
    assert problem.window_close.tolist() == [math.inf, 20, 8]
    assert problem.travel[0, 1] == 5.0 and problem.travel[0, 2] == 1.4  # sqrt(2) floored to 0.1
    assert inst.travel.metric == "EUCLIDEAN_FLOOR1"
    two = from_instance(optw_conv.parse(OPTW_TEXT, "tiny.txt", decimals=2))
    assert two.travel[0, 2] == 1.41


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("N", OPTW_TEXT.replace("1 1 2 1", "1 1 3 1")),
        ("a", OPTW_TEXT.replace("1 2 1 2 0 8", "1 3 1 2 0 8")),
        ("C", OPTW_TEXT.replace("5 20", "25 20")),
        ("x", OPTW_TEXT.replace("3.0 4.0", "3.0.1 4.0")),
        ("O", OPTW_TEXT.replace("0 0 0 0 100", "0 0 0 5 100")),
        ("decimals", OPTW_TEXT),
    ],
)
def test_optw_errors(field, text):
    kwargs = {"decimals": 3} if field == "decimals" else {}
    raises_field(field, optw_conv.parse, text, **kwargs)


def test_optw_shipped_file_fields():
    """c101: windows, service times and scores of the file, deadline = depot's closing time."""
    path = CLASSIC / "optw" / "solomon_100" / "c101.txt"
    problem = from_instance(convert("optw", path))
    rows = [line.split() for line in path.read_text().splitlines()[2:] if line.split()]
    assert problem.ids == [r[0] for r in rows] and problem.n == 101
    assert problem.deadline == 1236
    assert problem.service.tolist() == [float(r[3]) for r in rows]
    assert problem.utility.tolist() == [float(r[4]) for r in rows]
    assert problem.window_open[1:].tolist() == [float(r[-2]) for r in rows[1:]]
    assert problem.window_close[1:].tolist() == [float(r[-1]) for r in rows[1:]]
    xy = np.array([[float(r[1]), float(r[2])] for r in rows])
    real = np.hypot(*(xy[:, None] - xy[None, :]).transpose(2, 0, 1))
    assert np.all((problem.travel <= real) & (problem.travel > real - 0.1 - 1e-9))


def righini_salani_routes() -> dict[str, tuple[int, list[int], list[float]]]:
    """The best route printed in each Solomon result file: (prize, customers, start times)."""
    routes = {}
    archive = zipfile.ZipFile(CLASSIC / "optw" / "righini_salani_results" / "Solomon_OPT.zip")
    pattern = r"Best Feasible Path\s*Prize:(\d+)\s+Customers:\d+\s*Usr :([\d\s]+)Time :([\d.\s]+)"
    for info in archive.infolist():
        found = re.findall(pattern, archive.read(info).decode()) if not info.is_dir() else []
        if found:
            prize, users, times = found[-1]
            name = Path(info.filename).name.split("_")[0]
            if name not in routes or int(prize) > routes[name][0]:
                routes[name] = (int(prize), users.split(), [float(t) for t in times.split()])
    return routes


def test_optw_distances_reproduce_righini_salani_routes():
    """Righini and Salani's routes, timed with the converted arrays, give their printed service
    start times exactly, are feasible, and collect the published value (one-decimal floor)."""
    routes = righini_salani_routes()
    assert len(routes) == 29
    for name, (prize, users, times) in sorted(routes.items()):
        inst = convert("optw", CLASSIC / "optw" / "solomon_100" / f"{name}.txt")
        problem = from_instance(inst)
        t, prev = 0.0, problem.start
        for node, printed in zip(users, times, strict=True):
            i = problem.ids.index(node)
            t = max(t + problem.service[prev] + problem.travel[prev, i], problem.window_open[i])
            assert abs(t - printed) < 1e-6, (name, node, t, printed)
            assert t <= problem.window_close[i] + 1e-9
            prev = i
        back = t + problem.service[prev] + problem.travel[prev, problem.end]
        assert back <= problem.deadline + 1e-9, (name, back)
        idx = [problem.ids.index(u) for u in users]
        assert problem.utility[idx].sum() == prize == inst.benchmark.best_known


def _schedule(problem: Problem, route: list[str]) -> tuple[bool, float]:
    """(feasible, utility) of one route given as ids, start to end, timed as the problem says."""
    t, prev, ok = 0.0, problem.start, True
    for node in route[1:]:
        i = problem.ids.index(node)
        t = max(t + problem.service[prev] + problem.travel[prev, i], problem.window_open[i])
        ok &= bool(t <= problem.window_close[i] + 1e-9)
        prev = i
    ok &= bool(t + problem.service[prev] <= problem.deadline + 1e-9)
    return ok, float(problem.utility[[problem.ids.index(v) for v in set(route)]].sum())


def test_cordeau_distances_are_not_floored_to_one_decimal():
    """With one-decimal distances pr01 has a route of score 309, above Righini and Salani's
    proven 308 (route found by the MTRCE cpsat solver, accepted by the independent checker); with
    the converter's two-decimal distances that route breaks node 7's window (629.49 > 629)."""
    route = [
        "0",
        "9",
        "24",
        "47",
        "12",
        "38",
        "30",
        "2",
        "32",
        "37",
        "10",
        "45",
        "41",
        "28",
        "1",
        "16",
        "36",
        "31",
        "35",
        "34",
        "22",
        "7",
        "0",
    ]
    path = CLASSIC / "optw" / "cordeau_pr01_10" / "pr01.txt"
    one = from_instance(optw_conv.read(path, decimals=1))
    assert _schedule(one, route) == (True, 309.0)
    inst = convert("optw", path)
    assert inst.benchmark.best_known == 308 and inst.benchmark.proven_optimal
    assert _schedule(from_instance(inst), route)[0] is False


def test_optw_known_values():
    """Proven where Righini and Salani's runs finished; r104/r108 best feasible; pr06/pr10 none."""
    for path in OPTW_FILES:
        inst = convert("optw", path)
        known = inst.benchmark.best_known
        if path.stem in ("pr06", "pr10"):
            assert known is None
        elif path.stem in ("r104", "r108"):
            assert known in (303, 294) and not inst.benchmark.proven_optimal
        else:
            assert known is not None and inst.benchmark.proven_optimal, path.stem
    assert convert("optw", CLASSIC / "optw" / "cordeau_pr01_10" / "pr01.txt").travel.metric == (
        "EUCLIDEAN_FLOOR2"
    )


def test_known_value_needs_matching_facts():
    """An edited file (another budget) does not inherit the published value."""
    text = (CLASSIC / "op" / "chao_set_64" / "set_64_1_80.txt").read_text()
    edited = text.replace("80", "81", 1)
    assert op_conv.parse(text, "set_64_1_80.txt").benchmark.best_known == 1284
    assert op_conv.parse(edited, "set_64_1_80.txt").benchmark.best_known is None


def test_tsplib_known_values_match_solutions_file():
    table = entries("tsplib")
    assert {k: v["value"] for k, v in table.items()} == solutions()
    assert all(v["proven"] for v in table.values())


# -- CLI ---------------------------------------------------------------------------------------
def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "daitn_opt.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def _one_line_exit_2(*args: str, cwd: Path) -> str:
    proc = _cli(*args, cwd=cwd)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_cli_convert_bad_input_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.tsp"
    bad.write_text(coord_text("XRAY1", "1 0 0\n2 1 1\n3 2 2"))
    line = _one_line_exit_2("convert", "tsplib", str(bad), "-o", "out.json", cwd=tmp_path)
    assert "EDGE_WEIGHT_TYPE = 'XRAY1': unsupported; supported: EUC_2D" in line
    assert not (tmp_path / "out.json").exists()


@pytest.mark.slow
def test_cli_convert_unknown_format_and_missing_file(tmp_path):
    line = _one_line_exit_2("convert", "xray", "x.tsp", "-o", "out.json", cwd=tmp_path)
    assert line.startswith("error: FORMAT: 'xray' is not one of 'tsplib'"), line
    line = _one_line_exit_2("convert", "op", "missing.txt", "-o", "out.json", cwd=tmp_path)
    assert "no such file" in line


def test_cli_convert_writes_a_loadable_instance(tmp_path):
    proc = _cli("convert", "tsplib", str(TSPLIB / "berlin52.tsp"), "-o", "b.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    inst = parse_instance(json.loads((tmp_path / "b.json").read_text()))
    assert inst.benchmark.best_known == 7542 and inst.snapshot.num_nodes == 52
