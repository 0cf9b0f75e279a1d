"""The MTRCE problem: which eligible data nodes a model visits, and in what order.

Given a start node ``s``, an end node ``e`` (``s == e`` allowed), travel times ``t[i, j]``
(possibly asymmetric), a service (training) time ``d[i]`` and a utility ``u[i]`` per node,
optional windows ``[a[i], b[i]]`` on the start of service, a deadline ``T``, an optional budget on
``visit_cost + travel_cost``, optional mandatory nodes and ``k`` routes (model replicas):

- every route leaves ``s`` at time 0, visits distinct nodes (no node on two routes), and ends at
  ``e``; service at a node starts at ``max(arrival, a[i])`` and must not start after ``b[i]``;
- each route must reach ``e`` and finish its verification by ``T``:
  ``arrival(e) + max(0, a[e] - arrival(e)) + d[e] + verify_time <= T`` (service at ``e`` and at
  ``s`` counts when they are data nodes; usually it is 0);
- ``objective == "max_utility"``: maximise the utility of the nodes visited (``s`` and ``e``
  included, each once);
- ``objective == "min_time"``: every node is mandatory (the TSP family); minimise the summed
  completion times of the routes (for one route without windows or service times, the tour length).
- outcome-aligned objectives (:mod:`daitn_opt.mtrce.coverage`, one route): ``"max_coverage"``
  (concave per-label coverage of the quality- and age-discounted label mass gathered),
  ``"max_recency_coverage"`` (the same with the mass of the p-th node from the end discounted by
  ``recency ** p``) and ``"min_time_to_target"`` (earliest completion with coverage >= ``target``);
- ``"min_expected_time_to_target"`` (:mod:`daitn_opt.mtrce.anytime`, one route): the expected
  time at which a replay's accuracy first reaches ``target_accuracy``, censored at the deadline,
  under the fitted outcome model written by
  :meth:`~daitn_opt.mtrce.calibration.OutcomeModel.apply` (``node_decay``, ``node_effect``,
  ``accuracy_intercept``, ``accuracy_slope``, ``checkpoint_sd``, ``shared_sd``, and the terms
  that are off by default: the warm-up ``node_steps`` / ``warm_scale``, the label skew ``skew`` /
  ``skew_prior``, the persistent checkpoint error ``persistent`` / ``phi``).

Special cases: TSP (``min_time``, ``s == e``, k = 1), orienteering (OP: ``max_utility``, no
windows, k = 1), OPTW (with windows), team orienteering (TOP: k > 1). The mathematics of every
formulation is in ``formulations/mtrce.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np

from ..drrt.instance import Instance
from ..drrt.requests import OutcomeModelSpec, RouteObjective, TrainingRequest
from ..drrt.view import View, view

if TYPE_CHECKING:
    from .tag import TagProblem

Objective = RouteObjective
EXPECTED_TIME = "min_expected_time_to_target"
"""The expected time to a target accuracy under a fitted outcome model (:mod:`.anytime`)."""
OBJECTIVES = (
    "max_utility",
    "min_time",
    "max_coverage",
    "max_recency_coverage",
    "min_time_to_target",
    EXPECTED_TIME,
)
COVERAGE_OBJECTIVES = ("max_coverage", "max_recency_coverage", "min_time_to_target", EXPECTED_TIME)
"""Objectives that read ``label_mass`` and ``coverage_scale`` (see :mod:`.coverage`)."""


def solvers_of(objective: str) -> str:
    """The registered MTRCE solvers that model ``objective``, for a refusal's message."""
    if objective == EXPECTED_TIME:
        return "anytime-ils or anytime-bnb"
    if objective in COVERAGE_OBJECTIVES:
        return "coverage-highs, coverage-cpsat, coverage-greedy or coverage-ils"
    return "highs, cpsat or ils"


