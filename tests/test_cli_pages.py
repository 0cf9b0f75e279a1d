"""The HTML pages on the command line: ``report --html FILE`` and ``explain`` (daitn_opt.pages)."""

from __future__ import annotations

from tests.conftest import SMALL, assert_input_error, run_cli


def test_report_writes_the_html_page_next_to_its_plots(tmp_path):
    db = tmp_path / "r.sqlite"
    bench = run_cli("bench", SMALL, "--solvers", "greedy", "--time-limit", "1", "--db", db)
    assert bench.exit_code == 0, bench.stderr
    page = tmp_path / "report.html"
    result = run_cli("report", "--db", db, "--html", page, "--out-dir", tmp_path / "rep")
    assert result.exit_code == 0, result.stderr
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") or text.lstrip().lower().startswith("<!doctype")
    assert "greedy" in text and str(page) in result.stdout


def test_report_refuses_to_write_the_page_over_its_store(tmp_path):
    db = tmp_path / "r.sqlite"
    db.write_bytes(b"")
    assert_input_error(run_cli("report", "--db", db, "--html", db), "--html", "refusing")


def test_explain_writes_one_page_for_a_solution(tmp_path):
    solution = tmp_path / "sol.json"
    solved = run_cli("solve", SMALL, "--solver", "greedy", "-o", solution, "--json")
    assert solved.exit_code == 0, solved.stderr
    page = tmp_path / "explain.html"
    result = run_cli("explain", SMALL, solution, "-o", page)
    assert result.exit_code == 0, result.stderr
    assert page.stat().st_size > 1000 and "</html>" in page.read_text()
