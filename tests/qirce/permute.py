"""Relabelled copies of QIRCE problems: demands, facilities, models and arcs permuted and
renamed. Placement is invariant under relabelling, so every exact solver must report the same
optimal value and status on the copy."""

from __future__ import annotations

import numpy as np

from daitn_opt.qirce import Problem


def relabel(problem: Problem, seed: int) -> Problem:
    """``problem`` with demands, facilities, models and the arc list shuffled and renamed."""
    rng = np.random.default_rng(seed)
    d_perm = rng.permutation(problem.num_demands)  # new demand i is old demand d_perm[i]
    f_perm = rng.permutation(problem.num_facilities)
    m_perm = rng.permutation(problem.num_models)
    d_new = np.argsort(d_perm)  # old demand -> new index
    f_new = np.argsort(f_perm)
    m_new = np.argsort(m_perm)
    a_perm = rng.permutation(problem.num_arcs)
    return problem.replace(
        demand_ids=[f"d{seed}-{problem.demand_ids[d]}" for d in d_perm.tolist()],
        facility_ids=[f"f{seed}-{problem.facility_ids[f]}" for f in f_perm.tolist()],
        model_ids=[f"m{seed}-{problem.model_ids[m]}" for m in m_perm.tolist()],
        demand_model=m_new[problem.demand_model[d_perm]],
        rate=problem.rate[d_perm],
        value=problem.value[d_perm],
        slo_ms=problem.slo_ms[d_perm],
        model_memory=problem.model_memory[m_perm],
        facility_memory=problem.facility_memory[f_perm],
        capacity=problem.capacity[f_perm],
        open_cost=problem.open_cost[f_perm],
        arc_demand=d_new[problem.arc_demand[a_perm]],
        arc_facility=f_new[problem.arc_facility[a_perm]],
        arc_cost=problem.arc_cost[a_perm],
        arc_load=problem.arc_load[a_perm],
        arc_latency=problem.arc_latency[a_perm],
        blocked={int(d_new[d]): why for d, why in problem.blocked.items()},
        name=f"{problem.name}-relabelled-{seed}",
    )
