"""The plug-in module that adds the problem kind ``knapsack-lite``: one call, nothing edited.

Loaded with ``DAITN_OPT_SOLVER_MODULES=tests.plugins.knapsack_kind`` (or an entry point in the
``daitn_opt.problems`` group naming the package): the registry imports this module, the kind is
registered, and its package registers its solvers when the registry loads it.
"""

from daitn_opt.kinds import register_kind

KIND = register_kind("knapsack-lite", "tests.plugins.knapsack_lite")
