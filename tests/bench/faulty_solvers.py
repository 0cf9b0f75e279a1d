"""Solvers that misbehave on purpose, to test that a sweep survives them.

Loaded into sweep workers through ``DAITN_OPT_SOLVER_MODULES=tests.bench.faulty_solvers``.
"""

import os
import time

from daitn_opt.registry import register


@register("mtrce", "crash", exact=False, description="test only: kills its own process")
def _crash(problem, options):
    os._exit(3)


@register("mtrce", "hang", exact=False, description="test only: ignores its time limit")
def _hang(problem, options):
    while True:
        time.sleep(0.5)
