"""Rebuild daitn_opt/drrt/converters/known_values_oplib.json from the files in this folder.

Run from the repository root: ``python instances/classic/oplib/make_values.py``. For every
``gen*/<name>.oplib`` the EA4OP route ``ea4op/gen*/<name>.sol`` is checked against the instance
(starts at the depot, visits distinct nodes of the instance, closed length under TSPLIB's integer
distances at most ``COST_LIMIT``) and its score recomputed with the instance's node scores, the
depot's included; that score is the recorded value (the ``.sol`` header's ``ROUTE_SCORE`` is only
compared, and a difference is noted). The exact values in ``verified_here.csv`` (OR-Tools CP-SAT,
computed where these files were collected) are added as notes. All values are EA4OP's, heuristic:
``proven`` is false.
"""

import csv
import glob
import json
import os

from daitn_opt.drrt.converters.oplib import parse_problem
from daitn_opt.drrt.converters.tsplib import parse_tour

B = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(
    B, "..", "..", "..", "daitn_opt", "drrt", "converters", "known_values_oplib.json"
)
SOURCE = "ea4op-2018"


def sol_header(text):
    """The ``KEY : value`` lines of a ``.sol`` file before its node sequence."""
    head = {}
    for line in text.splitlines():
        if "SECTION" in line:
            break
        if ":" in line:
            key, _, value = line.partition(":")
            head[key.strip()] = value.strip()
    return head


def route_of(sol_text):
    """The node sequence of a ``.sol`` file (``NODE_SEQUENCE_SECTION`` up to -1)."""
    return parse_tour(sol_text.replace("NODE_SEQUENCE_SECTION", "TOUR_SECTION"))


def check_route(problem, route):
    """``(length, score)`` of the closed route; AssertionError when it is not a valid OP route."""
    ids = problem.graph.ids
    position = {node: k for k, node in enumerate(ids)}
    assert route and route[0] == problem.depot, "the route must start at the depot"
    assert len(set(route)) == len(route), "a node visited twice"
    assert all(node in position for node in route), "a node not in the instance"
    d = problem.graph.distances()
    idx = [position[node] for node in route]
    length = sum(d[a, b] for a, b in zip(idx, idx[1:] + idx[:1], strict=True))
    assert length <= problem.cost_limit, f"length {length} > COST_LIMIT {problem.cost_limit}"
    return int(length), sum(problem.scores[k] for k in idx)


def exact_notes():
    notes = {}
    with open(os.path.join(B, "verified_here.csv")) as fh:
        for row in csv.DictReader(fh):
            if row["proof"] == "proved_optimal":
                notes[row["instance"]] = f"optimum {row['value']} proved with {row['method']}"
            else:
                notes[row["instance"]] = (
                    f"exact run: bounds [{row['lower_bound']}, {row['upper_bound']}] ({row['method']})"
                )
    return notes


def main():
    exact = exact_notes()
    values = {}
    for path in sorted(glob.glob(f"{B}/gen*/*.oplib")):
        gen = os.path.basename(os.path.dirname(path))
        stem = os.path.basename(path).removesuffix(".oplib")
        with open(path) as fh:
            problem = parse_problem(fh.read(), os.path.basename(path))
        with open(f"{B}/ea4op/{gen}/{stem}.sol") as fh:
            sol = fh.read()
        length, score = check_route(problem, route_of(sol))
        head = sol_header(sol)
        notes = [f"EA4OP route re-checked: length {length} <= {problem.cost_limit:g}"]
        if float(head["ROUTE_SCORE"]) != score:
            notes.append(
                f"the .sol file says ROUTE_SCORE {head['ROUTE_SCORE']}; its route scores {score:g} "
                "with this file's node scores"
            )
        if int(float(head["ROUTE_COST"])) != length:
            notes.append(f"the .sol file says ROUTE_COST {head['ROUTE_COST']}")
        if stem in exact:
            notes.append(exact[stem])
        values[stem] = {
            "value": int(score) if score == int(score) else score,
            "proven": False,
            "source": SOURCE,
            "dimension": problem.graph.dimension,
            "cost_limit": problem.cost_limit,
            "score_sum": sum(problem.scores),
            "note": "; ".join(notes),
        }
    out = {
        "sources": {
            SOURCE: "G. Kobeaga, M. Merino and J. A. Lozano (2018), An efficient evolutionary "
            "algorithm for the orienteering problem, Computers & Operations Research 90:42-59: "
            "EA4OP's solution files (github bcamath-ds/OPLib@823ac3e solutions/ea4op), route "
            "re-checked and its score recomputed with the depot's; heuristic values (best known, "
            "not proven optimal)"
        },
        "oplib": values,
    }
    with open(OUT, "w") as fh:
        fh.write('{\n  "sources": ' + json.dumps(out["sources"]) + ',\n  "oplib": {\n')
        items = list(values.items())
        for j, (k, v) in enumerate(items):
            fh.write(
                f"    {json.dumps(k)}: {json.dumps(v)}" + ("," if j < len(items) - 1 else "") + "\n"
            )
        fh.write("  }\n}\n")
    print(f"{len(values)} OPLib values written to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
