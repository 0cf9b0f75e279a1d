"""What each hop of a sequential replay contributed, measured at the MPVU and at the node.

For every training visit of a replayed route (:class:`ObservedReplay`, a
:class:`~daitn_opt.executor.SequentialReplay` that lets OAM look at the travelling model between
hops; the replay itself is unchanged: same trace, same fingerprint):

- **validation-loss drop** and **accuracy gain** at the MPVU: the model is evaluated on the MPVU's
  held-out set when it arrives at the node and after it trained there;
- **Oort statistical utility** (Lai et al., "Oort: efficient federated learning via guided
  participant selection", OSDI 2021): ``|B_i| * sqrt(mean_k loss_k^2)`` over the node's samples,
  with the per-sample cross-entropy of the arriving model (Oort uses the losses of the first
  local pass);
- **label agreement**: the share ``g`` of the node's labels that a reference model predicts.
  From the model's confusion matrix on the MPVU's set (``M[c, k]``: share of class ``c`` predicted
  ``k``) and the node's label mix ``pi`` (its label histogram), the model is right on the node's
  clean data with probability ``a = sum_c pi_c M[c, c]`` and, when a label was flipped to one of
  the ``L - 1`` others uniformly (the executor's noise model), agrees with it with probability
  ``c = sum_c pi_c (1 - M[c, c]) / (L - 1)``. With clean labels in proportion ``q``,
  ``g = c + q (a - c)``, so ``q_hat = (g - c) / (a - c)``, clipped to [0, 1]. The reference is the
  model arriving at the node when ``a >= min_accuracy``; when it is weaker (the first hop starts
  from random weights), the verified final model is sent back for the same count (an "audit",
  inference only; it has trained on the node's labels, so ``q_hat`` is biased up there). The
  label mix of a noisy node is itself pulled towards uniform, a second-order bias.

The MPVU measurements use :attr:`ObservedReplay.validation` when set (:func:`split_holdout`
gives OAM its own part of the MPVU's set, so that the accuracy a replay reports is scored on
samples OAM never looked at). Only counts and loss sums leave a node, never samples. The samples a node trained on are read
from the trace (``Step.samples / epochs``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch
from torch.nn.functional import cross_entropy

from ..errors import InputError
from ..executor import NetworkData, Outcome, SequentialReplay
from ..executor.training import evaluate


@dataclass(frozen=True)
class HopMeasurement:
    """One training visit's measured contribution (see the module doc)."""

    node: str
    position: int
    """0-based index of the visit among the route's training visits."""
    time: float
    samples: int
    """Samples the node trained on (per epoch), from the trace."""
    train_loss: float
    val_loss_before: float
    val_loss_after: float
    accuracy_before: float
    accuracy_after: float
    oort_utility: float
    agreement: float
    """Share of the node's labels the reference model predicts (nan: not measured)."""
    reference_accuracy: float
    """Expected accuracy ``a`` on the node's label mix of the model whose agreement was counted."""
    quality: float | None
    """Estimated fraction of clean labels (None: the reference model was too weak)."""
    quality_source: str
    """``arriving``, ``audit`` or ``none``."""

    @property
    def loss_drop(self) -> float:
        return self.val_loss_before - self.val_loss_after

    @property
    def accuracy_gain(self) -> float:
        return self.accuracy_after - self.accuracy_before

    def to_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row.update(loss_drop=self.loss_drop, accuracy_gain=self.accuracy_gain)
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}


def quality_from_agreement(
    agreement: float,
    accuracy: float,
    classes: int,
    min_accuracy: float = 0.7,
    chance: float | None = None,
) -> float | None:
    """``q_hat = (g - c) / (a - c)`` clipped to [0, 1]; None when ``a < min_accuracy``.

    ``chance`` is ``c``, the agreement of the model with a flipped label (default
    ``(1 - a) / (L - 1)``: errors spread evenly over the other labels).
    """
    if not (math.isfinite(agreement) and math.isfinite(accuracy)) or classes < 2:
        return None
    c = (1.0 - accuracy) / (classes - 1) if chance is None else chance
    if accuracy < min_accuracy or accuracy - c <= 1e-9:
        return None
    return min(1.0, max(0.0, (agreement - c) / (accuracy - c)))


def split_holdout(
    data: NetworkData, share: float, seed: int
) -> tuple[NetworkData, tuple[torch.Tensor, torch.Tensor]]:
    """``(data with the rest of the MPVU's set as its test set, (validation x, validation y))``.

    A stratified, seeded ``share`` of the MPVU's held-out set becomes OAM's validation set.
    """
    if not 0 < share < 1:
        raise InputError("validation_share", share, "must be in (0, 1)")
    rng = np.random.default_rng(seed)
    y = data.test_y.numpy()
    val = []
    for c in range(data.num_classes):
        members = rng.permutation(np.flatnonzero(y == c))
        val.append(members[: round(share * len(members))])
    mask = np.zeros(len(y), dtype=bool)
    mask[np.concatenate(val)] = True
    if mask.all() or not mask.any():
        raise InputError("validation_share", share, f"leaves no sample on one side of {len(y)}")
    v_idx, t_idx = torch.from_numpy(np.flatnonzero(mask)), torch.from_numpy(np.flatnonzero(~mask))
    rest = replace(data, test_x=data.test_x[t_idx], test_y=data.test_y[t_idx])
    return rest, (data.test_x[v_idx], data.test_y[v_idx])


