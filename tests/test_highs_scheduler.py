"""HiGHS keeps one thread scheduler per process: a run through Pyomo must not break later runs.

Seen: after any Pyomo appsi solve, every ``highs`` run of the same process (a bench worker, a
test session, a simulator that tries both) failed with status "Not Set" and returned its warm
start with bound 0, because the scheduler had been started with another thread count; and after
a ``highs`` run, Pyomo's HiGHS found no solution for the same reason.
"""

from __future__ import annotations

from pathlib import Path

from daitn_opt.drrt.converters import convert
from daitn_opt.problems import problem_from_instance
from daitn_opt.registry import solve
from daitn_opt.result import Status

CLASSIC = Path(__file__).resolve().parent.parent / "instances" / "classic"


def test_highs_and_pyomo_alternate_in_one_process():
    tsp = problem_from_instance("mtrce", convert("tsplib", CLASSIC / "tsplib" / "burma14.tsp"))
    knap = problem_from_instance(
        "tfam", convert("mknap", CLASSIC / "mknap" / "mknap1.txt", index=1)
    )
    for problem in (tsp, knap, tsp, knap):
        for solver in ("pyomo", "highs", "pyomo"):
            result = solve(problem, solver, time_limit=30, threads=1)
            assert result.status is Status.OPTIMAL, result.summary()
    assert result.objective == solve(knap, "highs", time_limit=30, threads=2).objective
