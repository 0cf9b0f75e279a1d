"""The stages of the demonstration, one function each (:func:`daitn_opt.demo.run_demo` runs them).

Every stage reads the shared :class:`DemoRun` (instance, request, view, output folder, limits)
and writes its rows into ``run.report``: MTRCE plans (:func:`plan_mtrce`), outcome-aligned plans
(:func:`plan_outcomes`; the expected time to target on a fitted outcome model,
:func:`plan_expected`), replays (:func:`replay_plans`), the ceiling (:func:`add_reference`), a
failure mid-route (:func:`fail_mid_route`), T-FAM admission (:func:`admit`) and the FedAvg replay
of its admitted client set (:func:`replay_admitted`), QIRCE placement (:func:`place`), serving
replays (:func:`serve`) and the plots (:func:`write_plots`). A piece that is not available is
reported in ``report.missing``, never replaced by something else.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .demo_report import (
    AdmissionRow,
    DemoReport,
    DynamicsRow,
    FederatedRow,
    PlanRow,
    mean_finite,
)
from .errors import InputError
from .executor.outcome import Outcome

Progress = Callable[[str, dict[str, Any]], None]


@dataclass
class DemoRun:
    """What every stage of one demo run shares."""

    inst: Any
    """The instance."""
    req: Any
    """The sequential request whose plans are compared."""
    view: Any
    """Its MS-DRRT view."""
    out: Path
    report: DemoReport
    emit: Progress
    time_limit: float
    target: float
    replays: list[Any] = field(default_factory=list)
    """One :class:`~daitn_opt.executor.SequentialReplay` per seed."""
    curves: list[Outcome] = field(default_factory=list)
    """Seed 0's outcome of every replayed plan (the accuracy plot)."""
    dyn_curves: list[Outcome] = field(default_factory=list)
    serving: list[Any] = field(default_factory=list)
    decisions: dict[str, Any] = field(default_factory=dict)
    """File stem (``plan-highs``, ``tfam-highs``, ...) -> a checked decision (its Result)."""
    outcomes: dict[str, Any] = field(default_factory=dict)
    """File stem -> seed 0's replay of that decision (explained next to it)."""
    asks: dict[str, tuple[str, Any]] = field(default_factory=dict)
    """File stem -> (objective, outcome model or None) of a plan made for another objective
    than the request's: its explanation page reads an instance whose request asks for it."""


def registered(kind: str) -> tuple[set[str], str | None]:
    """Registered solver names of a problem kind, or (empty, why) when the package is missing."""
    from .registry import solvers

    try:
        return set(solvers(kind)[kind]), None
    except ImportError as exc:  # a problem package not built yet
        return set(), f"{kind}: package not importable ({exc})"


# -- MTRCE ----------------------------------------------------------------------------------------


def plan_mtrce(
    run: DemoRun, plans: tuple[tuple[str, str], ...]
) -> tuple[Any, set[str], list[float]]:
    """Solve the request's MTRCE problem with every ``(label, solver)`` of ``plans``.

    Every feasible route is checked by the independent checker. Returns ``(problem, solver
    names, bounds proved optimal by an exact solver)``; the problem is None when the MTRCE
    package is missing.
    """
    report = run.report
    names, why = registered("mtrce")
    bounds: list[float] = []
    if why:
        report.missing.append(why)
        return None, names, bounds
    from . import mtrce
    from .mtrce.problem import EXPECTED_TIME
    from .registry import solve

    problem = mtrce.from_instance(run.inst, run.req.id)
    problem = getattr(problem, "base", problem)  # a TAG request: its route problem
    if problem.objective == EXPECTED_TIME:  # the summed-utility plans of the same view
        problem = problem.replace(objective="max_utility")
    for label, solver in plans:
        if solver not in names:
            report.missing.append(f"mtrce solver {solver!r} is not registered: no {label} plan")
            report.plans.append(PlanRow(label, solver, "missing", note="solver not registered"))
            continue
        res = solve(problem, solver, time_limit=run.time_limit, seed=0)
        row = PlanRow(label, solver, res.status.value, solve_time=res.runtime, note=res.message)
        exact = res.solver in ("highs", "cpsat") and res.status.value == "optimal"
        if exact and res.bound is not None:
            bounds.append(res.bound)
        if res.is_feasible():
            rep = mtrce.check(problem, res.solution)
            row.checked = rep.ok
            row.utility = rep.objective
            row.route = res.solution["routes"][0]
            if not rep.ok:
                row.note = "checker: " + "; ".join(rep.violations[:2])
            else:
                run.decisions[f"plan-{solver}"] = res
        report.plans.append(row)
        run.emit("solved", {"plan": label, "row": row})
    return problem, names, bounds


