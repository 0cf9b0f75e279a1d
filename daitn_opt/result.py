"""The outcome of one solver run, shared by every problem.

A :class:`Result` is what :func:`daitn_opt.solve` returns and what ``daitn-opt solve --json``
prints; :meth:`Result.from_json` reads it back, so the same document feeds ``check``, ``replay``
and the benchmark store.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from .io import json_safe

Sense = Literal["min", "max"]


class Status(StrEnum):
    """How a run ended."""

    OPTIMAL = "optimal"
    """A solution was found and proved optimal (within the solver's gap tolerance)."""
    FEASIBLE = "feasible"
    """A solution was found; it is not proved optimal (or the method proves nothing)."""
    INFEASIBLE = "infeasible"
    """The problem was proved to have no feasible solution."""
    NO_SOLUTION = "no_solution"
    """No solution was found within the limits, and infeasibility was not proved."""
    ERROR = "error"
    """The solver failed; ``message`` says why."""

    @property
    def has_solution(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


@dataclass(frozen=True, slots=True)
class TracePoint:
    """One point of the anytime trace: seconds since start, incumbent and bound (None if unknown)."""

    time: float
    incumbent: float | None
    bound: float | None


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """Relative gap ``|bound - objective| / max(|objective|, 1e-9)``; 0 when they are equal.

    None when either value is unknown.
    """
    if objective is None or bound is None or math.isinf(bound):
        return None
    diff = abs(bound - objective)
    if diff <= 1e-9 * max(1.0, abs(objective)):
        return 0.0
    return diff / max(abs(objective), 1e-9)


@dataclass
class Result:
    """One solver run on one problem.

    Attributes
    ----------
    problem
        The problem kind (``"mtrce"``, ``"tfam"``, ``"qirce"``).
    solver
        The registered solver name.
    status
        How the run ended (:class:`Status`).
    sense
        ``"max"`` or ``"min"``: the direction of ``objective`` and ``bound``.
    objective
        Objective value of the returned solution, in the problem's own units (for a converted
        classic instance, the benchmark's units and sense).
    bound
        Best proved bound on the optimum (an upper bound when maximising), or None.
    gap
        Relative gap between ``objective`` and ``bound`` (see :func:`relative_gap`).
    runtime
        Wall-clock seconds, from the call to :func:`daitn_opt.solve` to its return.
    solution
        Problem-specific, JSON-serialisable solution (MTRCE: ``{"routes": [[ids...]], ...}``).
    stats
        Solver statistics (nodes, cuts, iterations, model build time, ...).
    trace
        Anytime trace of (time, incumbent, bound), in the order found.
    message
        One line for the user: why infeasible, what failed.
    """

    problem: str
    solver: str
    status: Status
    sense: Sense = "max"
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    runtime: float = 0.0
    solution: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    trace: list[TracePoint] = field(default_factory=list)
    message: str = ""
    seed: int = 0
    time_limit: float | None = None
    instance: str | None = None
    request: str | None = None

    def __post_init__(self) -> None:
        self.status = Status(self.status)
        if self.gap is None:
            self.gap = relative_gap(self.objective, self.bound)

    def is_feasible(self) -> bool:
        return self.status.has_solution

    def cost(self) -> float:
        """The objective as a cost to minimise: +inf without a solution; negated when maximising."""
        if not self.is_feasible() or self.objective is None:
            return math.inf
        return self.objective if self.sense == "min" else -self.objective

    def time_to_first(self) -> float | None:
        """Seconds until the first incumbent, from the trace (None if none was found)."""
        for point in self.trace:
            if point.incumbent is not None:
                return point.time
        return None

    def primal_integral(
        self, reference: float | None = None, horizon: float | None = None
    ) -> float:
        """Primal integral (Berthold 2013) of the trace over ``[0, horizon]``.

        The primal gap at time t is ``|ref - inc| / max(|ref|, |inc|)`` (1 without an incumbent),
        with ``ref`` the given reference value or else the final objective. ``horizon`` defaults
        to the runtime. Smaller is better; a solver that has the optimum at time 0 scores 0.
        """
        horizon = self.runtime if horizon is None else horizon
        ref = reference if reference is not None else self.objective
        if ref is None or horizon <= 0:
            return float(horizon)
        total, last_t, last_gap = 0.0, 0.0, 1.0
        for point in self.trace:
            t = min(point.time, horizon)
            total += last_gap * max(0.0, t - last_t)
            last_t = t
            if point.incumbent is not None:
                inc = point.incumbent
                denom = max(abs(ref), abs(inc))
                last_gap = 0.0 if denom == 0 else min(1.0, abs(ref - inc) / denom)
        total += last_gap * max(0.0, horizon - last_t)
        return total

    def summary(self) -> str:
        parts = [f"{self.solver}: {self.status.value}"]
        if self.objective is not None:
            parts.append(f"objective {self.objective:.6g}")
        if self.bound is not None:
            parts.append(f"bound {self.bound:.6g}")
        if self.gap is not None:
            parts.append(f"gap {100 * self.gap:.2f}%")
        parts.append(f"{self.runtime:.2f} s")
        if self.message:
            parts.append(self.message)
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        data["trace"] = [[p.time, p.incumbent, p.bound] for p in self.trace]
        return json_safe(data)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        from .errors import InputError

        if not isinstance(data, dict):
            raise InputError("solution", type(data).__name__, "expected a JSON object")
        for key in ("problem", "solver", "status"):
            if key not in data:
                raise InputError(key, None, "missing from the solution document")
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in data.items() if k in known}
        try:
            kwargs["status"] = Status(kwargs["status"])
        except ValueError:
            raise InputError(
                "status", data["status"], f"expected one of {[s.value for s in Status]}"
            ) from None
        kwargs["trace"] = [TracePoint(*p) for p in data.get("trace", [])]
        return cls(**kwargs)

    @classmethod
    def load(cls, path: str | Path) -> Result:
        from .io import read_json

        return cls.from_dict(read_json(path))
