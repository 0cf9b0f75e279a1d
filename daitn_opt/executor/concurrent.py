"""Concurrent replay: many admitted plans on one simulated clock, contending for shared nodes.

DA-ITN (arXiv 2501.05323) replays each request alone elsewhere in the executor; here every
admitted plan runs at once, so models wait for each other. Only the *timing* model of the views
is used (``transfer``, ``train_time``, ``verify_time``), no training: the question is when
things finish, not what accuracy they reach.

What is modelled:

- a sequential plan leaves its start at the plan's ``start`` (absolute seconds), hops along its
  route taking ``transfer[i, j]`` seconds per hop, and trains at every route node with
  ``train_time > 0``; a federated plan sends the model to each client at once
  (``transfer[start, i]``), trains there, and uploads (``transfer[i, end]``);
- training needs one of the node's ``compute.slots`` slots (a node without compute has
  unlimited slots); a model that finds every slot busy waits in the node's FIFO queue; it
  starts no earlier than the node's window opens (``arrival + window_open``);
- a model **releases its slot when its training ends** and holds nothing while it travels, so
  no hold-and-wait occurs and a cyclic deadlock is impossible by construction; what remains
  is **starvation**: a request whose slot waits exceed the slack it had alone (it would meet
  its deadline on an idle network, and misses it because of the waits), and a request stuck
  for ever (a node with zero slots), reported as unfinished;
- verification: ``mpvus`` identical verification servers, each with its own FIFO queue; a model
  arriving at the end joins the shortest queue (waiting plus in service; ties broken at random
  with ``seed``) and is verified for ``verify_time`` seconds. Several MPVUs are modelled as
  servers at the end node (the same transfer to each).

Same-time events: training and verification ends are handled before new arrivals, so a freed
slot goes to the head of its queue first.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..drrt.instance import Instance
from ..drrt.view import View, view
from ..errors import InputError

UNLIMITED = 1 << 30
"""Slots of a node without a compute description."""


@dataclass
class Leg:
    """One training step of a plan: travel there, train, (federated) upload back."""

    node: str
    travel: float
    """Seconds from the previous step (sequential) or from the start (federated)."""
    train: float
    earliest: float = 0.0
    """Absolute time the node's window opens."""
    upload: float = 0.0
    """Federated: seconds from the node to the end."""


@dataclass
class Job:
    """An admitted plan ready to replay: its legs, the tail to the end and the verification."""

    request: str
    release: float
    due: float
    legs: list[Leg] = field(default_factory=list)
    tail: float = 0.0
    """Sequential: seconds from the last training step (or the start) to the end."""
    verify: float = 0.0
    parallel: bool = False
    """Federated: the legs run at once, verification after the last upload."""

    def alone(self) -> float:
        """Finish time on an idle network (no waits)."""
        if self.parallel:
            ends = [
                max(self.release + g.travel, g.earliest) + g.train + g.upload for g in self.legs
            ]
            return max(ends, default=self.release) + self.verify
        t = self.release
        for g in self.legs:
            t = max(t + g.travel, g.earliest) + g.train
        return t + self.tail + self.verify


@dataclass
class RequestResult:
    """What happened to one admitted request."""

    request: str
    release: float
    due: float
    finish: float | None
    """None: never verified (stuck behind a node without slots)."""
    alone_finish: float
    slot_wait: float
    verify_wait: float
    deadline_met: bool
    starved: bool
    """Met its deadline alone, missed it because slot waits exceeded its slack."""
    cause: str
    """Why it missed: ``"alone"`` (infeasible even alone), ``"slots"``, ``"mpvu"``,
    ``"slots+mpvu"`` (neither wait alone exceeds the slack), ``"stuck"``; ``""`` when met."""


@dataclass
class MpvuStats:
    """One verification server's queue (models waiting, not the one in service)."""

    server: int
    verified: int
    max_queue: int
    mean_queue: float
    """Time-weighted over [first arrival at any MPVU, last verification]."""
    busy: float
    """Seconds in service."""


@dataclass
class ConcurrentOutcome:
    """Per-request results and per-MPVU queue statistics of one concurrent replay."""

    requests: list[RequestResult]
    mpvus: list[MpvuStats]
    deadlocks: int = 0
    """Always 0: slots are released when training ends (no hold-and-wait; see module doc)."""

    def summary(self) -> dict[str, Any]:
        n = len(self.requests)
        met = sum(r.deadline_met for r in self.requests)
        waits = [r.slot_wait for r in self.requests]
        vwaits = [r.verify_wait for r in self.requests]
        return {
            "requests": n,
            "met": met,
            "missed": n - met,
            "missed_alone_feasible": sum(
                (not r.deadline_met) and r.cause != "alone" for r in self.requests
            ),
            "starved": sum(r.starved for r in self.requests),
            "stuck": sum(r.finish is None for r in self.requests),
            "deadlocks": self.deadlocks,
            "mean_slot_wait": float(np.mean(waits)) if n else 0.0,
            "mean_verify_wait": float(np.mean(vwaits)) if n else 0.0,
            "max_mpvu_queue": max((m.max_queue for m in self.mpvus), default=0),
            "mean_mpvu_queue": float(np.mean([m.mean_queue for m in self.mpvus])),
        }

    def rows(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.requests]


