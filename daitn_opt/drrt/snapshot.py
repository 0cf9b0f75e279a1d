"""The DRRT snapshot (G-KRRM): what every terminal node reports, never raw data.

The global knowledge, resource and reachability map of DA-ITN (arXiv 2501.05323, Sec. III):
typed nodes of five kinds (data, compute, MPVU, user, MDFP), each with its resources, and the links
between them. Models are pydantic v2 classes, so loading validates every field and
:func:`snapshot_schema` publishes the JSON Schema.

Units: time in seconds, data volume in megabytes (MB), bandwidth in megabits per second (Mbit/s),
compute in GFLOP/s, memory in GB, money in an abstract currency unit.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

QUANTITY_MAX = 1e12
"""Largest magnitude accepted for any physical quantity (seconds, GFLOP/s, MB, Mbit/s, money,
coordinates): far beyond any real network, and small enough that sums and products over
thousands of nodes stay finite (1e308 would overflow to inf in the first sum)."""
COUNT_MAX = 10**12
"""Largest accepted count (samples, slots): beyond it conversions to float lose meaning."""

NonNeg = Annotated[float, Field(ge=0, le=QUANTITY_MAX)]
Positive = Annotated[float, Field(gt=0, le=QUANTITY_MAX)]
Real = Annotated[float, Field(ge=-QUANTITY_MAX, le=QUANTITY_MAX)]
Count = Annotated[int, Field(ge=0, le=COUNT_MAX)]
Fraction = Annotated[float, Field(ge=0, le=1)]


class FieldError(ValueError):
    """A validation error that names its field (relative to the model being validated).

    :func:`~daitn_opt.drrt.instance.validation_to_input_error` joins ``field`` to pydantic's
    location, so that the resulting :class:`~daitn_opt.errors.InputError` names the exact place
    (``snapshot.links[3].target``) rather than the model that checked it.
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field} = {value!r}: {reason}")


class _Model(BaseModel):
    # strict: a bool is not a number, "3" is not 3 and 2.5 is not a count.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


class Window(_Model):
    """A time window ``[start, end]`` (seconds on the snapshot's clock) in which a node is available."""

    start: NonNeg
    end: NonNeg

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end < self.start:
            raise FieldError("end", self.end, f"is before start {self.start}")
        return self


class Position(_Model):
    """Planar (x, y) or geographic coordinates, as the source gives them."""

    x: Real
    y: Real


class Compute(_Model):
    """Compute capacity of a node.

    ``overhead_s`` is a fixed time per visit (loading the model, setting up a job) added to every
    training or service time at the node; converted benchmarks put their service times here.
    """

    gflops: Positive = 100.0
    memory_gb: NonNeg = 16.0
    slots: Count = 1
    cost_per_hour: NonNeg = 0.0
    overhead_s: NonNeg = 0.0


class Dataset(_Model):
    """A dataset held by a data node: what it is, how much, how good, how old."""

    modality: str = Field(min_length=1)
    task: str = Field(min_length=1)
    samples: Count
    quality: Fraction = 1.0
    """Fraction of correctly labelled samples (1 = clean)."""
    age_days: NonNeg = 0.0
    labels: dict[str, Count] | None = None
    """Label histogram: label -> sample count; sums to ``samples`` when given."""
    may_leave: bool = False
    """Whether the data may leave the node (by default the model travels, not the data)."""

    @model_validator(mode="after")
    def _histogram_matches(self) -> Dataset:
        if self.labels is not None and sum(self.labels.values()) != self.samples:
            total = sum(self.labels.values())
            raise FieldError("labels", "{...}", f"sums to {total}, not samples={self.samples}")
        return self


class QueryDemand(_Model):
    """A user's query demand for one model, with its latency objective."""

    model: str = Field(min_length=1)
    rate: NonNeg
    """Queries per second."""
    slo_ms: Positive
    """Latency objective: network round trip plus service time, in milliseconds."""
    value: NonNeg = 1.0
    """Value per unit of served demand (Q-FAM maximises served value when not all fits)."""


class Facility(_Model):
    """An MDFP's deployment resources."""

    memory_gb: NonNeg
    throughput: NonNeg
    """Queries per second the facility can serve in total."""
    cost_per_hour: NonNeg = 0.0
    max_utilization: Annotated[float, Field(gt=0, le=1)] = 1.0


