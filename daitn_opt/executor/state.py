"""The snapshot as a replay's events have left it.

:class:`NetworkState` applies the events of an :class:`~daitn_opt.executor.events.EventTimeline`
to a copy of the snapshot as the replay's clock passes them, so that every later decision sees
the updated map: a node down (and its links with it), links cut, slowed or restored, data added
to or aged at a data node.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..drrt.snapshot import Snapshot
from .events import EventTimeline


@dataclass
class NetworkState:
    """The snapshot as the events so far have left it.

    Parameters
    ----------
    base
        The snapshot before any event.
    timeline
        The events to apply, by time.
    on_data_added
        Called as ``on_data_added(node, samples)`` for a ``data_added`` event, so that the real
        local data grows with the snapshot; it returns the label histogram of the added samples
        (or None: the reported histogram grows in its current proportions).

    Attributes
    ----------
    version
        Increases with every applied event, so that callers can cache what they derive from the
        snapshot (views, plans).
    applied
        How many events of the timeline have been applied.

    Notes
    -----
    A down node's links are down with it. :meth:`snapshot` validates a modified copy of the
    base (O(size of the snapshot)); the last few are cached.

    Examples
    --------
    >>> from daitn_opt.drrt.instance import load_instance
    >>> from daitn_opt.executor.events import EventTimeline
    >>> snap = load_instance("instances/healthcare-small.json").snapshot
    >>> state = NetworkState(snap, EventTimeline.parse(
    ...     [{"time": 40, "type": "node_down", "node": "h02"}], snap))
    >>> state.advance(30), state.next_event_time(), state.is_up("h02")
    ([], 40.0, True)
    >>> [ev.type for ev in state.advance(40)], state.version, state.is_up("h02")
    (['node_down'], 1, False)
    >>> state.snapshot(40.0).node("h02").up
    False
    """

    base: Snapshot
    timeline: EventTimeline = field(default_factory=EventTimeline)
    on_data_added: Callable[[str, int], dict[str, int] | None] | None = None
    version: int = 0
    applied: int = 0
    _down: set[str] = field(default_factory=set)
    _cut: set[int] = field(default_factory=set)
    _slow: dict[int, float] = field(default_factory=dict)
    _extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    _cache: dict[tuple[int, float], Snapshot] = field(default_factory=dict)

    def pending_before(self, t: float) -> bool:
        """Whether an event is due at or before ``t``."""
        return self.applied < len(self.timeline) and self.timeline.events[self.applied].time <= t

    def advance(self, t: float) -> list[Any]:
        """Apply every event due at or before ``t``; return them."""
        done = []
        while self.pending_before(t):
            ev = self.timeline.events[self.applied]
            self._apply(ev)
            self.applied += 1
            self.version += 1
            done.append(ev)
        return done

    def next_event_time(self) -> float:
        """Time of the next event not applied yet (inf when none is left)."""
        if self.applied < len(self.timeline):
            return float(self.timeline.events[self.applied].time)
        return math.inf

    def is_up(self, node_id: str) -> bool:
        """Whether the node is up in the base snapshot and no applied event took it down."""
        return node_id not in self._down and self.base.node(node_id).up

    def _links_of(self, a: str, b: str) -> list[int]:
        return [k for k, lk in enumerate(self.base.links) if {lk.source, lk.target} == {a, b}]

    def _apply(self, ev: Any) -> None:
        kind = ev.type
        if kind == "node_down":
            self._down.add(ev.node)
        elif kind == "node_up":
            self._down.discard(ev.node)
        elif kind == "link_cut":
            self._cut.update(self._links_of(ev.source, ev.target))
        elif kind == "link_restored":
            for k in self._links_of(ev.source, ev.target):
                self._cut.discard(k)
                self._slow.pop(k, None)
        elif kind == "link_slowed":
            for k in self._links_of(ev.source, ev.target):
                self._slow[k] = self._slow.get(k, 1.0) * ev.factor
        elif kind == "data_added":
            hist = self.on_data_added(ev.node, ev.samples) if self.on_data_added else None
            extra = self._extra.setdefault(ev.node, {"samples": 0, "days": 0.0, "labels": {}})
            extra["samples"] += ev.samples
            for lb, c in (hist or {}).items():
                extra["labels"][lb] = extra["labels"].get(lb, 0) + c
            extra["exact"] = hist is not None
        elif kind == "data_aged":
            extra = self._extra.setdefault(ev.node, {"samples": 0, "days": 0.0, "labels": {}})
            extra["days"] += ev.days

    def snapshot(self, elapsed: float = 0.0) -> Snapshot:
        """The current snapshot, its clock ``elapsed`` seconds after the base snapshot's."""
        key = (self.version, float(elapsed))
        if key in self._cache:
            return self._cache[key]
        if self.version == 0 and elapsed == 0.0:
            return self.base
        data = self.base.model_dump()
        data["time"] = self.base.time + elapsed
        for nd in data["nodes"]:
            if nd["id"] in self._down:
                nd["up"] = False
            extra = self._extra.get(nd["id"])
            if extra and nd.get("datasets"):
                for d in nd["datasets"]:
                    d["age_days"] += extra["days"]
                first = nd["datasets"][0]
                if extra["samples"]:
                    _grow_dataset(first, extra)
        for k, lk in enumerate(data["links"]):
            # A down node forwards nothing: its links are down with it.
            if k in self._cut or lk["source"] in self._down or lk["target"] in self._down:
                lk["up"] = False
            if k in self._slow:
                lk["latency"] *= self._slow[k]
                lk["bandwidth"] /= self._slow[k]
        snap = Snapshot.model_validate(data)
        if len(self._cache) >= 4:  # the clock only moves forward: keep the latest few
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = snap
        return snap


def _grow_dataset(dataset: dict[str, Any], extra: dict[str, Any]) -> None:
    """Add the extra samples to a dumped dataset, keeping its histogram consistent."""
    added = int(extra["samples"])
    dataset["samples"] += added
    labels = dataset.get("labels")
    if not labels:
        return
    if extra.get("exact"):
        for lb, c in extra["labels"].items():
            labels[lb] = labels.get(lb, 0) + int(c)
        return
    # No real data behind it: spread the new samples in the current proportions.
    names = list(labels)
    weights = np.array([labels[n] for n in names], dtype=np.float64)
    share = (
        weights / weights.sum() * added
        if weights.sum()
        else np.full(len(names), added / len(names))
    )
    take = np.floor(share).astype(np.int64)
    take[np.argsort(-(share - take), kind="stable")[: added - int(take.sum())]] += 1
    for n, c in zip(names, take, strict=True):
        labels[n] += int(c)
