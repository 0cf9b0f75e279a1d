"""The skeleton every exact backend runs in: screening, warm start, time budget, bounds, Result.

An exact solver (a MILP in HiGHS, a CP-SAT model, a Pyomo model) does the same things around its
own search, whatever the problem:

1. **screen**: answer problems decided before any search (a must-serve demand that nothing can
   serve is infeasible; an empty batch is optimal with nothing chosen);
2. **warm start**: the user's start when it is feasible, else the best heuristic solution, and a
   bound from a relaxation computed on the way (a Lagrangian bound, say);
3. **build** the model within the time budget, **run** it until the deadline, **extract** its
   solution, bound and status;
4. **finish**: keep the better of the backend's solution and the warm start (both checked), the
   tighter of the backend's bound and the warm start's, and build the :class:`Result`; a
   backend that runs out of time at any step returns the warm start with its bound.

:class:`ExactSolver` is that sequence as a template method (the pattern of Flower's ``Strategy``,
whose server loop drives ``configure_fit``/``aggregate_fit`` hooks): a backend subclasses it and
implements :meth:`~ExactSolver.build`, :meth:`~ExactSolver.run` and :meth:`~ExactSolver.extract`;
what depends on the problem kind (screening, warm start, objective, feasibility, the solution
document) is one :class:`KindSupport` object per kind. Optimality is never claimed by a backend
directly: a result is ``optimal`` when its bound closes the gap
(:func:`daitn_opt.result.enforce_contract`).

Example
-------
A toy kind (choose at most one item of greatest value) and a "backend" that enumerates:

>>> from dataclasses import dataclass
>>> from daitn_opt.result import Result, Status
>>> @dataclass(frozen=True)
... class Items:
...     values: tuple
...     kind = "toy-items"
...     sense = "max"
>>> class ItemsSupport(KindSupport):
...     def value(self, problem, solution):
...         return float(problem.values[solution]) if solution is not None else 0.0
...     def feasible(self, problem, solution):
...         return 0 <= solution < len(problem.values)
...     def result(self, problem, solver, solution, **fields):
...         objective = None if solution is None else self.value(problem, solution)
...         return Result(problem=problem.kind, solver=solver, sense="max",
...                       objective=objective, solution={"item": solution}, **fields)
>>> class Enumerate(ExactSolver):
...     kind, name, support = "toy-items", "enumerate", ItemsSupport()
...     def build(self, run):
...         return list(enumerate(run.problem.values))
...     def run(self, run, model):
...         return max(model, key=lambda item: item[1])
...     def extract(self, run, model, raw):
...         return Outcome(solution=raw[0], bound=float(raw[1]))
>>> result = Enumerate().solve(Items((3, 9, 4)), SolveOptions(time_limit=1.0))
>>> result.status.value, result.objective, result.solution
('optimal', 9.0, {'item': 1})
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .params import NoParams
from .registry import SolveOptions, register
from .result import Result, Status, TracePoint, enforce_contract


class OutOfTime(Exception):
    """Raised by a backend's build, run or extract when the time budget cannot be kept.

    The skeleton then returns the warm start (with its bound) and ``str(exc)`` as the message.
    """


@dataclass
class Start:
    """The warm start: a solution in the kind's internal form (None: none found), its reported
    objective, a bound on the optimum (reported sense) found on the way, and the seconds taken."""

    solution: Any = None
    objective: float | None = None
    bound: float | None = None
    seconds: float = 0.0


@dataclass
class Outcome:
    """What a backend's run produced, in the kind's internal solution form.

    ``bound`` is a valid bound on the optimum in the reported sense (None: none); ``proved``
    says the backend proved ``solution`` optimal (its value is then a bound when ``bound`` is
    None); ``infeasible`` that it proved no solution exists.
    """

    solution: Any = None
    bound: float | None = None
    proved: bool = False
    infeasible: bool = False
    message: str = ""


class KindSupport:
    """What the skeleton needs to know about a problem kind; one instance per kind.

    Subclasses implement :meth:`value`, :meth:`feasible` and :meth:`result`; :meth:`screen`
    (default: nothing decided) and :meth:`warm_start` (default: the user's start when feasible)
    are usually overridden too.
    """

    def screen(self, problem: Any, solver: str) -> Result | None:
        """A result for a problem decided before any search, else None."""
        return None

    def warm_start(self, problem: Any, options: SolveOptions) -> Start:
        """The warm start (see :class:`Start`). Default: ``options.initial`` when feasible."""
        return Start()

    def value(self, problem: Any, solution: Any) -> float:
        """The reported objective of ``solution``."""
        raise NotImplementedError

    def feasible(self, problem: Any, solution: Any) -> bool:
        """Whether ``solution`` keeps every constraint (checked before it is returned)."""
        raise NotImplementedError

    def result(self, problem: Any, solver: str, solution: Any, **fields: Any) -> Result:
        """A :class:`Result` for ``solution`` (None: no solution) with the given fields
        (``status``, ``bound``, ``stats``, ``trace``, ``message``)."""
        raise NotImplementedError

    def infeasible_message(self, problem: Any) -> str:
        """Why no solution exists, when a backend proved it."""
        return "the model is infeasible"


@dataclass
class Run:
    """One solver run: the problem, the options, the warm start, the clock and what is recorded.

    ``deadline`` (``time.perf_counter()`` seconds) leaves ``reserve`` seconds of the time limit to
    extract the solution and build the result.
    """

    problem: Any
    options: SolveOptions
    start: Start
    deadline: float
    reserve: float
    stats: dict[str, Any] = field(default_factory=dict)
    trace: list[TracePoint] = field(default_factory=list)

    @property
    def params(self) -> Any:
        return self.options.params

    def remaining(self) -> float:
        """Seconds left before the deadline."""
        return max(0.0, self.deadline - time.perf_counter())

    def need(self, seconds: float, what: str) -> None:
        """Raise :class:`OutOfTime` unless ``seconds`` remain for ``what``."""
        if self.remaining() < seconds:
            raise OutOfTime(f"time limit reached: no time left to {what}")

    def record(self, incumbent: float | None, bound: float | None) -> None:
        """Add a point to the anytime trace (reported values)."""
        self.trace.append(TracePoint(self.options.elapsed(), incumbent, bound))


RESERVE_FRACTION = 0.03
"""Share of the time limit kept back (at least :data:`RESERVE_MIN` seconds) to build the result."""

RESERVE_MIN = 0.1


def rounded_bound(bound: float | None, sense: str, integral: bool) -> float | None:
    """``bound`` tightened to the integer lattice when every solution's objective is integral.

    Maximising, no integral objective exceeds ``floor(bound)``; minimising, none lies below
    ``ceil(bound)``. A relative tolerance of 1e-9 absorbs the solver's own round-off (a dual
    bound of 41.9999999999 for an optimum of 42), never more.

    >>> rounded_bound(41.9999999999, "max", True), rounded_bound(41.5, "max", True)
    (42.0, 41.0)
    """
    if bound is None or not math.isfinite(bound):
        return None
    if not integral:
        return float(bound)
    tol = 1e-9 * max(1.0, abs(bound))
    return float(math.floor(bound + tol) if sense == "max" else math.ceil(bound - tol))


def tighter(sense: str, *bounds: float | None) -> float | None:
    """The tightest of the valid bounds given (maximising: the least upper bound)."""
    known = [float(b) for b in bounds if b is not None]
    if not known:
        return None
    return min(known) if sense == "max" else max(known)


class ExactSolver(ABC):
    """Template of an exact backend (see the module docstring).

    Class attributes: ``kind``, ``name``, ``description``, ``support`` (the kind's
    :class:`KindSupport`), ``Params`` (the parameter dataclass) and optionally ``supports``
    (``problem -> reason | None``, the variants it handles).
    """

    kind: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str] = ""
    support: ClassVar[KindSupport]
    Params: ClassVar[type] = NoParams
    supports: ClassVar[Callable[[Any], str | None] | None] = None

    @abstractmethod
    def build(self, run: Run) -> Any:
        """Build the model of ``run.problem`` (raise :class:`OutOfTime` when it cannot be built
        within ``run.remaining()``)."""

    @abstractmethod
    def run(self, run: Run, model: Any) -> Any:
        """Solve ``model`` until ``run.deadline``, warm-started from ``run.start``; return
        whatever :meth:`extract` needs."""

    @abstractmethod
    def extract(self, run: Run, model: Any, raw: Any) -> Outcome:
        """The solution, bound and status of a finished run."""

    # -- the template method -----------------------------------------------------------------
    def solve(self, problem: Any, options: SolveOptions) -> Result:
        """Screen, warm-start, build, run, extract, finish (the module docstring's steps)."""
        screened = self.support.screen(problem, self.name)
        if screened is not None:
            enforce_contract(screened, sense=problem.sense, exact=True)
            return screened
        t0 = time.perf_counter()
        start = self.support.warm_start(problem, options)
        start.seconds = time.perf_counter() - t0
        reserve = max(RESERVE_MIN, RESERVE_FRACTION * options.time_limit)
        run = Run(
            problem, options, start, time.perf_counter() + options.remaining() - reserve, reserve
        )
        run.stats["warm_start_seconds"] = start.seconds
        run.stats["warm_start"] = start.objective
        if start.objective is not None:
            run.record(start.objective, None)
        try:
            t1 = time.perf_counter()
            model = self.build(run)
            run.stats["build_seconds"] = time.perf_counter() - t1
            t2 = time.perf_counter()
            raw = self.run(run, model)
            run.stats["run_seconds"] = time.perf_counter() - t2
            outcome = self.extract(run, model, raw)
        except OutOfTime as exc:
            outcome = Outcome(message=str(exc))
        return self.finish(run, outcome)

    def finish(self, run: Run, outcome: Outcome) -> Result:
        """The result of ``run``: the better checked solution, the tighter bound, the status."""
        problem, support, start = run.problem, self.support, run.start
        sense = problem.sense
        if outcome.infeasible and start.solution is None:
            result = support.result(
                problem,
                self.name,
                None,
                status=Status.INFEASIBLE,
                message=outcome.message or support.infeasible_message(problem),
                stats=run.stats,
                trace=run.trace,
            )
            enforce_contract(result, sense=sense, exact=True)
            return result
        found = outcome.solution
        if found is not None and not support.feasible(problem, found):
            run.stats["backend_solution_rejected"] = True
            found = None
        value = None if found is None else support.value(problem, found)
        bound = outcome.bound
        if outcome.proved and bound is None:
            bound = value
        chosen, message = found, outcome.message
        if start.solution is not None:
            keep_start = value is None or (
                start.objective is not None
                and (start.objective > value if sense == "max" else start.objective < value)
            )
            if keep_start:
                chosen = start.solution
                if found is None and message:
                    message += "; returning the warm start"
        if outcome.infeasible and chosen is not None:
            run.stats["backend_claimed_infeasible"] = True
        bound = tighter(sense, bound, start.bound)
        result = support.result(
            problem,
            self.name,
            chosen,
            status=Status.FEASIBLE if chosen is not None else Status.NO_SOLUTION,
            bound=bound,
            stats=run.stats,
            trace=run.trace,
            message=message,
        )
        enforce_contract(result, sense=sense, exact=True)
        return result


def register_exact(cls: type[ExactSolver]) -> type[ExactSolver]:
    """Class decorator: register an instance of ``cls`` as solver ``cls.name`` of ``cls.kind``."""
    register(
        cls.kind,
        cls.name,
        exact=True,
        description=cls.description,
        supports=cls.supports,
        params=cls.Params,
    )(cls().solve)
    return cls
