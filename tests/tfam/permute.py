"""Relabelled copies of T-FAM problems: requests, plans within a request and resources
permuted and renamed. Admission is invariant under relabelling, so every exact solver must
report the same optimal value and status on the copy."""

from __future__ import annotations

import numpy as np

from daitn_opt.tfam import Problem, build


def relabel(problem: Problem, seed: int) -> Problem:
    """``problem`` with requests, each request's plans and the resources shuffled and renamed."""
    rng = np.random.default_rng(seed)
    r_perm = rng.permutation(problem.n_requests)  # new request i is old request r_perm[i]
    k_perm = rng.permutation(problem.n_resources)  # new resource j is old resource k_perm[j]
    plans: list[int] = []
    owner: list[int] = []
    for new_r, old_r in enumerate(r_perm.tolist()):
        block = np.arange(problem.plan_start[old_r], problem.plan_start[old_r + 1])
        plans.extend(rng.permutation(block).tolist())
        owner.extend([new_r] * block.size)
    plans_arr = np.asarray(plans, dtype=np.int64)
    use = problem.use[plans_arr][:, k_perm]
    return build(
        [f"q{seed}-{problem.request_ids[r]}" for r in r_perm.tolist()],
        np.asarray(owner),
        problem.value[plans_arr],
        use,
        problem.capacity[k_perm],
        resource_ids=[f"res-{problem.resource_ids[k]}" for k in k_perm.tolist()],
        must_admit=problem.must_admit[r_perm],
        arrival=problem.arrival[r_perm],
        name=f"{problem.name}-relabelled-{seed}",
    )
