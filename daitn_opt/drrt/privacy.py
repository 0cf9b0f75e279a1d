"""Differentially private reporting of the DRRT (DA-ITN open question 2).

A data node's report reveals statistics of the people in its data: how many samples it holds,
how they split by label, how many are correctly labelled. :func:`privatise` returns the snapshot
as nodes would report it under epsilon-differential privacy (the **Laplace mechanism**), per
dataset, with neighbouring datasets differing by one record added or removed:

- the label histogram (when given): each bin + Laplace(``2 / epsilon``); one record changes one
  bin by 1, so the L1 sensitivity is 1 and the histogram uses ``epsilon / 2``;
- the sample count: without a histogram, ``samples`` + Laplace(``2 / epsilon``) (sensitivity 1,
  ``epsilon / 2``); with one, the sum of the released bins (post-processing, no extra budget);
- the quality: the count of correctly labelled samples ``quality * samples`` + Laplace(``2 /
  epsilon``) (sensitivity 1, ``epsilon / 2``), divided by the released sample count.

Sequential composition over the two releases gives ``epsilon`` per dataset; datasets hold
different people, so by parallel composition the whole snapshot is ``epsilon``-DP for any one
person. Released counts are rounded and clipped at 0, and the quality clipped to [0, 1]: post-
processing, which keeps the guarantee. Node kinds, links, compute, trust, ages and modality are
infrastructure metadata and are reported as they are.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from .snapshot import Dataset, Snapshot

MECHANISM = "Laplace, per dataset: histogram (or count) and correct-label count, epsilon/2 each"


def laplace_scale(epsilon: float, sensitivity: float = 1.0, share: float = 0.5) -> float:
    """Scale ``b`` of the Laplace noise for a release of ``share * epsilon``."""
    return sensitivity / (share * epsilon)


def _private_dataset(d: Dataset, epsilon: float, rng: np.random.Generator) -> Dataset:
    b = laplace_scale(epsilon)
    if d.labels:
        names = sorted(d.labels)
        noisy = np.array([d.labels[k] for k in names], float) + rng.laplace(0.0, b, len(names))
        counts = np.maximum(0, np.rint(noisy)).astype(int)
        labels = {k: int(c) for k, c in zip(names, counts, strict=True)}
        samples = int(counts.sum())
    else:
        labels = None
        samples = int(max(0, round(d.samples + rng.laplace(0.0, b))))
    correct = d.quality * d.samples + rng.laplace(0.0, b)
    quality = float(min(1.0, max(0.0, correct / samples))) if samples > 0 else 0.0
    return d.model_copy(update={"samples": samples, "labels": labels, "quality": quality})


def privatise(snapshot: Snapshot, epsilon: float, seed: int) -> Snapshot:
    """The snapshot as reported under ``epsilon``-DP (see the module docstring).

    Raises
    ------
    InputError
        ``epsilon`` is not a finite number > 0, or ``seed`` is negative.
    """
    if isinstance(epsilon, bool) or not isinstance(epsilon, int | float):
        raise InputError("epsilon", epsilon, "must be a number")
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise InputError("epsilon", epsilon, "must be a finite number > 0")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError("seed", seed, "must be an integer >= 0")
    rng = np.random.default_rng(seed)
    nodes = []
    for n in snapshot.nodes:
        if n.kind == "data" and n.datasets:
            ds = [_private_dataset(d, float(epsilon), rng) for d in n.datasets]
            n = n.model_copy(update={"datasets": ds})
        nodes.append(n)
    return snapshot.replace(nodes=nodes)


__all__ = ["MECHANISM", "laplace_scale", "privatise"]
