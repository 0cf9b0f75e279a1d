"""``knapsack-lite``: a problem kind added from outside daitn_opt, keeping the kind contract.

Choose data nodes to train on: each item (a data node holding the request's kind of data) is worth
its samples and costs its weight; the chosen items' weight stays within the capacity; maximise
the value. The package exposes what :mod:`daitn_opt.kinds` asks of a kind: ``Problem`` (keeping
:class:`~daitn_opt.kinds.ProblemContract`), ``from_instance``, ``check`` (in :mod:`.check`, which
imports no solver), ``make_result``, ``DEFAULT_SOLVER``, and the optional ``examples()`` hook the
conformance test runs every registered solver on. Importing it registers the solvers ``dp``
(exact, on the exact-solver skeleton) and ``greedy`` (heuristic).
"""

from . import solvers  # noqa: F401  (registers the solvers)
from .check import check
from .problem import KIND, Problem, examples, from_instance, make_result

DEFAULT_SOLVER = "greedy"
"""The solver the command line uses for knapsack-lite when none is named."""

__all__ = ["DEFAULT_SOLVER", "KIND", "Problem", "check", "examples", "from_instance", "make_result"]