@torch.no_grad()
def _confusion(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, classes: int
) -> torch.Tensor:
    """Row-normalised confusion matrix ``M[c, k]`` of ``model`` on ``(x, y)`` (uniform rows for
    classes absent from ``y``)."""
    model.eval()
    pred = model(x).argmax(dim=1)
    m = torch.zeros(classes, classes, dtype=torch.float64)
    m.index_put_((y, pred), torch.ones(len(y), dtype=torch.float64), accumulate=True)
    rows = m.sum(dim=1, keepdim=True)
    return torch.where(rows > 0, m / rows.clamp(min=1), torch.full_like(m, 1.0 / classes))


@torch.no_grad()
def _local_stats(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, confusion: torch.Tensor
) -> tuple[float, float, float, float]:
    """(agreement, expected accuracy ``a``, flipped-label agreement ``c``, rms per-sample loss)
    of ``model`` on a node's data ``(x, y)``; see the module doc."""
    if int(y.shape[0]) == 0:
        return (math.nan,) * 4
    model.eval()
    logits = model(x)
    losses = cross_entropy(logits, y, reduction="none")
    agree = float((logits.argmax(dim=1) == y).float().mean())
    classes = confusion.shape[0]
    pi = torch.bincount(y, minlength=classes).double() / len(y)
    diag = torch.diagonal(confusion)
    a = float((pi * diag).sum())
    c = float((pi * (1 - diag)).sum()) / max(1, classes - 1)
    return agree, a, c, float(torch.sqrt((losses**2).mean()))


class ObservedReplay(SequentialReplay):
    """A :class:`SequentialReplay` whose travelling model OAM can read between hops.

    Same constructor and :meth:`run`; :meth:`measure` replays one route and returns the outcome
    with one :class:`HopMeasurement` per training visit. Only single-route (k = 1) plans.
    """

    _current: torch.nn.Module | None = None
    validation: tuple[torch.Tensor, torch.Tensor] | None = None
    """OAM's own held-out set at the MPVU (features, labels); None: the replay's test set."""

    def new_model(self) -> torch.nn.Module:
        model = super().new_model()
        self._current = model
        return model

    def measure(
        self, route: Sequence[str], *, label: str | None = None, min_accuracy: float = 0.7
    ) -> tuple[Outcome, list[HopMeasurement]]:
        """Replay ``route`` (static policy, no events) and measure every training visit."""
        route = list(route)
        data = self.data
        classes = data.num_classes
        vx, vy = self.validation or (data.test_x, data.test_y)
        holders = [n for n in route if n in data.nodes]
        arriving: dict[str, tuple[float, ...]] = {}
        # (val loss, val accuracy, agreement, a, c, rms loss) of the model arriving at a node

        def look_ahead(model: torch.nn.Module, after: int) -> None:
            if after >= len(holders):
                return
            node = holders[after]
            local = data.nodes[node]
            loss, acc = evaluate(model, vx, vy)
            conf = _confusion(model, vx, vy, classes)
            arriving[node] = (loss, acc, *_local_stats(model, local.x, local.y, conf))

        look_ahead(self.new_model(), 0)
        hops: list[tuple[Any, float, float]] = []

        def observe(kind: str, info: dict[str, Any]) -> None:
            step = info["step"]
            if kind != "step" or step.action != "train" or self._current is None:
                return
            loss, acc = evaluate(self._current, vx, vy)
            hops.append((step, loss, acc))
            if step.node in holders:
                look_ahead(self._current, holders.index(step.node) + 1)

        outcome = self.run({"routes": [route]}, label=label, callback=observe)
        final = self._current
        epochs = max(1, self.request.epochs)
        out: list[HopMeasurement] = []
        for pos, (step, loss_after, acc_after) in enumerate(hops):
            local = data.nodes.get(step.node)
            before = arriving.get(step.node, (math.nan,) * 6)
            quality, source = None, "none"
            agree, ref_acc, chance = before[2], before[3], before[4]
            if local is not None:
                quality = quality_from_agreement(agree, ref_acc, classes, min_accuracy, chance)
                source = "arriving" if quality is not None else "none"
                if quality is None and final is not None:
                    conf = _confusion(final, vx, vy, classes)
                    agree, ref_acc, chance, _ = _local_stats(final, local.x, local.y, conf)
                    quality = quality_from_agreement(agree, ref_acc, classes, min_accuracy, chance)
                    source = "audit" if quality is not None else "none"
            samples = step.samples // epochs
            out.append(
                HopMeasurement(
                    node=step.node,
                    position=pos,
                    time=step.time,
                    samples=samples,
                    train_loss=step.loss,
                    val_loss_before=before[0],
                    val_loss_after=loss_after,
                    accuracy_before=before[1],
                    accuracy_after=acc_after,
                    oort_utility=samples * before[5] if samples else 0.0,
                    agreement=agree,
                    reference_accuracy=ref_acc,
                    quality=quality,
                    quality_source=source,
                )
            )
        return outcome, out
