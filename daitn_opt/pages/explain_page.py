"""``daitn-opt explain``: one self-contained page explaining one decision.

Problem: a decision is a JSON file of node ids; to trust it a person wants to see it. The page
shows what every decision has (who solved it, status, objective against its bound and gap, the
independent checker's verdict, the anytime trace), then what the problem kind has (MTRCE: the
map, the request's view with each exclusion's reason, the routes and their schedule; T-FAM: the
admitted and refused requests with the binding reason; QIRCE: placements, query routes and
latency against each SLO), and, given a replay outcome, what the replay measured (the accuracy
curve on the simulated clock, or the serving latencies).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..drrt.instance import Instance, load_instance
from ..errors import InputError
from ..io import check_output_file, read_json, validate_result_document, write_text
from ..kinds import bare_solution_kind
from ..result import Result, Status
from .assets import cards, esc, figure, fmt, num_cell, page, pct, table, text_cell
from .svg import Series, anytime_chart, line_chart


# -- inputs ---------------------------------------------------------------------------------------
def as_result(doc: Any, source: str = "solution") -> Result:
    """A :class:`Result` from a result document or a bare solution of a recognisable kind."""
    from ..problems import validate_solution

    if isinstance(doc, Result):
        return doc
    if isinstance(doc, dict) and "snapshot" in doc:
        raise InputError("solution", source, "is an instance file, not a solution")
    if isinstance(doc, dict) and {"problem", "solver", "status"} & doc.keys():
        validate_result_document(doc, source)
        result = Result.from_dict(doc)
        if result.problem in ("mtrce", "tfam", "qirce") and result.solution:
            validate_solution(result.problem, result.solution, "solution.solution")
        return result
    kind = bare_solution_kind(doc)
    if kind is not None:
        validate_solution(kind, doc)
        return Result(problem=kind, solver="(given)", status=Status.FEASIBLE, solution=doc)
    raise InputError(
        "solution", source, "expected a result document (solve --json) or a bare solution"
    )


def as_replay(replay: Any, source: str = "--replay") -> dict[str, Any] | None:
    """A replay outcome as a dict (from a path, an Outcome or a dict); None stays None."""
    if replay is None:
        return None
    if isinstance(replay, str | Path):
        source = str(replay)
        replay = read_json(replay)
    if hasattr(replay, "to_dict"):
        replay = replay.to_dict()
    if not isinstance(replay, dict) or not (
        isinstance(replay.get("trace"), list) or isinstance(replay.get("models"), list)
    ):
        raise InputError(
            "--replay", source, "is not a replay outcome (expected a 'trace' or 'models' list)"
        )
    for i, step in enumerate(replay.get("trace") or []):
        if not isinstance(step, dict) or not isinstance(step.get("time"), int | float):
            raise InputError(f"replay.trace[{i}].time", step, "expected a step with a time")
    return replay


def _request_of(result: Result, request: str | None) -> str | None:
    if request is not None and result.request is not None and request != result.request:
        raise InputError(
            "--request", request, f"differs from the solution's request {result.request!r}"
        )
    return request or result.request


# -- common sections ------------------------------------------------------------------------------
def _header(instance: Instance, result: Result, request: str | None, check: Any) -> str:
    gap = result.gap
    verdict = "valid" if check.ok else f"{len(check.violations)} violation(s)"
    items = [
        ("problem", result.problem),
        ("solver", result.solver),
        ("status", result.status.value),
        ("objective", fmt(result.objective if result.objective is not None else check.objective)),
        (f"bound ({'upper' if result.sense == 'max' else 'lower'})", fmt(result.bound)),
        ("gap", pct(gap) if gap is not None else "-"),
        ("solve time", f"{fmt(result.runtime, 3)} s"),
        ("checker", verdict),
    ]
    what = (
        f"request {request}"
        if request
        else ("the whole batch" if result.problem == "tfam" else "all query demand")
    )
    parts = [
        f"<h1>{esc(instance.name)}: {esc(result.problem)} decision by {esc(result.solver)}</h1>",
        f'<p class="muted">{esc((instance.description or "").rstrip("."))}. '
        f"Decision for {esc(what)}.</p>",
        cards(items),
    ]
    if result.message:
        parts.append(f'<p class="muted">Solver message: {esc(result.message)}</p>')
    if result.bound is not None and result.objective is not None:
        proved = "proved optimal" if result.status == Status.OPTIMAL else "not proved optimal"
        parts.append(
            f"<p>The objective {fmt(result.objective)} is {proved}: no solution can be better "
            f"than the bound {fmt(result.bound)} (gap {pct(gap)}).</p>"
        )
    elif result.objective is not None:
        parts.append(
            "<p>The solver reports no bound: the objective is not compared with an optimum.</p>"
        )
    if check.violations:
        items_html = "".join(f"<li>{esc(v)}</li>" for v in check.violations)
        parts.append(
            f'<p class="bad">The independent checker found violations:</p><ul>{items_html}</ul>'
        )
    else:
        parts.append(
            '<p class="ok">The independent checker verified the decision'
            + (f" (objective {fmt(check.objective)})." if check.objective is not None else ".")
            + "</p>"
        )
    return "".join(parts)


def trace_section(result: Result) -> str:
    points = [(p.time, p.incumbent, p.bound) for p in result.trace]
    end = max([result.runtime, *(p.time for p in result.trace)])
    chart = anytime_chart(points, end)
    if not chart:
        return ""
    return "<h2>How the solver got there</h2>" + figure(
        chart, "Incumbent (solid) and bound (dashed) over the solve, from the anytime trace."
    )


def replay_section(replay: dict[str, Any] | None, deadline: float | None = None) -> str:
    """The replay's accuracy curve and hop table, or its serving latencies."""
    if replay is None:
        return ""
    if isinstance(replay.get("models"), list):
        return _serving_section(replay)
    steps = replay.get("trace") or []
    summary = replay.get("summary") or {}
    target = summary.get("target_accuracy")
    chart = _accuracy_chart(replay, steps, target, deadline)
    ttt = summary.get("time_to_target")
    items = [
        ("final accuracy", fmt(summary.get("final_accuracy"), 4)),
        (f"time to {fmt(target, 3)}", "never" if ttt is None else f"{fmt(ttt, 4)} s"),
        ("finish", f"{fmt(summary.get('finish_time'), 4)} s"),
        ("deadline", "met" if summary.get("deadline_met") else "MISSED"),
        ("bytes moved", fmt(summary.get("bytes_moved"))),
        (
            "utility",
            f"{fmt(summary.get('utility_collected'), 4)} of "
            f"{fmt(summary.get('planned_utility'), 4)} planned",
        ),
    ]
    rows = [
        [
            num_cell(s.get("time"), fmt(s.get("time"), 4)),
            text_cell(s.get("node", "")),
            text_cell(s.get("action", "")),
            num_cell(s.get("loss"), fmt(s.get("loss"), 4)),
            num_cell(s.get("accuracy"), fmt(s.get("accuracy"), 4)),
            num_cell(s.get("bytes")),
            text_cell(s.get("note", "")),
        ]
        for s in steps
    ]
    notes = "".join(f"<li>{esc(n)}</li>" for n in replay.get("notes") or [])
    return (
        f"<h2>What the replay measured ({esc(replay.get('mode', ''))}, "
        f"{esc(replay.get('policy', ''))}, seed {esc(replay.get('seed', ''))})</h2>"
        + cards(items)
        + figure(
            chart,
            "Test accuracy at the MPVU after each step, on the simulated clock; "
            "the dashed lines are the request's target accuracy and its deadline.",
        )
        + table(
            "replay-steps", ("time s", "node", "action", "loss", "accuracy", "bytes", "note"), rows
        )
        + (f'<ul class="muted">{notes}</ul>' if notes else "")
    )


