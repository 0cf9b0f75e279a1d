"""The MTRCE problem: which eligible data nodes a model visits, and in what order.

Given a start node ``s``, an end node ``e`` (``s == e`` allowed), travel times ``t[i, j]``
(possibly asymmetric), a service (training) time ``d[i]`` and a utility ``u[i]`` per node,
optional windows ``[a[i], b[i]]`` on the start of service, a deadline ``T``, an optional budget on
``visit_cost + travel_cost``, optional mandatory nodes and ``k`` routes (model replicas):

- every route leaves ``s`` at time 0, visits distinct nodes (no node on two routes), and ends at
  ``e``; service at a node starts at ``max(arrival, a[i])`` and must not start after ``b[i]``;
- each route must reach ``e`` and finish its verification by ``T``:
  ``arrival(e) + max(0, a[e] - arrival(e)) + d[e] + verify_time <= T`` (service at ``e`` and at
  ``s`` counts when they are data nodes; usually it is 0);
- ``objective == "max_utility"``: maximise the utility of the nodes visited (``s`` and ``e``
  included, each once);
- ``objective == "min_time"``: every node is mandatory (the TSP family); minimise the summed
  completion times of the routes (for one route without windows or service times, the tour length).

Special cases: TSP (``min_time``, ``s == e``, k = 1), orienteering (OP: ``max_utility``, no
windows, k = 1), OPTW (with windows), team orienteering (TOP: k > 1). The mathematics of every
formulation is in ``formulations/mtrce.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

from ..drrt.instance import Instance
from ..drrt.view import View, view

Objective = Literal["max_utility", "min_time"]


@dataclass(frozen=True, eq=False)
class Problem:
    """Arrays of one MTRCE instance, indexed ``0..n-1``; ``ids[i]`` names node i.

    Build it with :func:`from_view` or :func:`from_instance`, or directly from your own arrays (a
    simulator that never builds a snapshot can do this; call :meth:`validate` afterwards).
    """

    kind: ClassVar[str] = "mtrce"

    ids: list[str]
    start: int
    end: int
    travel: np.ndarray
    """(n, n) travel time i -> j (inf when impossible)."""
    service: np.ndarray
    """(n,) service (training) time at each node."""
    utility: np.ndarray
    """(n,) utility of visiting each node."""
    window_open: np.ndarray | None = None
    """(n,) earliest service start; None: no windows."""
    window_close: np.ndarray | None = None
    """(n,) latest service start; None: no windows."""
    deadline: float = np.inf
    verify_time: float = 0.0
    budget: float | None = None
    visit_cost: np.ndarray | None = None
    travel_cost: np.ndarray | None = None
    k: int = 1
    mandatory: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    objective: Objective = "max_utility"
    name: str = "mtrce"
    request_id: str | None = None

    def __post_init__(self) -> None:
        self.validate()

    # -- properties -------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def sense(self) -> Literal["min", "max"]:
        return "min" if self.objective == "min_time" else "max"

    @property
    def has_windows(self) -> bool:
        return self.window_open is not None

    @property
    def has_budget(self) -> bool:
        return self.budget is not None

    @property
    def customers(self) -> np.ndarray:
        """Indices of the nodes other than start and end."""
        mask = np.ones(self.n, dtype=bool)
        mask[[self.start, self.end]] = False
        return np.flatnonzero(mask)

    @property
    def is_symmetric(self) -> bool:
        return bool(np.array_equal(self.travel, self.travel.T))

    def replace(self, **changes: object) -> Problem:
        """A modified copy (validated)."""
        fields = {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "kind"}
        fields.update(changes)
        return Problem(**fields)

    def validate(self) -> None:
        """Raise :class:`~daitn_opt.errors.InputError` on inconsistent arrays."""
        from ..errors import InputError

        n = len(self.ids)
        if n < 1:
            raise InputError("ids", self.ids, "the problem has no nodes")
        for name in ("start", "end"):
            value = getattr(self, name)
            if not 0 <= value < n:
                raise InputError(name, value, f"must be a node index in 0..{n - 1}")
        shapes = {"travel": (n, n), "service": (n,), "utility": (n,)}
        for opt in ("window_open", "window_close", "visit_cost"):
            if getattr(self, opt) is not None:
                shapes[opt] = (n,)
        if self.travel_cost is not None:
            shapes["travel_cost"] = (n, n)
        for name, shape in shapes.items():
            arr = getattr(self, name)
            if np.shape(arr) != shape:
                raise InputError(name, np.shape(arr), f"expected shape {shape}")
        if (self.window_open is None) != (self.window_close is None):
            raise InputError("window_open", None, "window_open and window_close go together")
        if np.any(self.travel < 0):
            i, j = np.argwhere(self.travel < 0)[0]
            raise InputError(f"travel[{i}, {j}]", float(self.travel[i, j]), "must be >= 0")
        if np.any(self.service < 0) or not np.all(np.isfinite(self.service)):
            raise InputError("service", self.service.min(), "must be finite and >= 0")
        if not np.all(np.isfinite(self.utility)):
            raise InputError("utility", None, "must be finite")
        if self.k < 1:
            raise InputError("k", self.k, "must be at least 1")
        if self.objective not in ("max_utility", "min_time"):
            raise InputError("objective", self.objective, "expected max_utility or min_time")
        if self.budget is not None and (self.visit_cost is None or self.travel_cost is None):
            raise InputError("budget", self.budget, "needs visit_cost and travel_cost")
        if len(self.mandatory) and (self.mandatory.min() < 0 or self.mandatory.max() >= n):
            raise InputError("mandatory", self.mandatory.tolist(), "indices out of range")


def from_view(v: View, name: str = "mtrce") -> Problem:
    """The MTRCE problem of a request's view."""
    windows = bool(np.any(v.window_open > 0) or np.any(np.isfinite(v.window_close)))
    has_budget = v.budget is not None
    mandatory = v.mandatory
    if v.objective == "min_time":
        mask = np.ones(v.n, dtype=bool)
        mask[[v.start, v.end]] = False
        mandatory = np.flatnonzero(mask)
    return Problem(
        ids=list(v.ids),
        start=v.start,
        end=v.end,
        travel=v.transfer,
        service=v.train_time,
        utility=v.utility,
        window_open=v.window_open if windows else None,
        window_close=v.window_close if windows else None,
        deadline=np.inf if v.deadline is None else float(v.deadline),
        verify_time=v.verify_time,
        budget=v.budget,
        visit_cost=v.visit_cost if has_budget else None,
        travel_cost=v.travel_cost if has_budget else None,
        k=v.replicas,
        mandatory=np.asarray(mandatory, dtype=np.int64),
        objective=v.objective,  # type: ignore[arg-type]
        name=name,
        request_id=v.request_id,
    )


def from_instance(instance: Instance, request_id: str | None = None) -> Problem:
    """The MTRCE problem of one request of ``instance`` (the first when None)."""
    return from_view(view(instance, request_id), name=instance.name)
