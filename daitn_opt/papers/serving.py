"""Congestion-aware QIRCE (issue 12, part 4): SLO violations and p99 latency vs offered load.

For ``instances/healthcare-small.json`` and ``healthcare-medium.json`` every user's query rate
is scaled so that the total offered load is 50% to 150% of the facilities' total throughput
(``sum_f T_f``); four placements are replayed by :func:`daitn_opt.executor.replay_serving`
(Poisson arrivals, FIFO stations with ``max(1, round(T s))`` servers, deterministic service):

- **QIRCE congestion-aware**: HiGHS on ``congestion="md1"`` (``formulations/qirce.md``,
  Congestion): the model's expected SLO violations (weight ``violation_weight``) join the cost,
  utilisation within ``rho_max``, one server count per facility;
- **QIRCE (current)**: HiGHS on the latency-only model (capacity ``0.9 T``);
- **nearest**: the QIRCE ``nearest`` solver (nearest facility with room, latency-only model);
- **nearest, capacity-blind**: :func:`daitn_opt.executor.nearest_placement`.

Every placement is single-source. The QIRCE placements serve all demand when they can
(``serve_all``); when they cannot (capacity, or the congestion model's ``rho_max``) they are
re-solved in Q-FAM admit mode (latency-only models: value ``ADMIT_VALUE`` per query/s, so
admitting beats refusing while any route exists; congestion-aware: value ``violation_weight``,
so it refuses a demand when serving it would cost more expected violations, its own and those
it causes, than it serves) and the refused demand is **counted**: ``unmet`` = (SLO violations +
refused queries) / offered queries, next to the violation rate of the served queries and the
refused share. The capacity-blind baseline refuses nothing: above capacity its queues grow
without bound over the horizon. p99 is over served queries.

Seeds vary the arrivals (the placements are deterministic). Mean and 95% t-interval over
seeds (:func:`daitn_opt.papers.stats.mean_ci`). :func:`run_serving` writes ``serving.md``,
``serving.json`` and ``serving.png`` into a folder; :func:`write_report` re-renders them from a
stored ``serving.json``. Nothing here prints (progress goes to a callback).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .stats import mean_ci

ROOT = Path(__file__).resolve().parents[2]
Progress = Callable[[str, dict[str, Any]], None]
INSTANCES = ("healthcare-small", "healthcare-medium")
LOADS = (0.5, 0.7, 0.9, 1.1, 1.3, 1.5)
METHODS = ("QIRCE congestion-aware", "QIRCE (current)", "nearest", "nearest, capacity-blind")
MEASURES = ("violation_rate", "unmet_rate", "refused_share", "p99_ms")
ADMIT_VALUE = 100.0
"""Value per query/s served in admit mode for the latency-only models: far above the latency
cost, so that a demand is refused only when no route can take it. The congestion-aware model
uses its ``violation_weight`` instead: its objective is then the weight times (served minus
expected violating queries) less the latency cost, i.e. it minimises the model's unmet queries
(refused + violating), the measure reported here."""


@dataclass(frozen=True)
class ServingSettings:
    """Parameters of :func:`run_serving` (defaults: the run of the committed ``serving.md``)."""

    seeds: tuple[int, ...] = tuple(range(10))
    horizon: float = 120.0
    """Simulated seconds of arrivals per replay."""
    time_limit: float = 10.0
    """Seconds per HiGHS solve."""
    instances: tuple[str, ...] = INSTANCES
    loads: tuple[float, ...] = LOADS
    quick: bool = False

    @classmethod
    def quick_run(cls) -> ServingSettings:
        """healthcare-small below, near and above capacity, three seeds, 60 s horizons."""
        return cls(
            seeds=(0, 1, 2),
            horizon=60.0,
            time_limit=3.0,
            instances=("healthcare-small",),
            loads=(0.5, 0.9, 1.3),
            quick=True,
        )

    def __post_init__(self) -> None:
        if not self.seeds:
            raise InputError("seeds", self.seeds, "expected at least one seed")
        if not self.horizon > 0:
            raise InputError("horizon", self.horizon, "expected simulated seconds > 0")
        if not self.time_limit > 0:
            raise InputError("time_limit", self.time_limit, "expected seconds > 0")
        if not self.loads or min(self.loads) <= 0:
            raise InputError("loads", self.loads, "expected offered loads > 0")
        unknown = set(self.instances) - set(INSTANCES)
        if unknown:
            raise InputError("instances", sorted(unknown), f"expected some of {list(INSTANCES)}")


# -- the experiment -----------------------------------------------------------------------------
def scaled(instance: Any, factor: float) -> Any:
    """A copy of ``instance`` with every demand's rate multiplied by ``factor``."""
    from ..drrt.instance import parse_instance

    data = instance.model_dump(mode="json")
    for node in data["snapshot"]["nodes"]:
        for dem in node.get("demands") or ():
            dem["rate"] = dem["rate"] * factor
    return parse_instance(data, source=f"{instance.name} x{factor:.3g}")


