"""Sequential replay: one model follows an MTRCE route and really trains at every node.

DA-ITN's sequential learning (arXiv 2501.05323, Sec. IV, MTRCE): the model leaves the start,
visits data nodes in order, trains the request's local epochs on each node's own data, and ends at
the MPVU, which verifies it. The replay makes that real with PyTorch while a simulated clock
advances by the *view's* times, not by wall time:

- a hop i -> j costs ``transfer[i, j]`` seconds and moves the model's weights (its bytes are
  counted; data never moves);
- at j the model waits for the window to open, then trains ``epochs`` local epochs on j's data
  (``train_time[j]`` seconds on the clock) and collects ``utility[j]``;
- after each training visit the MPVU's held-out set measures test accuracy (a checkpoint: an
  observer's measurement for the trace that costs no simulated time); at the end the MPVU's
  verification costs ``verify_time``; the deadline is met when that ends by the deadline.

Events (:mod:`.dynamics`) are applied when the clock passes them: before every decision and on
arrival (a node that went down while the model was in transit does not receive it: the transfer
time and bytes are lost, and the sender still holds its copy). Training at a node is not
interrupted. The policy (static, replan, aats) chooses each next hop.

Per-node epochs (TAG, :mod:`daitn_opt.mtrce.tag`): a solution with ``"epochs": {node_id: e}``
trains ``e`` epochs at those nodes, for ``train_time * e / request.epochs`` on the clock
(:func:`epochs_of`); the other nodes keep the request's epochs.

With k routes (team orienteering: k model replicas), each replica trains from the same initial
weights along its route; at the end the MPVU averages them weighted by the samples each trained
on (one FedAvg step) and verifies the average.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..drrt.instance import Instance
from ..drrt.view import View, build_view
from ..errors import InputError
from ..result import Result
from .data import NetworkData, instance_network_data
from .dynamics import Context, EventTimeline, NetworkState, Policy, describe, make_policy
from .models import ModelFactory, configure_torch, model_bytes, resolve_model
from .outcome import Outcome, Step, Summary, time_to_target
from .training import TrainConfig, evaluate, train_local

Callback = Callable[[str, dict[str, Any]], None]


def routes_of(solution: Any) -> list[list[str]]:
    """The routes of a solution given as a :class:`Result`, a solution dict or a list of ids."""
    if isinstance(solution, Result):
        if not solution.is_feasible():
            raise InputError("solution.status", solution.status.value, "has no route to replay")
        solution = solution.solution
    if isinstance(solution, dict):
        if "routes" not in solution:
            raise InputError(
                "solution", sorted(solution), "has no 'routes' (not an MTRCE solution)"
            )
        routes = solution["routes"]
    else:
        routes = solution
    if not isinstance(routes, list) or not routes:
        raise InputError("solution.routes", routes, "expected a non-empty list of routes")
    if all(isinstance(x, str) for x in routes):
        routes = [routes]
    for r, route in enumerate(routes):
        if not isinstance(route, list) or not all(isinstance(x, str) for x in route):
            raise InputError(f"solution.routes[{r}]", route, "expected a list of node ids")
    return [list(r) for r in routes]


def epochs_of(solution: Any, routes: list[list[str]]) -> dict[str, int]:
    """Per-node local epochs of a solution (TAG's ``"epochs"``; empty when it has none).

    Raises
    ------
    InputError
        An epochs entry that is not a positive integer, or names a node no route trains at.
    """
    if isinstance(solution, Result):
        solution = solution.solution
    if not isinstance(solution, dict) or solution.get("epochs") is None:
        return {}
    given = solution["epochs"]
    if not isinstance(given, dict):
        raise InputError("solution.epochs", given, "expected a dict {node id: epochs}")
    on_route = {n for route in routes for n in route}
    for node, e in given.items():
        field = f"solution.epochs[{node!r}]"
        if node not in on_route:
            raise InputError(field, e, "names a node that no route visits")
        if isinstance(e, bool) or not isinstance(e, int) or e < 1:
            raise InputError(field, e, "expected an integer >= 1")
    return dict(given)


def validate_routes(routes: list[list[str]], v: View, instance: Instance) -> None:
    """Check the routes against the request's view: right start and end, eligible nodes only.

    Raises
    ------
    InputError
        Naming the route position, the node and why it cannot be visited (down, ineligible,
        unknown, visited twice).
    """
    ids = set(instance.snapshot.ids())
    start, end = v.ids[v.start], v.ids[v.end]
    seen: set[str] = set()
    for r, route in enumerate(routes):
        if len(route) < 2:
            raise InputError(f"solution.routes[{r}]", route, "a route has a start and an end")
        if route[0] != start:
            raise InputError(
                f"solution.routes[{r}][0]", route[0], f"the request starts at {start!r}"
            )
        if route[-1] != end:
            raise InputError(f"solution.routes[{r}][-1]", route[-1], f"the request ends at {end!r}")
        for p, node in enumerate(route[1:-1], start=1):
            field = f"solution.routes[{r}][{p}]"
            if node not in ids:
                raise InputError(field, node, f"is not a node of instance {instance.name!r}")
            if node not in v.ids or node in (start, end):
                reason = v.excluded.get(node, "not a data node of the request's view")
                raise InputError(field, node, f"cannot be visited: {reason}")
            if node in seen:
                raise InputError(field, node, "is visited twice")
            seen.add(node)


@dataclass
class _Replica:
    """One model replica's run along one route."""

    steps: list[Step]
    model: torch.nn.Module
    finish: float
    utility: float
    samples: int
    bytes: int
    visited: list[str]
    skipped: list[str]
    train_wall: float
    notes: list[str]


class SequentialReplay:
    """Replays MTRCE routes as real training. Use :func:`replay_sequential` for one call.

    Parameters
    ----------
    instance
        The instance (snapshot and requests).
    request_id
        The request whose view times the replay (default: the first).
    model
        ``"auto"`` (CNN for images, else MLP), ``"logreg"``, ``"mlp"``, ``"cnn"`` or a factory ``(in_shape, num_classes) -> Module``.
    seed
        Seed of the data split, the initial weights and the minibatch order.
    data
        Pre-built local datasets (default: :func:`~.data.instance_network_data` with ``seed``).
    train
        Local training settings.
    threads
        Torch intra-op threads (default 1; None leaves torch's setting).
    target_accuracy
        Accuracy whose first attainment time is reported.
    """

    def __init__(
        self,
        instance: Instance,
        request_id: str | None = None,
        *,
        model: str | ModelFactory = "auto",
        seed: int = 0,
        data: NetworkData | None = None,
        train: TrainConfig | None = None,
        threads: int | None = 1,
        target_accuracy: float = 0.9,
    ) -> None:
        configure_torch(threads)
        self.instance = instance
        self.request = instance.request(request_id)
        self.view = build_view(instance.snapshot, self.request, instance.travel)
        self.factory = resolve_model(model)
        self.seed = int(seed)
        self.data = data or instance_network_data(instance, self.request, seed=seed)
        self.train = train or TrainConfig()
        self.target = float(target_accuracy)

    def new_model(self) -> torch.nn.Module:
        torch.manual_seed(self.seed)
        return self.factory(self.data.in_shape, self.data.num_classes)

    def run(
        self,
        solution: Any,
        *,
        events: EventTimeline | None = None,
        policy: str | Policy = "static",
        label: str | None = None,
        callback: Callback | None = None,
    ) -> Outcome:
        """Replay ``solution`` (routes) under ``events`` with ``policy``; return the outcome."""
        routes = routes_of(solution)
        validate_routes(routes, self.view, self.instance)
        node_epochs = epochs_of(solution, routes)
        wall0 = time.perf_counter()
        data = self.data
        start_sizes = {n: d.samples for n, d in data.nodes.items()}
        replicas = []
        for r, route in enumerate(routes):
            pol = make_policy(policy)
            replicas.append(
                self._run_route(
                    route,
                    events or EventTimeline(),
                    pol,
                    r,
                    len(routes),
                    callback,
                    label,
                    node_epochs,
                )
            )
        steps = sorted((s for rep in replicas for s in rep.steps), key=lambda s: s.time)
        final_model = replicas[0].model
        train_wall = sum(rep.train_wall for rep in replicas)
        if len(replicas) > 1:
            final_model = _average(
                [rep.model for rep in replicas], [rep.samples for rep in replicas]
            )
            t0 = time.perf_counter()
            loss, acc = evaluate(final_model, data.test_x, data.test_y)
            train_wall += time.perf_counter() - t0
            finish = max(rep.finish for rep in replicas)
            steps.append(
                Step(
                    finish,
                    self.view.ids[self.view.end],
                    "verify",
                    loss,
                    acc,
                    0,
                    sum(rep.utility for rep in replicas),
                    0,
                    f"average of {len(replicas)} replicas",
                )
            )
        finish = max(rep.finish for rep in replicas)
        final = steps[-1]
        deadline = self.request.deadline
        wall = time.perf_counter() - wall0
        trained = sum(s.samples for s in steps)
        notes = [n for rep in replicas for n in rep.notes]
        for node, size in start_sizes.items():
            if data.nodes[node].samples != size:
                notes.append(
                    f"{node}: {data.nodes[node].samples - size} samples added during the replay"
                )
        # Restore the datasets so that the next replay starts from the same data.
        self._restore(start_sizes)
        summary = Summary(
            final_accuracy=final.accuracy,
            time_to_target=time_to_target(steps, self.target),
            target_accuracy=self.target,
            bytes_moved=sum(rep.bytes for rep in replicas),
            finish_time=finish,
            deadline=deadline,
            deadline_met=math.isfinite(finish) and (deadline is None or finish <= deadline + 1e-9),
            utility_collected=sum(rep.utility for rep in replicas),
            planned_utility=float(
                sum(self.view.utility[self.view.ids.index(n)] for rt in routes for n in set(rt))
            ),
            visited=[n for rep in replicas for n in rep.visited],
            skipped=[n for rep in replicas for n in rep.skipped],
            wall_time=wall,
            train_wall_time=train_wall,
            overhead_per_step_ms=1000 * max(0.0, wall - train_wall) / max(1, len(steps)),
            samples_per_second=trained / train_wall if train_wall > 0 else 0.0,
        )
        pol_name = policy if isinstance(policy, str) else policy.name
        return Outcome(
            label=label or pol_name,
            mode="sequential",
            trace=steps,
            summary=summary,
            policy=pol_name,
            seed=self.seed,
            notes=notes,
        )

    # -- internals ----------------------------------------------------------------------------
    def _restore(self, sizes: dict[str, int]) -> None:
        for node, size in sizes.items():
            d = self.data.nodes[node]
            if d.samples != size:
                d.x, d.y = d.x[:size], d.y[:size]

    def _view_at(self, state: NetworkState, cur: str, end: str, cache: dict) -> View:
        if state.version == 0:
            return self.view
        key = (state.version, cur)
        if key not in cache:
            req = self.request.model_copy(update={"start": cur, "end": end, "mandatory": []})
            cache.clear()
            cache[key] = build_view(state.snapshot(), req, self.instance.travel)
        return cache[key]

    def _run_route(
        self,
        route: Sequence[str],
        events: EventTimeline,
        policy: Policy,
        replica: int,
        replicas: int,
        callback: Callback | None,
        label: str | None,
        node_epochs: dict[str, int] | None = None,
    ) -> _Replica:
        data = self.data
        model = self.new_model()
        nbytes = model_bytes(model)
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + replica)
        epochs = self.request.epochs

        def grow(node: str, samples: int) -> dict[str, int] | None:
            if node not in data.nodes:
                return None
            before = data.histogram(node)
            data.grow(node, samples)
            after = data.histogram(node)
            return {
                lb: after[lb] - before.get(lb, 0) for lb in after if after[lb] - before.get(lb, 0)
            }

        state = NetworkState(self.instance.snapshot, events, on_data_added=grow)
        cache: dict = {}
        start, end = route[0], route[-1]
        t, cur = 0.0, start
        visited, skipped, notes = [start], [], []
        utility, samples, moved, spent, train_wall = 0.0, 0, 0, 0.0, 0.0
        t0 = time.perf_counter()
        loss0, acc0 = evaluate(model, data.test_x, data.test_y)
        train_wall += time.perf_counter() - t0
        steps = [
            Step(
                0.0,
                start,
                "start",
                loss0,
                acc0,
                0,
                0.0,
                0,
                f"replica {replica}" if replicas > 1 else "",
            )
        ]

        def emit(step: Step) -> None:
            steps.append(step)
            if callback is not None:
                callback("step", {"label": label, "replica": replica, "step": step})

        def train_at(node: str, v: View, hop_bytes: int = 0) -> None:
            nonlocal t, utility, samples, train_wall, spent
            k = v.ids.index(node)
            local = data.nodes.get(node)
            ep = (node_epochs or {}).get(node, epochs)  # TAG: this node's own epochs
            w0 = time.perf_counter()
            loss = (
                train_local(model, local.x, local.y, ep, self.train, gen)
                if local is not None
                else math.nan
            )
            _, acc = evaluate(model, data.test_x, data.test_y)
            train_wall += time.perf_counter() - w0
            t += float(v.train_time[k]) * (ep / epochs if ep != epochs else 1.0)
            utility += float(v.utility[k])
            spent += float(v.visit_cost[k])
            n = (local.samples if local is not None else 0) * ep
            samples += n
            emit(Step(t, node, "train", loss, acc, hop_bytes, utility, n))

        def apply_events(until: float) -> None:
            for ev in state.advance(until):
                emit(Step(float(ev.time), "*", "event", utility=utility, note=describe(ev)))

        policy.start(route[1:-1])
        v = self._view_at(state, cur, end, cache)
        if v.utility[v.ids.index(start)] > 0:
            train_at(start, v)
        while True:
            apply_events(t)
            v = self._view_at(state, cur, end, cache)
            ctx = Context(
                self.instance, self.request, state, cur, t, visited, end, spent, v, self.seed
            )
            nxt, skips = policy.next_hop(ctx)
            for node, reason in skips:
                skipped.append(node)
                emit(Step(t, node, "skip", utility=utility, note=reason))
            if nxt is None:
                break
            i, j = v.ids.index(cur), v.ids.index(nxt)
            arrive = t + float(v.transfer[i, j])
            moved += nbytes
            spent += float(v.travel_cost[i, j])
            apply_events(arrive)
            t = arrive
            if not state.is_up(nxt):
                skipped.append(nxt)
                visited.append(nxt)  # do not try again: the policy moves on
                emit(
                    Step(
                        t,
                        nxt,
                        "skip",
                        bytes=nbytes,
                        utility=utility,
                        note="went down while the model was in transit; the sender keeps its copy",
                    )
                )
                continue
            begin = max(t, float(v.window_open[j]))
            if begin > float(v.window_close[j]) + 1e-9:
                skipped.append(nxt)
                visited.append(nxt)
                cur = nxt
                emit(
                    Step(
                        t,
                        nxt,
                        "skip",
                        bytes=nbytes,
                        utility=utility,
                        note="window closed on arrival",
                    )
                )
                continue
            t = begin
            cur = nxt
            visited.append(nxt)
            train_at(nxt, v, nbytes)
        # Head to the end and verify.
        v = self._view_at(state, cur, end, cache)
        last_leg_bytes = 0
        if cur != end:
            leg = float(v.transfer[v.ids.index(cur), v.ids.index(end)])
            if not math.isfinite(leg):
                why = (
                    f"the model was lost: {cur!r} went down while it was there"
                    if not state.is_up(cur)
                    else f"the end {end!r} is unreachable from {cur!r}"
                )
                notes.append(f"replica {replica}: {why}")
                emit(Step(t, cur, "stop", utility=utility, note=why))
                return _Replica(
                    steps,
                    model,
                    math.inf,
                    utility,
                    samples,
                    moved,
                    visited,
                    skipped,
                    train_wall,
                    notes,
                )
            t += leg
            moved += nbytes
            last_leg_bytes = nbytes
            k = v.ids.index(end)
            if v.utility[k] > 0 and end not in visited:
                train_at(end, v, nbytes)
                last_leg_bytes = 0
        t += float(v.verify_time)
        w0 = time.perf_counter()
        loss, acc = evaluate(model, data.test_x, data.test_y)
        train_wall += time.perf_counter() - w0
        emit(Step(t, end, "verify", loss, acc, last_leg_bytes, utility, 0))
        notes.extend(getattr(policy, "log", []))
        return _Replica(
            steps, model, t, utility, samples, moved, visited, skipped, train_wall, notes
        )


