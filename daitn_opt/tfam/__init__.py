"""T-FAM: training feasibility of one request and admission of a batch.

``Problem`` holds an admission batch as arrays (:mod:`.problem`); ``from_instance`` builds it from
an instance file (an explicit admission section, or candidate plans generated from the snapshot);
``check`` is the independent checker and ``make_result`` the Result of an admission. Importing
this package registers the solvers ``highs``, ``cpsat``, ``pyomo`` (exact, in the skeleton of
:mod:`daitn_opt.exact` with :mod:`.support`), ``fcfs``, ``greedy`` and ``ls`` (heuristics). The
feasibility of one request is :func:`daitn_opt.tfam.feasibility.feasibility`. Mathematics:
``formulations/tfam.md``.
"""

from . import cpsat, heuristics, milp, pyomo_model
from .check import check
from .problem import Problem, build, from_instance, from_spec
from .solution import make_result

DEFAULT_SOLVER = "ls"
"""The solver ``daitn-opt solve`` uses for T-FAM when none is named."""

__all__ = [
    "DEFAULT_SOLVER",
    "Problem",
    "build",
    "check",
    "cpsat",
    "from_instance",
    "from_spec",
    "heuristics",
    "make_result",
    "milp",
    "pyomo_model",
]
