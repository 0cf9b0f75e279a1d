"""K-AS as a registered MTRCE solver: ``kas``, hierarchical planning from the problem's arrays.

:func:`~daitn_opt.kas.solve_hierarchical` takes domains drawn on the snapshot
(:func:`~daitn_opt.kas.partition`: positions or communities). A solver sees only the problem's
arrays, so ``kas`` draws its domains from the travel times instead: ``domains`` medoids chosen by
farthest-point sampling (the first the node farthest from the start, seeded ties), every other
node joining the medoid it reaches soonest (``min(t[m, i], t[i, m])``). Then the two-level plan of
``formulations/kas.md`` runs with ``leg_solver`` on each leg, within the time limit.

With ``workers`` or ``scheduler`` the legs run as Dask tasks (:mod:`.parallel`); a local
cluster's start-up (seconds) counts against the time limit.

Heuristic: no bound is reported. The stitched route is checked by the MTRCE checker; a route
the checker refuses is not returned (``no_solution`` with the violations).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..params import param
from ..registry import SolveOptions, register

if TYPE_CHECKING:
    from ..mtrce.problem import Problem
    from ..result import Result

# numpy and the MTRCE modules are imported inside the functions: importing this module (which
# registers the solver) stays light, so the command line's start-up does not pay for them.


@dataclass(frozen=True)
class KasParams:
    """Parameters of the ``kas`` MTRCE solver."""

    domains: int = param(8, "number of domains (K-AS control centres) the view is split into")
    leg_solver: str = param("ils", "registered MTRCE solver each domain runs on its leg")
    levels: int = param(8, "time levels of each domain's utility curve")
    workers: int = param(
        0, "Dask workers for the legs (0: legs in order here, unused time rolls over)"
    )
    scheduler: str | None = param(None, "Dask scheduler (tcp://host:8786) for the legs")
    leg_iterations: int | None = param(
        None, "fixed iterations per leg for an ils leg solver (None: its default)"
    )


def travel_domains(problem: Problem, count: int, seed: int = 0) -> dict[str, int]:
    """Node id -> domain, for every node but the start and the end: ``count`` medoids by
    farthest-point sampling on the symmetrised travel times, each node with its nearest medoid.

    >>> import numpy as np
    >>> from daitn_opt.mtrce.problem import Problem
    >>> xs = np.array([0.0, 1.0, 2.0, 10.0, 11.0, 5.0])
    >>> p = Problem(ids=list("sabcde"), start=0, end=5, travel=np.abs(xs[:, None] - xs),
    ...             service=np.zeros(6), utility=np.ones(6), deadline=40.0)
    >>> travel_domains(p, 2)
    {'a': 1, 'b': 1, 'c': 0, 'd': 0}
    """
    import numpy as np

    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InputError("domains", count, "expected an integer >= 1")
    nodes = np.array([i for i in range(problem.n) if i not in (problem.start, problem.end)])
    if nodes.size == 0:
        return {}
    t = np.minimum(problem.travel, problem.travel.T)[np.ix_(nodes, nodes)]
    t = np.where(np.isfinite(t), t, np.nanmax(np.where(np.isfinite(t), t, np.nan)) * 10 + 1)
    rng = np.random.default_rng(seed)
    from_start = np.minimum(problem.travel[problem.start], problem.travel[:, problem.start])[nodes]
    far = np.flatnonzero(from_start == from_start.max())
    medoids = [int(rng.choice(far))]
    nearest = t[medoids[0]].copy()
    while len(medoids) < min(count, nodes.size):
        medoids.append(int(np.argmax(nearest)))
        nearest = np.minimum(nearest, t[medoids[-1]])
    label = np.argmin(t[medoids], axis=0)
    return {problem.ids[int(v)]: int(d) for v, d in zip(nodes, label, strict=True)}


def _supports(problem: Problem) -> str | None:
    from ..mtrce.problem import COVERAGE_OBJECTIVES, solvers_of
    from .domains import supported

    if problem.objective in COVERAGE_OBJECTIVES:
        return (
            f"objective {problem.objective!r} is not modelled (only max_utility); "
            f"use {solvers_of(problem.objective)}"
        )
    try:
        supported(problem)
    except InputError as exc:
        return str(exc)
    return None


@register(
    "mtrce",
    "kas",
    exact=False,
    description="K-AS hierarchical control: domains from travel times, a domain route, legs",
    supports=_supports,
    params=KasParams,
)
def solve_kas(problem: Problem, options: SolveOptions) -> Result:
    from ..mtrce.heuristics import infeasibility
    from ..mtrce.plan import Arrays
    from ..mtrce.solution import make_result
    from ..mtrce.support import MtrceSupport
    from ..result import Status
    from .parallel import cluster, dask_runner, warm

    params: KasParams = options.params
    screened = MtrceSupport().screen(problem, "kas")  # infeasible or trivial views
    if screened is not None:
        return screened
    reason = infeasibility(problem, Arrays.of(problem))  # the heuristics' single-trip tests
    if reason is not None:
        return make_result(problem, "kas", None, Status.INFEASIBLE, message=reason)
    if isinstance(params.workers, bool) or params.workers < 0:
        raise InputError("workers", params.workers, "expected an integer >= 0")
    domain_of = travel_domains(problem, params.domains, options.seed)
    if params.workers or params.scheduler:
        with cluster(params.workers or 1, params.scheduler) as client:
            warm(client)
            result = _plan(problem, domain_of, params, options, dask_runner(client))
    else:
        result = _plan(problem, domain_of, params, options, None)
    result.solver = "kas"
    if not result.stats.get("checked", False):
        result.status = Status.NO_SOLUTION
        result.message = "stitched route refused by the checker: " + "; ".join(
            result.stats.get("violations", [])[:3]
        )
        result.objective, result.solution = None, {}
    return result


def _plan(
    problem: Problem, domain_of: dict, params: KasParams, options: SolveOptions, runner: Any
) -> Result:
    from .control import solve_hierarchical

    # The legs share what is left after drawing the domains, less a reserve to check the route.
    left = max(0.05, options.remaining() - max(0.1, 0.05 * options.time_limit))
    leg_params = {"iterations": params.leg_iterations} if params.leg_iterations else None
    return solve_hierarchical(
        problem,
        domain_of,
        solver=params.leg_solver,
        time_limit=left,
        seed=options.seed,
        levels=params.levels,
        runner=runner,
        leg_params=leg_params,
    )
