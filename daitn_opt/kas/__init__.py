"""K-AS hierarchical control: a snapshot split into domains, each with its own control centre.

:func:`partition` draws the domains, :func:`solve_hierarchical` plans one MTRCE request at two
levels (domains, then routes inside them) and checks the stitched route; the method is in
``formulations/kas.md``.
"""

from .control import solve_hierarchical
from .partition import partition

__all__ = ["partition", "solve_hierarchical"]
