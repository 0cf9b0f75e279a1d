"""Small hand-checkable admission batches and a brute-force optimum for tests."""

from __future__ import annotations

import itertools

import numpy as np
from scipy.sparse import csr_matrix

from daitn_opt.registry import solvers
from daitn_opt.tfam import Problem, build


def registered(exact: bool | None = None) -> list[str]:
    """The T-FAM solvers in the registry (only the exact ones, or only the heuristics, when
    ``exact`` says so): tests parametrised by it check a new solver without being edited."""
    specs = solvers("tfam")["tfam"]
    return sorted(name for name, spec in specs.items() if exact is None or spec.exact == exact)


EXACT = registered(exact=True)
HEURISTICS = registered(exact=False)
ALL = registered()


def knapsack(must: tuple[int, ...] = ()) -> Problem:
    """Four items, one constraint of capacity 9.

    values 10, 7, 6, 5; weights 5, 4, 3, 2. Optimum 18 = items 1, 2, 3 (weight 9): {0, 1} = 17,
    {0, 2} = 16, {0, 3} = 15, {1, 2} = 13, no three items including item 0 fit. Arrival order
    0, 1, 2, 3: first-come-first-served admits 0 and 1 (17, full). Greedy by value per weight
    (2.5, 2, 2, 1.75 for items 3, 0, 2, 1) admits 3 and 0 (weight 7), then nothing fits: 15.
    With item 0 must-admit, the optimum is 17 (items 0 and 1).
    """
    use = csr_matrix(np.array([[5.0], [4.0], [3.0], [2.0]]))
    return build(
        ["i0", "i1", "i2", "i3"],
        np.arange(4),
        np.array([10.0, 7.0, 6.0, 5.0]),
        use,
        np.array([9.0]),
        resource_ids=["w"],
        must_admit=np.isin(np.arange(4), must),
        arrival=np.arange(4, dtype=float),
    )


def random_problem(seed: int, requests: int = 5, resources: int = 3, max_plans: int = 3) -> Problem:
    """A small random batch (sparse uses, capacities below total demand)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, max_plans + 1, size=requests)
    plan_request = np.repeat(np.arange(requests), counts)
    p = plan_request.size
    dense = rng.integers(0, 6, size=(p, resources)) * (rng.random((p, resources)) < 0.7)
    capacity = np.maximum(1, (dense.sum(axis=0) * rng.uniform(0.3, 0.6, resources)).round())
    return build(
        [f"r{i}" for i in range(requests)],
        plan_request,
        rng.integers(1, 30, size=p).astype(float),
        csr_matrix(dense.astype(float)),
        capacity,
        arrival=rng.permutation(requests).astype(float),
    )


def brute_force(problem: Problem) -> float | None:
    """The optimum by enumerating every choice (None when no choice is feasible)."""
    options = [
        ([] if problem.must_admit[r] else [-1]) + list(problem.plans_of(r))
        for r in range(problem.n_requests)
    ]
    dense = problem.use.toarray()
    best = None
    for combo in itertools.product(*options):
        chosen = [p for p in combo if p >= 0]
        if np.all(dense[chosen].sum(axis=0) <= problem.capacity + 1e-9):
            value = float(problem.value[chosen].sum())
            best = value if best is None else max(best, value)
    return best
