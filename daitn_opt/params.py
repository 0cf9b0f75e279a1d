"""Typed, validated solver parameters.

Every registered solver declares its parameters as one frozen dataclass whose fields carry a
default and a one-line meaning (:func:`param`). :func:`daitn_opt.solve` turns the keyword
parameters it is given into an instance of that class (:func:`parse_params`), so that a misspelt
or unknown key is an :class:`~daitn_opt.errors.InputError` naming it and listing the valid ones,
and a value of the wrong type is refused before the solver starts. The command line passes
parameters as ``--param key=value`` text; :func:`parse_params` converts text to the declared type.

Example
-------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class LocalSearchParams:
...     iterations: int = param(1000, "moves tried before stopping")
...     patience: int | None = param(None, "moves without improvement before a restart")
>>> parse_params(LocalSearchParams, {"iterations": "50"}, solver="ls").iterations
50
>>> parse_params(LocalSearchParams, {"iteration": 5}, solver="ls")
Traceback (most recent call last):
...
daitn_opt.errors.InputError: param = 'iteration': unknown for solver ls; valid: iterations, patience
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Union

from .errors import InputError

HELP = "help"
"""Key of a field's metadata holding its one-line meaning."""


def param(default: Any, help: str) -> Any:
    """A parameter field: its default and what it means (shown by ``daitn-opt solvers``).

    Mutable defaults (a dict) are copied per instance.
    """
    if isinstance(default, dict | list | set):
        return dataclasses.field(
            default_factory=lambda: type(default)(default), metadata={HELP: help}
        )
    return dataclasses.field(default=default, metadata={HELP: help})


@dataclass(frozen=True)
class NoParams:
    """The parameters of a solver that takes none."""


@dataclass(frozen=True)
class ParamInfo:
    """One parameter as ``daitn-opt solvers`` shows it."""

    name: str
    type: str
    default: Any
    help: str


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _options(tp: Any) -> tuple[Any, ...]:
    """The alternatives of a union type (``int | None`` -> ``(int, NoneType)``), else ``(tp,)``."""
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        return typing.get_args(tp)
    return (tp,)


def type_name(tp: Any) -> str:
    """A short readable name of a parameter type: ``int``, ``float | None``, ``'a' | 'b'``."""
    names = []
    for option in _options(tp):
        if option is type(None):
            names.append("None")
        elif typing.get_origin(option) is Literal:
            names.extend(repr(v) for v in typing.get_args(option))
        elif typing.get_origin(option) is not None:
            names.append(typing.get_origin(option).__name__)
        else:
            names.append(getattr(option, "__name__", str(option)))
    return " | ".join(names)


def _from_text(text: str, tp: Any) -> Any:
    """Read command-line ``text`` as a value of ``tp``; ValueError when it is not one."""
    lowered = text.strip().lower()
    for option in _options(tp):
        if option is type(None) and lowered in ("none", "null"):
            return None
    for option in _options(tp):
        if option is bool and lowered in ("true", "1", "yes", "on", "false", "0", "no", "off"):
            return lowered in ("true", "1", "yes", "on")
        if option is int:
            try:
                return int(text)
            except ValueError:
                pass
        if option is float:
            try:
                return float(text)
            except ValueError:
                pass
        if typing.get_origin(option) is Literal:
            for value in typing.get_args(option):
                if str(value) == text.strip():
                    return value
        if option is str:
            return text
        if typing.get_origin(option) in (dict, list) or option in (dict, list):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                pass
    raise ValueError(text)


def _fits(value: Any, tp: Any) -> tuple[bool, Any]:
    """Whether ``value`` is a ``tp`` (ints are accepted as floats); the value as stored."""
    for option in _options(tp):
        if option is Any:
            return True, value
        if option is type(None):
            if value is None:
                return True, None
            continue
        if typing.get_origin(option) is Literal:
            if any(value == v and type(value) is type(v) for v in typing.get_args(option)):
                return True, value
            continue
        if option is bool:
            if isinstance(value, bool):
                return True, value
            continue
        if option is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return True, value
            continue
        if option is float:
            if isinstance(value, int | float) and not isinstance(value, bool):
                if math.isnan(float(value)):
                    continue
                return True, float(value)
            continue
        base = typing.get_origin(option) or option
        if isinstance(base, type) and isinstance(value, base):
            return True, value
    return False, value


def parse_params(cls: type, raw: Mapping[str, Any], *, solver: str) -> Any:
    """An instance of the parameter class ``cls`` from ``raw`` (keyword values or CLI text).

    Raises
    ------
    InputError
        A key that ``cls`` does not declare (the message lists the valid keys), or a value that is
        not of the declared type (named ``param.<key>``).
    """
    if isinstance(raw, cls):
        return raw
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            valid = ", ".join(sorted(fields)) or "none (this solver takes no parameters)"
            raise InputError("param", key, f"unknown for solver {solver}; valid: {valid}")
        tp = hints[key]
        if isinstance(value, str) and not _fits(value, tp)[0]:
            try:
                value = _from_text(value, tp)
            except ValueError:
                raise InputError(f"param.{key}", value, f"expected {type_name(tp)}") from None
        ok, stored = _fits(value, tp)
        if not ok:
            raise InputError(f"param.{key}", value, f"expected {type_name(tp)}")
        values[key] = stored
    return cls(**values)


def describe(cls: type) -> list[ParamInfo]:
    """The parameters of class ``cls``: name, type, default and meaning, in declaration order."""
    hints = _hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        out.append(ParamInfo(f.name, type_name(hints[f.name]), default, f.metadata.get(HELP, "")))
    return out


def as_dict(params: Any) -> dict[str, Any]:
    """The values of a parameter instance (a plain dict passes through)."""
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        return {f.name: getattr(params, f.name) for f in dataclasses.fields(params)}
    return dict(params)
