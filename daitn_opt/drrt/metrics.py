"""Distance functions of classic benchmarks, with their exact rounding rules.

TSPLIB (Reinelt 1991, "TSPLIB 95", Sec. 2): EUC_2D rounds to the nearest integer, CEIL_2D rounds
up, ATT is the pseudo-Euclidean distance of att48/att532, GEO the great-circle distance on the
idealised sphere of radius 6378.388 km from DDD.MM coordinates (degrees are truncated towards
zero, as in TSPLIB's FAQ and Concorde, not rounded as the 1995 document's ``nint`` suggests).
``EUCLIDEAN`` is the real (unrounded) distance used by orienteering benchmarks (Tsiligirides 1984;
Chao et al. 1996). ``EUCLIDEAN_FLOOR1`` / ``EUCLIDEAN_FLOOR2`` are Euclidean distances rounded
down to one / two decimals, the convention of the Solomon- and Cordeau-based OPTW instances
(Righini and Salani 2009; Vansteenwegen et al. 2009). Published optima depend on these rules to the
unit, so they are implemented exactly.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

Metric = Literal[
    "EUC_2D", "CEIL_2D", "ATT", "GEO", "EUCLIDEAN", "EUCLIDEAN_FLOOR1", "EUCLIDEAN_FLOOR2"
]
METRICS: tuple[str, ...] = get_args(Metric)


def _deltas(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x[:, None] - x[None, :], y[:, None] - y[None, :]


def distance_matrix(x: np.ndarray, y: np.ndarray, metric: str) -> np.ndarray:
    """Full distance matrix of points ``(x[i], y[i])`` under ``metric`` (float64)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if metric in ("EUC_2D", "CEIL_2D", "EUCLIDEAN"):
        dx, dy = _deltas(x, y)
        d = np.sqrt(dx * dx + dy * dy)
        if metric == "EUC_2D":
            return np.floor(d + 0.5)
        if metric == "CEIL_2D":
            return np.ceil(d)
        return d
    if metric in ("EUCLIDEAN_FLOOR1", "EUCLIDEAN_FLOOR2"):
        dx, dy = _deltas(x, y)
        scale = 10.0 if metric == "EUCLIDEAN_FLOOR1" else 100.0
        scaled = np.sqrt(dx * dx + dy * dy) * scale
        # Rounding to 1e-9 first removes floating-point noise from distances that are exact
        # decimals (e.g. 3-4-5 triangles with decimal coordinates) without moving any other value
        # across a grid point: an irrational sqrt of a short decimal is never that close to one.
        return np.floor(np.round(scaled, 9)) / scale
    if metric == "ATT":
        dx, dy = _deltas(x, y)
        r = np.sqrt((dx * dx + dy * dy) / 10.0)
        t = np.floor(r + 0.5)
        return np.where(t < r, t + 1.0, t)
    if metric == "GEO":
        lat, lon = _geo_radians(x), _geo_radians(y)
        q1 = np.cos(lon[:, None] - lon[None, :])
        q2 = np.cos(lat[:, None] - lat[None, :])
        q3 = np.cos(lat[:, None] + lat[None, :])
        arg = np.clip(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3), -1.0, 1.0)
        d = np.floor(6378.388 * np.arccos(arg) + 1.0)
        np.fill_diagonal(d, 0.0)
        return d
    raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")


def _geo_radians(coord: np.ndarray) -> np.ndarray:
    """TSPLIB's DDD.MM -> radians: whole degrees plus minutes/60, with TSPLIB's PI = 3.141592."""
    deg = np.trunc(coord)
    minutes = coord - deg
    return 3.141592 * (deg + 5.0 * minutes / 3.0) / 180.0