def plan_outcomes(
    run: DemoRun, problem: Any, names: set[str], plans: tuple[tuple[str, str, str], ...]
) -> None:
    """Add the outcome-aligned plans ``(label, solver, objective)`` of ``problem``.

    Their ``utility`` column is the summed utility of the route (comparable with the other
    rows), the value of the objective they optimised a note.
    """
    if getattr(problem, "label_mass", None) is None:
        return
    for label, solver, objective in plans:
        if solver not in names:
            continue
        aligned = problem.replace(objective=objective)
        _aligned_plan(run, problem, aligned, label, solver, f"{objective} = {{:.4g}}")


def _aligned_plan(
    run: DemoRun,
    problem: Any,
    aligned: Any,
    label: str,
    solver: str,
    note: str,
    model: Any = None,
) -> None:
    """Solve ``aligned`` (``problem`` under another objective) with ``solver``; check the route
    under both objectives, report its summed utility and ``note.format(planned objective)``.

    ``model`` is the outcome model the objective reads, if any: the explanation page's
    instance carries it (:func:`write_pages`)."""
    from . import mtrce
    from .registry import solve

    objective = aligned.objective
    res = solve(aligned, solver, time_limit=run.time_limit, seed=0)
    row = PlanRow(label, solver, res.status.value, solve_time=res.runtime, objective=objective)
    if res.is_feasible():
        planned = mtrce.check(aligned, res.solution)
        plain = mtrce.check(problem, res.solution)
        row.checked = planned.ok and plain.ok
        row.utility = plain.objective
        row.route = res.solution["routes"][0]
        row.note = note.format(planned.objective)
        if row.checked:
            run.decisions[f"plan-{objective}"] = res
            run.asks[f"plan-{objective}"] = (objective, model)
    else:
        row.note = res.message
    run.report.plans.append(row)
    run.emit("solved", {"plan": label, "row": row})


def outcome_model_of(run: DemoRun, example: Path) -> tuple[Any, str]:
    """The request's outcome model and where it comes from: its own, else that of the same
    request of ``example`` (the shipped fitted copy of the instance) when the snapshot and the
    request are the same; ``(None, why not)`` otherwise."""
    from .drrt.instance import load_instance

    req = run.req
    if req.outcome_model is not None:
        return req.outcome_model, f"request {req.id}'s own"
    if not example.exists():
        return None, f"no outcome model: {req.id} carries none and {example} is missing"
    shipped = load_instance(example)
    twin = next((r for r in shipped.requests if r.id == req.id), None)
    if twin is None or twin.outcome_model is None:
        return None, f"no outcome model: {example.name} fits none for {req.id}"
    same = twin.model_copy(update={"objective": req.objective, "outcome_model": None}) == req
    if not same or shipped.snapshot != run.inst.snapshot:
        return None, f"no outcome model: {example.name} is fitted for another instance"
    return twin.outcome_model, f"fitted on pilot replays, {example.name}"