MODEL_FIELDS = ("node_decay", "accuracy_intercept", "accuracy_slope", "target_accuracy")
"""Fields :data:`EXPECTED_TIME` cannot do without (written by ``OutcomeModel.apply``)."""
NODE_ROWS = (
    "service",
    "utility",
    "window_open",
    "window_close",
    "visit_cost",
    "label_mass",
    "node_decay",
    "node_effect",
    "node_steps",
)
"""Arrays with one row per node: a restriction to a subset of the nodes slices each alike."""
COVERAGE_BREAKS = np.array([0.0, 0.125, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])
"""Default breakpoints, in units of a label's scale, of the piecewise-linear coverage curve."""


_FLOAT_ARRAYS = (
    "travel",
    "service",
    "utility",
    "window_open",
    "window_close",
    "visit_cost",
    "travel_cost",
)
"""Array fields given as numpy arrays or as (nested) lists of numbers."""


@dataclass(frozen=True, eq=False)
class Problem:
    """Arrays of one MTRCE instance, indexed ``0..n-1``; ``ids[i]`` names node i.

    Build it with :func:`from_view` or :func:`from_instance`, or directly from your own arrays (a
    simulator that never builds a snapshot can do this; call :meth:`validate` afterwards).
    """

    kind: ClassVar[str] = "mtrce"

    ids: list[str]
    start: int
    end: int
    travel: np.ndarray
    """(n, n) travel time i -> j (inf when impossible)."""
    service: np.ndarray
    """(n,) service (training) time at each node."""
    utility: np.ndarray
    """(n,) utility of visiting each node."""
    window_open: np.ndarray | None = None
    """(n,) earliest service start; None: no windows."""
    window_close: np.ndarray | None = None
    """(n,) latest service start; None: no windows."""
    deadline: float = np.inf
    verify_time: float = 0.0
    budget: float | None = None
    visit_cost: np.ndarray | None = None
    travel_cost: np.ndarray | None = None
    k: int = 1
    mandatory: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    objective: Objective = "max_utility"
    name: str = "mtrce"
    request_id: str | None = None
    label_mass: np.ndarray | None = None
    """(n, L) effective samples per label (count x quality and age discounts), coverage only."""
    coverage_scale: np.ndarray | None = None
    """(L,) saturation scale ``s_l`` of each label's coverage curve (same units as the mass)."""
    label_weight: np.ndarray | None = None
    """(L,) weight of each label's coverage (None: ``1 / L`` each)."""
    coverage_breaks: np.ndarray = field(default_factory=lambda: COVERAGE_BREAKS.copy())
    """(K,) increasing breakpoints from 0, in units of ``s_l``, of the coverage curve."""
    recency: float = 1.0
    """Per-position discount (0, 1] of ``max_recency_coverage``."""
    target: float | None = None
    """Coverage the route must reach under ``min_time_to_target``."""
    node_decay: np.ndarray | None = None
    """(n,) factor in [0, 1] by which training at each node discounts the mass gathered before it
    (``min_expected_time_to_target``; the fitted forgetting)."""
    node_effect: np.ndarray | None = None
    """(n,) accuracy added when a node is the last one trained (None: 0)."""
    accuracy_intercept: float | None = None
    """``a`` of the predicted accuracy ``a + b * coverage``."""
    accuracy_slope: float | None = None
    """``b >= 0`` of the predicted accuracy ``a + b * coverage``."""
    target_accuracy: float | None = None
    """Accuracy in (0, 1] whose expected time ``min_expected_time_to_target`` minimises."""
    checkpoint_sd: float = 0.0
    """Spread of one replay's accuracy that is new at every checkpoint (``sigma_s >= 0``)."""
    shared_sd: float = 0.0
    """Spread shared by every checkpoint of one replay (``sigma_c >= 0``)."""
    quadrature_nodes: int = 9
    """Gauss-Hermite points of the expectation over the shared spread."""
    node_steps: np.ndarray | None = None
    """(n,) optimisation steps of training at each node (the warm-up's clock; None: 0 each)."""
    warm_scale: float = 0.0
    """Warm-up scale in steps: coverage pays ``1 - exp(-S / warm_scale)`` of its worth after ``S``
    steps in all (0: no warm-up, it pays in full)."""
    skew: float = 0.0
    """Accuracy lost per unit of label skew, the total-variation distance of the gathered mass's
    label distribution from ``skew_prior`` (0: no skew term)."""
    skew_prior: np.ndarray | None = None
    """(L,) the label distribution the skew is measured from (needed when ``skew > 0``)."""
    persistent: float = 0.0
    """Share in [0, 1] of the checkpoint spread's variance that persists from one checkpoint to
    the next as a stationary AR(1) (0: a fresh draw at every checkpoint)."""
    phi: float = 0.0
    """AR(1) coefficient in [0, 1] of the persistent part."""
    persistent_states: int = 15
    """Rouwenhorst states of the persistent part's discrete AR(1)."""

    def __post_init__(self) -> None:
        self._coerce()
        self.validate()

    def _coerce(self) -> None:
        """Lists and tuples become numpy arrays (float; ``mandatory`` int); ``ids`` a list."""
        from ..errors import InputError

        if isinstance(self.ids, str) or not hasattr(self.ids, "__len__"):
            raise InputError("ids", self.ids, "expected a list of node id strings")
        if not isinstance(self.ids, list):
            object.__setattr__(self, "ids", list(self.ids))
        for name in _FLOAT_ARRAYS:
            value = getattr(self, name)
            if value is None or (isinstance(value, np.ndarray) and value.dtype == np.float64):
                continue
            try:
                arr = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise InputError(
                    name, value, "expected an array of numbers (a numpy array or a list)"
                ) from None
            object.__setattr__(self, name, arr)
        try:
            mandatory = np.asarray(self.mandatory)
            if mandatory.size == 0:
                mandatory = mandatory.astype(np.int64)
            if mandatory.ndim != 1 or not np.issubdtype(mandatory.dtype, np.integer):
                raise TypeError
        except (TypeError, ValueError):
            raise InputError(
                "mandatory", self.mandatory, "expected a list of node indices"
            ) from None
        object.__setattr__(self, "mandatory", mandatory.astype(np.int64, copy=False))

    # -- properties -------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def size(self) -> int:
        """Nodes of the view (the problem contract's size)."""
        return self.n

    @property
    def sense(self) -> Literal["min", "max"]:
        return (
            "min" if self.objective in ("min_time", "min_time_to_target", EXPECTED_TIME) else "max"
        )

    @property
    def has_windows(self) -> bool:
        return self.window_open is not None

    @property
    def has_budget(self) -> bool:
        return self.budget is not None

    @property
    def customers(self) -> np.ndarray:
        """Indices of the nodes other than start and end."""
        mask = np.ones(self.n, dtype=bool)
        mask[[self.start, self.end]] = False
        return np.flatnonzero(mask)

    @property
    def is_symmetric(self) -> bool:
        return bool(np.array_equal(self.travel, self.travel.T))

    def replace(self, **changes: object) -> Problem:
        """A modified copy (validated)."""
        fields = {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "kind"}
        fields.update(changes)
        return Problem(**fields)

    def restrict(self, keep: Sequence[int]) -> Problem:
        """The problem on a subset of its nodes, every per-node array sliced alike.

        Parameters
        ----------
        keep : sequence of int
            Indices of the nodes to keep, distinct; they must include ``start`` and ``end``. Node
            ``keep[j]`` of this problem becomes node ``j`` of the new one.

        Returns
        -------
        Problem
            A validated copy whose ``ids``, ``travel``, travel costs and per-node arrays
            (:data:`NODE_ROWS`: service, utility, windows, visit costs, ``label_mass``,
            ``node_decay``, ``node_effect``, ``node_steps``) are those of the kept nodes;
            ``start``, ``end`` and ``mandatory`` are renumbered (mandatory nodes left out are
            dropped). Per-label arrays (``coverage_scale``, ``label_weight``, ``skew_prior``) and
            scalars are kept as they are.

        Raises
        ------
        InputError
            ``keep`` names an index out of range or twice, or leaves out the start or the end.

        Notes
        -----
        O(m^2) for m kept nodes (the travel matrices are sliced). The executor uses it to re-plan
        over the nodes not yet visited.

        Examples
        --------
        >>> from daitn_opt.mtrce import Problem
        >>> p = Problem(ids=["s", "a", "b", "e"], start=0, end=3, travel=[[0, 1, 2, 3]] * 4,
        ...             service=[0, 1, 1, 0], utility=[0, 5, 7, 0], mandatory=[2])
        >>> q = p.restrict([0, 2, 3])
        >>> q.ids, q.start, q.end, q.utility.tolist(), q.mandatory.tolist()
        (['s', 'b', 'e'], 0, 2, [0.0, 7.0, 0.0], [1])
        """
        from ..errors import InputError

        idx = np.asarray(keep, dtype=np.int64).reshape(-1)
        if len(idx) and (idx.min() < 0 or idx.max() >= self.n):
            raise InputError("keep", list(keep), f"node indices must be in 0..{self.n - 1}")
        if len(set(idx.tolist())) != len(idx):
            raise InputError("keep", list(keep), "a node index appears twice")
        pos = {int(i): j for j, i in enumerate(idx)}
        for name in ("start", "end"):
            if int(getattr(self, name)) not in pos:
                raise InputError("keep", list(keep), f"must include the {name} node")
        square = np.ix_(idx, idx)
        rows = {
            name: None if getattr(self, name) is None else np.asarray(getattr(self, name))[idx]
            for name in NODE_ROWS
        }
        return self.replace(
            ids=[self.ids[i] for i in idx],
            start=pos[int(self.start)],
            end=pos[int(self.end)],
            travel=self.travel[square],
            travel_cost=None if self.travel_cost is None else self.travel_cost[square],
            mandatory=np.asarray([pos[int(m)] for m in self.mandatory if int(m) in pos], np.int64),
            **rows,
        )

    def validate(self) -> None:
        """Raise :class:`~daitn_opt.errors.InputError` on inconsistent arrays (naming the first
        bad field and its value)."""
        from ..errors import InputError

        self._validate_nodes()
        self._validate_arrays()
        self._validate_scalars()
        if self.label_mass is not None or self.objective in COVERAGE_OBJECTIVES:
            self._validate_coverage()
        self._validate_model()
        if self.budget is not None and (self.visit_cost is None or self.travel_cost is None):
            raise InputError("budget", self.budget, "needs visit_cost and travel_cost")
        n = len(self.ids)
        if len(self.mandatory) and (self.mandatory.min() < 0 or self.mandatory.max() >= n):
            raise InputError("mandatory", self.mandatory.tolist(), "indices out of range")

    def _validate_nodes(self) -> None:
        """Ids: non-empty, distinct strings; start, end and k: integers, start and end in range."""
        from ..errors import InputError

        n = len(self.ids)
        if n < 1:
            raise InputError("ids", self.ids, "the problem has no nodes")
        bad = next((v for v in self.ids if not isinstance(v, str) or not v), None)
        if bad is not None or any(not isinstance(v, str) or not v for v in self.ids):
            raise InputError("ids", bad, "every node id must be a non-empty string")
        if len(set(self.ids)) != n:
            seen: set[str] = set()
            dup = next(v for v in self.ids if v in seen or seen.add(v))
            raise InputError("ids", dup, "duplicate node id")
        for name in ("start", "end", "k"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise InputError(name, value, "expected an integer")
        for name in ("start", "end"):
            value = getattr(self, name)
            if not 0 <= value < n:
                raise InputError(name, value, f"must be a node index in 0..{n - 1}")
        if self.k < 1:
            raise InputError("k", self.k, "must be at least 1")

    def _validate_arrays(self) -> None:
        """Shapes of the per-node arrays, and their values (no NaN, no negative time or cost)."""
        from ..errors import InputError

        n = len(self.ids)
        shapes = {"travel": (n, n), "service": (n,), "utility": (n,)}
        for opt in ("window_open", "window_close", "visit_cost"):
            if getattr(self, opt) is not None:
                shapes[opt] = (n,)
        if self.travel_cost is not None:
            shapes["travel_cost"] = (n, n)
        for name, shape in shapes.items():
            arr = getattr(self, name)
            if np.shape(arr) != shape:
                raise InputError(name, np.shape(arr), f"expected shape {shape}")
        if (self.window_open is None) != (self.window_close is None):
            raise InputError("window_open", None, "window_open and window_close go together")
        for name in ("travel", "travel_cost"):
            arr = getattr(self, name)
            if arr is None:
                continue
            bad_mask = np.isnan(arr) | (arr < 0)
            if bad_mask.any():
                i, j = np.argwhere(bad_mask)[0]
                raise InputError(
                    f"{name}[{i}, {j}]", float(arr[i, j]), "must be a number >= 0 (inf: no arc)"
                )
        for name in ("window_open", "window_close", "visit_cost"):
            arr = getattr(self, name)
            if arr is not None and np.isnan(arr).any():
                i = int(np.flatnonzero(np.isnan(arr))[0])
                raise InputError(f"{name}[{i}]", float(arr[i]), "must be a number, not NaN")
        if self.visit_cost is not None and np.any(self.visit_cost < 0):
            i = int(np.flatnonzero(self.visit_cost < 0)[0])
            raise InputError(f"visit_cost[{i}]", float(self.visit_cost[i]), "must be >= 0")
        if np.any(self.service < 0) or not np.all(np.isfinite(self.service)):
            i = int(np.flatnonzero(~(np.isfinite(self.service) & (self.service >= 0)))[0])
            raise InputError(f"service[{i}]", float(self.service[i]), "must be finite and >= 0")
        if not np.all(np.isfinite(self.utility)):
            i = int(np.flatnonzero(~np.isfinite(self.utility))[0])
            raise InputError(f"utility[{i}]", float(self.utility[i]), "must be finite")

    def _validate_scalars(self) -> None:
        """Deadline, verification time, budget and objective."""
        from ..errors import InputError

        for name in ("deadline", "verify_time", "budget"):
            value = getattr(self, name)
            if value is None and name == "budget":
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise InputError(name, value, "expected a number") from None
            if np.isnan(number):
                raise InputError(name, value, "must be a number, not NaN")
            if name == "verify_time" and not (0 <= number < np.inf):
                raise InputError(name, value, "must be finite and >= 0")
            if name == "budget" and number < 0:
                raise InputError(name, value, "must be >= 0")
        if self.objective not in OBJECTIVES:
            raise InputError("objective", self.objective, f"expected one of {OBJECTIVES}")

    def _validate_coverage(self) -> None:
        from ..errors import InputError

        if self.label_mass is None or self.coverage_scale is None:
            raise InputError(
                "label_mass",
                None,
                f"objective {self.objective} needs label_mass and coverage_scale",
            )
        mass = np.asarray(self.label_mass)
        if mass.ndim != 2 or mass.shape[0] != self.n or mass.shape[1] < 1:
            raise InputError("label_mass", mass.shape, f"expected shape ({self.n}, L), L >= 1")
        if not np.all(np.isfinite(mass)) or np.any(mass < 0):
            raise InputError("label_mass", float(np.nanmin(mass)), "must be finite and >= 0")
        labels = mass.shape[1]
        for name in ("coverage_scale", "label_weight"):
            arr = getattr(self, name)
            if arr is None:
                continue
            if np.shape(arr) != (labels,):
                raise InputError(name, np.shape(arr), f"expected shape ({labels},)")
            low = 0.0 if name == "label_weight" else np.finfo(float).tiny
            if not np.all(np.isfinite(arr)) or np.any(np.asarray(arr) < low):
                raise InputError(name, np.asarray(arr).tolist(), f"must be finite and > {low:g}")
        breaks = np.asarray(self.coverage_breaks, dtype=np.float64)
        if breaks.ndim != 1 or len(breaks) < 2 or breaks[0] != 0 or np.any(np.diff(breaks) <= 0):
            raise InputError("coverage_breaks", breaks.tolist(), "must increase from 0 (>= 2)")
        if not 0 < self.recency <= 1:
            raise InputError("recency", self.recency, "must be in (0, 1]")
        bad_target = self.target is None or not np.isfinite(self.target) or self.target < 0
        if self.objective == "min_time_to_target" and bad_target:
            raise InputError("target", self.target, "min_time_to_target needs a target >= 0")

    def _validate_model(self) -> None:
        """The outcome-model fields, where given (a problem may carry them under any objective;
        a missing one is for the solvers' ``supports`` to name, not an error here)."""
        from ..errors import InputError

        rows = {
            "node_decay": (0.0, 1.0, "in [0, 1]"),
            "node_effect": (-np.inf, np.inf, "finite"),
            "node_steps": (0.0, np.inf, "finite and >= 0"),
        }
        for name, (low, high, want) in rows.items():
            value = getattr(self, name)
            if value is None:
                continue
            try:
                arr = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise InputError(name, value, "expected an array of numbers") from None
            if arr.shape != (self.n,):
                raise InputError(name, arr.shape, f"expected shape ({self.n},)")
            bad = ~(np.isfinite(arr) & (arr >= low) & (arr <= high))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InputError(f"{name}[{i}]", float(arr[i]), f"must be {want}")
            object.__setattr__(self, name, arr)
        limits = {
            "accuracy_intercept": (-np.inf, np.inf, "a finite number"),
            "accuracy_slope": (0.0, np.inf, "a finite number >= 0"),
            "target_accuracy": (0.0, 1.0, "in (0, 1]"),
            "checkpoint_sd": (0.0, np.inf, "a finite number >= 0"),
            "shared_sd": (0.0, np.inf, "a finite number >= 0"),
            "warm_scale": (0.0, np.inf, "a finite number >= 0"),
            "skew": (0.0, np.inf, "a finite number >= 0"),
            "persistent": (0.0, 1.0, "in [0, 1]"),
            "phi": (0.0, 1.0, "in [0, 1]"),
        }
        optional = ("accuracy_intercept", "accuracy_slope", "target_accuracy")
        for name, (low, high, want) in limits.items():
            value = getattr(self, name)
            if value is None and name in optional:
                continue
            ok = isinstance(value, int | float | np.number) and not isinstance(value, bool)
            number = float(value) if ok else math.nan
            ok = ok and math.isfinite(number) and low <= number <= high
            if name == "target_accuracy":
                ok = ok and number > 0
            if not ok:
                raise InputError(name, value, f"must be {want}")
        for name in ("quadrature_nodes", "persistent_states"):
            nodes = getattr(self, name)
            if isinstance(nodes, bool) or not isinstance(nodes, int | np.integer) or nodes < 1:
                raise InputError(name, nodes, "expected a positive integer")
        self._validate_skew_prior()

    def _validate_skew_prior(self) -> None:
        """A distribution over the labels of ``label_mass``; required by a skew term."""
        from ..errors import InputError

        if self.skew_prior is None:
            if self.skew > 0:
                raise InputError("skew_prior", None, f"skew = {self.skew} needs it")
            return
        try:
            prior = np.asarray(self.skew_prior, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(
                "skew_prior", self.skew_prior, "expected an array of numbers"
            ) from None
        labels = None if self.label_mass is None else np.shape(self.label_mass)[-1]
        if prior.ndim != 1 or (labels is not None and prior.shape != (labels,)):
            raise InputError("skew_prior", prior.shape, f"expected shape ({labels or 'L'},)")
        if not np.all(np.isfinite(prior)) or np.any(prior < 0):
            raise InputError("skew_prior", prior.tolist(), "must be finite and >= 0")
        object.__setattr__(self, "skew_prior", prior)


def from_view(v: View, name: str = "mtrce", *, request: TrainingRequest | None = None) -> Problem:
    """The MTRCE problem of a request's view.

    Parameters
    ----------
    v : View
        The request's view (:func:`daitn_opt.drrt.view.view`): the eligible nodes and their
        arrays, the request's start, end, deadline, budget, replicas and objective.
    name : str
        The problem's name (reported in results as the instance).
    request : TrainingRequest, optional
        The request of the view. When it carries an ``outcome_model``, its fields are written
        into the problem (:func:`with_outcome_model`): what ``min_expected_time_to_target``
        reads, and the fitted coverage in place of the priors.

    Returns
    -------
    Problem
        Node ``i`` is ``v.ids[i]``. Windows, budget and costs are set only when the view has
        them; under ``min_time`` every customer is mandatory. The coverage fields
        (``label_mass``, ``coverage_scale``, ``label_weight``, ``recency``, ``target``) are always
        filled (:func:`daitn_opt.mtrce.coverage.coverage_fields`), so that
        ``problem.replace(objective="max_coverage")`` works on any view with label histograms.

    Raises
    ------
    InputError
        The view's arrays are inconsistent (:meth:`Problem.validate`), or the request's outcome
        model has no entry for a node of the view.

    Notes
    -----
    O(n^2): the travel matrix is shared with the view, not copied.

    Examples
    --------
    >>> from daitn_opt.drrt.generators import generate
    >>> from daitn_opt.drrt.view import view
    >>> from daitn_opt.mtrce import from_view
    >>> v = view(generate("rgg", nodes=10, seed=1))
    >>> p = from_view(v, name="demo")
    >>> p.ids == list(v.ids), p.name, p.sense
    (True, 'demo', 'max')
    """
    from .coverage import coverage_fields

    windows = bool(np.any(v.window_open > 0) or np.any(np.isfinite(v.window_close)))
    has_budget = v.budget is not None
    mandatory = v.mandatory
    if v.objective == "min_time":
        mask = np.ones(v.n, dtype=bool)
        mask[[v.start, v.end]] = False
        mandatory = np.flatnonzero(mask)
    problem = Problem(
        ids=list(v.ids),
        start=v.start,
        end=v.end,
        travel=v.transfer,
        service=v.train_time,
        utility=v.utility,
        window_open=v.window_open if windows else None,
        window_close=v.window_close if windows else None,
        deadline=np.inf if v.deadline is None else float(v.deadline),
        verify_time=v.verify_time,
        budget=v.budget,
        visit_cost=v.visit_cost if has_budget else None,
        travel_cost=v.travel_cost if has_budget else None,
        k=v.replicas,
        mandatory=np.asarray(mandatory, dtype=np.int64),
        objective=v.objective,  # type: ignore[arg-type]
        name=name,
        request_id=v.request_id,
        **coverage_fields(v, **_coverage_options(v)),
    )
    model = None if request is None else request.outcome_model
    return problem if model is None else with_outcome_model(problem, model)


def with_outcome_model(problem: Problem, model: OutcomeModelSpec) -> Problem:
    """``problem`` with the fields of a request's outcome model, node rows matched by node id.

    Writes what :meth:`daitn_opt.mtrce.calibration.OutcomeModel.apply` writes under
    ``min_expected_time_to_target``: coverage (``label_mass``, ``coverage_scale``,
    ``label_weight``, ``coverage_breaks``, ``recency`` when given, and ``target``, the coverage
    of the target accuracy clamped to ``[1e-6, coverage of every node]``), ``node_decay``,
    ``node_effect`` (0 for a node without one), the accuracy line, the target accuracy, the
    spread (with its persistent part), the warm-up (``node_steps``, 0 for a node without one when
    there is no warm-up) and the label skew. The objective is left as it is.

    Raises
    ------
    InputError
        ``label_mass`` or ``node_decay`` (or ``node_steps`` under a warm-up) has no entry for a
        node of ``problem`` (the field, the node id).
    """
    from ..errors import InputError
    from .coverage import coverage_value

    needed = ["label_mass", "node_decay"]
    if model.warm_scale > 0:  # a node without steps would never warm the model up
        needed.append("node_steps")
    for name in needed:
        rows = getattr(model, name)
        missing = next((node for node in problem.ids if node not in rows), None)
        if missing is not None:
            raise InputError(
                f"outcome_model.{name}",
                missing,
                f"no entry for this node of request {problem.request_id}'s view",
            )
    mass = np.array([model.label_mass[node] for node in problem.ids], dtype=np.float64)
    labels = len(model.labels)
    scale = np.asarray(model.coverage_scale, dtype=np.float64)
    weight = (
        np.full(labels, 1.0 / labels)
        if model.label_weight is None
        else np.asarray(model.label_weight, dtype=np.float64)
    )
    breaks = (
        COVERAGE_BREAKS.copy()
        if model.coverage_breaks is None
        else np.asarray(model.coverage_breaks, dtype=np.float64)
    )
    best = coverage_value(mass.sum(axis=0), scale, weight, breaks)
    a, b, goal = model.accuracy_intercept, model.accuracy_slope, model.target_accuracy
    reach = (0.0 if a >= goal else math.inf) if b <= 0 else (goal - a) / b
    effect = None
    if model.node_effect:
        effect = np.array([model.node_effect.get(node, 0.0) for node in problem.ids])
    changes: dict[str, object] = {
        "label_mass": mass,
        "coverage_scale": scale,
        "label_weight": weight,
        "coverage_breaks": breaks,
        "target": float(min(max(reach, 1e-6), best)),
        "node_decay": np.array([model.node_decay[node] for node in problem.ids]),
        "node_effect": effect,
        "accuracy_intercept": float(a),
        "accuracy_slope": float(b),
        "target_accuracy": float(goal),
        "checkpoint_sd": float(model.checkpoint_sd),
        "shared_sd": float(model.shared_sd),
        "quadrature_nodes": int(model.quadrature_nodes),
        "node_steps": np.array([float(model.node_steps.get(node, 0.0)) for node in problem.ids]),
        "warm_scale": float(model.warm_scale),
        "skew": float(model.skew),
        "skew_prior": None if model.skew_prior is None else np.asarray(model.skew_prior, float),
        "persistent": float(model.persistent),
        "phi": float(model.phi),
        "persistent_states": int(model.persistent_states),
    }
    if model.recency is not None:
        changes["recency"] = float(model.recency)
    return problem.replace(**changes)


def _coverage_options(v: View) -> dict[str, float]:
    """The request's own recency and coverage target, where it gives them."""
    options: dict[str, float] = {}
    if getattr(v, "recency", None) is not None:
        options["recency"] = float(v.recency)
    if getattr(v, "coverage_target", None) is not None:
        options["target_fraction"] = float(v.coverage_target)
    return options


def from_instance(
    instance: Instance, request_id: str | None = None, *, max_nodes: int | None = None
) -> Problem | TagProblem:
    """The MTRCE problem of one request of ``instance``.

    Parameters
    ----------
    instance : Instance
        A DRRT instance (:func:`daitn_opt.drrt.instance.load_instance`, a generator, a converter).
    request_id : str, optional
        The request (the first one when None).
    max_nodes : int, optional
        Cap on the view's nodes (:func:`daitn_opt.drrt.view.build_view`); needed for snapshots
        too large for an uncapped view.

    Returns
    -------
    Problem or TagProblem
        :func:`from_view` of the request's view, named after the instance, with the request's
        outcome model when it carries one; the TAG problem of it
        (:func:`daitn_opt.mtrce.tag.from_problem`) when the request asks to choose its
        ``local_epochs``.

    Raises
    ------
    InputError
        An unknown request id, or a view the problem cannot be built from.

    Examples
    --------
    >>> from daitn_opt.drrt.generators import generate
    >>> from daitn_opt.mtrce import from_instance
    >>> p = from_instance(generate("rgg", nodes=10, seed=1))
    >>> p.kind, p.request_id, p.objective, p.size
    ('mtrce', 'r1', 'max_utility', 6)
    """
    request = instance.request(request_id)
    v = view(instance, request.id, max_nodes=max_nodes)
    problem = from_view(v, name=instance.name, request=request)
    if request.local_epochs is None:
        return problem
    from .tag import from_problem

    epochs = request.local_epochs
    return from_problem(problem, request.epochs, max_epochs=epochs.max, tau=epochs.tau)
