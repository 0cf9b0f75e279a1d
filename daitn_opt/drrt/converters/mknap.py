"""Convert OR-Library multidimensional 0-1 knapsack files (``mknap1``, ``mknapcb*``) to instances.

The multidimensional knapsack (MKP) is T-FAM admission with one candidate plan per request and one
abstract resource per constraint: item j is a request whose only plan has value ``p[j]`` and uses
``w[i, j]`` of resource ``c{i+1}``; the capacities are the right-hand sides. Maximise the profit of
the admitted items (``formulations/tfam.md``).

File layout (OR-Library, J.E. Beasley; ``instances/classic/mknap/``): the number of instances K,
then per instance ``n m opt`` (items, constraints, the optimal value; 0 when unknown), n profits,
an m x n weight matrix (one row per constraint) and m capacities, all whitespace-separated.

For Chu and Beasley's ``mknapcb*`` files the header value is 0; their best values are in
``mkcbres.txt`` (first table, problem ``{m}.{n}-{k:02d}`` for the (k+1)-th instance), read from
the same folder when present.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from ...errors import InputError
from ..instance import (
    AdmissionPlan,
    AdmissionRequest,
    AdmissionResource,
    AdmissionSpec,
    BenchmarkInfo,
    Instance,
)
from ..snapshot import Snapshot

_SOURCE = "OR-Library mknap (J.E. Beasley); Chu and Beasley (1997), J. Heuristics 4:63-86"


def _tokens(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except OSError as exc:
        raise InputError("path", str(path), f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError("path", str(path), "is not a text file") from None
    return text.split()


def _number(tok: str, what: str, path: Path) -> float:
    try:
        value = float(tok)
    except ValueError:
        raise InputError(f"{path.name}: {what}", tok, "expected a number") from None
    if not math.isfinite(value):
        raise InputError(f"{path.name}: {what}", tok, "expected a finite number")
    return value


def parse_mknap(
    path: str | Path, index: int = 1
) -> tuple[list[float], list[list[float]], list[float], float]:
    """Read instance ``index`` (1-based) of an OR-Library mknap file.

    Returns
    -------
    profits, weights, capacities, header_value
        ``weights[i][j]`` is item j's use of constraint i; ``header_value`` is the file's optimum
        (0 when the file does not give one).

    Raises
    ------
    InputError
        Unreadable file, truncated data, a non-number, or ``index`` out of range.
    """
    path = Path(path)
    toks = _tokens(path)
    if not toks:
        raise InputError("path", str(path), "is empty")
    pos = 0

    def take(count: int, what: str) -> list[float]:
        nonlocal pos
        if pos + count > len(toks):
            raise InputError(
                f"{path.name}: {what}", len(toks) - pos, f"file ends; expected {count} numbers"
            )
        out = [_number(t, what, path) for t in toks[pos : pos + count]]
        pos += count
        return out

    (k_float,) = take(1, "number of instances")
    k = int(k_float)
    if k < 1 or k != k_float:
        raise InputError(
            f"{path.name}: number of instances", k_float, "expected a positive integer"
        )
    if not 1 <= index <= k:
        raise InputError("index", index, f"the file holds instances 1..{k}")
    for inst in range(1, index + 1):
        n_f, m_f, opt = take(3, f"instance {inst} header (n m opt)")
        n, m = int(n_f), int(m_f)
        if n < 1 or m < 1 or n != n_f or m != m_f:
            raise InputError(
                f"{path.name}: instance {inst} header",
                (n_f, m_f),
                "n and m must be positive integers",
            )
        profits = take(n, f"instance {inst} profits")
        flat = take(n * m, f"instance {inst} weights")
        caps = take(m, f"instance {inst} capacities")
    weights = [flat[i * n : (i + 1) * n] for i in range(m)]
    for what, values in (("profits", profits), ("weights", flat), ("capacities", caps)):
        bad = [v for v in values if v < 0]
        if bad:
            raise InputError(f"{path.name}: instance {index} {what}", bad[0], "must be >= 0")
    return profits, weights, caps, opt


def _chu_beasley_value(folder: Path, name: str) -> float | None:
    """The best value of problem ``name`` in ``mkcbres.txt``'s first table (None if absent)."""
    res = folder / "mkcbres.txt"
    if not res.is_file():
        return None
    for line in res.read_text(encoding="utf-8", errors="replace").splitlines():
        match = re.match(r"\s*(\d+\.\d+-\d+)\s+(\d+(?:\.\d+)?)\s*$", line)
        if match and match.group(1) == name:
            return float(match.group(2))  # the first table comes first: best feasible values
    return None


def convert(path: str | Path, *, sense: str | None = None, index: int = 1) -> Instance:
    """Convert instance ``index`` (1-based) of an OR-Library mknap file into an instance.

    The result holds an empty snapshot and an :class:`~daitn_opt.drrt.instance.AdmissionSpec`:
    resources ``c1..cm`` and one request ``item{j}`` (1-based) per item with one plan. Solve it
    with ``daitn-opt solve FILE --problem tfam``.

    Parameters
    ----------
    path
        ``mknap1.txt`` or ``mknapcb*.txt``.
    sense
        Must be None or ``"max"`` (the MKP maximises profit).
    index
        Which instance of the file, 1-based. Default 1.
    """
    path = Path(path)
    if sense not in (None, "max"):
        raise InputError("sense", sense, "the multidimensional knapsack maximises; use max")
    profits, weights, caps, header_value = parse_mknap(path, index)
    n, m = len(profits), len(caps)
    resources = [AdmissionResource(id=f"c{i + 1}", capacity=caps[i]) for i in range(m)]
    requests = [
        AdmissionRequest(
            id=f"item{j + 1}",
            arrival=float(j),
            plans=[
                AdmissionPlan(
                    value=profits[j],
                    use={f"c{i + 1}": weights[i][j] for i in range(m) if weights[i][j] != 0},
                )
            ],
        )
        for j in range(n)
    ]
    stem = path.stem
    if header_value > 0:
        known: float | None = header_value
        proven = True
        reference = f"optimal value in the header of {path.name} (OR-Library)"
    else:
        cb_name = f"{m}.{n}-{index - 1:02d}"
        known = _chu_beasley_value(path.parent, cb_name)
        proven = known is not None
        reference = (
            f"mkcbres.txt problem {cb_name}: Chu and Beasley (1997) best feasible value, "
            "proved optimal with HiGHS (benchmarks/README.md)"
            if known is not None
            else None
        )
    return Instance(
        name=f"{stem}-{index}",
        description=f"multidimensional 0-1 knapsack {stem} #{index}: {n} items, {m} constraints",
        snapshot=Snapshot(name=f"{stem}-{index}", nodes=[]),
        admission=AdmissionSpec(resources=resources, requests=requests),
        benchmark=BenchmarkInfo(
            family="mknap",
            source=f"{path.name} instance {index}; {_SOURCE}",
            sense="max",
            objective="total profit of the packed items",
            best_known=known,
            proven_optimal=proven,
            reference=reference,
        ),
    )