def _average(models: list[torch.nn.Module], weights: list[int]) -> torch.nn.Module:
    """Sample-weighted average of models with the same architecture (FedAvg aggregation)."""
    total = float(sum(weights)) or float(len(weights))
    ws = [(w if sum(weights) else 1) / total for w in weights]
    out = models[0]
    states = [m.state_dict() for m in models]
    avg = {
        k: sum(w * s[k].float() for w, s in zip(ws, states, strict=True)).to(states[0][k].dtype)
        for k in states[0]
    }
    out.load_state_dict(avg)
    return out


def replay_sequential(
    instance: Instance,
    solution: Any,
    *,
    request_id: str | None = None,
    model: str | ModelFactory = "auto",
    seed: int = 0,
    events: EventTimeline | None = None,
    policy: str | Policy = "static",
    train: TrainConfig | None = None,
    threads: int | None = 1,
    target_accuracy: float = 0.9,
    label: str | None = None,
    callback: Callback | None = None,
) -> Outcome:
    """Replay an MTRCE solution as real sequential training; see :class:`SequentialReplay`."""
    replay = SequentialReplay(
        instance,
        request_id,
        model=model,
        seed=seed,
        train=train,
        threads=threads,
        target_accuracy=target_accuracy,
    )
    return replay.run(solution, events=events, policy=policy, label=label, callback=callback)
