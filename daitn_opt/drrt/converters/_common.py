"""Shared pieces of the benchmark converters: numbers with located errors, and benchmark nodes.

A converted benchmark point becomes a :class:`~daitn_opt.drrt.snapshot.DataNode` with local
compute and one ``Dataset(modality="benchmark", task=<family>)``, so that it is eligible for the
instance's request; its score is the dataset's utility (``samples * quality``), its service time
the compute's per-visit ``overhead_s`` (the request's model has zero FLOPs per sample, so training
takes exactly the service time).
"""

from __future__ import annotations

import math
from pathlib import Path

from ...errors import InputError
from ...io import read_text
from ..requests import TrainingRequest, TrainModel
from ..snapshot import Compute, DataNode, Dataset, Position, Window

MODALITY = "benchmark"


def nonempty(text: str, source: str) -> None:
    """Raise an :class:`InputError` on empty (or all-blank) text."""
    if not text.strip():
        raise InputError("file", source, "is empty")


def lines(text: str) -> list[tuple[int, list[str]]]:
    """Non-blank lines as ``(1-based line number, whitespace tokens)``."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if tokens:
            out.append((number, tokens))
    return out


def to_float(token: str, field: str, where: str) -> float:
    """``token`` as a finite float; an :class:`InputError` naming ``field`` otherwise."""
    try:
        value = float(token)
    except ValueError:
        raise InputError(field, token, f"not a number ({where})") from None
    if not math.isfinite(value):
        raise InputError(field, token, f"not a finite number ({where})")
    return value


def to_int(token: str, field: str, where: str) -> int:
    """``token`` as an integer (``"12"``; ``"12.0"`` is accepted, ``"12.5"`` is not)."""
    try:
        return int(token)
    except ValueError:
        pass
    value = to_float(token, field, where)
    if value != int(value):
        raise InputError(field, token, f"not an integer ({where})")
    return int(value)


def score_dataset(score: float, task: str, field: str, where: str) -> Dataset:
    """A dataset whose utility ``samples * quality`` equals ``score`` exactly.

    An integer score ``S`` is ``S`` clean samples (quality 1). A fractional score is represented
    exactly in binary floating point: ``samples = 2**m``, the smallest power of two ``>= S``, and
    ``quality = S / 2**m`` in ``(0.5, 1]``; dividing and multiplying by a power of two is exact, so
    the view's ``samples * quality`` gives back ``S`` to the last bit.
    """
    if score < 0:
        raise InputError(field, score, f"a score must be >= 0 ({where})")
    if score == int(score):
        return Dataset(modality=MODALITY, task=task, samples=int(score))
    samples = 1 << max(0, math.ceil(math.log2(score)))
    if samples < score:  # log2 rounding at the boundary
        samples <<= 1
    quality = score / samples
    if samples * quality != score:  # cannot happen in IEEE arithmetic; guard, never silently wrong
        raise InputError(field, score, f"cannot be represented exactly ({where})")
    return Dataset(modality=MODALITY, task=task, samples=samples, quality=quality)


def point_node(
    node_id: str,
    xy: tuple[float, float] | None,
    dataset: Dataset,
    *,
    service: float = 0.0,
    window: tuple[float, float] | None = None,
) -> DataNode:
    """A benchmark point as an eligible data node (local compute, one benchmark dataset)."""
    return DataNode(
        id=node_id,
        position=None if xy is None else Position(x=xy[0], y=xy[1]),
        compute=Compute(overhead_s=service),
        datasets=[dataset],
        windows=[] if window is None else [Window(start=window[0], end=window[1])],
    )


def single_instance_options(fmt: str, sense: str | None, natural: str, index: int) -> None:
    """Reject ``--sense``/``--index`` values that a one-instance, fixed-sense format cannot honour."""
    if sense is not None and sense != natural:
        raise InputError("--sense", sense, f"{fmt} instances are always solved as {natural}")
    if index != 1:
        raise InputError("--index", index, f"a {fmt} file holds one instance; use 1")


def source_text(path: str | Path) -> tuple[str, str, str]:
    """``(text, file name, stem)`` of ``path``; :class:`InputError` if unreadable or empty."""
    path = Path(path)
    return read_text(path), path.name, path.stem


def route_request(
    fmt: str, start: str, end: str, budget: float, routes: int = 1
) -> TrainingRequest:
    """The one ``max_utility`` request of a routing benchmark: from ``start`` to ``end`` within
    ``budget`` with ``routes`` replicas and a weightless model (a route's time is its length)."""
    return TrainingRequest(
        id=fmt,
        owner=start,
        start=start,
        end=end,
        modality=MODALITY,
        task=fmt,
        model=TrainModel(name="route", size_mb=0, gflop_per_sample=0),
        deadline=budget,
        replicas=routes,
        objective="max_utility",
    )