def plan_expected(
    run: DemoRun, problem: Any, names: set[str], plan: tuple[str, str], example: Path
) -> None:
    """The outcome-aligned plan the evidence uses: ``plan = (label, solver)`` minimises the
    expected time to the demo's target accuracy on the request's fitted outcome model
    (:func:`outcome_model_of`); missing when there is no model or no solver."""
    from .mtrce.problem import EXPECTED_TIME, with_outcome_model

    label, solver = plan
    if problem is None:
        return
    if solver not in names:
        run.report.missing.append(f"mtrce solver {solver!r} is not registered: no {label} plan")
        return
    model, source = outcome_model_of(run, example)
    if model is None:
        run.report.missing.append(f"{label}: {source}")
        return
    model = model.model_copy(update={"target_accuracy": run.target})
    aligned = with_outcome_model(problem, model).replace(objective=EXPECTED_TIME)
    _aligned_plan(
        run,
        problem,
        aligned,
        label,
        solver,
        f"E[time to {run.target:g}] = {{:.1f}} s predicted; outcome model {source}",
        model,
    )


def set_gaps(report: DemoReport, bounds: list[float]) -> None:
    """Each plan's relative gap to the best bound an exact solver proved optimal."""
    best = max(bounds) if bounds else None
    if best is None:
        report.notes.append("no exact solver proved an optimum: gaps are not reported")
        return
    for row in report.plans:
        if row.utility is not None:
            row.gap = max(0.0, (best - row.utility) / max(best, 1e-9))


# -- replays --------------------------------------------------------------------------------------


def replay_plans(run: DemoRun, seeds: int) -> None:
    """Replay every checked route with seeds ``0..seeds-1``; fill the rows' measured columns.

    The replays (one :class:`~daitn_opt.executor.SequentialReplay` per seed) stay in
    ``run.replays`` for the later stages.
    """
    from .executor import SequentialReplay

    run.replays = [
        SequentialReplay(run.inst, run.req.id, seed=s, target_accuracy=run.target)
        for s in range(seeds)
    ]
    for row in run.report.plans:
        if not row.route or row.checked is False:
            continue
        outs = []
        for s, rep in enumerate(run.replays):
            o = rep.run(
                {"routes": [row.route]},
                label=row.plan,
                callback=lambda e, d: run.emit("step", d),
            )
            outs.append(o)
            if s == 0:
                run.curves.append(o)
                stem = f"plan-{row.solver}" if row.objective is None else f"plan-{row.objective}"
                o.save(run.out, stem)
                run.outcomes[stem] = o
        accs = np.array([o.summary.final_accuracy for o in outs], dtype=float)
        ttt = [o.summary.time_to_target for o in outs if o.summary.time_to_target is not None]
        row.final_accuracy = mean_finite(accs)
        row.accuracy_spread = float(np.nanstd(accs)) if row.final_accuracy is not None else None
        row.time_to_target = float(np.mean(ttt)) if ttt else None
        row.reached_target = len(ttt)
        row.bytes_moved = outs[0].summary.bytes_moved
        row.finish_time = outs[0].summary.finish_time
        row.deadline_met = all(o.summary.deadline_met for o in outs)
        run.emit("replayed", {"plan": row.plan, "row": row})


def compare_expected(run: DemoRun) -> None:
    """A note setting the expected-time plan's replays beside the summed-utility optimum's."""
    from .mtrce.problem import EXPECTED_TIME

    plans = run.report.plans
    aligned = next((r for r in plans if r.objective == EXPECTED_TIME and r.route), None)
    old = next((r for r in plans if r.objective is None and r.route and r.gap == 0.0), None)
    if aligned is None or old is None or aligned.final_accuracy is None:
        return

    def reached(row: PlanRow) -> str:
        seeds = len(run.report.seeds)
        if row.time_to_target is None:
            return f"never (0/{seeds} seeds)"
        return f"{row.time_to_target:.0f} s (mean of the {row.reached_target}/{seeds} seeds reaching it)"

    run.report.notes.append(
        f"{aligned.plan} vs {old.plan} (max_utility): final accuracy "
        f"{aligned.final_accuracy:.3f} vs {old.final_accuracy or math.nan:.3f}, time to "
        f"{run.target:g} {reached(aligned)} vs {reached(old)}, summed utility "
        f"{aligned.utility or 0:.4g} vs {old.utility or 0:.4g}"
    )


