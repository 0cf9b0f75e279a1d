"""OAM feedback experiment (issue 12, item 2): do learned utilities reach the target sooner?

Claim tested: when some nodes over-report, routes planned on the utilities OAM learned from
replays reach the target accuracy sooner than routes planned on the reports; routes planned on the
true values bound what any estimate can gain.

Design (for the family, not for a seed):

- **Requests**: every sequential tabular request with one replica (breast-cancer) of the shipped
  ``healthcare-small`` and ``healthcare-medium`` instances.
- **Misreports from the trust model** (:func:`daitn_opt.oam.misreport`): a data node lies with
  probability ``min(1, scale * (1 - trust))``. Two settings (:data:`daitn_opt.oam.truth.SETTINGS`): ``noise`` (the
  default), where a liar over-reported its quality (true quality 0.5-0.6: about half its labels
  flipped, i.e. noise) or its sample count (true count 25-50% of the report), with equal
  probability; ``poison``, where a liar is a label-flipping poisoner (true quality 0-0.2: most
  labels inverted, its reported quality unchanged) or a sample over-reporter. The planner reads
  the reported instance, the executor trains on the true data.
- **Planner** (:class:`daitn_opt.oam.AlignedPlanner`): ``min_expected_time_to_target`` solved by
  the registered ``anytime-ils`` on the outcome model fitted per request on pilot replays of the
  *reported* instance (pilot seeds disjoint from the evaluation seeds), with OAM's estimates as
  the model's per-node counts and qualities.
- **Measurement and update** (:mod:`daitn_opt.oam.measure`, :mod:`daitn_opt.oam.estimates`): the
  arriving model's label agreement on a node's own data, inverted to its label quality, with a
  standard error; the sample count from the trace (exact); precision-weighted updates of a prior
  at the report whose variance grows with distrust. The noise exponent is fitted on
  ``settings.noise_exponents`` (default 1-4): the honest pilots barely vary in quality, so they
  cannot tell the fit that label noise matters (``gamma = 0`` fits them about as well), while the
  executor's noise model (uniform flips) says it does.
- **Arms, paired by seed** (same truth, data split and initial weights): ``reported`` (round 0,
  plan on the reports), ``learned`` (the last round, after ``rounds - 1`` updates with the rule of
  :mod:`daitn_opt.oam.estimates`), ``oracle`` (plan on the true samples and qualities).
- **Outcomes**: time to the target accuracy on the simulated clock (a miss counts as the
  request's deadline), final accuracy; scored on the part of the MPVU's held-out set OAM never
  measures on (``validation_share``). Paired differences: mean, 95% t-interval, Wilcoxon
  signed-rank (:mod:`daitn_opt.papers.stats`).

:func:`run_oam` runs it and writes ``oam.md``, ``oam.json``, ``oam-error.png`` and
``oam-time.png`` into a folder; nothing here prints (progress goes to a callback).
"""

from __future__ import annotations

import json
import math
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..oam.truth import SETTINGS
from .stats import mean_ci, paired_wilcoxon, spearman

ROOT = Path(__file__).resolve().parents[2]
Progress = Callable[[str, dict[str, Any]], None]
ARMS = ("reported", "learned", "oracle")
COMPARISONS = (("learned", "reported"), ("oracle", "reported"), ("learned", "oracle"))
ERROR_KINDS = ("misreporters visited", "misreporters", "visited", "all")
LABEL_LIES = ("quality", "flip")
"""Lies about the labels (the others are about the sample count)."""
LIE_NAMES = {"quality": "noise liar", "flip": "poisoner", "samples": "samples liar"}
CAVEATS = [
    "## What this does and does not show",
    "",
    "- The mismatch is synthetic (`daitn_opt/oam/truth.py`): the misreport probability is scaled "
    "up from 1 - trust so that most runs have liars. In the `noise` setting a quality lie means "
    "nearly random labels (binary task: 40-50% flipped); in the `poison` setting a poisoner "
    "inverts 80-100% of its labels while reporting its quality unchanged. Real misreports may be "
    "milder, or correlated with other fields.",
    "- OAM learns only about nodes some route visits (`explore` = 0 here: no optimistic middle "
    "rounds): a liar the planner never chooses keeps its report (`misreporters` vs `misreporters "
    "visited`). An over-reported node looks attractive, so the reported plan tends to visit it "
    "early, which is where OAM measures it.",
    "- The planner's model (kappa, recency, gamma, a, b) is fitted on pilot replays of the reports "
    "and never updated by OAM; OAM changes only each node's counts and quality in it. The label "
    "scale of the model is kept from the reports (`daitn_opt/oam/aligned.py`).",
    "- The first hop's quality is measured with the verified final model (the arriving model is "
    "untrained), which has trained on the node's labels and over-estimates its quality; its "
    "standard error gets 0.1 added for it (`audits` in the measurement table).",
    "- A node's quality can be measured no more precisely than its sample count allows (most "
    "healthcare-medium hospitals hold 1-10 breast-cancer samples): the per-hop rank correlation "
    "with the truth is bounded by that, whatever the estimator.",
    "- Accuracy is scored on about 57 samples (half of breast-cancer's 114 held-out samples): "
    "steps of about 0.018, so a target of 0.9 means 52 of 57 right.",
    "- The simulated clock keeps the reported training times; only the data trained on follows "
    "the truth.",
]
"""Limits of the design, appended to every report."""


