"""An online DA-ITN loop as a SimPy process model (``daitn-opt[simpy]``).

A discrete-event simulator calls daitn-opt at every decision point. Over a simulated horizon (a
day by default) on a DRRT network:

- **requests arrive** (Poisson, mean gap ``arrival_gap`` s), each a copy of one of the instance's
  training requests (sequential, deadline relative to its arrival);
- the **decider** wakes ``batch_window`` s after the first pending arrival and admits the pending
  batch with **T-FAM** against what is **committed**: a node whose training slots are all held
  by admitted jobs is offered only from when its earliest slot frees (an availability window on
  the decision's snapshot); every admitted request is then routed by **MTRCE** on the snapshot
  holding the commitments so far (this batch's included), and its visits are committed; refused
  requests (and admitted ones MTRCE finds no route for) leave;
- **nodes fail and recover** (exponential times to failure and to repair); the decider does not
  see a failure until the **snapshot is refreshed** (every ``refresh`` s), so a route may reach a
  node that is down: the model waits there until the node is back, and the job may miss its
  deadline;
- every job is a process that walks its route on the simulated clock.

:func:`run_day` returns the admitted value, the value completed by the deadlines, the deadline
misses and the decision latency (wall-clock seconds per decision, T-FAM plus MTRCE) for one pair
of solvers; compare the exact pair (``highs``, ``highs``) with the heuristic one (``ls``,
``ils``). ``examples/simpy/day.py`` runs both.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from .. import mtrce, tfam
from ..drrt import Instance, Window
from ..errors import InputError
from ..registry import solve

HORIZON = 24 * 3600.0
"""A simulated day, in seconds."""


@dataclass(frozen=True)
class LoopConfig:
    """The online loop's dynamics and solvers."""

    horizon: float = HORIZON
    arrival_gap: float = 240.0
    """Mean seconds between request arrivals."""
    batch_window: float = 60.0
    """Seconds the decider waits after the first pending arrival (a batch forms meanwhile)."""
    refresh: float = 900.0
    """Seconds between snapshot refreshes (what the decider knows of failures)."""
    mtbf: float = 4 * 3600.0
    """Mean seconds a data node stays up."""
    mttr: float = 900.0
    """Mean seconds a failed node takes to recover."""
    tfam_solver: str = "ls"
    mtrce_solver: str = "ils"
    time_limit: float = 2.0
    """Per solver call."""
    seed: int = 0


@dataclass
class Job:
    """An admitted request on its way through the network."""

    request: str
    value: float
    arrival: float
    deadline: float
    """Absolute simulated time by which the model must be back."""
    route: list[str]
    starts: list[float]
    """Planned absolute service start at each route node."""
    service: list[float]
    finish: float | None = None
    waited: float = 0.0


@dataclass
class DayReport:
    """What the loop measured over the horizon."""

    tfam_solver: str
    mtrce_solver: str
    arrived: int = 0
    admitted: int = 0
    refused: int = 0
    admitted_value: float = 0.0
    value_on_time: float = 0.0
    deadline_misses: int = 0
    unfinished: int = 0
    waits_at_failed_nodes: int = 0
    decisions: int = 0
    latencies: list[float] = field(default_factory=list)
    """Wall-clock seconds of each decision (T-FAM plus the MTRCE routes)."""
    failures: int = 0

    @property
    def latency_mean(self) -> float:
        return statistics.fmean(self.latencies) if self.latencies else 0.0

    @property
    def latency_p95(self) -> float:
        return float(np.percentile(self.latencies, 95)) if self.latencies else 0.0

    def row(self) -> dict[str, Any]:
        """The report as one flat table row."""
        return {
            "solvers": f"{self.tfam_solver}+{self.mtrce_solver}",
            "arrived": self.arrived,
            "admitted": self.admitted,
            "refused": self.refused,
            "admitted_value": round(self.admitted_value, 1),
            "value_on_time": round(self.value_on_time, 1),
            "deadline_misses": self.deadline_misses,
            "unfinished": self.unfinished,
            "waits_at_failed_nodes": self.waits_at_failed_nodes,
            "decisions": self.decisions,
            "latency_mean_s": round(self.latency_mean, 3),
            "latency_p95_s": round(self.latency_p95, 3),
            "node_failures": self.failures,
        }