def offered_factor(instance: Any, load: float) -> float:
    """The rate factor that makes total demand ``load`` times the total throughput."""
    from ..drrt.qrrt import build_qrrt

    q = build_qrrt(instance)
    return load * float(q.facility_throughput.sum()) / float(q.rate.sum())


def place(problem: Any, solver: str, limit: float) -> tuple[Any, Any]:
    """(result, problem solved): serve-all when it has a solution, else Q-FAM admit mode."""
    from ..registry import solve

    res = solve(problem, solver, time_limit=limit, seed=0)
    if res.is_feasible():
        return res, problem
    value = problem.violation_weight if problem.congestion != "none" else ADMIT_VALUE
    admit = problem.replace(
        mode="admit", value=np.full(problem.num_demands, value), cost_weight=1.0
    )
    return solve(admit, solver, time_limit=limit, seed=0), admit


def _served(problem: Any, x: np.ndarray) -> np.ndarray:
    return np.bincount(problem.arc_demand, weights=x, minlength=problem.num_demands)


def placements(instance: Any, limit: float) -> tuple[dict, dict]:
    """The four placements of ``instance`` and notes (mode, status, model prediction)."""
    from .. import qirce
    from ..drrt.qrrt import build_qrrt
    from ..executor.serving import nearest_placement
    from ..qirce.queueing import expected_violations
    from ..qirce.solution import arcs_from_solution

    base = qirce.from_instance(instance).replace(single_source=True)
    cong = base.replace(congestion="md1")
    out, notes = {}, {}
    for label, problem, solver in (
        (METHODS[0], cong, "highs"),
        (METHODS[1], base, "highs"),
        (METHODS[2], base, "nearest"),
    ):
        res, solved = place(problem, solver, limit)
        note = {"mode": solved.mode, "status": res.status.value, "gap": res.gap}
        if res.is_feasible():
            note["checked"] = qirce.check(solved, res.solution).ok
            out[label] = res.solution
            x = arcs_from_solution(cong, res.solution)
            if x is not None:
                rate = float(cong.rate @ _served(cong, x))
                note["model_violation_rate"] = float(expected_violations(cong, x).sum()) / max(
                    1e-12, rate
                )
        notes[label] = note
    out[METHODS[3]] = nearest_placement(build_qrrt(instance))
    notes[METHODS[3]] = {"mode": "serve_all (no capacity)"}
    return out, notes


def measure(instance: Any, placement: Any, seed: int, horizon: float) -> dict[str, float]:
    """One replay's violation, unmet and refused shares and p99 latency."""
    from ..executor.serving import replay_serving

    so = replay_serving(instance, placement, horizon=horizon, seed=seed)
    refused = sum(m.refused_rate for m in so.models) * horizon
    violations = sum(m.slo_violations for m in so.models)
    offered = so.queries + refused
    return {
        "violation_rate": so.violation_rate,
        "unmet_rate": (violations + refused) / offered if offered else float("nan"),
        "refused_share": refused / offered if offered else float("nan"),
        "p99_ms": so.p99_ms,
    }


def summarise(runs: list[dict[str, float]]) -> dict[str, float]:
    """Mean and 95% t half-width (``KEY_ci``; nan below two finite values) of each measure."""
    row: dict[str, float] = {}
    for key in MEASURES:
        c = mean_ci([r[key] for r in runs])
        row[key] = math.nan if c.mean is None else c.mean
        row[key + "_ci"] = math.nan if c.half_width is None else c.half_width
    return row


