"""Requests: what a model owner asks of the network.

A :class:`TrainingRequest` asks for a model to be trained on eligible data (sequentially along a
route, or federated over a client set) before a deadline and within a budget. Inference demand
lives on user nodes (:class:`~daitn_opt.drrt.snapshot.QueryDemand`); the models it names are
described by :class:`InferenceModel`.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .snapshot import FieldError, Fraction, NonNeg, Positive, Real, _Model

EXPECTED_TIME = "min_expected_time_to_target"
"""The objective that needs a request's :class:`OutcomeModelSpec`."""
RouteObjective = Literal[
    "max_utility",
    "min_time",
    "max_coverage",
    "max_recency_coverage",
    "min_time_to_target",
    "min_expected_time_to_target",
]
"""What a sequential request's route optimises (:mod:`daitn_opt.mtrce.problem`)."""


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


class OutcomeModelSpec(_Model):
    """A fitted outcome model of one request: what ``min_expected_time_to_target`` plans on.

    The fields are those :meth:`daitn_opt.mtrce.calibration.OutcomeModel.apply` writes into an
    MTRCE problem (``formulations/mtrce.md``, "Expected time to target"). Per-node values are
    keyed by node id, so that the model survives any reordering or renumbering of the snapshot;
    per-label values follow ``labels``. Every node of the request's view needs an entry in
    ``label_mass`` and ``node_decay`` (checked when the problem is built); other nodes are
    ignored. ``instances/outcome_models.py`` writes one per request from pilot replays.
    """

    labels: list[str] = Field(min_length=1)
    """Label names, the order of every per-label list."""
    label_mass: dict[str, list[NonNeg]]
    """Node id -> effective samples per label (count x quality and age discounts, fitted)."""
    coverage_scale: list[Positive]
    """Saturation scale of each label's coverage curve (same units as the mass)."""
    label_weight: list[NonNeg] | None = None
    """Weight of each label's coverage (None: ``1 / L`` each)."""
    coverage_breaks: list[NonNeg] | None = None
    """Increasing breakpoints from 0, in units of the scale (None: the solvers' default)."""
    node_decay: dict[str, Fraction]
    """Node id -> factor in [0, 1] by which training there discounts the mass gathered before."""
    node_effect: dict[str, Real] = Field(default_factory=dict)
    """Node id -> accuracy added when the node is the last one trained (absent: 0)."""
    accuracy_intercept: Real
    """``a`` of the predicted accuracy ``a + b * coverage (+ effect)``."""
    accuracy_slope: NonNeg
    """``b`` of the predicted accuracy."""
    target_accuracy: Annotated[float, Field(gt=0, le=1)]
    """The accuracy whose expected time is minimised."""
    checkpoint_sd: NonNeg = 0.0
    """Spread of one replay's accuracy new at every checkpoint (``sigma_s``)."""
    shared_sd: NonNeg = 0.0
    """Spread shared by every checkpoint of one replay (``sigma_c``)."""
    quadrature_nodes: Annotated[int, Field(ge=1, le=64)] = 9
    """Gauss-Hermite points of the expectation over the shared spread."""
    persistent: Fraction = 0.0
    """Share of the checkpoint spread's variance that persists to the next checkpoint as a
    stationary AR(1) (0: a fresh draw at every checkpoint)."""
    phi: Fraction = 0.0
    """AR(1) coefficient of the persistent part."""
    persistent_states: Annotated[int, Field(ge=1, le=64)] = 15
    """Rouwenhorst states of the persistent part's discrete AR(1)."""
    node_steps: dict[str, NonNeg] = Field(default_factory=dict)
    """Node id -> optimisation steps of training there (the warm-up's clock; every node of the
    view needs one when ``warm_scale > 0``, else absent: 0)."""
    warm_scale: NonNeg = 0.0
    """Warm-up scale in steps: coverage pays ``1 - exp(-steps / warm_scale)`` of its worth
    (0: no warm-up)."""
    skew: NonNeg = 0.0
    """Accuracy lost per unit of label skew (total-variation distance from ``skew_prior``)."""
    skew_prior: list[NonNeg] | None = None
    """The label distribution the skew is measured from (one value per label; needed when
    ``skew > 0``)."""
    recency: Annotated[float, Field(gt=0, le=1)] | None = None
    """Fitted per-position recency (``max_recency_coverage``), None: the request's."""
    source: str = ""
    """How the model was obtained (pilot seeds, routes, fit figures), for people."""

    @model_validator(mode="after")
    def _shapes(self) -> OutcomeModelSpec:
        labels = len(self.labels)
        if len(set(self.labels)) != labels:
            raise FieldError("labels", self.labels, "a label appears twice")
        for node, row in self.label_mass.items():
            if len(row) != labels:
                raise FieldError(f"label_mass.{node}", len(row), f"expected {labels} values")
        for name in ("coverage_scale", "label_weight", "skew_prior"):
            values = getattr(self, name)
            if values is not None and len(values) != labels:
                raise FieldError(name, len(values), f"expected {labels} values (one per label)")
        breaks = self.coverage_breaks
        if breaks is not None and (
            len(breaks) < 2 or breaks[0] != 0 or any(b <= a for a, b in pairwise(breaks))
        ):
            raise FieldError("coverage_breaks", breaks, "must increase from 0 (two or more)")
        if self.skew > 0 and self.skew_prior is None:
            raise FieldError("skew_prior", None, f"skew = {self.skew} needs the label distribution")
        return self


