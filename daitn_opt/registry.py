"""The solver registry and the one entry point, :func:`solve`.

Every problem kind is a package registered in :mod:`daitn_opt.kinds` (the built-in ``mtrce``,
``tfam``, ``qirce``, or a third party's); importing it registers its solver functions here with
:func:`register`. Third parties add solvers through the ``daitn_opt.solvers`` entry-point group
(each entry point names a module that calls :func:`register` when imported) or, unpackaged,
through the ``DAITN_OPT_SOLVER_MODULES`` environment variable.

A solver function has the signature ``fn(problem, options) -> Result`` and declares its
parameters as a dataclass (:mod:`daitn_opt.params`); :func:`solve` checks the name, the variant,
the limits and the parameters, starts the clock, calls it, makes the result keep the contract
every result keeps (:func:`daitn_opt.result.enforce_contract`: status, bound and gap agree), and
stamps runtime, seed and limit on it.
"""

from __future__ import annotations

import importlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from numbers import Integral, Real
from typing import Any, Protocol

from . import kinds as _kinds
from .errors import InputError, UnsupportedError
from .params import NoParams, parse_params
from .result import Result, Sense, Status, enforce_contract

PLUGIN_ENV = "DAITN_OPT_SOLVER_MODULES"
"""Environment variable: comma-separated modules imported to register more solvers (besides the
``daitn_opt.solvers`` entry points), e.g. for experiments that are not packaged."""


class Problem(Protocol):
    """What every problem class offers the registry."""

    kind: str


@dataclass(frozen=True)
class SolveOptions:
    """Options handed to every solver function.

    Attributes
    ----------
    time_limit
        Seconds the solver may use; it must return within this plus a small margin.
    seed
        Seed of every random choice; the same seed gives the same result.
    threads
        Threads (CP-SAT workers, HiGHS threads) the solver may use.
    initial
        Optional warm start in the problem's solution format (e.g. ``{"routes": ...}``).
    params
        The solver's parameters: an instance of the dataclass it registered
        (:attr:`SolverSpec.params`), built and validated by :func:`solve`.
    callback
        Called as ``callback(event, data)`` on progress (never prints).
    """

    time_limit: float = 10.0
    seed: int = 0
    threads: int = 1
    initial: dict[str, Any] | None = None
    params: Any = field(default_factory=NoParams)
    callback: Callable[[str, dict[str, Any]], None] | None = None
    start: float = field(default_factory=time.perf_counter)

    def remaining(self) -> float:
        """Seconds left of the time limit, measured from when :func:`solve` was called."""
        return max(0.0, self.time_limit - (time.perf_counter() - self.start))

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


SolverFn = Callable[[Any, SolveOptions], Result]


@dataclass(frozen=True)
class SolverSpec:
    """A registered solver."""

    problem: str
    name: str
    fn: SolverFn
    exact: bool
    description: str
    supports: Callable[[Any], str | None] | None = None
    """Returns None when the solver handles the problem, else the reason why not."""
    params: type = NoParams
    """The dataclass of the solver's parameters (:mod:`daitn_opt.params`)."""
    package: str = "daitn-opt"
    """The distribution whose code does the solving (its version is recorded with each run)."""


_REGISTRY: dict[str, dict[str, SolverSpec]] = {}
_loaded: set[str] = set()
_plugins_loaded = False


def register(
    problem: str,
    name: str,
    *,
    exact: bool,
    description: str,
    supports: Callable[[Any], str | None] | None = None,
    params: type = NoParams,
    package: str = "daitn-opt",
) -> Callable[[SolverFn], SolverFn]:
    """Decorator: register ``fn`` as solver ``name`` for problem kind ``problem``.

    ``params`` is the frozen dataclass of the solver's parameters (fields made with
    :func:`daitn_opt.params.param`); ``fn`` receives an instance of it in ``options.params``.
    ``package`` names the distribution that does the solving (``"highspy"``, ``"elkai"``), so that
    a benchmark store records its version.
    """

    def decorate(fn: SolverFn) -> SolverFn:
        _REGISTRY.setdefault(problem, {})[name] = SolverSpec(
            problem, name, fn, exact, description, supports, params, package
        )
        return fn

    return decorate


def _load(problem: str | None = None) -> None:
    global _plugins_loaded
    if not _plugins_loaded:
        # Plug-in modules first: one of them may register a problem kind.
        _plugins_loaded = True
        for module in filter(None, os.environ.get(PLUGIN_ENV, "").split(",")):
            importlib.import_module(module.strip())
        for ep in entry_points(group="daitn_opt.solvers"):
            ep.load()
    known = _kinds.kinds()
    for kind in [problem] if problem in known else list(known):
        if kind not in _loaded:
            known[kind].module()
            _loaded.add(kind)


def solvers(problem: str | None = None) -> dict[str, dict[str, SolverSpec]]:
    """Registered solvers: ``{problem: {name: spec}}`` (for one problem if given)."""
    _load(problem)
    if problem is not None:
        if problem not in _kinds.kinds() and problem not in _REGISTRY:
            raise InputError("problem", problem, f"expected one of {sorted(_kinds.kinds())}")
        return {problem: dict(_REGISTRY.get(problem, {}))}
    return {k: dict(v) for k, v in _REGISTRY.items()}


