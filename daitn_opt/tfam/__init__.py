"""T-FAM: training feasibility of one request and admission of a batch.

``Problem`` holds an admission batch as arrays (:mod:`.problem`); ``from_instance`` builds it from
an instance file (an explicit admission section, or candidate plans generated from the snapshot);
``check`` is the independent checker. Importing this package registers the solvers ``highs``,
``cpsat``, ``pyomo``, ``fcfs``, ``greedy`` and ``ls``. The feasibility of one request is
:func:`daitn_opt.tfam.feasibility.feasibility`. Mathematics: ``formulations/tfam.md``.
"""

from . import cpsat, heuristics, milp, pyomo_model
from .check import check
from .problem import Problem, build, from_instance, from_spec

__all__ = [
    "Problem",
    "build",
    "check",
    "cpsat",
    "from_instance",
    "from_spec",
    "heuristics",
    "milp",
    "pyomo_model",
]
