"""Model factories the executor trains, and what moving a model costs in bytes.

A *model factory* is any callable ``factory(in_shape, num_classes) -> torch.nn.Module``; the
executor calls it once per replay with the shape of one sample (``(30,)`` for breast-cancer,
``(1, 8, 8)`` for digits) and the number of classes. :data:`MODELS` names the built-in ones:
multinomial logistic regression, a one-hidden-layer MLP and a small CNN for 8x8 digit images.
None uses batch normalisation: local datasets can hold a single sample, and a minibatch of one
has no batch statistics.

Only weights move between nodes: :func:`model_bytes` is the number of bytes of the parameters and
buffers (float32: 4 bytes each), which the replays count on every hop.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ..errors import InputError

ModelFactory = Callable[[tuple[int, ...], int], nn.Module]

DEFAULT_THREADS = 1
"""Torch intra-op threads used by default.

Measured on the shared 2-core machine: with another process busy on one core, torch's default of
two threads made small-model training 24-100x slower (the threads wait on each other); one thread
is as fast as two when the machine is idle, because these models are too small to split.
"""


def configure_torch(threads: int | None = DEFAULT_THREADS) -> int:
    """Set torch's intra-op thread count (``None`` leaves torch's default); return it.

    Parameters
    ----------
    threads
        Intra-op threads; default :data:`DEFAULT_THREADS` (1), None leaves torch's setting.

    Returns
    -------
    int
        Torch's thread count after the call.

    Raises
    ------
    InputError
        ``threads`` below 1.

    Examples
    --------
    >>> configure_torch(1)
    1
    """
    if threads is not None:
        if threads < 1:
            raise InputError("threads", threads, "must be at least 1")
        if torch.get_num_threads() != threads:
            torch.set_num_threads(int(threads))
    return torch.get_num_threads()


def logreg(in_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """Multinomial logistic regression: one linear layer on the flattened input."""
    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(in_shape), num_classes))


def mlp(in_shape: tuple[int, ...], num_classes: int, hidden: int = 64) -> nn.Module:
    """A multilayer perceptron with one hidden ReLU layer of ``hidden`` units."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(math.prod(in_shape), hidden),
        nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )


def cnn(in_shape: tuple[int, ...], num_classes: int, channels: int = 16) -> nn.Module:
    """A small CNN for single-channel images: one 3x3 conv block (ReLU, 2x2 max-pool), one linear layer.

    Sized for scikit-learn's 8x8 digits (16 channels, 2,730 parameters); flat inputs are rejected
    because a convolution needs a spatial layout.

    Why one block, not two: the earlier two-block CNN (8 and 16 channels, 1,898 parameters, a
    2x2 map before the linear layer) reached 0.92-0.96 on digits when trained centrally for 2-4
    epochs, but only 0.54-0.75 of it when the same epochs were spent along a route of
    label-skewed hospitals: it learned so slowly that the last few hospitals' labels decided its
    predictions. The one-block CNN keeps a 4x4 map (256 features) in front of the linear layer,
    learns in the first few dozen steps, and ends a full route at 0.80-0.95 of its central
    accuracy (measured over healthcare instances with 30 and 60 hospitals, seeds 0-3).
    """
    if len(in_shape) != 3:
        raise InputError("model", "cnn", f"needs image input (C, H, W), got shape {in_shape}")
    depth, height, width = in_shape
    flat = channels * (height // 2) * (width // 2)
    if flat == 0:
        raise InputError("model", "cnn", f"image {height}x{width} is smaller than 2x2")
    return nn.Sequential(
        nn.Conv2d(depth, channels, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(flat, num_classes),
    )


def auto(in_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The CNN for image input ``(C, H, W)``, the MLP otherwise."""
    return cnn(in_shape, num_classes) if len(in_shape) == 3 else mlp(in_shape, num_classes)


MODELS: dict[str, ModelFactory] = {"auto": auto, "logreg": logreg, "mlp": mlp, "cnn": cnn}
"""Built-in model factories by name."""


def resolve_model(model: str | ModelFactory) -> ModelFactory:
    """A factory from a name in :data:`MODELS` or a callable given by the user.

    Parameters
    ----------
    model
        ``"auto"``, ``"logreg"``, ``"mlp"``, ``"cnn"`` or a callable
        ``(in_shape, num_classes) -> torch.nn.Module``.

    Returns
    -------
    ModelFactory
        The factory (a callable ``model`` as given).

    Raises
    ------
    InputError
        An unknown name.

    Examples
    --------
    >>> resolve_model("logreg")((30,), 2)
    Sequential(
      (0): Flatten(start_dim=1, end_dim=-1)
      (1): Linear(in_features=30, out_features=2, bias=True)
    )
    """
    if callable(model):
        return model
    if model not in MODELS:
        raise InputError("model", model, f"expected one of {sorted(MODELS)} or a factory")
    return MODELS[model]


def parameter_count(model: nn.Module) -> int:
    """Number of scalar parameters and buffers (everything a transfer carries).

    Examples
    --------
    >>> parameter_count(logreg((30,), 2))  # 30 x 2 weights + 2 biases
    62
    """
    return sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())


def model_bytes(model: nn.Module) -> int:
    """Bytes moved when the model's state travels: parameters and buffers at their dtype size.

    Parameters
    ----------
    model
        Any torch module.

    Returns
    -------
    int
        Sum over parameters and buffers of elements times element size (float32: 4 bytes).

    Examples
    --------
    >>> model_bytes(logreg((30,), 2))  # 62 float32 values
    248
    """
    tensors = [*model.parameters(), *model.buffers()]
    return int(sum(t.numel() * t.element_size() for t in tensors))
