"""The rows of the demonstration's report: one small dataclass per table, and the report.

:func:`daitn_opt.demo.run_demo` fills a :class:`DemoReport`; ``daitn-opt demo`` renders its rows
and ``demo.json`` is :meth:`DemoReport.to_dict`. Every row reads as attributes
(``row.policy``); for readers written against the earlier dict rows, ``row["policy"]`` reads the
same attribute (:class:`Row`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .io import json_safe


class Row:
    """Item access by field name, as the dict rows of earlier versions allowed.

    ``daitn-opt demo`` reads ``row["policy"]``; the attribute is the canonical form.
    """

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None


@dataclass
class PlanRow(Row):
    """One row of the comparison table: a plan, its solve and its replays."""

    plan: str
    solver: str
    status: str
    utility: float | None = None
    gap: float | None = None
    """Relative gap of the plan's utility to the best proved bound (0: optimal)."""
    solve_time: float | None = None
    checked: bool | None = None
    route: list[str] = field(default_factory=list)
    final_accuracy: float | None = None
    accuracy_spread: float | None = None
    """Standard deviation of the final accuracy over the replay seeds."""
    time_to_target: float | None = None
    """Mean over the seeds that reached the target (None when none did)."""
    reached_target: int = 0
    bytes_moved: int | None = None
    finish_time: float | None = None
    deadline_met: bool | None = None
    note: str = ""
    objective: str | None = None
    """The route objective the plan optimised when it is not the request's own."""


@dataclass
class DynamicsRow(Row):
    """One policy's replay of the best route while a hospital of it fails."""

    policy: str
    failed: str
    at: float
    """Simulated second of the failure."""
    utility: float
    planned_utility: float
    """Utility of the same route replayed without the failure."""
    final_accuracy: float | None
    deadline_met: bool
    visited: list[str]
    notes: list[str]


@dataclass
class AdmissionRow(Row):
    """One T-FAM solver's admission of the batch."""

    status: str
    value: float | None
    admitted: dict[str, int]
    refused: list[str]
    checked: bool
    solve_time: float


@dataclass
class FederatedRow(Row):
    """The FedAvg replay of the client set T-FAM admitted for a federated request."""

    request: str
    plan: str
    """The admitted plan's label."""
    clients: list[str]
    rounds: int
    final_accuracy: float
    bytes_moved: int
    finish_time: float
    deadline: float | None
    deadline_met: bool
    notes: list[str]


@dataclass
class DemoReport:
    """Everything the demo measured, and where it wrote it."""

    instance: str
    request: str
    deadline: float | None
    target_accuracy: float
    seeds: list[int]
    plans: list[PlanRow] = field(default_factory=list)
    dynamics: list[DynamicsRow] = field(default_factory=list)
    admission: dict[str, AdmissionRow] = field(default_factory=dict)
    """Per T-FAM solver name."""
    federated: FederatedRow | None = None
    reference: dict[str, Any] = field(default_factory=dict)
    """The central reference (ceiling) of the replayed plans (see ``demo_stages.add_reference``)."""
    serving: list[dict[str, Any]] = field(default_factory=list)
    """:meth:`~daitn_opt.executor.ServingOutcome.to_dict` of every placement replayed."""
    missing: list[str] = field(default_factory=list)
    """Pieces that are not available, with why."""
    files: list[str] = field(default_factory=list)
    wall_time: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-safe data (``demo.json``); no federated replay is ``{}``."""
        data = asdict(self)
        if data["federated"] is None:
            data["federated"] = {}
        return json_safe(data)


def mean_finite(values: Any) -> float | None:
    """Mean of the finite values (a model lost with a failed node has no accuracy); None if none.

    >>> mean_finite([0.5, float("nan"), 0.7])
    0.6
    >>> mean_finite([]) is None
    True
    """
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else None


def format_gap(gap: float | None) -> str:
    """A relative gap as a percentage for the table (``-`` when unknown).

    >>> format_gap(0.0123), format_gap(None)
    ('1.2%', '-')
    """
    if gap is None or (isinstance(gap, float) and math.isnan(gap)):
        return "-"
    return f"{100 * gap:.1f}%"
