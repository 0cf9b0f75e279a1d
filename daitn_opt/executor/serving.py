"""Serving replay for QIRCE: Poisson queries routed by a placement, queued at each facility.

QIRCE (DA-ITN, arXiv 2501.05323, Sec. IV) decides where models are deployed and how each user's
query demand is routed, checking only that round trip + service time meets the SLO and that
rates stay within capacity. Queueing is what that promise leaves out; this replay measures it:

- each demand (user, model) sends queries as a Poisson process of its rate; a query goes to a
  facility with the probability the placement routes there (its ``fraction``);
- each facility is a FIFO station with ``c`` parallel servers, shared by the models deployed on
  it; a query occupies a server for its model's ``service_ms``. ``c`` is chosen so that the
  station's capacity equals the facility's throughput (queries/s) at the mean service time of
  the traffic routed there: ``c = max(1, round(throughput * mean_service_s))``;
- a query's latency is the network round trip (from the QRRT view) + waiting + service; it
  violates its SLO when the latency exceeds the demand's ``slo_ms``. Refused (unrouted) demand is
  counted apart.

The placement is a QIRCE solution document (``{"routes": [{"demand", "facility", "fraction"}],
...}``). :func:`nearest_placement` is the naive baseline: every demand to its nearest facility,
blind to capacity and memory.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..drrt.instance import Instance
from ..drrt.qrrt import QRRTView, build_qrrt
from ..errors import InputError
from ..io import json_safe
from ..problems import validate_solution
from ..result import Result


@dataclass
class ModelLatency:
    """Latency figures of one model's queries."""

    model: str
    queries: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    slo_violations: int
    violation_rate: float
    refused_rate: float
    """Queries per second of demand the placement does not serve."""


