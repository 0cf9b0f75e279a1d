"""Converters from classic benchmark formats into daitn-opt instances.

Each format has a module exposing ``convert(path, *, sense=None, index=1) -> Instance`` (and, for
the routing formats, ``parse(text, ...)`` on text and ``read(path)`` on a file, as in vrplib):

- ``tsplib``: TSPLIB TSP/ATSP (EUC_2D, CEIL_2D, ATT, GEO, EXPLICIT matrices) -> MTRCE ``min_time``;
- ``op``: orienteering, Tsiligirides/Chao format -> MTRCE ``max_utility`` with a budget;
- ``oplib``: orienteering, OPLib's TSPLIB syntax (``TYPE : OP``) -> the same, closed at the depot;
- ``top``: team orienteering, Chao format -> the same with ``k`` routes;
- ``optw``: orienteering with time windows (Solomon/Cordeau-based TOPTW files) -> with windows;
- ``gap``: OR-Library generalized assignment -> QIRCE placement (``sense`` min or max);
- ``mknap``: OR-Library multidimensional knapsack -> T-FAM admission.

Modules are imported on demand, so a missing optional converter only affects its own format.
Converted instances keep the benchmark's units, numbering and objective sense, and carry the
published value in ``instance.benchmark`` (:mod:`daitn_opt.drrt.converters.known`).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from pydantic import ValidationError

from ...errors import InputError
from ..instance import Instance, validation_to_input_error

FORMATS: tuple[str, ...] = ("tsplib", "op", "oplib", "top", "optw", "gap", "mknap")


def convert(fmt: str, path: str | Path, *, sense: str | None = None, index: int = 1) -> Instance:
    """Convert the benchmark file ``path`` of format ``fmt`` into an instance.

    Parameters
    ----------
    fmt
        One of :data:`FORMATS` (case-insensitive).
    path
        The benchmark file.
    sense
        ``"min"`` or ``"max"``; needed by ``gap`` (its files do not say), otherwise it must be the
        format's own sense or None.
    index
        Which instance of a multi-instance file (``gap``, ``mknap``), 1-based; 1 otherwise.

    Raises
    ------
    InputError
        For an unknown format (listing the known ones) and for every malformed file.
    """
    name = str(fmt).strip().lower()
    if name not in FORMATS:
        raise InputError("FORMAT", fmt, f"unknown; expected one of {', '.join(FORMATS)}")
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise InputError("FORMAT", fmt, "the converter of this format is not installed") from None
    try:
        return module.convert(path, sense=sense, index=index)
    except ValidationError as exc:
        # A value the file holds but an instance may not (beyond the bounds of a quantity).
        err = validation_to_input_error(exc)
        raise InputError(f"{Path(path).name}: {err.field}", err.value, err.reason) from None


__all__ = ["FORMATS", "convert"]
