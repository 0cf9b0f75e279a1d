"""K-AS hierarchical control against the monolithic solve, with the domain count swept.

    .venv/bin/python papers/kas/compare.py [--sizes 1000,2000,5000,10000] [--counts 2,4,8,16]
        [--legs-time 2] [--ladder 0.25,0.5,1,2,4,8,16] [--max-nodes 3000 --cap-above 20000]
        [--out papers/kas/results.md]

For each size: a random geometric snapshot (seed 1, first request) and its view (built once,
shared by both methods: the view's time is reported apart; above ``--cap-above`` nodes the view
is capped at ``--max-nodes``, the nodes nearest the way from start to end, and the domains are
drawn over the capped view's nodes). The hierarchical run
(:func:`daitn_opt.kas.solve_hierarchical`, ``ils`` in every domain, ``--legs-time`` seconds for
all the legs together, geographic domains) is timed from the partition to the checked stitched
route: H seconds. The monolithic ``ils`` runs on the whole view with the same H seconds (utility
lost at the same time), and once per size at each time of ``--ladder`` (the time it needs to
reach the hierarchical utility: time saved). Every stitched route is checked by the MTRCE
checker on the whole problem. Wall times on a shared 2-core machine: the 1-minute load average
is recorded with the table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from daitn_opt import solve  # noqa: E402
from daitn_opt.drrt.generators import generate  # noqa: E402
from daitn_opt.drrt.view import view  # noqa: E402
from daitn_opt.kas import partition, solve_hierarchical  # noqa: E402
from daitn_opt.mtrce import from_view  # noqa: E402
from daitn_opt.mtrce.check import check  # noqa: E402


def numbers(text: str, kind: type = float) -> list:
    return [kind(x) for x in text.split(",") if x]


def one_size(
    n: int, counts: list[int], legs_time: float, ladder: list[float], max_nodes: int | None
) -> list[dict]:
    inst = generate("random-geometric", nodes=n, seed=1)
    t = time.perf_counter()
    p = from_view(view(inst, max_nodes=max_nodes))
    view_s = time.perf_counter() - t
    t = time.perf_counter()
    greedy = solve(p, "greedy", time_limit=60.0, seed=0).objective or 0.0
    greedy_s = time.perf_counter() - t
    mono = {}
    for limit in ladder:
        r = solve(p, "ils", time_limit=limit, seed=0)
        assert check(p, r.solution).ok
        mono[limit] = r.objective or 0.0
    rows = []
    for count in counts:
        t = time.perf_counter()
        # A capped view is a corridor of the snapshot: draw the domains over its nodes.
        dom = partition(inst.snapshot, count, seed=0, only=p.ids if max_nodes else None)
        h = solve_hierarchical(p, dom, solver="ils", time_limit=legs_time, seed=0)
        hier_s = time.perf_counter() - t
        same = solve(p, "ils", time_limit=hier_s, seed=0)
        assert check(p, same.solution).ok
        reach = next((lim for lim in ladder if mono[lim] >= h.objective), None)
        rows.append(
            {
                "n": n,
                "view_nodes": p.n,
                "view_s": view_s,
                "domains": h.stats["domains"],
                "legs": len(h.stats["order"]),
                "hier": h.objective,
                "hier_s": hier_s,
                "estimate_s": h.stats["estimate_seconds"],
                "checked": h.stats["checked"],
                "same": same.objective,
                "best": max(mono.values()),
                "best_s": max(mono, key=mono.get),
                "reach_s": reach,
                "greedy": greedy,
                "greedy_s": greedy_s,
                "load": os.getloadavg()[0],
            }
        )
        print(rows[-1], flush=True)
    return rows


def pct(a: float, b: float) -> str:
    return f"{100 * (1 - a / b):.1f}" if b else "-"


def table(rows: list[dict], ladder: list[float]) -> str:
    head = (
        "| nodes | view nodes | view s | domains | legs | K-AS utility | K-AS s (estimate s) "
        "| checked | mono ils same time | lost vs same time % | mono ils best (at s) "
        "| lost vs best % | mono s to reach K-AS | time saved s | mono greedy (s) | load |\n"
        "|" + "---|" * 16 + "\n"
    )
    lines = []
    for r in rows:
        reach = r["reach_s"]
        saved = (
            f"{reach - r['hier_s']:.1f}"
            if reach is not None
            else f"> {ladder[-1] - r['hier_s']:.1f}"
        )
        lines.append(
            f"| {r['n']:,} | {r['view_nodes']:,} | {r['view_s']:.1f} | {r['domains']} | {r['legs']} "
            f"| {r['hier']:.0f} | {r['hier_s']:.2f} ({r['estimate_s']:.2f}) | {r['checked']} "
            f"| {r['same']:.0f} | {pct(r['hier'], r['same'])} | {r['best']:.0f} ({r['best_s']:g}) "
            f"| {pct(r['hier'], r['best'])} | {reach if reach is not None else f'> {ladder[-1]:g}'} "
            f"| {saved} | {r['greedy']:.0f} ({r['greedy_s']:.2f}) | {r['load']:.1f} |"
        )
    return head + "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,2000,5000,10000")
    ap.add_argument("--counts", default="2,4,8,16")
    ap.add_argument("--legs-time", type=float, default=2.0)
    ap.add_argument("--ladder", default="0.25,0.5,1,2,4,8,16")
    ap.add_argument("--max-nodes", type=int, default=3000, help="view cap above --cap-above")
    ap.add_argument("--cap-above", type=int, default=20000)
    ap.add_argument("--out", default=str(ROOT / "papers" / "kas" / "results.md"))
    args = ap.parse_args()
    ladder = sorted(numbers(args.ladder))
    rows = []
    for n in numbers(args.sizes, int):
        cap = args.max_nodes if n > args.cap_above else None
        rows += one_size(n, numbers(args.counts, int), args.legs_time, ladder, cap)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    text = (
        "# K-AS hierarchical vs monolithic MTRCE (ils)\n\n"
        f"Written by `papers/kas/compare.py --sizes {args.sizes} --counts {args.counts} "
        f"--legs-time {args.legs_time:g} --ladder {args.ladder}` at commit {commit}; random "
        "geometric snapshots (seed 1, first request), geographic domains (k-means, seed 0), "
        "ils seed 0. Utility lost = 1 - K-AS / monolithic. Time saved = the ladder time the "
        "monolithic ils needed to reach the K-AS utility minus the K-AS time (ladder "
        f"{args.ladder} s: coarse). Wall seconds on a shared 2-core machine.\n\n"
        + table(rows, ladder)
    )
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
