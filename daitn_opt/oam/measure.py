"""What each hop of a sequential replay contributed, measured at the MPVU and at the node.

For every training visit of a replayed route (:class:`ObservedReplay`, a
:class:`~daitn_opt.executor.SequentialReplay` with its local probe on: before training at a node,
the arriving model is evaluated on the node's own labelled data, one forward pass
(:func:`~daitn_opt.executor.training.probe_local`); the replay itself is unchanged: same trace,
same fingerprint):

- **validation-loss drop** and **accuracy gain** at the MPVU: the model is evaluated on the MPVU's
  held-out set when it arrives at the node and after it trained there;
- **Oort statistical utility** (Lai et al., "Oort: efficient federated learning via guided
  participant selection", OSDI 2021): ``|B_i| * sqrt(mean_k loss_k^2)`` over the node's samples,
  with the per-sample cross-entropy of the arriving model on the node's data (Oort uses the
  losses of the first local pass), and that model's mean local loss;
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
  That bias is first-order for a label-flipping poisoner: its observed histogram is the *inverse*
  of its clean mix, so ``a`` and ``c`` are computed on the wrong classes, and a model that
  predicts one class (the untrained first hop) "agrees" with a node whose labels are mostly that
  class whatever ``q``. With ``label_mix="clean"`` (:func:`quality_from_probe`) the reference is
  computed on the clean mix implied by each candidate ``q`` (uniform flips: ``pi~ = beta pi +
  (1 - q) / (L - 1)``, ``beta = (L q - 1) / (L - 1)``), ``q_hat`` is the candidate whose predicted
  agreement is nearest the observed one, and the measurement is dropped (None, then an audit) when
  candidates on both sides of chance fit within the agreement's noise: the model cannot tell an
  honest node from a poisoner there.
- **its standard error** (:func:`quality_variance`, the delta method): the agreement is a share
  of ``n`` labels (binomial, ``g~ (1 - g~) / n`` with ``g~ = (n g + 1) / (n + 2)``); ``a`` is
  itself measured on the MPVU's set (``sum_c pi_c^2 M[c, c] (1 - M[c, c]) / m_c`` over its
  ``m_c`` samples of class ``c``) and the model may be more or less accurate on the node's clean
  data than there (``shift_sd``); an audit adds ``audit_sd`` for its upward bias. The OAM update
  rule (:mod:`.estimates`) weighs the measurement by it: a node with three samples teaches little.

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

from ..errors import InputError
from ..executor import NetworkData, Outcome, SequentialReplay
from ..executor.training import evaluate, probe_local


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
    quality_sd: float = math.inf
    """Standard error of ``quality`` (:func:`quality_variance`; inf when not measured)."""
    local_loss: float = math.nan
    """Mean cross-entropy of the arriving model on the node's data (before training there)."""

    @property
    def loss_drop(self) -> float:
        return self.val_loss_before - self.val_loss_after

    @property
    def accuracy_gain(self) -> float:
        return self.accuracy_after - self.accuracy_before

    def to_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row.update(loss_drop=self.loss_drop, accuracy_gain=self.accuracy_gain)
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()
        }


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


