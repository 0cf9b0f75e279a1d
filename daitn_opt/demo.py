"""The end-to-end demonstration: decide with every solver, then measure with real training.

On the shipped healthcare instance (``instances/healthcare-small.json``: hospitals holding
breast-cancer data, an MPVU, a model owner, querying users and model deployment facilities),
:func:`run_demo`:

1. builds the MS-DRRT view of the first sequential tabular request;
2. solves MTRCE exactly (HiGHS MILP, CP-SAT), heuristically (ILS), with AATS and with a random
   order, and checks every route with the independent checker;
3. replays every route as real PyTorch training on the simulated clock (mean over several seeds)
   and compares utility, gap, solve time, final accuracy, time to the target accuracy and bytes,
   with the ceiling next to them: the same model trained centrally on all the eligible
   hospitals' samples for the same epochs (:func:`~daitn_opt.executor.pooled_reference`);
4. fails a hospital mid-route and replays the exact route under the static, replan and AATS
   policies;
5. admits the batch of training requests with T-FAM and replays an admitted federated request's
   client set as FedAvg;
6. places inference with QIRCE and replays Poisson queries through the optimal placement and the
   naive ones;
7. writes every outcome (JSON, CSV), the plots and ``demo.json`` to the output folder.

A piece that is not available (a solver not registered, a problem package missing) is reported
as missing in the report, never replaced by something else. Progress goes to ``progress(event,
data)``; nothing here prints.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .drrt.instance import Instance, load_instance
from .errors import InputError
from .executor.outcome import Outcome
from .io import json_safe

Progress = Callable[[str, dict[str, Any]], None]

DEFAULT_INSTANCE = Path(__file__).resolve().parent.parent / "instances" / "healthcare-small.json"
MTRCE_PLANS = (
    ("exact HiGHS", "highs"),
    ("exact CP-SAT", "cpsat"),
    ("ILS", "ils"),
    ("AATS", "aats"),
    ("random", "random"),
)
OUTCOME_PLANS = (
    ("coverage (exact)", "coverage-highs", "max_coverage"),
    ("time to target (exact)", "coverage-highs", "min_time_to_target"),
)
"""Outcome-aligned plans shown next to the summed-utility ones: (label, solver, objective)."""
STAGES = (
    "view",
    "mtrce",
    "replay",
    "dynamics",
    "tfam",
    "federated",
    "qirce",
    "serving",
    "plots",
)


@dataclass
class PlanRow:
    """One row of the comparison table."""

    plan: str
    solver: str
    status: str
    utility: float | None = None
    gap: float | None = None
    """Relative gap of the plan's utility to the best proved bound (0: optimal)."""
    solve_time: float | None = None
    checked: bool | None = None
    route: list[str] = field(default_factory=list)
    final_accuracy: float | None = None
    accuracy_spread: float | None = None
    """Standard deviation of the final accuracy over the replay seeds."""
    time_to_target: float | None = None
    """Mean over the seeds that reached the target (None when none did)."""
    reached_target: int = 0
    bytes_moved: int | None = None
    finish_time: float | None = None
    deadline_met: bool | None = None
    note: str = ""
    objective: str | None = None
    """The route objective the plan optimised when it is not the request's own."""


def _outcome_plan(
    problem: Any, label: str, solver: str, objective: str, names: Any, time_limit: float
) -> PlanRow | None:
    """A plan of ``problem`` under an outcome-aligned ``objective``; its ``utility`` column is
    the summed utility of the route (comparable with the other rows), its planned value a note."""
    from . import mtrce
    from .registry import solve

    if solver not in names or getattr(problem, "label_mass", None) is None:
        return None
    aligned = problem.replace(objective=objective)
    res = solve(aligned, solver, time_limit=time_limit, seed=0)
    row = PlanRow(label, solver, res.status.value, solve_time=res.runtime, objective=objective)
    if res.is_feasible():
        planned = mtrce.check(aligned, res.solution)
        plain = mtrce.check(problem, res.solution)
        row.checked = planned.ok and plain.ok
        row.utility = plain.objective
        row.route = res.solution["routes"][0]
        row.note = f"{objective} = {planned.objective:.4g}"
    else:
        row.note = res.message
    return row


