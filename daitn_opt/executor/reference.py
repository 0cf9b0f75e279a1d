"""Central references: the accuracy a route can at best approach.

A route trains one model on the data of the nodes it visits, one node after the other, under
label skew and label noise; its accuracy can at best approach that of the same model trained on
all the same samples *at one node* (shuffled together), for the same epochs, with the executor's
own training loop (:func:`~.training.train_local`), settings and seed. That is a central
reference; the replays and the demo report it next to every plan as its ceiling.

- :func:`central_reference`: a built-in model on a bundled data set (all of its training split
  at one node, clean labels, a stratified 20 % test split);
- :func:`pooled_reference`: all samples of some nodes of a :class:`~.data.NetworkData` (with
  their label noise) at one node, measured on the MPVU's test set: the ceiling of a request's
  routes over those nodes.

Both seed exactly as :class:`~.sequential.SequentialReplay` does: ``torch.manual_seed(seed)``
before the model is made (the same initial weights) and the minibatch order of replica 0.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from ..drrt.instance import Instance
from ..drrt.view import build_view
from ..errors import InputError
from .data import NetworkData, _stratified, instance_network_data, load_source
from .models import ModelFactory, configure_torch, resolve_model
from .outcome import Outcome
from .training import TrainConfig, evaluate, train_local


@dataclass(frozen=True)
class Reference:
    """One central training run and its accuracy on a held-out test set.

    Attributes
    ----------
    task, model
        Data set and model name (``"custom"`` for a factory).
    epochs, seed
        Passes over the pooled samples, and the seed of weights, split and minibatch order.
    samples
        Training samples held at the one node.
    test_samples
        Size of the test set.
    accuracy, loss
        Test accuracy and mean cross-entropy after training.
    wall_time
        Seconds of training and evaluation.
    """

    task: str
    model: str
    epochs: int
    seed: int
    samples: int
    test_samples: int
    accuracy: float
    loss: float
    wall_time: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def train_central(
    factory: ModelFactory,
    in_shape: tuple[int, ...],
    num_classes: int,
    x: torch.Tensor,
    y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    *,
    epochs: int,
    seed: int = 0,
    train: TrainConfig | None = None,
) -> tuple[float, float, float]:
    """Train a fresh model on ``(x, y)`` as replica 0 of a replay would; ``(loss, acc, seconds)``."""
    if epochs < 1:
        raise InputError("epochs", epochs, "must be at least 1")
    torch.manual_seed(seed)
    model = factory(in_shape, num_classes)
    gen = torch.Generator().manual_seed(seed * 1_000_003)
    t0 = time.perf_counter()
    train_local(model, x, y, epochs, train or TrainConfig(), gen)
    loss, acc = evaluate(model, test_x, test_y)
    return loss, acc, time.perf_counter() - t0


def central_reference(
    task: str = "digits",
    model: str | ModelFactory = "auto",
    *,
    epochs: int = 1,
    seed: int = 0,
    modality: str | None = None,
    train: TrainConfig | None = None,
    test_fraction: float = 0.2,
    threads: int | None = 1,
) -> Reference:
    """Train ``model`` on all of a bundled data set's training split at one node.

    Parameters
    ----------
    task
        ``"digits"`` or ``"breast-cancer"`` (scikit-learn's bundled sets); any other name is the
        generated data of :func:`~.data.load_source` (two classes).
    model
        A name in :data:`~.models.MODELS` or a factory.
    epochs
        Passes over the training split (the request's local epochs, to compare with a route).
    seed
        Seed of the test split, the initial weights and the minibatch order.
    modality
        Default ``"image"`` for digits (the CNN sees 8x8 images), ``"tabular"`` otherwise.
    train
        Training settings (default :class:`~.training.TrainConfig`).
    test_fraction
        Share of the data set held out, stratified by label.

    Raises
    ------
    InputError
        ``test_fraction`` outside (0, 1), ``epochs`` below 1, an unknown model.

    Notes
    -----
    Trains on the whole training split (455 breast-cancer or 1,437 digits samples) for
    ``epochs`` passes: seconds for the CNN on digits, so no example here.
    """
    if not 0 < test_fraction < 1:
        raise InputError("test_fraction", test_fraction, "must be in (0, 1)")
    configure_torch(threads)
    modality = modality or ("image" if task == "digits" else "tabular")
    source = load_source(task, modality, seed=seed)
    rng = np.random.default_rng(seed)
    test = _stratified(source.y, round(test_fraction * len(source.y)), source.num_classes, rng)
    keep = np.ones(len(source.y), dtype=bool)
    keep[test] = False

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a))

    x = tensor(source.x[keep].reshape((-1, *source.in_shape)))
    test_x = tensor(source.x[test].reshape((-1, *source.in_shape)))
    y, test_y = tensor(source.y[keep]), tensor(source.y[test])
    loss, acc, wall = train_central(
        resolve_model(model),
        source.in_shape,
        source.num_classes,
        x,
        y,
        test_x,
        test_y,
        epochs=epochs,
        seed=seed,
        train=train,
    )
    return Reference(
        task, _name(model), epochs, seed, int(y.shape[0]), int(test_y.shape[0]), acc, loss, wall
    )


def pooled_reference(
    data: NetworkData,
    model: str | ModelFactory = "auto",
    *,
    epochs: int,
    seed: int = 0,
    nodes: Iterable[str] | None = None,
    train: TrainConfig | None = None,
    threads: int | None = 1,
) -> Reference:
    """Train ``model`` on the samples of ``nodes`` (default: all) pooled at one node.

    The samples keep their label noise; the model is measured on the MPVU's test set of
    ``data``, as every replay on ``data`` is. With ``nodes`` the eligible data nodes of a
    request's view and ``epochs`` its local epochs, this is the ceiling of its routes.

    Raises
    ------
    InputError
        A node that holds no data of the task, or nodes without any sample.

    Examples
    --------
    >>> from daitn_opt.drrt.instance import load_instance
    >>> from daitn_opt.executor import instance_network_data
    >>> inst = load_instance("instances/healthcare-small.json")
    >>> data = instance_network_data(inst, inst.request("r1"), seed=0)
    >>> ref = pooled_reference(data, "logreg", epochs=1, nodes=["h02", "h07"])
    >>> ref.samples, ref.test_samples, ref.accuracy > 0.8
    (73, 119, True)
    """
    configure_torch(threads)
    ids = list(data.nodes) if nodes is None else list(nodes)
    unknown = [n for n in ids if n not in data.nodes]
    if unknown:
        raise InputError("nodes", unknown, f"hold no {data.task} data")
    parts = [data.nodes[n] for n in ids if data.nodes[n].samples]
    if not parts:
        raise InputError("nodes", ids, "hold no samples to train on")
    x = torch.cat([p.x for p in parts])
    y = torch.cat([p.y for p in parts])
    loss, acc, wall = train_central(
        resolve_model(model),
        data.in_shape,
        data.num_classes,
        x,
        y,
        data.test_x,
        data.test_y,
        epochs=epochs,
        seed=seed,
        train=train,
    )
    return Reference(
        data.task,
        _name(model),
        epochs,
        seed,
        int(y.shape[0]),
        int(data.test_y.shape[0]),
        acc,
        loss,
        wall,
    )


def _name(model: str | ModelFactory) -> str:
    return model if isinstance(model, str) else getattr(model, "__name__", "custom")


def ceiling_note(
    instance: Instance,
    outcome: Outcome,
    *,
    request_id: str | None = None,
    model: str | ModelFactory = "auto",
    seed: int = 0,
    train: TrainConfig | None = None,
) -> str:
    """A note that puts a replay's final accuracy next to its central references.

    Two ceilings, both trained with the replay's loop, seed and test set for the request's
    epochs: the samples of the nodes the replay trained on, and those of every eligible data node
    of the request's view (what the best route could gather).
    """
    req = instance.request(request_id)
    v = build_view(instance.snapshot, req, instance.travel)
    data = instance_network_data(instance, req, seed=seed)
    ends = (v.ids[v.start], v.ids[v.end])
    eligible = [n for n in v.ids if n not in ends and n in data.nodes]
    trained = sorted(
        {s.node for s in outcome.trace if s.action == "train" and s.node in data.nodes}
    )
    if outcome.mode == "federated":
        trained = [n for n in outcome.summary.visited if n in data.nodes]
    parts = []
    for label, nodes in (("its nodes", trained), ("all eligible nodes", eligible)):
        if any(data.nodes[n].samples for n in nodes):
            ref = pooled_reference(
                data, model, epochs=req.epochs, seed=seed, nodes=nodes, train=train
            )
            parts.append(f"{ref.accuracy:.3f} on {label} ({len(nodes)}, {ref.samples} samples)")
    if not parts:
        return "ceiling: no node with samples to train on centrally"
    return (
        f"ceiling (trained centrally at one node, {req.epochs} epoch(s), same seed and test set): "
        + "; ".join(parts)
        + f"; this replay: {outcome.summary.final_accuracy:.3f}"
    )
