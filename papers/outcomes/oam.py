"""OAM feedback (issue 12, item 2): routes planned on learned vs reported utilities.

The experiment is the library function :func:`daitn_opt.papers.oam.run_oam` (design in its
module doc); this script runs it with the command-line settings, prints its progress and writes
``papers/outcomes/oam.md``, ``oam.json``, ``oam-error.png`` and ``oam-time.png``, with the
interpretation below appended to the Markdown.

Run from the repository root::

    .venv/bin/python papers/outcomes/oam.py            # full: 20 seeds, both sizes
    .venv/bin/python papers/outcomes/oam.py --quick    # 2 small requests, 3 seeds
    .venv/bin/python papers/outcomes/oam.py --setting poison   # -> papers/outcomes/oam-poison/

``--setting`` picks a misreport setting of :data:`daitn_opt.oam.truth.SETTINGS` (``noise``: the
first page, ``papers/outcomes/oam.md``; ``poison``: label-flipping poisoners, its own folder).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from daitn_opt.papers.oam import SETTINGS, OAMSettings, run_oam, write_report  # noqa: E402

OUT = ROOT / "papers" / "outcomes"
PREVIOUS = "76adaa3"
"""Commit of the previous run's ``oam.json`` (time-to-target planner extended by coverage gain,
the report counted as one observation, no probe)."""
CHANGES = [
    "## What changed since the previous run",
    "",
    "- **Measurement**: the executor's local probe (`SequentialReplay(probe=True)`) evaluates the "
    "arriving model on the node's own labelled data before it trains there; the label agreement "
    "is inverted to the node's quality with a standard error (`daitn_opt/oam/measure.py`, "
    "`formulations/oam.md`); the sample count trained on is read from the trace (exact).",
    "- **Update rule**: precision weighting (Bayesian shrinkage): the report is the prior with a "
    "variance that grows with 1 - trust, a measurement moves the estimate by v / (v + s^2); the "
    "previous rule counted the report as one observation, so a liar measured once sat half way.",
    "- **Planner**: see the first paragraph (the solver and objective named there).",
    "",
]


def headline(doc: dict, where: str) -> list[str]:
    """One bullet with the learned and oracle comparisons of a run's ``oam.json`` (``doc``)."""
    pool = next(p for p in doc["analysis"]["pools"] if p["pool"] == "all")
    settings = doc["meta"]["settings"]

    def claim(arm: str) -> str:
        c = next(x for x in pool["compare"] if x["arm"] == arm and x["against"] == "reported")
        t = c["time"]
        return (
            f"{arm} - reported {t['mean']:+.1f} s [{t['low']:+.1f}, {t['high']:+.1f}], "
            f"p = {c['time_test']['p']:.2g}"
        )

    rho = pool["diagnosis"].get("quality_hat_rho")
    curve = doc["analysis"]["errors"].get("healthcare-medium", {}).get("misreporters visited")
    steps = " -> ".join(f"{c['mean']:.2f}" for c in curve or [])
    return [
        f"- {where} (planner `{settings['solver']}`, {pool['runs']} paired runs, seeds "
        f"{settings['seeds'][0]}-{settings['seeds'][-1]}): {claim('learned')}; "
        f"{claim('oracle')}; measured quality vs truth over round-0 hops Spearman {rho:+.2f}; "
        f"error of the visited misreporters on healthcare-medium {steps}.",
    ]


def previous_run(commit: str = PREVIOUS) -> list[str]:
    """The previous run's headline, read from its ``oam.json`` in git (no figure typed here)."""
    import subprocess

    try:
        text = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{commit}:papers/outcomes/oam.json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        doc = json.loads(text)
    except (subprocess.CalledProcessError, json.JSONDecodeError, OSError):
        return []
    where = f"Previous run, old update rule (`git show {commit}:papers/outcomes/oam.json`)"
    return [*headline(doc, where), ""]


SIBLINGS = {
    OUT: OUT / "oam-coverage-ils",
    OUT / "oam-coverage-ils": OUT,
    OUT / "oam-poison": OUT,
    OUT / "oam-noise-mixture": OUT,
}
"""Each page's other planner's run (same code, seeds and settings but the solver)."""


