"""K-AS hierarchical control: a snapshot split into domains, each with its own control centre.

:func:`partition` draws the domains, :func:`solve_hierarchical` plans one MTRCE request at two
levels (domains, then routes inside them) and checks the stitched route; the method is in
``formulations/kas.md``. Importing the package registers the MTRCE solver ``kas``
(:mod:`.solver`: domains drawn from the travel times), which the mtrce package imports.
"""

from . import solver as solver  # registers the MTRCE solver "kas"
from .control import solve_hierarchical
from .partition import partition

__all__ = ["partition", "solve_hierarchical"]
