"""Model factories and the bytes a hop moves."""

from __future__ import annotations

import pytest
import torch

from daitn_opt.errors import InputError
from daitn_opt.executor.models import MODELS, configure_torch, model_bytes, parameter_count


@pytest.mark.parametrize(
    ("name", "shape", "classes", "params"),
    [
        ("logreg", (30,), 2, 30 * 2 + 2),
        ("mlp", (30,), 2, 30 * 64 + 64 + 64 * 2 + 2),
        ("cnn", (1, 8, 8), 10, (9 * 16 + 16) + (16 * 4 * 4 * 10 + 10)),
    ],
)
def test_factories_shapes_and_bytes(name, shape, classes, params):
    model = MODELS[name](shape, classes)
    out = model(torch.zeros((5, *shape)))
    assert out.shape == (5, classes)
    assert parameter_count(model) == params
    assert model_bytes(model) == 4 * params  # float32


def test_cnn_needs_images_and_threads_are_set():
    with pytest.raises(InputError, match="needs image input"):
        MODELS["cnn"]((30,), 2)
    assert configure_torch(1) == 1 and torch.get_num_threads() == 1
    with pytest.raises(InputError):
        configure_torch(0)
