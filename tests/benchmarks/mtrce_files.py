"""Readers of the classic MTRCE benchmark files for the exact-solver tests and benchmarks.

Minimal, self-contained readers (TSPLIB, Tsiligirides/Chao OP, Chao TOP) that build a
:class:`daitn_opt.mtrce.Problem` directly from the file with the distance rules of
:mod:`daitn_opt.drrt.metrics`, plus the published values of ``instances/classic/README.md``.
They exist so that the exact solvers can be measured independently of the instance converters.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from daitn_opt.drrt.metrics import distance_matrix
from daitn_opt.mtrce.problem import Problem

BENCH = Path(__file__).resolve().parents[2] / "instances" / "classic"
TSPLIB = BENCH / "tsplib"
OP = BENCH / "op"
TOP = BENCH / "top"

CHAO_PROVEN = {
    # instances/classic/README.md, "Chao sets 64 and 66": optima proved there (HiGHS, GSEC).
    ("64", 15): 96, ("64", 20): 294, ("64", 25): 390, ("64", 40): 714, ("64", 45): 816,
    ("64", 50): 900, ("64", 55): 984, ("64", 60): 1062, ("64", 65): 1116, ("64", 70): 1188,
    ("64", 75): 1236, ("64", 80): 1284, ("66", 5): 10, ("66", 10): 40, ("66", 15): 120,
}  # fmt: skip


def tsplib_optima() -> dict[str, int]:
    """``name -> published optimal tour length`` (TSPLIB ``solutions`` file)."""
    out = {}
    for line in (TSPLIB / "solutions").read_text().splitlines():
        m = re.match(r"\s*(\S+)\s*:\s*(\d+)", line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def _explicit(values: np.ndarray, n: int, fmt: str) -> np.ndarray:
    mat = np.zeros((n, n))
    if fmt == "FULL_MATRIX":
        return values[: n * n].reshape(n, n)
    if fmt in ("LOWER_DIAG_ROW", "UPPER_DIAG_ROW"):
        rows, cols = np.tril_indices(n) if fmt == "LOWER_DIAG_ROW" else np.triu_indices(n)
    elif fmt in ("LOWER_ROW", "UPPER_ROW"):
        rows, cols = np.tril_indices(n, -1) if fmt == "LOWER_ROW" else np.triu_indices(n, 1)
    else:
        raise ValueError(f"unsupported EDGE_WEIGHT_FORMAT {fmt}")
    mat[rows, cols] = values[: len(rows)]
    return np.maximum(mat, mat.T)


def tsplib_problem(name: str) -> Problem:
    """The TSP of TSPLIB file ``name`` as an MTRCE problem (tour from the first city)."""
    text = (TSPLIB / f"{name}.tsp").read_text()
    header = dict(re.findall(r"^\s*([A-Z_]+)\s*:\s*(.+?)\s*$", text, flags=re.M))
    n = int(header["DIMENSION"])
    kind = header["EDGE_WEIGHT_TYPE"]
    if kind == "EXPLICIT":
        body = text.split("EDGE_WEIGHT_SECTION", 1)[1]
        body = re.split(r"DISPLAY_DATA_SECTION|EOF", body)[0]
        travel = _explicit(np.array(body.split(), dtype=float), n, header["EDGE_WEIGHT_FORMAT"])
    else:
        body = text.split("NODE_COORD_SECTION", 1)[1].split("EOF")[0]
        rows = np.array(body.split(), dtype=float).reshape(-1, 3)[:n]
        travel = distance_matrix(rows[:, 1], rows[:, 2], kind)
    np.fill_diagonal(travel, 0.0)
    return Problem(
        ids=[str(i + 1) for i in range(n)],
        start=0,
        end=0,
        travel=travel,
        service=np.zeros(n),
        utility=np.zeros(n),
        mandatory=np.arange(1, n),
        objective="min_time",
        name=name,
    )


def op_problem(path: Path) -> Problem:
    """An OP file (Tsiligirides / Chao): budget, then ``x y score``; start first, end second."""
    lines = path.read_text().split("\n")
    tmax = float(lines[0].split()[0])
    pts = np.array(" ".join(lines[1:]).split(), dtype=float).reshape(-1, 3)
    n = len(pts)
    return Problem(
        ids=[str(i) for i in range(n)],
        start=0,
        end=1,
        travel=distance_matrix(pts[:, 0], pts[:, 1], "EUCLIDEAN"),
        service=np.zeros(n),
        utility=pts[:, 2],
        deadline=tmax,
        name=path.stem,
    )


def top_problem(path: Path) -> Problem:
    """A Chao TOP file: ``n``, ``m`` routes, ``tmax``; start first, end last."""
    lines = path.read_text().split("\n")
    m = int(lines[1].split()[1])
    tmax = float(lines[2].split()[1])
    pts = np.array(" ".join(lines[3:]).split(), dtype=float).reshape(-1, 3)
    n = len(pts)
    return Problem(
        ids=[str(i) for i in range(n)],
        start=0,
        end=n - 1,
        travel=distance_matrix(pts[:, 0], pts[:, 1], "EUCLIDEAN"),
        service=np.zeros(n),
        utility=pts[:, 2],
        deadline=tmax,
        k=m,
        name=path.stem,
    )


def op_instances() -> list[tuple[str, Path, float, bool]]:
    """``(label, path, reference value, proven optimal)`` of Tsiligirides 1-3 and Chao 64/66.

    Tsiligirides: the ``results-chao.log`` values, all re-proved optimal (README). Chao: the
    optimum where the README lists one, else the best value in the literature logs.
    """
    best: dict[tuple[str, float], float] = {}
    for log in (OP / "literature_values_vns_dopn").glob("*.log"):
        for line in log.read_text().splitlines():
            m = re.match(r"NAME:(.+?);METHOD:.*?;BUDGET:([\d.]+);REWARDS:([\d.]+);", line)
            if m:
                key = (m.group(1), float(m.group(2)))
                best[key] = max(best.get(key, 0.0), float(m.group(3)))
    chao_log = {}
    for line in (OP / "literature_values_vns_dopn" / "results-chao.log").read_text().splitlines():
        m = re.match(r"NAME:(.+?);METHOD:.*?;BUDGET:([\d.]+);REWARDS:([\d.]+);", line)
        if m:
            chao_log[(m.group(1), float(m.group(2)))] = float(m.group(3))
    out = []
    for set_no in (1, 2, 3):
        for path in sorted((OP / f"tsiligirides_{set_no}").glob("*.txt")):
            budget = float(path.read_text().split()[0])
            key = (f"Tsiligirides Set {set_no}", budget)
            if key in chao_log:
                out.append((f"tsil{set_no}-{budget:g}", path, chao_log[key], True))
    for set_no, label in (("64", "Chao diamond-shaped Set"), ("66", "Chao squared-shaped Set")):
        for path in sorted((OP / f"chao_set_{set_no}").glob("*.txt")):
            budget = float(path.read_text().split()[0])
            proven = CHAO_PROVEN.get((set_no, int(budget)))
            ref = proven if proven is not None else best.get((label, budget))
            if ref is not None:
                out.append((f"chao{set_no}-{budget:g}", path, float(ref), proven is not None))
    return out


def top_reference() -> dict[str, float]:
    """Chao et al.'s TOP values per file (``chaoResults.txt``; heuristic, best known often higher)."""
    out = {}
    for line in (TOP / "chaoResults.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            out[parts[0]] = float(parts[1])
    return out
