"""TSPLIB's 493-1,000-city graphs, shipped from OPLib's copies (and d493 from TSPLIB itself).

The optima come from TSPLIB's ``solutions`` file; each is checked against an independent
published fact: OPLib built its generation-1 budget of every graph as half of TSPLIB's optimum,
rounded up (``COST_LIMIT = ceil(optimum / 2)``), which these tests establish on the graphs whose
TSPLIB files were shipped before (a280 ... u159) and then require of every new one. The one
exception, dsj1000, is pinned down exactly (see ``instances/classic/tsplib/from_oplib.py``).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from daitn_opt.drrt.converters import convert, oplib, tsplib
from daitn_opt.drrt.converters.known import entries
from daitn_opt.mtrce import check, from_instance
from daitn_opt.registry import solve

CLASSIC = Path(__file__).resolve().parents[2] / "instances" / "classic"
TSPLIB = CLASSIC / "tsplib"
GEN1 = CLASSIC / "oplib" / "gen1"
NEW = {
    "d493": "EUC_2D",
    "att532": "ATT",
    "ali535": "GEO",
    "pa561": "EXPLICIT",
    "u574": "EUC_2D",
    "rat575": "EUC_2D",
    "p654": "EUC_2D",
    "d657": "EUC_2D",
    "gr666": "GEO",
    "u724": "EUC_2D",
    "rat783": "EUC_2D",
    "dsj1000": "CEIL_2D",
}
"""The graphs above 442 cities that OPLib's generation 1 holds, with their weight types."""
SHIPPED_BEFORE = sorted(
    p.name.removesuffix("-gen1-50.oplib")
    for p in GEN1.glob("*-gen1-50.oplib")
    if (TSPLIB / p.name.replace("-gen1-50.oplib", ".tsp")).exists()
    and p.name.removesuffix("-gen1-50.oplib") not in NEW
)
"""The OPLib graphs whose TSPLIB file (and optimum) the project shipped before these."""
DSJ1000_EUC_2D = 18659688
"""TSPLIB's optimum of dsj1000's points under EUC_2D rounding, which OPLib halved."""


def solutions() -> dict[str, int]:
    out = {}
    for line in (TSPLIB / "solutions").read_text().splitlines():
        name, colon, value = line.partition(":")
        if colon:
            out[name.strip()] = int(value.split()[0])
    return out


def cost_limit(name: str) -> float:
    text = (GEN1 / f"{name}-gen1-50.oplib").read_text()
    return float(re.search(r"COST_LIMIT\s*:\s*(\S+)", text).group(1))


def test_oplib_budget_is_half_the_tsplib_optimum_rounded_up_on_the_shipped_graphs():
    """The relation, established where both files were shipped already (both roundings occur)."""
    known = solutions()
    assert len(SHIPPED_BEFORE) == 38
    for name in SHIPPED_BEFORE:
        assert (TSPLIB / f"{name}.tsp").read_text().count("OPLib") == 0  # TSPLIB's own file
        assert cost_limit(name) == math.ceil(known[name] / 2), name
    odd = [name for name in SHIPPED_BEFORE if known[name] % 2]
    assert len(odd) >= 10  # the rounding is upwards, seen on many odd optima


@pytest.mark.parametrize("name", sorted(NEW), ids=str)
def test_new_graph_loads_with_its_optimum_and_that_matches_the_oplib_budget(name):
    inst = convert("tsplib", TSPLIB / f"{name}.tsp")
    problem = from_instance(inst)
    optimum = solutions()[name]
    assert problem.n == int(re.search(r"\d+$", name).group()) == len(inst.snapshot.nodes)
    assert inst.metadata["edge_weight_type"] == NEW[name]
    assert inst.benchmark.best_known == optimum == entries("tsplib")[name]["value"]
    assert inst.benchmark.proven_optimal
    halved = DSJ1000_EUC_2D if name == "dsj1000" else optimum
    assert cost_limit(name) == math.ceil(halved / 2)
    if name == "dsj1000":  # the CEIL_2D optimum belongs to the file; OPLib halved the EUC_2D one
        assert "(CEIL_2D)" in entries("tsplib")[name]["note"]
        assert optimum - DSJ1000_EUC_2D == 500  # about half a unit per edge, as ceil vs round


@pytest.mark.parametrize("name", sorted(NEW), ids=str)
def test_new_graph_is_the_oplib_graph_and_the_file_is_what_the_script_writes(name):
    oplib_text = (GEN1 / f"{name}-gen1-50.oplib").read_text()
    op = oplib.parse_problem(oplib_text, f"{name}-gen1-50.oplib").graph
    text = (TSPLIB / f"{name}.tsp").read_text()
    tsp = tsplib.parse_problem(text, f"{name}.tsp")
    assert tsp.ids == op.ids and tsp.edge_weight_type == op.edge_weight_type
    assert np.array_equal(tsp.distances(), op.distances())
    if name == "d493":  # TSPLIB's own file
        assert "OPLib" not in text
        return
    origin = f"oplib/gen1/{name}-gen1-50.oplib (Kobeaga, Merino & Lozano 2018)"
    assert oplib.tsp_text(oplib_text, f"{name}-gen1-50.oplib", origin) == text
    assert "TYPE : TSP" in text and "COST_LIMIT" not in text and "NODE_SCORE" not in text


def test_tsp_text_keeps_explicit_weights_and_drops_what_tsplib_does_not_know():
    text = (
        "NAME : t4\nTYPE : OP\nDIMENSION : 4\nCOST_LIMIT : 3\nTSPSOL : 9\n"
        "EDGE_WEIGHT_TYPE : EXPLICIT\nEDGE_WEIGHT_FORMAT : LOWER_DIAG_ROW\n"
        "EDGE_WEIGHT_SECTION\n0\n1 0\n2 4 0\n3 5 6 0\nNODE_SCORE_SECTION\n1 0\n2 1\n3 1\n4 1\n"
        "DEPOT_SECTION\n1\n-1\nEOF\n"
    )
    out = oplib.tsp_text(text, "t4.oplib")
    assert out.splitlines()[:3] == [
        "NAME : t4",
        "COMMENT : graph of the OPLib file t4.oplib",
        "TYPE : TSP",
    ]
    assert "TSPSOL" not in out and "COST_LIMIT" not in out
    travel = from_instance(tsplib.parse(out)).travel
    assert travel[3].tolist() == [3, 5, 6, 0]


@pytest.mark.slow
def test_ils_tours_a_mid_size_new_graph_within_a_few_percent():
    """rat575 (575 cities, EUC_2D), 5 s: a checked tour within 3% of TSPLIB's optimum 6773."""
    problem = from_instance(convert("tsplib", TSPLIB / "rat575.tsp"))
    result = solve(problem, "ils", time_limit=5.0, seed=0)
    assert check(problem, result.solution).ok
    assert 6773 <= result.objective <= 1.03 * 6773