@dataclass(frozen=True)
class OAMSettings:
    """Parameters of :func:`run_oam` (defaults: the full run)."""

    instances: tuple[str, ...] = ("small", "medium")
    requests: tuple[str, ...] | None = None
    """``instance/request`` names to keep (None: every eligible request)."""
    seeds: tuple[int, ...] = tuple(range(20))
    rounds: int = 4
    scale: float = 4.0
    kinds: tuple[str, ...] = ("quality", "samples")
    quality_range: tuple[float, float] = (0.5, 0.6)
    """True quality of a ``quality`` (noise) liar (:func:`daitn_opt.oam.misreport`)."""
    flip_range: tuple[float, float] = (0.0, 0.2)
    """True quality of a ``flip`` liar (a label-flipping poisoner)."""
    exclude_harmful: bool = False
    """Plan without the nodes each arm believes at or below chance quality
    (:class:`~daitn_opt.oam.AlignedPlanner`)."""
    setting: str = "noise"
    """Name of the misreport setting (:data:`SETTINGS`); :meth:`preset` sets its fields."""
    target: float = 0.9
    validation_share: float = 0.5
    solver: str = "anytime-ils"
    time_limit: float = 3.0
    pilot_seeds: tuple[int, ...] = (100, 101, 102, 103, 104)
    pilot_routes: int = 12
    noise_exponents: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0)
    prior_sd: float = 1.0
    """Standard deviation of a distrusted report (:class:`~daitn_opt.oam.UtilityEstimates`)."""
    floor_sd: float = 0.02
    """Standard deviation of every report, whatever the trust."""
    rule: str = "gaussian"
    """Update rule of the quality estimates (:data:`daitn_opt.oam.estimates.RULES`)."""
    label_mix: str = "observed"
    """Reference label mix of the quality measurement (:attr:`daitn_opt.oam.ObservedReplay.label_mix`)."""
    explore: float = 0.0
    """Standard deviations of optimism of the middle rounds (``daitn_opt.oam.run_oam``)."""
    quick: bool = False

    @classmethod
    def preset(cls, setting: str = "noise", quick: bool = False) -> OAMSettings:
        """The full (or quick) run of a named misreport setting of :data:`SETTINGS`."""
        if setting not in SETTINGS:
            raise InputError("setting", setting, f"expected one of {sorted(SETTINGS)}")
        base = cls.quick_run() if quick else cls()
        return replace(base, setting=setting, **SETTINGS[setting])

    @classmethod
    def quick_run(cls) -> OAMSettings:
        """Two small requests, three seeds, short pilots: a smoke test of the whole pipeline."""
        return cls(
            instances=("small",),
            requests=("healthcare-small/r1", "healthcare-small/r6"),
            seeds=(0, 1, 2),
            rounds=2,
            pilot_seeds=(100, 101),
            pilot_routes=4,
            time_limit=2.0,
            quick=True,
        )

    def __post_init__(self) -> None:
        if isinstance(self.rounds, bool) or not isinstance(self.rounds, int) or self.rounds < 2:
            raise InputError("rounds", self.rounds, "expected an integer >= 2 (reported, learned)")
        if not self.seeds:
            raise InputError("seeds", self.seeds, "expected at least one seed")
        if set(self.seeds) & set(self.pilot_seeds):
            common = sorted(set(self.seeds) & set(self.pilot_seeds))
            raise InputError("pilot_seeds", common, "must be disjoint from the evaluation seeds")
        if not 0 < self.target <= 1:
            raise InputError("target", self.target, "must lie in (0, 1]")
        if self.setting not in SETTINGS:
            raise InputError("setting", self.setting, f"expected one of {sorted(SETTINGS)}")
        unknown = set(self.instances) - {"small", "medium"}
        if unknown:
            raise InputError("instances", sorted(unknown), "expected small and/or medium")


# -- the experiment -----------------------------------------------------------------------------


def eligible_requests(settings: OAMSettings) -> list[tuple[str, Any, str]]:
    """``(label, instance, request id)`` of every sequential tabular one-replica request kept
    (label: ``healthcare-small`` or ``healthcare-medium``)."""
    from ..drrt.instance import load_instance

    out = []
    for size in settings.instances:
        label = f"healthcare-{size}"
        inst = load_instance(ROOT / "instances" / f"{label}.json")
        for req in inst.requests:
            if req.mode != "sequential" or req.modality != "tabular" or req.replicas != 1:
                continue
            if settings.requests is not None and f"{label}/{req.id}" not in settings.requests:
                continue
            out.append((label, inst, req.id))
    if not out:
        raise InputError("requests", settings.requests, "no eligible request left")
    return out


def fit_planner(inst: Any, rid: str, settings: OAMSettings) -> Any:
    """The request's :class:`~daitn_opt.oam.AlignedPlanner` (outcome model fitted on pilots)."""
    from ..oam import fitted_planner

    return fitted_planner(
        inst,
        rid,
        target_accuracy=settings.target,
        pilot_seeds=settings.pilot_seeds,
        pilot_routes=settings.pilot_routes,
        noise_exponents=settings.noise_exponents,
        solver=settings.solver,
        time_limit=settings.time_limit,
        exclude_harmful=settings.exclude_harmful,
    )


def truth_fields(snapshot: Any, request: Any) -> dict[str, tuple[float, float]]:
    """``node -> (samples, quality)`` of the request's task in ``snapshot`` (summed datasets)."""
    from ..executor.data import matching_datasets

    out = {}
    for node in snapshot.of_kind("data"):
        sets = matching_datasets(node, request.modality, request.task)
        n = sum(d.samples for d in sets)
        if n > 0:
            out[node.id] = (float(n), sum(d.samples * d.quality for d in sets) / n)
    return out


def relative_error(est: Any, task: str, truth: dict, nodes: list[str]) -> float:
    """Mean ``|u_hat - u*| / u*`` over ``nodes`` (nan when none)."""
    errs = []
    for node in nodes:
        e = est.get(node, task)
        n, q = truth[node]
        if e is not None and n * q > 0:
            errs.append(abs(e.utility - n * q) / (n * q))
    return float(np.mean(errs)) if errs else math.nan


