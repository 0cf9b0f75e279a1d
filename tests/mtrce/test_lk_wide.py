"""lk.ils's whole-tour kicks (``wide``) and its warm-up."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from daitn_opt.mtrce import lk

pytestmark = pytest.mark.skipif(not lk.HAVE_NUMBA, reason="the compiled search needs numba")


def circle(n: int) -> np.ndarray:
    angle = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    xy = np.stack([np.cos(angle), np.sin(angle)], axis=1) * 100
    return np.round(np.linalg.norm(xy[:, None] - xy[None], axis=2))


@pytest.mark.parametrize("wide", [0.0, lk.WIDE, 1.0])
def test_every_kick_share_returns_the_optimal_tour_of_points_on_a_circle(wide):
    """On a circle the optimum is the circle order; with any share of whole-tour kicks (1.0: all
    of them) the search returns a tour of every node of exactly that length."""
    n = 40
    dist = circle(n)
    optimum = sum(dist[k, (k + 1) % n] for k in range(n))
    start = np.concatenate([[0], np.random.default_rng(1).permutation(np.arange(1, n)), [0]])
    nbrs = np.argsort(dist, axis=1)[:, 1:9]
    best, kicks = lk.ils(
        dist, start, nbrs, np.random.default_rng(0), lambda: False, iterations=300, wide=wide
    )
    assert kicks == 300
    assert best[0] == best[-1] == 0 and sorted(best[:-1].tolist()) == list(range(n))
    assert sum(dist[a, b] for a, b in itertools.pairwise(best)) == optimum


def test_warm_up_runs():
    lk.warm_up()
