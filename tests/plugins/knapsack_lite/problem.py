"""The ``knapsack-lite`` problem: items with a value and a weight, one capacity."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from daitn_opt.errors import InputError
from daitn_opt.result import Result, Status

KIND = "knapsack-lite"


@dataclass(frozen=True)
class Problem:
    """Items ``0..n-1`` worth ``values[i]`` and weighing ``weights[i]``; at most ``capacity``."""

    kind: ClassVar[str] = KIND
    sense: ClassVar[str] = "max"
    values: tuple[float, ...]
    weights: tuple[float, ...]
    capacity: float
    ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(float(v) for v in self.values))
        object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))
        if not self.ids:
            object.__setattr__(self, "ids", tuple(f"item{i}" for i in range(len(self.values))))
        self.validate()

    @property
    def size(self) -> int:
        """The number of items."""
        return len(self.values)

    def replace(self, **changes: Any) -> Problem:
        """A copy with some fields changed, validated again."""
        return dataclasses.replace(self, **changes)

    def validate(self) -> None:
        """An :class:`InputError` naming the first bad field."""
        if len(self.weights) != len(self.values) or len(self.ids) != len(self.values):
            raise InputError("weights", len(self.weights), f"expected {len(self.values)} items")
        for field, numbers in (("values", self.values), ("weights", self.weights)):
            for i, x in enumerate(numbers):
                if not (math.isfinite(x) and x >= 0):
                    raise InputError(f"{field}[{i}]", x, "must be a finite number >= 0")
        if not (math.isfinite(self.capacity) and self.capacity >= 0):
            raise InputError("capacity", self.capacity, "must be a finite number >= 0")


def from_instance(instance: Any, request_id: str | None = None) -> Problem:
    """The data nodes holding the request's data: worth their samples, weighing one per started
    500 samples; the capacity is half the total weight."""
    request = instance.request(request_id) if instance.requests else None
    ids, values, weights = [], [], []
    for node in instance.snapshot.of_kind("data"):
        samples = sum(
            d.samples
            for d in node.datasets
            if request is None or (d.modality, d.task) == (request.modality, request.task)
        )
        if samples > 0:
            ids.append(node.id)
            values.append(float(samples))
            weights.append(float(math.ceil(samples / 500)))
    return Problem(tuple(values), tuple(weights), sum(weights) // 2, tuple(ids))


def make_result(
    problem: Problem, solver: str, chosen: tuple[int, ...] | None, **fields: Any
) -> Result:
    """A Result carrying ``{"chosen": [item ids...]}`` (None: no solution)."""
    status = fields.pop("status", Status.FEASIBLE)
    if chosen is None or not status.has_solution:
        return Result(problem=KIND, solver=solver, status=status, sense="max", **fields)
    objective = math.fsum(problem.values[i] for i in chosen)
    solution = {"chosen": [problem.ids[i] for i in sorted(chosen)]}
    return Result(
        problem=KIND,
        solver=solver,
        status=status,
        sense="max",
        objective=objective,
        solution=solution,
        **fields,
    )


def examples() -> dict[str, Problem | tuple[Problem, float]]:
    """Named example problems, with the proven optimum where known (the conformance test's cases
    for this kind)."""
    return {
        "three": (Problem((6, 10, 12), (1, 2, 3), 5), 22.0),
        "empty": Problem((), (), 3),
        "nothing-fits": Problem((4, 5), (3, 4), 2),
        "twelve": Problem(
            tuple((7 * i) % 13 + 1 for i in range(12)),
            tuple((5 * i) % 7 + 1 for i in range(12)),
            15,
        ),
    }
