"""K-AS hierarchical control: a snapshot split into domains, each with its own control centre.

:func:`partition` draws the domains, :func:`solve_hierarchical` plans one MTRCE request at two
levels (domains, then routes inside them) and checks the stitched route; the method is in
``formulations/kas.md``. Importing the package registers the MTRCE solver ``kas``
(:mod:`.solver`: domains drawn from the travel times), which the mtrce package imports; the
batch command and API are in :mod:`.commands` and :mod:`.batch`.
"""

from typing import Any

from . import solver as solver  # registers the MTRCE solver "kas" (a light import)

__all__ = ["partition", "solve_hierarchical"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the package is imported by the command line (``batch``) and by the
    # mtrce package (the solver's registration), neither of which needs numpy-heavy code yet.
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .control import solve_hierarchical
    from .partition import partition

    # Loading the submodule .partition bound this package's name "partition" to the module:
    # the function takes the name back, as an eager import in this file would have.
    globals().update(partition=partition, solve_hierarchical=solve_hierarchical)
    return globals()[name]