def sibling_run(out: Path) -> list[str]:
    """The headline of the run with the other planner, when it is there."""
    other = SIBLINGS.get(out.resolve())
    path = None if other is None else other / "oam.json"
    if path is None or not path.exists():
        return []
    doc = json.loads(path.read_text(encoding="utf-8"))
    if out.resolve() in (OUT / "oam-poison", OUT / "oam-noise-mixture"):
        where = f"The `noise` setting's page (`{path.relative_to(ROOT)}`)"
    else:
        where = f"Same code, other planner (`{path.relative_to(ROOT)}`)"
    return [*headline(doc, where), ""]


def noise_diagnosis(path: Path = OUT / "oam.json") -> list[str]:
    """Why planning on the truth gained nothing in the ``noise`` setting, computed from its
    ``oam.json`` (every figure below comes from there)."""
    if not path.exists():
        return []
    import numpy as np

    doc = json.loads(path.read_text(encoding="utf-8"))
    runs = doc["runs"]

    def ttt(arm: dict) -> float:
        return arm["deadline"] if arm["time_to_target"] is None else arm["time_to_target"]

    small = [r for r in runs if r["instance"] == "healthcare-small"]
    medium = [r for r in runs if r["instance"] == "healthcare-medium"]
    missed = sum(all(r[k]["time_to_target"] is None for k in ("reported", "oracle")) for r in small)

    def gain(kind: str) -> tuple[float, float]:
        hops = [h for r in medium for h in r["hops"] if h["round"] == 0 and h["liar"] == kind]
        return float(np.mean([h["accuracy_gain"] for h in hops])), float(
            np.mean([h["samples"] for h in hops])
        )

    (g_q, n_q), (g_h, n_h) = gain("quality"), gain("")
    rounds = [
        np.mean([ttt(r["rounds"][k]) for r in medium]) for k in range(len(medium[0]["rounds"]))
    ]
    clean = [
        r for r in medium
        if not any(n in r["reported"]["route"][1 : 1 + (r["reported"]["prefix"] or 0)]
                   for n, k in r["liars"].items() if k == "quality")
    ]  # fmt: skip
    hops = np.mean([len(r["reported"]["route"]) - 2 for r in medium])
    d_clean = np.mean([ttt(r["learned"]) - ttt(r["reported"]) for r in clean])
    return [
        "## Why the `noise` setting has no headroom (computed from `papers/outcomes/oam.json`)",
        "",
        f"- healthcare-small: in {missed} of {len(small)} runs neither the reported nor the "
        "oracle plan reaches the target before the deadline, so both count the deadline: time "
        "to target cannot tell them apart there.",
        f"- healthcare-medium: a round-0 hop at a noise liar gains {g_q:+.4f} MPVU accuracy "
        f"(mean {n_q:.1f} samples), at an honest node {g_h:+.4f} ({n_h:.1f} samples): skipping a "
        f"noise liar saves less than one scoring step (1/57) on routes of {hops:.1f} hospitals "
        "on average, and a node of 1-10 samples cannot be measured precisely enough to find it.",
        "- healthcare-medium, mean time to target by round (0 = reported): "
        + " -> ".join(f"{x:.0f}" for x in rounds)
        + f" s; on the {len(clean)} runs whose reported prefix held no quality liar, learned - "
        f"reported is still {d_clean:+.1f} s, consistent with the Gaussian update moving the "
        "estimates of honest few-sample hospitals by their noisy measurements and so reshuffling "
        "the plan (the mixture rule of `formulations/oam.md` keeps them at their reports).",
        "",
    ]


POISON_NOTES = [
    "## Why this setting",
    "",
    "The `noise` setting (`papers/outcomes/oam.md`) found no headroom: planned on the truth, the "
    "target came no sooner. Its lies are label *noise* (40-50% of binary labels flipped), which "
    "a travelling model shrugs off. This page replaces them by label-flipping poisoners (80-100% "
    "of the labels inverted, the quality reported unchanged), the misreport the federated-learning "
    "poisoning literature studies, and fixes three defects the poisoners expose (see "
    "`formulations/oam.md`): every arm plans without the nodes it believes at or below chance "
    "(the outcome model cannot represent harm, so a planner with time to spare visited them); "
    "the quality is measured on the clean label mix (the observed-mix reference called a "
    "first-hop poisoner clean); and the estimates follow the honest-or-liar mixture rule, which "
    "keeps an imprecisely measured honest node at its report (rule and label mix chosen on "
    "development seeds 200-207, never on the seeds of this page).",
    "",
    "- Reading the tables: the relative utility error (Estimates vs the truth) divides by the "
    "true utility, which is near zero for a poisoner (true quality 0-0.2), so it stays large "
    "even when the estimate is good; the `q_hat / q` columns of the second diagnosis table and "
    "the per-hop measurement table show the quality itself.",
    "",
]


