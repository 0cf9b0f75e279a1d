"""Network events during a replay, and the timeline that orders them.

DA-ITN's premise (arXiv 2501.05323, Sec. II) is that the network changes while a model is in
flight: nodes fail and return, links slow down or are cut, data is added or ages. An
:class:`EventTimeline` lists such changes at simulated times, validated against the snapshot;
:class:`~daitn_opt.executor.state.NetworkState` applies them as the replay's clock passes them.

Events file (JSON): a list of events, or ``{"events": [...]}``, each with ``time`` (simulated
seconds), ``type`` and its fields::

    {"time": 40, "type": "node_down", "node": "h3"}
    {"time": 90, "type": "node_up", "node": "h3"}
    {"time": 10, "type": "link_slowed", "source": "h1", "target": "h2", "factor": 5}
    {"time": 10, "type": "link_cut", "source": "h1", "target": "h2"}
    {"time": 60, "type": "link_restored", "source": "h1", "target": "h2"}
    {"time": 20, "type": "data_added", "node": "h4", "samples": 40}
    {"time": 20, "type": "data_aged", "node": "h4", "days": 365}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ..drrt.snapshot import Count, NonNeg, Positive, Snapshot
from ..errors import InputError


class _Event(BaseModel):
    # Strict like the snapshot: a bool is not a time, "3" is not 3 and 2.5 is not a count.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)
    time: NonNeg


class NodeChange(_Event):
    """A node fails (``node_down``): it trains nothing and forwards nothing until it comes back
    (``node_up``, its links too unless they were cut on their own)."""

    type: Literal["node_down", "node_up"]
    node: str


class LinkChange(_Event):
    """The link(s) joining ``source`` and ``target`` (either direction) go down (``link_cut``)
    or are back to their original state (``link_restored``)."""

    type: Literal["link_cut", "link_restored"]
    source: str
    target: str


class LinkSlowed(_Event):
    """A link's latency is multiplied and its bandwidth divided by ``factor``."""

    type: Literal["link_slowed"]
    source: str
    target: str
    factor: Positive


class DataAdded(_Event):
    """A data node receives ``samples`` new samples (same label mix and quality)."""

    type: Literal["data_added"]
    node: str
    samples: Count


class DataAged(_Event):
    """A data node's datasets age by ``days``: they may fall out of the request's age limit."""

    type: Literal["data_aged"]
    node: str
    days: NonNeg


Event = Annotated[
    NodeChange | LinkChange | LinkSlowed | DataAdded | DataAged,
    Field(discriminator="type"),
]
_EVENTS = TypeAdapter(list[Event])


def describe(event: Any) -> str:
    """One line for the trace: type, node or link, and the change.

    Examples
    --------
    >>> describe(LinkSlowed(time=10, type="link_slowed", source="h1", target="h2", factor=5))
    'link_slowed h1-h2 x5'
    """
    if hasattr(event, "node"):
        extra = (
            f" +{event.samples} samples"
            if event.type == "data_added"
            else f" +{event.days:g} days"
            if event.type == "data_aged"
            else ""
        )
        return f"{event.type} {event.node}{extra}"
    extra = f" x{event.factor:g}" if event.type == "link_slowed" else ""
    return f"{event.type} {event.source}-{event.target}{extra}"


