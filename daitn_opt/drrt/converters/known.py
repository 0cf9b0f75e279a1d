"""Published values of the classic benchmark instances, each with its source.

The values live in ``known_values.json`` next to this module (shipped with the package, so that
converting works without the repository's ``instances/`` folder). Each entry records the value,
whether it is a proven optimum, a source key (resolved to a citation in the file's ``sources``), and
the facts that identify the instance (dimension, budget, ...): :func:`lookup` returns a value only
when those facts match the file being converted, so an edited file never inherits the published
value of the original.

Families and where their values come from (details in ``instances/classic/README.md``):

- ``tsplib``: TSPLIB's ``solutions`` file, optimal tour lengths (all proven);
- ``op``: Tsiligirides sets 1-3, Chao, Golden and Wasil's (1996) values (proven optimal; re-proved
  with an exact solver per the benchmarks README); Chao sets 64/66, optima from the benchmarks
  README's table (Fischetti, Salazar-Gonzalez and Toth 1998; re-proved with HiGHS), else the best
  value in the literature logs (not proven);
- ``top``: Chao, Golden and Wasil's (1996) heuristic values (best known, not proven);
- ``optw``: Righini and Salani's (2009) exact results (proven where their run finished);
- ``oplib``: the score of EA4OP's route per instance (Kobeaga, Merino and Lozano 2018), recomputed
  from the route and the instance; heuristic, so best known, not proven. These live in
  ``known_values_oplib.json`` (rebuilt by ``instances/classic/oplib/make_values.py``), merged here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

FAMILIES = ("tsplib", "op", "top", "optw", "oplib")
_EXTRA_FILES = ("known_values_oplib.json",)
"""Further value files, each with its own ``sources`` and families, merged into :func:`table`."""


@dataclass(frozen=True)
class KnownValue:
    """A published objective value of one benchmark instance."""

    value: float
    proven: bool
    """True when the value is a proven optimum; False for a best known (heuristic) value."""
    source: str
    """The citation the value comes from."""
    note: str = ""


@cache
def table() -> dict[str, Any]:
    """The whole ``known_values.json`` document with the extra files merged in (cached)."""
    folder = resources.files(__package__)
    out = json.loads(folder.joinpath("known_values.json").read_text(encoding="utf-8"))
    for extra in _EXTRA_FILES:
        more = json.loads(folder.joinpath(extra).read_text(encoding="utf-8"))
        out["sources"] = out["sources"] | more.pop("sources", {})
        out |= more
    return out


def entries(family: str) -> dict[str, dict[str, Any]]:
    """Raw entries of one family: instance name -> record."""
    return table()[family]


def lookup(family: str, name: str, **facts: float) -> KnownValue | None:
    """The published value of instance ``name``, or None when unknown or when ``facts`` differ.

    Parameters
    ----------
    family
        One of :data:`FAMILIES`.
    name
        The instance name as the converter derives it (TSPLIB ``NAME``, the file stem otherwise).
    facts
        Identifying facts of the file being converted (e.g. ``dimension=52``, ``budget=15``); every
        fact the entry records must be equal.
    """
    record = table()[family].get(name)
    if record is None or record.get("value") is None:
        return None
    for key, value in facts.items():
        if key in record and float(record[key]) != float(value):
            return None
    sources = table()["sources"]
    return KnownValue(
        value=float(record["value"]),
        proven=bool(record["proven"]),
        source=sources[record["source"]],
        note=record.get("note", ""),
    )
