"""OAM feedback (issue 12, item 2): routes planned on learned vs reported utilities.

The experiment is the library function :func:`daitn_opt.papers.oam.run_oam` (design in its
module doc); this script runs it with the command-line settings, prints its progress and writes
``papers/outcomes/oam.md``, ``oam.json``, ``oam-error.png`` and ``oam-time.png``, with the
interpretation below appended to the Markdown.

Run from the repository root::

    .venv/bin/python papers/outcomes/oam.py            # full: 20 seeds, both sizes
    .venv/bin/python papers/outcomes/oam.py --quick    # 2 small requests, 3 seeds
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from daitn_opt.papers.oam import OAMSettings, run_oam, write_report  # noqa: E402

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
}
"""Each page's other planner's run (same code, seeds and settings but the solver)."""


def sibling_run(out: Path) -> list[str]:
    """The headline of the run with the other planner, when it is there."""
    other = SIBLINGS.get(out.resolve())
    path = None if other is None else other / "oam.json"
    if path is None or not path.exists():
        return []
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [*headline(doc, f"Same code, other planner (`{path.relative_to(ROOT)}`)"), ""]


def notes(out: Path) -> list[str]:
    return [*CHANGES, "## Other runs", "", *sibling_run(out), *previous_run()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 small requests, 3 seeds")
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--scale", type=float, default=None)
    parser.add_argument("--kinds", nargs="+", default=None, choices=("quality", "samples"))
    parser.add_argument("--instances", nargs="+", default=None, choices=("small", "medium"))
    parser.add_argument("--requests", nargs="*", default=None, help="e.g. healthcare-small/r1")
    parser.add_argument("--solver", default=None)
    parser.add_argument("--prior-sd", type=float, default=None, help="sd of a distrusted report")
    parser.add_argument("--explore", type=float, default=None, help="optimism of middle rounds")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--render", action="store_true", help="re-render oam.md from the folder's oam.json"
    )
    args = parser.parse_args()
    if args.render:
        doc = json.loads((args.out / "oam.json").read_text(encoding="utf-8"))
        _, files = write_report(args.out, doc["meta"], doc["runs"], notes(args.out))
        print(f"wrote {', '.join(str(f) for f in files)}")
        return
    settings = OAMSettings.quick_run() if args.quick else OAMSettings()
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
    }
    settings = replace(settings, **{k: v for k, v in changes.items() if v is not None})
    command = "papers/outcomes/oam.py " + " ".join(sys.argv[1:])

    def progress(event: str, data: dict) -> None:
        if event == "fit":
            print(f"fitted {data['request']} ({data['seconds']:.0f} s)", flush=True)
        elif event == "run":
            print(f"{data['request']} seed {data['seed']} ({data['seconds']:.0f} s)", flush=True)

    result = run_oam(args.out, settings, progress, command=command.strip(), notes=notes(args.out))
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