class LocalEpochs(_Model):
    """TAG: choose the local epochs at each visited node with the route (``tag-*`` solvers).

    The request's ``epochs`` fix the per-epoch time (the view's training time over them); each
    visited customer then trains ``1..max`` epochs with diminishing returns of scale ``tau``
    (``formulations/mtrce.md``, "TAG"). The request's objective is the value of a visit:
    ``max_utility`` or ``max_coverage``.
    """

    max: Annotated[int, Field(ge=1, le=1000)] | None = None
    """Most epochs at one node (None: ``max(5, epochs)``)."""
    tau: Annotated[float, Field(gt=0, le=1000)] = 2.0
    """Epoch scale of the diminishing returns ``f(e) = (1 - e^{-e/tau}) / (1 - e^{-1/tau})``."""


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
    objective: RouteObjective = "max_utility"
    """What the route optimises: summed utility, visit-all time, label coverage with diminishing
    returns, recency-weighted coverage, the earliest completion reaching a coverage target, or
    the expected time to a target accuracy under ``outcome_model`` (``formulations/mtrce.md``,
    outcome-aligned objectives)."""
    outcome_model: OutcomeModelSpec | None = None
    """The fitted outcome model (needed by ``min_expected_time_to_target``; under the other
    objectives its coverage fields replace the priors)."""
    local_epochs: LocalEpochs | None = None
    """TAG: choose the local epochs per node with the route (the problem becomes a TAG one)."""
    recency: Annotated[float, Field(gt=0, le=1)] | None = None
    """``max_recency_coverage``: weight ``recency**p`` of the node ``p`` places before the end
    (default :data:`daitn_opt.mtrce.coverage.DEFAULT_RECENCY`)."""
    coverage_target: Annotated[float, Field(gt=0, le=1)] | None = None
    """``min_time_to_target``: the coverage to reach, as a fraction of what all eligible nodes
    together would give (default 0.75)."""
    arrival: NonNeg = 0.0
    """Seconds after the snapshot time at which the request arrives (FCFS order)."""
    must_admit: bool = False

    @model_validator(mode="after")
    def _model_for_objective(self) -> TrainingRequest:
        if self.objective == EXPECTED_TIME and self.outcome_model is None:
            raise FieldError(
                "outcome_model",
                None,
                f"objective {EXPECTED_TIME} needs a fitted outcome model "
                "(instances/outcome_models.py writes one)",
            )
        if self.local_epochs is not None and self.objective not in ("max_utility", "max_coverage"):
            raise FieldError(
                "local_epochs", "{...}", "TAG extends the objective max_utility or max_coverage"
            )
        return self


class InferenceModel(_Model):
    """A model served for inference (QIRCE)."""

    id: str = Field(min_length=1)
    memory_gb: NonNeg
    service_ms: NonNeg
    """Service time per query in milliseconds."""
    gflop_per_query: NonNeg = 0.0
