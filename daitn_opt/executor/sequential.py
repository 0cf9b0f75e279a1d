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

Events (:mod:`.events`) are applied when the clock passes them: before every decision and on
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
from typing import Any

import torch

from ..drrt.instance import Instance
from ..drrt.view import View, build_view
from ..errors import InputError
from ..result import Result
from .data import NetworkData, instance_network_data
from .events import EventTimeline, describe
from .models import ModelFactory, configure_torch, model_bytes, resolve_model
from .outcome import Outcome, Step, Summary, time_to_target
from .policies import Context, Policy, make_policy
from .state import NetworkState
from .training import LocalProbe, TrainConfig, evaluate, probe_local, train_local

Callback = Callable[[str, dict[str, Any]], None]


def routes_of(solution: Any) -> list[list[str]]:
    """The routes of a solution given as a :class:`Result`, a solution dict or a list of ids.

    Raises
    ------
    InputError
        A result without a solution, a dict without ``routes``, or routes that are not lists of
        node ids.

    Examples
    --------
    >>> routes_of({"routes": [["owner", "h02", "mpvu"]]}) == routes_of(["owner", "h02", "mpvu"])
    True
    """
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

    Examples
    --------
    >>> route = ["owner", "h02", "mpvu"]
    >>> epochs_of({"routes": [route], "epochs": {"h02": 3}}, [route])
    {'h02': 3}
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

    Examples
    --------
    >>> from daitn_opt.drrt.instance import load_instance
    >>> from daitn_opt.drrt.view import view
    >>> inst = load_instance("instances/healthcare-small.json")
    >>> validate_routes([["owner", "h02", "h02", "mpvu"]], view(inst, "r1"), inst)
    Traceback (most recent call last):
    ...
    daitn_opt.errors.InputError: solution.routes[0][2] = 'h02': is visited twice
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


