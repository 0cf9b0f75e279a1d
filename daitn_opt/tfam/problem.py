"""The T-FAM admission problem: which requests to admit, each with at most one of its plans.

Requests ``r = 0..R-1`` each have candidate plans ``p`` (plans of r are ``plan_start[r]`` to
``plan_start[r+1]-1``) with a value ``v[p] >= 0`` and a sparse use ``U[p, k] >= 0`` of resources
``k = 0..K-1`` with capacities ``c[k]``. A resource is usually one node's concurrent training
slots during one time slot, or an abstract dimension (a knapsack constraint). Choose ``x[p] in
{0, 1}``:

- at most one plan per request: ``sum_{p of r} x[p] <= 1``, and exactly one for must-admit
  requests;
- no resource over capacity: ``sum_p U[p, k] x[p] <= c[k]`` for every k;
- maximise the admitted value ``sum_p v[p] x[p]``.

Special cases: the multidimensional 0-1 knapsack (one plan per request) and the multiple-choice
knapsack (one resource, several plans per request). The mathematics and the formulations are in
``formulations/tfam.md``. A solution is ``{"admitted": {request_id: plan_index}, "refused":
[request_id, ...]}`` with ``plan_index`` counted within the request (0-based).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from scipy.sparse import csr_matrix, issparse

from ..arrays import as_array
from ..drrt.instance import AdmissionSpec, Instance
from ..errors import InputError

OUT_OF_TIME = "plan generation reached its time limit"
"""Part of the ``unplannable`` reason of every request left out for lack of time
(:func:`daitn_opt.tfam.plans.admission_spec`)."""


@dataclass(frozen=True, eq=False)
class Problem:
    """Arrays of one admission batch. Build it with :func:`build` or :func:`from_instance`.

    Plans are stored grouped by request: plan ``p`` belongs to request ``plan_request[p]`` and
    request r owns the contiguous block ``plan_start[r]:plan_start[r + 1]``.
    """

    kind: ClassVar[str] = "tfam"

    request_ids: list[str]
    plan_start: np.ndarray
    """(R + 1,) start of each request's block of plans; ``plan_start[-1] == P``."""
    value: np.ndarray
    """(P,) value of each plan."""
    use: csr_matrix
    """(P, K) sparse resource use of each plan."""
    capacity: np.ndarray
    """(K,) capacity of each resource."""
    resource_ids: list[str]
    must_admit: np.ndarray
    """(R,) bool: requests that must be admitted."""
    arrival: np.ndarray
    """(R,) arrival times: the order first-come-first-served admits in."""
    plan_labels: list[str] | None = None
    plan_details: list[dict[str, Any]] | None = None
    """(P,) what each plan does, when it was generated from a snapshot: ``{"clients": [ids]}``
    (federated) or ``{"route": [ids, start and end included]}`` (sequential), and ``"start"``,
    the seconds after the snapshot time at which it starts (arrival plus its delay). None: the
    plans are known by their labels only (an explicit admission batch, a knapsack)."""
    finish: np.ndarray | None = None
    """(P,) seconds after arrival at which each plan completes (None: plans are not timed)."""
    deadline: np.ndarray | None = None
    """(R,) seconds after arrival each request must finish by (inf: none)."""
    slot_seconds: float | None = None
    name: str = "tfam"
    unplannable: dict[str, str] | None = None
    """Requests of the instance left out of the batch (no plan reaches the target), with why."""
    request_id: str | None = None
    """Always None: admission concerns the whole batch (kept for the common CLI signature)."""
    infeasible: str | None = None
    """Why the batch cannot be admitted as required (a must-admit request without any plan),
    or None. Every solver then answers ``infeasible`` with this reason."""

    def __post_init__(self) -> None:
        # Lists and other array-likes are accepted and stored as numpy arrays (frozen: set once,
        # at construction); values that are not numbers are one InputError naming the field.
        for name, dtype in (
            ("plan_start", np.int64),
            ("value", np.float64),
            ("capacity", np.float64),
            ("must_admit", bool),
            ("arrival", np.float64),
            ("finish", np.float64),
            ("deadline", np.float64),
        ):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, as_array(name, value, dtype))
        if not issparse(self.use):
            object.__setattr__(self, "use", csr_matrix(as_array("use", self.use, np.float64)))
        elif not isinstance(self.use, csr_matrix):
            object.__setattr__(self, "use", csr_matrix(self.use, dtype=np.float64))
        for name in ("request_ids", "resource_ids", "plan_labels", "plan_details"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, str) or not hasattr(value, "__len__")):
                raise InputError(name, value, "expected a list of strings")
            if value is not None and not isinstance(value, list):
                object.__setattr__(self, name, list(value))
        self.validate()

    # -- sizes ----------------------------------------------------------------------------------
    @property
    def n_requests(self) -> int:
        return len(self.request_ids)

    @property
    def n_plans(self) -> int:
        return int(self.value.shape[0])

    @property
    def n_resources(self) -> int:
        return int(self.capacity.shape[0])

    @property
    def size(self) -> int:
        """Requests in the batch (the problem contract's size)."""
        return self.n_requests

    @property
    def sense(self) -> Literal["max"]:
        return "max"

    def replace(self, **changes: object) -> Problem:
        """A modified copy (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def plan_request(self) -> np.ndarray:
        """(P,) request index of each plan."""
        return np.repeat(np.arange(self.n_requests), np.diff(self.plan_start))

    def plans_of(self, r: int) -> range:
        return range(int(self.plan_start[r]), int(self.plan_start[r + 1]))

    def request_index(self) -> dict[str, int]:
        return {rid: r for r, rid in enumerate(self.request_ids)}

    def validate(self) -> None:
        """Raise :class:`InputError` on inconsistent or invalid arrays (naming the field)."""
        for name in ("value", "capacity", "plan_start"):
            if np.ndim(getattr(self, name)) != 1:
                raise InputError(name, np.shape(getattr(self, name)), "expected a 1-D array")
        r_count, p_count = len(self.request_ids), int(np.shape(self.value)[0])
        for name in ("request_ids", "resource_ids"):
            ids = getattr(self, name)
            if len(set(ids)) != len(ids):
                seen: set = set()
                dup = next(x for x in ids if x in seen or seen.add(x))
                raise InputError(name, dup, f"duplicate id in {name}")
        start = self.plan_start
        if start.shape != (r_count + 1,) or start[0] != 0 or start[-1] != p_count:
            raise InputError(
                "plan_start", start.shape, f"expected {r_count + 1} offsets 0..{p_count}"
            )
        counts = np.diff(start)
        if np.any(counts < 1):
            r = int(np.flatnonzero(counts < 1)[0])
            raise InputError(
                f"requests[{self.request_ids[r]!r}].plans", [], "needs at least one plan"
            )
        if not np.all(np.isfinite(self.value)) or np.any(self.value < 0):
            p = int(np.flatnonzero(~(np.isfinite(self.value) & (self.value >= 0)))[0])
            raise InputError(f"value[{p}]", float(self.value[p]), "must be finite and >= 0")
        self._validate_resources(p_count)
        self._validate_times(r_count, p_count)

    def _validate_resources(self, p_count: int) -> None:
        """Uses and capacities: shapes, ids, finite non-negative values."""
        start = self.plan_start
        k_count = int(np.shape(self.capacity)[0])
        if self.use.shape != (p_count, k_count):
            raise InputError("use", self.use.shape, f"expected shape {(p_count, k_count)}")
        if len(self.resource_ids) != k_count:
            raise InputError("resource_ids", len(self.resource_ids), f"expected {k_count} ids")
        if self.use.nnz and (np.any(self.use.data < 0) or not np.all(np.isfinite(self.use.data))):
            bad = np.flatnonzero(~(np.isfinite(self.use.data) & (self.use.data >= 0)))[0]
            p = int(np.searchsorted(self.use.indptr, bad, side="right") - 1)
            k = int(self.use.indices[bad])
            r = int(np.searchsorted(start, p, side="right") - 1)
            raise InputError(
                f"requests[{self.request_ids[r]!r}].plans[{p - int(start[r])}].use"
                f"[{self.resource_ids[k]!r}]",
                float(self.use.data[bad]),
                "resource use must be >= 0",
            )
        if not np.all(np.isfinite(self.capacity)) or np.any(self.capacity < 0):
            k = int(np.flatnonzero(~(np.isfinite(self.capacity) & (self.capacity >= 0)))[0])
            raise InputError(
                f"resources[{self.resource_ids[k]!r}].capacity",
                float(self.capacity[k]),
                "must be finite and >= 0",
            )
        if k_count and self.use.nnz and not np.any(self.capacity > 0):
            raise InputError("capacity", 0.0, "is zero for every resource: nothing can be admitted")

    def _validate_times(self, r_count: int, p_count: int) -> None:
        """Per-request and per-plan arrays: must-admit, arrival, finish, deadline, labels."""
        for name, shape in (("must_admit", (r_count,)), ("arrival", (r_count,))):
            if np.shape(getattr(self, name)) != shape:
                raise InputError(name, np.shape(getattr(self, name)), f"expected shape {shape}")
        _finite_ids("arrival", self.arrival, self.request_ids, "must be finite")
        if self.finish is not None:
            if np.shape(self.finish) != (p_count,):
                raise InputError("finish", np.shape(self.finish), f"expected shape {(p_count,)}")
            # NaN marks an untimed plan; a time is finite and >= 0.
            bad = np.flatnonzero(~np.isnan(self.finish) & ~(np.isfinite(self.finish)))
            bad = np.union1d(bad, np.flatnonzero(self.finish < 0))
            if bad.size:
                p = int(bad[0])
                raise InputError(f"finish[{p}]", float(self.finish[p]), "must be finite and >= 0")
        if self.deadline is not None:
            if np.shape(self.deadline) != (r_count,):
                raise InputError(
                    "deadline", np.shape(self.deadline), f"expected shape {(r_count,)}"
                )
            _finite_ids(
                "deadline", self.deadline, self.request_ids, "must be > 0 (inf: none)", inf=True
            )
        if self.slot_seconds is not None and not (
            isinstance(self.slot_seconds, int | float)
            and math.isfinite(self.slot_seconds)
            and self.slot_seconds > 0
        ):
            raise InputError("slot_seconds", self.slot_seconds, "must be a finite number > 0")
        if self.plan_labels is not None and len(self.plan_labels) != p_count:
            raise InputError("plan_labels", len(self.plan_labels), f"expected {p_count} labels")
        if self.plan_details is not None and len(self.plan_details) != p_count:
            raise InputError("plan_details", len(self.plan_details), f"expected {p_count} plans")


def _finite_ids(
    name: str, values: np.ndarray, ids: list[str], reason: str, *, inf: bool = False
) -> None:
    """InputError naming the request when ``values`` holds NaN, -inf (or +inf unless ``inf``)
    or, for deadlines (``inf``), a value <= 0."""
    ok = ~np.isnan(values) & (values < np.inf if not inf else values > 0)
    ok &= values > -np.inf
    if not np.all(ok):
        r = int(np.flatnonzero(~ok)[0])
        raise InputError(f"requests[{ids[r]!r}].{name}", float(values[r]), reason)


def build(
    request_ids: Sequence[str],
    plan_request: np.ndarray,
    value: np.ndarray,
    use: csr_matrix,
    capacity: np.ndarray,
    *,
    resource_ids: Sequence[str] | None = None,
    must_admit: np.ndarray | None = None,
    arrival: np.ndarray | None = None,
    plan_labels: Sequence[str] | None = None,
    plan_details: Sequence[dict[str, Any]] | None = None,
    finish: np.ndarray | None = None,
    deadline: np.ndarray | None = None,
    slot_seconds: float | None = None,
    name: str = "tfam",
) -> Problem:
    """Build a :class:`Problem` from flat arrays (plans in any order; they are grouped by request).

    Parameters
    ----------
    request_ids : sequence of str
        R request ids.
    plan_request : (P,) int array
        Request index of each plan; each request needs at least one plan.
    value : (P,) float array
        Plan values (finite, >= 0): what admitting the request with that plan is worth.
    use : (P, K) sparse or dense array
        Resource use of each plan (>= 0).
    capacity : (K,) float array
        Resource capacities (>= 0).
    resource_ids : sequence of str, optional
        K resource ids (default ``k0, k1, ...``).
    must_admit : (R,) bool array, optional
        Requests that must be admitted (default none).
    arrival : (R,) float array, optional
        Arrival times, the order first-come-first-served admits in (default all 0).
    plan_labels, plan_details : sequence, optional
        Per plan: a label for people, and what the plan does (:attr:`Problem.plan_details`).
    finish : (P,) float array, optional
        Seconds after arrival at which each plan completes (NaN: untimed).
    deadline : (R,) float array, optional
        Seconds after arrival each request must finish by (inf: none).
    slot_seconds : float, optional
        Length of a time slot when resources are (node, slot) pairs.
    name : str
        The batch's name (results and reports show it).

    Returns
    -------
    Problem
        The validated batch, plans grouped by request in their given order.

    Raises
    ------
    InputError
        Arrays of the wrong shape or with invalid values, naming the field (e.g.
        ``requests['a'].plans[0].use['k0']``), or a request without a plan.

    Notes
    -----
    O(P + nnz(use)). The problem is the multiple-choice multidimensional knapsack of
    ``formulations/tfam.md``; :func:`daitn_opt.solve` solves it with any registered T-FAM solver.

    Examples
    --------
    Two requests competing for one unit resource; request ``a`` has two plans:

    >>> from daitn_opt import solve
    >>> p = build(["a", "b"], [0, 0, 1], [3.0, 2.0, 4.0], [[1.0], [0.5], [0.5]], [1.0])
    >>> p.n_requests, p.n_plans, p.n_resources
    (2, 3, 1)
    >>> result = solve(p, "highs", time_limit=5)
    >>> result.status.value, result.objective, result.solution["admitted"]
    ('optimal', 6.0, {'a': 1, 'b': 0})
    """
    plan_request = as_array("plan_request", plan_request, np.int64)
    value = as_array("value", value, np.float64)
    capacity = as_array("capacity", capacity, np.float64)
    if not issparse(use):
        use = as_array("use", use, np.float64)
    if isinstance(request_ids, str) or not hasattr(request_ids, "__len__"):
        raise InputError("request_ids", request_ids, "expected a list of strings")
    if plan_request.ndim != 1 or np.shape(value) != plan_request.shape:
        raise InputError(
            "value", np.shape(value), f"expected one value per plan, shape {plan_request.shape}"
        )
    r_count = len(request_ids)
    for field_name, seq in (  # not `name`: that is the batch's name, returned below
        ("finish", finish),
        ("plan_labels", plan_labels),
        ("plan_details", plan_details),
    ):
        if seq is not None and len(seq) != plan_request.size:
            raise InputError(field_name, np.shape(seq)[:1], f"expected shape {plan_request.shape}")
    if plan_request.size and (plan_request.min() < 0 or plan_request.max() >= r_count):
        raise InputError("plan_request", int(plan_request.max()), f"must be in 0..{r_count - 1}")
    order = np.argsort(plan_request, kind="stable")
    counts = np.bincount(plan_request, minlength=r_count)
    plan_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    use = csr_matrix(use, dtype=np.float64)
    if use.shape[0] != plan_request.size:
        raise InputError("use", use.shape, f"expected {plan_request.size} rows (one per plan)")
    use = use[order]
    use.sum_duplicates()
    use.sort_indices()
    if capacity.ndim != 1:
        raise InputError("capacity", capacity.shape, "expected a 1-D array")
    k_count = capacity.shape[0]
    return Problem(
        request_ids=list(request_ids),
        plan_start=plan_start,
        value=value[order],
        use=use,
        capacity=capacity,
        resource_ids=list(resource_ids)
        if resource_ids is not None
        else [f"k{i}" for i in range(k_count)],
        must_admit=np.zeros(r_count, bool) if must_admit is None else must_admit,
        arrival=np.zeros(r_count) if arrival is None else arrival,
        plan_labels=None if plan_labels is None else [plan_labels[i] for i in order],
        plan_details=None if plan_details is None else [plan_details[i] for i in order],
        finish=None if finish is None else as_array("finish", finish, np.float64)[order],
        deadline=deadline,
        slot_seconds=slot_seconds,
        name=name,
    )


def from_spec(
    spec: AdmissionSpec,
    *,
    must_admit: set[str] | None = None,
    name: str = "tfam",
    details: dict[str, list[dict[str, Any]]] | None = None,
) -> Problem:
    """The problem of an explicit admission batch (``Instance.admission``).

    Parameters
    ----------
    spec : AdmissionSpec
        Resources with capacities and requests with their candidate plans (value, use per
        resource id, label, finish).
    must_admit : set of str, optional
        Request ids to admit besides those the spec marks (e.g. from the training requests).
    name : str
        The batch's name.
    details : dict, optional
        Request id -> one dict per plan, in the spec's order, describing generated plans
        (:attr:`Problem.plan_details`); a batch without it is described by its labels only.

    Returns
    -------
    Problem

    Raises
    ------
    InputError
        As :func:`build` (the spec itself is validated when it is made).

    Notes
    -----
    O(total plan uses). A multidimensional or multiple-choice knapsack is one such spec.

    Examples
    --------
    >>> from daitn_opt.drrt.instance import AdmissionSpec
    >>> spec = AdmissionSpec.model_validate({
    ...     "resources": [{"id": "w", "capacity": 5}],
    ...     "requests": [
    ...         {"id": "x", "plans": [{"value": 4, "use": {"w": 3}, "label": "big"},
    ...                               {"value": 2, "use": {"w": 1}, "label": "small"}]},
    ...         {"id": "y", "plans": [{"value": 3, "use": {"w": 3}}], "must_admit": True},
    ...     ],
    ... })
    >>> p = from_spec(spec)
    >>> p.request_ids, p.plan_labels, p.must_admit.tolist()
    (['x', 'y'], ['big', 'small', ''], [False, True])
    """
    res_index = {res.id: k for k, res in enumerate(spec.resources)}
    capacity = np.array([res.capacity for res in spec.resources], dtype=np.float64)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    values: list[float] = []
    labels: list[str] = []
    finish: list[float] = []
    plan_request: list[int] = []
    timed = False
    for r, req in enumerate(spec.requests):
        for plan in req.plans:
            p = len(values)
            values.append(plan.value)
            labels.append(plan.label)
            finish.append(np.nan if plan.finish is None else plan.finish)
            timed = timed or plan.finish is not None
            plan_request.append(r)
            for key, amount in plan.use.items():
                rows.append(p)
                cols.append(res_index[key])
                vals.append(amount)
    forced = must_admit or set()
    described = None
    if details is not None:
        described = [dict(d) for q in spec.requests for d in details[q.id]]
    use = csr_matrix((vals, (rows, cols)), shape=(len(values), len(capacity)), dtype=np.float64)
    deadlines = [np.inf if q.deadline is None else q.deadline for q in spec.requests]
    return build(
        [q.id for q in spec.requests],
        np.asarray(plan_request, dtype=np.int64),
        np.asarray(values),
        use,
        capacity,
        resource_ids=[res.id for res in spec.resources],
        must_admit=np.array([q.must_admit or q.id in forced for q in spec.requests], bool),
        arrival=np.array([q.arrival for q in spec.requests]),
        plan_labels=labels,
        plan_details=described,
        finish=np.asarray(finish) if timed else None,
        deadline=np.asarray(deadlines) if any(np.isfinite(deadlines)) else None,
        slot_seconds=spec.slot_seconds,
        name=name,
    )


def from_instance(
    instance: Instance, request_id: str | None = None, *, time_limit: float | None = None
) -> Problem:
    """The admission problem of ``instance``.

    With an explicit :attr:`~daitn_opt.drrt.instance.Instance.admission` batch, that batch;
    otherwise candidate plans are generated from the snapshot for every training request
    (:func:`daitn_opt.tfam.plans.admission_spec`). ``request_id`` is accepted for the common
    signature; admission always concerns the whole batch, so it must only name a known request.
    ``time_limit`` (seconds) bounds the generation of candidate plans: requests not planned in
    time are left out, listed in ``unplannable`` with that reason (a caller keeping one overall
    limit passes the share it gives this phase).
    """
    spec = instance.admission
    left_out: dict[str, str] = {}
    details: dict[str, list[dict[str, Any]]] | None = None
    forced = {q.id for q in instance.requests if q.must_admit}
    infeasible = None
    if spec is None:
        from .plans import admission_spec, modality_reasons

        blocked = {r: why for r, why in modality_reasons(instance).items() if r in forced}
        if blocked:
            # A must-admit request no data node can serve: the batch is infeasible (a decision,
            # not an input error); the other requests are still planned for the record.
            rid, why = next(iter(blocked.items()))
            infeasible = f"must-admit request {rid!r} cannot be planned: {why}"
            reduced = instance.model_copy(
                update={
                    "requests": [
                        q.model_copy(update={"must_admit": False}) if q.id in blocked else q
                        for q in instance.requests
                    ]
                }
            )
        else:
            reduced = instance
        details = {}
        spec = admission_spec(reduced, unplannable=left_out, time_limit=time_limit, details=details)
    ids = {q.id for q in spec.requests} | set(left_out)
    if request_id is not None and request_id not in ids:
        raise InputError("request", request_id, "is not a request of the admission batch")
    problem = from_spec(
        spec, must_admit=forced - set(left_out), name=instance.name, details=details
    )
    if left_out or infeasible is not None:
        problem = problem.replace(unplannable=left_out or None, infeasible=infeasible)
    return problem
