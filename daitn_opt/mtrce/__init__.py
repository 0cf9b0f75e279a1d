"""MTRCE: the route a model takes through data nodes for sequential learning.

The package keeps the problem-kind contract (:mod:`daitn_opt.kinds`): :class:`Problem` (and the
TAG variant :class:`~daitn_opt.mtrce.tag.TagProblem`), :func:`from_instance`, :func:`from_view`,
the independent :func:`check`, :func:`make_result`, :data:`DEFAULT_SOLVER` and
:func:`default_solver`.

Importing this package registers its solvers with :mod:`daitn_opt.registry`: the exact ``highs``
(:mod:`.milp`), ``pyomo`` (:mod:`.pyomo_model`) and ``cpsat`` (:mod:`.cpsat`); OR-Tools
``routing`` (:mod:`.routing`); the heuristics ``random``, ``nearest``, ``greedy`` and ``ils``
(:mod:`.heuristics`); the AATS policy ``aats`` (:mod:`.aats`); the coverage solvers
``coverage-highs``, ``coverage-cpsat``, ``coverage-greedy``, ``coverage-ils``; the expected-time
solvers ``anytime-ils`` and ``anytime-bnb`` (:mod:`.coverage_anytime`) and the TAG solvers
``tag-highs``, ``tag-greedy``, ``tag-ils``.
"""

from typing import Any

from . import aats as aats
from . import coverage_anytime as coverage_anytime  # anytime-ils, anytime-bnb
from . import coverage_cpsat as coverage_cpsat
from . import coverage_heuristics as coverage_heuristics
from . import coverage_milp as coverage_milp
from . import cpsat as cpsat
from . import heuristics as heuristics
from . import lkh as lkh  # LKH-3 through elkai (optional extra 'lkh'; non-commercial licence)
from . import milp as milp
from . import optw_dp as optw_dp  # optw-dp: exact OPTW by DSSR dynamic programming
from . import pyomo_model as pyomo_model
from . import pyvrp_peer as pyvrp_peer  # PyVRP (optional extra 'peers'): TSP and OP peer
from . import routing as routing
from . import tag_milp as tag_milp  # TAG: tag-highs (and, through it, tag-greedy, tag-ils)
from .coverage_check import check as check
from .problem import COVERAGE_OBJECTIVES, EXPECTED_TIME
from .problem import Problem as Problem
from .problem import from_instance as from_instance
from .problem import from_view as from_view
from .solution import make_result as make_result
from .tag import TagProblem

DEFAULT_SOLVER = "ils"
"""The solver the command line uses for a route objective when none is named."""


def default_solver(problem: Any) -> str:
    """The default solver of ``problem``: ``anytime-ils`` for the expected time to target,
    ``coverage-ils`` for the other coverage objectives, ``tag-ils`` for a TAG problem, else
    :data:`DEFAULT_SOLVER`.

    >>> from daitn_opt.mtrce import Problem, default_solver
    >>> p = Problem(ids=["s"], start=0, end=0, travel=[[0]], service=[0], utility=[0])
    >>> default_solver(p)
    'ils'
    """
    if isinstance(problem, TagProblem):
        return "tag-ils"
    if getattr(problem, "objective", None) == EXPECTED_TIME:
        return "anytime-ils"
    if getattr(problem, "objective", None) in COVERAGE_OBJECTIVES:
        return "coverage-ils"
    return DEFAULT_SOLVER


__all__ = [
    "DEFAULT_SOLVER",
    "Problem",
    "check",
    "default_solver",
    "from_instance",
    "from_view",
    "make_result",
]

from .. import kas as _kas  # noqa: E402,F401  K-AS: registers the hierarchical solver 'kas'
