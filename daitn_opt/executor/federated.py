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
from ..drrt.view import View, build_view
from ..errors import InputError
from .data import NetworkData, instance_network_data
from .dynamics import EventTimeline, NetworkState, describe
from .models import ModelFactory, configure_torch, model_bytes, resolve_model
from .outcome import Outcome, Step, Summary, time_to_target
from .sequential import Callback
from .training import TrainConfig, evaluate, train_local

SELECTIONS = ("all", "top-k", "random")


def select_clients(
    v: View, selection: str = "all", k: int | None = None, seed: int = 0
) -> list[str]:
    """A client set from the request's view.

    ``all``: every eligible data node; ``top-k``: the ``k`` of highest utility; ``random``:
    ``k`` drawn uniformly (seeded).
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


def replay_federated(
    instance: Instance,
    clients: Sequence[str] | dict | None = None,
    *,
    request_id: str | None = None,
    model: str | ModelFactory = "auto",
    seed: int = 0,
    rounds: int | None = None,
    selection: str = "all",
    k: int | None = None,
    events: EventTimeline | None = None,
    train: TrainConfig | None = None,
    threads: int | None = 1,
    target_accuracy: float = 0.9,
    data: NetworkData | None = None,
    label: str | None = None,
    callback: Callback | None = None,
) -> Outcome:
    """Replay FedAvg over ``clients`` (or a selection from the view) as real training.

    Parameters
    ----------
    clients
        Client node ids (or a solution document, see :func:`clients_of`); None: pick them with
        ``selection`` and ``k`` (:func:`select_clients`).
    rounds
        Number of rounds; None: as many as fit before the deadline (10 without a deadline).
    events
        Applied at the start of every round: a client that is down or no longer eligible sits
        the round out.

    Raises
    ------
    InputError
        A client that is not an eligible data node of the request's view.
    """
    configure_torch(threads)
    request = instance.request(request_id)
    base = build_view(instance.snapshot, request, instance.travel)
    chosen = select_clients(base, selection, k, seed) if clients is None else clients_of(clients)
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
    if rounds is not None and rounds < 1:
        raise InputError("rounds", rounds, "must be at least 1")
    data = data or instance_network_data(instance, request, seed=seed)
    factory = resolve_model(model)
    train = train or TrainConfig()
    torch.manual_seed(seed)
    global_model = factory(data.in_shape, data.num_classes)
    worker = factory(data.in_shape, data.num_classes)
    nbytes = model_bytes(global_model)
    gen = torch.Generator().manual_seed(seed)
    server, end = base.ids[base.start], base.ids[base.end]
    deadline = request.deadline
    limit = rounds if rounds is not None else (10 if deadline is None else 10_000)
    by_deadline = rounds is None and deadline is not None
    waiting: set[str] = set()

    state = NetworkState(instance.snapshot, events or EventTimeline())
    wall0 = time.perf_counter()
    train_wall = 0.0
    w0 = time.perf_counter()
    loss, acc = evaluate(global_model, data.test_x, data.test_y)
    train_wall += time.perf_counter() - w0
    steps = [Step(0.0, server, "start", loss, acc)]
    t, moved, trained = 0.0, 0, 0
    participated: set[str] = set()
    skipped: list[str] = []
    notes: list[str] = []
    v = base

    def emit(step: Step) -> None:
        steps.append(step)
        if callback is not None:
            callback("step", {"label": label, "step": step})

    for r in range(limit):
        for ev in state.advance(t):
            emit(Step(t, "*", "event", note=describe(ev)))
        if state.version:
            req = request.model_copy(update={"mandatory": []})
            v = build_view(state.snapshot(), req, instance.travel)
        s = v.ids.index(server) if server in v.ids else None
        e = v.ids.index(end) if end in v.ids else None
        if s is None or e is None:
            notes.append(f"round {r}: the aggregator or the end is down; stopping")
            break
        active, durations = [], []
        deferred: list[tuple[str, float]] = []
        for node in chosen:
            if node not in v.ids or not state.is_up(node):
                if node not in skipped:
                    skipped.append(node)
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
            active, durations = [n for n, _ in deferred], [d for _, d in deferred]
        else:
            waiting.update(n for n, _ in deferred)
        finish_after = v.transfer[s, e] + v.verify_time
        if by_deadline:
            # Deadline-driven rounds: the aggregator does not wait for a client whose round
            # cannot end before the deadline (it sits this round out).
            fits = [t + d + finish_after <= deadline + 1e-9 for d in durations]
            late = [n for n, ok in zip(active, fits, strict=True) if not ok]
            active = [n for n, ok in zip(active, fits, strict=True) if ok]
            durations = [d for d, ok in zip(durations, fits, strict=True) if ok]
            if late and r == 0:
                notes.append(f"too slow to finish a round before the deadline: {', '.join(late)}")
        if not active:
            if rounds is not None or deadline is None:
                notes.append(f"round {r + 1}: no client available; stopping")
            break
        duration = float(max(durations))
        global_state = {k_: p.detach().clone() for k_, p in global_model.state_dict().items()}
        total = {k_: torch.zeros_like(p, dtype=torch.float32) for k_, p in global_state.items()}
        weight_sum = 0
        losses = []
        w0 = time.perf_counter()
        for node in active:
            local = data.nodes.get(node)
            if local is None or local.samples == 0:
                continue
            worker.load_state_dict(global_state)
            losses.append(train_local(worker, local.x, local.y, request.epochs, train, gen))
            for k_, p in worker.state_dict().items():
                total[k_] += local.samples * p.float()
            weight_sum += local.samples
            trained += local.samples * request.epochs
        if weight_sum:
            global_model.load_state_dict(
                {k_: (total[k_] / weight_sum).to(global_state[k_].dtype) for k_ in total}
            )
        loss, acc = evaluate(global_model, data.test_x, data.test_y)
        train_wall += time.perf_counter() - w0
        t += duration
        moved += 2 * nbytes * len(active)
        participated.update(active)
        utility = float(sum(base.utility[base.ids.index(n)] for n in participated))
        emit(
            Step(
                t,
                "*",
                "round",
                float(np.mean(losses)) if losses else math.nan,
                acc,
                2 * nbytes * len(active),
                utility,
                weight_sum * request.epochs,
                f"round {r + 1}: {len(active)} clients, slowest {active[int(np.argmax(durations))]}",
            )
        )
    # Final model to the end for verification.
    s = v.ids.index(server) if server in v.ids else None
    e = v.ids.index(end) if end in v.ids else None
    leg = float(v.transfer[s, e]) if s is not None and e is not None else math.inf
    utility = float(sum(base.utility[base.ids.index(n)] for n in participated))
    if math.isfinite(leg):
        t += leg + float(v.verify_time)
        if server != end:
            moved += nbytes
        loss, acc = evaluate(global_model, data.test_x, data.test_y)
        emit(Step(t, end, "verify", loss, acc, nbytes if server != end else 0, utility))
        finish = t
    else:
        notes.append(f"the end {end!r} is unreachable from the aggregator {server!r}")
        finish = math.inf
    wall = time.perf_counter() - wall0
    summary = Summary(
        final_accuracy=steps[-1].accuracy,
        time_to_target=time_to_target(steps, target_accuracy),
        target_accuracy=target_accuracy,
        bytes_moved=moved,
        finish_time=finish,
        deadline=deadline,
        deadline_met=math.isfinite(finish) and (deadline is None or finish <= deadline + 1e-9),
        utility_collected=utility,
        planned_utility=float(sum(base.utility[base.ids.index(n)] for n in chosen)),
        visited=sorted(participated),
        skipped=skipped,
        wall_time=wall,
        train_wall_time=train_wall,
        overhead_per_step_ms=1000 * max(0.0, wall - train_wall) / max(1, len(steps)),
        samples_per_second=trained / train_wall if train_wall > 0 else 0.0,
    )
    rounds_done = sum(1 for s_ in steps if s_.action == "round")
    notes.insert(0, f"{rounds_done} FedAvg rounds over {len(chosen)} selected clients")
    if waiting:
        notes.append(f"sat out rounds waiting for their window: {', '.join(sorted(waiting))}")
    return Outcome(label or "federated", "federated", steps, summary, "fedavg", seed, notes)