def quality_from_probe(
    agreement: float,
    samples: int,
    labels: Sequence[int],
    confusion: torch.Tensor,
    per_class: torch.Tensor,
    min_accuracy: float = 0.7,
    grid: int = 401,
) -> tuple[float | None, float, float, float]:
    """``(q_hat or None, a, c, Var(a))`` with the reference on the clean label mix implied by
    ``q_hat`` (``label_mix="clean"`` in the module doc).

    For every candidate ``q`` on a grid of [0, 1]: the clean mix ``pi(q)`` from the observed
    histogram ``labels`` (candidates that need a negative share are infeasible), ``a(q)``,
    ``c(q)`` and the predicted agreement ``c + q (a - c)``. ``q_hat`` is the feasible candidate
    nearest the observed agreement; None when the candidates within two binomial standard errors
    (plus 0.02) of it span more than 0.5 (both an honest and a poisoned node fit), or when
    ``a(q_hat) < min_accuracy``.
    """
    classes = confusion.shape[0]
    if samples <= 0 or classes < 2 or not math.isfinite(agreement):
        return None, math.nan, math.nan, math.nan
    obs = np.asarray(list(labels), dtype=np.float64)
    obs = obs / max(obs.sum(), 1.0)
    diag = torch.diagonal(confusion).numpy()
    q = np.linspace(0.0, 1.0, grid)
    beta = (classes * q - 1.0) / (classes - 1.0)
    ok = np.abs(beta) > 1e-6
    pi = (obs[None, :] - ((1.0 - q) / (classes - 1.0))[:, None]) / np.where(ok, beta, 1.0)[:, None]
    ok &= (pi >= -1e-9).all(axis=1)
    pi = np.clip(pi, 0.0, None)
    pi = pi / np.maximum(pi.sum(axis=1, keepdims=True), 1e-12)
    a = pi @ diag
    c = pi @ (1.0 - diag) / (classes - 1)
    miss = np.where(ok, np.abs(c + q * (a - c) - agreement), np.inf)
    if not np.isfinite(miss).any():
        return None, math.nan, math.nan, math.nan
    best = int(np.argmin(miss))
    g = (samples * agreement + 1.0) / (samples + 2.0)
    fits = q[miss <= miss[best] + 2.0 * math.sqrt(g * (1.0 - g) / samples) + 0.02]
    mix = torch.from_numpy(pi[best])
    var_a = float((mix**2 * torch.from_numpy(diag) * (1 - torch.from_numpy(diag))
                   / per_class.clamp(min=1)).sum())  # fmt: skip
    if fits.max() - fits.min() > 0.5 or a[best] < min_accuracy or a[best] - c[best] <= 1e-9:
        return None, float(a[best]), float(c[best]), var_a
    return float(q[best]), float(a[best]), float(c[best]), var_a


def quality_variance(
    agreement: float,
    samples: int,
    accuracy: float,
    chance: float,
    classes: int,
    accuracy_var: float = 0.0,
    shift_sd: float = 0.03,
) -> float:
    """Variance of ``q_hat = (g - c) / (a - c)`` (see the module doc; inf when undefined)."""
    d = accuracy - chance
    if samples <= 0 or d <= 1e-9 or not math.isfinite(agreement):
        return math.inf
    g = (samples * agreement + 1.0) / (samples + 2.0)
    q = min(1.0, max(0.0, (agreement - chance) / d))
    dc = 1.0 / max(1, classes - 1)  # c moves by -dc when a moves by +1 (errors spread evenly)
    dq_da = (d * dc - (agreement - chance) * (1.0 + dc)) / d**2
    var_g = g * (1.0 - g) / samples / d**2
    return var_g + dq_da**2 * accuracy_var + (q * shift_sd / d) ** 2


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


def _reference(
    confusion: torch.Tensor, per_class: torch.Tensor, labels: Sequence[int]
) -> tuple[float, float, float]:
    """(expected accuracy ``a``, flipped-label agreement ``c``, variance of ``a``) of a model
    with this MPVU ``confusion`` (on ``per_class`` samples of each class) on a node whose label
    histogram is ``labels``; see the module doc."""
    classes = confusion.shape[0]
    pi = torch.tensor(list(labels), dtype=torch.float64)
    pi = pi / pi.sum().clamp(min=1)
    diag = torch.diagonal(confusion)
    a = float((pi * diag).sum())
    c = float((pi * (1 - diag)).sum()) / max(1, classes - 1)
    var_a = float((pi**2 * diag * (1 - diag) / per_class.clamp(min=1)).sum())
    return a, c, var_a