def time_to_target_held(outcome: Any) -> float | None:
    """Simulated time from which every evaluated accuracy of ``outcome`` stays at or above its
    target, the final one included (None: the delivered model misses the target).

    The executor's time to target is the *first* time the target is reached; a poisoner visited
    later can undo it, and the user gets the final model.
    """
    times, accs = outcome.curve()
    target = outcome.summary.target_accuracy
    held = None
    for t, a in zip(times, accs, strict=True):
        if a >= target:
            held = t if held is None else held
        else:
            held = None
    return held


def _arm(rnd: Any) -> dict[str, Any]:
    s = rnd.outcome.summary
    return {
        "route": list(rnd.route),
        "predicted_time": rnd.planned_objective,
        "prefix": rnd.info.get("prefix"),
        "final_accuracy": s.final_accuracy,
        "time_to_target": s.time_to_target,
        "time_to_target_held": time_to_target_held(rnd.outcome),
        "deadline": s.deadline,
    }


def run_seed(
    label: str, inst: Any, rid: str, seed: int, planner: Any, settings: OAMSettings
) -> dict[str, Any]:
    """One paired (request, seed) run: the OAM loop (reported .. learned) and the oracle plan."""
    from ..oam import UtilityEstimates, misreport, prior_estimates
    from ..oam import run_oam as loop

    request = inst.request(rid)
    task = request.task
    true_snap, lies = misreport(
        inst.snapshot,
        task,
        seed,
        scale=settings.scale,
        kinds=settings.kinds,
        quality_range=settings.quality_range,
        flip_range=settings.flip_range,
    )
    truth = truth_fields(true_snap, request)
    common = dict(
        seed=seed,
        truth=true_snap,
        planner=planner,
        validation_share=settings.validation_share,
        target_accuracy=settings.target,
        label_mix=settings.label_mix,
    )
    start = UtilityEstimates(
        prior_sd=settings.prior_sd, floor_sd=settings.floor_sd, rule=settings.rule
    )
    res = loop(inst, rid, settings.rounds, estimates=start, explore=settings.explore, **common)
    oracle_est = prior_estimates(inst, rid, UtilityEstimates())
    eligible = sorted(e.node for e in oracle_est.entries.values())
    for node in eligible:
        oracle_est.observe(node, task, samples=truth[node][0], quality=truth[node][1])
    oracle = loop(inst, rid, 1, estimates=oracle_est, **common)
    liars = {m.node: m.kind for m in lies if m.node in eligible}
    visited = sorted({h.node for r in res.rounds for h in r.hops if h.node in eligible})
    snaps = [prior_estimates(inst, rid)] + [r.estimates for r in res.rounds]
    groups = {
        "misreporters visited": [n for n in liars if n in visited],
        "misreporters": list(liars),
        "visited": visited,
        "all": eligible,
    }
    return {
        "instance": label,
        "request": rid,
        "seed": seed,
        "liars": liars,
        "eligible": len(eligible),
        "error": {k: [relative_error(e, task, truth, v) for e in snaps] for k, v in groups.items()},
        "reported": _arm(res.rounds[0]),
        "learned": _arm(res.rounds[-1]),
        "oracle": _arm(oracle.rounds[0]),
        "rounds": [_arm(r) for r in res.rounds],
        "hops": [
            {
                "round": r.round,
                "node": h.node,
                "position": h.position,
                "liar": liars.get(h.node, ""),
                "true_quality": truth[h.node][1] if h.node in truth else None,
                "samples": h.samples,
                "quality_hat": h.quality,
                "quality_sd": h.quality_sd if math.isfinite(h.quality_sd) else None,
                "source": h.quality_source,
                "local_loss": h.local_loss if math.isfinite(h.local_loss) else None,
                "oort": h.oort_utility,
                "accuracy_gain": h.accuracy_gain,
                "loss_drop": h.loss_drop,
            }
            for r in res.rounds
            for h in r.hops
        ],
    }


# -- analysis -----------------------------------------------------------------------------------


def ttt(arm: dict[str, Any], key: str = "time_to_target") -> float:
    """Time to target (``key``: first reached, or ``time_to_target_held``), a miss counted as
    the deadline."""
    t = arm[key]
    return float(arm["deadline"] if t is None else t)


def has_held(runs: list[dict[str, Any]]) -> bool:
    """True when the runs record the held time to target (runs before it was added do not)."""
    return bool(runs) and all("time_to_target_held" in r["reported"] for r in runs)