def add_reference(run: DemoRun) -> None:
    """Append the central references (the ceiling of every plan) to the report.

    Per seed, the replay's own data: every eligible hospital's samples (label noise included)
    pooled at one node, trained for the request's epochs with the replay's loop, settings and
    seed, and measured on the same test set; and, as a note, the model on the whole bundled data
    set (clean labels, 20 % test split) when the task ships with scikit-learn.
    """
    from .executor import pooled_reference

    report, v, req, replays = run.report, run.view, run.req, run.replays
    if not replays:
        return
    ends = (v.ids[v.start], v.ids[v.end])
    nodes = [n for n in v.ids if n not in ends and n in replays[0].data.nodes]
    if not nodes:
        report.notes.append("no eligible hospital holds data: no central reference")
        return
    refs = [
        pooled_reference(rep.data, rep.factory, epochs=req.epochs, seed=rep.seed, nodes=nodes)
        for rep in replays
    ]
    accs = np.array([r.accuracy for r in refs], dtype=float)
    row = PlanRow(
        "ceiling: central",
        "central",
        "reference",
        final_accuracy=mean_finite(accs),
        accuracy_spread=float(np.nanstd(accs)),
        reached_target=int(np.sum(accs >= run.target)),
        note=(
            f"all {refs[0].samples} samples of the {len(nodes)} eligible hospitals at one node, "
            f"{req.epochs} epoch(s), the replay's training loop, seeds and test set"
        ),
    )
    report.plans.append(row)
    report.reference = {
        "kind": "pooled",
        "nodes": nodes,
        "samples": refs[0].samples,
        "epochs": req.epochs,
        "final_accuracy": row.final_accuracy,
        "accuracy_spread": row.accuracy_spread,
        "per_seed": [r.accuracy for r in refs],
    }
    best = max((r.final_accuracy for r in report.plans if r.route and r.final_accuracy), default=0)
    if row.final_accuracy:
        report.notes.append(
            f"ceiling: {row.final_accuracy:.3f} trained centrally on {row.note}; the best plan "
            f"reaches {best / row.final_accuracy:.0%} of it"
        )
    _add_bundled_reference(run)


def _add_bundled_reference(run: DemoRun) -> None:
    """The model on the whole bundled data set, when the task ships with scikit-learn."""
    from .executor import central_reference
    from .executor.data import SHIPPED

    report, req = run.report, run.req
    if req.task not in SHIPPED:
        return
    model = run.replays[0].factory
    bundled = [
        central_reference(req.task, model, epochs=req.epochs, seed=s, modality=req.modality)
        for s in report.seeds
    ]
    report.reference["bundled"] = {
        "samples": bundled[0].samples,
        "test_samples": bundled[0].test_samples,
        "final_accuracy": mean_finite([b.accuracy for b in bundled]),
    }
    report.notes.append(
        f"bundled reference: {getattr(model, '__name__', 'model')} on all "
        f"{bundled[0].samples} {req.task} training samples, clean labels, {req.epochs} "
        f"epoch(s): {report.reference['bundled']['final_accuracy']:.3f} on "
        f"{bundled[0].test_samples} held-out samples"
    )


def fail_mid_route(run: DemoRun, names: set[str]) -> None:
    """A hospital of the best route fails while the model is on its way: static, replan, AATS."""
    from .executor import EventTimeline
    from .executor.policies import AATSPolicy

    report = run.report
    best = next((r for r in report.plans if r.route and r.gap == 0.0), None)
    best = best or next((r for r in report.plans if r.route), None)
    if best is None or len(best.route) < 4:
        report.notes.append("dynamics skipped: no route with two or more hospitals")
        return
    base = run.replays[0].run({"routes": [best.route]})
    trains = [s for s in base.trace if s.action == "train"]
    # The third hospital fails while the model trains at the second (the first when the route
    # is short), so that a re-plan has time left to use.
    k = 3 if len(best.route) >= 5 else 2
    victim = best.route[k]
    when = trains[k - 2].time - 1e-6 if k >= 3 else 0.0
    events = EventTimeline.parse(
        [{"time": when, "type": "node_down", "node": victim}], run.inst.snapshot, "demo events"
    )
    policies: list[tuple[str, Any]] = [("static", "static"), ("replan", "replan")]
    policies.append(("aats", AATSPolicy(use_solver="aats" in names)))
    run.dyn_curves.append(replace(base, label="no failure"))
    for label, pol in policies:
        outs = [
            rep.run({"routes": [best.route]}, events=events, policy=pol, label=label)
            for rep in run.replays
        ]
        outs[0].save(run.out, f"dynamics-{label}")
        run.dyn_curves.append(outs[0])
        report.dynamics.append(
            DynamicsRow(
                policy=label,
                failed=victim,
                at=when,
                utility=outs[0].summary.utility_collected,
                planned_utility=base.summary.utility_collected,
                final_accuracy=mean_finite([o.summary.final_accuracy for o in outs]),
                deadline_met=all(o.summary.deadline_met for o in outs),
                visited=outs[0].summary.visited,
                notes=outs[0].notes[:3],
            )
        )


