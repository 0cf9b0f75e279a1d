"""A new exact T-FAM solver, added as one module: ``toy-enum``, depth-first enumeration.

What a solver author writes is only this file: a parameter dataclass and a backend on the
exact-solver skeleton (:class:`daitn_opt.exact.ExactSolver`) with ``build``, ``run`` and
``extract``. The skeleton and T-FAM's :data:`~daitn_opt.tfam.support.SUPPORT` do the rest:
screening (must-admit conflicts, empty batches), the warm start (the local search's admission),
the time budget, keeping the better of the search's and the warm start's admission, the bound and
the Result. Loaded with ``DAITN_OPT_SOLVER_MODULES=tests.plugins.toy_solver``, it is run by
``tests/test_conformance.py`` like every built-in solver.

The search admits requests one by one (each request: one of its plans, or refused unless it must
be admitted), prunes a branch whose load exceeds a capacity or whose value plus the best value
still available cannot beat the incumbent, and proves its incumbent optimal when it finishes.
A batch too large to enumerate (more than ``max_nodes`` nodes) ends with the warm start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from daitn_opt.exact import ExactSolver, Outcome, OutOfTime, Run, register_exact
from daitn_opt.params import param
from daitn_opt.tfam.solution import slack
from daitn_opt.tfam.support import SUPPORT, ExactParams

CHECK_EVERY = 1024
"""Search nodes between two looks at the clock."""


@dataclass(frozen=True)
class ToyEnumParams(ExactParams):
    """The T-FAM exact parameters (warm start, ...) and the size of the search."""

    max_nodes: int = param(200_000, "search nodes explored before returning the warm start")


@dataclass
class Model:
    """The batch as the search reads it: plans per request (best first), dense use, capacity."""

    plans: list[list[int]]
    use: np.ndarray
    value: np.ndarray
    capacity: np.ndarray
    must: np.ndarray
    rest: np.ndarray
    """rest[r]: the most value requests r.. can still add (an upper bound)."""


@register_exact
class ToyEnum(ExactSolver):
    kind = "tfam"
    name = "toy-enum"
    description = "Depth-first enumeration with value and capacity pruning (a plug-in example)"
    support = SUPPORT
    Params = ToyEnumParams

    def build(self, run: Run) -> Model:
        p = run.problem
        if p.n_plans * max(1, p.n_resources) > 2_000_000:
            raise OutOfTime("the batch is too large to enumerate")
        plans = [
            sorted(range(p.plan_start[r], p.plan_start[r + 1]), key=lambda k: -p.value[k])
            for r in range(p.n_requests)
        ]
        best = [max((float(p.value[k]) for k in ks), default=0.0) for ks in plans]
        rest = np.concatenate([np.cumsum(np.maximum(best, 0.0)[::-1])[::-1], [0.0]])
        use = np.asarray(p.use.todense(), dtype=float)
        return Model(plans, use, p.value, slack(p), p.must_admit, rest)

    def run(self, run: Run, model: Model) -> dict[str, Any]:
        start = run.start.objective
        state = {"best": -np.inf if start is None else start, "choice": None, "nodes": 0}
        choice = np.full(len(model.plans), -1, dtype=np.int64)
        self._search(run, model, state, choice, 0, np.zeros(model.use.shape[1]), 0.0)
        return state

    def _search(self, run, model, state, choice, r, load, value) -> None:
        state["nodes"] += 1
        if state["nodes"] > run.params.max_nodes:
            raise OutOfTime(f"enumeration stopped after {run.params.max_nodes} nodes")
        if state["nodes"] % CHECK_EVERY == 0 and run.remaining() <= 0:
            raise OutOfTime("time limit reached during the enumeration")
        if value + model.rest[r] <= state["best"] + 1e-9:
            return  # nothing below this node beats the incumbent
        if r == len(model.plans):
            state["best"], state["choice"] = value, choice.copy()
            return
        for k in model.plans[r]:
            after = load + model.use[k]
            if np.all(after <= model.capacity):
                choice[r] = k
                self._search(run, model, state, choice, r + 1, after, value + model.value[k])
        choice[r] = -1
        if not model.must[r]:
            self._search(run, model, state, choice, r + 1, load, value)

    def extract(self, run: Run, model: Model, raw: dict[str, Any]) -> Outcome:
        run.stats["nodes"] = raw["nodes"]
        if raw["choice"] is None and run.start.solution is None:
            return Outcome(infeasible=True)  # the whole tree was searched
        # The search finished: nothing beats raw["best"] (the warm start's value when it found
        # nothing better), so it is a bound on the optimum.
        return Outcome(solution=raw["choice"], bound=float(raw["best"]), proved=True)
