"""Benchmark: do the exact solvers keep a 3 s time limit on large inputs (issue 10)?

Run from the repository root::

    .venv/bin/python tests/benchmarks/time_limits.py [--limit 3] [--timeout 180] [--mem-gb 8]

For each problem kind (mtrce, tfam, qirce) and each of its exact solvers (``spec.exact`` in the
registry), plus ``greedy`` for comparison, one ``solve()`` call with ``--limit`` seconds on:

- ``rgg-2000``: ``instances/rgg-2000.json``;
- ``rgg-10000``: a 10,000-node random geometric instance made by the project's generator
  (``generate("random-geometric", nodes=10000, seed=1, requests=3)``) in a temporary folder,
  deleted afterwards;
- for qirce only (the random geometric instances have no query demand): the seeded synthetic
  instances of :mod:`daitn_opt.qirce.synthetic` with 2,000 and 10,000 users (50 models, 200 and
  1,000 MDFPs).

Each problem is built once per (instance, kind) in a child process and pickled ("prep s": view
and problem arrays, outside the limit of ``solve()``); each solver then runs in its own child
process, with its address space capped at ``--mem-gb`` (``RLIMIT_AS``) and killed after
``--timeout`` seconds, so that a run that overruns can neither swap the machine nor stall the
table. Columns: the wall time of the ``solve()`` call and its ratio to the limit, the child's
total wall time (load the problem, solve, check), its peak resident memory (``ru_maxrss`` from
``wait4``), status, objective, bound, ``greedy``'s objective, whether the objective is at least as
good as greedy's, and the independent checker's verdict. The issue's target: every ratio <= 1.2
and every run returning a checked solution at least as good as greedy's.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

KINDS = ("mtrce", "tfam", "qirce")


# -- child processes ------------------------------------------------------------------------------


def child_generate(kind: str, path: str, size: int, seed: int) -> dict:
    from daitn_opt.drrt.instance import save_instance

    t0 = time.perf_counter()
    if kind == "rgg":
        from daitn_opt.drrt.generators import generate

        instance = generate("random-geometric", nodes=size, seed=seed, requests=3)
    else:
        from daitn_opt.qirce.synthetic import synthetic_instance

        instance = synthetic_instance(users=size, models=50, facilities=size // 10, seed=seed)
    save_instance(instance, path)
    return {"seconds": time.perf_counter() - t0}


def child_prepare(kind: str, instance_path: str, pickle_path: str) -> dict:
    from daitn_opt.drrt.instance import load_instance
    from daitn_opt.problems import problem_from_instance

    t0 = time.perf_counter()
    problem = problem_from_instance(kind, load_instance(instance_path))
    seconds = time.perf_counter() - t0
    with open(pickle_path, "wb") as fh:
        pickle.dump(problem, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return {"seconds": seconds, "size": describe(problem)}


def describe(problem) -> str:
    if problem.kind == "mtrce":
        return f"{problem.n} nodes"
    if problem.kind == "tfam":
        return f"{problem.n_requests} requests, {problem.n_plans} plans"
    return f"{problem.num_demands} demands, {problem.num_facilities} MDFPs"


def child_solve(pickle_path: str, solver: str, limit: float, seed: int) -> dict:
    from daitn_opt.problems import check_result
    from daitn_opt.registry import solve, solvers

    with open(pickle_path, "rb") as fh:
        problem = pickle.load(fh)
    spec = solvers(problem.kind)[problem.kind][solver]
    reason = spec.supports(problem) if spec.supports is not None else None
    if reason is not None:
        return {"status": "unsupported", "message": reason}
    t0 = time.perf_counter()
    result = solve(problem, solver, time_limit=limit, seed=seed)
    wall = time.perf_counter() - t0
    checked = None
    if result.status.has_solution:
        checked = check_result(problem, result).ok
    return {
        "status": result.status.value,
        "objective": result.objective,
        "bound": result.bound,
        "sense": result.sense,
        "wall": wall,
        "checked": checked,
        "message": result.message,
        "violations": result.contract_violations,
    }


def child_main(argv: list[str]) -> None:
    mode, *args = argv
    if mode == "generate":
        out = child_generate(args[0], args[1], int(args[2]), int(args[3]))
    elif mode == "prepare":
        out = child_prepare(*args)
    else:
        out = child_solve(args[0], args[1], float(args[2]), int(args[3]))
    sys.stdout.write(json.dumps(out) + "\n")


# -- the parent -----------------------------------------------------------------------------------


def run_child(argv: list[str], timeout: float, mem_gb: float) -> dict:
    """Run this script in ``--child`` mode; return its JSON answer plus ``total`` (wall s),
    ``rss_mb`` (peak resident memory) and ``killed`` (timeout) or ``error`` (crash)."""
    limit = int(mem_gb * 2**30)

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", *argv],
            stdout=out,
            stderr=err,
            preexec_fn=cap,
            cwd=ROOT,
        )
        killed = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout:
                os.kill(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                killed = True
                break
            time.sleep(0.1)
        proc.returncode = os.waitstatus_to_exitcode(status)
        total = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        lines = out.read().strip().splitlines()
        tail = err.read().strip().splitlines()
    answer: dict = {}
    if lines and not killed and proc.returncode == 0:
        answer = json.loads(lines[-1])
    elif killed:
        answer = {"status": "killed", "message": f"killed after {timeout:g} s"}
    else:
        last = tail[-1] if tail else f"exit code {proc.returncode}"
        answer = {"status": "crashed", "message": last[:120]}
    answer["total"] = total
    answer["rss_mb"] = usage.ru_maxrss / 1024
    return answer


def fmt(value, spec: str = ".6g") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return format(value, spec)


def at_least_as_good(row: dict, greedy: dict | None) -> str:
    if row.get("objective") is None:
        return "no"
    if greedy is None or greedy.get("objective") is None:
        return "yes"
    a, b = row["objective"], greedy["objective"]
    tol = 1e-6 * max(1.0, abs(b))
    return "yes" if (a <= b + tol if row.get("sense") == "min" else a >= b - tol) else "NO"


HEADER = (
    f"{'instance':10} {'problem':7} {'size':>26} {'prep s':>7} {'solver':14} {'solve s':>8} "
    f"{'/limit':>6} {'total s':>8} {'peak MB':>8} {'status':12} {'objective':>12} {'bound':>12} "
    f"{'greedy':>12} {'>=greedy':>8} {'checked':>7}"
)


def line(inst: str, kind: str, prep: dict, solver: str, row: dict, greedy, limit) -> str:
    wall = row.get("wall")
    ratio = None if wall is None else wall / limit
    checked = {True: "ok", False: "FAIL", None: "-"}[row.get("checked")]
    plain = solver == "greedy" or row["status"] == "unsupported"
    versus = "" if plain else at_least_as_good(row, greedy)
    text = (
        f"{inst:10} {kind:7} {prep.get('size', '-'):>26} {fmt(prep.get('seconds'), '.1f'):>7} "
        f"{solver:14} {fmt(wall, '.2f'):>8} {fmt(ratio, '.2f'):>6} {fmt(row['total'], '.1f'):>8} "
        f"{fmt(row['rss_mb'], '.0f'):>8} {row['status']:12} {fmt(row.get('objective')):>12} "
        f"{fmt(row.get('bound')):>12} {fmt((greedy or {}).get('objective')):>12} "
        f"{versus:>8} {checked:>7}"
    )
    notes = [row.get("message") or "", *(row.get("violations") or [])]
    note = "; ".join(n for n in notes if n)
    return text + (f"  [{note[:100]}]" if note else "")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=3.0, help="time limit of every solve()")
    ap.add_argument("--timeout", type=float, default=180.0, help="kill a child after (s)")
    ap.add_argument("--mem-gb", type=float, default=8.0, help="address-space cap per child")
    ap.add_argument("--nodes", type=int, default=10_000, help="size of the generated instance")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--instances", default="rgg-2000,rgg-10000,qirce-2000u,qirce-10000u")
    args = ap.parse_args()

    from daitn_opt.registry import solvers

    kinds = [k for k in args.kinds.split(",") if k]
    wanted = [i for i in args.instances.split(",") if i]
    print(
        f"time limit {args.limit:g} s; each run in its own process, killed after "
        f"{args.timeout:g} s, address space capped at {args.mem_gb:g} GB",
        flush=True,
    )
    print(HEADER, flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="daitn-time-limits-") as tmp:
        for inst in wanted:
            if inst == "rgg-2000":
                path, inst_kinds = str(ROOT / "instances" / "rgg-2000.json"), kinds
            else:
                family, size = ("rgg", args.nodes) if inst.startswith("rgg") else ("qirce", 0)
                if family == "qirce":
                    size = int(inst.removeprefix("qirce-").removesuffix("u"))
                path = os.path.join(tmp, f"{inst}.json")
                gen = run_child(
                    ["generate", family, path, str(size), str(args.seed)],
                    4 * args.timeout,
                    args.mem_gb,
                )
                if "seconds" not in gen:
                    print(f"{inst}: generation failed: {gen.get('message')}", flush=True)
                    continue
                inst_kinds = kinds if family == "rgg" else [k for k in kinds if k == "qirce"]
            for kind in inst_kinds:
                pkl = os.path.join(tmp, f"{inst}-{kind}.pkl")
                prep = run_child(["prepare", kind, path, pkl], 2 * args.timeout, args.mem_gb)
                if "seconds" not in prep:
                    print(f"{inst:10} {kind:7} problem not built: {prep.get('message')}")
                    continue
                specs = solvers(kind)[kind]
                names = ["greedy", *sorted(n for n, s in specs.items() if s.exact)]
                greedy = None
                for name in names:
                    row = run_child(
                        ["solve", pkl, name, str(args.limit), str(args.seed)],
                        args.timeout,
                        args.mem_gb,
                    )
                    if name == "greedy":
                        greedy = row
                    if row["status"] != "unsupported":
                        versus = at_least_as_good(row, greedy)
                        rows.append(row | {"exact": name != "greedy", "versus": versus})
                    print(line(inst, kind, prep, name, row, greedy, args.limit), flush=True)
                os.unlink(pkl)
    exact = [r for r in rows if r["exact"]]
    late = [r for r in exact if r.get("wall") is None or r["wall"] > 1.2 * args.limit]
    bad = [r for r in exact if r.get("checked") is not True]
    worse = [r for r in exact if r.get("versus") == "NO"]
    print(
        f"\nexact runs: {len(exact)}; over 1.2 x limit or killed/crashed: {len(late)}; "
        f"without a checked solution: {len(bad)}; checked but worse than greedy: {len(worse)}",
        flush=True,
    )


if __name__ == "__main__":
    main()
