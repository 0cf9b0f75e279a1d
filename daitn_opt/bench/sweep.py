"""Benchmark sweeps: every (instance, solver, seed) run with its time limit, checked, and stored.

Each run executes in a child process (forked from a server that has the solver libraries already
imported), so a solver that crashes becomes an ``error`` row and one that hangs past its limit
plus a grace period is killed and becomes a ``timeout`` row; the sweep goes on. The parent is the
only writer of the results store and commits each row as it arrives, so an interrupted sweep loses
no finished row and a rerun with the same arguments runs only what is missing.

Runs go to local worker processes by default, or to a Dask ``distributed`` cluster when a
scheduler address is given; both paths call the same :func:`run_isolated`.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import InputError
from .store import ResultsStore

GRACE_SECONDS = 15.0
"""Extra seconds a run may take beyond its time limit (model building, checking) before it is killed."""


@dataclass(frozen=True)
class Task:
    """One run of a sweep."""

    instance_file: str
    problem: str
    solver: str
    seed: int
    time_limit: float
    threads: int = 1
    request: str | None = None
    digest: str = ""
    """Content hash of the instance file: part of the key, so an edited file is rerun."""

    @property
    def key(self) -> str:
        parts = [
            Path(self.instance_file).name,
            self.digest,
            self.problem,
            self.solver,
            str(self.seed),
            f"{self.time_limit:g}",
            str(self.threads),
            self.request or "",
        ]
        return "|".join(parts)


def file_digest(path: str | Path) -> str:
    try:
        return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:12]
    except OSError:
        raise InputError("instance", str(path), "cannot be read") from None


def plan_tasks(
    files: Sequence[str | Path],
    problem: str,
    solvers: Sequence[str],
    seeds: Sequence[int],
    time_limit: float,
    threads: int = 1,
    request: str | None = None,
) -> list[Task]:
    """All runs of a sweep, in a fixed order (instance, solver, seed)."""
    from ..registry import solvers as registered

    if not files:
        raise InputError("instances", [], "no instance file given")
    known = registered(problem)[problem]
    for name in solvers:
        if name not in known:
            raise InputError("solvers", name, f"unknown for {problem}; registered: {sorted(known)}")
    if not time_limit > 0:
        raise InputError("time_limit", time_limit, "must be positive")
    tasks = []
    for f in files:
        digest = file_digest(f)
        for solver in solvers:
            for seed in seeds:
                tasks.append(
                    Task(
                        str(f),
                        problem,
                        solver,
                        int(seed),
                        float(time_limit),
                        threads,
                        request,
                        digest,
                    )
                )
    return tasks


def _solver_version(solver: str) -> str:
    import daitn_opt

    try:
        if solver in ("cpsat", "routing"):
            import ortools

            return f"ortools {ortools.__version__}"
        if solver == "highs":
            import highspy

            return f"highspy {highspy.Highs().version()}"
        if solver == "pyomo":
            import pyomo.version

            return f"pyomo {pyomo.version.version}"
    except Exception:  # a version lookup never fails a run
        pass
    return f"daitn-opt {daitn_opt.__version__}"


def run_task(task: Task) -> dict[str, Any]:
    """Run one task in this process and return its row (never raises for solver failures)."""
    from ..drrt.instance import load_instance
    from ..problems import check_result, problem_from_instance
    from ..registry import get_solver, solve

    load = os.getloadavg()[0]
    row: dict[str, Any] = {
        **{k: v for k, v in asdict(task).items() if k not in ("request", "digest")},
        "key": task.key,
        "instance": Path(task.instance_file).stem,
        "load_at_start": load,
        "host": socket.gethostname(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "solver_version": _solver_version(task.solver),
    }
    t0 = time.perf_counter()
    try:
        inst = load_instance(task.instance_file)
        row["instance"] = inst.name
        bench = inst.benchmark
        row["family"] = bench.family if bench else inst.metadata.get("family", "generated")
        row["best_known"] = bench.best_known if bench else None
        row["best_known_proven"] = int(bench.proven_optimal) if bench else 0
        problem = problem_from_instance(task.problem, inst, task.request)
        row["size"] = int(getattr(problem, "n", 0) or inst.snapshot.num_nodes)
        row["exact"] = int(get_solver(task.problem, task.solver).exact)
        result = solve(
            problem, task.solver, time_limit=task.time_limit, seed=task.seed, threads=task.threads
        )
    except Exception as exc:
        row.update(status="error", message=f"{exc.__class__.__name__}: {exc}")
        row["wall"] = time.perf_counter() - t0
        return row
    row.update(
        status=result.status.value,
        sense=result.sense,
        objective=result.objective,
        bound=result.bound,
        gap=result.gap,
        runtime=result.runtime,
        time_to_first=result.time_to_first(),
        primal_integral=result.primal_integral(reference=row["best_known"]),
        message=result.message,
        trace=[[p.time, p.incumbent, p.bound] for p in result.trace],
    )
    best = row["best_known"]
    if best is not None and result.objective is not None:
        diff = result.objective - best if result.sense == "min" else best - result.objective
        row["gap_to_best"] = diff / max(abs(best), 1e-9)
    if result.status.has_solution:
        try:
            report = check_result(problem, result)
            row["check_ok"] = int(report.ok)
            row["violations"] = report.violations
        except Exception as exc:
            row["check_ok"] = 0
            row["violations"] = [f"checker failed: {exc.__class__.__name__}: {exc}"]
    row["wall"] = time.perf_counter() - t0
    return row


def _child(task: Task, conn: Any) -> None:
    try:
        conn.send(run_task(task))
    finally:
        conn.close()


_CTX: Any = None
_RUNNING: set[Any] = set()
_RUNNING_LOCK = threading.Lock()


def _context() -> Any:
    global _CTX
    if _CTX is None:
        _CTX = mp.get_context("forkserver")
        _CTX.set_forkserver_preload(
            ["daitn_opt.mtrce", "daitn_opt.tfam", "daitn_opt.qirce", "daitn_opt.bench.sweep"]
        )
    return _CTX


def run_isolated(task: Task, grace: float = GRACE_SECONDS) -> dict[str, Any]:
    """Run ``task`` in a child process; a crash or a hang becomes an error/timeout row.

    Inside a daemonic process (some Dask workers), children are not allowed: the run happens in
    process and relies on the solver's own time limit.
    """
    if mp.current_process().daemon:
        return run_task(task)
    ctx = _context()
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(task, send), daemon=False)
    t0 = time.perf_counter()
    proc.start()
    send.close()
    with _RUNNING_LOCK:
        _RUNNING.add(proc)
    try:
        row = None
        if recv.poll(task.time_limit + grace):
            try:
                row = recv.recv()
            except EOFError:
                row = None
        proc.join(timeout=5)
        if row is not None:
            return row
        hung = proc.is_alive()
        if hung:
            proc.kill()
            proc.join()
        return {
            **{k: v for k, v in asdict(task).items() if k not in ("request", "digest")},
            "key": task.key,
            "instance": Path(task.instance_file).stem,
            "status": "timeout" if hung else "error",
            "message": (
                f"killed after {task.time_limit + grace:g} s (limit {task.time_limit:g} s)"
                if hung
                else f"worker died with exit code {proc.exitcode}"
            ),
            "wall": time.perf_counter() - t0,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "host": socket.gethostname(),
        }
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(proc)
        recv.close()


def _kill_running() -> None:
    with _RUNNING_LOCK:
        for proc in list(_RUNNING):
            if proc.is_alive():
                proc.kill()


@dataclass
class SweepSummary:
    planned: int
    skipped: int
    ran: int
    wall: float


def run_sweep(
    tasks: Iterable[Task],
    store: ResultsStore,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    grace: float = GRACE_SECONDS,
) -> SweepSummary:
    """Run every task whose key is not in ``store``; store each row as it finishes.

    Parameters
    ----------
    tasks
        From :func:`plan_tasks`.
    store
        The results store (rows are committed one by one).
    workers
        Local runs at a time (ignored with ``scheduler``).
    scheduler
        Address of a Dask distributed scheduler (``tcp://host:8786``), or a ``distributed.Client``.
    on_row
        Called with each stored row (progress display).
    """
    tasks = list(tasks)
    done = store.done_keys()
    todo = [t for t in tasks if t.key not in done]
    t0 = time.perf_counter()

    def finish(row: dict[str, Any]) -> None:
        store.insert(row)
        if on_row is not None:
            on_row(row)

    if scheduler is not None:
        _run_dask(todo, scheduler, finish, grace)
    else:
        if workers < 1:
            raise InputError("workers", workers, "must be at least 1")
        pool = ThreadPoolExecutor(max_workers=workers)
        pending: set[Future] = set()
        queue = list(reversed(todo))
        try:
            while queue or pending:
                while queue and len(pending) < workers:
                    pending.add(pool.submit(run_isolated, queue.pop(), grace))
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    finish(fut.result())
        except BaseException:
            _kill_running()
            for fut in pending:
                fut.cancel()
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
    return SweepSummary(len(tasks), len(tasks) - len(todo), len(todo), time.perf_counter() - t0)


def _run_dask(todo: list[Task], scheduler: Any, finish: Callable, grace: float) -> None:
    from distributed import Client, as_completed

    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler
    try:
        futures = client.map(run_isolated, todo, grace=grace, pure=False)
        for fut in as_completed(futures):
            finish(fut.result())
    finally:
        if own:
            client.close()
