"""Views that scale: time and memory of ``build_view``, compiled searches against scipy's.

    .venv/bin/python tests/benchmarks/view_scale.py [--sizes 2000,10000] [--compile] [--old F]
        [--against CHECKOUT [--rounds 3]] [--no-scipy]
    .venv/bin/python tests/benchmarks/view_scale.py --e2e 100000 [--max-nodes 3000] [--keep DIR]

Per size, the view on the compiled searches (numba: ``daitn_opt.drrt.shortest_paths``) and on
scipy's Dijkstra (``DAITN_NO_NUMBA=1``, the code path before them), one after the other in the
same command, so the ratio holds on this shared machine whatever its load; ``--old`` adds a copy
of an earlier ``daitn_opt/drrt/view.py`` (``git show REV:daitn_opt/drrt/view.py > F``, imported
as a module of ``daitn_opt.drrt`` so its relative imports resolve; run on scipy);
``--against CHECKOUT`` runs that checkout's own copy of this script (its compiled path, e.g. a
``git worktree`` of an older commit) in turns with this one, ``--rounds`` times. Every
measurement runs in a fresh process (peak RSS is per process): the view of the first request of
``instances/rgg-2000.json`` for 2,000 nodes, of a generated random geometric instance (seed 1)
otherwise. Reported: best wall time of ``--repeats`` runs, its CPU time, the numba threads, the
peak of traced allocations during one view (tracemalloc, numpy included), the process's peak
RSS, and the load average when the figure was taken. ``--compile`` also times the one-off numba
compile (a fresh process, an empty cache folder).

``--e2e N`` is the whole path on N nodes: ``daitn-opt generate rgg`` (a subprocess), loading the
file, the view (capped at ``--max-nodes``: a k x k matrix of every eligible node of 100,000 would
take ~40 GB) twice on the compiled searches and once on scipy's (same matrix asserted), one
traced view, and a heuristic solve of its MTRCE problem, each timed, with peak memory.

Measured 2026-11-30 on the shared 2-core machine, 2 numba threads. Second session (commit
6ed4c33, lane searches; ``--against`` a worktree of cb492ef, 3 rounds, load 9.0-10.2; best wall
of each, its CPU; ``papers/kas/views.md`` has the candidates and the first session's runs):

=========================  =====  =================  ==================  ===============
nodes                      view   CPU s new/cb492ef  wall s new/cb492ef  traced MB
=========================  =====  =================  ==================  ===============
2,000                      1,737  0.090 / 0.249      0.282 / 0.761       27 / 29
10,000                     7,096  1.86 / 6.51        4.55 / 16.54        416 / 462
=========================  =====  =================  ==================  ===============

scipy in the same run: 0.597 s CPU / 1.822 s wall at 2,000, 15.30 s / 46.86 s at 10,000. On an
idle machine (load 0.9) cb492ef took 0.144 s / 3.22 s wall.

First session (cb492ef's code, load 10-14):

=========================  =====  ================  ==================  ==============
nodes                      view   CPU s comp/scipy  wall s comp/scipy   traced MB
=========================  =====  ================  ==================  ==============
2,000                      1,737  0.256 / 0.514     0.638 / 1.324       29 / 67
10,000                     7,096  6.85 / 13.52      19.3 / 35.6         462 / 454
100,000 capped at 3,000    3,000  10.3 / 28.0 (*)   28.6 / 84.7 (*)     213 (compiled)
=========================  =====  ================  ==================  ==============

(*) scipy's figure from the first run (load 16-18, compiled 9.3 s CPU / 31.5 s wall there).
100,000 nodes end to end: generate 130 s wall (load 20); load 46 s / 13.4 s CPU / 2.0 GB;
view 38 s / 11.4 s CPU the first time (links read into arrays), 29 s / 10.3 s after; ILS
feasible; peak RSS 2.5 GB.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def load_view_module(path: str | None):
    """``build_view`` of the repository, or of an older view.py at ``path``."""
    if path is None:
        from daitn_opt.drrt.view import build_view

        return build_view
    import daitn_opt.drrt  # noqa: F401  (the package the old module's relative imports need)

    name = "daitn_opt.drrt._view_under_test"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.build_view


def instance_of(size: int):
    from daitn_opt.drrt.generators import generate
    from daitn_opt.drrt.instance import load_instance

    if size == 2000:
        return load_instance(ROOT / "instances" / "rgg-2000.json")
    return generate("random-geometric", nodes=size, seed=1, requests=3)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure_one(size: int, old: str | None, repeats: int) -> dict:
    """One process: best-of-``repeats`` view time, then one traced view."""
    from daitn_opt.drrt import shortest_paths

    build_view = load_view_module(old)
    inst = instance_of(size)
    req = inst.requests[0]
    from daitn_opt.drrt.generators import generate

    small = generate("random-geometric", nodes=50, seed=1, requests=1)
    t = time.perf_counter()
    build_view(small.snapshot, small.requests[0])  # warm imports without raising the peak RSS
    warm = time.perf_counter() - t  # with numba: loading (or compiling) the kernels
    rss_before = rss_mb()
    load = os.getloadavg()[0]
    walls, cpus = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        v = build_view(inst.snapshot, req)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
        del v
    tracemalloc.start()
    v = build_view(inst.snapshot, req)
    traced = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    best = min(range(repeats), key=walls.__getitem__)
    compiled = shortest_paths.available()
    return {
        "size": size,
        "code": ("old " if old else "") + ("compiled" if compiled else "scipy"),
        "threads": shortest_paths.threads() if compiled else 1,
        "first_small_view_s": warm,
        "view_nodes": v.n,
        "wall_s": walls[best],
        "cpu_s": cpus[best],
        "traced_peak_mb": traced,
        "rss_before_view_mb": rss_before,
        "peak_rss_mb": rss_mb(),
        "load_1min": [load, os.getloadavg()[0]],
    }


def run_child(
    args: list[str], env: dict[str, str] | None = None, script: Path | str = __file__
) -> dict:
    out = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


SCIPY = {"DAITN_NO_NUMBA": "1"}
"""The environment that makes the view fall back to scipy's Dijkstra (today's code path)."""


def compare(
    sizes: list[int],
    old: str | None,
    repeats: int,
    old_repeats: int,
    against: str | None = None,
    rounds: int = 1,
    scipy: bool = True,
) -> list[dict]:
    """Per size: the compiled path, scipy's (``DAITN_NO_NUMBA=1``), ``old`` if given, and the
    compiled path of another checkout (``against``), taking turns ``rounds`` times with it so
    that both see the same load; the best wall time of each is compared."""
    rows = []
    for size in sizes:
        one = ["--one", str(size), "--repeats", str(repeats)]
        new = None
        for _ in range(rounds if against else 1):
            row = run_child(one)
            rows.append(row)
            print(json.dumps(row), flush=True)
            new = row if new is None or row["wall_s"] < new["wall_s"] else new
            if against:
                row = run_child(
                    one, script=Path(against) / "tests" / "benchmarks" / "view_scale.py"
                )
                row["code"] = f"{row['code']} at {against}"
                rows.append(row)
                print(json.dumps(row), flush=True)
        if against:
            best = rows_best(rows, f"compiled at {against}", size)
            print(ratio_line(size, new, best, "the other checkout"), flush=True)
        others = []
        if scipy:
            others.append(("scipy", ["--one", str(size), "--repeats", str(old_repeats)]))
        if old:
            others.append(("old", ["--one", str(size), "--old", old, "--repeats", "1"]))
        for label, args in others:
            before = run_child(args, SCIPY)
            rows.append(before)
            print(json.dumps(before), flush=True)
            print(ratio_line(size, new, before, label), flush=True)
    return rows


def rows_best(rows: list[dict], code: str, size: int) -> dict:
    """The row of ``code`` at ``size`` with the least wall time."""
    return min(
        (r for r in rows if r["code"] == code and r["size"] == size), key=lambda r: r["wall_s"]
    )


def ratio_line(size: int, new: dict, before: dict, label: str) -> str:
    return (
        f"# {size} nodes: {new['code']} ({new['threads']} threads) {new['wall_s']:.3f} s vs "
        f"{label} {before['wall_s']:.3f} s wall (x{before['wall_s'] / new['wall_s']:.2f}), "
        f"{new['cpu_s']:.3f} s vs {before['cpu_s']:.3f} s CPU "
        f"(x{before['cpu_s'] / new['cpu_s']:.2f}); traced peak "
        f"{new['traced_peak_mb']:.0f} MB vs {before['traced_peak_mb']:.0f} MB; load "
        f"{max(new['load_1min'] + before['load_1min']):.1f}"
    )


def compile_once() -> dict:
    """The one-off numba compile, in a fresh process with an empty cache folder."""
    with tempfile.TemporaryDirectory() as cache:
        return run_child(["--one", "50", "--repeats", "1"], {"NUMBA_CACHE_DIR": cache})


def end_to_end(
    nodes: int, max_nodes: int, solver: str, limit: float, keep: str | None, scipy_view: bool
) -> dict:
    """Generate (CLI), load, view and solve one request of an ``nodes``-node snapshot."""
    import numpy as np

    from daitn_opt import solve
    from daitn_opt.drrt import shortest_paths
    from daitn_opt.drrt.instance import load_instance
    from daitn_opt.drrt.view import build_view
    from daitn_opt.mtrce.problem import from_view

    steps: dict[str, dict] = {}
    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="view-scale-"))
    path = folder / f"rgg-{nodes}.json"

    clock = {"cpu": time.process_time()}

    def step(name: str, t0: float) -> None:
        steps[name] = {
            "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - clock["cpu"],
            "peak_rss_mb": rss_mb(),
            "load_1min": os.getloadavg()[0],
        }
        clock["cpu"] = time.process_time()
        print(f"# {name}: {json.dumps(steps[name])}", flush=True)

    t0 = time.perf_counter()
    if not path.exists():
        cli = Path(sys.executable).with_name("daitn-opt")
        cmd = [str(cli), "generate", "rgg", "--nodes", str(nodes), "--seed", "1"]
        subprocess.run([*cmd, "--requests", "1", "-o", str(path)], check=True)
    step("generate", t0)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    steps["generate"]["child_cpu_s"] = children.ru_utime + children.ru_stime
    steps["generate"]["child_peak_rss_mb"] = children.ru_maxrss / 1024.0
    t0 = time.perf_counter()
    inst = load_instance(path)
    step("load", t0)
    req, travel = inst.requests[0], inst.travel
    t0 = time.perf_counter()
    v = build_view(inst.snapshot, req, travel, max_nodes=max_nodes)
    step("view", t0)  # the first view of a snapshot also reads its links into arrays
    t0 = time.perf_counter()
    v = build_view(inst.snapshot, req, travel, max_nodes=max_nodes)
    step("view_again", t0)
    if scipy_view:  # the same view on scipy's Dijkstra, same process: the ratio at this size
        os.environ.update(SCIPY)
        t0 = time.perf_counter()
        again = build_view(inst.snapshot, req, travel, max_nodes=max_nodes)
        step("view_scipy", t0)
        del os.environ["DAITN_NO_NUMBA"]
        assert np.array_equal(again.transfer, v.transfer)
        del again
    tracemalloc.start()
    v = build_view(inst.snapshot, req, travel, max_nodes=max_nodes)
    steps["traced_view_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    clock["cpu"] = time.process_time()
    t0 = time.perf_counter()
    result = solve(from_view(v, name=inst.name), solver, time_limit=limit, seed=0)
    step("solve", t0)
    return {
        "nodes": nodes,
        "links": len(inst.snapshot.links),
        "eligible_excluded_by_cap": sum("max_nodes" in r for r in v.excluded.values()),
        "view_nodes": v.n,
        "solver": solver,
        "threads": shortest_paths.threads() if shortest_paths.available() else 1,
        "status": str(result.status),
        "objective": result.objective,
        "steps": steps,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2000,10000", help="comma-separated node counts")
    ap.add_argument("--old", help="an older view.py to compare with, measured in the same run")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--old-repeats", type=int, default=2, help="repeats of the scipy path")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child: one measurement
    ap.add_argument("--e2e", type=int, help="generate, load, view and solve this many nodes")
    ap.add_argument("--max-nodes", type=int, default=3000, help="view cap for --e2e")
    ap.add_argument("--solver", default="ils", help="heuristic for --e2e")
    ap.add_argument("--limit", type=float, default=60.0, help="solver time limit for --e2e")
    ap.add_argument("--keep", help="folder to write (or reuse) the --e2e instance file in")
    ap.add_argument("--no-scipy-view", action="store_true", help="--e2e: skip the scipy view")
    ap.add_argument("--compile", action="store_true", help="also time the one-off numba compile")
    ap.add_argument(
        "--against",
        help="another checkout (e.g. a git worktree of an older commit): its compiled view, "
        "measured in turns with this one",
    )
    ap.add_argument("--rounds", type=int, default=3, help="turns with --against")
    ap.add_argument("--no-scipy", action="store_true", help="skip the scipy path")
    ap.add_argument("--json", help="write the rows to this file")
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(measure_one(args.one, args.old, args.repeats)))
        return
    if args.e2e is not None:
        rows = [
            end_to_end(
                args.e2e, args.max_nodes, args.solver, args.limit, args.keep, not args.no_scipy_view
            )
        ]
    else:
        sizes = [int(s) for s in args.sizes.split(",")]
        rows = compare(
            sizes,
            args.old,
            args.repeats,
            args.old_repeats,
            args.against,
            args.rounds,
            not args.no_scipy,
        )
        if args.compile:
            rows.append({"compile": compile_once()})
            print(
                f"# one-off compile: {rows[-1]['compile']['first_small_view_s']:.1f} s", flush=True
            )
    print(json.dumps(rows, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
