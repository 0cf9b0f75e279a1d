"""Congestion-aware QIRCE (issue 12, part 4): SLO violations and p99 latency vs offered load.

The experiment is the library function :func:`daitn_opt.papers.serving.run_serving` (design in
its module doc; ``daitn-opt paper outcomes --part serving`` runs it too); this script runs it
with the command-line settings and writes ``papers/outcomes/serving.md``, ``serving.json`` and
``serving.png``.

Run from the repository root::

    .venv/bin/python papers/outcomes/serving.py [--seeds 10] [--horizon 120] [--limit 10]
    .venv/bin/python papers/outcomes/serving.py --quick      # healthcare-small, 3 loads, 3 seeds
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from daitn_opt.papers.serving import INSTANCES, ServingSettings, run_serving  # noqa: E402

OUT = ROOT / "papers" / "outcomes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="healthcare-small, 3 loads, 3 seeds")
    parser.add_argument("--seeds", type=int, default=None, help="arrival seeds 0..N-1 [10]")
    parser.add_argument("--horizon", type=float, default=None, help="simulated seconds [120]")
    parser.add_argument("--limit", type=float, default=None, help="seconds per HiGHS solve [10]")
    parser.add_argument("--instances", nargs="+", default=None, choices=INSTANCES)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    settings = ServingSettings.quick_run() if args.quick else ServingSettings()
    changes = {
        "seeds": None if args.seeds is None else tuple(range(args.seeds)),
        "horizon": args.horizon,
        "time_limit": args.limit,
        "instances": None if args.instances is None else tuple(args.instances),
    }
    settings = replace(settings, **{k: v for k, v in changes.items() if v is not None})

    def progress(event: str, data: dict) -> None:
        if event == "point":
            print(f"{data['name']} done", flush=True)

    command = "papers/outcomes/serving.py " + " ".join(sys.argv[1:])
    result = run_serving(args.out, settings, progress, command=command.strip())
    print(f"wrote {', '.join(str(f) for f in result['files'])} ({result['meta']['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
