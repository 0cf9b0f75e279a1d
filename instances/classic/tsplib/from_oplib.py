"""Write the TSPLIB files of the larger TSP graphs that OPLib ships (493-1,000 cities).

Run from the repository root: ``python instances/classic/tsplib/from_oplib.py``. OPLib
(Kobeaga, Merino and Lozano 2018; ``instances/classic/oplib/``) builds its orienteering instances
on TSPLIB graphs and keeps their node data and weight types. For every generation-1 base graph
with more than ``SMALLEST - 1`` nodes whose optimal tour length TSPLIB's ``solutions`` lists and
of which no ``.tsp`` file is shipped yet, this writes ``<name>.tsp`` (``TYPE : TSP``, the graph's
lines unchanged, ``COMMENT`` naming the OPLib file; :func:`daitn_opt.drrt.converters.oplib.tsp_text`).
A TSPLIB original, where shipped (``d493.tsp``), is left as it is.

A graph is written only when its OPLib budget agrees with TSPLIB's optimum as OPLib built every
generation-1 budget, ``COST_LIMIT = ceil(optimum / 2)`` (checked on all 61 graphs in
tests/drrt/test_tsplib_large.py) -- with one exception, ``dsj1000``: its file says CEIL_2D (as
TSPLIB's does) and TSPLIB's ``solutions`` gives 18660188 for CEIL_2D, while OPLib's budget
9329844 is half of 18659688, the optimum of the same points under EUC_2D rounding. The CEIL_2D
value is the one that belongs to the file; the exception is named in ``EUC_2D_BUDGET``.
"""

import glob
import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", ".."))

from daitn_opt.drrt.converters.oplib import parse_problem, tsp_text  # noqa: E402

OPLIB = os.path.join(HERE, "..", "oplib", "gen1")
SMALLEST = 443
"""Graphs from this size up (the shipped TSPLIB set ends at pcb442)."""
EUC_2D_BUDGET = {"dsj1000": 18659688}
"""Graphs whose OPLib budget is half of another optimum than the file's (see the docstring)."""


def optima() -> dict[str, int]:
    """TSPLIB's ``solutions``: name -> optimal tour length."""
    out = {}
    with open(os.path.join(HERE, "solutions")) as fh:
        for line in fh:
            name, colon, value = line.partition(":")
            if colon:
                out[name.strip()] = int(value.split()[0])
    return out


def budget_matches(name: str, cost_limit: float, optimum: int) -> bool:
    """OPLib's generation-1 budget is ``ceil(optimum / 2)`` (or the noted exception's half)."""
    return cost_limit == math.ceil(EUC_2D_BUDGET.get(name, optimum) / 2)


def bases() -> list[tuple[str, str]]:
    """(TSP name, OPLib file) of every generation-1 graph, in name order."""
    out = []
    for path in sorted(glob.glob(os.path.join(OPLIB, "*-gen1-50.oplib"))):
        out.append((re.sub(r"-gen1-50\.oplib$", "", os.path.basename(path)), path))
    return out


def main() -> None:
    known = optima()
    for name, path in bases():
        with open(path) as fh:
            text = fh.read()
        problem = parse_problem(text, os.path.basename(path))
        n = problem.graph.dimension
        target = os.path.join(HERE, f"{name}.tsp")
        if n < SMALLEST or name not in known or os.path.exists(target):
            continue
        if not budget_matches(name, problem.cost_limit, known[name]):
            print(f"{name}: COST_LIMIT {problem.cost_limit:g} vs optimum {known[name]}: skipped")
            continue
        origin = f"oplib/gen1/{os.path.basename(path)} (Kobeaga, Merino & Lozano 2018)"
        with open(target, "w") as fh:
            fh.write(tsp_text(text, os.path.basename(path), origin))
        print(f"{name}: {n} nodes, {problem.graph.edge_weight_type}, optimum {known[name]}")


if __name__ == "__main__":
    main()
