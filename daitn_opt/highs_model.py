"""Creating HiGHS (highspy) objects that never write to stdout.

The first ``highspy.Highs()`` of a process prints HiGHS's banner on the C-level stdout, which
would corrupt ``daitn-opt solve --json`` (and library code never prints), so that one
construction runs with file descriptor 1 pointed at devnull. Every MILP module creates its models
through :func:`quiet_highs`.
"""

from __future__ import annotations

import os
import sys
import threading

import highspy

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
