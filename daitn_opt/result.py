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
from numbers import Real
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


OPTIMALITY_GAP = 1e-6
"""Largest relative gap with which a result may say ``optimal``."""

BOUND_TOLERANCE = 1e-6
"""Relative tolerance (of ``max(1, |objective|)``) by which a bound may cross the objective and
still count as a proof of optimality (floating-point and integer rounding of solver bounds)."""

CONTRACT_STATS = "contract"
"""Key of ``Result.stats`` where :func:`enforce_contract` records what it corrected
(``"corrected"``) and the solver defects it found (``"violations"``)."""


def bound_tolerance(objective: float) -> float:
    """How far a bound may cross ``objective`` and still be read as a proof of optimality."""
    return BOUND_TOLERANCE * max(1.0, abs(objective))


def _real(value: Any) -> float | None:
    """``value`` as a float, or None when it is not a real number (NaN included)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        return None
    out = float(value)
    return None if math.isnan(out) else out


def contract_breach(result: Result, tol: float = OPTIMALITY_GAP) -> str | None:
    """What breaks the reporting contract :func:`enforce_contract` establishes, or None: a bound
    on the wrong side of the objective, ``optimal`` with a gap above ``tol`` (or none), or a gap
    of at most ``tol`` on a result not reported optimal. For tests and benchmark sweeps."""
    obj, bound = result.objective, result.bound
    if obj is not None and bound is not None:
        wrong = bound < obj if result.sense == "max" else bound > obj
        if wrong:
            return f"bound {bound!r} on the wrong side of objective {obj!r} ({result.sense})"
    if result.status is Status.OPTIMAL and (result.gap is None or result.gap > tol):
        return f"status optimal with gap {result.gap!r}"
    proved = result.gap is not None and result.gap <= tol
    if proved and result.status is Status.FEASIBLE:
        return f"gap {result.gap!r} <= {tol} but status {result.status.value}"
    return None


def enforce_contract(result: Result, *, sense: Sense | None = None, exact: bool = True) -> None:
    """Make ``result`` keep the promises every :class:`Result` makes, whatever solver produced it.

    - ``sense`` is the problem's (when given);
    - a result with a solution has a finite objective (else it becomes an ``error`` result);
    - the bound is a real number on the correct side of the objective (minimising: bound <=
      objective; maximising: bound >= objective). A bound that crosses the objective by at most
      :func:`bound_tolerance` proves optimality (bound := objective); one that crosses by more is
      a solver defect: the bound is dropped (with any optimality claim resting on it) and the
      defect is recorded in ``message`` and in ``stats["contract"]["violations"]``
      (:attr:`Result.contract_violations`);
    - ``gap`` is recomputed from objective and bound;
    - ``optimal`` only with ``gap <= OPTIMALITY_GAP``: a solution whose valid bound closes the gap
      is optimal; a claim of optimality with a larger gap becomes ``feasible``; a claim without a
      bound is kept for an exact solver (``exact``; the bound is set to the objective) and
      becomes ``feasible`` for a heuristic.

    Corrections are listed in ``stats["contract"]["corrected"]``. Modifies ``result`` in place.
    """
    corrected: list[str] = []
    violations: list[str] = []
    if sense is not None and result.sense != sense:
        if result.objective is not None or result.bound is not None:
            corrected.append(f"sense {result.sense!r} -> {sense!r} (the problem's)")
        result.sense = sense
    objective = _real(result.objective) if result.objective is not None else None
    if result.status.has_solution and (objective is None or math.isinf(objective)):
        violations.append(f"status {result.status.value} with objective {result.objective!r}")
        result.status = Status.ERROR
    if result.objective is not None and objective is not None:
        result.objective = objective
    bound = None
    if result.bound is not None:
        bound = _real(result.bound)
        if bound is None:
            violations.append(f"bound {result.bound!r} is not a number; dropped")
    if bound is not None and objective is not None and result.status.has_solution:
        cross = bound - objective if result.sense == "min" else objective - bound
        if cross > bound_tolerance(objective):
            violations.append(
                f"bound {bound:.10g} on the wrong side of objective {objective:.10g} "
                f"({result.sense}imising) by {cross:.6g}; dropped"
            )
            bound = None
            if result.status is Status.OPTIMAL:  # the claim rests on that bound
                result.status = Status.FEASIBLE
        elif cross > 0:
            if cross > 1e-9 * max(1.0, abs(objective)):  # more than floating-point noise
                corrected.append(
                    f"bound {bound:.10g} crossed objective {objective:.10g} by {cross:.3g}"
                )
            bound = objective
    result.bound = bound
    result.gap = relative_gap(objective, bound) if result.status.has_solution else None
    if result.status.has_solution and result.gap is not None and result.gap <= OPTIMALITY_GAP:
        if result.status is Status.FEASIBLE:
            corrected.append("feasible -> optimal: the bound closes the gap")
            result.status = Status.OPTIMAL
    elif result.status is Status.OPTIMAL:
        if result.gap is not None:
            corrected.append(f"optimal -> feasible: gap {result.gap:.3g} > {OPTIMALITY_GAP:g}")
            result.status = Status.FEASIBLE
        elif exact:
            corrected.append("optimal without a bound: bound := objective")
            result.bound, result.gap = objective, 0.0
        else:
            corrected.append("optimal -> feasible: a heuristic without a bound proves nothing")
            result.status = Status.FEASIBLE
    if violations:
        note = "solver defect: " + "; ".join(violations)
        result.message = f"{result.message}; {note}" if result.message else note
    if corrected or violations:
        record = result.stats.setdefault(CONTRACT_STATS, {})
        if corrected:
            record.setdefault("corrected", []).extend(corrected)
        if violations:
            record.setdefault("violations", []).extend(violations)


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

    @property
    def contract_violations(self) -> list[str]:
        """Solver defects found by :func:`enforce_contract` (empty when none)."""
        record = self.stats.get(CONTRACT_STATS) or {}
        return list(record.get("violations", []))

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
    def of(
        cls,
        problem: Any,
        solver: str,
        status: Status,
        *,
        objective: float | None = None,
        bound: float | None = None,
        solution: dict[str, Any] | None = None,
        stats: dict[str, Any] | None = None,
        trace: list[TracePoint] | None = None,
        message: str = "",
    ) -> Result:
        """The result of ``solver`` on ``problem``: kind, sense and, when the problem names them,
        instance and request come from the problem (what every kind's ``make_result`` needs)."""
        return cls(
            problem=problem.kind,
            solver=solver,
            status=status,
            sense=problem.sense,
            objective=objective,
            bound=bound,
            solution=solution or {},
            stats=dict(stats or {}),
            trace=list(trace or []),
            message=message,
            instance=getattr(problem, "name", None),
            request=getattr(problem, "request_id", None),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        from .errors import InputError
        from .io import validate_result_document

        # Fields of the wrong JSON type (a malformed trace, a non-numeric objective) are an
        # InputError naming the field, not a crash later in a report or a replay.
        validate_result_document(data)
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
