"""The OAM planner's model keeps every fitted part of the outcome model; only the data changes."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from daitn_opt.mtrce.calibration import OutcomeModel
from daitn_opt.oam.aligned import model_with_estimates


def test_estimates_replace_the_data_and_keep_every_fitted_part(monkeypatch) -> None:
    import daitn_opt.oam.aligned as aligned

    basis = object()
    swapped = object()
    monkeypatch.setattr(aligned, "estimated_basis", lambda b, est, task: swapped)
    monkeypatch.setattr(OutcomeModel, "scale", lambda self: np.array([2.0, 3.0]))
    model = OutcomeModel(
        basis, 0.1, 0.7, 2.0, 0.5, 0.4, 0.9, None, "samples", np.array([0.01, -0.02])
    )
    got = model_with_estimates(model, estimates=None, task="t")
    assert got.basis is swapped
    for f in fields(OutcomeModel):
        if f.name != "basis":
            assert np.array_equal(getattr(got, f.name), getattr(model, f.name)) or (
                getattr(got, f.name) is getattr(model, f.name)
            ), f.name
    assert got.forgetting == "samples"
    assert np.array_equal(got.scale(), [2.0, 3.0])