def get_solver(problem: str, name: str) -> SolverSpec:
    """The spec of solver ``name`` for ``problem``; an :class:`InputError` listing the known ones."""
    available = solvers(problem)[problem]
    if name not in available:
        raise InputError("solver", name, f"unknown for {problem}; registered: {sorted(available)}")
    return available[name]


def check_limits(time_limit: Any, seed: Any, threads: Any) -> tuple[float, int, int]:
    """Validate the run limits every solver receives; an :class:`InputError` names the field.

    ``time_limit``: a finite number of seconds > 0; ``seed``: an integer in ``[0, 2**31)`` (the
    range every backend accepts); ``threads``: an integer >= 1.
    """
    if isinstance(time_limit, bool) or not isinstance(time_limit, Real):
        raise InputError("time_limit", time_limit, "must be a number of seconds")
    if not (math.isfinite(time_limit) and time_limit > 0):
        raise InputError("time_limit", time_limit, "must be a finite number of seconds > 0")
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise InputError("seed", seed, "must be an integer")
    if not 0 <= seed < 2**31:
        raise InputError("seed", seed, "must be in [0, 2**31 - 1]")
    if isinstance(threads, bool) or not isinstance(threads, Integral):
        raise InputError("threads", threads, "must be an integer")
    if threads < 1:
        raise InputError("threads", threads, "must be at least 1")
    return float(time_limit), int(seed), int(threads)


def problem_sense(problem: Any) -> Sense | None:
    """The sense of the objective a solver reports for ``problem`` (its ``sense``; None when it
    does not say)."""
    sense = getattr(problem, "sense", None)
    return sense if sense in ("min", "max") else None


def solve(
    problem: Any,
    solver: str,
    *,
    time_limit: float = 10.0,
    seed: int = 0,
    threads: int = 1,
    initial: dict[str, Any] | None = None,
    callback: Callable[[str, dict[str, Any]], None] | None = None,
    **params: Any,
) -> Result:
    """Solve ``problem`` with the registered solver ``solver``.

    Parameters
    ----------
    problem
        A problem object (``daitn_opt.mtrce.Problem`` and so on); its ``kind`` picks the registry.
    solver
        Registered solver name; :func:`solvers` lists them.
    time_limit
        Seconds. The call returns within this plus a small margin, with the best solution found.
    seed
        Seed of every random choice. Default 0.
    threads
        Threads the solver may use. Default 1.
    initial
        Optional warm start in the problem's solution format.
    callback
        Optional progress callback ``callback(event, data)``.
    **params
        The solver's parameters (``daitn-opt solvers`` lists them): validated against the
        dataclass it registered and passed as an instance of it in ``SolveOptions.params``.

    Raises
    ------
    InputError
        Unknown solver name; a time limit that is not a finite number > 0; a seed that is not an
        integer in ``[0, 2**31)``; fewer than one thread; an unknown parameter (the message lists
        the valid ones) or one of the wrong type.
    UnsupportedError
        The solver does not support this variant of the problem; raised before running.

    Notes
    -----
    An exact solver's ``optimal`` is a proof: its bound closes the gap (relative gap <= 1e-6,
    :func:`daitn_opt.result.enforce_contract`); a heuristic reports ``feasible`` unless a bound it
    computed closes the gap. ``Result.bound`` bounds the optimum of ``problem`` in the reported
    sense (an upper bound when maximising).

    Example
    -------
    An orienteering instance with four points (start 0, end 3), a budget of 10:

    >>> import numpy as np
    >>> from daitn_opt.mtrce import Problem
    >>> xy = np.array([[0, 0], [3, 0], [3, 4], [0, 4]], dtype=float)
    >>> travel = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    >>> problem = Problem(ids=["s", "a", "b", "e"], start=0, end=3, travel=travel,
    ...                   service=np.zeros(4), utility=np.array([0.0, 5.0, 7.0, 0.0]),
    ...                   deadline=10.0)
    >>> result = solve(problem, "highs", time_limit=10)
    >>> result.status.value, result.objective, result.solution["routes"]
    ('optimal', 12.0, [['s', 'a', 'b', 'e']])
    """
    kind = getattr(problem, "kind", None)
    if kind is None:
        raise InputError("problem", type(problem).__name__, "is not a daitn-opt problem object")
    time_limit, seed, threads = check_limits(time_limit, seed, threads)
    spec = get_solver(kind, solver)
    if spec.supports is not None:
        reason = spec.supports(problem)
        if reason is not None:
            raise UnsupportedError(f"{solver}: {reason}")
    options = SolveOptions(
        time_limit=float(time_limit),
        seed=int(seed),
        threads=int(threads),
        initial=initial,
        params=parse_params(spec.params, params, solver=solver),
        callback=callback,
    )
    try:
        result = spec.fn(problem, options)
    except (InputError, UnsupportedError):
        raise
    except Exception as exc:  # a crashing solver becomes an error result, not a crash
        result = Result(
            problem=kind,
            solver=solver,
            status=Status.ERROR,
            message=f"{exc.__class__.__name__}: {exc}",
        )
    if not isinstance(result, Result):
        result = Result(
            problem=kind,
            solver=solver,
            status=Status.ERROR,
            message=f"the solver returned a {type(result).__name__}, not a Result",
        )
    enforce_contract(result, sense=problem_sense(problem), exact=spec.exact)
    result.runtime = options.elapsed()
    result.seed = options.seed
    result.time_limit = options.time_limit
    result.solver = solver
    result.problem = kind
    return result
