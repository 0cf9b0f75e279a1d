"""Instance files: one JSON document holding a snapshot, its requests, and benchmark metadata.

Every command takes an instance file. Instances converted from classic benchmarks carry a
:class:`TravelSpec` (the benchmark's own distance function or matrix, which replaces shortest paths
over links) and :class:`BenchmarkInfo` (source, objective sense, the published value).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from ..errors import InputError
from ..io import read_json
from .metrics import METRICS, Metric
from .requests import InferenceModel, TrainingRequest
from .snapshot import NODE_KINDS, Count, FieldError, NonNeg, Positive, Real, Snapshot, _Model

FORMAT = "daitn-opt-instance"
RESULT_KEYS = frozenset({"problem", "solver", "status"})
"""Keys that make a document a solver result rather than an instance."""


class TravelSpec(_Model):
    """Travel times given by the benchmark rather than by the network's links.

    ``metric`` names a distance function over node positions (see :mod:`daitn_opt.drrt.metrics`);
    ``EXPLICIT`` gives the full matrix, rows and columns in the order of ``snapshot.nodes``. Travel
    is then direct between every pair (no shortest-path closure), as the benchmark defines it.
    """

    metric: Literal[Metric, "EXPLICIT"]
    matrix: list[list[NonNeg]] | None = None

    @model_validator(mode="after")
    def _matrix_iff_explicit(self) -> TravelSpec:
        if (self.metric == "EXPLICIT") != (self.matrix is not None):
            raise ValueError("a matrix is given exactly when metric is EXPLICIT")
        return self


class PlacementSpec(_Model):
    """Explicit placement matrices (QIRCE) for benchmarks whose costs and loads are arbitrary.

    The generalized assignment problem (OR-Library GAP) and capacitated facility location give
    a cost and a resource use per (facility, demand) pair that no network latency produces. Rows
    follow the MDFP nodes and columns the user demands (users in snapshot order, each user's
    demands in order); when present these replace latency-derived costs, loads, capacities and
    SLO filtering (every pair is eligible).
    """

    cost: list[list[Real]]
    """(facilities x demands) objective coefficient of serving a demand at a facility, in the
    benchmark's units and sense (``BenchmarkInfo.sense``; profit for GAP 1-12, cost for GAP a-d)."""
    load: list[list[NonNeg]]
    """(facilities x demands) capacity a demand uses at a facility."""
    capacity: list[NonNeg]
    """(facilities,) capacity of each facility in the units of ``load``."""
    open_cost: list[NonNeg] | None = None
    """(facilities,) fixed cost of opening a facility (facility location); None: no fixed cost."""
    single_source: bool = True
    """Each demand goes to exactly one facility (GAP, SSCFLP)."""

    @model_validator(mode="after")
    def _shapes(self) -> PlacementSpec:
        f = len(self.capacity)
        for name in ("cost", "load"):
            rows = getattr(self, name)
            if len(rows) != f or len({len(r) for r in rows}) > 1:
                raise ValueError(f"placement.{name} must have {f} rows of equal length")
        if self.cost and self.load and len(self.cost[0]) != len(self.load[0]):
            raise ValueError("placement.cost and placement.load must have the same shape")
        if self.open_cost is not None and len(self.open_cost) != f:
            raise ValueError(f"placement.open_cost must have {f} entries")
        return self


class BenchmarkInfo(_Model):
    """Where a converted instance comes from and what is known about it."""

    family: str
    """tsplib, op, top, optw, gap, mknap, or a generated family."""
    source: str
    """File and publication it was converted from."""
    sense: Literal["min", "max"]
    objective: str
    """What the objective measures, in the benchmark's units (e.g. "tour length")."""
    best_known: Real | None = None
    proven_optimal: bool = False
    reference: str | None = None


class AdmissionResource(_Model):
    """One capacitated resource of an admission batch (T-FAM).

    Usually a node's concurrent training slots during one time slot (``node`` and ``slot`` set);
    for a converted knapsack, an abstract dimension (both None).
    """

    id: str = Field(min_length=1)
    capacity: NonNeg
    node: str | None = None
    slot: Count | None = None


