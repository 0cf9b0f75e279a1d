"""MTRCE: the route a model takes through data nodes for sequential learning.

Importing this package registers its solvers with :mod:`daitn_opt.registry`: the exact ``highs``
(:mod:`.milp`), ``pyomo`` (:mod:`.pyomo_model`) and ``cpsat`` (:mod:`.cpsat`); OR-Tools
``routing`` (:mod:`.routing`); the heuristics ``random``, ``nearest``, ``greedy`` and ``ils``
(:mod:`.heuristics`); and the AATS policy ``aats`` (:mod:`.aats`).
"""

from . import aats as aats
from . import coverage_cpsat as coverage_cpsat
from . import coverage_heuristics as coverage_heuristics
from . import coverage_milp as coverage_milp
from . import cpsat as cpsat
from . import heuristics as heuristics
from . import milp as milp
from . import pyomo_model as pyomo_model
from . import routing as routing
from . import tag_milp as tag_milp  # TAG: tag-highs (and, through it, tag-greedy, tag-ils)
from .coverage_check import check as check
from .problem import Problem as Problem
from .problem import from_instance as from_instance
from .problem import from_view as from_view
