"""Shared helpers of the OAM tests."""

from __future__ import annotations

from typing import Any


def with_true_quality(instance: Any, node: str, quality: float, task: str = "breast-cancer"):
    """``instance``'s snapshot with ``node``'s datasets of ``task`` at ``quality`` (the truth a
    liar hides: 0.5 is label noise, 0.0 a label-flipping poisoner)."""
    snap = instance.snapshot
    nodes = []
    for n in snap.nodes:
        if n.id == node:
            sets = [
                d.model_copy(update={"quality": quality}) if d.task == task else d
                for d in n.datasets
            ]
            n = n.model_copy(update={"datasets": sets})
        nodes.append(n)
    return snap.replace(nodes=nodes)