def run_serving(
    out: Path,
    settings: ServingSettings | None = None,
    progress: Progress | None = None,
    *,
    command: str | None = None,
) -> dict[str, Any]:
    """Run the experiment of the module doc; write ``serving.md``/``.json``/``.png`` into ``out``.

    Returns ``{"meta", "rows", "files"}``; ``progress(event, data)`` is called with ``start``
    (``total`` (instance, load) points), ``point`` (one is done) and ``done``.
    """
    from ..drrt.instance import load_instance
    from .oam import provenance

    settings = settings or ServingSettings()
    progress = progress or (lambda event, data: None)
    t0 = time.perf_counter()
    progress("start", {"total": len(settings.instances) * len(settings.loads)})
    rows: list[dict[str, Any]] = []
    done = 0
    for name in settings.instances:
        base = load_instance(ROOT / "instances" / f"{name}.json")
        for load in settings.loads:
            inst = scaled(base, offered_factor(base, load))
            places, notes = placements(inst, settings.time_limit)
            for label in METHODS:
                row = {"instance": name, "load": load, "method": label, **notes[label]}
                if label in places:
                    runs = [
                        measure(inst, places[label], s, settings.horizon) for s in settings.seeds
                    ]
                    row.update(summarise(runs))
                rows.append(row)
            done += 1
            progress("point", {"name": f"{name} at {100 * load:.0f}%", "index": done})
    meta = provenance(settings, command or "daitn_opt.papers.serving.run_serving")
    meta["seconds"] = time.perf_counter() - t0
    files = write_report(Path(out), meta, rows)
    progress("done", {"seconds": meta["seconds"]})
    return {"meta": meta, "rows": rows, "files": files}


# -- analysis and the page -----------------------------------------------------------------------
def verdict(rows: list[dict], name: str) -> list[str]:
    """Where the congestion-aware placement has the fewest unmet queries, and where not."""
    out = []
    for load in dict.fromkeys(r["load"] for r in rows if r["instance"] == name):
        at = [r for r in rows if r["instance"] == name and r["load"] == load and "unmet_rate" in r]
        if not at:
            continue
        best = min(at, key=lambda r: r["unmet_rate"])
        cong = next((r for r in at if r["method"] == METHODS[0]), None)
        if cong is None:
            out.append(f"- load {100 * load:.0f}%: no congestion-aware placement")
        elif best is cong or best["unmet_rate"] >= cong["unmet_rate"] - 1e-12:
            tied = [
                r["method"]
                for r in at
                if r is not cong and abs(r["unmet_rate"] - cong["unmet_rate"]) <= 1e-12
            ]
            close = [
                r["method"]
                for r in at
                if r is not cong
                and r["method"] not in tied
                and r["unmet_rate"] - cong["unmet_rate"] <= cong["unmet_rate_ci"]
            ]
            text = "congestion-aware has the fewest unmet queries"
            if tied:
                text += f" (the same placement as {', '.join(tied)})"
            if close:
                text += f"; within its 95% interval: {', '.join(close)}"
            out.append(f"- load {100 * load:.0f}%: {text}")
        else:
            out.append(
                f"- load {100 * load:.0f}%: **{best['method']}** has fewer unmet queries "
                f"({100 * best['unmet_rate']:.1f}% vs {100 * cong['unmet_rate']:.1f}%)"
            )
    return out


def headline(rows: list[dict]) -> list[dict[str, Any]]:
    """Per (instance, load): the congestion-aware unmet share and the best other method's."""
    points = []
    for name, load in dict.fromkeys((r["instance"], r["load"]) for r in rows):
        at = [r for r in rows if (r["instance"], r["load"]) == (name, load) and "unmet_rate" in r]
        cong = next((r for r in at if r["method"] == METHODS[0]), None)
        others = [r for r in at if r["method"] != METHODS[0]]
        best = min(others, key=lambda r: r["unmet_rate"]) if others else None
        points.append(
            {
                "instance": name,
                "load": load,
                "congestion_aware": None if cong is None else cong["unmet_rate"],
                "best_other": None if best is None else best["method"],
                "best_other_unmet": None if best is None else best["unmet_rate"],
            }
        )
    return points


def _fmt(row: dict, key: str, pct: bool) -> str:
    if key not in row:
        return "-"
    mean, half = row[key], row.get(key + "_ci", float("nan"))
    if pct:
        return f"{100 * mean:.1f} ± {100 * half:.1f}"
    return f"{mean:.0f} ± {half:.0f}"