def _accuracy_chart(
    replay: dict[str, Any], steps: list[dict[str, Any]], target: Any, deadline: float | None
) -> str:
    """Accuracy after each step on the simulated clock, with the target and the deadline."""
    pts = [
        (float(s["time"]), float(s["accuracy"]))
        for s in steps
        if isinstance(s.get("accuracy"), int | float) and math.isfinite(s["accuracy"])
    ]
    label = f"{replay.get('label', 'replay')} accuracy"
    series = [Series(label, [p[0] for p in pts], [p[1] for p in pts], step=False, points=True)]
    if isinstance(target, int | float) and pts:
        series.append(
            Series(f"target {target:g}", [0.0, pts[-1][0]], [target, target], dashed=True)
        )
    if deadline is not None:
        series.append(
            Series(
                f"deadline {deadline:g} s",
                [deadline, deadline],
                [0.0, 1.0],
                step=False,
                dashed=True,
            )
        )
    end = max([p[0] for p in pts] + [deadline or 0.0, 1.0])
    return line_chart(
        series,
        xlabel="simulated seconds",
        ylabel="test accuracy",
        title="replay accuracy",
        ylim=(0, 1.0),
        xlim=(0, end),
        css_class="chart replay",
        width=700,
        height=300,
    )


def _serving_section(replay: dict[str, Any]) -> str:
    rows = [
        [
            text_cell(m.get("model")),
            num_cell(m.get("queries")),
            num_cell(m.get("p50_ms"), fmt(m.get("p50_ms"), 4)),
            num_cell(m.get("p95_ms"), fmt(m.get("p95_ms"), 4)),
            num_cell(m.get("p99_ms"), fmt(m.get("p99_ms"), 4)),
            num_cell(m.get("violation_rate"), pct(m.get("violation_rate"))),
            num_cell(m.get("refused_rate"), fmt(m.get("refused_rate"), 4)),
        ]
        for m in replay["models"]
        if isinstance(m, dict)
    ]
    return (
        f"<h2>What the serving replay measured ({fmt(replay.get('horizon'))} s of queries)</h2>"
        + table(
            "serving-models",
            ("model", "queries", "p50 ms", "p95 ms", "p99 ms", "SLO violations", "refused q/s"),
            rows,
        )
    )


