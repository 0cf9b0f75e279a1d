"""Shared fixtures and helpers: the shipped instances (loaded once per session), the in-process
command-line runner, and a registry whose plug-in modules can be reloaded.

Test modules import the helpers by name (``from tests.conftest import run_cli``) where a fixture
does not fit (a module-level helper, a parametrisation); the fixtures wrap the same functions.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daitn_opt.drrt.instance import Instance, load_instance

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = ROOT / "instances"
SMALL = INSTANCES / "healthcare-small.json"
"""The default instance: 14 hospitals, 6 training requests."""


def run_cli(*args: str | Path, env: dict[str, str] | None = None) -> Any:
    """Run ``daitn-opt ARGS`` in process (typer's ``CliRunner``) and return its result.

    A Python traceback (an exception other than the ``SystemExit`` every command ends with) fails
    the calling test: the command line promises one line and an exit code, never a traceback.
    """
    from typer.testing import CliRunner

    from daitn_opt.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), f"traceback: {exc!r}"
    return result


def assert_input_error(result: Any, *words: str) -> None:
    """Exit 2 with one line on stderr (``error: ...``) that contains every word."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.fixture
def cli() -> Any:
    """:func:`run_cli`, as a fixture."""
    return run_cli


@pytest.fixture
def plugin_modules(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Load plug-in modules through ``DAITN_OPT_SOLVER_MODULES``, as a third party would.

    Call the fixture's value with module names: it sets the variable and resets the registry's
    loaded state so that the next lookup imports them. Afterwards, everything the plug-ins
    registered (solvers, problem kinds) is removed and the loaded state reset again, so other
    tests see the registry as it was.
    """
    from daitn_opt import kinds, registry

    solvers_before = {k: dict(v) for k, v in registry._REGISTRY.items()}
    kinds_before = dict(kinds._KINDS)
    modules_before = set(sys.modules)

    def forget_new_modules() -> None:
        # a module imported again registers again (an import already done would not)
        for name in set(sys.modules) - modules_before:
            if name.startswith("tests.plugins"):
                del sys.modules[name]

    def load(*modules: str) -> None:
        previous = os.environ.get(registry.PLUGIN_ENV, "")
        names = [m for m in previous.split(",") if m] + list(modules)
        monkeypatch.setenv(registry.PLUGIN_ENV, ",".join(names))
        monkeypatch.setattr(registry, "_plugins_loaded", False)
        forget_new_modules()
        registry.solvers()  # imports them now (a module registers on import)

    yield load
    registry._REGISTRY.clear()
    registry._REGISTRY.update(solvers_before)
    kinds._KINDS.clear()
    kinds._KINDS.update(kinds_before)
    registry._loaded.intersection_update(kinds_before)
    forget_new_modules()


@pytest.fixture(scope="session")
def instances_dir() -> Path:
    """The repository's ``instances/`` folder."""
    return INSTANCES


@pytest.fixture(scope="session")
def healthcare_small() -> Instance:
    """The default instance: 14 hospitals, 6 training requests (instances/healthcare-small.json)."""
    return load_instance(SMALL)


@pytest.fixture(scope="session")
def rgg_2000() -> Instance:
    """A 2,000-node random geometric instance (instances/rgg-2000.json)."""
    return load_instance(INSTANCES / "rgg-2000.json")
