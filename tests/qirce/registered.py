"""The qirce solvers as the registry lists them (issue 11, item 7).

Tests iterate over these lists instead of naming solvers, so a solver registered later (a third
party's through the entry-point group too) is checked without editing a test. A solver whose
``supports`` gives a reason for a variant is left out of that variant (:func:`handling`).
"""

from __future__ import annotations

from typing import Any

from daitn_opt.qirce import DEFAULT_SOLVER
from daitn_opt.registry import solvers

SPECS = solvers("qirce")["qirce"]
ALL = sorted(SPECS)
EXACT = sorted(n for n, s in SPECS.items() if s.exact)
HEURISTICS = sorted(n for n, s in SPECS.items() if not s.exact)
PROVEN = [*EXACT, DEFAULT_SOLVER]
"""Solvers expected to reach the optimum of the small instances: the exact ones and the default
heuristic (the others may stop short or find nothing)."""


def handles(name: str, problem: Any) -> bool:
    """Whether solver ``name`` supports this variant of ``problem``."""
    spec = SPECS[name]
    return spec.supports is None or spec.supports(problem) is None


def handling(problem: Any, names: list[str] = ALL) -> list[str]:
    """The solvers among ``names`` that support ``problem``'s variant."""
    return [n for n in names if handles(n, problem)]
