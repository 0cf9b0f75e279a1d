"""QIRCE / Q-FAM: inference placement and query routing under latency objectives.

``Problem`` holds the arrays, ``from_instance`` builds it from an instance file (its QRRT view),
``check`` verifies a solution independently; importing this package registers the solvers
``highs``, ``cpsat``, ``pyomo`` (exact) and ``nearest``, ``greedy``, ``ls`` (heuristics).
"""

from . import cpsat as cpsat
from . import heuristics as heuristics
from . import highs as highs
from . import pyomo_model as pyomo_model
from .check import check as check
from .problem import Problem as Problem
from .problem import from_instance as from_instance
from .problem import from_view as from_view

__all__ = ["Problem", "check", "from_instance", "from_view"]
