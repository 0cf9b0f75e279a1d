"""Network dynamics during a replay: events, the evolving snapshot, and next-hop policies.

One import for the three modules that make them up:

- :mod:`.events`: the events (a node down or up, a link slowed, cut or restored, data added or
  aged) and the :class:`EventTimeline` of an events file;
- :mod:`.state`: :class:`NetworkState`, the snapshot as the events so far have left it;
- :mod:`.policies`: the ``static``, ``replan`` and ``aats`` policies that choose the model's next
  hop (:func:`make_policy`).
"""

from .events import Event, EventTimeline, describe
from .policies import (
    POLICIES,
    AATSPolicy,
    Context,
    Policy,
    ReplanPolicy,
    StaticPolicy,
    make_policy,
    remaining_problem,
    unavailable,
)
from .state import NetworkState

__all__ = [
    "POLICIES",
    "AATSPolicy",
    "Context",
    "Event",
    "EventTimeline",
    "NetworkState",
    "Policy",
    "ReplanPolicy",
    "StaticPolicy",
    "describe",
    "make_policy",
    "remaining_problem",
    "unavailable",
]