class _NodeBase(_Model):
    id: str = Field(min_length=1)
    name: str | None = None
    position: Position | None = None
    up: bool = True
    trust: Fraction = 1.0
    windows: list[Window] = Field(default_factory=list)
    """Availability windows; empty means always available."""
    compute: Compute | None = None


class DataNode(_NodeBase):
    """A node holding data (a hospital, a sensor site); may have local compute for training."""

    kind: Literal["data"] = "data"
    datasets: list[Dataset] = Field(default_factory=list)


class ComputeNode(_NodeBase):
    """A node offering compute only."""

    kind: Literal["compute"] = "compute"


class MPVUNode(_NodeBase):
    """A model performance verification unit: evaluates models on held-out data."""

    kind: Literal["mpvu"] = "mpvu"
    eval_throughput: Positive = 10_000.0
    """Samples per second the MPVU evaluates."""
    eval_samples: Count = 0
    """Size of the held-out test set the MPVU evaluates on."""


class UserNode(_NodeBase):
    """A user (or model owner) with query demand."""

    kind: Literal["user"] = "user"
    demands: list[QueryDemand] = Field(default_factory=list)


class MDFPNode(_NodeBase):
    """A model deployment facility point: hosts models for inference."""

    kind: Literal["mdfp"] = "mdfp"
    facility: Facility


Node = Annotated[
    DataNode | ComputeNode | MPVUNode | UserNode | MDFPNode, Field(discriminator="kind")
]
NODE_KINDS = ("data", "compute", "mpvu", "user", "mdfp")


class Link(_Model):
    """A network link. Undirected unless ``directed``."""

    source: str
    target: str
    latency: NonNeg
    """Seconds."""
    bandwidth: Positive = 1000.0
    """Mbit/s."""
    reliability: Fraction = 1.0
    cost_per_gb: NonNeg = 0.0
    up: bool = True
    directed: bool = False

    @model_validator(mode="after")
    def _no_self_loop(self) -> Link:
        if self.source == self.target:
            raise FieldError("target", self.target, "a link from a node to itself")
        return self


class Snapshot(_Model):
    """A DRRT snapshot: nodes and links at one moment.

    Validation rejects duplicate node ids and links whose endpoints are not nodes. Use
    :meth:`node` for lookup by id and :meth:`replace` for a modified copy.
    """

    version: Literal[1] = 1
    name: str = "snapshot"
    time: NonNeg = 0.0
    nodes: list[Node]
    links: list[Link] = Field(default_factory=list)

    @field_validator("nodes")
    @classmethod
    def _unique_ids(cls, nodes: list[Node]) -> list[Node]:
        seen: set[str] = set()
        for i, node in enumerate(nodes):
            if node.id in seen:
                raise FieldError(f"[{i}].id", node.id, "duplicate node id")
            seen.add(node.id)
        return nodes

    @model_validator(mode="after")
    def _links_known(self) -> Snapshot:
        ids = {n.id for n in self.nodes}
        # Set operations first: a 100,000-node snapshot has 800,000 links, and a Python loop
        # with two lookups per link took seconds of every load. The loop names the first bad one.
        ends = set(map(attrgetter("source"), self.links))
        ends.update(map(attrgetter("target"), self.links))
        if ends <= ids:
            return self
        for i, link in enumerate(self.links):
            for end in ("source", "target"):
                value = getattr(link, end)
                if value not in ids:
                    raise FieldError(f"links[{i}].{end}", value, "is not a node id")
        return self  # pragma: no cover - the set test above found a bad end

    # -- access -----------------------------------------------------------------------------
    @property
    def num_nodes(self) -> int:
        return len(self.nodes)

    @property
    def num_links(self) -> int:
        return len(self.links)

    def ids(self) -> list[str]:
        return [n.id for n in self.nodes]

    def index(self) -> dict[str, int]:
        """Node id -> position in :attr:`nodes`."""
        return {n.id: i for i, n in enumerate(self.nodes)}

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def of_kind(self, kind: str) -> list[Node]:
        return [n for n in self.nodes if n.kind == kind]

    def replace(self, **changes: object) -> Snapshot:
        """A validated copy with the given top-level fields replaced."""
        data = self.model_dump()
        data.update(
            {
                k: [x.model_dump() if isinstance(x, BaseModel) else x for x in v]
                if isinstance(v, list)
                else v
                for k, v in changes.items()
            }
        )
        return Snapshot.model_validate(data)