NOISE_MIXTURE_NOTES = [
    "## Why this run",
    "",
    "The `noise` setting (`papers/outcomes/oam.md`: Gaussian update rule, observed label mix) "
    "again, with the update rule and measurement of the `poison` setting (honest-or-liar "
    "mixture, clean label mix; `formulations/oam.md`), to see whether they remove the learned "
    "arm's lag behind the reported one there. The harm rule is off, as on the first page.",
    "",
]


def notes(out: Path, setting: str = "noise", rule: str = "gaussian") -> list[str]:
    if setting != "noise":
        return [*POISON_NOTES, *noise_diagnosis(), "## Other runs", "", *sibling_run(out)]
    if rule != "gaussian":
        return [*NOISE_MIXTURE_NOTES, "## Other runs", "", *sibling_run(out)]
    return [*CHANGES, "## Other runs", "", *sibling_run(out), *previous_run()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 small requests, 3 seeds")
    parser.add_argument("--setting", default="noise", choices=sorted(SETTINGS))
    parser.add_argument("--rule", default=None, choices=("gaussian", "mixture"))
    parser.add_argument("--label-mix", default=None, choices=("observed", "clean"))
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--scale", type=float, default=None)
    parser.add_argument("--kinds", nargs="+", default=None, choices=("quality", "samples", "flip"))
    parser.add_argument("--instances", nargs="+", default=None, choices=("small", "medium"))
    parser.add_argument("--requests", nargs="*", default=None, help="e.g. healthcare-small/r1")
    parser.add_argument("--solver", default=None)
    parser.add_argument("--prior-sd", type=float, default=None, help="sd of a distrusted report")
    parser.add_argument("--explore", type=float, default=None, help="optimism of middle rounds")
    parser.add_argument("--out", type=Path, default=None, help="default: by --setting")
    parser.add_argument(
        "--render", action="store_true", help="re-render oam.md from the folder's oam.json"
    )
    args = parser.parse_args()
    if args.out is None:
        args.out = OUT if args.setting == "noise" else OUT / f"oam-{args.setting}"
    if args.render:
        doc = json.loads((args.out / "oam.json").read_text(encoding="utf-8"))
        s = doc["meta"]["settings"]
        page_notes = notes(args.out, s.get("setting", "noise"), s.get("rule", "gaussian"))
        _, files = write_report(args.out, doc["meta"], doc["runs"], page_notes)
        print(f"wrote {', '.join(str(f) for f in files)}")
        return
    settings = OAMSettings.preset(args.setting, args.quick)
    changes = {
        "seeds": None if args.seeds is None else tuple(range(args.seeds)),
        "rounds": args.rounds,
        "scale": args.scale,
        "kinds": None if args.kinds is None else tuple(args.kinds),
        "instances": None if args.instances is None else tuple(args.instances),
        "requests": None if args.requests is None else tuple(args.requests),
        "solver": args.solver,
        "prior_sd": args.prior_sd,
        "explore": args.explore,
        "rule": args.rule,
        "label_mix": args.label_mix,
    }
    settings = replace(settings, **{k: v for k, v in changes.items() if v is not None})
    command = "papers/outcomes/oam.py " + " ".join(sys.argv[1:])

    def progress(event: str, data: dict) -> None:
        if event == "fit":
            print(f"fitted {data['request']} ({data['seconds']:.0f} s)", flush=True)
        elif event == "run":
            print(f"{data['request']} seed {data['seed']} ({data['seconds']:.0f} s)", flush=True)

    result = run_oam(
        args.out,
        settings,
        progress,
        command=command.strip(),
        notes=notes(args.out, settings.setting, settings.rule),
    )
    for p in result["analysis"]["pools"]:
        for c in p["compare"]:
            t = c["time"]
            print(
                f"{p['pool']}: {c['arm']} - {c['against']}: time {t['mean']:+.1f} s "
                f"p={c['time_test']['p']}"
            )
    print(f"wrote {', '.join(str(f) for f in result['files'])}")


if __name__ == "__main__":
    main()