@dataclass
class ServingOutcome:
    """What the serving replay measured, per model and overall."""

    label: str
    horizon: float
    models: list[ModelLatency]
    queries: int
    violation_rate: float
    p99_ms: float
    facilities: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per facility: servers, offered load (q/s), utilisation."""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))


def routes_of_placement(placement: Any) -> list[dict[str, Any]]:
    """The routing list of a QIRCE solution (document, dict or :class:`Result`).

    Raises
    ------
    InputError
        A result without a solution, or a solution whose shape the QIRCE checker refuses
        (naming the field, e.g. ``solution.routes[0].fraction``).
    """
    if isinstance(placement, Result):
        if not placement.is_feasible():
            raise InputError("solution.status", placement.status.value, "has no placement")
        placement = placement.solution
    if isinstance(placement, dict):
        # The checker's shape first: a route without a demand or with a fraction that is not a
        # number is an InputError naming the field, not a crash inside the replay.
        validate_solution("qirce", placement)
    if not isinstance(placement, dict) or not isinstance(placement.get("routes"), list):
        raise InputError(
            "solution", type(placement).__name__, "expected a QIRCE solution with 'routes'"
        )
    return placement["routes"]


def nearest_placement(q: QRRTView) -> dict[str, Any]:
    """The naive placement: each demand wholly to its lowest-latency reachable facility.

    Blind to capacity and memory: the baseline a QIRCE placement is compared with.

    Examples
    --------
    >>> from daitn_opt.drrt.instance import load_instance
    >>> from daitn_opt.drrt.qrrt import build_qrrt
    >>> placement = nearest_placement(build_qrrt(load_instance("instances/healthcare-small.json")))
    >>> placement["routes"][0], placement["refused"]
    ({'demand': 'u1/triage-mlp', 'facility': 'f1', 'fraction': 1.0}, [])
    """
    routes = []
    refused = []
    for d, demand in enumerate(q.demand_ids):
        rtt = q.rtt_ms[q.demand_user[d]]
        if len(rtt) == 0 or not np.isfinite(rtt).any():
            refused.append({"demand": demand, "fraction": 1.0, "reason": "no reachable facility"})
            continue
        f = int(np.argmin(rtt))
        routes.append({"demand": demand, "facility": q.facilities[f], "fraction": 1.0})
    return {"routes": routes, "refused": refused}


def replay_serving(
    instance: Instance,
    placement: Any,
    *,
    horizon: float = 60.0,
    seed: int = 0,
    label: str = "placement",
) -> ServingOutcome:
    """Replay ``placement`` for ``horizon`` simulated seconds of Poisson queries.

    Parameters
    ----------
    instance
        The instance (users, models, facilities and the network between them).
    placement
        A QIRCE solution (document, dict or :class:`~daitn_opt.result.Result`):
        ``{"routes": [{"demand", "facility", "fraction"}, ...]}``.
    horizon
        Simulated seconds of queries.
    seed
        Seed of the arrival times and of each query's facility.
    label
        The outcome's label.

    Returns
    -------
    ServingOutcome
        Latency percentiles and SLO violations per model and overall, and each facility's
        servers, offered load and utilisation.

    Raises
    ------
    InputError
        A route naming a demand or facility the instance does not have, a negative fraction, or
        fractions of one demand summing above 1; a horizon that is not positive.

    Notes
    -----
    An event simulation of FIFO stations: O(Q log c) for Q queries and c servers a station.

    Examples
    --------
    >>> from daitn_opt.drrt.instance import load_instance
    >>> from daitn_opt.drrt.qrrt import build_qrrt
    >>> inst = load_instance("instances/healthcare-small.json")
    >>> out = replay_serving(inst, nearest_placement(build_qrrt(inst)), horizon=5, seed=0)
    >>> out.queries > 0 and 0 <= out.violation_rate <= 1
    True
    """
    if not horizon > 0:
        raise InputError("horizon", horizon, "must be positive")
    q = build_qrrt(instance)
    share = _shares(q, routes_of_placement(placement))
    rng = np.random.default_rng(seed)
    service_s = q.model_service_ms / 1000.0
    load, servers = _stations(q, share, service_s)
    per_fac = _arrivals(q, share, horizon, rng)
    latencies, facilities = _queue(q, per_fac, servers, service_s, load, horizon)
    models = [_model_latency(q, m, latencies, share) for m in range(len(q.model_ids))]
    total_q = sum(m.queries for m in models)
    total_v = sum(m.slo_violations for m in models)
    everything = np.concatenate([np.asarray(lat) for lat in latencies] or [np.zeros(0)])
    return ServingOutcome(
        label=label,
        horizon=horizon,
        models=models,
        queries=total_q,
        violation_rate=total_v / total_q if total_q else math.nan,
        p99_ms=float(np.percentile(everything, 99)) if everything.size else math.nan,
        facilities=facilities,
        notes=_overloads(q, load),
    )


def _stations(
    q: QRRTView, share: np.ndarray, service_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Offered load (q/s) and servers per facility: the offered load and the mean service time
    of the traffic routed there set the number of servers."""
    load = (q.rate[:, None] * share).sum(axis=0)
    work = (q.rate[:, None] * share * service_s[q.demand_model][:, None]).sum(axis=0)
    servers = np.maximum(
        1,
        np.round(
            q.facility_throughput * np.divide(work, load, out=np.zeros_like(work), where=load > 0)
        ),
    ).astype(np.int64)
    return load, servers


def _overloads(q: QRRTView, load: np.ndarray) -> list[str]:
    """A note per facility offered more than its capacity (its queue grows without bound)."""
    notes = []
    for f, name in enumerate(q.facilities):
        capacity = q.facility_throughput[f] * q.facility_max_util[f]
        if load[f] > capacity + 1e-9:
            notes.append(
                f"{name}: offered {load[f]:.4g} q/s exceeds its capacity "
                f"{capacity:.4g} q/s (the queue grows)"
            )
    return notes


