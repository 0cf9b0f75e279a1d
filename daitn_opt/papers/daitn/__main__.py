"""``python -m daitn_opt.papers.daitn [--quick] [-o DIR] [--only NAME ...]``: the same run as
``daitn-opt paper da-itn``, for use before (or without) the command line wiring."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import Settings
from .run import EXPERIMENTS, run_daitn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m daitn_opt.papers.daitn")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("-o", "--output", type=Path, default=Path("papers/da-itn"))
    parser.add_argument("--only", nargs="*", choices=EXPERIMENTS)
    parser.add_argument("--seeds", type=int)
    parser.add_argument("--time-limit", type=float)
    args = parser.parse_args(argv)
    settings = Settings.of(args.quick, seeds=args.seeds, time_limit=args.time_limit, only=args.only)

    def progress(event: str, data: dict) -> None:
        print(event, data, file=sys.stderr, flush=True)

    report = run_daitn(args.output, settings, progress)
    for section in report["sections"]:
        print(f"## {section.title} ({section.seconds:.0f} s)")
        for line in section.headline:
            print(f"- {line}")
    print(f"total {report['meta']['seconds']:.0f} s; files in {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
