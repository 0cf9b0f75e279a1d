"""A "ground truth" copy of a snapshot in which some nodes over-reported their data.

OAM matters only when reports differ from what the data is worth. :func:`misreport` models that
without touching the executor: the planner reads the reported snapshot, the executor builds its
local datasets (:func:`~daitn_opt.executor.build_network_data`) from the true copy, whose
quality becomes label noise and whose sample counts become the data trained on.

A data node holding a dataset of the task misreports with probability
``min(1, scale * (1 - trust))`` (seeded). A misreporter either over-reported its quality (its
true quality is drawn from ``quality_range``, never above the report) or its sample count (true
count = ``max(1, round(reported * f))`` with ``f`` from ``samples_range``; the label histogram is
scaled by largest remainders), with equal probability among ``kinds``.

The default lie (``quality``, true quality 0.5-0.6) is *noise*: on a binary task 40-50% of the
labels are flipped, which costs a travelling model little. The ``flip`` kind is the
label-flipping poisoner of the federated-learning literature (e.g. Tolpegin et al., "Data
poisoning attacks against federated learning systems", ESORICS 2020; Fang et al., USENIX
Security 2020): the node reports its honest-looking quality but most of its labels are inverted
(true quality from ``flip_range``, default 0-0.2, i.e. 80-100% of the labels flipped by the
executor's noise model), so training there unlearns the task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..drrt.snapshot import Snapshot
from ..errors import InputError

KINDS = ("quality", "samples", "flip")
"""The lies :func:`misreport` draws from (see the module doc)."""
SETTINGS: dict[str, dict[str, Any]] = {
    "noise": {},
    "poison": {
        "kinds": ("flip", "samples"),
        "exclude_harmful": True,
        "rule": "mixture",
        "label_mix": "clean",
    },
}
"""Misreport settings by name, each the parameters it changes (the ``kinds`` of
:func:`misreport`; the planner's ``exclude_harmful``, the estimates' ``rule`` and the
measurement's ``label_mix`` of :func:`daitn_opt.oam.run_oam`; fields of
:class:`daitn_opt.papers.oam.OAMSettings` alike). ``noise``: the first setting (a quality lie is
label noise); ``poison``: label-flipping poisoners, with the three changes they need
(``formulations/oam.md``): no arm plans on nodes it believes at or below chance, the
honest-or-liar update rule, the quality measured on the clean label mix (rule and mix chosen on
development seeds 200-207)."""


@dataclass(frozen=True)
class Misreport:
    """One node's lie: what it reported and what is true (per dataset of the task, summed)."""

    node: str
    kind: str
    """``quality`` (noise), ``flip`` (label-flipping poisoner) or ``samples``."""
    reported_samples: int
    true_samples: int
    reported_quality: float
    true_quality: float


def _scaled_histogram(labels: dict[str, int], total: int) -> dict[str, int]:
    names = list(labels)
    counts = np.array([labels[k] for k in names], dtype=np.float64)
    share = counts / counts.sum() * total
    take = np.floor(share).astype(np.int64)
    rest = total - int(take.sum())
    take[np.argsort(-(share - take), kind="stable")[:rest]] += 1
    return {k: int(v) for k, v in zip(names, take, strict=True)}


def misreport(
    snapshot: Snapshot,
    task: str,
    seed: int,
    *,
    scale: float = 1.0,
    quality_range: tuple[float, float] = (0.5, 0.6),
    samples_range: tuple[float, float] = (0.25, 0.5),
    kinds: tuple[str, ...] = ("quality", "samples"),
    flip_range: tuple[float, float] = (0.0, 0.2),
) -> tuple[Snapshot, list[Misreport]]:
    """``(true snapshot, the misreports)`` for ``task``; the reported snapshot is ``snapshot``.

    ``quality_range`` / ``flip_range``: the true quality of a ``quality`` / ``flip`` liar (drawn
    uniformly, never above the report); ``samples_range``: the share of the reported samples a
    ``samples`` liar holds; ``kinds``: the lies drawn from, with equal probability.
    """
    if not (np.isfinite(scale) and scale >= 0):
        raise InputError("scale", scale, "must be a finite number >= 0")
    ranges = {"quality": quality_range, "flip": flip_range}
    for name, rng_ in (
        ("quality_range", quality_range),
        ("flip_range", flip_range),
        ("samples_range", samples_range),
    ):
        if not (
            isinstance(rng_, tuple | list)
            and len(rng_) == 2
            and all(isinstance(x, int | float) and np.isfinite(x) for x in rng_)
            and 0 <= rng_[0] <= rng_[1] <= 1
        ):
            raise InputError(name, rng_, "expected (low, high) with 0 <= low <= high <= 1")
    if not kinds or any(k not in KINDS for k in kinds):
        raise InputError("kinds", kinds, f"expected a non-empty subset of {KINDS}")
    rng = np.random.default_rng(seed)
    nodes, lies = [], []
    for node in snapshot.nodes:
        datasets = [d for d in getattr(node, "datasets", []) if d.task == task]
        if node.kind != "data" or not datasets:
            nodes.append(node)
            continue
        # Three draws per node whatever happens, so that one node's outcome does not shift the
        # draws of the next.
        u_lie, u_kind, u_value = rng.random(3)
        if u_lie >= min(1.0, scale * (1.0 - node.trust)):
            nodes.append(node)
            continue
        kind = kinds[min(int(u_kind * len(kinds)), len(kinds) - 1)]
        new_sets = []
        for d in node.datasets:
            if d.task != task:
                new_sets.append(d)
                continue
            if kind in ranges:
                lo, hi = ranges[kind]
                q = lo + u_value * (hi - lo)
                new_sets.append(d.model_copy(update={"quality": min(d.quality, float(q))}))
            else:
                f = samples_range[0] + u_value * (samples_range[1] - samples_range[0])
                n = max(1, round(d.samples * f))
                labels = _scaled_histogram(d.labels, n) if d.labels else None
                new_sets.append(d.model_copy(update={"samples": n, "labels": labels}))
        rep = [d for d in node.datasets if d.task == task]
        tru = [d for d in new_sets if d.task == task]
        rs, ts = sum(d.samples for d in rep), sum(d.samples for d in tru)
        lies.append(
            Misreport(
                node.id,
                kind,
                rs,
                ts,
                sum(d.samples * d.quality for d in rep) / max(rs, 1),
                sum(d.samples * d.quality for d in tru) / max(ts, 1),
            )
        )
        nodes.append(node.model_copy(update={"datasets": new_sets}))
    return snapshot.replace(nodes=nodes), lies
