"""The hot path: local epochs of minibatch SGD on a node's tensors, and evaluation at the MPVU.

No DataLoader: the node's features and labels are tensors made once; each epoch draws one
permutation from a seeded :class:`torch.Generator`, gathers the shuffled tensors once, and slices
minibatches from them (views, no copies). The optimizer is created at every visit: only the
weights travel between nodes (DA-ITN moves the model, not its optimizer state).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.functional import cross_entropy

from ..errors import InputError


@dataclass(frozen=True)
class TrainConfig:
    """How a node trains the model it receives.

    Attributes
    ----------
    batch_size
        Minibatch size. Default 10, FedAvg's B = 10 (McMahan et al., AISTATS 2017). Hospitals hold
        a few to a few dozen samples of a task: with 32, a local epoch was one step at most nodes
        and a route of 1-5 epochs gathered 30-150 steps, too few for the digits CNN (0.1-0.35 on
        ten classes, and FedAvg's deadline-bound one or two rounds stayed at chance on
        breast-cancer). With 10 the same epochs make about three times the steps.
    lr
        Learning rate. Default 0.01: measured on the healthcare instance, a larger rate (0.05)
        lets every visit overwrite what earlier nodes taught (the final accuracy then depends
        mostly on the last node), so a route's data volume no longer shows in its accuracy.
        Plain SGD with momentum, reset at every node; Adam, whose first steps after a reset move
        every weight by about ``lr``, forgot more along label-skewed routes at equal central
        accuracy.
    momentum
        SGD momentum (reset at every node). Default 0.9.
    weight_decay
        L2 penalty. Default 0.
    optimizer
        ``"sgd"`` (with momentum) or ``"adam"`` (``momentum`` unused). Default ``"sgd"``.
    """

    batch_size: int = 10
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    optimizer: str = "sgd"

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise InputError("batch_size", self.batch_size, "must be at least 1")
        if not self.lr > 0:
            raise InputError("lr", self.lr, "must be positive")
        if self.optimizer not in ("sgd", "adam"):
            raise InputError("optimizer", self.optimizer, "expected sgd or adam")

    def make_optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        if self.optimizer == "adam":
            return torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        return torch.optim.SGD(
            model.parameters(), lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay
        )


def train_local(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    config: TrainConfig,
    generator: torch.Generator,
) -> float:
    """Train ``model`` in place for ``epochs`` passes over ``(x, y)``; return the mean batch loss.

    Parameters
    ----------
    model
        The model, trained in place.
    x, y
        The node's samples and labels (int64 class indices).
    epochs
        Passes over the samples, each in the order of a fresh permutation from ``generator``.
    config
        Minibatch size and optimizer (:class:`TrainConfig`); the optimizer starts afresh.
    generator
        Seeded torch generator of the minibatch order.

    Returns
    -------
    float
        Mean cross-entropy over the minibatches; ``nan`` when the node has no samples or
        ``epochs`` is 0 (nothing is trained).

    Notes
    -----
    O(epochs x samples) forward and backward passes: the replays' hot path.

    Examples
    --------
    >>> import torch
    >>> from daitn_opt.executor.models import logreg
    >>> _ = torch.manual_seed(0)
    >>> x, y = torch.randn(20, 3), torch.arange(20) % 2
    >>> loss = train_local(logreg((3,), 2), x, y, 1, TrainConfig(), torch.Generator().manual_seed(0))
    >>> 0 < loss < 2
    True
    """
    n = int(y.shape[0])
    if n == 0 or epochs <= 0:
        return float("nan")
    model.train()
    opt = config.make_optimizer(model)
    bs = config.batch_size
    total = torch.zeros(())
    steps = 0
    for _ in range(epochs):
        perm = torch.randperm(n, generator=generator)
        xs, ys = x[perm], y[perm]
        for start in range(0, n, bs):
            opt.zero_grad(set_to_none=True)
            loss = cross_entropy(model(xs[start : start + bs]), ys[start : start + bs])
            loss.backward()
            opt.step()
            total += loss.detach()
            steps += 1
    return float(total) / steps


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean cross-entropy loss, accuracy) of ``model`` on ``(x, y)``; (nan, nan) when empty.

    Examples
    --------
    >>> import torch
    >>> from daitn_opt.executor.models import logreg
    >>> loss, acc = evaluate(logreg((3,), 2), torch.zeros(4, 3), torch.tensor([0, 1, 0, 1]))
    >>> acc
    0.5
    """
    if int(y.shape[0]) == 0:
        return float("nan"), float("nan")
    model.eval()
    logits = model(x)
    loss = float(cross_entropy(logits, y))
    acc = float((logits.argmax(dim=1) == y).float().mean())
    return loss, acc


@dataclass(frozen=True)
class LocalProbe:
    """What the model arriving at a node predicts on the node's own labelled data, before it
    trains there (one forward pass: no gradient, no random draw, the weights untouched).

    Attributes
    ----------
    samples
        Samples of the node probed (all of them).
    loss
        Mean cross-entropy of the arriving model on them.
    rms_loss
        ``sqrt(mean loss_k^2)``: with ``samples``, Oort's statistical utility
        ``samples * rms_loss`` (Lai et al., OSDI 2021).
    agreement
        Share of the node's labels that the arriving model predicts.
    labels
        The node's label histogram (counts per class).
    """

    samples: int
    loss: float
    rms_loss: float
    agreement: float
    labels: tuple[int, ...]


@torch.no_grad()
def probe_local(model: nn.Module, x: torch.Tensor, y: torch.Tensor, classes: int) -> LocalProbe:
    """:class:`LocalProbe` of ``model`` on a node's ``(x, y)`` (nan figures when it is empty).

    Examples
    --------
    >>> import torch
    >>> from daitn_opt.executor.models import logreg
    >>> p = probe_local(logreg((3,), 2), torch.zeros(4, 3), torch.tensor([0, 1, 0, 0]), 2)
    >>> p.samples, p.labels, p.agreement in (0.25, 0.75)
    (4, (3, 1), True)
    """
    n = int(y.shape[0])
    counts = tuple(int(c) for c in torch.bincount(y, minlength=classes).tolist()) if n else ()
    if n == 0:
        return LocalProbe(0, math.nan, math.nan, math.nan, (0,) * classes)
    model.eval()
    logits = model(x)
    losses = cross_entropy(logits, y, reduction="none")
    agree = float((logits.argmax(dim=1) == y).double().mean())
    return LocalProbe(n, float(losses.mean()), float(torch.sqrt((losses**2).mean())), agree, counts)