# -- entry points ---------------------------------------------------------------------------------
def explain_html(
    instance: Instance,
    result: Result | dict[str, Any],
    *,
    request: str | None = None,
    replay: Any = None,
) -> str:
    """The explanation page of ``result`` on ``instance`` as an HTML string.

    Raises
    ------
    InputError
        The result belongs to another instance or request, or is of an unknown problem kind.
    """
    from ..problems import check_result, outside_view, problem_from_instance

    result = as_result(result)
    replay = as_replay(replay)
    if result.instance is not None and result.instance != instance.name:
        raise InputError(
            "solution.instance", result.instance, f"does not match instance {instance.name!r}"
        )
    if result.problem not in ("mtrce", "tfam", "qirce"):
        raise InputError("solution.problem", result.problem, "expected mtrce, tfam or qirce")
    request = _request_of(result, request)
    if result.problem == "tfam":
        request = None  # admission decides the whole batch
    excluded = None
    if result.problem == "mtrce":
        from ..drrt.view import view
        from ..mtrce.problem import from_view

        # one view serves the problem, the check and the page (a view of thousands of nodes
        # takes seconds); the reasons for nodes outside it only matter to a route through one
        v = view(instance, request)
        problem = from_view(v, name=instance.name, request=instance.request(request))
        inside = set(problem.ids)
        routes = (result.solution or {}).get("routes") or []
        if any(node not in inside for r in routes if isinstance(r, list) for node in r):
            excluded = outside_view(instance, request)
    else:
        problem = problem_from_instance(result.problem, instance, request)
    check = check_result(problem, result, excluded)
    body = [_header(instance, result, request, check)]
    if result.problem == "mtrce":
        from .mtrce_page import mtrce_sections

        body.append(mtrce_sections(instance, problem, result, v))
        deadline = problem.deadline if math.isfinite(problem.deadline) else None
    elif result.problem == "tfam":
        from .tfam_page import tfam_sections

        body.append(tfam_sections(instance, problem, result))
        deadline = None
    else:
        from .qirce_page import qirce_sections

        body.append(qirce_sections(instance, problem, result))
        deadline = None
    body.append(trace_section(result))
    body.append(replay_section(replay, deadline))
    title = f"{instance.name}: {result.problem} by {result.solver}"
    return page(title, "".join(body), kind=f"explain-{result.problem}")


def write_explain(
    instance: Instance | str | Path,
    result: Result | dict[str, Any] | str | Path,
    path: str | Path,
    replay: Any = None,
    *,
    request: str | None = None,
) -> Path:
    """Write the explanation page of ``result`` to ``path`` (the demo calls this per plan).

    ``instance`` and ``result`` may be objects or file paths; ``replay`` an
    :class:`~daitn_opt.executor.outcome.Outcome`, a ``ServingOutcome``, their ``to_dict()`` or
    the path of a replay JSON, or None.
    """
    if isinstance(instance, str | Path):
        instance = load_instance(instance)
    if isinstance(result, str | Path):
        result = as_result(read_json(result), str(result))
    check_output_file(path, "--output")
    return write_text(path, explain_html(instance, result, request=request, replay=replay))


def explain_files(
    file: Path, solution: Path, output: Path, *, request: str | None, replay: Path | None
) -> Path:
    """``daitn-opt explain``: every input read and vetted before the page is built."""
    check_output_file(output, "--output", inputs=[file, solution, *([replay] if replay else [])])
    instance = load_instance(file)
    result = as_result(read_json(solution), str(solution))
    outcome = as_replay(replay) if replay is not None else None
    return write_explain(instance, result, output, outcome, request=request)