class SequentialReplay:
    """Replays MTRCE routes as real training. Use :func:`replay_sequential` for one call.

    Parameters
    ----------
    instance
        The instance (snapshot and requests).
    request_id
        The request whose view times the replay (default: the first).
    model
        ``"auto"`` (CNN for images, else MLP), ``"logreg"``, ``"mlp"``, ``"cnn"`` or a factory
        ``(in_shape, num_classes) -> Module``.
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
    probe
        Before training at a node, evaluate the arriving model on the node's own labelled data
        (:func:`~.training.probe_local`: loss, Oort's statistical utility, label agreement) and
        pass it to the callback of that training step as ``"probe"``. One forward pass, no
        random draw: the outcome is bit for bit the one without it.

    Notes
    -----
    Replays are deterministic for a seed (:meth:`~.outcome.Outcome.fingerprint`); the local
    data is built once per replay object and restored after every :meth:`run`, so one object
    replays many plans on the same data. Time: the request's epochs over the samples of every
    node trained at, plus one test-set evaluation per step.

    Examples
    --------
    >>> from daitn_opt.drrt.instance import load_instance
    >>> inst = load_instance("instances/healthcare-small.json")
    >>> replay = SequentialReplay(inst, "r1", model="logreg", seed=0)
    >>> out = replay.run({"routes": [["owner", "h02", "h07", "mpvu"]]})
    >>> [(s.action, s.node) for s in out.trace]
    [('start', 'owner'), ('train', 'h02'), ('train', 'h07'), ('verify', 'mpvu')]
    >>> out.summary.deadline_met, out.summary.bytes_moved  # three hops of a 248-byte model
    (True, 744)
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
        probe: bool = False,
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
        self.probe = bool(probe)

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
        """Replay ``solution`` (routes) under ``events`` with ``policy``; return the outcome.

        Parameters
        ----------
        solution
            MTRCE routes: a :class:`~daitn_opt.result.Result`, ``{"routes": [...]}`` (with TAG's
            optional ``"epochs"``) or one route as a list of ids.
        events
            Network events applied as the clock passes them (default none).
        policy
            ``"static"``, ``"replan"``, ``"aats"`` or a :class:`~.policies.Policy`.
        label
            The outcome's label (default the policy's name).
        callback
            Called as ``callback("step", {"label", "replica", "step"})`` for every step (with
            ``"probe"``, a :class:`~.training.LocalProbe`, on training steps when ``probe`` is on).

        Returns
        -------
        Outcome
            The trace (one step per start, training, skip, event, verification) and its summary.

        Raises
        ------
        InputError
            Routes that do not fit the request's view (:func:`validate_routes`), bad epochs.
        """
        routes = routes_of(solution)
        validate_routes(routes, self.view, self.instance)
        node_epochs = epochs_of(solution, routes)
        wall0 = time.perf_counter()
        start_sizes = {n: d.samples for n, d in self.data.nodes.items()}
        walks = [
            self._run_route(route, events or EventTimeline(), make_policy(policy), r,
                            len(routes), callback, label, node_epochs)
            for r, route in enumerate(routes)
        ]  # fmt: skip
        steps, train_wall = self._gather(walks)
        wall = time.perf_counter() - wall0
        notes = [n for w in walks for n in w.notes]
        for node, size in start_sizes.items():
            if self.data.nodes[node].samples != size:
                added = self.data.nodes[node].samples - size
                notes.append(f"{node}: {added} samples added during the replay")
        # Restore the datasets so that the next replay starts from the same data.
        self._restore(start_sizes)
        pol_name = policy if isinstance(policy, str) else policy.name
        return Outcome(
            label=label or pol_name,
            mode="sequential",
            trace=steps,
            summary=self._summary(routes, walks, steps, wall, train_wall),
            policy=pol_name,
            seed=self.seed,
            notes=notes,
        )

    # -- internals ----------------------------------------------------------------------------
    def _run_route(
        self,
        route: Sequence[str],
        events: EventTimeline,
        policy: Policy,
        replica: int,
        replicas: int,
        callback: Callback | None,
        label: str | None,
        node_epochs: dict[str, int],
    ) -> _Walk:
        """One replica along ``route``: the policy picks every hop until it heads to the end."""
        walk = _Walk(self, route, events, replica, callback, label, node_epochs)
        loss0, acc0 = walk.evaluate()
        note = f"replica {replica}" if replicas > 1 else ""
        walk.steps.append(Step(0.0, route[0], "start", loss0, acc0, 0, 0.0, 0, note))
        policy.start(route[1:-1])
        v = walk.view()
        if v.utility[v.ids.index(route[0])] > 0:
            walk.train_at(route[0], v)
        while True:
            walk.apply_events(walk.t)
            v = walk.view()
            nxt, skips = policy.next_hop(walk.context(v))
            for node, reason in skips:
                walk.skip(node, reason)
            if nxt is None:
                break
            walk.hop(v, nxt)
        walk.verify(policy)
        return walk

    def _gather(self, walks: list[_Walk]) -> tuple[list[Step], float]:
        """All replicas' steps in time order (and the average's verification when k > 1)."""
        steps = sorted((s for w in walks for s in w.steps), key=lambda s: s.time)
        train_wall = sum(w.train_wall for w in walks)
        if len(walks) > 1:
            final_model = _average([w.model for w in walks], [w.samples for w in walks])
            t0 = time.perf_counter()
            loss, acc = evaluate(final_model, self.data.test_x, self.data.test_y)
            train_wall += time.perf_counter() - t0
            steps.append(
                Step(
                    max(w.finish for w in walks),
                    self.view.ids[self.view.end],
                    "verify",
                    loss,
                    acc,
                    0,
                    sum(w.utility for w in walks),
                    0,
                    f"average of {len(walks)} replicas",
                )
            )
        return steps, train_wall

    def _summary(
        self,
        routes: list[list[str]],
        walks: list[_Walk],
        steps: list[Step],
        wall: float,
        train_wall: float,
    ) -> Summary:
        finish = max(w.finish for w in walks)
        deadline = self.request.deadline
        trained = sum(s.samples for s in steps)
        v = self.view
        return Summary(
            final_accuracy=steps[-1].accuracy,
            time_to_target=time_to_target(steps, self.target),
            target_accuracy=self.target,
            bytes_moved=sum(w.moved for w in walks),
            finish_time=finish,
            deadline=deadline,
            deadline_met=math.isfinite(finish) and (deadline is None or finish <= deadline + 1e-9),
            utility_collected=sum(w.utility for w in walks),
            planned_utility=float(
                sum(v.utility[v.ids.index(n)] for rt in routes for n in dict.fromkeys(rt))
            ),
            visited=[n for w in walks for n in w.visited],
            skipped=[n for w in walks for n in w.skipped],
            wall_time=wall,
            train_wall_time=train_wall,
            overhead_per_step_ms=1000 * max(0.0, wall - train_wall) / max(1, len(steps)),
            samples_per_second=trained / train_wall if train_wall > 0 else 0.0,
        )

    def _restore(self, sizes: dict[str, int]) -> None:
        for node, size in sizes.items():
            d = self.data.nodes[node]
            if d.samples != size:
                d.x, d.y = d.x[:size], d.y[:size]

    def _grow(self, node: str, samples: int) -> dict[str, int] | None:
        """Add ``samples`` real samples at ``node``; the label histogram of what was added."""
        data = self.data
        if node not in data.nodes:
            return None
        before = data.histogram(node)
        data.grow(node, samples)
        after = data.histogram(node)
        return {lb: after[lb] - before.get(lb, 0) for lb in after if after[lb] - before.get(lb, 0)}

    def _view_at(self, state: NetworkState, cur: str, end: str, cache: dict) -> View:
        if state.version == 0:
            return self.view
        key = (state.version, cur)
        if key not in cache:
            req = self.request.model_copy(update={"start": cur, "end": end, "mandatory": []})
            cache.clear()
            cache[key] = build_view(state.snapshot(), req, self.instance.travel)
        return cache[key]


class _Walk:
    """One model replica walking its route: the clock, the model and what it gathered so far.

    The replay advances it hop by hop (:meth:`hop`), the policy choosing each next node; every
    step goes into ``steps`` and to the callback.
    """

    def __init__(
        self,
        replay: SequentialReplay,
        route: Sequence[str],
        events: EventTimeline,
        replica: int,
        callback: Callback | None,
        label: str | None,
        node_epochs: dict[str, int],
    ) -> None:
        self.replay = replay
        self.data = replay.data
        self.model = replay.new_model()
        self.nbytes = model_bytes(self.model)
        self.gen = torch.Generator().manual_seed(replay.seed * 1_000_003 + replica)
        self.state = NetworkState(replay.instance.snapshot, events, on_data_added=replay._grow)
        self.replica, self.callback, self.label = replica, callback, label
        self.node_epochs = node_epochs
        self.end = route[-1]
        self.cur = route[0]
        self.t = 0.0
        self.finish = math.inf
        self.visited: list[str] = [route[0]]
        self.skipped: list[str] = []
        self.notes: list[str] = []
        self.utility, self.samples, self.moved = 0.0, 0, 0
        self.spent, self.train_wall = 0.0, 0.0
        self.steps: list[Step] = []
        self._cache: dict = {}

    # -- steps ----------------------------------------------------------------------------------
    def emit(self, step: Step, probe: LocalProbe | None = None) -> None:
        self.steps.append(step)
        if self.callback is not None:
            info = {"label": self.label, "replica": self.replica, "step": step}
            if probe is not None:
                info["probe"] = probe
            self.callback("step", info)

    def evaluate(self) -> tuple[float, float]:
        """Test loss and accuracy at the MPVU (timed as training wall time)."""
        w0 = time.perf_counter()
        loss, acc = evaluate(self.model, self.data.test_x, self.data.test_y)
        self.train_wall += time.perf_counter() - w0
        return loss, acc

    def view(self) -> View:
        return self.replay._view_at(self.state, self.cur, self.end, self._cache)

    def context(self, v: View) -> Context:
        r = self.replay
        return Context(
            r.instance, r.request, self.state, self.cur, self.t, self.visited, self.end,
            self.spent, v, r.seed,
        )  # fmt: skip

    def apply_events(self, until: float) -> None:
        for ev in self.state.advance(until):
            self.emit(Step(float(ev.time), "*", "event", utility=self.utility, note=describe(ev)))

    def skip(self, node: str, reason: str, nbytes: int = 0) -> None:
        self.skipped.append(node)
        self.emit(Step(self.t, node, "skip", bytes=nbytes, utility=self.utility, note=reason))

    def train_at(self, node: str, v: View, hop_bytes: int = 0) -> None:
        """Train the node's local epochs (TAG: its own) on its data; the clock moves on."""
        k = v.ids.index(node)
        local = self.data.nodes.get(node)
        epochs = self.replay.request.epochs
        ep = self.node_epochs.get(node, epochs)
        probe = None
        if self.replay.probe and local is not None:  # before training: the arriving model
            probe = probe_local(self.model, local.x, local.y, self.data.num_classes)
        w0 = time.perf_counter()
        loss = (
            train_local(self.model, local.x, local.y, ep, self.replay.train, self.gen)
            if local is not None
            else math.nan
        )
        _, acc = evaluate(self.model, self.data.test_x, self.data.test_y)
        self.train_wall += time.perf_counter() - w0
        self.t += float(v.train_time[k]) * (ep / epochs if ep != epochs else 1.0)
        self.utility += float(v.utility[k])
        self.spent += float(v.visit_cost[k])
        n = (local.samples if local is not None else 0) * ep
        self.samples += n
        self.emit(Step(self.t, node, "train", loss, acc, hop_bytes, self.utility, n), probe)

    # -- moves ----------------------------------------------------------------------------------
    def hop(self, v: View, nxt: str) -> None:
        """Send the model to ``nxt`` and train there, unless it went down or its window closed."""
        i, j = v.ids.index(self.cur), v.ids.index(nxt)
        arrive = self.t + float(v.transfer[i, j])
        self.moved += self.nbytes
        self.spent += float(v.travel_cost[i, j])
        self.apply_events(arrive)
        self.t = arrive
        self.visited.append(nxt)  # a node skipped on arrival is not tried again
        if not self.state.is_up(nxt):
            why = "went down while the model was in transit; the sender keeps its copy"
            self.skip(nxt, why, self.nbytes)
            return
        begin = max(self.t, float(v.window_open[j]))
        self.cur = nxt
        if begin > float(v.window_close[j]) + 1e-9:
            self.skip(nxt, "window closed on arrival", self.nbytes)
            return
        self.t = begin
        self.train_at(nxt, v, self.nbytes)

    def verify(self, policy: Policy) -> None:
        """Head to the end (training there when it holds utility) and verify; or stop, lost."""
        v = self.view()
        cur, end = self.cur, self.end
        last_leg_bytes = 0
        if cur != end:
            leg = float(v.transfer[v.ids.index(cur), v.ids.index(end)])
            if not math.isfinite(leg):
                why = (
                    f"the model was lost: {cur!r} went down while it was there"
                    if not self.state.is_up(cur)
                    else f"the end {end!r} is unreachable from {cur!r}"
                )
                self.notes.append(f"replica {self.replica}: {why}")
                self.emit(Step(self.t, cur, "stop", utility=self.utility, note=why))
                return
            self.t += leg
            self.moved += self.nbytes
            last_leg_bytes = self.nbytes
            if v.utility[v.ids.index(end)] > 0 and end not in self.visited:
                self.train_at(end, v, self.nbytes)
                last_leg_bytes = 0
        self.t += float(v.verify_time)
        loss, acc = self.evaluate()
        self.emit(Step(self.t, end, "verify", loss, acc, last_leg_bytes, self.utility, 0))
        self.finish = self.t
        self.notes.extend(getattr(policy, "log", []))


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
    """Replay an MTRCE solution as real sequential training; see :class:`SequentialReplay`.

    The parameters are those of :class:`SequentialReplay` and its :meth:`~SequentialReplay.run`.

    Raises
    ------
    InputError
        As :meth:`SequentialReplay.run`, and an unknown request, model or policy.
    """
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