class OnlineLoop:
    """The SimPy model: state, processes and the decision point (see the module docstring)."""

    def __init__(self, instance: Instance, config: LoopConfig) -> None:
        templates = [r for r in instance.requests if r.mode == "sequential"]
        if not templates:
            raise InputError("instance.requests", [], "the loop needs a sequential request")
        self.base = instance
        self.templates = templates
        self.cfg = config
        self.env = simpy.Environment()
        self.rng = np.random.default_rng(config.seed)
        data = [n for n in instance.snapshot.nodes if n.kind == "data"]
        self.slots = {n.id: max(1, n.compute.slots if n.compute else 1) for n in data}
        self.up = {n.id: True for n in data}
        """The truth: which data nodes are up now."""
        self.known_up = dict(self.up)
        """What the decider's snapshot says (refreshed every ``config.refresh`` s)."""
        self.busy: dict[str, list[float]] = {n: [] for n in self.slots}
        """Committed visits per node: end times of the slots they hold."""
        self.recovered = {n: self.env.event() for n in self.slots}
        self.pending: list[Any] = []
        self.wake = self.env.event()
        self.report = DayReport(config.tfam_solver, config.mtrce_solver)
        self.jobs: list[Job] = []

    # -- processes ---------------------------------------------------------------------------
    def arrivals(self) -> Iterator[Any]:
        k = 0
        while True:
            yield self.env.timeout(self.rng.exponential(self.cfg.arrival_gap))
            k += 1
            template = self.templates[int(self.rng.integers(len(self.templates)))]
            request = template.model_copy(
                update={"id": f"q{k}", "arrival": 0.0, "must_admit": False}
            )
            self.pending.append((self.env.now, request))
            self.report.arrived += 1
            if not self.wake.triggered:
                self.wake.succeed()

    def node(self, node: str) -> Iterator[Any]:
        """A data node failing and recovering."""
        while True:
            yield self.env.timeout(self.rng.exponential(self.cfg.mtbf))
            self.up[node] = False
            self.report.failures += 1
            yield self.env.timeout(self.rng.exponential(self.cfg.mttr))
            self.up[node] = True
            self.recovered[node].succeed()
            self.recovered[node] = self.env.event()

    def refresher(self) -> Iterator[Any]:
        while True:
            yield self.env.timeout(self.cfg.refresh)
            self.known_up = dict(self.up)

    def decider(self) -> Iterator[Any]:
        while True:
            yield self.wake
            self.wake = self.env.event()
            yield self.env.timeout(self.cfg.batch_window)
            batch, self.pending = self.pending, []
            self.decide(batch)

    def job(self, job: Job) -> Iterator[Any]:
        """Walk the route: travel to each node, wait while it is down, train, move on."""
        delay = 0.0
        for node, start, service in zip(job.route, job.starts, job.service, strict=True):
            yield self.env.timeout(max(0.0, start + delay - self.env.now))
            if node in self.up and not self.up[node]:
                self.report.waits_at_failed_nodes += 1
                t0 = self.env.now
                yield self.recovered[node]
                job.waited += self.env.now - t0
                delay += self.env.now - t0
            yield self.env.timeout(service)
        job.finish = self.env.now
        if job.finish <= job.deadline + 1e-6:
            self.report.value_on_time += job.value
        else:
            self.report.deadline_misses += 1

    # -- the decision point ------------------------------------------------------------------
    def snapshot_instance(self, batch: list[Any]) -> Instance:
        """The decider's view now: known failures, committed slots as late windows, the batch
        with deadlines shortened by the time each request already waited."""
        now = self.env.now
        nodes = []
        for n in self.base.snapshot.nodes:
            if n.id not in self.slots:
                nodes.append(n)
                continue
            ends = sorted(e for e in self.busy[n.id] if e > now)
            self.busy[n.id] = ends
            # Every reservation counts as held from now to its end (conservative): a slot is
            # free once all but slots-1 of them have ended.
            k = len(ends) - self.slots[n.id]
            free = 0.0 if k < 0 else ends[k] - now
            windows = [Window(start=free, end=self.cfg.horizon)] if free > 0 else []
            nodes.append(n.model_copy(update={"up": self.known_up[n.id], "windows": windows}))
        requests = [
            r.model_copy(
                update={"deadline": max(1.0, (r.deadline or self.cfg.horizon) - (now - arrived))}
            )
            for arrived, r in batch
        ]
        snapshot = self.base.snapshot.model_copy(update={"nodes": nodes, "time": 0.0})
        return self.base.model_copy(update={"snapshot": snapshot, "requests": requests})

    def decide(self, batch: list[Any]) -> None:
        if not batch:
            return
        t0 = time.perf_counter()
        inst = self.snapshot_instance(batch)
        problem = tfam.from_instance(inst)
        admitted: set[str] = set()
        if problem.n_requests:
            result = solve(
                problem, self.cfg.tfam_solver, time_limit=self.cfg.time_limit, seed=self.cfg.seed
            )
            admitted = {p["request"] for p in (result.solution or {}).get("plans", [])}
        for arrived, request in batch:
            # Route on the snapshot holding every commitment so far, this batch's included.
            job = None
            if request.id in admitted:
                job = self.route(self.snapshot_instance(batch), request, arrived)
            if job is None:
                self.report.refused += 1
                continue
            self.report.admitted += 1
            self.report.admitted_value += job.value
            self.jobs.append(job)
            for node, start, service in zip(job.route, job.starts, job.service, strict=True):
                if node in self.busy and service > 0:
                    self.busy[node].append(start + service)
            self.env.process(self.job(job))
        self.report.decisions += 1
        self.report.latencies.append(time.perf_counter() - t0)

    def route(self, inst: Instance, request: Any, arrived: float) -> Job | None:
        """The MTRCE route of an admitted request; None when the solver finds none."""
        problem = mtrce.from_instance(inst, request.id)
        result = solve(
            problem, self.cfg.mtrce_solver, time_limit=self.cfg.time_limit, seed=self.cfg.seed
        )
        sol = result.solution or {}
        if not sol.get("routes") or len(sol["routes"][0]) < 2:
            return None
        route = sol["routes"][0]
        index = {node: i for i, node in enumerate(problem.ids)}
        now = self.env.now
        return Job(
            request=request.id,
            value=float(request.value),
            arrival=arrived,
            deadline=arrived + float(request.deadline or self.cfg.horizon),
            route=list(route),
            starts=[now + float(s) for s in sol["service_starts"][0]],
            service=[float(problem.service[index[n]]) for n in route],
        )

    def run(self) -> DayReport:
        self.env.process(self.arrivals())
        self.env.process(self.decider())
        self.env.process(self.refresher())
        for node in self.slots:
            self.env.process(self.node(node))
        self.env.run(until=self.cfg.horizon)
        self.report.unfinished = sum(1 for j in self.jobs if j.finish is None)
        return self.report


def run_day(instance: Instance, config: LoopConfig | None = None) -> DayReport:
    """Run the online loop on ``instance`` over ``config.horizon`` simulated seconds.

    The instance's sequential training requests are the templates of the arriving requests; its
    snapshot is the network (failures come on top of its ``up`` flags).
    """
    return OnlineLoop(instance, config or LoopConfig()).run()
