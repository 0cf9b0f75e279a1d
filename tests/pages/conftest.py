"""Fixtures of the page tests: decisions of each problem kind on the small healthcare instance,
a results store holding runs of two problems (with failed and flagged runs), and a small DOM
reader that counts what a page draws."""

from __future__ import annotations

import math
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from daitn_opt.bench.store import ResultsStore
from daitn_opt.drrt.instance import Instance, load_instance
from daitn_opt.problems import problem_from_instance
from daitn_opt.registry import solve
from daitn_opt.result import Result

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "instances" / "healthcare-small.json"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: opens pages in headless Chromium (skipped when none is installed)"
    )


class Element:
    """One start tag: its name and attributes (class split into a set)."""

    def __init__(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tag = tag
        self.attrs = {k: v or "" for k, v in attrs}
        self.classes = set(self.attrs.get("class", "").split())


class Dom(HTMLParser):
    """Every element of a page, the text of its inline scripts, and its visible text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, attrs))
        self._in_script = tag == "script"
        if tag == "script":
            self.scripts.append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)

    def select(self, cls: str, tag: str | None = None, **attrs: str) -> list[Element]:
        """Elements with class ``cls`` (and tag, and data attributes given as data_x=...)."""
        out = []
        for el in self.elements:
            if cls and cls not in el.classes:
                continue
            if tag and el.tag != tag:
                continue
            if all(el.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                out.append(el)
        return out

    def by_id(self, element_id: str) -> Element | None:
        return next((el for el in self.elements if el.attrs.get("id") == element_id), None)


def rows_of(page: str, table_id: str) -> list[list[str]]:
    """The body rows of table ``table_id`` as lists of cell texts."""

    class Rows(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.rows: list[list[str]] = []
            self.inside = False
            self.body = False
            self.cell: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "table":
                self.inside = dict(attrs).get("id") == table_id
            elif self.inside and tag == "tbody":
                self.body = True
            elif self.inside and self.body and tag == "tr":
                self.rows.append([])
            elif self.inside and self.body and tag == "td":
                self.cell = ""

        def handle_endtag(self, tag: str) -> None:
            if tag == "td" and self.cell is not None:
                self.rows[-1].append(self.cell.strip())
                self.cell = None
            elif tag == "table":
                self.inside = self.body = False

        def handle_data(self, data: str) -> None:
            if self.cell is not None:
                self.cell += data

    parser = Rows()
    parser.feed(page)
    return parser.rows


@pytest.fixture(scope="session")
def small() -> Instance:
    return load_instance(SMALL)


def decide(instance: Instance, kind: str, solver: str, request: str | None = None) -> Result:
    problem = problem_from_instance(kind, instance, request, time_limit=10.0)
    result = solve(problem, solver, time_limit=5.0, seed=0)
    result.instance = instance.name
    result.request = getattr(problem, "request_id", None) or request
    return result


@pytest.fixture(scope="session")
def route_result(small: Instance) -> Result:
    return decide(small, "mtrce", "ils")


@pytest.fixture(scope="session")
def tfam_result(small: Instance) -> Result:
    return decide(small, "tfam", "ls")


@pytest.fixture(scope="session")
def qirce_result(small: Instance) -> Result:
    return decide(small, "qirce", "ls")


def run_row(k: int, **changes: Any) -> dict[str, Any]:
    """A stored run (what the sweep writes), with ``changes`` applied."""
    row: dict[str, Any] = {
        "key": f"run{k}",
        "instance": f"inst{k % 3}",
        "instance_file": f"inst{k % 3}.json",
        "family": "fam-a" if k % 2 else "fam-b",
        "size": 10,
        "problem": "mtrce",
        "solver": "alpha",
        "solver_version": "1.0",
        "exact": 1,
        "seed": k % 2,
        "time_limit": 5.0,
        "threads": 1,
        "status": "optimal",
        "sense": "max",
        "objective": 100.0 + k,
        "bound": 100.0 + k,
        "gap": 0.0,
        "best_known": None,
        "best_known_proven": None,
        "gap_to_best": None,
        "runtime": 0.5 + 0.1 * k,
        "wall": 0.6 + 0.1 * k,
        "time_to_first": 0.1,
        "primal_integral": 0.05,
        "check_ok": 1,
        "violations": [],
        "load_at_start": 0.5 + 0.01 * k,
        "host": "box1",
        "started_at": f"2026-11-30T04:{k:02d}:00",
        "message": "",
        "trace": [[0.1, 90.0 + k, 120.0 + k], [0.4, 100.0 + k, 100.0 + k]],
    }
    row.update(changes)
    return row


STORE_ROWS = [
    run_row(1),
    run_row(2),
    run_row(3, solver="beta", status="feasible", bound=None, gap=None, trace=[[0.2, 98.0, None]]),
    run_row(
        4,
        solver="beta",
        status="error",
        objective=None,
        bound=None,
        gap=None,
        trace=[],
        message="solver crashed",
    ),
    run_row(5, solver="beta", status="timeout", objective=None, bound=None, gap=None, trace=[]),
    run_row(
        6,
        problem="qirce",
        solver="gamma",
        sense="min",
        objective=20.0,
        bound=18.0,
        gap=0.1,
        status="feasible",
    ),
    run_row(
        7,
        problem="qirce",
        solver="gamma",
        sense="min",
        objective=21.0,
        bound=21.0,
        check_ok=0,
        violations=["facility f1 over capacity"],
    ),
    run_row(
        8,
        problem="qirce",
        solver="delta",
        sense="min",
        objective=19.5,
        bound=19.5,
        host="box2",
        load_at_start=math.nan,
        solver_version="2.1",
    ),
]
"""Eight runs of two problems: 5 MTRCE (two failed) and 3 QIRCE (one flagged by the checker)."""


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "runs.sqlite"
    with ResultsStore(path) as db:
        for row in STORE_ROWS:
            db.insert(row)
    return path
