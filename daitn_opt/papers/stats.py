"""Statistics of the paper experiments: t confidence intervals, paired tests, rank correlation.

Small wrappers over scipy that handle the cases an experiment meets (one sample, constant data,
ties everywhere, infinite times for runs that never reached a target) and say so instead of
raising or returning a silent NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MeanCI:
    """Mean with a two-sided t confidence interval (``low``/``high`` None below two values)."""

    mean: float | None
    low: float | None
    high: float | None
    n: int

    @property
    def half_width(self) -> float | None:
        return None if self.high is None or self.mean is None else self.high - self.mean


def mean_ci(values: Sequence[float], level: float = 0.95) -> MeanCI:
    """Mean and t interval of the finite ``values`` (non-finite ones are dropped)."""
    from scipy.stats import t

    x = np.asarray([v for v in values if v is not None], dtype=np.float64)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return MeanCI(None, None, None, 0)
    mean = float(x.mean())
    if n == 1:
        return MeanCI(mean, None, None, 1)
    half = float(t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return MeanCI(mean, mean - half, mean + half, n)


@dataclass(frozen=True)
class Paired:
    """A paired Wilcoxon signed-rank test of ``a`` against ``b``."""

    n: int
    """Pairs compared (pairs with both values infinite or missing are dropped)."""
    better: int
    worse: int
    ties: int
    statistic: float | None
    p: float | None
    """Two-sided p-value; None when every pair is tied or fewer than two pairs differ."""


def paired_wilcoxon(
    a: Sequence[float], b: Sequence[float], *, higher_is_better: bool = True, tol: float = 1e-12
) -> Paired:
    """Wilcoxon signed-rank test of ``a - b`` (scipy, two-sided, zero differences dropped).

    Infinite values (a run that never reached a target) are allowed: a pair with one infinite
    value is ranked above every finite difference (by replacing inf with a value beyond the
    largest finite one); a pair with both infinite counts as a tie.
    """
    from scipy.stats import wilcoxon

    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} and {len(b)}")
    x = np.asarray([np.nan if v is None else v for v in a], dtype=np.float64)
    y = np.asarray([np.nan if v is None else v for v in b], dtype=np.float64)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    both_inf = np.isinf(x) & np.isinf(y) & (np.sign(x) == np.sign(y))
    finite = np.concatenate([x[np.isfinite(x)], y[np.isfinite(y)]])
    big = (np.abs(finite).max() if finite.size else 1.0) * 2 + 1
    xf = np.where(np.isinf(x), np.sign(x) * big, x)
    yf = np.where(np.isinf(y), np.sign(y) * big, y)
    d = np.where(both_inf, 0.0, xf - yf)
    if not higher_is_better:
        d = -d
    better = int((d > tol).sum())
    worse = int((d < -tol).sum())
    ties = len(d) - better - worse
    nz = d[np.abs(d) > tol]
    if len(nz) < 2:
        return Paired(len(d), better, worse, ties, None, None)
    res = wilcoxon(nz)
    return Paired(len(d), better, worse, ties, float(res.statistic), float(res.pvalue))


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation (scipy); None with fewer than 3 points or a constant side."""
    from scipy.stats import spearmanr

    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if len(a) != len(b):
        raise ValueError(f"samples differ in length: {len(a)} and {len(b)}")
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    rho = float(spearmanr(a, b).statistic)
    return None if math.isnan(rho) else rho


__all__ = ["MeanCI", "Paired", "mean_ci", "paired_wilcoxon", "spearman"]