@dataclass(frozen=True)
class EventTimeline:
    """Events sorted by time (stable: same-time events keep their file order).

    Build it with :meth:`parse` (a decoded events document) or :meth:`load` (a file); the
    replays apply it through :class:`~daitn_opt.executor.state.NetworkState`.

    Attributes
    ----------
    events
        The validated events (:class:`NodeChange`, :class:`LinkChange`, :class:`LinkSlowed`,
        :class:`DataAdded`, :class:`DataAged`), by time.

    Examples
    --------
    >>> from daitn_opt.drrt.instance import load_instance
    >>> snap = load_instance("instances/healthcare-small.json").snapshot
    >>> timeline = EventTimeline.parse([
    ...     {"time": 40, "type": "node_down", "node": "h02"},
    ...     {"time": 10, "type": "link_slowed", "source": "h02", "target": "h07", "factor": 5},
    ... ], snap)
    >>> [describe(ev) for ev in timeline.events]
    ['link_slowed h02-h07 x5', 'node_down h02']
    >>> EventTimeline.parse([{"time": 1, "type": "node_down", "node": "nowhere"}], snap)
    Traceback (most recent call last):
    ...
    daitn_opt.errors.InputError: events[0].node = 'nowhere': is not a node id of the snapshot
    """

    events: tuple[Any, ...] = ()

    @classmethod
    def parse(cls, data: Any, snapshot: Snapshot, source: str = "events") -> EventTimeline:
        """Validate a decoded events document against ``snapshot``.

        Parameters
        ----------
        data
            A list of events or ``{"events": [...]}`` (the events file format of the module
            docstring).
        snapshot
            Nodes and links the events must name.
        source
            Prefix of the field an error names (a file name for :meth:`load`).

        Returns
        -------
        EventTimeline
            The events sorted by time.

        Raises
        ------
        InputError
            A malformed event (``events[k].field``: strict types, as in the snapshot), or a
            node or link the snapshot does not have, or a data event at a node holding no data.
        """
        if isinstance(data, dict):
            if "events" not in data:
                raise InputError(source, "{...}", 'expected a list of events or {"events": [...]}')
            data = data["events"]
        try:
            events = _EVENTS.validate_python(data)
        except ValidationError as exc:
            raise _event_error(exc, source) from None
        ids = set(snapshot.ids())
        pairs = {(lk.source, lk.target) for lk in snapshot.links}
        for k, ev in enumerate(events):
            if hasattr(ev, "node"):
                if ev.node not in ids:
                    raise InputError(
                        f"{source}[{k}].node", ev.node, "is not a node id of the snapshot"
                    )
                if ev.type in ("data_added", "data_aged") and snapshot.node(ev.node).kind != "data":
                    raise InputError(f"{source}[{k}].node", ev.node, "is not a data node")
            else:
                for end in ("source", "target"):
                    if getattr(ev, end) not in ids:
                        raise InputError(
                            f"{source}[{k}].{end}",
                            getattr(ev, end),
                            "is not a node id of the snapshot",
                        )
                if (ev.source, ev.target) not in pairs and (ev.target, ev.source) not in pairs:
                    raise InputError(
                        f"{source}[{k}]",
                        f"{ev.source}-{ev.target}",
                        "no link joins these nodes in the snapshot",
                    )
        order = sorted(range(len(events)), key=lambda k: events[k].time)
        return cls(tuple(events[k] for k in order))

    @classmethod
    def load(cls, path: str | Path, snapshot: Snapshot) -> EventTimeline:
        """:meth:`parse` the JSON events file at ``path`` (errors name the file)."""
        from ..io import read_json

        return cls.parse(read_json(path), snapshot, source=str(path))

    def __len__(self) -> int:
        return len(self.events)


_TYPES = {
    "node_down",
    "node_up",
    "link_slowed",
    "link_cut",
    "link_restored",
    "data_added",
    "data_aged",
}


def _event_error(exc: ValidationError, source: str) -> InputError:
    """One :class:`InputError` naming ``events[k].field`` (pydantic's union tag left out)."""
    err = exc.errors(include_url=False)[0]
    where = source
    for part in err["loc"]:
        if isinstance(part, int):
            where += f"[{part}]"
        elif part not in _TYPES:
            where += f".{part}"
    value = err.get("input")
    reason = err["msg"]
    if err["type"] == "union_tag_invalid":
        value = err.get("ctx", {}).get("tag", value)
        where += ".type"
        reason = f"unknown event type; expected one of {sorted(_TYPES)}"
    elif err["type"] == "union_tag_not_found":
        where += ".type"
        reason = f"missing; expected one of {sorted(_TYPES)}"
    if isinstance(value, dict | list):
        value = "{...}" if isinstance(value, dict) else "[...]"
    return InputError(where, value, reason)