class AdmissionPlan(_Model):
    """One candidate plan of a request: its value and its use of each resource (sparse)."""

    value: NonNeg
    use: dict[str, NonNeg] = Field(default_factory=dict)
    """Resource id -> amount used (e.g. 1 training slot of node h3 during slot 7)."""
    label: str = ""
    """What the plan is, for people (e.g. the route ``h1>h4>mpvu`` starting at slot 2)."""
    finish: NonNeg | None = None
    """Seconds after the request's arrival at which the plan completes (None: not timed)."""


class AdmissionRequest(_Model):
    """A request competing for admission, with its explicit candidate plans.

    ``id`` may name a training request of the instance or an abstract item (a knapsack item).
    """

    id: str = Field(min_length=1)
    plans: list[AdmissionPlan] = Field(min_length=1)
    must_admit: bool = False
    arrival: NonNeg = 0.0
    """Arrival time (seconds): the order first-come-first-served admits in."""
    deadline: NonNeg | None = None
    """Seconds after arrival by which the request must finish (informational)."""


class AdmissionSpec(_Model):
    """An explicit T-FAM admission batch: resources with capacities and candidate plans per request.

    With it, a multidimensional knapsack (one plan per item, one resource per constraint) or a
    multiple-choice knapsack (several plans per item) is one instance file; see
    ``formulations/tfam.md``.
    """

    resources: list[AdmissionResource]
    requests: list[AdmissionRequest]
    slot_seconds: Positive | None = None
    """Length of one time slot when resources are (node, slot) pairs."""

    @model_validator(mode="after")
    def _consistent(self) -> AdmissionSpec:
        ids: set[str] = set()
        for i, res in enumerate(self.resources):
            if res.id in ids:
                raise ValueError(f"duplicate resource id {res.id!r} at resources[{i}]")
            ids.add(res.id)
        seen: set[str] = set()
        for i, req in enumerate(self.requests):
            if req.id in seen:
                raise ValueError(f"duplicate request id {req.id!r} at requests[{i}]")
            seen.add(req.id)
            for j, plan in enumerate(req.plans):
                for key in plan.use:
                    if key not in ids:
                        raise ValueError(
                            f"requests[{i}].plans[{j}].use names {key!r}, not a resource id"
                        )
        return self


class Instance(_Model):
    """A snapshot plus its requests: the document every command takes."""

    format: Literal["daitn-opt-instance"] = FORMAT
    version: Literal[1] = 1
    name: str = Field(min_length=1)
    description: str = ""
    snapshot: Snapshot
    requests: list[TrainingRequest] = Field(default_factory=list)
    models: list[InferenceModel] = Field(default_factory=list)
    travel: TravelSpec | None = None
    placement: PlacementSpec | None = None
    benchmark: BenchmarkInfo | None = None
    admission: AdmissionSpec | None = None
    """Optional explicit T-FAM admission batch (resources, capacities, candidate plans)."""
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references_known(self) -> Instance:
        ids = set(self.snapshot.ids())
        seen: set[str] = set()
        for i, req in enumerate(self.requests):
            if req.id in seen:
                raise FieldError(f"requests[{i}].id", req.id, "duplicate request id")
            seen.add(req.id)
            for name in ("owner", "start", "end"):
                value = getattr(req, name)
                if value is not None and value not in ids:
                    raise FieldError(f"requests[{i}].{name}", value, "is not a node id")
            for j, node_id in enumerate(req.mandatory):
                if node_id not in ids:
                    raise FieldError(f"requests[{i}].mandatory[{j}]", node_id, "is not a node id")
            model = req.outcome_model
            for name in ("label_mass", "node_decay", "node_effect", "node_steps"):
                unknown = next((k for k in getattr(model, name, {}) if k not in ids), None)
                if unknown is not None:
                    where = f"requests[{i}].outcome_model.{name}"
                    raise FieldError(where, unknown, "is not a node id")
        model_ids = {m.id for m in self.models}
        for k, node in enumerate(self.snapshot.nodes):
            if node.kind != "user":  # only users have demands (getattr on others is slow)
                continue
            for j, demand in enumerate(node.demands):
                if self.models and demand.model not in model_ids:
                    raise FieldError(
                        f"snapshot.nodes[{k}].demands[{j}].model",
                        demand.model,
                        f"not in models {sorted(model_ids)}",
                    )
        if self.admission is not None:
            for i, res in enumerate(self.admission.resources):
                if res.node is not None and res.node not in ids:
                    raise ValueError(
                        f"admission.resources[{i}].node = {res.node!r} is not a node id"
                    )
        if self.travel is not None and self.travel.matrix is not None:
            n = self.snapshot.num_nodes
            rows = self.travel.matrix
            if len(rows) != n or any(len(r) != n for r in rows):
                raise ValueError(f"travel.matrix must be {n} x {n} (one row per node)")
        return self

    def request(self, request_id: str | None = None) -> TrainingRequest:
        """The request with ``request_id``, or the only/first one when None."""
        if not self.requests:
            raise InputError("requests", [], "the instance has no training request")
        if request_id is None:
            return self.requests[0]
        for req in self.requests:
            if req.id == request_id:
                return req
        raise InputError("request", request_id, f"unknown; known: {[r.id for r in self.requests]}")


