"""Seeded, reproducible instance generators.

:func:`generate` is the one entry point (the CLI's ``daitn-opt generate`` calls it). Families:

- ``healthcare``: hospitals (data nodes) on a WAN, an MPVU, a model owner, querying users and
  MDFPs, several training requests; datasets partition scikit-learn's breast-cancer and digits
  sets so that the executor can replay routes on real data
  (:mod:`~daitn_opt.drrt.generators.healthcare`);
- ``random-geometric``: 10 to 10,000 nodes uniform in a square, linked within a radius that makes
  the graph connected (:mod:`~daitn_opt.drrt.generators.geometric`).

Every random choice is drawn from ``numpy.random.default_rng(seed)``, and every float written is
rounded, so the same arguments give the same JSON byte for byte.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

from ...errors import InputError
from ..instance import Instance
from .geometric import random_geometric
from .healthcare import healthcare

FAMILIES: dict[str, Callable[..., Instance]] = {
    "healthcare": healthcare,
    "random-geometric": random_geometric,
}
ALIASES = {"rgg": "random-geometric", "random_geometric": "random-geometric"}


def generate(family: str, *, nodes: int, seed: int, requests: int = 1, **opts: Any) -> Instance:
    """Generate a seeded instance of ``family``.

    Parameters
    ----------
    family
        ``healthcare`` or ``random-geometric`` (alias ``rgg``).
    nodes
        Hospitals for ``healthcare``; all nodes for ``random-geometric``.
    seed
        Seed of every random choice; the same arguments give an identical instance.
    requests
        Number of training requests.
    **opts
        Family-specific options (see each family's function), e.g. ``replayable=False``.

    Raises
    ------
    InputError
        For an unknown family or option, or an out-of-range size.
    """
    name = ALIASES.get(family, family)
    if name not in FAMILIES:
        raise InputError("family", family, f"unknown; known families: {', '.join(FAMILIES)}")
    fn = FAMILIES[name]
    params = inspect.signature(fn).parameters
    allowed = [p for p in params if p not in ("nodes", "seed", "requests")]
    for key, value in opts.items():
        if key not in allowed:
            raise InputError(key, value, f"not an option of {name}; options: {allowed}")
        # Options come from the command line as JSON values: check them against the defaults.
        default = params[key].default
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if numeric and not (isinstance(value, int) or math.isfinite(value)):
            raise InputError(key, value, "must be a finite number")
        if isinstance(default, bool) and not isinstance(value, bool):
            raise InputError(key, value, "must be true or false")
        if isinstance(default, float) and not numeric:
            raise InputError(key, value, "must be a number")
        if default is None and value is not None and not (numeric and value == int(value)):
            raise InputError(key, value, "must be an integer")
        if default is None and value is not None:
            opts[key] = int(value)
    for key, value in (("nodes", nodes), ("seed", seed), ("requests", requests)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(key, value, "must be an integer")
    if seed < 0:
        raise InputError("seed", seed, "must be >= 0")
    return fn(nodes=nodes, seed=seed, requests=requests, **opts)


__all__ = ["FAMILIES", "generate", "healthcare", "random_geometric"]