# -- T-FAM ----------------------------------------------------------------------------------------


def admit(run: DemoRun) -> dict[str, Any] | None:
    """Admit the batch of training requests with T-FAM (HiGHS and first-come-first-served).

    Returns the HiGHS solution the checker accepted (``{}`` when there is none), or None when
    the T-FAM package is missing.
    """
    report = run.report
    names, why = registered("tfam")
    if why:
        report.missing.append(why)
        return None
    from . import tfam
    from .registry import solve

    problem = tfam.from_instance(run.inst)
    chosen: dict[str, Any] = {}
    for solver in ("highs", "fcfs"):
        if solver not in names:
            report.missing.append(f"tfam solver {solver!r} is not registered")
            continue
        res = solve(problem, solver, time_limit=run.time_limit, seed=0)
        ok = res.is_feasible() and tfam.check(problem, res.solution).ok
        report.admission[solver] = AdmissionRow(
            status=res.status.value,
            value=res.objective,
            admitted=res.solution.get("admitted", {}),
            refused=res.solution.get("refused", []),
            checked=ok,
            solve_time=res.runtime,
        )
        if solver == "highs" and ok:
            chosen = res.solution
            run.decisions["tfam-highs"] = res
    return chosen


def replay_admitted(run: DemoRun, solution: dict[str, Any] | None) -> None:
    """FedAvg replay of the first federated request T-FAM's HiGHS ``solution`` admitted.

    ``solution`` is what :func:`admit` returned; the client set is the admitted plan's, as the
    solution states it (:func:`~daitn_opt.executor.replay.admitted_plan`).
    """
    from .executor import replay_federated
    from .executor.replay import admitted_plan

    report, inst = run.report, run.inst
    if solution is None:
        return
    admitted = solution.get("admitted", {})
    fed = [r for r in inst.requests if r.mode == "federated" and r.id in admitted]
    if not fed:
        report.notes.append("no federated request admitted by T-FAM: no FedAvg replay")
        return
    r = fed[0]
    try:
        plan = admitted_plan(inst, solution, r.id)
    except InputError as exc:
        report.notes.append(f"T-FAM plan of {r.id}: {exc}")
        return
    label, clients = plan.get("label", ""), plan.get("clients") or []
    if not clients:
        report.notes.append(f"T-FAM plan {label!r} of {r.id} names no client set")
        return
    o = replay_federated(
        inst, clients, request_id=r.id, seed=0, target_accuracy=run.target, label=f"FedAvg {r.id}"
    )
    o.save(run.out, f"federated-{r.id}")
    report.federated = FederatedRow(
        request=r.id,
        plan=label,
        clients=clients,
        rounds=sum(s.action == "round" for s in o.trace),
        final_accuracy=o.summary.final_accuracy,
        bytes_moved=o.summary.bytes_moved,
        finish_time=o.summary.finish_time,
        deadline=r.deadline,
        deadline_met=o.summary.deadline_met,
        notes=o.notes,
    )


# -- QIRCE ----------------------------------------------------------------------------------------


