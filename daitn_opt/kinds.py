"""Problem kinds: the contract a problem package keeps, and where the kinds are registered.

A *problem kind* (``mtrce``, ``tfam``, ``qirce``, or one a third party adds) is a Python package
that exposes

- ``Problem``: a frozen class keeping the :class:`ProblemContract` (``kind``, ``sense``, ``size``,
  ``replace``, ``validate``) and holding the arrays its solvers read;
- ``from_instance(instance, request_id=None, **options) -> Problem``: build it from an instance;
- ``check(problem, solution) -> CheckReport``: the independent checker (imports no solver);
- ``make_result(problem, solver, solution, **fields) -> Result``: a :class:`~daitn_opt.Result`
  carrying a solution in the kind's document format;
- optionally ``DEFAULT_SOLVER`` (the solver the command line uses when none is named) or
  ``default_solver(problem)``; in its ``check`` module, ``SOLUTION_SHAPE`` (the shape of a
  solution document, see :func:`daitn_opt.checking.shape_error`); and ``examples()``, small
  problems by name (``name -> problem`` or ``name -> (problem, proven optimum)``) on which the
  conformance test runs every solver of the kind (a kind without it has no conformance cases,
  which that test reports as a failure); and, in its ``check`` module,
  ``outside_view(problem, solution, excluded) -> list[str]``, which explains solution elements
  outside the problem (``daitn-opt check`` reports them node by node);

and registers its solvers with :func:`daitn_opt.registry.register` when imported.

Kinds are found like solvers: the built-in three, the ``daitn_opt.problems`` entry-point group
(entry-point name = kind, value = package), modules named in ``DAITN_OPT_SOLVER_MODULES`` that
call :func:`register_kind`, and direct calls of :func:`register_kind`. Nothing in
:mod:`daitn_opt.registry` names a kind.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from .errors import InputError

Sense = Literal["min", "max"]

ENTRY_POINT_GROUP = "daitn_opt.problems"
"""Entry-point group of third-party problem kinds: ``kind = "package.module"``."""

BUILTIN_KINDS = {
    "mtrce": "daitn_opt.mtrce",
    "tfam": "daitn_opt.tfam",
    "qirce": "daitn_opt.qirce",
}
"""The kinds daitn-opt ships: kind -> package."""

BARE_SOLUTION_KEYS = (("deployments", "qirce"), ("admitted", "tfam"), ("routes", "mtrce"))
"""How a bare solution document (not wrapped in a result) tells its built-in kind: the first key
it holds, in this order (QIRCE solutions hold ``routes`` too). Other kinds' solutions travel in
result documents, which name their kind."""


def bare_solution_kind(doc: Any, keys: tuple[tuple[str, str], ...] | None = None) -> str | None:
    """The kind of a bare solution document by its telling key (:data:`BARE_SOLUTION_KEYS`, or
    ``keys``), or None.

    >>> bare_solution_kind({"admitted": {}, "refused": []}), bare_solution_kind({"x": 1})
    ('tfam', None)
    """
    if not isinstance(doc, dict):
        return None
    return next((kind for key, kind in keys or BARE_SOLUTION_KEYS if key in doc), None)


@runtime_checkable
class ProblemContract(Protocol):
    """What every problem object offers the registry, the checkers and the benchmark harness.

    Attributes
    ----------
    kind
        The problem kind (class attribute), e.g. ``"mtrce"``; picks the solver registry.
    sense
        The direction of the objective every solver of this problem *reports*: ``"min"`` or
        ``"max"``. A result's ``sense``, bound side and gap follow it.
    size
        The number of decisions' subjects, for tables and sweeps: nodes of an MTRCE view,
        requests of a T-FAM batch, demands of a QIRCE problem.
    """

    kind: ClassVar[str]

    @property
    def sense(self) -> Sense: ...

    @property
    def size(self) -> int: ...

    def replace(self, **changes: Any) -> ProblemContract:
        """A copy with some fields changed, validated again."""
        ...

    def validate(self) -> None:
        """Raise :class:`~daitn_opt.errors.InputError` naming the first bad field."""
        ...


@dataclass(frozen=True)
class KindSpec:
    """A registered problem kind: its name and the package that implements it."""

    kind: str
    package: str

    def module(self) -> ModuleType:
        """The kind's package, imported (which registers its solvers)."""
        return importlib.import_module(self.package)


_KINDS: dict[str, KindSpec] = {k: KindSpec(k, p) for k, p in BUILTIN_KINDS.items()}
_entry_points_loaded = False


def register_kind(kind: str, package: str) -> KindSpec:
    """Register problem kind ``kind`` implemented by ``package`` (see the module docstring).

    Registering a kind again with the same package is harmless; with another package it is an
    :class:`InputError` (two kinds cannot share a name).
    """
    if not kind or not kind.replace("-", "").replace("_", "").isalnum():
        raise InputError("kind", kind, "must be a non-empty name of letters, digits, '-' or '_'")
    existing = _KINDS.get(kind)
    if existing is not None and existing.package != package:
        raise InputError(
            "kind", kind, f"is already registered by {existing.package}, not {package}"
        )
    _KINDS[kind] = KindSpec(kind, package)
    return _KINDS[kind]


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        register_kind(ep.name, ep.value)


def kinds() -> dict[str, KindSpec]:
    """Every registered problem kind: kind -> spec."""
    _load_entry_points()
    return dict(_KINDS)


def get_kind(kind: str) -> KindSpec:
    """The spec of ``kind``; an :class:`InputError` naming the known kinds."""
    known = kinds()
    if kind not in known:
        raise InputError("problem", kind, f"expected one of {sorted(known)}")
    return known[kind]


def package(kind: str) -> ModuleType:
    """The imported package of problem ``kind`` (its solvers registered)."""
    return get_kind(kind).module()
