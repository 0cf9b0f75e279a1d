"""The end-to-end demo: every stage runs, files are written, missing pieces are reported."""

from __future__ import annotations

import json
import math

import pytest

import daitn_opt.demo as demo
from daitn_opt.executor import Outcome, Step, Summary
from daitn_opt.plotting import plot_accuracy


def test_plot_accuracy_writes_a_png(tmp_path):
    trace = [Step(0.0, "s", "start", accuracy=0.5), Step(10.0, "a", "train", accuracy=0.8)]
    summary = Summary(0.8, 10.0, 0.8, 0, 10.0, 20.0, True, 1.0, 1.0)
    path = plot_accuracy(
        [Outcome("plan", "sequential", trace, summary)],
        tmp_path / "a.png",
        deadline=20.0,
        target=0.8,
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_demo_end_to_end(tmp_path, monkeypatch):
    """One seed, short limits; a solver name nobody registered shows up as missing."""
    monkeypatch.setattr(demo, "MTRCE_PLANS", (*demo.MTRCE_PLANS, ("imaginary", "no-such-solver")))
    events = []
    report = demo.run_demo(
        output=tmp_path, seeds=2, time_limit=10, progress=lambda e, d: events.append(e)
    )
    rows = {r.solver: r for r in report.plans}
    assert rows["no-such-solver"].status == "missing"
    assert any("'no-such-solver' is not registered" in m for m in report.missing)
    exact = [r for r in report.plans if r.solver in ("highs", "cpsat") and r.status == "optimal"]
    assert exact and all(r.gap == 0.0 and r.checked for r in exact)
    rnd = rows["random"]
    assert rnd.checked and rnd.utility < exact[0].utility
    for r in report.plans:
        if r.route:
            assert r.deadline_met and 0 < r.final_accuracy <= 1 and r.bytes_moved > 0
    assert {d["policy"] for d in report.dynamics} == {"static", "replan", "aats"}
    static = next(d for d in report.dynamics if d["policy"] == "static")
    replan = next(d for d in report.dynamics if d["policy"] == "replan")
    assert replan["utility"] >= static["utility"] and static["failed"] not in static["visited"]
    assert report.admission and report.serving
    aligned = {r.objective: r for r in report.plans if r.objective is not None}
    assert set(aligned) == {"max_coverage", "min_time_to_target", "min_expected_time_to_target"}
    assert all(r.checked and r.route and r.final_accuracy is not None for r in aligned.values())
    fitted = aligned["min_expected_time_to_target"]
    assert fitted.plan == demo.EXPECTED_PLAN[0] and "E[time to 0.9]" in fitted.note
    assert any(n.startswith(f"{fitted.plan} vs exact HiGHS (max_utility)") for n in report.notes)
    for name in (
        "accuracy.png",
        "dynamics.png",
        "serving.png",
        "demo.json",
        "plan-random.csv",
        "plan-min_time_to_target.csv",
        "explain-plan-highs.html",
        "explain-plan-min_time_to_target.html",
        "explain-plan-min_expected_time_to_target.html",
        "explain-tfam-highs.html",
        "explain-qirce-highs.html",
    ):
        assert (tmp_path / name).exists(), name
    page = (tmp_path / "explain-plan-highs.html").read_text()
    assert "<svg" in page and "accuracy" in page.lower()  # the map and the replay curve
    for objective in aligned:  # checked against the objective it was planned for
        page = (tmp_path / f"explain-plan-{objective}.html").read_text()
        assert "violation" not in page and objective in page, objective
    doc = json.loads((tmp_path / "demo.json").read_text())
    assert doc["request"] == report.request and len(doc["plans"]) == len(report.plans)
    assert events.count("stage") == len(demo.STAGES) and events[-1] == "done"
    assert math.isfinite(report.wall_time)


@pytest.mark.slow
def test_demo_on_a_digits_request_tells_plans_apart(tmp_path):
    """Issue 18: every digits plan replayed to chance; now plans differ and a ceiling is shown."""
    from daitn_opt.drrt.generators import generate

    inst = generate("healthcare", nodes=30, seed=0, requests=6)
    report = demo.run_demo(inst, tmp_path, request_id="r4", seeds=1, time_limit=5)
    replayed = [r for r in report.plans if r.route and r.final_accuracy is not None]
    accs = [r.final_accuracy for r in replayed]
    assert len(replayed) >= 3 and max(accs) - min(accs) > 0.3, accs
    ceiling = next(r for r in report.plans if r.status == "reference")
    assert ceiling.final_accuracy >= 0.9 and max(accs) <= ceiling.final_accuracy + 0.05
    assert report.reference["bundled"]["final_accuracy"] >= 0.9
    assert any(n.startswith("ceiling: ") for n in report.notes)
