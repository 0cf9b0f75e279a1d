"""The OPLib converter (TSPLIB syntax, ``TYPE : OP``) and the shipped OPLib instances.

The strongest checks use published facts: EA4OP's routes, read from its ``.sol`` files, are
feasible under the converted instances and the independent MTRCE checker gives back exactly the
recorded value; hand-computed TSPLIB distances for every weight type family.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from daitn_opt.bench.sweep import Task, file_digest, run_task
from daitn_opt.drrt.converters import FORMATS, convert, oplib
from daitn_opt.drrt.converters.known import entries
from daitn_opt.drrt.converters.tsplib import parse_tour
from daitn_opt.drrt.instance import save_instance
from daitn_opt.errors import InputError
from daitn_opt.mtrce import check, from_instance

OPLIB = Path(__file__).resolve().parents[2] / "instances" / "classic" / "oplib"
FILES = sorted(OPLIB.glob("gen*/*.oplib"))


def op_text(
    weights: str,
    data: str,
    *,
    header: str = "",
    scores: str = "1 0\n2 5\n3 7\n4 2\n",
    depot: str = "1\n-1\n",
    limit: str = "20",
) -> str:
    """A 4-node OPLib text with the given weight header lines and data section(s)."""
    return (
        f"NAME : tiny\nTYPE : OP\nCOMMENT : test\nDIMENSION : 4\nCOST_LIMIT : {limit}\n"
        f"{header}{weights}{data}NODE_SCORE_SECTION\n{scores}DEPOT_SECTION\n{depot}EOF\n"
    )


COORDS = "NODE_COORD_SECTION\n1 0 0\n2 3 0\n3 3 4\n4 0 4\n"


def euc(**kw: str) -> str:
    """The EUC_2D square with other scores, depot or budget."""
    return op_text("EDGE_WEIGHT_TYPE : EUC_2D\n", COORDS, **kw)


EUC = euc()


def travel(text: str) -> np.ndarray:
    return from_instance(oplib.parse(text)).travel


def raises_field(field: str, text: str) -> InputError:
    with pytest.raises(InputError) as info:
        oplib.parse(text, "bad.oplib")
    assert info.value.field == field, (info.value.field, info.value.reason)
    return info.value


def test_parse_tiny_instance():
    """Closed route at the depot, budget = COST_LIMIT, node scores as utilities."""
    inst = oplib.parse(EUC)
    problem = from_instance(inst)
    assert problem.ids == ["1", "2", "3", "4"]
    assert problem.start == problem.end == 0
    assert problem.deadline == 20
    assert problem.utility.tolist() == [0, 5, 7, 2]
    assert inst.benchmark.family == "oplib" and inst.benchmark.sense == "max"
    assert inst.benchmark.best_known is None  # NAME "tiny" names no published instance
    assert inst.metadata["depot"] == "1" and inst.metadata["cost_limit"] == 20
    # the square's perimeter is 14: every node fits; a budget of 13 leaves one out
    assert check(problem, {"routes": [["1", "2", "3", "4", "1"]]}).objective == 14
    tight = from_instance(oplib.parse(euc(limit="13")))
    assert not check(tight, {"routes": [["1", "2", "3", "4", "1"]]}).ok


def test_depot_score_is_counted_once():
    inst = oplib.parse(euc(scores="1 9\n2 5\n3 7\n4 2\n"))
    report = check(from_instance(inst), {"routes": [["1", "2", "1"]]})
    assert report.ok and report.objective == 14


def test_depot_other_than_node_one():
    inst = oplib.parse(euc(depot="3\n-1\n"))
    problem = from_instance(inst)
    assert problem.ids[problem.start] == problem.ids[problem.end] == "3"


def test_zero_padded_node_numbers_and_extra_keywords():
    padded = "NODE_COORD_SECTION\n0001 0 0\n0002 3 0\n0003 3 4\n0004 0 4\n"
    text = op_text(
        "EDGE_WEIGHT_TYPE: EUC_2D\n",
        padded,
        header="TSPSOL : 14\nDISPLAY_DATA_TYPE: COORD_DISPLAY\n",
        scores="0001 0\n0002 5\n003 7\n4 2\n",
        depot="0001\n-1\n",
    )
    inst = oplib.parse(text)
    problem = from_instance(inst)
    assert problem.ids == ["1", "2", "3", "4"]
    assert problem.utility.tolist() == [0, 5, 7, 2]
    assert inst.metadata["keywords"] == {"TSPSOL": "14"}
    np.testing.assert_array_equal(problem.travel, travel(EUC))


def test_coordinate_weight_types():
    """EUC_2D rounds, CEIL_2D rounds up, ATT uses TSPLIB's pseudo-Euclidean rule, GEO great
    circles with degrees truncated (the hand values follow the TSPLIB 95 document)."""
    far = "NODE_COORD_SECTION\n1 0 0\n2 1 1\n3 10 0\n4 0 7.4\n"
    assert travel(op_text("EDGE_WEIGHT_TYPE : EUC_2D\n", far))[0].tolist() == [0, 1, 10, 7]
    assert travel(op_text("EDGE_WEIGHT_TYPE : CEIL_2D\n", far))[0].tolist() == [0, 2, 10, 8]
    # ATT: r = sqrt(100/10) = 3.162..., nint 3 < r -> 4
    att = travel(op_text("EDGE_WEIGHT_TYPE : ATT\n", far))
    assert att[0, 2] == 4
    geo_coords = "NODE_COORD_SECTION\n1 0.00 0.00\n2 0.30 0.00\n3 1.00 0.00\n4 0.00 1.00\n"
    geo = travel(op_text("EDGE_WEIGHT_TYPE : GEO\n", geo_coords))
    # 0.30 is 0 degrees 30 minutes = 0.5 degree; RRR * 0.5 * pi / 180 with PI = 3.141592
    q = 0.5 * 3.141592 / 180
    assert geo[0, 1] == int(6378.388 * math.acos(math.cos(q)) + 1.0)
    assert geo[0, 2] == geo[0, 3] == int(6378.388 * 2 * q + 1.0)


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        ("FULL_MATRIX", "0 1 2 3\n1 0 4 5\n2 4 0 6\n3 5 6 0\n"),
        ("UPPER_ROW", "1 2 3\n4 5\n6\n"),
        ("LOWER_DIAG_ROW", "0\n1 0\n2 4 0\n3 5 6 0\n"),
        ("UPPER_DIAG_COL", "0\n1 0\n2 4 0\n3 5 6 0\n"),
    ],
)
def test_explicit_matrices(fmt, data):
    text = op_text(
        f"EDGE_WEIGHT_TYPE : EXPLICIT\nEDGE_WEIGHT_FORMAT : {fmt}\n",
        "EDGE_WEIGHT_SECTION\n" + data,
        header="NODE_COORD_TYPE : NO_COORDS\n",
    )
    inst = oplib.parse(text)
    expected = [[0, 1, 2, 3], [1, 0, 4, 5], [2, 4, 0, 6], [3, 5, 6, 0]]
    assert inst.travel.metric == "EXPLICIT"
    assert from_instance(inst).travel.tolist() == expected
    assert inst.metadata["edge_weight_format"] == fmt


def test_explicit_with_display_coordinates():
    text = op_text(
        "EDGE_WEIGHT_TYPE : EXPLICIT\nEDGE_WEIGHT_FORMAT : UPPER_ROW\n",
        "EDGE_WEIGHT_SECTION\n1 2 3 4 5 6\nDISPLAY_DATA_SECTION\n1 0 0\n2 1 0\n3 1 1\n4 0 1\n",
        header="DISPLAY_DATA_TYPE : TWOD_DISPLAY\n",
    )
    inst = oplib.parse(text)
    assert inst.snapshot.nodes[2].position.x == 1 and inst.snapshot.nodes[2].position.y == 1


BAD = [
    ("TYPE", EUC.replace("TYPE : OP", "TYPE : TSP")),
    ("COST_LIMIT", EUC.replace("COST_LIMIT : 20\n", "")),
    ("COST_LIMIT", EUC.replace("COST_LIMIT : 20", "COST_LIMIT : -1")),
    ("COST_LIMIT", EUC.replace("COST_LIMIT : 20", "COST_LIMIT : lots")),
    ("EDGE_WEIGHT_TYPE", EUC.replace("EUC_2D", "EUC_3D")),
    ("DIMENSION", EUC.replace("DIMENSION : 4", "DIMENSION : four")),
    ("NODE_COORD_SECTION", EUC.replace("DIMENSION : 4", "DIMENSION : 3")),
    (
        "NODE_SCORE_SECTION",
        euc(scores="1 0\n2 5\n3 7\n"),
    ),
    (
        "NODE_SCORE_SECTION",
        euc(scores="1 0\n2 5\n3 7\n9 2\n"),
    ),
    (
        "NODE_SCORE_SECTION",
        euc(scores="1 0\n2 5\n2 7\n4 2\n"),
    ),
    (
        "NODE_SCORE_SECTION",
        euc(scores="1 0\n2 5\n3 -7\n4 2\n"),
    ),
    (
        "NODE_SCORE_SECTION",
        euc(scores="1 0\n2 5\n3 7 1\n4 2\n"),
    ),
    (
        "NODE_SCORE_SECTION",
        euc(scores="1 0\n2 5\n3 x\n4 2\n"),
    ),
    ("NODE_SCORE_SECTION", EUC.replace("NODE_SCORE_SECTION\n1 0\n2 5\n3 7\n4 2\n", "")),
    ("DEPOT_SECTION", euc(depot="1\n")),
    ("DEPOT_SECTION", euc(depot="1 2\n-1\n")),
    ("DEPOT_SECTION", euc(depot="7\n-1\n")),
    ("DEPOT_SECTION", euc(depot="-1\n")),
    ("DEPOT_SECTION", EUC.replace("DEPOT_SECTION\n1\n-1\n", "")),
    ("FIXED_EDGES_SECTION", EUC.replace("EOF", "FIXED_EDGES_SECTION\n1 2\n-1\nEOF")),
    (
        "EDGE_WEIGHT_FORMAT",
        op_text(
            "EDGE_WEIGHT_TYPE : EXPLICIT\nEDGE_WEIGHT_FORMAT : FUNCTION\n",
            "EDGE_WEIGHT_SECTION\n1 2 3 4 5 6\n",
        ),
    ),
    (
        "EDGE_WEIGHT_SECTION",
        op_text(
            "EDGE_WEIGHT_TYPE : EXPLICIT\nEDGE_WEIGHT_FORMAT : UPPER_ROW\n",
            "EDGE_WEIGHT_SECTION\n1 2 3 4 5\n",
        ),
    ),
    ("keyword", EUC.replace("COMMENT : test", "comment without a colon")),
    (
        "NODE_SCORE_SECTION",
        EUC.replace("NODE_SCORE_SECTION", "NODE_SCORE_SECTION\nNODE_SCORE_SECTION"),
    ),
]


@pytest.mark.parametrize(("field", "text"), BAD)
def test_bad_input_is_one_input_error_naming_the_keyword(field, text):
    raises_field(field, text)


def test_empty_text_and_generic_options(tmp_path):
    with pytest.raises(InputError):
        oplib.parse("  \n")
    path = tmp_path / "t.oplib"
    path.write_text(EUC)
    assert convert("oplib", path).name == "t"
    with pytest.raises(InputError) as info:
        convert("oplib", path, sense="min")
    assert info.value.field == "--sense"
    with pytest.raises(InputError):
        convert("oplib", path, index=2)
    assert "oplib" in FORMATS


# -- the shipped instances ---------------------------------------------------------------------


def ea4op_route(path: Path) -> list[str]:
    sol = OPLIB / "ea4op" / path.parent.name / f"{path.stem}.sol"
    return parse_tour(sol.read_text().replace("NODE_SEQUENCE_SECTION", "TOUR_SECTION"))


def test_every_shipped_instance_has_its_ea4op_route_and_value():
    values = entries("oplib")
    assert len(FILES) == 244 == len(values)
    for path in FILES:
        assert path.stem in values, path
        assert (OPLIB / "ea4op" / path.parent.name / f"{path.stem}.sol").exists(), path
        assert values[path.stem]["proven"] is False  # EA4OP is a heuristic


@pytest.mark.parametrize(
    "stem",
    [
        "gen1/att48-gen1-50",  # ATT
        "gen2/eil51-gen2-50",  # EUC_2D; CP-SAT proved 1674 > EA4OP's 1668
        "gen3/rat99-gen3-50",  # TSPSOL keyword
        "gen3/rat195-gen3-50",  # the .sol header says 6139, the route scores 6141
        "gen4/gr48-gen4-80",  # EXPLICIT LOWER_DIAG_ROW
    ],
)
def test_ea4op_route_reproduces_the_recorded_value(stem):
    path = OPLIB / f"{stem}.oplib"
    inst = convert("oplib", path)
    route = ea4op_route(path)
    report = check(from_instance(inst), {"routes": [[*route, route[0]]]})
    assert report.ok, report.violations
    assert report.objective == inst.benchmark.best_known
    assert inst.benchmark.proven_optimal is False


def test_zero_padded_geo_instance_and_edited_file_loses_its_value(tmp_path):
    path = OPLIB / "gen1" / "gr666-gen1-50.oplib"
    assert "\n0001 " in path.read_text()
    inst = convert("oplib", path)
    route = ea4op_route(path)
    report = check(from_instance(inst), {"routes": [[*route, route[0]]]})
    assert report.ok and report.objective == inst.benchmark.best_known == 497
    edited = tmp_path / path.name
    edited.write_text(path.read_text().replace("COST_LIMIT : 147179", "COST_LIMIT : 147180"))
    assert convert("oplib", edited).benchmark.best_known is None


def test_the_family_runs_in_bench(tmp_path):
    """A converted OPLib file is a bench instance of family ``oplib`` with EA4OP's value."""
    target = tmp_path / "att48-gen2-50.json"
    save_instance(convert("oplib", OPLIB / "gen2" / "att48-gen2-50.oplib"), target)
    task = Task(str(target), "mtrce", "greedy", 0, 1.0, digest=file_digest(target))
    row = run_task(task)
    assert row["status"] != "error", row.get("message")
    assert row["family"] == "oplib" and row["instance"] == "att48-gen2-50"
    assert row["best_known"] == entries("oplib")["att48-gen2-50"]["value"]
    assert row["check_ok"] == 1
    assert row["gap_to_best"] == pytest.approx(
        (row["best_known"] - row["objective"]) / row["best_known"]
    )
    assert json.loads(target.read_text())["benchmark"]["family"] == "oplib"


@pytest.mark.slow
def test_every_ea4op_route_reproduces_its_value():
    """All 244 routes through the converter and the MTRCE checker (about 20 s)."""
    for path in FILES:
        inst = convert("oplib", path)
        route = ea4op_route(path)
        report = check(from_instance(inst), {"routes": [[*route, route[0]]]})
        assert report.ok, (path.stem, report.violations)
        assert report.objective == inst.benchmark.best_known, path.stem
