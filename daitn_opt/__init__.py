"""daitn-opt: optimization and research toolkit for DA-ITN (arXiv 2501.05323).

Snapshots go in (:mod:`daitn_opt.drrt`), exact and heuristic solutions come out through one entry
point (:func:`solve`), independent checkers verify them, and the executor replays them as real
PyTorch training on a simulated network clock.
"""

import logging

from .checking import CheckReport
from .drrt import Instance, Snapshot, TrainingRequest, View, load_instance, save_instance, view
from .errors import DaitnError, InputError, UnsupportedError
from .registry import SolveOptions, register, solve, solvers
from .result import Result, Status

logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "0.1.0"

__all__ = [
    "CheckReport",
    "DaitnError",
    "InputError",
    "Instance",
    "Result",
    "Snapshot",
    "SolveOptions",
    "Status",
    "TrainingRequest",
    "UnsupportedError",
    "View",
    "__version__",
    "load_instance",
    "register",
    "save_instance",
    "solve",
    "solvers",
    "view",
]
