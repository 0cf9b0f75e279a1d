"""The registered MTRCE solvers a test runs, read from the registry (a solver added later is
tested without editing the test)."""

from __future__ import annotations

from typing import Any

from daitn_opt.registry import solvers


def solvers_for(problem: Any, exact: bool | None = None) -> tuple[str, ...]:
    """Registered MTRCE solvers whose ``supports`` check accepts ``problem``, sorted; ``exact``
    True or False keeps only the exact solvers or only the heuristics."""
    specs = solvers("mtrce")["mtrce"]
    return tuple(
        name
        for name, spec in sorted(specs.items())
        if (spec.supports is None or spec.supports(problem) is None)
        and (exact is None or spec.exact == exact)
    )