def place(run: DemoRun) -> list[tuple[str, Any]]:
    """QIRCE placements (optimal and nearest) that the checker accepts, with their labels."""
    report, inst = run.report, run.inst
    names, why = registered("qirce")
    placements: list[tuple[str, Any]] = []
    if why:
        report.missing.append(why)
        return placements
    if not inst.models:
        return placements
    from . import qirce
    from .registry import solve

    problem = qirce.from_instance(inst)
    for label, solver in (("QIRCE optimal (HiGHS)", "highs"), ("QIRCE nearest (naive)", "nearest")):
        if solver not in names:
            report.missing.append(f"qirce solver {solver!r} is not registered: no {label}")
            continue
        res = solve(problem, solver, time_limit=run.time_limit, seed=0)
        if res.is_feasible() and qirce.check(problem, res.solution).ok:
            placements.append((label, res))
            run.decisions[f"qirce-{solver}"] = res
        else:
            report.notes.append(f"{label}: {res.summary()}")
    if "highs" in names:
        # issue 12: the placement that prices M/D/1 queueing (formulations/qirce.md, Congestion)
        aware = problem.replace(single_source=True, congestion="md1")
        res = solve(aware, "highs", time_limit=run.time_limit, seed=0)
        label = "QIRCE congestion-aware (HiGHS)"
        if res.is_feasible() and qirce.check(aware, res.solution).ok:
            placements.append((label, res))
        else:
            report.notes.append(f"{label}: {res.summary()}")
    return placements


def serve(run: DemoRun, placements: list[tuple[str, Any]]) -> None:
    """Replay Poisson queries through every placement and the capacity-blind nearest one."""
    from .executor import replay_serving

    inst = run.inst
    if inst.models:
        from .drrt.qrrt import build_qrrt
        from .executor import nearest_placement

        placements = [*placements, ("nearest, capacity-blind", nearest_placement(build_qrrt(inst)))]
    for label, placement in placements:
        so = replay_serving(inst, placement, seed=0, label=label)
        run.serving.append(so)
        run.report.serving.append(so.to_dict())
        stem = next((k for k, r in run.decisions.items() if r is placement), None)
        if stem is not None:
            run.outcomes[stem] = so


# -- files ----------------------------------------------------------------------------------------


def write_pages(run: DemoRun) -> None:
    """One self-contained HTML explanation per decision the demo shows
    (``explain-<stem>.html``: map, view, routes, schedule, bound; its replay when there is one)."""
    from .pages import write_explain

    for stem, result in run.decisions.items():
        request = run.req.id if result.problem == "mtrce" else None
        inst = _asking(run, *run.asks[stem]) if stem in run.asks else run.inst
        path = write_explain(
            inst, result, run.out / f"explain-{stem}.html", run.outcomes.get(stem),
            request=request,
        )  # fmt: skip
        run.report.files.append(str(path))


def _asking(run: DemoRun, objective: str, model: Any) -> Any:
    """The instance whose request asks for ``objective`` (with ``model`` when given): what an
    outcome-aligned plan is checked and explained against."""
    changes: dict[str, Any] = {"objective": objective}
    if model is not None:
        changes["outcome_model"] = model
    req = run.req.model_copy(update=changes)
    requests = [req if r.id == req.id else r for r in run.inst.requests]
    return run.inst.model_copy(update={"requests": requests})


def write_plots(run: DemoRun) -> None:
    """The accuracy, dynamics and serving plots of what the stages replayed."""
    from .plotting import plot_accuracy, plot_serving

    report, out, req = run.report, run.out, run.req
    if run.curves:
        path = plot_accuracy(
            run.curves,
            out / "accuracy.png",
            deadline=req.deadline,
            target=run.target,
            title=f"{run.inst.name} / {req.id}: accuracy of each plan (seed 0)",
        )
        report.files.append(str(path))
    if run.dyn_curves:
        path = plot_accuracy(
            run.dyn_curves,
            out / "dynamics.png",
            deadline=req.deadline,
            title=f"{report.dynamics[0].failed} fails mid-route: policies compared",
        )
        report.files.append(str(path))
    if run.serving:
        report.files.append(str(plot_serving(run.serving, out / "serving.png")))
