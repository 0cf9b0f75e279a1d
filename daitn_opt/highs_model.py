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
