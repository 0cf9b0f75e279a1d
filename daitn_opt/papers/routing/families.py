"""The routing paper's instance families and, per family, which solvers run at which limit.

The problem: issue 13 names four classic families (orienteering: Chao's and Tsiligirides' sets;
OPLib; TSPLIB; OPTW), each with its own reference values, size range and solver line-up. This
module says, as data, which files make a family, how big each instance is (read from the file,
before any conversion), which solvers run on it at which time limit (a *leg*), and which small
stratified subset ``--quick`` takes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CLASSIC = ROOT / "instances" / "classic"


@dataclass(frozen=True)
class Leg:
    """One solver of a family at its time limit; ``applies(n)`` picks the instances it runs on."""

    solver: str
    limit: Callable[[int], float]
    applies: Callable[[int], bool] = lambda n: True
    exact: bool = False
    note: str = ""
    """How the limit depends on size (shown on the page)."""


@dataclass(frozen=True)
class Family:
    """A family of instance files of one converter format, with its solver legs."""

    name: str
    title: str
    fmt: str
    """``daitn-opt convert`` format of the files."""
    groups: tuple[tuple[str, str], ...]
    """(label, glob under ``instances/classic``) per subset: the strata of ``--quick``."""
    legs: tuple[Leg, ...]
    reference: str
    """What ``benchmark.best_known`` is for this family (the page's wording)."""
    classes: tuple[tuple[int, int], ...]
    """Size classes (nodes, inclusive) of the tables."""
    quick: int = 1
    """Instances per group in ``--quick``."""

    def files(self) -> list[tuple[str, Path]]:
        """(group label, path) of every file of the family, sorted within each group."""
        return [(label, p) for label, pattern in self.groups for p in sorted(CLASSIC.glob(pattern))]


def _const(seconds: float) -> Callable[[int], float]:
    return lambda n: seconds


def _oplib_limit(n: int) -> float:
    """Issue 13: 2 s for n <= 200, 10 s up to 1,000 nodes."""
    return 2.0 if n <= 200 else 10.0


SMALL_TSP = 150
"""TSPLIB instances up to this many cities also get the exact ``highs`` run."""
LARGE_TSP = 443
"""TSPLIB instances from this many cities up (OPLib's graphs, 493-1,000) run at 5 s, not 1 s."""


def _tsp_limit(n: int) -> float:
    """Issue 13: 1 s for n <= 300 (and up to pcb442), 5 s for n ~ 1,000 (here 493-1,000)."""
    return 1.0 if n < LARGE_TSP else 5.0


TSP_NOTE = "1 s for n <= 442, 5 s above"

FAMILIES: tuple[Family, ...] = (
    Family(
        "op",
        "Orienteering: Chao sets 64 and 66, Tsiligirides sets 1-3",
        "op",
        (
            ("tsiligirides 1", "op/tsiligirides_1/*.txt"),
            ("tsiligirides 2", "op/tsiligirides_2/*.txt"),
            ("tsiligirides 3", "op/tsiligirides_3/*.txt"),
            ("chao 64", "op/chao_set_64/*.txt"),
            ("chao 66", "op/chao_set_66/*.txt"),
        ),
        (
            Leg("ils", _const(2.0), note="2 s"),
            Leg("pyvrp", _const(2.0), note="2 s"),
            Leg("highs", _const(60.0), exact=True, note="60 s"),
        ),
        "the optimum where proved (Tsiligirides 1-3; Chao 64/66 except 64: 30, 35 and 66: 20-130), "
        "else the best value in the literature logs (`instances/classic/README.md`)",
        ((1, 40), (41, 64), (65, 66)),
    ),
    Family(
        "oplib",
        "OPLib (generations 1-4, n <= 1,000) against EA4OP",
        "oplib",
        tuple((f"gen{g}", f"oplib/gen{g}/*.oplib") for g in (1, 2, 3, 4)),
        (
            Leg("ils", _oplib_limit, note="2 s for n <= 200, 10 s above"),
            Leg("pyvrp", _oplib_limit, note="2 s for n <= 200, 10 s above"),
        ),
        "the score of EA4OP's published route (Kobeaga, Merino & Lozano 2018, C&OR 90:42-59), "
        "rescored here; a heuristic value, not an optimum",
        ((1, 99), (100, 149), (150, 200), (201, 400), (401, 700), (701, 1000)),
    ),
    Family(
        "tsplib",
        "TSPLIB (65 symmetric instances, 14-1,000 cities)",
        "tsplib",
        (("tsplib", "tsplib/*.tsp"),),
        (
            Leg("ils", _tsp_limit, note=TSP_NOTE),
            Leg("lkh", _tsp_limit, note=TSP_NOTE),
            Leg("pyvrp", _tsp_limit, note=TSP_NOTE),
            Leg(
                "highs",
                _const(60.0),
                applies=lambda n: n <= SMALL_TSP,
                exact=True,
                note=f"60 s, n <= {SMALL_TSP}",
            ),
        ),
        "the proven optimal tour length (TSPLIB's `solutions`; the 493-1,000-city graphs are "
        "OPLib's copies of TSPLIB's, `instances/classic/README.md`)",
        ((1, 99), (100, 199), (200, 442), (443, 1000)),
        quick=3,
    ),
    Family(
        "optw",
        "OPTW: Solomon's c1/r1/rc1 (n = 100) and Cordeau's pr01-pr10",
        "optw",
        (("solomon", "optw/solomon_100/*.txt"), ("cordeau", "optw/cordeau_pr01_10/*.txt")),
        (
            Leg("ils", _const(2.0), note="2 s"),
            Leg("optw-dp", _const(60.0), exact=True, note="60 s"),
            Leg("cpsat", _const(60.0), exact=True, note="60 s"),
            Leg("highs", _const(60.0), exact=True, note="60 s"),
        ),
        "Righini & Salani's (2009) values (proved optima where their runs finished)",
        ((1, 99), (100, 100), (101, 288)),
    ),
)
"""Issue 13's line-up, in the order the pages list them."""


def family(name: str) -> Family:
    for fam in FAMILIES:
        if fam.name == name:
            return fam
    raise KeyError(name)


def size(path: Path, fmt: str) -> int:
    """Nodes of a benchmark file, read from its text (no conversion).

    TSPLIB and OPLib files state ``DIMENSION``; an OP file has one header line and an OPTW file
    two before one line per point.
    """
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    if fmt in ("tsplib", "oplib"):
        for line in lines:
            key, _, value = line.partition(":")
            if key.strip().upper() == "DIMENSION":
                return int(value)
        raise ValueError(f"{path}: no DIMENSION")
    return len(lines) - (1 if fmt == "op" else 2)


def quick_subset(fam: Family, sized: list[tuple[str, Path, int]]) -> list[tuple[str, Path, int]]:
    """A small stratified subset: ``fam.quick`` files per group, spread over the group's sizes.

    Group ``g`` of ``G`` contributes the files at the quantiles ``(g + (j + 0.5) / q) / G`` of
    its size order (``q = fam.quick``), so the groups together sample small to large. OPLib's
    sample stays at n <= 200 (the large ones need 10 s per run), TSPLIB's at n <= 442 (5 s).
    """
    labels = [label for label, _ in fam.groups]
    chosen = []
    for g, label in enumerate(labels):
        pool = sorted((s for s in sized if s[0] == label), key=lambda s: (s[2], s[1].name))
        if fam.name == "oplib":
            pool = [s for s in pool if s[2] <= 200]
        if fam.name == "tsplib":
            pool = [s for s in pool if s[2] < LARGE_TSP]
        for j in range(min(fam.quick, len(pool))):
            q = (g + (j + 0.5) / fam.quick) / len(labels)
            chosen.append(pool[min(len(pool) - 1, int(q * len(pool)))])
    return chosen