def parse_instance(data: Any, source: str = "instance") -> Instance:
    """Validate a decoded JSON document as an :class:`Instance`.

    Raises
    ------
    InputError
        With the path of the first invalid field, its value and the reason.
    """
    if not isinstance(data, dict):
        raise InputError(source, type(data).__name__, "expected a JSON object")
    if "snapshot" not in data and data.keys() >= RESULT_KEYS:
        what = f"{data.get('problem')!s:.20}/{data.get('solver')!s:.20}"
        raise InputError(
            "file",
            source,
            f"is a {what} result document (as `solve --json` writes), not an instance file",
        )
    if "snapshot" not in data and "routes" in data:
        raise InputError("file", source, "is a bare solution ({routes: ...}), not an instance file")
    if data.get("format", FORMAT) != FORMAT:
        raise InputError("format", data.get("format"), f"expected {FORMAT!r}")
    try:
        return Instance.model_validate(data)
    except ValidationError as exc:
        raise validation_to_input_error(exc) from None


def validation_to_input_error(exc: ValidationError) -> InputError:
    """Turn pydantic's first error into one :class:`InputError` naming field and value."""
    err = exc.errors(include_url=False)[0]
    loc = _format_loc(err["loc"])
    reason = err["msg"].removeprefix("Value error, ")
    value = err.get("input")
    located = err.get("ctx", {}).get("error")
    if isinstance(located, FieldError):
        sep = "" if not loc or located.field.startswith("[") else "."
        loc, value, reason = loc + sep + located.field, located.value, located.reason
    if err["type"] == "union_tag_invalid":
        value = err.get("ctx", {}).get("tag", value)
        loc = loc + ".kind" if not loc.endswith("kind") else loc
        reason = f"unknown node kind; expected one of {err['ctx']['expected_tags']}"
    if err["type"] == "union_tag_not_found":
        loc, value = loc + ".kind", None
        reason = f"missing; expected one of {', '.join(NODE_KINDS)}"
    if isinstance(value, dict | list):
        value = "{...}" if isinstance(value, dict) else "[...]"
    return InputError(loc or "instance", value, reason)


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in NODE_KINDS and i > 0 and isinstance(loc[i - 1], int):
            continue  # discriminated-union tag inserted by pydantic after the list index
        else:
            out += ("." if out else "") + str(part)
    return out


def load_instance(path: str | Path) -> Instance:
    """Read and validate the instance file at ``path``.

    (pydantic's JSON mode, validating the text without ``json.loads``'s dicts, measured no
    faster and with a higher peak at 100,000 nodes: 2.3 GB vs 2.0 GB.)
    """
    return parse_instance(read_json(path), source=str(path))


def save_instance(instance: Instance, path: str | Path) -> None:
    """Write ``instance`` as JSON (compact arrays, no defaults dropped)."""
    Path(path).write_text(dump_instance(instance), encoding="utf-8")


def dump_instance(instance: Instance) -> str:
    return json.dumps(instance.model_dump(mode="json", exclude_none=True), separators=(",", ":"))


def instance_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the instance format."""
    schema = Instance.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "daitn-opt instance"
    return schema


__all__ = [
    "METRICS",
    "AdmissionPlan",
    "AdmissionRequest",
    "AdmissionResource",
    "AdmissionSpec",
    "BenchmarkInfo",
    "Instance",
    "PlacementSpec",
    "TravelSpec",
    "dump_instance",
    "instance_schema",
    "load_instance",
    "parse_instance",
    "save_instance",
]