# -- building jobs from plans ------------------------------------------------------------------


def job_of(plan: dict[str, Any], v: View, arrival: float) -> Job:
    """The job of one ``solution["plans"]`` entry (``route`` or ``clients``, ``start``)."""
    pos = {x: i for i, x in enumerate(v.ids)}
    start = float(plan.get("start", arrival))
    due = arrival + (math.inf if v.deadline is None else float(v.deadline))
    job = Job(str(plan["request"]), start, due, verify=float(v.verify_time))

    def at(x: str) -> int:
        if x not in pos:
            raise InputError("plans", x, f"not in the view of request {job.request}")
        return pos[x]

    if "route" in plan:
        route = [at(x) for x in plan["route"]]
        travel = 0.0
        for prev, k in zip([None, *route[:-1]], route, strict=True):
            if prev is not None:
                travel += float(v.transfer[prev, k])
            if v.train_time[k] > 0:
                open_at = arrival + float(v.window_open[k])
                job.legs.append(Leg(v.ids[k], travel, float(v.train_time[k]), open_at))
                travel = 0.0
        job.tail = travel
    elif "clients" in plan:
        job.parallel = True
        for x in plan["clients"]:
            k = at(x)
            job.legs.append(
                Leg(
                    x,
                    float(v.transfer[v.start, k]),
                    float(v.train_time[k]),
                    arrival + float(v.window_open[k]),
                    float(v.transfer[k, v.end]),
                )
            )
    else:
        raise InputError("plans", plan, "needs a 'route' or 'clients'")
    return job


def node_slots(instance: Instance) -> dict[str, int]:
    """Each node's concurrent training slots (unlimited without a compute description)."""
    return {
        n.id: int(n.compute.slots) if n.compute is not None else UNLIMITED
        for n in instance.snapshot.nodes
    }


def replay_concurrent(
    instance: Instance,
    plans: Iterable[dict[str, Any]],
    *,
    mpvus: int = 1,
    seed: int = 0,
    slots: dict[str, int] | None = None,
) -> ConcurrentOutcome:
    """Replay ``plans`` (entries of a T-FAM ``solution["plans"]``: ``request``, ``route`` or
    ``clients``, ``start``) at once on one clock; see the module docstring for the model.

    ``slots`` replaces the snapshot's training slots (node id -> slots; ``{}``: unlimited
    everywhere, so that only the MPVU is shared)."""
    jobs = []
    for plan in plans:
        req = instance.request(plan["request"])
        jobs.append(job_of(plan, view(instance, req.id), float(req.arrival or 0.0)))
    return simulate(jobs, node_slots(instance) if slots is None else slots, mpvus=mpvus, seed=seed)


# -- the discrete-event engine -----------------------------------------------------------------

DONE, VERIFIED, ARRIVE, AT_END = 0, 1, 2, 3
"""Event kinds, in the order same-time events are handled (ends before arrivals)."""


