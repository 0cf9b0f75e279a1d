"""The QIRCE / Q-FAM problem: where to deploy models and how to route query demand to them.

Demands ``d`` (a user's query rate for one model ``m(d)``), facilities ``f`` (MDFPs) and
eligible arcs ``a = (d, f)``: the pairs where the facility can hold the model (memory) and the
latency (network round trip plus the model's service time) meets the demand's SLO. Decisions:
``z[f]`` the facility is open (pays ``open_cost[f]``), ``y[m, f]`` model m is deployed at f
(uses ``model_memory[m]`` of ``facility_memory[f]``), ``x[a]`` the fraction of demand d routed
to f (binary with ``single_source``). Every routed fraction needs its model deployed there; the
load ``sum_a load[a] x[a]`` of a facility stays within ``capacity[f]`` (throughput times the
utilisation cap).

- ``mode="serve_all"`` (QIRCE): every demand is served in full; minimise (``cost_sense="min"``)
  the open costs plus the routing costs ``sum_a cost[a] x[a]`` (latency-weighted:
  ``latency_weight * rate * latency``). With ``cost_sense="max"`` the arc coefficients are
  profits (GAP 1-12) and the objective ``sum_a cost[a] x[a] - sum_f open_cost[f] z[f]`` is
  maximised.
- ``mode="admit"`` (Q-FAM): demand may be refused; maximise the served value ``sum_d value[d]
  rate[d] served[d]`` minus ``cost_weight`` times the serve-all cost. Refused demand is reported
  with the reason.

Special cases: the generalized assignment problem (single source, no open costs, no memory,
arbitrary cost and load matrices) and single-source capacitated facility location (one model,
open costs). The mathematics is in ``formulations/qirce.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from ..arrays import as_array
from ..drrt.instance import Instance
from ..drrt.qrrt import QRRTView, build_qrrt
from ..errors import InputError
from .queueing import arc_work

Mode = Literal["serve_all", "admit"]
Sense = Literal["min", "max"]
Congestion = Literal["none", "md1"]
DEFAULT_LATENCY_WEIGHT = 1e-3
"""Cost units per (query/s x ms) of latency over the hour the facility costs are charged for."""


@dataclass(frozen=True, eq=False)
class Problem:
    """Arrays of one QIRCE instance; arcs are listed sparsely (only eligible pairs).

    Build it with :func:`from_instance` / :func:`from_view` or directly from your own arrays
    (lists are accepted and stored as numpy arrays). It keeps the problem contract
    (:class:`daitn_opt.kinds.ProblemContract`): ``kind`` ``"qirce"``, :attr:`sense` (the
    direction of the reported objective), :attr:`size` (demands), :meth:`replace`,
    :meth:`validate`.

    Raises
    ------
    InputError
        At construction (and in :meth:`replace`), the first field that is inconsistent or
        invalid (:meth:`validate`), named as the user wrote it.

    Notes
    -----
    The mathematics is in ``formulations/qirce.md``. Solvers work on the internal
    minimisation (:meth:`internal_arc_weight`, :meth:`internal_open_weight`) and report
    through :meth:`reported`.

    Example
    -------
    One demand, two facilities (GAP-like: every pair eligible, profits maximised):

    >>> import numpy as np
    >>> from daitn_opt import solve
    >>> from daitn_opt.qirce import Problem, check
    >>> p = Problem(demand_ids=["job"], facility_ids=["a", "b"], model_ids=["m"],
    ...             demand_model=[0], rate=[1.0], value=[1.0], slo_ms=[np.inf],
    ...             model_memory=[0.0], facility_memory=[np.inf, np.inf], capacity=[5.0, 5.0],
    ...             open_cost=[0.0, 0.0], arc_demand=[0, 0], arc_facility=[0, 1],
    ...             arc_cost=[7.0, 9.0], arc_load=[3.0, 4.0], arc_latency=[0.0, 0.0],
    ...             cost_sense="max", single_source=True)
    >>> p.kind, p.sense, p.size
    ('qirce', 'max', 1)
    >>> r = solve(p, "highs", time_limit=5)
    >>> r.status.value, r.objective, r.solution["routes"][0]["facility"]
    ('optimal', 9.0, 'b')
    >>> check(p, r.solution).ok
    True
    >>> p.replace(mode="admit").sense
    'max'
    """

    kind: ClassVar[str] = "qirce"

    demand_ids: list[str]
    facility_ids: list[str]
    model_ids: list[str]
    demand_model: np.ndarray
    """(D,) model index of each demand."""
    rate: np.ndarray
    """(D,) queries per second."""
    value: np.ndarray
    """(D,) value per query/s served (Q-FAM)."""
    slo_ms: np.ndarray
    """(D,) latency objective in ms (inf: none)."""
    model_memory: np.ndarray
    """(M,) GB a deployment uses."""
    facility_memory: np.ndarray
    """(F,) GB; inf when memory does not constrain."""
    capacity: np.ndarray
    """(F,) load a facility may carry (throughput x utilisation cap)."""
    open_cost: np.ndarray
    """(F,) fixed cost of using a facility."""
    arc_demand: np.ndarray
    arc_facility: np.ndarray
    arc_cost: np.ndarray
    """(A,) objective coefficient of routing the whole demand along the arc (a cost when
    ``cost_sense`` is ``"min"``, a profit when ``"max"``)."""
    arc_load: np.ndarray
    """(A,) capacity the whole demand uses at the facility."""
    arc_latency: np.ndarray
    """(A,) round trip plus service time in ms (0 for benchmark matrices)."""
    cost_sense: Sense = "min"
    """Direction of ``arc_cost`` (and the serve-all objective): ``"min"``, costs to minimise
    (latency-weighted routing, facility location); ``"max"``, profits to maximise (a benchmark's
    sense, GAP 1-12). Not the reported direction: that is :attr:`sense`."""
    mode: Mode = "serve_all"
    single_source: bool = False
    cost_weight: float = 0.0
    blocked: dict[int, str] = field(default_factory=dict)
    """Demand index -> why it has no eligible arc (no facility holds the model, SLO, ...)."""
    name: str = "qirce"
    request_id: str | None = None
    service_ms: np.ndarray | None = None
    """(M,) service time of one query of each model in ms (queueing; default 0)."""
    congestion: Congestion = "none"
    """``"md1"``: each facility is a single-server queue with deterministic service; its
    utilisation stays within ``rho_max`` and ``violation_weight`` times the model's expected
    SLO-violating queries per second is added to the cost (``formulations/qirce.md``, section
    Congestion; single-source routing only); ``"none"``: queueing is ignored."""
    violation_weight: float = 10.0
    """Cost per expected SLO-violating query per second (congestion only)."""
    rho_max: float = 0.95
    throughput: np.ndarray | None = None
    """(F,) queries per second a facility serves at full utilisation (default: ``capacity``);
    sets its server count in the congestion model."""
    """Largest utilisation (routed work, server-seconds per second) of a facility (congestion)."""

    def __post_init__(self) -> None:
        # Lists and other array-likes are accepted and stored as numpy arrays (frozen: set once,
        # at construction); values that are not numbers are one InputError naming the field.
        if self.service_ms is None:
            object.__setattr__(self, "service_ms", np.zeros(len(self.model_ids)))
        if self.throughput is None:
            object.__setattr__(self, "throughput", self.capacity)
        for name in _INDEX_FIELDS:
            object.__setattr__(self, name, as_array(name, getattr(self, name), np.int64))
        for name in _FLOAT_FIELDS:
            object.__setattr__(self, name, as_array(name, getattr(self, name), np.float64))
        for name in ("demand_ids", "facility_ids", "model_ids"):
            value = getattr(self, name)
            if isinstance(value, str) or not hasattr(value, "__len__"):
                raise InputError(name, value, "expected a list of strings")
            if not isinstance(value, list):
                object.__setattr__(self, name, list(value))
        self.validate()

    # -- sizes and derived arrays -----------------------------------------------------------
    @property
    def size(self) -> int:
        """Demands (the problem contract's size)."""
        return self.num_demands

    @property
    def num_demands(self) -> int:
        return len(self.demand_ids)

    @property
    def num_facilities(self) -> int:
        return len(self.facility_ids)

    @property
    def num_models(self) -> int:
        return len(self.model_ids)

    @property
    def num_arcs(self) -> int:
        return len(self.arc_demand)

    @property
    def sense(self) -> Sense:
        """Direction of the reported objective (the problem contract): ``"max"`` in admit mode
        (served value), else ``cost_sense``."""
        return "max" if self.mode == "admit" else self.cost_sense

    @property
    def arc_model(self) -> np.ndarray:
        return self.demand_model[self.arc_demand]

    def internal_arc_weight(self) -> np.ndarray:
        """(A,) coefficient of ``x[a]`` in the internal minimisation every solver uses.

        serve_all: ``cost`` (min) or ``-cost`` (max); admit: ``cost_weight`` times that minus
        the served value ``value[d] * rate[d]``.
        """
        signed = self.arc_cost if self.cost_sense == "min" else -self.arc_cost
        if self.mode == "serve_all":
            return signed.astype(np.float64)
        gain = (self.value * self.rate)[self.arc_demand]
        return self.cost_weight * signed - gain

    def internal_open_weight(self) -> np.ndarray:
        """(F,) coefficient of ``z[f]`` in the internal minimisation."""
        return self.open_cost if self.mode == "serve_all" else self.cost_weight * self.open_cost

    def reported(self, internal: float) -> float:
        """The objective in the problem's own units and sense from the internal minimum."""
        # + 0.0 turns -0.0 into 0.0 (a refused-everything objective prints as 0, not -0).
        return float(internal if self.sense == "min" else -internal) + 0.0

    def to_internal(self, objective: float) -> float:
        return float(objective if self.sense == "min" else -objective)

    @property
    def memory_binding(self) -> bool:
        """Whether some facility cannot hold every model its arcs could deploy at once."""
        if self.num_arcs == 0 or not np.any(self.model_memory > 0):
            return False
        pairs = np.unique(self.arc_model * self.num_facilities + self.arc_facility)
        need = np.bincount(
            pairs % self.num_facilities,
            weights=self.model_memory[pairs // self.num_facilities],
            minlength=self.num_facilities,
        )
        return bool(np.any(need > self.facility_memory + 1e-9))

    @property
    def has_open_costs(self) -> bool:
        return bool(np.any(self.internal_open_weight() > 0))

    def replace(self, **changes: object) -> Problem:
        """A modified copy (validated), e.g. ``problem.replace(mode="admit")``."""
        fields = {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "kind"}
        for key in changes:
            if key not in fields:
                why = "derived from cost_sense and mode" if key == "sense" else "not a field"
                raise InputError(key, changes[key], f"cannot be replaced: {why}")
        fields.update(changes)
        return Problem(**fields)

    def validate(self) -> None:
        """Raise :class:`InputError` on inconsistent or invalid arrays (naming the demand)."""
        _check_shapes(self)
        _check_values(self)
        _check_indices(self)
        _check_options(self)

    # -- diagnosis -------------------------------------------------------------------------
    def unservable(self) -> dict[int, str]:
        """Demands that can never be served in full, with the reason.

        The blocked demands (no eligible arc) and those whose rate exceeds what all their
        eligible facilities together (or, single-source, any one of them) can carry.
        """
        out = dict(self.blocked)
        served = np.flatnonzero(self.rate > 0)
        if self.num_arcs:
            cap = self.capacity[self.arc_facility]
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(self.arc_load > 0, cap / self.arc_load, np.inf)
                if self.congestion != "none":
                    # A demand alone must keep its facility's utilisation within rho_max.
                    work = arc_work(self)
                    share = np.minimum(share, np.where(work > 0, self.rho_max / work, np.inf))
            if self.single_source:
                best = np.zeros(self.num_demands)
                np.maximum.at(best, self.arc_demand, share)
            else:
                best = np.bincount(
                    self.arc_demand, weights=np.minimum(share, 2.0), minlength=self.num_demands
                )
        else:
            best = np.zeros(self.num_demands)
        for k in served:
            k = int(k)
            if k not in out and best[k] < 1.0 - 1e-9:
                out[k] = (
                    f"capacity: rate {self.rate[k]:g} q/s exceeds what its eligible facilities "
                    "can carry"
                    + (
                        f" within utilisation {self.rho_max:g} (queueing)"
                        if self.congestion != "none"
                        else ""
                    )
                )
        return out


def _check_shapes(p: Problem) -> None:
    """Array shapes agree with the id lists; ids are unique."""
    d, f, m = len(p.demand_ids), len(p.facility_ids), len(p.model_ids)
    for name, n in (
        ("demand_model", d),
        ("rate", d),
        ("value", d),
        ("slo_ms", d),
        ("model_memory", m),
        ("facility_memory", f),
        ("capacity", f),
        ("open_cost", f),
        ("service_ms", m),
        ("throughput", f),
    ):
        if np.shape(getattr(p, name)) != (n,):
            raise InputError(name, np.shape(getattr(p, name)), f"expected shape ({n},)")
    a = len(p.arc_demand)
    for name in ("arc_facility", "arc_cost", "arc_load", "arc_latency"):
        if np.shape(getattr(p, name)) != (a,):
            raise InputError(name, np.shape(getattr(p, name)), f"expected shape ({a},)")
    for name in ("demand_ids", "facility_ids", "model_ids"):
        ids = getattr(p, name)
        if len(set(ids)) != len(ids):
            seen: set = set()
            dup = next(x for x in ids if x in seen or seen.add(x))
            raise InputError(name, dup, f"duplicate id in {name}")


def _check_values(p: Problem) -> None:
    """Rates, values, capacities, memory, costs, loads and latencies are valid numbers."""
    for name in (
        "rate",
        "value",
        "capacity",
        "open_cost",
        "model_memory",
        "arc_load",
        "service_ms",
        "throughput",
    ):
        arr = np.asarray(getattr(p, name), dtype=np.float64)
        bad = np.flatnonzero(~(arr >= 0) | ~np.isfinite(arr))
        if bad.size:
            k = int(bad[0])
            where = f"{name}[{k}]"
            if name in ("rate", "value"):
                where = f"demand {p.demand_ids[k]!r} {name}"
            raise InputError(where, float(arr[k]), "must be finite and >= 0")
    if np.any(~(p.facility_memory >= 0)):
        k = int(np.flatnonzero(~(p.facility_memory >= 0))[0])
        raise InputError(
            f"facility_memory[{k}]", float(p.facility_memory[k]), "must be >= 0 (inf: none)"
        )
    if np.any(~(p.slo_ms > 0)):
        k = int(np.flatnonzero(~(p.slo_ms > 0))[0])
        raise InputError(f"demand {p.demand_ids[k]!r} slo_ms", float(p.slo_ms[k]), "must be > 0")
    if not np.all(np.isfinite(p.arc_cost)):
        k = int(np.flatnonzero(~np.isfinite(p.arc_cost))[0])
        raise InputError(f"arc_cost[{k}]", float(p.arc_cost[k]), "must be finite")
    bad = np.flatnonzero(~(p.arc_latency >= 0) | np.isinf(p.arc_latency))
    if bad.size:
        k = int(bad[0])
        raise InputError(f"arc_latency[{k}]", float(p.arc_latency[k]), "must be finite and >= 0")


def _check_indices(p: Problem) -> None:
    """Arc, model and blocked-demand indices are in range; no arc is listed twice."""
    d, f, m = len(p.demand_ids), len(p.facility_ids), len(p.model_ids)
    a = len(p.arc_demand)
    if a:
        if p.arc_demand.min() < 0 or p.arc_demand.max() >= d:
            raise InputError("arc_demand", None, f"indices must be in 0..{d - 1}")
        if p.arc_facility.min() < 0 or p.arc_facility.max() >= f:
            raise InputError("arc_facility", None, f"indices must be in 0..{f - 1}")
        if np.unique(p.arc_demand * f + p.arc_facility).size != a:
            raise InputError("arcs", None, "a (demand, facility) pair is listed twice")
    if d and (p.demand_model.min() < 0 or p.demand_model.max() >= max(m, 1)):
        raise InputError("demand_model", None, f"indices must be in 0..{m - 1}")
    for k in p.blocked:
        if not (isinstance(k, int | np.integer) and 0 <= k < d):
            raise InputError("blocked", k, f"keys must be demand indices in 0..{d - 1}")


def _check_options(p: Problem) -> None:
    """Sense, mode, weights and the congestion options are known values."""
    if p.cost_sense not in ("min", "max"):
        raise InputError("cost_sense", p.cost_sense, "expected min or max")
    if p.mode not in ("serve_all", "admit"):
        raise InputError("mode", p.mode, "expected serve_all or admit")
    if not (isinstance(p.cost_weight, int | float) and 0 <= p.cost_weight < np.inf):
        raise InputError("cost_weight", p.cost_weight, "must be a finite number >= 0")
    if p.congestion not in ("none", "md1"):
        raise InputError("congestion", p.congestion, "expected none or md1")
    w, r = p.violation_weight, p.rho_max
    if isinstance(w, bool) or not isinstance(w, int | float) or not 0 <= w < np.inf:
        raise InputError("violation_weight", w, "must be a finite number >= 0")
    if isinstance(r, bool) or not isinstance(r, int | float) or not 0 < r < 1:
        raise InputError("rho_max", r, "must be a number in (0, 1)")
    if p.congestion != "none" and not p.single_source:
        raise InputError("congestion", p.congestion, "requires single_source routing")
    if not isinstance(p.single_source, bool | np.bool_):
        raise InputError("single_source", p.single_source, "expected true or false")


_INDEX_FIELDS = ("demand_model", "arc_demand", "arc_facility")
_FLOAT_FIELDS = (
    "rate",
    "value",
    "slo_ms",
    "model_memory",
    "facility_memory",
    "capacity",
    "open_cost",
    "arc_cost",
    "arc_load",
    "arc_latency",
    "service_ms",
    "throughput",
)


# -- construction ---------------------------------------------------------------------------
def _blocked_reason(v: QRRTView, d: int, fac_ok: np.ndarray, lat: np.ndarray) -> str:
    """Why demand ``d`` has no eligible facility (memory, reachability or SLO)."""
    m = int(v.demand_model[d])
    mem = v.model_memory[m]
    if not v.facilities:
        return "no MDFP is up"
    if not fac_ok.any():
        largest = float(v.facility_memory.max())
        return (
            f"no facility can hold model {v.model_ids[m]!r} "
            f"({mem:g} GB > largest facility {largest:g} GB)"
        )
    reach = lat[fac_ok]
    if not np.isfinite(reach).any():
        return f"no facility that can hold model {v.model_ids[m]!r} is reachable"
    best = float(reach[np.isfinite(reach)].min())
    return f"SLO {v.slo_ms[d]:g} ms is below the lowest possible latency {best:.4g} ms"


def from_view(
    v: QRRTView,
    *,
    mode: Mode = "serve_all",
    single_source: bool | None = None,
    latency_weight: float = DEFAULT_LATENCY_WEIGHT,
    cost_weight: float = 0.0,
    cost_sense: Sense = "min",
    name: str = "qirce",
    congestion: Congestion = "none",
    violation_weight: float = 10.0,
    rho_max: float = 0.95,
) -> Problem:
    """The QIRCE problem of a QRRT view.

    Parameters
    ----------
    v
        The view (:func:`daitn_opt.drrt.qrrt.build_qrrt`).
    mode
        ``"serve_all"`` (QIRCE, default) or ``"admit"`` (Q-FAM).
    single_source
        Route each demand to one facility; default: the placement spec's rule, else False.
    latency_weight
        Cost per (query/s x ms) in the routing cost ``latency_weight * rate * latency``.
    cost_weight
        Admit mode only: weight of the serve-all cost against served value (default 0: admit
        the most value).
    cost_sense
        Direction of explicit placement costs (the benchmark's: ``"max"`` for profits);
        latency costs are always minimised.
    name
        The problem's name (shown in results).
    congestion, violation_weight, rho_max
        ``"md1"``: model each facility's queue (see :class:`Problem`); implies single-source
        routing unless ``single_source`` is given.

    Returns
    -------
    Problem
        Arcs only for the eligible (demand, facility) pairs: with explicit placement matrices
        (a converted benchmark) every pair; otherwise the pairs whose facility can hold the
        model and whose round trip plus service time meets the demand's SLO. A demand without
        any arc is listed in ``blocked`` with the reason.

    Raises
    ------
    InputError
        An option out of range or arrays that do not agree (:meth:`Problem.validate`).

    Notes
    -----
    Linear in the number of (demand, facility) pairs (dense numpy, no Python loop over them).

    Example
    -------
    Three users asking for two models, two MDFPs (a seeded synthetic instance):

    >>> from daitn_opt.drrt.qrrt import build_qrrt
    >>> from daitn_opt.qirce import from_view
    >>> from daitn_opt.qirce.synthetic import synthetic_instance
    >>> v = build_qrrt(synthetic_instance(users=3, models=2, facilities=2, seed=1))
    >>> p = from_view(v, single_source=True)
    >>> p.num_demands, p.num_facilities, p.num_arcs, p.sense, p.blocked
    (4, 2, 8, 'min', {})
    >>> from_view(v, mode="admit").sense  # Q-FAM reports the served value
    'max'
    """
    if single_source is None:
        single_source = bool(v.single_source) or congestion != "none"
    if v.placement_cost is not None:
        arcs = _placement_arcs(v)
    else:
        cost_sense = "min"
        arcs = _latency_arcs(v, latency_weight)
    return Problem(
        demand_ids=list(v.demand_ids),
        facility_ids=list(v.facilities),
        model_ids=list(v.model_ids) or ["model"],
        demand_model=v.demand_model,
        rate=v.rate,
        value=v.value,
        slo_ms=v.slo_ms,
        model_memory=v.model_memory if len(v.model_ids) else np.zeros(1),
        cost_sense=cost_sense,
        mode=mode,
        single_source=single_source,
        cost_weight=cost_weight,
        name=name,
        congestion=congestion,
        violation_weight=violation_weight,
        rho_max=rho_max,
        **arcs,
    )


def _placement_arcs(v: QRRTView) -> dict[str, Any]:
    """Arrays of a view with explicit placement matrices (a benchmark): every pair is an arc,
    no latency, no memory limit, no service time."""
    n_d, n_f = v.num_demands, len(v.facilities)
    dd, ff = np.meshgrid(np.arange(n_d), np.arange(n_f), indexing="ij")
    capacity = np.asarray(v.placement_capacity, dtype=np.float64)
    open_cost = np.zeros(n_f) if v.placement_open_cost is None else v.placement_open_cost
    return {
        "arc_demand": dd.ravel().astype(np.int64),
        "arc_facility": ff.ravel().astype(np.int64),
        "arc_cost": np.asarray(v.placement_cost.T.ravel(), dtype=np.float64),
        "arc_load": np.asarray(v.placement_load.T.ravel(), dtype=np.float64),
        "arc_latency": np.zeros(n_d * n_f),
        "capacity": capacity,
        "open_cost": np.asarray(open_cost, dtype=np.float64),
        "facility_memory": np.full(n_f, np.inf),
        "blocked": {},
        "service_ms": np.zeros(max(1, len(v.model_ids))),
        "throughput": capacity,
    }


def _latency_arcs(v: QRRTView, latency_weight: float) -> dict[str, Any]:
    """Arrays of a network view: arcs where the model fits the facility's memory and the
    round trip plus service time meets the SLO; routing cost ``latency_weight * rate *
    latency``; demands without an arc blocked with the reason."""
    mem_need = v.model_memory[v.demand_model]  # (D,)
    fits = mem_need[:, None] <= v.facility_memory[None, :] + 1e-12  # (D, F)
    lat = v.rtt_ms[v.demand_user] + v.model_service_ms[v.demand_model][:, None]
    ok = fits & np.isfinite(lat) & (lat <= v.slo_ms[:, None] + 1e-9)
    arc_d, arc_f = np.nonzero(ok)
    latency = lat[arc_d, arc_f]
    has_arc = np.zeros(v.num_demands, dtype=bool)
    has_arc[arc_d] = True
    return {
        "arc_demand": arc_d.astype(np.int64),
        "arc_facility": arc_f.astype(np.int64),
        "arc_cost": np.asarray(latency_weight * v.rate[arc_d] * latency, dtype=np.float64),
        "arc_load": np.asarray(v.rate[arc_d], dtype=np.float64),
        "arc_latency": np.asarray(latency, dtype=np.float64),
        "capacity": np.asarray(v.facility_throughput * v.facility_max_util, dtype=np.float64),
        "open_cost": np.asarray(v.facility_cost, dtype=np.float64),
        "facility_memory": v.facility_memory,
        "blocked": {
            int(d): _blocked_reason(v, int(d), fits[d], lat[d]) for d in np.flatnonzero(~has_arc)
        },
        "service_ms": (
            np.asarray(v.model_service_ms, dtype=np.float64) if len(v.model_ids) else np.zeros(1)
        ),
        "throughput": np.asarray(v.facility_throughput, dtype=np.float64),
    }


def from_instance(instance: Instance, request_id: str | None = None) -> Problem:
    """The QIRCE problem of ``instance``.

    Options come from ``instance.metadata["qirce"]`` when present: ``mode`` (serve_all | admit),
    ``single_source`` (bool), ``latency_weight``, ``cost_weight``, ``congestion`` (none | md1),
    ``violation_weight`` (default 10) and ``rho_max`` (default 0.95). A benchmark instance with a
    placement spec keeps the benchmark's sense. ``request_id``, when given, names a model: only
    the demand for that model is placed.

    Raises
    ------
    InputError
        Unknown option or model, or inconsistent placement matrices.
    """
    opts = dict(instance.metadata.get("qirce", {}) or {})
    known = {
        "mode",
        "single_source",
        "latency_weight",
        "cost_weight",
        "congestion",
        "violation_weight",
        "rho_max",
    }
    for key in opts:
        if key not in known:
            raise InputError(f"metadata.qirce.{key}", opts[key], f"unknown; known: {sorted(known)}")
    v = build_qrrt(instance)
    if request_id is not None:
        if request_id not in v.model_ids:
            raise InputError("request", request_id, f"not a model id; known: {v.model_ids}")
        v = _only_model(v, v.model_ids.index(request_id))
    cost_sense = instance.benchmark.sense if instance.benchmark is not None else "min"
    try:
        problem = from_view(
            v,
            mode=opts.get("mode", "serve_all"),
            single_source=opts.get("single_source"),
            latency_weight=float(opts.get("latency_weight", DEFAULT_LATENCY_WEIGHT)),
            cost_weight=float(opts.get("cost_weight", 0.0)),
            cost_sense=cost_sense,
            name=instance.name,
            congestion=opts.get("congestion", "none"),
            violation_weight=float(opts.get("violation_weight", 10.0)),
            rho_max=float(opts.get("rho_max", 0.95)),
        )
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError("metadata.qirce", opts, str(exc)) from None
    if request_id is not None:
        object.__setattr__(problem, "request_id", request_id)
    return problem


def _only_model(v: QRRTView, model: int) -> QRRTView:
    from dataclasses import replace

    keep = np.flatnonzero(v.demand_model == model)
    changes: dict[str, object] = {
        "demand_ids": [v.demand_ids[k] for k in keep],
        "demand_user": v.demand_user[keep],
        "demand_model": v.demand_model[keep],
        "rate": v.rate[keep],
        "slo_ms": v.slo_ms[keep],
        "value": v.value[keep],
    }
    if v.placement_cost is not None:
        changes["placement_cost"] = v.placement_cost[:, keep]
        changes["placement_load"] = v.placement_load[:, keep]
    return replace(v, **changes)
