"""Differentially private DRRT reports (open question 2)."""

from __future__ import annotations

import numpy as np
import pytest

from daitn_opt.drrt.generators import generate
from daitn_opt.drrt.privacy import laplace_scale, privatise
from daitn_opt.errors import InputError
from daitn_opt.papers.daitn.prototype import three_node


def _first(snapshot):
    return snapshot.node("h1").datasets[0]


def test_reports_stay_valid_and_keep_metadata():
    s = three_node()
    p = privatise(s, 1.0, seed=3)
    d = _first(p)
    assert sum(d.labels.values()) == d.samples  # the histogram still matches the count
    assert 0.0 <= d.quality <= 1.0
    assert d.age_days == _first(s).age_days and d.modality == "tabular"
    assert p.links == s.links and p.node("c1") == s.node("c1")


def test_same_seed_same_report_other_seed_other_report():
    s = three_node()
    assert privatise(s, 0.5, 7) == privatise(s, 0.5, 7)
    assert privatise(s, 0.5, 7) != privatise(s, 0.5, 8)


def test_noise_matches_the_laplace_scale():
    """Over many seeds the count error has mean ~0 and the Laplace std sqrt(2) * b * sqrt(bins)."""
    s = three_node()
    eps = 1.0
    err = np.array([_first(privatise(s, eps, k)).samples - 1000 for k in range(400)])
    b = laplace_scale(eps)
    assert b == 2.0
    assert abs(err.mean()) < 0.6
    # two bins: var = 2 * 2 b^2 (+ 1/12 of rounding)
    assert 0.8 * np.sqrt(4 * b * b) < err.std() < 1.2 * np.sqrt(4 * b * b)


def test_error_shrinks_with_epsilon():
    inst = generate("healthcare", nodes=8, seed=0)
    true = [d.samples for n in inst.snapshot.of_kind("data") for d in n.datasets]

    def mae(eps):
        errs = []
        for k in range(20):
            p = privatise(inst.snapshot, eps, k)
            got = [d.samples for n in p.of_kind("data") for d in n.datasets]
            errs.append(np.mean(np.abs(np.subtract(got, true))))
        return float(np.mean(errs))

    assert mae(10.0) < mae(1.0) < mae(0.1)


@pytest.mark.parametrize("eps", [0, -1, float("inf"), float("nan"), True, "1"])
def test_bad_epsilon(eps):
    with pytest.raises(InputError):
        privatise(three_node(), eps, 0)