class _Engine:
    def __init__(self, jobs: list[Job], slots: dict[str, int], mpvus: int, seed: int) -> None:
        self.jobs, self.slots = jobs, slots
        self.rng = np.random.default_rng(seed)
        self.heap: list[tuple[float, int, int, int, int]] = []
        self.seq = 0
        self.busy: dict[str, int] = {}
        self.waiting: dict[str, deque[tuple[float, int, int]]] = {}
        self.slot_wait = [0.0] * len(jobs)
        self.verify_wait = [0.0] * len(jobs)
        self.finish: list[float | None] = [None] * len(jobs)
        self.pending = [len(j.legs) for j in jobs]
        self.upload_at = [j.release for j in jobs]
        # verification servers: queue of (arrival, job), in service, queue-length integral
        self.vq: list[deque[tuple[float, int]]] = [deque() for _ in range(mpvus)]
        self.vbusy = [False] * mpvus
        self.vmax = [0] * mpvus
        self.varea = [0.0] * mpvus
        self.vlast = [0.0] * mpvus
        self.vdone = [0] * mpvus
        self.vtime = [0.0] * mpvus
        self.vfirst: float | None = None

    def push(self, t: float, kind: int, j: int, s: int) -> None:
        heapq.heappush(self.heap, (t, kind, self.seq, j, s))
        self.seq += 1

    def arrive(self, t: float, j: int, s: int) -> None:
        """Job ``j`` needs leg ``s``'s node from ``t`` (after its window opens)."""
        leg = self.jobs[j].legs[s]
        t = max(t, leg.earliest)
        if t > self.heap_time:  # the window is not open yet: come back then
            self.push(t, ARRIVE, j, s)
            return
        node = leg.node
        if self.busy.get(node, 0) < self.slots.get(node, UNLIMITED):
            self.start(t, j, s)
        else:
            self.waiting.setdefault(node, deque()).append((t, j, s))

    def start(self, t: float, j: int, s: int) -> None:
        leg = self.jobs[j].legs[s]
        self.busy[leg.node] = self.busy.get(leg.node, 0) + 1
        self.push(t + leg.train, DONE, j, s)

    def done(self, t: float, j: int, s: int) -> None:
        job, node = self.jobs[j], self.jobs[j].legs[s].node
        self.busy[node] -= 1
        queue = self.waiting.get(node)
        if queue:
            since, j2, s2 = queue.popleft()
            self.slot_wait[j2] += t - since
            self.start(t, j2, s2)
        if job.parallel:
            self.pending[j] -= 1
            self.upload_at[j] = max(self.upload_at[j], t + job.legs[s].upload)
            if self.pending[j] == 0:
                self.push(self.upload_at[j], AT_END, j, 0)
        elif s + 1 < len(job.legs):
            self.push(t + job.legs[s + 1].travel, ARRIVE, j, s + 1)
        else:
            self.push(t + job.tail, AT_END, j, 0)

    def account(self, m: int, t: float) -> None:
        self.varea[m] += len(self.vq[m]) * (t - self.vlast[m])
        self.vlast[m] = t

    def at_end(self, t: float, j: int) -> None:
        if self.vfirst is None:
            self.vfirst = t
            self.vlast = [t] * len(self.vq)
        loads = [len(q) + b for q, b in zip(self.vq, self.vbusy, strict=True)]
        best = [m for m, x in enumerate(loads) if x == min(loads)]
        m = best[0] if len(best) == 1 else int(self.rng.choice(best))
        self.account(m, t)
        if not self.vbusy[m]:
            self.vbusy[m] = True
            self.push(t + self.jobs[j].verify, VERIFIED, j, m)
        else:
            self.vq[m].append((t, j))
            self.vmax[m] = max(self.vmax[m], len(self.vq[m]))

    def verified(self, t: float, j: int, m: int) -> None:
        self.finish[j] = t
        self.vdone[m] += 1
        self.vtime[m] += self.jobs[j].verify
        self.account(m, t)
        if self.vq[m]:
            since, j2 = self.vq[m].popleft()
            self.verify_wait[j2] += t - since
            self.push(t + self.jobs[j2].verify, VERIFIED, j2, m)
        else:
            self.vbusy[m] = False

    def run(self) -> None:
        self.heap_time = -math.inf
        for j, job in enumerate(self.jobs):
            if not job.legs:
                self.push(job.release + job.tail, AT_END, j, 0)
            elif job.parallel:
                for s, leg in enumerate(job.legs):
                    self.push(job.release + leg.travel, ARRIVE, j, s)
            else:
                self.push(job.release + job.legs[0].travel, ARRIVE, j, 0)
        while self.heap:
            t, kind, _, j, s = heapq.heappop(self.heap)
            self.heap_time = t
            if kind == ARRIVE:
                self.arrive(t, j, s)
            elif kind == DONE:
                self.done(t, j, s)
            elif kind == AT_END:
                self.at_end(t, j)
            else:
                self.verified(t, j, s)


def simulate(
    jobs: list[Job], slots: dict[str, int], *, mpvus: int = 1, seed: int = 0
) -> ConcurrentOutcome:
    """Run ``jobs`` on nodes with ``slots[node]`` training slots (absent: unlimited) and
    ``mpvus`` verification servers; the engine behind :func:`replay_concurrent`."""
    if int(mpvus) < 1:
        raise InputError("mpvus", mpvus, "at least one verification server is needed")
    eng = _Engine(jobs, slots, int(mpvus), seed)
    eng.run()
    end = max((f for f in eng.finish if f is not None), default=0.0)
    first = eng.vfirst if eng.vfirst is not None else end
    span = end - first
    stats = [
        MpvuStats(
            m,
            eng.vdone[m],
            eng.vmax[m],
            eng.varea[m] / span if span > 0 else 0.0,
            eng.vtime[m],
        )
        for m in range(int(mpvus))
    ]
    results = [_result(job, eng, j) for j, job in enumerate(jobs)]
    return ConcurrentOutcome(results, stats)


def _result(job: Job, eng: _Engine, j: int) -> RequestResult:
    eps = 1e-9
    finish, alone = eng.finish[j], job.alone()
    met = finish is not None and finish <= job.due + eps
    slack = job.due - alone
    sw, vw = eng.slot_wait[j], eng.verify_wait[j]
    starved = (not met) and alone <= job.due + eps and sw > slack + eps
    if met:
        cause = ""
    elif finish is None:
        cause = "stuck"
    elif alone > job.due + eps:
        cause = "alone"
    elif sw > slack + eps:
        cause = "slots"
    elif vw > slack + eps:
        cause = "mpvu"
    else:
        cause = "slots+mpvu"
    return RequestResult(
        job.request, job.release, job.due, finish, alone, sw, vw, met, starved or finish is None,
        cause,
    )  # fmt: skip


__all__ = [
    "ConcurrentOutcome",
    "Job",
    "Leg",
    "MpvuStats",
    "RequestResult",
    "job_of",
    "node_slots",
    "replay_concurrent",
    "simulate",
]
