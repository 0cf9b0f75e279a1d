"""TAG measurement (issue 12, part 3): epochs per node with the route, and the paradigm choice.

The experiment is the library function :func:`daitn_opt.papers.tag.run_tag` (design in its module
doc; ``daitn-opt paper outcomes --part tag`` runs it too); this script runs it with the
command-line settings, prints its progress and writes ``papers/outcomes/tag.md`` and ``tag.json``.

Run from the repository root::

    .venv/bin/python papers/outcomes/tag.py [--seeds 10] [--limit 6] [--requests small:* medium:r1 ...]
    .venv/bin/python papers/outcomes/tag.py --quick          # two small requests, 3 seeds
    .venv/bin/python papers/outcomes/tag.py --report-only    # re-render tag.md from tag.json
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from daitn_opt.papers.tag import TagSettings, run_tag, write_report  # noqa: E402

OUT = ROOT / "papers" / "outcomes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small requests, 3 seeds")
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 [10]")
    parser.add_argument("--limit", type=float, default=None, help="seconds per solve [6]")
    parser.add_argument("--instances", nargs="+", default=None, choices=("small", "medium"))
    parser.add_argument(
        "--requests", nargs="*", default=None, help="SIZE:ID pairs (SIZE:* for every request)"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--report-only", action="store_true", help="rewrite tag.md from tag.json")
    args = parser.parse_args()
    if args.report_only:
        stored = json.loads((args.out / "tag.json").read_text(encoding="utf-8"))
        write_report(args.out, stored["meta"], stored["results"])
        return
    settings = TagSettings.quick_run() if args.quick else TagSettings()
    changes = {
        "seeds": None if args.seeds is None else tuple(range(args.seeds)),
        "time_limit": args.limit,
        "instances": None if args.instances is None else tuple(args.instances),
        "requests": None if args.requests is None else tuple(args.requests),
    }
    settings = replace(settings, **{k: v for k, v in changes.items() if v is not None})

    def progress(event: str, data: dict) -> None:
        if event == "request":
            print(f"{data['name']} done ({data['seconds']:.0f} s)", flush=True)

    command = "papers/outcomes/tag.py " + " ".join(sys.argv[1:])
    result = run_tag(args.out, settings, progress, command=command.strip())
    print(f"wrote {', '.join(str(f) for f in result['files'])}")


if __name__ == "__main__":
    main()
