"""Reading the ``daitn-opt`` command line's inputs: seeds, time limits, problem kinds, solver
parameters, instance and solution files.

Every function raises :class:`~daitn_opt.errors.InputError` naming the option and the value, so
that the command group prints one line and exits with code 2. Problem kinds are whatever
:func:`daitn_opt.kinds.kinds` holds (the built-in three, entry points, plug-in modules), never a
list written here.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .errors import InputError
from .kinds import BARE_SOLUTION_KEYS, bare_solution_kind

SEED_MAX = 2**31 - 1


def seconds(value: float | None, option: str = "--time-limit") -> float | None:
    if value is not None and not (math.isfinite(value) and 0 < value <= 1e7):
        raise InputError(option, value, "must be a positive finite number of seconds (<= 1e7)")
    return value


def time_limit_of(value: float) -> float:
    return seconds(value)  # type: ignore[return-value]


def max_nodes_of(value: int | None) -> int | None:
    """``--max-nodes``: a view keeps at least its start and end."""
    if value is not None and not 2 <= value <= 10**9:
        raise InputError("--max-nodes", value, "must be an integer in 2..1e9 (start and end)")
    return value


def parse_seeds(text: str, option: str = "--seeds") -> list[int]:
    """``"0,1,2"`` or ``"0-4"`` (inclusive) or a mix -> seeds, each in ``0..2**31-1``.

    >>> parse_seeds("0-2,5,1")
    [0, 1, 2, 5]
    """
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            values = range(int(lo), int(hi) + 1) if sep and lo else [int(part)]
        except ValueError:
            raise InputError(option, text, "expected seeds like 0,1,2 or 0-4") from None
        if len(values) > 100_000:
            raise InputError(option, text, "more than 100000 seeds")
        for seed in values:
            if not 0 <= seed <= SEED_MAX:
                raise InputError(option, text, f"seed {seed} outside 0..{SEED_MAX}")
            seeds.append(seed)
    if not seeds:
        raise InputError(option, text, "no seed given")
    return list(dict.fromkeys(seeds))


def load_instance(path: Path) -> Any:
    from .drrt.instance import load_instance

    return load_instance(path)


def load_result(path: Path) -> Any:
    from .io import read_json, validate_result_document
    from .result import Result

    data = read_json(path)
    if isinstance(data, dict) and "snapshot" in data:
        raise InputError("file", str(path), "is an instance file, not a result document")
    validate_result_document(data, str(path))
    return Result.from_dict(data)


def solution_document(doc: Any, source: str) -> Any:
    """Vet a document given as a solution: a result document (its fields and its solution's
    shape) or a bare solution of a recognisable kind; an instance file is named as such."""
    from .drrt.instance import RESULT_KEYS
    from .io import validate_result_document
    from .problems import validate_solution

    if isinstance(doc, dict) and RESULT_KEYS & doc.keys():
        validate_result_document(doc, source)
        if doc["problem"] in kind_names() and doc.get("solution"):
            validate_solution(doc["problem"], doc["solution"], "solution.solution")
        return doc
    if isinstance(doc, dict) and "snapshot" in doc:
        raise InputError("file", source, "is an instance file, not a solution")
    kind = bare_solution_kind(doc, BARE_SOLUTION_KEYS[:2])  # a bare route needs no shape check
    if kind is not None:
        validate_solution(kind, doc)
    return doc


def out_dir_of(
    out_dir: Path | None, legacy: Path | None, default: Path | None = None
) -> Path | None:
    """``--out-dir``, or the deprecated ``-o/--output`` folder alias, or ``default``."""
    if out_dir is not None and legacy is not None and out_dir != legacy:
        raise InputError("--out-dir", str(out_dir), f"and -o {str(legacy)!r} both given")
    return out_dir or legacy or default


def kind_names() -> list[str]:
    """The registered problem kinds: the built-in ``mtrce``, ``tfam``, ``qirce``, then any added."""
    from .kinds import kinds

    return list(kinds())


def kind_metavar() -> str:
    """How help shows the ``--problem`` choices: ``<mtrce|tfam|qirce>``."""
    return "<" + "|".join(kind_names()) + ">"


def problem_kind(value: str) -> str:
    """``--problem``: a registered problem kind, else a ValueError listing them (one line)."""
    if value in kind_names():
        return value
    # A plug-in module (DAITN_OPT_SOLVER_MODULES) may register its kind when the registry loads.
    from .registry import solvers

    solvers()
    known = kind_names()
    if value not in known:
        raise ValueError(f"{value!r} is not one of {', '.join(map(repr, known))}")
    return value


def solver_params(items: list[str] | None, option: str = "--param") -> dict[str, str]:
    """``--param key=value`` (repeatable) -> ``{key: text}``; the solver's parameter class
    converts each text to its declared type (:func:`daitn_opt.params.parse_params`).

    >>> solver_params(["iterations=50", "warm_start=false"])
    {'iterations': '50', 'warm_start': 'false'}
    >>> solver_params(["iterations"])
    Traceback (most recent call last):
    ...
    daitn_opt.errors.InputError: --param = 'iterations': expected KEY=VALUE
    """
    params: dict[str, str] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(option, item, "expected KEY=VALUE")
        if key in params:
            raise InputError(option, item, f"{key} given twice")
        params[key] = text
    return params
