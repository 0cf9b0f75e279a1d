"""Shared fixtures: the shipped instances, loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from daitn_opt.drrt.instance import Instance, load_instance

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = ROOT / "instances"


@pytest.fixture(scope="session")
def instances_dir() -> Path:
    """The repository's ``instances/`` folder."""
    return INSTANCES


@pytest.fixture(scope="session")
def healthcare_small() -> Instance:
    """The default instance: 14 hospitals, 6 training requests (instances/healthcare-small.json)."""
    return load_instance(INSTANCES / "healthcare-small.json")


@pytest.fixture(scope="session")
def rgg_2000() -> Instance:
    """A 2,000-node random geometric instance (instances/rgg-2000.json)."""
    return load_instance(INSTANCES / "rgg-2000.json")
