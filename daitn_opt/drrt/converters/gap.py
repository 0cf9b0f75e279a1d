"""OR-Library generalized assignment (GAP) files -> QIRCE instances.

File format (Beasley, OR-Library ``gapinfo``): the number of instances P, then per instance
``m n`` (agents, jobs), an m x n cost (or profit) matrix, an m x n resource matrix (one row per
agent) and the m agent capacities. The files do not state the sense: as published, gap1-gap12
are maximisation problems (Osman 1995; Cattrysse, Salomon and Van Wassenhove 1994) and gapa-gapd
are minimisation problems (Chu and Beasley 1997; Yagiura et al.), so ``sense`` is required.

In the instance, each agent is an MDFP node ``agent-i`` and each job a user node ``job-j`` with
one unit demand for the placeholder model ``job`` (1-based numbering as in the file); the
matrices go into :class:`~daitn_opt.drrt.instance.PlacementSpec` unchanged, so the QIRCE
objective is the file's own sum of costs (or profits) in its own sense.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import InputError
from ..instance import BenchmarkInfo, Instance, PlacementSpec
from ..requests import InferenceModel
from ..snapshot import Facility, MDFPNode, QueryDemand, Snapshot, UserNode

KNOWN_OPTIMA: dict[str, list[float]] = {
    "gap1": [336, 327, 339, 341, 326],
    "gap2": [434, 436, 420, 419, 428],
    "gap3": [580, 564, 573, 570, 564],
    "gap4": [656, 644, 673, 647, 664],
    "gap5": [563, 558, 564, 568, 559],
    "gap6": [761, 759, 758, 752, 747],
    "gap7": [942, 949, 968, 945, 951],
    "gap8": [1133, 1134, 1141, 1117, 1127],
    "gap9": [709, 717, 712, 723, 706],
    "gap10": [958, 963, 960, 947, 947],
    "gap11": [1139, 1178, 1195, 1171, 1171],
    "gap12": [1451, 1449, 1433, 1447, 1446],
    "gapa": [1698, 3235, 1360, 2623, 1158, 2339],
    "gapb": [1843, 3552, 1407, 2827, 1166, 2339],
    "gapc": [1931, 3456, 1402, 2806, 1243, 2391],
    "gapd": [6353],
}
"""Proven optima per file and instance (1-based order). Source: OR-Library ``gapinfo`` (Beasley;
gap1-12 as maximisation) and the table in ``shared/benchmarks/README.md`` (gapa-gapc, gapd
instance 1), all re-proved there with HiGHS. gapd 2-6 have published optima (Nauss 2003) that
are not reproduced here, so they carry no value."""

KNOWN_SIZES: dict[str, list[tuple[int, int]]] = {
    **{f"gap{k}": [(5, 15 + 5 * (k - 1))] * 5 for k in range(1, 5)},
    **{f"gap{k}": [(8, 24 + 8 * (k - 5))] * 5 for k in range(5, 9)},
    **{f"gap{k}": [(10, 30 + 10 * (k - 9))] * 5 for k in range(9, 13)},
    **{f"gap{t}": [(5, 100), (5, 200), (10, 100), (10, 200), (20, 100), (20, 200)] for t in "abcd"},
}
"""(agents, jobs) of each published instance: a value is attached only when the file matches."""

SENSES = ("min", "max")
PUBLISHED_SENSE = {**{f"gap{k}": "max" for k in range(1, 13)}, **{f"gap{t}": "min" for t in "abcd"}}


def _tokens(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").split()
    except OSError as exc:
        raise InputError("path", str(path), f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError("path", str(path), "is not a text file") from None


def parse(text_tokens: list[str], source: str = "gap") -> list[tuple[np.ndarray, ...]]:
    """Parse the tokens of a GAP file into ``[(cost, load, capacity), ...]`` per instance.

    ``cost`` and ``load`` are (m, n) arrays, ``capacity`` (m,).

    Raises
    ------
    InputError
        On a non-numeric token, a truncated file or a negative size.
    """
    try:
        values = np.asarray([float(t) for t in text_tokens])
    except ValueError as exc:
        raise InputError(
            source, str(exc).split(": ")[-1], "non-numeric token in GAP file"
        ) from None
    if values.size == 0:
        raise InputError(source, "", "empty GAP file")
    finite = np.isfinite(values)
    if not finite.all():
        bad = text_tokens[int(np.flatnonzero(~finite)[0])]
        raise InputError(source, bad, "not a finite number in GAP file")
    pos = 0

    def take(count: int, what: str) -> np.ndarray:
        nonlocal pos
        if pos + count > values.size:
            raise InputError(source, values.size, f"file ends while reading {what}")
        out = values[pos : pos + count]
        pos += count
        return out

    count = take(1, "the number of instances")[0]
    if count < 1 or count != int(count):
        raise InputError(source, count, "the number of instances must be a positive integer")
    out = []
    for k in range(int(count)):
        m, n = take(2, f"the size of instance {k + 1}")
        if m < 1 or n < 1 or m != int(m) or n != int(n):
            raise InputError(f"{source}[{k + 1}]", (m, n), "agents and jobs must be positive")
        m, n = int(m), int(n)
        cost = take(m * n, f"the costs of instance {k + 1}").reshape(m, n)
        load = take(m * n, f"the resources of instance {k + 1}").reshape(m, n)
        cap = take(m, f"the capacities of instance {k + 1}")
        if (load < 0).any() or (cap < 0).any():
            raise InputError(f"{source}[{k + 1}]", "negative", "resources must be >= 0")
        out.append((cost, load, cap))
    return out


def convert(path: str | Path, *, sense: str | None = None, index: int = 1) -> Instance:
    """Read instance ``index`` (1-based) of the OR-Library GAP file at ``path``.

    Parameters
    ----------
    path
        A gap*.txt file.
    sense
        ``"max"`` (gap1-gap12) or ``"min"`` (gapa-gapd); required, since the files do not say.
    index
        Which instance of the file, 1-based. Default 1.

    Raises
    ------
    InputError
        Missing or unknown sense, index out of range, unreadable or malformed file.
    """
    path = Path(path)
    if sense not in SENSES:
        raise InputError(
            "sense",
            sense,
            "GAP files do not state it: use max for gap1-gap12, min for gapa-gapd",
        )
    instances = parse(_tokens(path), source=str(path))
    if not 1 <= index <= len(instances):
        raise InputError("index", index, f"{path.name} holds instances 1..{len(instances)}")
    cost, load, cap = instances[index - 1]
    m, n = cost.shape
    stem = path.stem
    agents = [
        MDFPNode(
            id=f"agent-{i + 1}",
            facility=Facility(memory_gb=0.0, throughput=float(cap[i])),
        )
        for i in range(m)
    ]
    # The SLO is irrelevant (the placement matrices make every pair eligible) but must be set.
    jobs = [
        UserNode(id=f"job-{j + 1}", demands=[QueryDemand(model="job", rate=1.0, slo_ms=1e9)])
        for j in range(n)
    ]
    # The published value applies only to the published file: same name, size and sense.
    known = KNOWN_OPTIMA.get(stem, [])
    sizes = KNOWN_SIZES.get(stem, [])
    matches = (
        index <= len(known)
        and index <= len(sizes)
        and sizes[index - 1] == (m, n)
        and PUBLISHED_SENSE.get(stem) == sense
    )
    best = float(known[index - 1]) if matches else None
    info = BenchmarkInfo(
        family="gap",
        source=f"OR-Library {path.name}, instance {index} of {len(instances)}",
        sense=sense,  # type: ignore[arg-type]
        objective="total profit" if sense == "max" else "total cost",
        best_known=best,
        proven_optimal=best is not None,
        reference="Beasley, OR-Library gapinfo; optima re-proved in shared/benchmarks/README.md",
    )
    return Instance(
        name=f"{stem}-{index}",
        description=f"GAP {m} agents x {n} jobs ({sense}imise), from {path.name}",
        snapshot=Snapshot(name=f"{stem}-{index}", nodes=[*agents, *jobs]),
        models=[InferenceModel(id="job", memory_gb=0.0, service_ms=0.0)],
        placement=PlacementSpec(
            cost=cost.tolist(), load=load.tolist(), capacity=cap.tolist(), single_source=True
        ),
        benchmark=info,
    )
