"""The end-to-end demonstration: decide with every solver, then measure with real training.

On the shipped healthcare instance (``instances/healthcare-small.json``: hospitals holding
breast-cancer data, an MPVU, a model owner, querying users and model deployment facilities),
:func:`run_demo`:

1. builds the MS-DRRT view of the first sequential tabular request;
2. solves MTRCE exactly (HiGHS MILP, CP-SAT), heuristically (ILS), with AATS and with a random
   order, and for the outcome-aligned objectives (coverage, time to a coverage target, and the
   expected time to the target accuracy on the request's outcome model fitted to pilot replays,
   from ``instances/healthcare-small-outcome.json`` when the request carries none), and checks
   every route with the independent checker;
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
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import demo_stages as stages
from .demo_report import (
    AdmissionRow,
    DemoReport,
    DynamicsRow,
    FederatedRow,
    PlanRow,
    format_gap,
)
from .drrt.instance import Instance, load_instance
from .errors import InputError

__all__ = [
    "DEFAULT_INSTANCE",
    "EXPECTED_PLAN",
    "MTRCE_PLANS",
    "OUTCOME_EXAMPLE",
    "OUTCOME_PLANS",
    "STAGES",
    "AdmissionRow",
    "DemoReport",
    "DynamicsRow",
    "FederatedRow",
    "PlanRow",
    "format_gap",
    "run_demo",
]

Progress = Callable[[str, dict[str, Any]], None]

DEFAULT_INSTANCE = Path(__file__).resolve().parent.parent / "instances" / "healthcare-small.json"
MTRCE_PLANS = (
    ("exact HiGHS", "highs"),
    ("exact CP-SAT", "cpsat"),
    ("ILS", "ils"),
    ("AATS", "aats"),
    ("random", "random"),
)
"""The summed-utility plans: (label, MTRCE solver)."""
OUTCOME_PLANS = (
    ("coverage (exact)", "coverage-highs", "max_coverage"),
    ("time to target (exact)", "coverage-highs", "min_time_to_target"),
)
"""Outcome-aligned plans shown next to the summed-utility ones: (label, solver, objective)."""
EXPECTED_PLAN = ("expected time to target (fitted)", "anytime-ils")
"""The plan the evidence of ``paper outcomes`` uses: the least expected time to the target
accuracy on the request's outcome model fitted to pilot replays (label, solver)."""
OUTCOME_EXAMPLE = DEFAULT_INSTANCE.with_name("healthcare-small-outcome.json")
"""The shipped copy of the default instance whose requests carry their fitted outcome models
(``instances/outcome_models.py``): where the demo finds the model of a request without one."""
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
    progress
        Called as ``progress(event, data)``: ``stage`` (``name``, ``index``, ``total``,
        ``detail``), ``solved`` and ``replayed`` (``plan``, ``row``), ``step`` (a replay step)
        and ``done`` (``wall_time``).

    Returns
    -------
    DemoReport
        Every row measured, the notes, what was missing and the files written.

    Raises
    ------
    InputError
        No default instance, or an instance without a sequential request to route.

    Notes
    -----
    Trains real models (seconds to minutes): one replay per plan and seed, three policies under
    a failure, a FedAvg run and the central references.
    """
    started = time.perf_counter()
    emit = progress or (lambda event, data: None)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    stage = _stage_emitter(emit)
    run = _start(instance, request_id, out, seeds, time_limit, target_accuracy, emit, stage)
    stage("mtrce", "solving MTRCE: exact, heuristic, AATS, random, outcome-aligned")
    problem, names, bounds = stages.plan_mtrce(run, MTRCE_PLANS)
    if problem is not None:
        stages.plan_outcomes(run, problem, names, OUTCOME_PLANS)
        stages.plan_expected(run, problem, names, EXPECTED_PLAN, OUTCOME_EXAMPLE)
        stages.set_gaps(run.report, bounds)
    routes = sum(r.route != [] for r in run.report.plans)
    stage("replay", f"replaying {routes} routes x {seeds} seeds as real training")
    stages.replay_plans(run, seeds)
    stages.compare_expected(run)
    stages.add_reference(run)
    stage("dynamics", "a hospital fails mid-route: static vs replan vs AATS")
    stages.fail_mid_route(run, names)
    stage("tfam", "admitting the batch of training requests with T-FAM")
    admission = stages.admit(run)
    stage("federated", "FedAvg replay of an admitted federated request")
    stages.replay_admitted(run, admission)
    stage("qirce", "placing inference with QIRCE")
    placements = stages.place(run)
    stage("serving", "replaying Poisson queries through the placements")
    stages.serve(run, placements)
    stage("plots", f"writing plots, outcomes and explanation pages to {out}")
    stages.write_plots(run)
    stages.write_pages(run)
    report = run.report
    report.wall_time = time.perf_counter() - started
    (out / "demo.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    report.files.append(str(out / "demo.json"))
    emit("done", {"wall_time": report.wall_time})
    return report


def _stage_emitter(emit: Progress) -> Callable[[str, str], None]:
    """``stage(name, detail)``: the ``stage`` progress event, numbered by :data:`STAGES`."""

    def stage(name: str, detail: str) -> None:
        emit(
            "stage",
            {"name": name, "index": STAGES.index(name), "total": len(STAGES), "detail": detail},
        )

    return stage


def _start(
    instance: Instance | str | Path | None,
    request_id: str | None,
    out: Path,
    seeds: int,
    time_limit: float,
    target: float,
    emit: Progress,
    stage: Callable[[str, str], None],
) -> stages.DemoRun:
    """Load the instance, pick the request, build its view (stage ``view``) and the report."""
    from .drrt.view import view

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
    v = view(inst, req.id)
    report = DemoReport(
        instance=inst.name,
        request=req.id,
        deadline=req.deadline,
        target_accuracy=target,
        seeds=list(range(seeds)),
    )
    report.notes.append(
        f"view of {req.id}: {v.n - 2} eligible hospitals, {len(v.excluded)} excluded "
        f"({'; '.join(f'{k}: {w}' for k, w in list(v.excluded.items())[:4])}"
        f"{'; ...' if len(v.excluded) > 4 else ''})"
    )
    return stages.DemoRun(inst, req, v, out, report, emit, time_limit, target)