def pools(runs: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """``(label, runs)``: every instance, every instance/request, then all runs."""
    out = []
    for name in sorted({r["instance"] for r in runs}):
        rs = [r for r in runs if r["instance"] == name]
        out.append((name, rs))
        for rid in sorted({r["request"] for r in rs}, key=lambda x: int(x[1:])):
            out.append((f"{name} / {rid}", [r for r in rs if r["request"] == rid]))
    out.append(("all", runs))
    return out


def _time_difference(
    runs: list[dict[str, Any]], a: str, b: str, key: str, name: str
) -> dict[str, Any]:
    """``{name, name_share, name_test}``: paired ``a - b`` of :func:`ttt` under ``key``, in s and
    in % of the deadline, with its Wilcoxon test (lower is better)."""
    ta, tb = [ttt(r[a], key) for r in runs], [ttt(r[b], key) for r in runs]
    d = [x - y for x, y in zip(ta, tb, strict=True)]
    share = [100.0 * x / r[a]["deadline"] for x, r in zip(d, runs, strict=True)]
    return {
        name: asdict(mean_ci(d)),
        f"{name}_share": asdict(mean_ci(share)),
        f"{name}_test": asdict(paired_wilcoxon(ta, tb, higher_is_better=False)),
    }


def compare(runs: list[dict[str, Any]], a: str, b: str) -> dict[str, Any]:
    """Paired differences ``a - b`` of time to target (s and % of the deadline; also the held
    time when the runs record it) and accuracy."""
    da = [r[a]["final_accuracy"] - r[b]["final_accuracy"] for r in runs]
    pa = paired_wilcoxon(
        [r[a]["final_accuracy"] for r in runs], [r[b]["final_accuracy"] for r in runs]
    )
    held = _time_difference(runs, a, b, "time_to_target_held", "held") if has_held(runs) else {}
    return {
        "arm": a,
        "against": b,
        "runs": len(runs),
        "changed": sum(r[a]["route"] != r[b]["route"] for r in runs),
        **_time_difference(runs, a, b, "time_to_target", "time"),
        "accuracy": asdict(mean_ci(da)),
        "accuracy_test": asdict(pa),
        **held,
    }


def arm_means(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per arm: mean final accuracy, runs that reached the target, mean time to target (95% CI)."""
    out = {
        k: {
            "accuracy": asdict(mean_ci([r[k]["final_accuracy"] for r in runs])),
            "reached": sum(r[k]["time_to_target"] is not None for r in runs),
            "time": asdict(mean_ci([ttt(r[k]) for r in runs])),
        }
        for k in ARMS
    }
    if has_held(runs):
        for k in ARMS:
            key = "time_to_target_held"
            out[k]["held_reached"] = sum(r[k][key] is not None for r in runs)
            out[k]["held"] = asdict(mean_ci([ttt(r[k], key) for r in runs]))
    return out


def diagnosis(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the arms differ: first hops, liars on the planned prefix, what a liar's hop does."""
    out: dict[str, Any] = {}
    for k in ARMS:
        first_q, prefix_q, route_q, prefix = [], [], [], []
        for r in runs:
            route = r[k]["route"][1:-1]
            n = r[k]["prefix"] if r[k]["prefix"] is not None else len(route)
            q = {node for node, kind in r["liars"].items() if kind in LABEL_LIES}
            first_q.append(bool(route) and route[0] in q)
            prefix_q.append(sum(node in q for node in route[:n]))
            route_q.append(sum(node in q for node in route))
            prefix.append(n)
        out[k] = {
            "first_hop_quality_liar": float(np.mean(first_q)),
            "quality_liars_on_prefix": float(np.mean(prefix_q)),
            "quality_liars_on_route": float(np.mean(route_q)),
            "prefix_length": float(np.mean(prefix)),
            "first_hop_as_oracle": float(
                np.mean([r[k]["route"][1:2] == r["oracle"]["route"][1:2] for r in runs])
            ),
        }
    every = [h for r in runs for h in r["hops"]]
    hops = [h for h in every if h.get("round", 0) == 0]
    for kind in (*LIE_NAMES, ""):
        gains = [
            h["accuracy_gain"] for h in hops if h["liar"] == kind and h["accuracy_gain"] is not None
        ]
        out[f"gain {kind or 'honest'}"] = asdict(mean_ci(gains))
        seen = [h for h in hops if h["liar"] == kind and h["quality_hat"] is not None]
        out[f"quality {kind or 'honest'}"] = {
            "measured": float(np.mean([h["quality_hat"] for h in seen])) if seen else None,
            "true": float(np.mean([h["true_quality"] for h in seen])) if seen else None,
        }
    qh = [(h["quality_hat"], h["true_quality"]) for h in hops if h["quality_hat"] is not None]
    out["quality_hat_rho"] = spearman([a for a, _ in qh], [b for _, b in qh]) if qh else None
    out["measurement"] = measurement_quality(every)
    return out


def measurement_quality(hops: list[dict[str, Any]]) -> dict[str, Any]:
    """How well the per-hop quality measurements of every round rank and hit the truth: Spearman
    rho (all, and the hops of nodes with at least 10 samples), mean absolute error, and the mean
    squared z-score ``((q_hat - q) / sd)^2`` (about 1 when the standard errors are right)."""
    seen = [h for h in hops if h.get("quality_hat") is not None]
    big = [h for h in seen if (h.get("samples") or 0) >= 10]

    def rho(hs: list[dict[str, Any]]) -> float | None:
        if len(hs) < 3:
            return None
        return spearman([h["quality_hat"] for h in hs], [h["true_quality"] for h in hs])

    z = [
        ((h["quality_hat"] - h["true_quality"]) / h["quality_sd"]) ** 2
        for h in seen
        if h.get("quality_sd")
    ]
    return {
        "hops": len(seen),
        "rho": rho(seen),
        "hops_10": len(big),
        "rho_10": rho(big),
        "mae": float(np.mean([abs(h["quality_hat"] - h["true_quality"]) for h in seen]))
        if seen
        else None,
        "z2": float(np.mean(z)) if z else None,
        "audits": sum(h.get("source") == "audit" for h in seen),
    }


def error_curves(runs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """Mean relative error (95% CI) after each round, over the runs that have such nodes."""
    m = np.array([r["error"][kind] for r in runs], dtype=float)
    m = m[~np.isnan(m).any(axis=1)] if len(m) else m
    if len(m) == 0:
        return []
    return [asdict(mean_ci(m[:, k].tolist())) for k in range(m.shape[1])]


def analyse(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Every table of the report, as plain values."""
    out: dict[str, Any] = {"pools": []}
    for label, rs in pools(runs):
        out["pools"].append(
            {
                "pool": label,
                "runs": len(rs),
                "arms": arm_means(rs),
                "compare": [compare(rs, a, b) for a, b in COMPARISONS],
                "diagnosis": diagnosis(rs),
            }
        )
    out["errors"] = {
        name: {
            kind: error_curves([r for r in runs if r["instance"] == name], kind)
            for kind in ERROR_KINDS
        }
        for name in sorted({r["instance"] for r in runs})
    }
    return out


# -- report -------------------------------------------------------------------------------------


def _f(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def _ci(c: dict[str, Any], spec: str = "+.1f") -> str:
    if c["mean"] is None:
        return "-"
    if c["low"] is None:
        return format(c["mean"], spec)
    return f"{c['mean']:{spec}} [{c['low']:{spec}}, {c['high']:{spec}}]"


def _join(values: Any) -> str:
    return ", ".join(f"{v:g}" for v in values)


def _section(title: str, intro: str, columns: list[str]) -> list[str]:
    """A Markdown section: heading, paragraph, table header."""
    head = "| " + " | ".join(columns) + " |"
    return [f"## {title}", "", intro, "", head, "|" + "---|" * len(columns)]


def _md_errors(an: dict[str, Any], rounds: int) -> list[str]:
    lines = _section(
        "Estimates vs the truth",
        "Mean relative error of the estimated utility (samples x quality) to the true one after "
        "k rounds (k = 0: the reports), mean [95% CI] over the runs that have such nodes. "
        "`misreporters`: eligible nodes that lied; `misreporters visited`: those some round "
        "visited; `visited`: nodes some round visited; `all`: every eligible node (a node no "
        "route visits keeps its report). ![error](oam-error.png)",
        ["instance", "nodes", "runs", *(f"k={k}" for k in range(rounds + 1))],
    )
    for name, kinds in an["errors"].items():
        for kind, curve in kinds.items():
            if curve:
                cells = " | ".join(_ci(c, ".3f") for c in curve)
                lines.append(f"| {name} | {kind} | {curve[0]['n']} | {cells} |")
    return [*lines, ""]


def _md_arms(an: dict[str, Any], target: float) -> list[str]:
    held = "held" in an["pools"][0]["arms"]["reported"]
    lines = _section(
        "Arms",
        f"Cells: mean final accuracy / runs that reached {target:g} / mean time to {target:g} in "
        "s (a miss counts as the deadline) [95% CI]"
        + (
            f"; then runs whose accuracy stayed at or above {target:g} from some time to the end "
            "(the delivered model meets the target) / mean time from which it stayed (held time "
            "to target; a final model below the target counts as the deadline) [95% CI]"
            if held
            else ""
        )
        + ". ![time](oam-time.png)",
        ["pool", "runs", *ARMS],
    )
    for p in an["pools"]:
        cells = [
            f"{_f(a['accuracy']['mean'])} / {a['reached']} / {_ci(a['time'], '.0f')}"
            + (f"; {a['held_reached']} / {_ci(a['held'], '.0f')}" if held else "")
            for a in (p["arms"][k] for k in ARMS)
        ]
        lines.append(f"| {p['pool']} | {p['runs']} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _md_compare(an: dict[str, Any]) -> list[str]:
    held = "held" in an["pools"][0]["compare"][0]
    lines = _section(
        "Paired differences",
        "Arm minus baseline over the same (request, seed) runs: mean [95% t-interval]; Wilcoxon "
        "signed-rank two-sided p (zero differences dropped); sooner/later/tie counts. Time to "
        "target: lower is better; `% deadline`: the difference as a share of the request's "
        "deadline (comparable across requests). `changed`: runs whose routes differ."
        + (
            " `held`: the time from which the accuracy stays at or above the target to the end "
            "(see Arms)."
            if held
            else ""
        ),
        [
            "pool",
            "arm - baseline",
            "runs",
            "changed",
            "Δ time to target s",
            "Δ % deadline",
            "sooner/later/tie",
            "p",
            "Δ accuracy",
            "p",
            *(["Δ held time s", "Δ held % deadline", "sooner/later/tie", "p"] if held else []),
        ],
    )
    for p in an["pools"]:
        for c in p["compare"]:
            t, a = c["time_test"], c["accuracy_test"]
            row = (
                f"| {p['pool']} | {c['arm']} - {c['against']} | {c['runs']} | {c['changed']} | "
                f"{_ci(c['time'])} | {_ci(c['time_share'])} | "
                f"{t['better']}/{t['worse']}/{t['ties']} | {_f(t['p'], '.3g')} | "
                f"{_ci(c['accuracy'], '+.4f')} | {_f(a['p'], '.3g')} |"
            )
            if held:
                h = c["held_test"]
                row += (
                    f" {_ci(c['held'])} | {_ci(c['held_share'])} | "
                    f"{h['better']}/{h['worse']}/{h['ties']} | {_f(h['p'], '.3g')} |"
                )
            lines.append(row)
    return [*lines, ""]


def _lie_kinds(an: dict[str, Any]) -> list[str]:
    """The lies whose hops the diagnosis saw (in :data:`LIE_NAMES` order), then ``honest``."""
    pool = _pool(an, "all")
    d = pool["diagnosis"] if pool else {}
    seen = [k for k in LIE_NAMES if (d.get(f"gain {k}") or {}).get("n")]
    return [*seen, "honest"]


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiouh" else "a ") + noun


def _md_diagnosis(an: dict[str, Any]) -> list[str]:
    kinds = _lie_kinds(an)
    names = [LIE_NAMES.get(k, "honest node") for k in kinds]
    lines = _section(
        "Where the arms differ",
        "Per arm: share of runs whose first hop is a label liar (a noise liar or a poisoner); "
        "mean label liars on the planned prefix (the nodes the planner predicted reach the "
        "target) and on the whole route; mean prefix length; share of runs whose first hop is "
        "the oracle's. Second table: mean MPVU accuracy gain of a round-0 hop by kind of node "
        "[95% CI], the Spearman rho of the measured quality with the true one over round-0 hops, "
        "and the mean measured / true quality of those hops by kind of node.",
        [
            "pool",
            "arm",
            "first hop a label liar",
            "label liars on prefix",
            "on route",
            "prefix",
            "first hop as oracle",
        ],
    )
    for p in an["pools"]:
        for k in ARMS:
            d = p["diagnosis"][k]
            lines.append(
                f"| {p['pool']} | {k} | {d['first_hop_quality_liar']:.2f} | "
                f"{d['quality_liars_on_prefix']:.2f} | "
                f"{_f(d.get('quality_liars_on_route'), '.2f')} | {d['prefix_length']:.1f} | "
                f"{d['first_hop_as_oracle']:.2f} |"
            )
    head = ["pool", *(f"gain at {_a(n)}" for n in names), "rho(q_hat, q)"]
    head += [f"q_hat / q: {n}s" for n in names]
    lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for p in an["pools"]:
        d = p["diagnosis"]
        gains = [_ci(d.get(f"gain {k}") or {"mean": None}, "+.4f") for k in kinds]
        q = [d.get(f"quality {k}") or {} for k in kinds]
        lines.append(
            f"| {p['pool']} | "
            + " | ".join(gains)
            + f" | {_f(d['quality_hat_rho'], '+.2f')} | "
            + " | ".join(f"{_f(c.get('measured'), '.2f')} / {_f(c.get('true'), '.2f')}" for c in q)
            + " |"
        )
    return [*lines, ""]


def _md_measurement(an: dict[str, Any]) -> list[str]:
    lines = _section(
        "Per-hop quality measurement vs the truth",
        "Every training visit of every round: the arriving model's label agreement on the node's "
        "own data, inverted to its quality (`daitn_opt/oam/measure.py`). Spearman rho of the "
        "measured quality with the true one (all hops; hops at nodes with at least 10 samples), "
        "mean absolute error, mean squared z-score ((q_hat - q) / sd)^2 (about 1 when the "
        "standard errors are right), and the hops measured by an audit (first hop: the arriving "
        "model is untrained).",
        ["pool", "hops", "rho", "hops (>= 10 samples)", "rho", "MAE", "mean z^2", "audits"],
    )
    for p in an["pools"]:
        m = p["diagnosis"]["measurement"]
        lines.append(
            f"| {p['pool']} | {m['hops']} | {_f(m['rho'], '+.2f')} | {m['hops_10']} | "
            f"{_f(m['rho_10'], '+.2f')} | {_f(m['mae'])} | {_f(m['z2'], '.2f')} | {m['audits']} |"
        )
    return [*lines, ""]


def _pool(an: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((p for p in an["pools"] if p["pool"] == name), None)


def _cmp(pool: dict[str, Any], arm: str, against: str) -> dict[str, Any]:
    return next(c for c in pool["compare"] if c["arm"] == arm and c["against"] == against)


def _claim(c: dict[str, Any], key: str = "time") -> str:
    t, p, share = c[key], c[f"{key}_test"], c[f"{key}_share"]
    return (
        f"{_ci(t)} s ({_ci(share)}% of the deadline), Wilcoxon p = {_f(p['p'], '.2g')}, "
        f"{p['better']}/{p['worse']}/{p['ties']} sooner/later/tie over {c['runs']} pairs"
    )


def interpretation(an: dict[str, Any]) -> list[str]:
    """The result in words, every figure taken from ``an`` (written with the tables)."""
    pool = _pool(an, "all")
    if pool is None:
        return []
    learned, oracle = _cmp(pool, "learned", "reported"), _cmp(pool, "oracle", "reported")
    shown = learned["time"]["high"] is not None and learned["time"]["high"] < 0
    p = learned["time_test"]["p"]
    verdict = (
        "**shown**: the 95% interval lies below zero"
        if shown and p is not None and p < 0.05
        else "**not shown**: the 95% interval holds zero or the test is not significant"
    )
    m = pool["diagnosis"]["measurement"]
    lines = [
        "## Result (generated from the tables above)",
        "",
        f"- Learned - reported, time to target: {_claim(learned)}; {verdict}.",
        f"- Oracle - reported (the bound): {_claim(oracle)}.",
    ]
    for name in ("healthcare-small", "healthcare-medium"):
        sub = _pool(an, name)
        if sub is not None:
            c = _cmp(sub, "learned", "reported")
            lines.append(f"- {name}: learned - reported {_claim(c)}.")
    if "held" in learned:
        h, hp = learned["held"], learned["held_test"]["p"]
        held_shown = h["high"] is not None and h["high"] < 0 and hp is not None and hp < 0.05
        lines.append(
            "- Held time to target (the delivered model meets the target); learned - reported "
            + (
                "**shown**: the 95% interval lies below zero"
                if held_shown
                else "**not shown**: the 95% interval holds zero or the test is not significant"
            )
            + ":"
        )
        for name in ("all", "healthcare-small", "healthcare-medium"):
            sub = _pool(an, name)
            if sub is None:
                continue
            for a, b in COMPARISONS:
                c = _cmp(sub, a, b)
                lines.append(f"  - {name}, {a} - {b}: {_claim(c, 'held')}.")
    for name in ("all", "healthcare-small", "healthcare-medium"):
        sub = _pool(an, name)
        if sub is not None:
            acc = ", ".join(
                f"{a} - {b} {_ci(_cmp(sub, a, b)['accuracy'], '+.3f')} "
                f"(p = {_f(_cmp(sub, a, b)['accuracy_test']['p'], '.2g')})"
                for a, b in COMPARISONS
            )
            lines.append(f"- Final accuracy, {name}: {acc}.")
    for name, kinds in an["errors"].items():
        curve = kinds.get("misreporters visited") or []
        if curve:
            steps = " -> ".join(_f(c["mean"]) for c in curve)
            lines.append(
                f"- Estimates converge ({name}, misreporters some round visited, mean relative "
                f"utility error after k = 0..{len(curve) - 1} rounds): {steps}."
            )
    d = pool["diagnosis"]
    liars = ", ".join(
        f"{k} {d[k]['quality_liars_on_prefix']:.2f} ({d[k]['first_hop_quality_liar']:.2f}"
        + (
            f"; {d[k]['quality_liars_on_route']:.2f} on the route)"
            if "quality_liars_on_route" in d[k]
            else ")"
        )
        for k in ARMS
    )
    bound = oracle["time"]["high"] is not None and oracle["time"]["high"] < 0
    kept = "held" in oracle and oracle["held"]["high"] is not None and oracle["held"]["high"] < 0
    lines.append(
        f"- The information reaches the routes: label liars on the planned prefix (share of "
        f"first hops at one): {liars}. "
        + (
            "The bound is real: planned on the truth, the target comes sooner."
            if bound
            else "Planned on the truth, the target is not first reached sooner, but it is kept: "
            "the held time to target is shorter (the held lines above)."
            if kept
            else "But with this planner the bound itself is not there: planned on the truth, the "
            "target comes no sooner (the oracle line above), so no estimate can make it sooner."
        )
    )
    lines += [
        f"- Per-hop quality measurement: Spearman {_f(m['rho'], '+.2f')} with the true quality "
        f"over {m['hops']} measured hops ({_f(m['rho_10'], '+.2f')} over the {m['hops_10']} hops "
        f"at nodes with at least 10 samples), mean absolute error {_f(m['mae'])}, mean z^2 "
        f"{_f(m['z2'], '.2f')}.",
        "",
    ]
    return lines


def write_markdown(out: Path, meta: dict[str, Any], an: dict[str, Any], notes: list[str]) -> Path:
    s = meta["settings"]
    lines = [
        "# OAM feedback: routes planned on learned vs reported utilities (issue 12, item 2)"
        + (f" — setting `{s['setting']}`" if s.get("setting", "noise") != "noise" else ""),
        "",
        f"Generated by `{meta['command']}` (`daitn_opt.papers.oam.run_oam`) at commit "
        f"{meta['commit'][:12]}{' with uncommitted changes' if meta['dirty'] else ''}; "
        f"{meta['seconds']:.0f} s wall on a shared 2-core machine (load {meta['load']}), one "
        f"torch thread; Python {meta['python']}. Seeds {s['seeds'][0]}-{s['seeds'][-1]} "
        f"({len(s['seeds'])} paired seeds), {s['rounds']} rounds, misreport probability "
        f"min(1, {s['scale']:g} x (1 - trust)), lies: {_lies(s)}; planner: "
        f"`min_expected_time_to_target` on the outcome model fitted per request to pilot replays "
        f"of the reported instance (seeds {_join(s['pilot_seeds'])}, {s['pilot_routes']} pilot "
        f"routes and their reversals, noise exponent in {{{_join(s['noise_exponents'])}}}), "
        f"solved by `{s['solver']}` ({s['time_limit']:g} s). "
        f"Target accuracy {s['target']:g}, scored on the {1 - s['validation_share']:g} share of "
        "the MPVU's held-out set that OAM never measures on. Design: "
        "`daitn_opt/papers/oam.py`; planner: `daitn_opt/oam/aligned.py`; measurement: "
        "`daitn_opt/oam/measure.py`; update rule: `daitn_opt/oam/estimates.py` and "
        "`formulations/oam.md` ("
        + (
            "honest-or-liar mixture: prior probability of a lie 1 - trust, a liar's quality "
            f"uniform below its report, an honest report's sd {s.get('floor_sd', 0.02):g}"
            if s.get("rule", "gaussian") == "mixture"
            else "precision-weighted; prior sd of a report "
            f"sqrt({s.get('prior_sd', 1.0):g}^2 (1 - trust) + {s.get('floor_sd', 0.02):g}^2)"
        )
        + f"); quality measured on the {s.get('label_mix', 'observed')} label mix"
        + (
            "; every arm plans without the nodes it believes at or below chance quality"
            if s.get("exclude_harmful")
            else ""
        )
        + ".",
        "",
        *_md_models(meta),
        *_md_arms(an, s["target"]),
        *_md_compare(an),
        *_md_errors(an, s["rounds"]),
        *_md_diagnosis(an),
        *_md_measurement(an),
        *interpretation(an),
        *notes,
        *CAVEATS,
    ]
    path = out / "oam.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _lies(s: dict[str, Any]) -> str:
    """The misreports of settings ``s`` in words."""
    words = {
        "quality": "label noise (true quality {0:g}-{1:g})",
        "flip": "label flipping (true quality {0:g}-{1:g})",
        "samples": "sample count (true count {0:g}-{1:g} of the report)",
    }
    ranges = {
        "quality": s.get("quality_range", (0.5, 0.6)),
        "flip": s.get("flip_range", (0.0, 0.2)),
        "samples": (0.25, 0.5),
    }
    return " or ".join(words[k].format(*ranges[k]) for k in s["kinds"])


def _md_models(meta: dict[str, Any]) -> list[str]:
    lines = _section(
        "Fitted outcome models (pilot replays of the reports)",
        "Per request: acc = a + b C (`daitn_opt/mtrce/calibration.py`), fitted before any "
        "evaluation replay; the coverage target is the C at which a + b C reaches the target.",
        [
            "request",
            "kappa",
            "recency",
            "gamma",
            "a",
            "b",
            "coverage target",
            "pilot RMSE",
            "pilot rho",
        ],
    )
    for name, m in meta["models"].items():
        lines.append(
            f"| {name} | {m['kappa']:.3g} | {m['recency']:g} | {m['noise_exponent']:g} | "
            f"{m['intercept']:.3f} | {m['slope']:.3f} | {_f(m.get('coverage_target'))} | "
            f"{_f(m.get('rmse'), '.4f')} | {_f(m.get('pilot_rho'), '.2f')} |"
        )
    return [*lines, ""]


# -- figures ------------------------------------------------------------------------------------


def write_figures(out: Path, runs: list[dict[str, Any]], an: dict[str, Any]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(an["errors"])
    fig, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        for kind, style in zip(ERROR_KINDS, ("o-", "v--", "s-", "^-"), strict=True):
            curve = an["errors"][name][kind]
            if not curve:
                continue
            mean = np.array([c["mean"] for c in curve])
            half = np.array([0.0 if c["low"] is None else c["mean"] - c["low"] for c in curve])
            ax.errorbar(np.arange(len(mean)), mean, yerr=half, fmt=style, capsize=3, label=kind)
        ax.set_xlabel("rounds completed (0 = reports)")
        ax.set_ylabel("mean |u_hat - u*| / u*")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("OAM utility estimates vs the truth (mean, 95% CI)")
    fig.tight_layout()
    err = out / "oam-error.png"
    fig.savefig(err, dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, other in zip(axes, ("learned", "oracle"), strict=True):
        x = np.array([100 * ttt(r["reported"]) / r["reported"]["deadline"] for r in runs])
        y = np.array([100 * ttt(r[other]) / r[other]["deadline"] for r in runs])
        for name, marker in zip(sorted({r["instance"] for r in runs}), "os^", strict=False):
            m = np.array([r["instance"] == name for r in runs])
            ax.scatter(x[m], y[m], marker=marker, alpha=0.6, label=name)
        ax.plot([0, 100], [0, 100], "k--", lw=1)
        ax.set_xlabel("reported plan: time to target, % of deadline")
        ax.set_ylabel(f"{other} plan: time to target, % of deadline")
        ax.set_title(f"{other} vs reported (below the line: sooner)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    tim = out / "oam-time.png"
    fig.savefig(tim, dpi=110)
    plt.close(fig)
    return [err, tim]


# -- entry point --------------------------------------------------------------------------------


def provenance(settings: OAMSettings, command: str) -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
        ).stdout

    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "daitn_opt")
    load = " ".join(f"{x:.1f}" for x in _loadavg())
    return {
        "command": command,
        "commit": git("rev-parse", "HEAD").strip(),
        "dirty": bool(dirty.strip()),
        "python": platform.python_version(),
        "load": load,
        "settings": asdict(settings),
    }


def _loadavg() -> tuple[float, ...]:
    try:
        import os

        return os.getloadavg()
    except OSError:
        return ()


def run_oam(
    out: Path,
    settings: OAMSettings | None = None,
    progress: Progress | None = None,
    *,
    command: str = "daitn_opt.papers.oam.run_oam",
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """Run the experiment of the module doc and write its report into ``out``.

    Returns ``{"meta", "runs", "analysis", "files"}``; ``progress(event, data)`` is called with
    ``fit`` (a request's model is fitted), ``run`` (a (request, seed) run is done) and ``done``.
    ``notes`` are appended to the Markdown (the interpretation, written by the caller).
    """
    import torch

    settings = settings or OAMSettings()
    progress = progress or (lambda event, data: None)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta = provenance(settings, command)
    meta["models"] = {}
    runs: list[dict[str, Any]] = []
    for label, inst, rid in eligible_requests(settings):
        name = f"{label}/{rid}"
        planner = fit_planner(inst, rid, settings)
        meta["models"][name] = planner.model.describe()
        progress("fit", {"request": name, "seconds": time.perf_counter() - t0})
        for seed in settings.seeds:
            runs.append(run_seed(label, inst, rid, seed, planner, settings))
            progress("run", {"request": name, "seed": seed, "seconds": time.perf_counter() - t0})
    meta["seconds"] = time.perf_counter() - t0
    meta["load"] = (
        f"{meta['load']} at the start, {' '.join(f'{x:.1f}' for x in _loadavg())} at the end"
    )
    an, files = write_report(out, meta, runs, notes or [])
    progress("done", {"seconds": meta["seconds"], "files": [str(f) for f in files]})
    return {"meta": meta, "runs": runs, "analysis": an, "files": files}


def write_report(
    out: Path, meta: dict[str, Any], runs: list[dict[str, Any]], notes: list[str]
) -> tuple[dict[str, Any], list[Path]]:
    """Analyse ``runs`` and write ``oam.md``, ``oam.json`` and the figures into ``out``.

    Also the way to re-render a finished run with other ``notes``: ``meta`` and ``runs`` are
    those of its ``oam.json``.
    """
    an = analyse(runs)
    files = [write_markdown(out, meta, an, notes)]
    (out / "oam.json").write_text(
        json.dumps(_no_nan({"meta": meta, "analysis": an, "runs": runs}), indent=1, default=_plain)
        + "\n",
        encoding="utf-8",
    )
    files += [out / "oam.json", *write_figures(out, runs, an)]
    return an, files


def _no_nan(x: Any) -> Any:
    """``x`` with every float nan replaced by None (JSON has no NaN)."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _no_nan(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_no_nan(v) for v in x]
    return x


def _plain(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, tuple):
        return list(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


__all__ = [
    "ARMS",
    "OAMSettings",
    "analyse",
    "compare",
    "diagnosis",
    "eligible_requests",
    "fit_planner",
    "run_oam",
    "run_seed",
    "truth_fields",
    "write_report",
]