CAVEATS = [
    "## What this does and does not show",
    "",
    "- The congestion model is an approximation of the replay (`formulations/qirce.md`, "
    "Congestion): one fast M/D/1 server per facility with the replay's server count; its "
    "violation probability under-estimates the measured one by a few points on one "
    "deployment (`tests/qirce/test_congestion.py`). The `model %` column shows how close it is "
    "on whole placements: close for the congestion-aware placements, too low for placements "
    "that mix models of different server counts at a facility (the replay then gives the "
    "facility the count of the mix's mean service time, which the model forbids).",
    "- Above capacity, every method except the capacity-blind baseline refuses demand; the "
    "congestion-aware model also refuses demand it expects to violate more than it serves "
    "(admit value = `violation_weight`), so it trades refusals for violations: compare `unmet`, "
    "which counts both. The capacity-blind baseline's queues start empty and grow with the "
    "horizon above 100% load, so its numbers there depend on the replay horizon.",
    "- The placements are deterministic; seeds vary only the arrivals (the intervals measure "
    "arrival noise, not placement robustness). Demand is scaled uniformly; the instances' "
    "SLOs are tight (budgets of a few ms against 25-90 ms service), so even lightly loaded "
    "facilities violate.",
    "- HiGHS runs at most the time limit (`--time-limit`) per solve; on healthcare-medium the "
    "congestion-aware MILP does not always prove optimality within it (the placement is the "
    "best found).",
]


def render_markdown(meta: dict, rows: list[dict]) -> str:
    """``serving.md`` of a run (``meta`` as :func:`run_serving` stores it in ``serving.json``)."""
    seeds = len(meta["settings"]["seeds"])
    lines = [
        "# Serving: SLO violations and p99 latency vs offered load",
        "",
        f"Generated by `{meta['command']}` at commit `{meta['commit'][:7]}` in "
        f"{meta['seconds']:.0f} s. "
        "Offered load = total query rate / total facility throughput. `unmet` = (SLO "
        "violations + refused queries) / offered queries; `viol.` = violations among served "
        "queries; p99 over served queries (ms). Mean ± 95% t-interval over "
        f"{seeds} arrival seeds. `mode`: `admit` means the method could not serve all "
        "demand and refused some (counted in `unmet`); the capacity-blind baseline refuses "
        "nothing and its queues grow without bound above capacity. `model` is the congestion "
        "model's predicted violation rate of that placement (the placement's expected "
        "violating queries / served rate).",
        "",
    ]
    for name in dict.fromkeys(r["instance"] for r in rows):
        lines += [
            f"## {name}",
            "",
            "| load | method | mode | unmet % | viol. % | refused % | p99 ms | model % |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            if r["instance"] != name:
                continue
            model = r.get("model_violation_rate")
            lines.append(
                f"| {100 * r['load']:.0f}% | {r['method']} | {r.get('mode', '-')} | "
                f"{_fmt(r, 'unmet_rate', True)} | {_fmt(r, 'violation_rate', True)} | "
                f"{_fmt(r, 'refused_share', True)} | {_fmt(r, 'p99_ms', False)} | "
                f"{'-' if model is None else f'{100 * model:.1f}'} |"
            )
        lines += ["", *verdict(rows, name), ""]
    lines += CAVEATS
    return "\n".join(lines) + "\n"


def plot(out: Path, rows: list[dict]) -> Path:
    """``serving.png``: unmet share and p99 latency against offered load, per instance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["instance"] for r in rows))
    fig, axes = plt.subplots(2, len(names), figsize=(5.5 * len(names), 7), squeeze=False)
    for j, name in enumerate(names):
        for label in METHODS:
            pts = [r for r in rows if r["instance"] == name and r["method"] == label]
            pts = [r for r in pts if "unmet_rate" in r]
            if not pts:
                continue
            x = [100 * r["load"] for r in pts]
            for i, (key, scale) in enumerate((("unmet_rate", 100), ("p99_ms", 1))):
                y = [scale * r[key] for r in pts]
                err = [scale * r[key + "_ci"] for r in pts]
                axes[i, j].errorbar(x, y, yerr=err, marker="o", capsize=3, label=label)
        axes[0, j].set_title(name)
        axes[0, j].set_ylabel("unmet queries (%)")
        axes[1, j].set_ylabel("p99 latency of served queries (ms)")
        axes[1, j].set_yscale("log")
        for i in range(2):
            axes[i, j].set_xlabel("offered load (% of total throughput)")
            axes[i, j].grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    path = out / "serving.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(out: Path, meta: dict, rows: list[dict]) -> list[Path]:
    """Write ``serving.md``, ``serving.json`` (``{"meta", "rows"}``) and ``serving.png``."""
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "serving.md", out / "serving.json"
    md.write_text(render_markdown(meta, rows), encoding="utf-8")
    js.write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=1, default=float) + "\n", encoding="utf-8"
    )
    return [md, js, plot(out, rows)]


__all__ = [
    "ServingSettings",
    "headline",
    "measure",
    "placements",
    "render_markdown",
    "run_serving",
    "summarise",
    "verdict",
    "write_report",
]
