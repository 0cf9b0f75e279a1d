"""The 0-1 program of T-FAM admission as arrays: what every exact backend builds its model from.

Formulation (``formulations/tfam.md``, constraints (1)-(4)): one binary ``x[p]`` per plan,

- (1) ``max sum_p v[p] x[p]``
- (2) ``sum_p U[p, k] x[p] <= c[k]`` for every resource k that could be over-subscribed
  (rows with ``sum_p U[p, k] <= c[k]`` can never bind and are dropped);
- (3) ``sum_{p of r} x[p] <= 1`` for every request with several plans (``= 1`` when must-admit);
  a single-plan must-admit request fixes ``x[p] = 1`` instead;
- (4) ``x[p] = 0`` for plans that exceed some capacity on their own.

The constraint matrix is assembled from the sparse plan x resource matrix with scipy (no
per-variable Python loop), so a batch of 10,000 requests over 12,000 (node, slot) resources
builds in well under a second. :func:`highs_lp` passes the arrays to HiGHS column-wise in one
call; the CP-SAT and Pyomo backends add the same rows one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
from scipy import sparse

from ..highs_model import quiet_highs
from .problem import Problem
from .solution import slack


@dataclass(frozen=True)
class ModelArrays:
    """The rows and column bounds of the 0-1 program.

    ``A`` (csc, rows x plans) holds the kept capacity rows (2) first, then the request rows (3);
    ``resource_rows`` are the resources kept, ``group_rows`` the requests with several plans.
    """

    A: sparse.csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    resource_rows: np.ndarray
    group_rows: np.ndarray

    def __getitem__(self, key: str) -> object:
        """Dict-style access (``arrays["A"]``), as the benchmarks read them."""
        return getattr(self, key)


def model_arrays(problem: Problem) -> ModelArrays:
    """Column-wise arrays of the 0-1 program (constraints (2)-(4)) of ``problem``.

    Examples
    --------
    >>> from daitn_opt.tfam import build
    >>> p = build(["a", "b"], [0, 0, 1], [3.0, 2.0, 4.0], [[1.0], [1.0], [1.0]], [1.0])
    >>> arrays = model_arrays(p)
    >>> arrays.A.shape, arrays.resource_rows.tolist(), arrays.group_rows.tolist()
    ((2, 3), [0], [0])
    """
    use = problem.use
    cap = problem.capacity
    total = np.asarray(use.sum(axis=0)).ravel()
    kept = np.flatnonzero(total > slack(problem))
    counts = np.diff(problem.plan_start)
    groups = np.flatnonzero(counts > 1)
    plan_req = problem.plan_request
    # Group matrix: row g has ones on the plans of request groups[g].
    in_group = np.isin(plan_req, groups)
    g_row = np.searchsorted(groups, plan_req[in_group])
    g_col = np.flatnonzero(in_group)
    group = sparse.csr_matrix(
        (np.ones(g_col.size), (g_row, g_col)), shape=(groups.size, problem.n_plans)
    )
    a = sparse.vstack([use.T.tocsr()[kept], group], format="csc")
    a.sort_indices()
    row_upper = np.concatenate([cap[kept], np.ones(groups.size)])
    row_lower = np.concatenate(
        [np.full(kept.size, -np.inf), problem.must_admit[groups].astype(np.float64)]
    )
    col_lower = np.zeros(problem.n_plans)
    col_upper = np.ones(problem.n_plans)
    single_must = problem.must_admit & (counts == 1)
    col_lower[problem.plan_start[:-1][single_must]] = 1.0
    rows = np.repeat(np.arange(problem.n_plans), np.diff(use.indptr))
    alone_bad = np.unique(rows[use.data > slack(problem)[use.indices]])
    col_upper[alone_bad] = 0.0
    return ModelArrays(a, row_lower, row_upper, col_lower, col_upper, kept, groups)


def highs_lp(problem: Problem, arrays: ModelArrays) -> highspy.Highs:
    """A quiet HiGHS instance holding the 0-1 program (maximisation, integer columns)."""
    a = arrays.A
    lp = highspy.HighsLp()
    lp.num_col_ = problem.n_plans
    lp.num_row_ = a.shape[0]
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = problem.value.astype(np.float64)
    lp.col_lower_ = arrays.col_lower
    lp.col_upper_ = arrays.col_upper
    lp.row_lower_ = arrays.row_lower
    lp.row_upper_ = arrays.row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(np.float64)
    lp.a_matrix_.num_col_ = problem.n_plans
    lp.a_matrix_.num_row_ = a.shape[0]
    lp.integrality_ = [highspy.HighsVarType.kInteger] * problem.n_plans
    h = quiet_highs()
    h.passModel(lp)
    return h