class ObservedReplay(SequentialReplay):
    """A :class:`SequentialReplay` whose travelling model OAM can read between hops, with the
    executor's local probe on.

    Same constructor and :meth:`run`; :meth:`measure` replays one route and returns the outcome
    with one :class:`HopMeasurement` per training visit. Only single-route (k = 1) plans.
    """

    _current: torch.nn.Module | None = None
    validation: tuple[torch.Tensor, torch.Tensor] | None = None
    """OAM's own held-out set at the MPVU (features, labels); None: the replay's test set."""
    shift_sd: float = 0.03
    """See :func:`quality_variance`."""
    audit_sd: float = 0.1
    """Added standard error of an audit (the final model has trained on the node's labels)."""
    label_mix: str = "observed"
    """Label mix of the reference: ``observed`` (the node's histogram) or ``clean`` (implied by
    the quality, :func:`quality_from_probe`); see the module doc."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["probe"] = True
        super().__init__(*args, **kwargs)

    def new_model(self) -> torch.nn.Module:
        model = super().new_model()
        self._current = model
        return model

    def _judge(
        self,
        agreement: float,
        samples: int,
        confusion: torch.Tensor,
        per_class: torch.Tensor,
        labels: Sequence[int],
        min_accuracy: float,
    ) -> tuple[float | None, float, float, float]:
        """``(q_hat or None, a, c, Var(a))`` of one count, on :attr:`label_mix`'s reference."""
        if self.label_mix == "clean":
            return quality_from_probe(
                agreement, samples, labels, confusion, per_class, min_accuracy
            )
        a, c, var_a = _reference(confusion, per_class, labels)
        q = quality_from_agreement(agreement, a, confusion.shape[0], min_accuracy, c)
        return q, a, c, var_a

    def measure(
        self, route: Sequence[str], *, label: str | None = None, min_accuracy: float = 0.7
    ) -> tuple[Outcome, list[HopMeasurement]]:
        """Replay ``route`` (static policy, no events) and measure every training visit."""
        data = self.data
        classes = data.num_classes
        vx, vy = self.validation or (data.test_x, data.test_y)
        per_class = torch.bincount(vy, minlength=classes).double()

        def at_mpvu(model: torch.nn.Module) -> tuple[float, float, torch.Tensor]:
            loss, acc = evaluate(model, vx, vy)
            return loss, acc, _confusion(model, vx, vy, classes)

        arriving = [at_mpvu(self.new_model())]  # the model as it leaves the start
        hops: list[tuple[Any, Any, tuple[float, float, torch.Tensor]]] = []

        def observe(kind: str, info: dict[str, Any]) -> None:
            step = info["step"]
            if kind != "step" or step.action != "train" or self._current is None:
                return
            after = at_mpvu(self._current)
            hops.append((step, info.get("probe"), arriving[-1], after))
            arriving.append(after)

        outcome = self.run({"routes": [list(route)]}, label=label, callback=observe)
        final = self._current
        final_conf = None if final is None else at_mpvu(final)[2]
        epochs = max(1, self.request.epochs)
        out: list[HopMeasurement] = []
        for pos, (step, probe, before, after) in enumerate(hops):
            local = data.nodes.get(step.node)
            quality, source, sd = None, "none", math.inf
            agree = ref_acc = math.nan
            if local is not None and probe is not None and probe.samples:
                n = probe.samples
                agree = probe.agreement
                quality, ref_acc, chance, var_a = self._judge(
                    agree, n, before[2], per_class, probe.labels, min_accuracy
                )
                source, extra = "arriving", 0.0
                if quality is None and final is not None and final_conf is not None:
                    audit = probe_local(final, local.x, local.y, classes)
                    agree = audit.agreement
                    quality, ref_acc, chance, var_a = self._judge(
                        agree, n, final_conf, per_class, audit.labels, min_accuracy
                    )
                    source, extra = "audit", self.audit_sd**2
                if quality is None:
                    source = "none"
                else:
                    var = quality_variance(
                        agree, probe.samples, ref_acc, chance, classes, var_a, self.shift_sd
                    )
                    sd = math.sqrt(var + extra)
            samples = step.samples // epochs
            rms = probe.rms_loss if probe is not None else math.nan
            out.append(
                HopMeasurement(
                    node=step.node,
                    position=pos,
                    time=step.time,
                    samples=samples,
                    train_loss=step.loss,
                    val_loss_before=before[0],
                    val_loss_after=after[0],
                    accuracy_before=before[1],
                    accuracy_after=after[1],
                    oort_utility=samples * rms if samples and math.isfinite(rms) else 0.0,
                    agreement=agree,
                    reference_accuracy=ref_acc,
                    quality=quality,
                    quality_source=source,
                    quality_sd=sd,
                    local_loss=probe.loss if probe is not None else math.nan,
                )
            )
        return outcome, out
