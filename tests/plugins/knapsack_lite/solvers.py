"""The solvers of ``knapsack-lite``: ``greedy`` (heuristic) and ``dp`` (exact, on the skeleton)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from daitn_opt.exact import ExactSolver, KindSupport, Outcome, OutOfTime, Run, Start, register_exact
from daitn_opt.params import NoParams, param
from daitn_opt.registry import SolveOptions, register
from daitn_opt.result import Result, Status

from .problem import KIND, Problem, make_result


@dataclass(frozen=True)
class GreedyParams:
    """Parameters of ``greedy``."""

    by_ratio: bool = param(True, "take items by value per weight (false: by value alone)")


def greedy_choice(problem: Problem, by_ratio: bool = True) -> tuple[int, ...]:
    """Items in order of value per weight (or value), each taken when it still fits."""

    def key(i: int) -> float:
        w = problem.weights[i]
        return problem.values[i] / w if by_ratio and w > 0 else problem.values[i]

    chosen, weight = [], 0.0
    for i in sorted(range(problem.size), key=lambda i: (-key(i), i)):
        if weight + problem.weights[i] <= problem.capacity:
            chosen.append(i)
            weight += problem.weights[i]
    return tuple(sorted(chosen))


@register(
    KIND, "greedy", exact=False, description="Greedy by value per weight", params=GreedyParams
)
def greedy(problem: Problem, options: SolveOptions) -> Result:
    return make_result(problem, "greedy", greedy_choice(problem, options.params.by_ratio))


class KnapsackSupport(KindSupport):
    """The knapsack-lite part of the exact-solver skeleton."""

    def screen(self, problem: Problem, solver: str) -> Result | None:
        if problem.size == 0:
            return make_result(problem, solver, (), status=Status.OPTIMAL, bound=0.0)
        return None

    def warm_start(self, problem: Problem, options: SolveOptions) -> Start:
        chosen = greedy_choice(problem)
        return Start(chosen, self.value(problem, chosen))

    def value(self, problem: Problem, solution: tuple[int, ...]) -> float:
        return math.fsum(problem.values[i] for i in solution)

    def feasible(self, problem: Problem, solution: tuple[int, ...]) -> bool:
        return math.fsum(problem.weights[i] for i in solution) <= problem.capacity

    def result(self, problem: Problem, solver: str, solution: Any, **fields: Any) -> Result:
        return make_result(problem, solver, solution, **fields)


def integral_weights(problem: Problem) -> str | None:
    """None when ``dp`` can solve ``problem`` (integer weights), else why not."""
    if all(w == int(w) for w in problem.weights):
        return None
    return "dp needs integer weights"


@register_exact
class DynamicProgramme(ExactSolver):
    """best[c] = the most value within weight c, item by item; the choice is read back."""

    kind = KIND
    name = "dp"
    description = "Dynamic programme over the capacity (integer weights)"
    support = KnapsackSupport()
    Params = NoParams
    supports = staticmethod(integral_weights)

    def build(self, run: Run) -> np.ndarray:
        cells = run.problem.size * (int(run.problem.capacity) + 1)
        if cells > 50_000_000:
            raise OutOfTime("the table is too large")
        return np.zeros((run.problem.size + 1, int(run.problem.capacity) + 1))

    def run(self, run: Run, table: np.ndarray) -> np.ndarray:
        p = run.problem
        for i in range(p.size):
            w, v = int(p.weights[i]), p.values[i]
            table[i + 1] = table[i]
            if w < table.shape[1]:
                table[i + 1, w:] = np.maximum(table[i, w:], table[i, : table.shape[1] - w] + v)
        return table

    def extract(self, run: Run, model: np.ndarray, table: np.ndarray) -> Outcome:
        p, c, chosen = run.problem, table.shape[1] - 1, []
        for i in range(p.size, 0, -1):
            if table[i, c] != table[i - 1, c]:
                chosen.append(i - 1)
                c -= int(p.weights[i - 1])
        return Outcome(solution=tuple(sorted(chosen)), proved=True)
