"""daitn_opt.params: typed solver parameters, from keywords and from command-line text; and every
registered solver's declaration (a frozen dataclass whose fields say what they mean)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import pytest

from daitn_opt.errors import InputError
from daitn_opt.params import NoParams, as_dict, describe, param, parse_params, type_name
from daitn_opt.registry import solvers


@dataclass(frozen=True)
class Example:
    iterations: int = param(100, "moves tried")
    step: float = param(0.5, "step size")
    patience: int | None = param(None, "moves without improvement before a restart")
    verbose: bool = param(False, "say more")
    mode: Literal["fast", "slow"] = param("fast", "how hard to try")
    name: str = param("x", "a label")
    weights: dict = param({"a": 1}, "per-key weights")  # noqa: RUF009 (copied per instance)


def parse(**raw):
    return parse_params(Example, raw, solver="example")


def test_defaults_and_keyword_values():
    assert parse() == Example()
    got = parse(iterations=5, step=2, patience=3, verbose=True, mode="slow")
    assert (got.iterations, got.step, got.patience, got.verbose, got.mode) == (
        5,
        2.0,
        3,
        True,
        "slow",
    )
    assert isinstance(got.step, float)  # an int is accepted as a float and stored as one


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        ("iterations", "50", 50),
        ("step", "1e-3", 0.001),
        ("patience", "none", None),
        ("patience", "7", 7),
        ("verbose", "yes", True),
        ("verbose", "off", False),
        ("mode", "slow", "slow"),
        ("name", "abc", "abc"),
        ("weights", '{"b": 2}', {"b": 2}),
    ],
)
def test_command_line_text_is_converted_to_the_declared_type(key, text, value):
    assert getattr(parse(**{key: text}), key) == value


def test_an_unknown_key_names_it_and_lists_the_valid_ones():
    with pytest.raises(InputError) as err:
        parse(iteration=5)
    message = str(err.value)
    assert message.startswith("param = 'iteration': unknown for solver example; valid: ")
    assert "iterations, mode, name, patience, step, verbose, weights" in message


def test_a_solver_without_parameters_says_so():
    with pytest.raises(InputError, match="none \\(this solver takes no parameters\\)"):
        parse_params(NoParams, {"x": 1}, solver="s")


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("iterations", "many", "int"),
        ("iterations", 2.5, "int"),
        ("iterations", True, "int"),  # a bool is not a count
        ("step", float("nan"), "float"),
        ("verbose", "maybe", "bool"),
        ("mode", "medium", "'fast' | 'slow'"),
        ("weights", "[1", "dict"),
    ],
)
def test_a_value_of_the_wrong_type_is_an_error_naming_the_parameter(key, value, expected):
    with pytest.raises(InputError, match=f"param.{key}") as err:
        parse(**{key: value})
    assert f"expected {expected}" in str(err.value)


def test_an_instance_passes_through_and_mutable_defaults_are_not_shared():
    given = Example(iterations=3)
    assert parse_params(Example, given, solver="example") is given
    first, second = Example(), Example()
    assert first.weights == second.weights and first.weights is not second.weights


def test_describe_lists_name_type_default_and_meaning_in_order():
    infos = describe(Example)
    assert [p.name for p in infos] == [f.name for f in dataclasses.fields(Example)]
    assert (infos[2].type, infos[2].default, infos[2].help) == (
        "int | None",
        None,
        "moves without improvement before a restart",
    )
    assert infos[4].type == "'fast' | 'slow'" and infos[6].default == {"a": 1}


def test_type_names_and_as_dict():
    assert type_name(float | None) == "float | None"
    assert type_name(list[int]) == "list"
    assert as_dict(Example(iterations=2))["iterations"] == 2
    assert as_dict({"a": 1}) == {"a": 1}


def _declared():
    return [
        pytest.param(spec, id=f"{kind}-{name}")
        for kind, registered in sorted(solvers().items())
        for name, spec in sorted(registered.items())
        if spec.params is not None
    ]


@pytest.mark.parametrize("spec", _declared())
def test_every_declared_parameter_class_is_frozen_with_defaults_and_help(spec):
    """What ``daitn-opt solvers --params`` shows must exist: a default and a meaning per field,
    and no run limit disguised as a parameter (those are SolveOptions)."""
    cls = spec.params
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, cls
    cls()  # every field has a default
    for info in describe(cls):
        assert info.help, f"{spec.problem}/{spec.name}: {info.name} has no meaning"
        assert info.name not in ("time_limit", "seed", "threads"), info.name
