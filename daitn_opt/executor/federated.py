"""Federated replay: FedAvg rounds over a client set, timed by the slowest client.

DA-ITN's federated mode (arXiv 2501.05323, Sec. IV): instead of one model travelling, the
aggregator (the request's start, usually the owner) sends the global model to a set of data nodes
(chosen by T-FAM or a selection policy), each trains the request's local epochs on its own data and
sends its weights back; the aggregator averages them weighted by sample counts (FedAvg, McMahan et
al., AISTATS 2017). On the simulated clock a round lasts as long as its slowest client's
download + wait for its window + local training + upload (the view's times); the MPVU's test set
measures the global model after every round (a checkpoint that costs no simulated time), and the
final model travels to the request's end for verification.

Rounds: a given number, or, by default, as many as end before the deadline (the next round is
started only if it and the final verification still fit). Deadline-driven rounds wait neither for
a client whose round would end after the deadline nor for one whose window opens after the model
would reach it: such a client sits the round out and joins a later one inside its window.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..drrt.instance import Instance
from ..drrt.requests import TrainingRequest
from ..drrt.view import View, build_view
from ..errors import InputError
from .data import NetworkData, instance_network_data
from .events import EventTimeline, describe
from .models import ModelFactory, configure_torch, model_bytes, resolve_model
from .outcome import Outcome, Step, Summary, time_to_target
from .sequential import Callback
from .state import NetworkState
from .training import TrainConfig, evaluate, train_local

SELECTIONS = ("all", "top-k", "random")


def select_clients(
    v: View, selection: str = "all", k: int | None = None, seed: int = 0
) -> list[str]:
    """A client set from the request's view.

    ``all``: every eligible data node; ``top-k``: the ``k`` of highest utility; ``random``:
    ``k`` drawn uniformly (seeded).

    Raises
    ------
    InputError
        An unknown selection, or ``top-k``/``random`` without a positive ``k``.

    Examples
    --------
    >>> from daitn_opt.drrt.instance import load_instance
    >>> from daitn_opt.drrt.view import view
    >>> v = view(load_instance("instances/healthcare-small.json"), "r1")
    >>> select_clients(v, "top-k", k=3)
    ['h02', 'h11', 'h12']
    """
    nodes = [i for i in range(v.n) if v.utility[i] > 0 and i not in (v.start, v.end)]
    if selection == "all":
        chosen = nodes
    elif selection in ("top-k", "random"):
        if k is None or k < 1:
            raise InputError("k", k, f"selection {selection!r} needs a positive k")
        if selection == "top-k":
            chosen = sorted(nodes, key=lambda i: (-v.utility[i], i))[:k]
        else:
            rng = np.random.default_rng(seed)
            chosen = sorted(rng.choice(nodes, size=min(k, len(nodes)), replace=False).tolist())
    else:
        raise InputError("selection", selection, f"expected one of {list(SELECTIONS)}")
    return [v.ids[i] for i in chosen]


def clients_of(solution: Any) -> list[str]:
    """A client list from a list of ids, ``{"clients": [...]}`` or an MTRCE ``{"routes": ...}``.

    A route's inner nodes are taken as the client set (the nodes the plan would train on).

    Examples
    --------
    >>> clients_of({"routes": [["owner", "h02", "h07", "mpvu"]]})
    ['h02', 'h07']
    """
    if isinstance(solution, dict):
        if "clients" in solution:
            return list(solution["clients"])
        if "routes" in solution:
            return [n for route in solution["routes"] for n in route[1:-1]]
        raise InputError("solution", sorted(solution), "has neither 'clients' nor 'routes'")
    if isinstance(solution, list | tuple) and all(isinstance(x, str) for x in solution):
        return list(solution)
    raise InputError("solution", type(solution).__name__, "expected client ids")


# Over 80 lines for its docstring (50 lines, 16 parameters); the body is 22 lines.
def replay_federated(
    instance: Instance,
    clients: Sequence[str] | dict | None = None,
    *,
    request_id: str | None = None,
    model: str | ModelFactory = "auto",
    data: NetworkData | None = None,
    seed: int = 0,
    rounds: int | None = None,
    selection: str = "all",
    k: int | None = None,
    events: EventTimeline | None = None,
    train: TrainConfig | None = None,
    threads: int | None = 1,
    target_accuracy: float = 0.9,
    callback: Callback | None = None,
    label: str | None = None,
) -> Outcome:
    """Replay FedAvg over ``clients`` (or a selection from the view) as real training.

    Parameters
    ----------
    instance
        The instance (snapshot and requests).
    clients
        Client node ids (or a solution document, see :func:`clients_of`); None: pick them with
        ``selection`` and ``k`` (:func:`select_clients`).
    request_id
        The federated request (default the first request); its start aggregates, its end
        verifies, its view times the rounds.
    model
        ``"auto"``, a name in :data:`~.models.MODELS` or a factory.
    data
        Pre-built local datasets (default :func:`~.data.instance_network_data` with ``seed``).
    seed
        Seed of the data split, the initial weights, the minibatch order and a random selection.
    rounds
        Number of rounds; None: as many as fit before the deadline (10 without a deadline).
    selection, k
        How to pick clients when ``clients`` is None.
    events
        Applied at the start of every round: a client that is down or no longer eligible sits
        the round out.
    train, threads, target_accuracy
        Local training settings, torch intra-op threads and the accuracy whose first attainment
        time is reported, as for :class:`~.sequential.SequentialReplay`.
    callback, label
        Called as ``callback("step", {"label", "step"})`` for every step; the outcome's label
        (default ``"federated"``).

    Returns
    -------
    Outcome
        One ``round`` step per FedAvg round (accuracy of the global model after it) and the
        final ``verify`` step at the request's end.

    Raises
    ------
    InputError
        A client that is not an eligible data node of the request's view, a client listed
        twice, an empty client set, or ``rounds`` < 1.

    Notes
    -----
    A round lasts as long as its slowest client (download, wait for its window, local epochs,
    upload); the aggregate is the sample-weighted mean of the clients' weights (FedAvg, McMahan
    et al., AISTATS 2017). Trains real models: no example here.
    """
    configure_torch(threads)
    request = instance.request(request_id)
    base = build_view(instance.snapshot, request, instance.travel)
    chosen = select_clients(base, selection, k, seed) if clients is None else clients_of(clients)
    _check_clients(base, chosen)
    if rounds is not None and rounds < 1:
        raise InputError("rounds", rounds, "must be at least 1")
    fed = _FedAvg(
        instance,
        request,
        base,
        chosen,
        data or instance_network_data(instance, request, seed=seed),
        resolve_model(model),
        train or TrainConfig(),
        seed,
        NetworkState(instance.snapshot, events or EventTimeline()),
        label,
        callback,
    )
    fed.run(rounds)
    return fed.finish(target_accuracy)


def _check_clients(base: View, chosen: list[str]) -> None:
    """Every client an eligible data node of the view (not its start or end), listed once."""
    if not chosen:
        raise InputError("clients", chosen, "the client set is empty")
    for c, node in enumerate(chosen):
        if node not in base.ids or node in (base.ids[base.start], base.ids[base.end]):
            raise InputError(
                f"clients[{c}]",
                node,
                f"cannot train: {base.excluded.get(node, 'not an eligible data node')}",
            )
    if len(set(chosen)) != len(chosen):
        raise InputError("clients", chosen, "a client is listed twice")


class _FedAvg:
    """The FedAvg run of one replay: the global model, the clock and the trace so far."""

    def __init__(
        self,
        instance: Instance,
        request: TrainingRequest,
        base: View,
        chosen: list[str],
        data: NetworkData,
        factory: ModelFactory,
        train: TrainConfig,
        seed: int,
        state: NetworkState,
        label: str | None,
        callback: Callback | None,
    ) -> None:
        self.instance, self.request, self.base, self.chosen = instance, request, base, chosen
        self.data, self.train, self.seed, self.state = data, train, seed, state
        self.label, self.callback = label, callback
        torch.manual_seed(seed)
        self.global_model = factory(data.in_shape, data.num_classes)
        self.worker = factory(data.in_shape, data.num_classes)
        self.nbytes = model_bytes(self.global_model)
        self.gen = torch.Generator().manual_seed(seed)
        self.server, self.end = base.ids[base.start], base.ids[base.end]
        self.view = base
        self.waiting: set[str] = set()
        self.participated: set[str] = set()
        self.skipped: list[str] = []
        self.notes: list[str] = []
        self.t, self.moved, self.trained = 0.0, 0, 0
        self.stopped_for_want_of_clients = False
        self.wall0 = time.perf_counter()
        self.train_wall = 0.0
        loss, acc = self.evaluate()
        self.steps = [Step(0.0, self.server, "start", loss, acc)]

    def emit(self, step: Step) -> None:
        self.steps.append(step)
        if self.callback is not None:
            self.callback("step", {"label": self.label, "step": step})

    def evaluate(self) -> tuple[float, float]:
        w0 = time.perf_counter()
        loss, acc = evaluate(self.global_model, self.data.test_x, self.data.test_y)
        self.train_wall += time.perf_counter() - w0
        return loss, acc

    def ends(self) -> tuple[int | None, int | None]:
        """Positions of the aggregator and the end in the current view (None: not in it)."""
        v = self.view
        s = v.ids.index(self.server) if self.server in v.ids else None
        e = v.ids.index(self.end) if self.end in v.ids else None
        return s, e

    def utility(self) -> float:
        """Utility of the clients that took part so far (the base view's)."""
        b = self.base
        return float(sum(b.utility[b.ids.index(n)] for n in self.chosen if n in self.participated))

    # -- rounds -------------------------------------------------------------------------------
    def run(self, rounds: int | None) -> None:
        """``rounds`` rounds, or (None) as many as fit before the deadline (10 without one)."""
        deadline = self.request.deadline
        limit = rounds if rounds is not None else (10 if deadline is None else 10_000)
        for r in range(limit):
            if not self.run_round(r, by_deadline=rounds is None and deadline is not None):
                if self.stopped_for_want_of_clients and (rounds is not None or deadline is None):
                    self.notes.append(f"round {r + 1}: no client available; stopping")
                return

    def run_round(self, r: int, *, by_deadline: bool) -> bool:
        """Round ``r``: events, the clients that can take part, their training, the average.

        Returns False when the replay stops (the aggregator or the end is down, or no client
        can take part).
        """
        for ev in self.state.advance(self.t):
            self.emit(Step(self.t, "*", "event", note=describe(ev)))
        if self.state.version:
            req = self.request.model_copy(update={"mandatory": []})
            self.view = build_view(self.state.snapshot(), req, self.instance.travel)
        s, e = self.ends()
        if s is None or e is None:
            self.notes.append(f"round {r}: the aggregator or the end is down; stopping")
            return False
        active, durations = self._participants(s, by_deadline)
        if by_deadline:
            active, durations = self._fitting(active, durations, s, e, first=r == 0)
        if not active:
            self.stopped_for_want_of_clients = True
            return False
        w0 = time.perf_counter()
        losses, weight_sum = self._average(active)
        _, acc = evaluate(self.global_model, self.data.test_x, self.data.test_y)
        self.train_wall += time.perf_counter() - w0
        self.t += float(max(durations))
        self.moved += 2 * self.nbytes * len(active)
        self.participated.update(active)
        slowest = active[int(np.argmax(durations))]
        self.emit(
            Step(
                self.t,
                "*",
                "round",
                float(np.mean(losses)) if losses else math.nan,
                acc,
                2 * self.nbytes * len(active),
                self.utility(),
                weight_sum * self.request.epochs,
                f"round {r + 1}: {len(active)} clients, slowest {slowest}",
            )
        )
        return True

    def _participants(self, s: int, by_deadline: bool) -> tuple[list[str], list[float]]:
        """The clients up and reachable inside their window, with their round durations."""
        v, t = self.view, self.t
        active, durations = [], []
        deferred: list[tuple[str, float]] = []
        for node in self.chosen:
            if node not in v.ids or not self.state.is_up(node):
                if node not in self.skipped:
                    self.skipped.append(node)
                continue
            j = v.ids.index(node)
            down, up = v.transfer[s, j], v.transfer[j, s]
            begin = max(down, v.window_open[j] - t)
            if not (math.isfinite(down) and math.isfinite(up)) or t + begin > v.window_close[j]:
                continue
            if by_deadline and begin > down:
                # Deadline-driven rounds do not wait for a client's window to open: the client
                # joins the first round that reaches it inside its window (waiting stretched the
                # first round so far that a deadline of 3-5 rounds fitted one or two).
                deferred.append((node, begin + v.train_time[j] + up))
                continue
            active.append(node)
            durations.append(begin + v.train_time[j] + up)
        if deferred and not active:
            # Every reachable client is outside its window: wait for them after all.
            return [n for n, _ in deferred], [d for _, d in deferred]
        self.waiting.update(n for n, _ in deferred)
        return active, durations

    def _fitting(
        self, active: list[str], durations: list[float], s: int, e: int, *, first: bool
    ) -> tuple[list[str], list[float]]:
        """Deadline-driven rounds: the aggregator does not wait for a client whose round
        cannot end (and the model be verified) before the deadline; it sits this round out."""
        v = self.view
        finish_after = v.transfer[s, e] + v.verify_time
        deadline = self.request.deadline
        fits = [self.t + d + finish_after <= deadline + 1e-9 for d in durations]
        late = [n for n, ok in zip(active, fits, strict=True) if not ok]
        if late and first:
            self.notes.append(f"too slow to finish a round before the deadline: {', '.join(late)}")
        return (
            [n for n, ok in zip(active, fits, strict=True) if ok],
            [d for d, ok in zip(durations, fits, strict=True) if ok],
        )

    def _average(self, active: list[str]) -> tuple[list[float], int]:
        """Train every active client from the global model; replace it by the weighted mean."""
        glob = {k: p.detach().clone() for k, p in self.global_model.state_dict().items()}
        total = {k: torch.zeros_like(p, dtype=torch.float32) for k, p in glob.items()}
        weight_sum = 0
        losses = []
        epochs = self.request.epochs
        for node in active:
            local = self.data.nodes.get(node)
            if local is None or local.samples == 0:
                continue
            self.worker.load_state_dict(glob)
            losses.append(train_local(self.worker, local.x, local.y, epochs, self.train, self.gen))
            for k, p in self.worker.state_dict().items():
                total[k] += local.samples * p.float()
            weight_sum += local.samples
            self.trained += local.samples * epochs
        if weight_sum:
            self.global_model.load_state_dict(
                {k: (total[k] / weight_sum).to(glob[k].dtype) for k in total}
            )
        return losses, weight_sum

    # -- the end ------------------------------------------------------------------------------
    def finish(self, target: float) -> Outcome:
        """Send the final model to the end for verification; the outcome of the replay."""
        v, server, end = self.view, self.server, self.end
        s, e = self.ends()
        leg = float(v.transfer[s, e]) if s is not None and e is not None else math.inf
        utility = self.utility()
        if math.isfinite(leg):
            self.t += leg + float(v.verify_time)
            if server != end:
                self.moved += self.nbytes
            loss, acc = evaluate(self.global_model, self.data.test_x, self.data.test_y)
            self.emit(
                Step(self.t, end, "verify", loss, acc, self.nbytes if server != end else 0, utility)
            )
            finish = self.t
        else:
            self.notes.append(f"the end {end!r} is unreachable from the aggregator {server!r}")
            finish = math.inf
        rounds_done = sum(1 for s_ in self.steps if s_.action == "round")
        notes = [f"{rounds_done} FedAvg rounds over {len(self.chosen)} selected clients"]
        notes += self.notes
        if self.waiting:
            notes.append(
                f"sat out rounds waiting for their window: {', '.join(sorted(self.waiting))}"
            )
        summary = self._summary(finish, utility, target)
        return Outcome(self.label or "federated", "federated", self.steps, summary, "fedavg",
                       self.seed, notes)  # fmt: skip

    def _summary(self, finish: float, utility: float, target: float) -> Summary:
        wall = time.perf_counter() - self.wall0
        deadline = self.request.deadline
        b, train_wall = self.base, self.train_wall
        return Summary(
            final_accuracy=self.steps[-1].accuracy,
            time_to_target=time_to_target(self.steps, target),
            target_accuracy=target,
            bytes_moved=self.moved,
            finish_time=finish,
            deadline=deadline,
            deadline_met=math.isfinite(finish) and (deadline is None or finish <= deadline + 1e-9),
            utility_collected=utility,
            planned_utility=float(sum(b.utility[b.ids.index(n)] for n in self.chosen)),
            visited=sorted(self.participated),
            skipped=self.skipped,
            wall_time=wall,
            train_wall_time=train_wall,
            overhead_per_step_ms=1000 * max(0.0, wall - train_wall) / max(1, len(self.steps)),
            samples_per_second=self.trained / train_wall if train_wall > 0 else 0.0,
        )
