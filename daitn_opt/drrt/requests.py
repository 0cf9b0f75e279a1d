"""Requests: what a model owner asks of the network.

A :class:`TrainingRequest` asks for a model to be trained on eligible data (sequentially along a
route, or federated over a client set) before a deadline and within a budget. Inference demand
lives on user nodes (:class:`~daitn_opt.drrt.snapshot.QueryDemand`); the models it names are
described by :class:`InferenceModel`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .snapshot import Fraction, NonNeg, _Model


class TrainModel(_Model):
    """The model being trained: what moving it and training it costs."""

    name: str = "model"
    size_mb: NonNeg = 1.0
    """Size of the weights in megabytes: what moves between nodes."""
    gflop_per_sample: NonNeg = 0.001
    """GFLOP per sample per epoch (forward + backward)."""


class Target(_Model):
    """What a request must reach: total utility, usable samples, or label coverage."""

    kind: Literal["utility", "samples", "coverage"] = "utility"
    amount: NonNeg
    """Utility or sample count to collect; for coverage, the number of distinct labels."""


class TrainingRequest(_Model):
    """A training request (MTRCE / T-FAM).

    Eligibility thresholds select the data nodes of the request's view; ``start`` defaults to the
    owner and ``end`` to the first MPVU (else the owner). ``objective="min_time"`` with every
    eligible node mandatory is the TSP special case; ``replicas > 1`` is team orienteering.
    """

    id: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    model: TrainModel = Field(default_factory=TrainModel)
    modality: str = Field(min_length=1)
    task: str = Field(min_length=1)
    min_quality: Fraction = 0.0
    max_age_days: NonNeg | None = None
    min_trust: Fraction = 0.0
    epochs: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    deadline: NonNeg | None = None
    """Seconds after the request's arrival by which the model must be back (None: no deadline)."""
    budget: NonNeg | None = None
    """Money the route may spend (compute + transfer), None: unlimited."""
    value: NonNeg = 1.0
    target: Target | None = None
    mode: Literal["sequential", "federated"] = "sequential"
    start: str | None = None
    end: str | None = None
    replicas: Annotated[int, Field(ge=1, le=10_000)] = 1
    mandatory: list[str] = Field(default_factory=list)
    objective: Literal[
        "max_utility", "min_time", "max_coverage", "max_recency_coverage", "min_time_to_target"
    ] = "max_utility"
    """What the route optimises: summed utility, visit-all time, label coverage with diminishing
    returns, recency-weighted coverage, or the earliest completion reaching a coverage target
    (``formulations/mtrce.md``, outcome-aligned objectives)."""
    recency: Annotated[float, Field(gt=0, le=1)] | None = None
    """``max_recency_coverage``: weight ``recency**p`` of the node ``p`` places before the end
    (default :data:`daitn_opt.mtrce.coverage.DEFAULT_RECENCY`)."""
    coverage_target: Annotated[float, Field(gt=0, le=1)] | None = None
    """``min_time_to_target``: the coverage to reach, as a fraction of what all eligible nodes
    together would give (default 0.75)."""
    arrival: NonNeg = 0.0
    """Seconds after the snapshot time at which the request arrives (FCFS order)."""
    must_admit: bool = False


class InferenceModel(_Model):
    """A model served for inference (QIRCE)."""

    id: str = Field(min_length=1)
    memory_gb: NonNeg
    service_ms: NonNeg
    """Service time per query in milliseconds."""
    gflop_per_query: NonNeg = 0.0
