"""What every problem's independent checker returns."""

from __future__ import annotations

from dataclasses import dataclass, field


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
