"""What every exact T-FAM solver shares: its common parameters (and, below, the kind's support)."""

from __future__ import annotations

from dataclasses import dataclass

from ..params import param


@dataclass(frozen=True)
class ExactParams:
    """Parameters every exact T-FAM solver (``highs``, ``cpsat``, ``pyomo``) takes."""

    warm_start: bool = param(
        True, "start from the best heuristic admission (the local search's) when no start is given"
    )
    lagrangian: bool = param(
        True, "on large batches (5,000 plans or more), compute a Lagrangian bound before searching"
    )
    ls_iterations: int = param(30, "iterations of the local search that makes the warm start")