def _shares(q: QRRTView, routes: list[dict[str, Any]]) -> np.ndarray:
    """``share[d, f]``: the fraction of demand ``d`` routed to facility ``f``, checked."""
    d_index = {d: k for k, d in enumerate(q.demand_ids)}
    f_index = {f: k for k, f in enumerate(q.facilities)}
    share = np.zeros((q.num_demands, len(q.facilities)))
    for r, route in enumerate(routes):
        demand, fac = route.get("demand"), route.get("facility")
        if demand not in d_index:
            raise InputError(
                f"solution.routes[{r}].demand", demand, "is not a demand of the instance"
            )
        if fac not in f_index:
            raise InputError(f"solution.routes[{r}].facility", fac, "is not an MDFP that is up")
        frac = float(route.get("fraction", 1.0))
        if frac < 0:
            raise InputError(f"solution.routes[{r}].fraction", frac, "must be >= 0")
        share[d_index[demand], f_index[fac]] += frac
    over = np.flatnonzero(share.sum(axis=1) > 1 + 1e-6)
    if over.size:
        d = int(over[0])
        raise InputError(
            "solution.routes", q.demand_ids[d], f"fractions sum to {share[d].sum():.6g} > 1"
        )
    return share


def _arrivals(
    q: QRRTView, share: np.ndarray, horizon: float, rng: np.random.Generator
) -> list[list[tuple[float, int]]]:
    """Per facility, ``(arrival time, demand)`` of its queries: one Poisson stream per demand,
    each query sent to a facility by the demand's shares."""
    per_fac: list[list[tuple[float, int]]] = [[] for _ in q.facilities]
    for d in range(q.num_demands):
        served = share[d].sum()
        rate = q.rate[d] * served
        if rate <= 0:
            continue
        count = rng.poisson(rate * horizon)
        times = np.sort(rng.uniform(0.0, horizon, size=count))
        facs = rng.choice(len(q.facilities), size=count, p=share[d] / served)
        for f in np.unique(facs):
            per_fac[int(f)].extend(
                zip(times[facs == f].tolist(), [d] * int((facs == f).sum()), strict=True)
            )
    return per_fac


def _queue(
    q: QRRTView,
    per_fac: list[list[tuple[float, int]]],
    servers: np.ndarray,
    service_s: np.ndarray,
    load: np.ndarray,
    horizon: float,
) -> tuple[list[list[float]], dict[str, dict[str, float]]]:
    """Serve every facility's queries first come, first served on its ``servers``.

    Returns the latencies (ms, round trip + wait + service) per demand and, per facility, its
    servers, offered load (``load``, q/s), throughput and utilisation.
    """
    latencies: list[list[float]] = [[] for _ in range(q.num_demands)]
    facilities = {}
    for f, queries in enumerate(per_fac):
        queries.sort()
        free = [0.0] * int(servers[f])
        heapq.heapify(free)
        busy = 0.0
        for arrival, d in queries:
            start = max(arrival, heapq.heappop(free))
            done = start + service_s[q.demand_model[d]]
            busy += done - start
            heapq.heappush(free, done)
            latencies[d].append(q.rtt_ms[q.demand_user[d], f] + 1000.0 * (done - arrival))
        facilities[q.facilities[f]] = {
            "servers": int(servers[f]),
            "offered_qps": float(load[f]),
            "throughput_qps": float(q.facility_throughput[f]),
            "utilisation": float(busy / (servers[f] * horizon)),
        }
    return latencies, facilities


def _model_latency(
    q: QRRTView, m: int, latencies: list[list[float]], share: np.ndarray
) -> ModelLatency:
    """Latency percentiles and SLO violations of model ``m``'s queries."""
    ds = np.flatnonzero(q.demand_model == m)
    lat = np.concatenate([np.asarray(latencies[d]) for d in ds]) if ds.size else np.zeros(0)
    slo = (
        np.concatenate([np.full(len(latencies[d]), q.slo_ms[d]) for d in ds])
        if ds.size
        else np.zeros(0)
    )
    refused = float(sum(q.rate[d] * (1 - share[d].sum()) for d in ds))
    viol = int((lat > slo).sum())
    pct = np.percentile(lat, [50, 95, 99]) if lat.size else [math.nan] * 3
    return ModelLatency(
        q.model_ids[m],
        int(lat.size),
        float(pct[0]),
        float(pct[1]),
        float(pct[2]),
        float(lat.mean()) if lat.size else math.nan,
        viol,
        viol / lat.size if lat.size else math.nan,
        refused,
    )
