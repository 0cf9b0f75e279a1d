"""The HTML report of a results store: one row per run, failures first, profiles per problem,
machine and versions, a details block per run, nothing fetched from the network."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from daitn_opt.bench.store import ResultsStore
from daitn_opt.errors import InputError
from daitn_opt.pages.commands import report_html
from daitn_opt.pages.report_page import report_page

from .conftest import STORE_ROWS, Dom, rows_of


@pytest.fixture
def page(store: Path) -> str:
    with ResultsStore(store, readonly=True) as db:
        return report_page(db.rows(), source=str(store))


def test_every_run_has_one_row_in_its_family_table_and_a_details_block(page: str) -> None:
    dom = Dom(page)
    tables = [el.attrs["id"] for el in dom.elements if el.attrs.get("id", "").startswith("runs-")]
    runs = [r for t in tables for r in rows_of(page, t)]
    assert len(runs) == len(STORE_ROWS)
    assert sorted(int(r[0].lstrip("#")) for r in runs) == list(range(1, len(STORE_ROWS) + 1))
    for k in range(1, len(STORE_ROWS) + 1):
        assert dom.by_id(f"run-{k}") is not None and dom.by_id(f"run-{k}").tag == "details"
        assert f'href="#run-{k}"' in page


def test_failed_and_flagged_runs_come_first(page: str) -> None:
    attention = rows_of(page, "attention-runs")
    # runs 4 (error), 5 (timeout) and 7 (checker and contract violation), in store order
    assert [r[0] for r in attention] == ["#4", "#5", "#7"]
    beta = rows_of(page, "runs-mtrce-fam-b")  # runs 2 and 4 (family fam-b: even runs)
    assert [r[0] for r in beta] == ["#4", "#2"]
    assert "VIOLATION" in [c for r in rows_of(page, "runs-qirce-fam-a") for c in r]


def test_profiles_never_pool_solvers_of_different_problems(page: str) -> None:
    per_problem = re.split(r'<section class="problem"', page)[1:]
    assert len(per_problem) == 2
    solvers = {"mtrce": {"alpha", "beta"}, "qirce": {"gamma", "delta"}}
    for section in per_problem:
        dom = Dom('<section class="problem"' + section.split("</section>")[0])
        problem = dom.select("problem", "section")[0].attrs["data-problem"]
        for chart in ("profile-time", "profile-gap", "gap-time"):
            assert len(dom.select(chart, "svg")) == 1
        labels = {el.attrs["data-label"] for el in dom.select("series", "path")}
        assert labels == solvers[problem], problem


def test_machine_load_and_versions_are_shown(page: str) -> None:
    hosts = rows_of(page, "hosts")
    assert [h[0] for h in hosts] == ["box1", "box2"]
    assert hosts[0][1] == "7" and hosts[1][2] == "-"  # box2's only load was not recorded
    versions = {(v[0], v[1]): v[2] for v in rows_of(page, "versions")}
    assert versions[("qirce", "delta")] == "2.1 (1)"


def test_the_page_is_self_contained(page: str) -> None:
    dom = Dom(page)
    assert not [el for el in dom.elements if el.attrs.get("src")]
    assert not [el for el in dom.elements if el.tag == "link"]
    hrefs = [el.attrs["href"] for el in dom.elements if "href" in el.attrs]
    assert hrefs and all(h.startswith("#") for h in hrefs)
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_inline_script_parses(page: str, tmp_path: Path) -> None:
    scripts = Dom(page).scripts
    assert len(scripts) == 1
    path = tmp_path / "page.js"
    path.write_text(scripts[0], encoding="utf-8")
    done = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_report_html_writes_the_page_and_names_bad_input(store: Path, tmp_path: Path) -> None:
    out = report_html(store, tmp_path / "report.html")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    with pytest.raises(InputError, match="--db"):
        report_html(tmp_path / "missing.sqlite", tmp_path / "r.html")
    with pytest.raises(InputError, match="--html"):
        report_html(store, tmp_path / "no-such-folder" / "r.html")
    with pytest.raises(InputError, match="--html"):
        report_html(store, store)  # would overwrite the store
    empty = tmp_path / "empty.sqlite"
    ResultsStore(empty).close()
    with pytest.raises(InputError, match="holds no runs"):
        report_html(empty, tmp_path / "r.html")


def test_names_with_markup_are_shown_as_text() -> None:
    from .conftest import run_row

    evil = '<script>alert("x")</script><img src=x>'
    page = report_page([run_row(1, instance=evil, solver=evil, family=evil, message=evil)])
    dom = Dom(page)
    assert len(dom.scripts) == 1 and not [el for el in dom.elements if el.tag == "img"]
    assert evil in "".join(dom.text)