@dataclass
class DemoReport:
    """Everything the demo measured, and where it wrote it."""

    instance: str
    request: str
    deadline: float | None
    target_accuracy: float
    seeds: list[int]
    plans: list[PlanRow] = field(default_factory=list)
    dynamics: list[dict[str, Any]] = field(default_factory=list)
    admission: dict[str, Any] = field(default_factory=dict)
    federated: dict[str, Any] = field(default_factory=dict)
    reference: dict[str, Any] = field(default_factory=dict)
    """The central reference (ceiling) of the replayed plans: see :func:`_add_reference`."""
    serving: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """Pieces that are not available, with why."""
    files: list[str] = field(default_factory=list)
    wall_time: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))


def _registered(kind: str) -> tuple[set[str], str | None]:
    """Registered solver names of a problem kind, or (empty, why) when the package is missing."""
    from .registry import solvers

    try:
        return set(solvers(kind)[kind]), None
    except ImportError as exc:  # a problem package not built yet
        return set(), f"{kind}: package not importable ({exc})"


def run_demo(
    instance: Instance | str | Path | None = None,
    output: str | Path = "daitn-demo",
    *,
    request_id: str | None = None,
    seeds: int = 5,
    time_limit: float = 20.0,
    target_accuracy: float = 0.9,
    progress: Progress | None = None,
) -> DemoReport:
    """Run the demonstration and write its files into ``output``.

    Parameters
    ----------
    instance
        An instance or its file; default the shipped ``instances/healthcare-small.json``.
    output
        Folder for outcomes (JSON, CSV), plots and ``demo.json``; created if needed.
    request_id
        The sequential request to route; default the first sequential request.
    seeds
        Replay seeds per plan (data split, initial weights, batch order); accuracies are means.
    time_limit
        Seconds per solver call.
    target_accuracy
        Accuracy whose first attainment time is reported.
    """
    from .executor import (
        EventTimeline,
        SequentialReplay,
        replay_federated,
        replay_serving,
    )
    from .executor.dynamics import AATSPolicy
    from .plotting import plot_accuracy, plot_serving

    started = time.perf_counter()
    emit = progress or (lambda event, data: None)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)

    def stage(name: str, detail: str) -> None:
        emit(
            "stage",
            {"name": name, "index": STAGES.index(name), "total": len(STAGES), "detail": detail},
        )

    # 1. The instance, the request and its view.
    if instance is None:
        if not DEFAULT_INSTANCE.exists():
            raise InputError(
                "instance",
                str(DEFAULT_INSTANCE),
                "the shipped default instance is missing; pass one",
            )
        instance = DEFAULT_INSTANCE
    inst = instance if isinstance(instance, Instance) else load_instance(instance)
    if request_id is None:
        seq = [r for r in inst.requests if r.mode == "sequential" and r.replicas == 1]
        if not seq:
            raise InputError(
                "instance.requests", len(inst.requests), "no sequential request to route"
            )
        request_id = seq[0].id
    req = inst.request(request_id)
    stage("view", f"view of request {req.id} ({req.modality}/{req.task})")
    from .drrt.view import view

    v = view(inst, req.id)
    report = DemoReport(
        instance=inst.name,
        request=req.id,
        deadline=req.deadline,
        target_accuracy=target_accuracy,
        seeds=list(range(seeds)),
    )
    report.notes.append(
        f"view of {req.id}: {v.n - 2} eligible hospitals, {len(v.excluded)} excluded "
        f"({'; '.join(f'{k}: {w}' for k, w in list(v.excluded.items())[:4])}"
        f"{'; ...' if len(v.excluded) > 4 else ''})"
    )

    # 2. MTRCE with every solver.
    stage("mtrce", "solving MTRCE: exact, heuristic, AATS, random")
    names, why = _registered("mtrce")
    if why:
        report.missing.append(why)
    results: dict[str, Any] = {}
    problem = None
    if not why:
        from . import mtrce
        from .registry import solve

        problem = mtrce.from_instance(inst, req.id)
        for label, solver in MTRCE_PLANS:
            if solver not in names:
                report.missing.append(f"mtrce solver {solver!r} is not registered: no {label} plan")
                report.plans.append(PlanRow(label, solver, "missing", note="solver not registered"))
                continue
            res = solve(problem, solver, time_limit=time_limit, seed=0)
            results[label] = res
            row = PlanRow(label, solver, res.status.value, solve_time=res.runtime, note=res.message)
            if res.is_feasible():
                rep = mtrce.check(problem, res.solution)
                row.checked = rep.ok
                row.utility = rep.objective
                row.route = res.solution["routes"][0]
                if not rep.ok:
                    row.note = "checker: " + "; ".join(rep.violations[:2])
            report.plans.append(row)
            emit("solved", {"plan": label, "row": row})
        for label, solver, objective in OUTCOME_PLANS:
            row = _outcome_plan(problem, label, solver, objective, names, time_limit)
            if row is not None:
                report.plans.append(row)
                emit("solved", {"plan": label, "row": row})
        bounds = [
            r.bound
            for r in results.values()
            if r.status.value == "optimal"
            and r.bound is not None
            and r.solver in ("highs", "cpsat")
        ]
        best = max(bounds) if bounds else None
        for row in report.plans:
            if best is not None and row.utility is not None:
                row.gap = max(0.0, (best - row.utility) / max(best, 1e-9))
        if best is None:
            report.notes.append("no exact solver proved an optimum: gaps are not reported")

    # 3. Replays of every plan, over several seeds.
    stage(
        "replay",
        f"replaying {sum(r.route != [] for r in report.plans)} routes x {seeds} seeds as real training",
    )
    curves: list[Outcome] = []
    replays = [
        SequentialReplay(inst, req.id, seed=s, target_accuracy=target_accuracy)
        for s in range(seeds)
    ]
    for row in report.plans:
        if not row.route or row.checked is False:
            continue
        outs = []
        for s, rep in enumerate(replays):
            o = rep.run(
                {"routes": [row.route]}, label=row.plan, callback=lambda e, d: emit("step", d)
            )
            outs.append(o)
            if s == 0:
                curves.append(o)
                o.save(
                    out, f"plan-{row.solver}" if row.objective is None else f"plan-{row.objective}"
                )
        accs = np.array([o.summary.final_accuracy for o in outs], dtype=float)
        ttt = [o.summary.time_to_target for o in outs if o.summary.time_to_target is not None]
        row.final_accuracy = _mean(accs)
        row.accuracy_spread = float(np.nanstd(accs)) if row.final_accuracy is not None else None
        row.time_to_target = float(np.mean(ttt)) if ttt else None
        row.reached_target = len(ttt)
        row.bytes_moved = outs[0].summary.bytes_moved
        row.finish_time = outs[0].summary.finish_time
        row.deadline_met = all(o.summary.deadline_met for o in outs)
        emit("replayed", {"plan": row.plan, "row": row})

    # The ceiling: the same model trained on all the eligible hospitals' samples at one node.
    _add_reference(report, v, replays, req, target_accuracy)

    # 4. Dynamics: a hospital of the best route fails while the model is on its way.
    stage("dynamics", "a hospital fails mid-route: static vs replan vs AATS")
    best_row = next((r for r in report.plans if r.route and r.gap == 0.0), None)
    best_row = best_row or next((r for r in report.plans if r.route), None)
    dyn_curves: list[Outcome] = []
    if best_row is not None and len(best_row.route) >= 4:
        base = replays[0].run({"routes": [best_row.route]})
        trains = [s for s in base.trace if s.action == "train"]
        # The third hospital fails while the model trains at the second (the first when the
        # route is short), so that a re-plan has time left to use.
        k = 3 if len(best_row.route) >= 5 else 2
        victim = best_row.route[k]
        when = trains[k - 2].time - 1e-6 if k >= 3 else 0.0
        events = EventTimeline.parse(
            [{"time": when, "type": "node_down", "node": victim}], inst.snapshot, "demo events"
        )
        policies: list[tuple[str, Any]] = [("static", "static"), ("replan", "replan")]
        policies.append(("aats", AATSPolicy(use_solver="aats" in names)))
        dyn_curves.append(replace(base, label="no failure"))
        for label, pol in policies:
            accs, outs = [], []
            for rep in replays:
                o = rep.run({"routes": [best_row.route]}, events=events, policy=pol, label=label)
                outs.append(o)
                accs.append(o.summary.final_accuracy)
            outs[0].save(out, f"dynamics-{label}")
            dyn_curves.append(outs[0])
            report.dynamics.append(
                {
                    "policy": label,
                    "failed": victim,
                    "at": when,
                    "utility": outs[0].summary.utility_collected,
                    "planned_utility": base.summary.utility_collected,
                    "final_accuracy": _mean(accs),
                    "deadline_met": all(o.summary.deadline_met for o in outs),
                    "visited": outs[0].summary.visited,
                    "notes": outs[0].notes[:3],
                }
            )
    else:
        report.notes.append("dynamics skipped: no route with two or more hospitals")

    # 5. T-FAM admission of the batch; 6. FedAvg replay of an admitted federated request.
    stage("tfam", "admitting the batch of training requests with T-FAM")
    tnames, twhy = _registered("tfam")
    admitted: dict[str, int] = {}
    labels: list[str] = []
    tproblem = None
    if twhy:
        report.missing.append(twhy)
    else:
        from . import tfam
        from .registry import solve

        tproblem = tfam.from_instance(inst)
        labels = tproblem.plan_labels or []
        for solver in ("highs", "fcfs"):
            if solver not in tnames:
                report.missing.append(f"tfam solver {solver!r} is not registered")
                continue
            res = solve(tproblem, solver, time_limit=time_limit, seed=0)
            ok = res.is_feasible() and tfam.check(tproblem, res.solution).ok
            report.admission[solver] = {
                "status": res.status.value,
                "value": res.objective,
                "admitted": res.solution.get("admitted", {}),
                "refused": res.solution.get("refused", []),
                "checked": ok,
                "solve_time": res.runtime,
            }
            if solver == "highs" and ok:
                admitted = res.solution["admitted"]
    stage("federated", "FedAvg replay of an admitted federated request")
    fed = [r for r in inst.requests if r.mode == "federated" and r.id in admitted]
    if fed and tproblem is not None:
        r = fed[0]
        k = tproblem.request_ids.index(r.id)
        label = labels[int(tproblem.plan_start[k]) + int(admitted[r.id])] if labels else ""
        clients = _clients_of_label(label)
        if clients:
            o = replay_federated(
                inst,
                clients,
                request_id=r.id,
                seed=0,
                target_accuracy=target_accuracy,
                label=f"FedAvg {r.id}",
            )
            o.save(out, f"federated-{r.id}")
            report.federated = {
                "request": r.id,
                "plan": label,
                "clients": clients,
                "rounds": sum(s.action == "round" for s in o.trace),
                "final_accuracy": o.summary.final_accuracy,
                "bytes_moved": o.summary.bytes_moved,
                "finish_time": o.summary.finish_time,
                "deadline": r.deadline,
                "deadline_met": o.summary.deadline_met,
                "notes": o.notes,
            }
        else:
            report.notes.append(f"T-FAM plan {label!r} of {r.id} names no client set")
    elif not twhy:
        report.notes.append("no federated request admitted by T-FAM: no FedAvg replay")

    # 7. QIRCE placement and serving replays.
    stage("qirce", "placing inference with QIRCE")
    qnames, qwhy = _registered("qirce")
    placements: list[tuple[str, Any]] = []
    if qwhy:
        report.missing.append(qwhy)
    elif inst.models:
        from . import qirce
        from .registry import solve

        qproblem = qirce.from_instance(inst)
        for label, solver in (
            ("QIRCE optimal (HiGHS)", "highs"),
            ("QIRCE nearest (naive)", "nearest"),
        ):
            if solver not in qnames:
                report.missing.append(f"qirce solver {solver!r} is not registered: no {label}")
                continue
            res = solve(qproblem, solver, time_limit=time_limit, seed=0)
            if res.is_feasible() and qirce.check(qproblem, res.solution).ok:
                placements.append((label, res))
            else:
                report.notes.append(f"{label}: {res.summary()}")
    stage("serving", "replaying Poisson queries through the placements")
    if inst.models:
        from .drrt.qrrt import build_qrrt
        from .executor import nearest_placement

        placements.append(("nearest, capacity-blind", nearest_placement(build_qrrt(inst))))
    serving_outcomes = []
    for label, placement in placements:
        so = replay_serving(inst, placement, seed=0, label=label)
        serving_outcomes.append(so)
        report.serving.append(so.to_dict())

    # 8. Plots and files.
    stage("plots", f"writing plots and outcomes to {out}")
    if curves:
        report.files.append(
            str(
                plot_accuracy(
                    curves,
                    out / "accuracy.png",
                    deadline=req.deadline,
                    target=target_accuracy,
                    title=f"{inst.name} / {req.id}: accuracy of each plan (seed 0)",
                )
            )
        )
    if dyn_curves:
        report.files.append(
            str(
                plot_accuracy(
                    dyn_curves,
                    out / "dynamics.png",
                    deadline=req.deadline,
                    title=f"{report.dynamics[0]['failed']} fails mid-route: policies compared",
                )
            )
        )
    if serving_outcomes:
        report.files.append(str(plot_serving(serving_outcomes, out / "serving.png")))
    report.wall_time = time.perf_counter() - started
    (out / "demo.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    report.files.append(str(out / "demo.json"))
    emit("done", {"wall_time": report.wall_time})
    return report


def _add_reference(report: DemoReport, v: Any, replays: list[Any], req: Any, target: float) -> None:
    """Append the central references (the ceiling of every plan) to the report.

    Per seed, the replay's own data: every eligible hospital's samples (label noise included)
    pooled at one node, trained for the request's epochs with the replay's loop, settings and
    seed, and measured on the same test set; and, as a note, the model on the whole bundled data
    set (clean labels, 20 % test split) when the task ships with scikit-learn.
    """
    from .executor import central_reference, pooled_reference
    from .executor.data import SHIPPED

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
        final_accuracy=_mean(accs),
        accuracy_spread=float(np.nanstd(accs)),
        reached_target=int(np.sum(accs >= target)),
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
    if req.task in SHIPPED:
        model = replays[0].factory
        bundled = [
            central_reference(req.task, model, epochs=req.epochs, seed=s, modality=req.modality)
            for s in report.seeds
        ]
        report.reference["bundled"] = {
            "samples": bundled[0].samples,
            "test_samples": bundled[0].test_samples,
            "final_accuracy": _mean([b.accuracy for b in bundled]),
        }
        report.notes.append(
            f"bundled reference: {getattr(model, '__name__', 'model')} on all "
            f"{bundled[0].samples} {req.task} training samples, clean labels, {req.epochs} "
            f"epoch(s): {report.reference['bundled']['final_accuracy']:.3f} on "
            f"{bundled[0].test_samples} held-out samples"
        )


def _mean(values) -> float | None:
    """Mean of the finite values (a model lost with a failed node has no accuracy); None if none."""
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else None


def _clients_of_label(label: str) -> list[str]:
    """Client ids of a T-FAM federated plan label ``{h1,h2} +30s`` (empty for routes)."""
    head = label.split(" +")[0].strip()
    if not (head.startswith("{") and head.endswith("}")):
        return []
    return [c for c in head[1:-1].split(",") if c]


def format_gap(gap: float | None) -> str:
    if gap is None or (isinstance(gap, float) and math.isnan(gap)):
        return "-"
    return f"{100 * gap:.1f}%"
