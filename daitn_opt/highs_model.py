"""Creating HiGHS (highspy) objects that never write to stdout.

The first ``highspy.Highs()`` of a process prints HiGHS's banner on the C-level stdout, which
would corrupt ``daitn-opt solve --json`` (and library code never prints), so that one
construction runs with file descriptor 1 pointed at devnull. Every MILP module creates its models
through :func:`quiet_highs`. :func:`run_until` runs a model against a deadline that HiGHS
itself would overrun, and :func:`highs_consistent` detects a misread warm start.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from typing import Any

import highspy
import numpy as np

_lock = threading.Lock()
_banner_done = False
_scheduler_threads: int | None = None
"""Threads HiGHS's process-wide scheduler was last started with by :func:`set_threads` (None:
unknown, e.g. after a HiGHS run through Pyomo)."""


def _construct() -> highspy.Highs:
    global _banner_done
    with _lock:
        if _banner_done:
            return highspy.Highs()
        _banner_done = True
        sys.stdout.flush()
        try:
            saved = os.dup(1)
        except OSError:  # no usable stdout: nothing to protect
            return highspy.Highs()
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                return highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def quiet_highs() -> highspy.Highs:
    """A ``highspy.Highs`` with logging off (set ``output_flag`` to True to see its log)."""
    h = _construct()
    h.setOptionValue("output_flag", False)
    return h


def set_threads(h: highspy.Highs, threads: int) -> None:
    """Give ``h`` ``threads`` MIP workers (one measured fastest on a shared 2-core machine).

    HiGHS keeps one scheduler per process, started by the first run with its thread count; a
    later run asking for another count fails with status "Not Set" (seen after a Pyomo appsi
    solve: every following ``highs`` run returned its incumbent with bound 0). The scheduler is
    restarted (after its workers finish) only when the count changes or is unknown.
    """
    global _scheduler_threads
    with _lock:
        if _scheduler_threads != threads:
            highspy.Highs.resetGlobalScheduler(True)
            _scheduler_threads = threads
    h.setOptionValue("threads", threads)


def reset_scheduler() -> None:
    """Call before HiGHS runs outside :func:`set_threads` (Pyomo's HiGHS interfaces, which set
    their own thread count): the scheduler is restarted for that run, and its thread count is
    then unknown, so the next :func:`set_threads` restarts it again."""
    global _scheduler_threads
    with _lock:
        highspy.Highs.resetGlobalScheduler(True)
        _scheduler_threads = None


_ABANDONED: list[tuple[highspy.Highs, Any]] = []
"""HiGHS runs cancelled at their deadline that had not stopped yet: kept referenced until their
thread ends (a Highs object must outlive its solver thread)."""


def run_until(h: highspy.Highs, deadline: float, grace: float) -> bool:
    """Run ``h`` in its own thread until ``deadline`` (``time.perf_counter()`` seconds).

    HiGHS notices its ``time_limit`` (and a user interrupt) only between iterations, which on a
    large model can be tens of seconds apart, so a limit alone does not keep the call's promise.
    At the deadline the solve is cancelled; if it has not stopped ``grace`` seconds later it is
    left to stop in the background and False is returned: the caller must then not read ``h``
    (use what the improving-solution callback recorded). True: HiGHS finished; read it.
    """
    _ABANDONED[:] = [(x, t) for x, t in _ABANDONED if t.is_alive()]
    h.HandleUserInterrupt = True
    thread = h.startSolve()
    while thread.is_alive() and time.perf_counter() < deadline:
        thread.join(0.05)
    if thread.is_alive():
        h.cancelSolve()
        thread.join(max(0.0, grace))
    if thread.is_alive():
        if not _ABANDONED:
            atexit.register(_join_abandoned)
        _ABANDONED.append((h, thread))
        return False
    return True


def _join_abandoned() -> None:
    """At interpreter exit, wait for cancelled HiGHS runs to stop: destroying HiGHS while its
    threads run aborts the process (std::terminate). The result was returned long before."""
    for _, thread in _ABANDONED:
        thread.join()


def highs_consistent(h: highspy.Highs, cost: np.ndarray) -> bool:
    """Whether HiGHS's reported objective matches its solution's columns (or it has none).

    HiGHS 1.16 has been seen to mis-evaluate a user-supplied start and then prune with that
    value; its status and bound are not to be trusted when the two disagree.
    """
    info = h.getInfo()
    if info.primal_solution_status != 2:
        return True
    value = float(np.dot(cost, np.asarray(h.getSolution().col_value)))
    reported = float(info.objective_function_value)
    return abs(value - reported) <= 1e-6 * max(1.0, abs(value))
