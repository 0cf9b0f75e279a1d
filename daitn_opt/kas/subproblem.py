"""A domain's own MTRCE problem: its nodes between an entry and an exit, shifted in time."""

from __future__ import annotations

import numpy as np

from ..mtrce.problem import NODE_ROWS, Problem


def slice_problem(
    problem: Problem, idx: np.ndarray, start: int, end: int, **changes: object
) -> Problem:
    """``problem`` on the nodes ``idx`` (position j is node ``idx[j]``), from ``idx[start]`` to
    ``idx[end]``, without mandatory nodes; ``changes`` replace further fields.

    Unlike :meth:`Problem.restrict`, the start and the end are chosen here, so that a domain's
    problem runs from its entry to its exit rather than from the request's start to its end.
    """
    idx = np.asarray(idx, dtype=np.int64)
    square = np.ix_(idx, idx)
    rows = lambda a: None if a is None else np.asarray(a)[idx]  # noqa: E731
    fields: dict[str, object] = {
        "ids": [problem.ids[i] for i in idx],
        "start": start,
        "end": end,
        "travel": problem.travel[square],
        "travel_cost": None if problem.travel_cost is None else problem.travel_cost[square],
        "mandatory": np.zeros(0, dtype=np.int64),
        **{name: rows(getattr(problem, name)) for name in NODE_ROWS},
    }
    fields.update(changes)
    return problem.replace(**fields)


def leg_problem(
    problem: Problem, leg: tuple[int, np.ndarray, int], t0: float, t1: float, last: bool
) -> Problem | None:
    """The problem of one leg of the stitched route: from ``entry`` (problem index) through the
    domain's ``members`` to ``exit``, starting at time ``t0`` and done by ``t1``.

    The entry is the previous leg's exit (or the request's start): when it is not the request's
    start its service and utility were counted by the previous leg, so they are zero here. Times
    shift by ``t0``, and a member whose window closes before ``t0`` is left out. The last leg
    ends at the request's end and keeps its verification time. None when the leg cannot start
    (``t1 <= t0``).
    """
    entry, members, exit_ = leg
    if t1 <= t0:
        return None
    members = members[(members != entry) & (members != exit_)]
    if problem.window_close is not None:
        members = members[problem.window_close[members] >= t0]
    tail = [] if exit_ == entry else [exit_]  # a round trip ends where it started
    idx = np.concatenate([[entry], members, tail]).astype(np.int64)
    end = len(idx) - 1 if tail else 0
    changes: dict[str, object] = {
        "deadline": t1 - t0,
        "verify_time": problem.verify_time if last else 0.0,
    }
    if problem.window_open is not None and problem.window_close is not None:
        changes["window_open"] = np.maximum(problem.window_open[idx] - t0, 0.0)
        changes["window_close"] = problem.window_close[idx] - t0
    if entry != problem.start:
        service, utility = problem.service[idx].copy(), problem.utility[idx].copy()
        service[0] = utility[0] = 0.0
        changes.update(service=service, utility=utility)
        if "window_open" in changes:
            changes["window_open"][0] = 0.0  # type: ignore[index]
            changes["window_close"][0] = np.inf  # type: ignore[index]
    return slice_problem(problem, idx, 0, end, **changes)
