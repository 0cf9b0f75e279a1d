"""MTRCE: the route a model takes through data nodes for sequential learning.

Importing this package registers its solvers with :mod:`daitn_opt.registry`.
"""

from .check import check as check
from .problem import Problem as Problem
from .problem import from_instance as from_instance
from .problem import from_view as from_view

# Solver modules register themselves on import (one line per module).
from . import cpsat as cpsat
from . import heuristics as heuristics
from . import routing as routing
from . import aats as aats
from . import milp as milp
from . import pyomo_model as pyomo_model
