"""``python -m daitn_opt.papers.routing``: the routing paper with the sweep's own options.

``daitn-opt paper routing`` runs one worker and never stops early; this entry point adds
``--workers``, ``--until HH:MM`` (UTC: start no run that would end later), ``--families`` and
``--report-only``, and prints each stored row as it arrives (the background run's log).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from . import COMMAND, run_paper
from .families import FAMILIES, ROOT


def _until(text: str) -> float:
    """``HH:MM`` (UTC, today) as a ``time.time()`` value."""
    hour, minute = (int(x) for x in text.split(":"))
    return datetime.now(UTC).replace(hour=hour, minute=minute, second=0, microsecond=0).timestamp()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m daitn_opt.papers.routing", description=COMMAND)
    ap.add_argument("--out", type=Path, default=ROOT / "papers" / "routing")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", default="0", help="Comma-separated seeds of the heuristic runs.")
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--until", type=_until, default=None, help="HH:MM UTC")
    ap.add_argument("--families", default=",".join(f.name for f in FAMILIES))
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args(argv)
    lines = run_paper(
        args.out,
        quick=args.quick,
        seeds=[int(s) for s in args.seeds.split(",")],
        time_limit=args.time_limit,
        workers=args.workers,
        until=args.until,
        families=tuple(f for f in args.families.split(",") if f),
        report_only=args.report_only,
        progress=_print_row,
    )
    print("\n".join(lines))


def _print_row(row: dict) -> None:
    gap = row.get("gap_to_best")
    shown = "" if gap is None else f" gap {100 * gap:.2f}%"
    print(
        f"{row.get('started_at', '')} {row['instance']} {row['solver']} {row['time_limit']:g}s: "
        f"{row['status']}{shown} check={row.get('check_ok')} load={row.get('load_at_start') or 0:.1f}",
        file=sys.stdout,
        flush=True,
    )


if __name__ == "__main__":
    main()
