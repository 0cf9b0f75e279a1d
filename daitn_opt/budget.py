"""Keeping a solver's time limit and memory through the phases it cannot interrupt.

A time limit covers the whole call: warm start, model build, translation (Pyomo), solve and
extraction. Model builds that loop in Python look at the clock through :class:`Clock` and stop
with :class:`~daitn_opt.exact.OutOfTime` (the skeleton's, re-exported here); the solver then
returns its warm start with its bound and says why.
Before building a model whose size is known in advance, :func:`memory_refusal` compares an
estimate of its size with the memory the machine has free, so that a model that cannot fit is
refused with a message instead of driving the machine into swap. Shared by the exact solvers
of every kind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator

from .exact import OutOfTime

PYOMO_BYTES_PER_TERM = 1200.0
"""Approximate resident bytes of one linear term (variable x coefficient in a row) of a Pyomo
model including its translation into the solver (measured: about 1.2 GB for the 1.1 million
terms of a 230,000-arc QIRCE model)."""
PYOMO_BYTES_PER_VAR = 1500.0
"""Approximate resident bytes of one Pyomo variable with its solver-side column."""
PYOMO_SECONDS_PER_TERM = 2e-5
"""Approximate seconds Pyomo needs per linear term to build and translate a model (2-core
machine, unloaded); used only to refuse a model that cannot be built in the time left."""
CPSAT_SECONDS_PER_TERM = 1e-5
"""Approximate seconds the Python CP-SAT API needs per Boolean variable or linear term while a
model is built (2-core machine, unloaded); a model whose estimate exceeds the time left is not
started."""
MEMORY_SHARE = 0.5
"""Share of the currently available memory a model may take."""


class Clock:
    """Deadline of one phase (``time.perf_counter()`` seconds); :meth:`check` raises past it."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    @classmethod
    def after(cls, seconds: float) -> Clock:
        """A clock whose deadline is ``seconds`` from now."""
        return cls(time.perf_counter() + seconds)

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def check(self) -> None:
        if time.perf_counter() > self.deadline:
            raise OutOfTime("phase deadline passed")


def available_memory() -> float | None:
    """Bytes of physical memory available now (None when the platform does not say)."""
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES")) * float(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def pyomo_refusal(terms: int, variables: int, seconds_left: float) -> str | None:
    """Why a Pyomo model of ``terms`` linear terms and ``variables`` variables should not be
    built (None: build it): it would not fit in memory, or could not be built in time."""
    need = terms * PYOMO_BYTES_PER_TERM + variables * PYOMO_BYTES_PER_VAR
    free = available_memory()
    if free is not None and need > MEMORY_SHARE * free:
        return (
            f"the Pyomo model ({terms:,} terms) needs about {need / 1e9:.1f} GB, more than half "
            f"of the {free / 1e9:.1f} GB available"
        )
    return build_refusal("Pyomo", terms, PYOMO_SECONDS_PER_TERM, seconds_left)


@contextlib.contextmanager
def quiet_pyomo() -> Iterator[None]:
    """Silence Pyomo's logger for the block: a build stopped by :class:`OutOfTime` would
    otherwise log the interrupted rule as an error (library code never prints)."""
    logger = logging.getLogger("pyomo")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def build_refusal(
    kind: str, terms: int, seconds_per_term: float, seconds_left: float
) -> str | None:
    """Why a model of ``terms`` variables and terms should not be built in the ``seconds_left``
    (None: build it)."""
    seconds = terms * seconds_per_term
    if seconds > seconds_left:
        return (
            f"building the {kind} model ({terms:,} terms) takes about {seconds:.1f} s, more than "
            f"the {max(0.0, seconds_left):.1f} s left"
        )
    return None
