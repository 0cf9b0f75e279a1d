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
DIAGNOSIS = [
    "## Why the previous loop did not pay off (diagnosis of its run)",
    "",
    "The previous loop planned `coverage-greedy` on `max_coverage` (10 seeds, "
    "`git show 370bb02:papers/outcomes/oam.json`). On healthcare-medium the oracle plan's first "
    "hop differed from the reported plan's in 42 of 60 runs (misreports of either kind) and 51 "
    "of 60 (quality only), and the reported routes (about 20 nodes) visited 2.4 and 4.8 quality "
    "liars against 0.4 and 0.6 for the oracle; a hop at a quality liar moved the MPVU accuracy "
    "by +0.003 and -0.010 against +0.021 and +0.028 at an honest node. So better information "
    "did change the routes where it matters, and a liar's hop is wasted time; yet neither the "
    "learned nor the oracle routes reached 0.9 sooner. The objective explains it: `max_coverage` "
    "fills the deadline with as much discounted mass as fits and orders the nodes by travel "
    "(insertion), not by value, so *when* the target is crossed is left to the order of a long "
    "route with an honest majority (0.9 was reached in 56-57 of 60 medium runs by every arm, at "
    "about 45% of the deadline). On healthcare-small few liars were eligible (0.1 per reported "
    "route in the mixed scenario) and routes have four nodes. Hence this run plans for time to "
    "target on the fitted outcome model, whose route is ordered and cut by predicted value.",
    "",
]
RESULT = [
    "## Result (the 20-seed run above, both healthcare sizes, 180 paired runs)",
    "",
    "- **The bound now pays off.** Planned on the true values, the time-to-target planner "
    "reaches 0.9 sooner than on the reports: -37 s [-69, -5] over all runs (-4.1% of the "
    "deadline [-7.9, -0.3]), Wilcoxon p = 0.005; on healthcare-medium -56 s [-104, -8], "
    "p = 0.003. With the previous `max_coverage` planner the oracle gained nothing (-11.6 s, "
    "p = 0.2): planning for time to target is what turns better information into an earlier "
    "target.",
    "- **The claim is not shown.** Routes planned on the learned utilities reach the target "
    "-15 s [-48, +18] sooner than on the reports (p = 0.15; medium -22 s, p = 0.21; small "
    "-1 s, p = 0.58): the direction of the bound and about 40% of its gain, but the interval "
    "holds zero at 20 seeds. Final accuracy does not differ either (+0.004, p = 0.46).",
    "- **Why learned falls short of the bound.** (1) Noise on honest nodes: the measured "
    "quality ranks the true one with Spearman 0.52 over round-0 hops (unbiased on average: "
    "quality liars 0.60 measured vs 0.55 true, honest nodes 0.88 vs 0.88; last table above), "
    "and the planner follows the noise: the learned plan's first hop is the oracle's in 42% of "
    "medium runs, the reported plan's in 57%. (2) Slow correction of liars: the report counts "
    "as one observation, so a liar measured once sits half way between its report and the "
    "truth (error of visited liars 1.18 -> 0.49 in four rounds on medium) and, once the plan "
    "moves away from it, is not measured again; quality liars on the planned prefix go from "
    "0.29 (reported) to 0.20 (learned), 0.03 for the oracle. (3) OAM sees only the nodes a "
    "route visits, and time-to-target routes are short (prefix of about 2.8 nodes).",
    "- **Trusting the measurement fully does not help** (exploratory, not in this folder: "
    "`papers/outcomes/oam.py --instances medium --requests healthcare-medium/r1 "
    "healthcare-medium/r9 --prior-weight 0`, 40 runs, 08:34 UTC): learned - reported +30 s "
    "[-123, +184] (p = 0.75) against -42 s on the same 40 runs with the report counting as one "
    "observation; its reported and oracle arms were bit-identical to this run's. Faster updates "
    "chase the measurement noise of (1), so a better per-hop quality signal (more held-out "
    "samples, repeated measurements) is the next lever, not the smoothing weight.",
    "- **healthcare-small has no headroom**: the oracle gains +0.6 s (p = 0.7); its deadlines "
    "(79-100 s) leave routes of two or three hospitals, and r3 reaches 0.9 in 2-6 of 20 runs "
    "in any arm.",
    "",
]


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
    parser.add_argument("--prior-weight", type=float, default=None, help="report's pseudo-count")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--render", action="store_true", help="re-render oam.md from the folder's oam.json"
    )
    args = parser.parse_args()
    if args.render:
        doc = json.loads((args.out / "oam.json").read_text(encoding="utf-8"))
        _, files = write_report(args.out, doc["meta"], doc["runs"], DIAGNOSIS + RESULT)
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
        "prior_weight": args.prior_weight,
    }
    settings = replace(settings, **{k: v for k, v in changes.items() if v is not None})
    command = "papers/outcomes/oam.py " + " ".join(sys.argv[1:])

    def progress(event: str, data: dict) -> None:
        if event == "fit":
            print(f"fitted {data['request']} ({data['seconds']:.0f} s)", flush=True)
        elif event == "run":
            print(f"{data['request']} seed {data['seed']} ({data['seconds']:.0f} s)", flush=True)

    notes = DIAGNOSIS + RESULT
    result = run_oam(args.out, settings, progress, command=command.strip(), notes=notes)
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
