"""daitn-opt: optimization and research toolkit for DA-ITN (arXiv 2501.05323).

Snapshots go in (:mod:`daitn_opt.drrt`), exact and heuristic solutions come out through one entry
point (:func:`solve`), independent checkers verify them, and the executor replays them as real
PyTorch training on a simulated network clock.

The names below are loaded on first use (PEP 562 module ``__getattr__``): ``import daitn_opt``
and ``daitn-opt --help`` load neither numpy nor pydantic, while ``from daitn_opt import solve``
works as before.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checking import CheckReport
    from .drrt import Instance, Snapshot, TrainingRequest, View, load_instance, save_instance, view
    from .errors import DaitnError, InputError, UnsupportedError
    from .exact import ExactSolver, KindSupport, Outcome, register_exact
    from .kinds import ProblemContract, register_kind
    from .params import param
    from .registry import SolveOptions, register, solve, solvers
    from .result import Result, Status

logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "CheckReport": ".checking",
    "DaitnError": ".errors",
    "ExactSolver": ".exact",
    "KindSupport": ".exact",
    "Outcome": ".exact",
    "ProblemContract": ".kinds",
    "InputError": ".errors",
    "Instance": ".drrt",
    "Result": ".result",
    "Snapshot": ".drrt",
    "SolveOptions": ".registry",
    "Status": ".result",
    "TrainingRequest": ".drrt",
    "UnsupportedError": ".errors",
    "View": ".drrt",
    "load_instance": ".drrt",
    "param": ".params",
    "register": ".registry",
    "register_exact": ".exact",
    "register_kind": ".kinds",
    "save_instance": ".drrt",
    "solve": ".registry",
    "solvers": ".registry",
    "view": ".drrt",
}
"""Exported name -> the submodule that defines it (imported when the name is first used)."""


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "CheckReport",
    "DaitnError",
    "ExactSolver",
    "InputError",
    "Instance",
    "KindSupport",
    "Outcome",
    "ProblemContract",
    "Result",
    "Snapshot",
    "SolveOptions",
    "Status",
    "TrainingRequest",
    "UnsupportedError",
    "View",
    "__version__",
    "load_instance",
    "param",
    "register",
    "register_exact",
    "register_kind",
    "save_instance",
    "solve",
    "solvers",
    "view",
]
