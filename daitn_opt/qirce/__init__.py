"""QIRCE / Q-FAM: inference placement and query routing under latency objectives.

The problem kind ``qirce`` (:mod:`daitn_opt.kinds`): ``Problem`` holds the arrays,
``from_instance`` builds it from an instance file (its QRRT view), ``check`` verifies a solution
independently, ``make_result`` builds a result from arc fractions. Importing this package
registers the solvers ``highs``, ``cpsat``, ``pyomo`` (exact, on the skeleton of
:mod:`daitn_opt.exact`) and ``nearest``, ``greedy``, ``ls`` (heuristics); ``DEFAULT_SOLVER``
is the one the command line uses when none is named.
"""

from . import cpsat as cpsat
from . import heuristics as heuristics
from . import highs as highs
from . import pyomo_model as pyomo_model
from .check import check as check
from .problem import Problem as Problem
from .problem import from_instance as from_instance
from .problem import from_view as from_view
from .solution import make_result as make_result

DEFAULT_SOLVER = "ls"
"""The solver used when none is named: the LP-guided local search."""

__all__ = ["DEFAULT_SOLVER", "Problem", "check", "from_instance", "from_view", "make_result"]
