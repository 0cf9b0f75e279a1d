"""What every problem's independent checker returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .errors import InputError


@dataclass
class CheckReport:
    """Verdict of a checker: the violations found (empty when valid) and the recomputed objective.

    Checkers recompute everything from the problem arrays and the solution alone; they import no
    solver and no formulation.
    """

    objective: float | None
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def compare_objective(self, claimed: float | None, tol: float = 1e-6) -> CheckReport:
        """Add a violation when ``claimed`` differs from the recomputed objective."""
        if claimed is None or self.objective is None:
            return self
        if abs(claimed - self.objective) > tol * max(1.0, abs(self.objective)):
            self.violations.append(
                f"claimed objective {claimed:.10g} differs from recomputed {self.objective:.10g}"
            )
        return self


Shape = Any
"""A document shape for :func:`shape_error`:

- ``"str"``, ``"int"``, ``"number"`` (finite, not a bool), ``"any"``;
- ``[item]``: a list whose items have shape ``item``;
- ``{"key": shape, "?key": shape}``: an object with those keys (``?``: optional), others ignored;
- ``("map", shape)``: an object mapping strings to values of ``shape``.
"""


def is_kind(value: Any, kind: str) -> bool:
    """Whether ``value`` is a JSON ``kind``: ``str``, ``int`` or ``number`` (never a bool; a number
    is finite and within float range), or ``any``."""
    if kind == "any":
        return True
    if kind == "str":
        return isinstance(value, str)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, int):  # an "int" is an index or a count: at most 2**53 (exact in JSON)
        return abs(value) <= (2**53 if kind == "int" else 2**1000)
    return kind == "number" and math.isfinite(value)


def _shown(value: Any) -> Any:
    if isinstance(value, dict):
        return "{...}"
    if isinstance(value, list):
        return "[...]"
    return value


def shape_error(value: Any, shape: Shape, field: str = "solution") -> InputError | None:
    """The first place where ``value`` does not have ``shape``, as an :class:`InputError`; None if
    it does. Checkers run it first so that a malformed document is one readable violation."""
    if isinstance(shape, str):
        ok = is_kind(value, shape)
        return None if ok else InputError(field, _shown(value), f"expected a {shape}")
    if isinstance(shape, list):
        if not isinstance(value, list):
            return InputError(field, _shown(value), "expected a list")
        for i, item in enumerate(value):
            err = shape_error(item, shape[0], f"{field}[{i}]")
            if err is not None:
                return err
        return None
    if isinstance(shape, tuple):  # ("map", values)
        if not isinstance(value, dict):
            return InputError(field, _shown(value), "expected an object")
        for key, item in value.items():
            err = shape_error(item, shape[1], f"{field}.{key}")
            if err is not None:
                return err
        return None
    if not isinstance(value, dict):
        return InputError(field, _shown(value), "expected an object")
    for key, item_shape in shape.items():
        name = key.removeprefix("?")
        if name not in value:
            if not key.startswith("?"):
                return InputError(f"{field}.{name}", None, "missing")
            continue
        err = shape_error(value[name], item_shape, f"{field}.{name}")
        if err is not None:
            return err
    return None
