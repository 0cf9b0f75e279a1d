"""Benchmark sweeps: every (instance, solver, seed) run with its time limit, checked, and stored.

Each run executes in a child process (forked from a server that has the solver libraries already
imported), so a solver that crashes becomes an ``error`` row and one that hangs past its limit
plus a grace period is killed and becomes a ``timeout`` row; the sweep goes on. The parent is the
only writer of the results store and commits each row as it arrives, so an interrupted sweep loses
no finished row and a rerun with the same arguments runs only what is missing, or ended in an
error or a kill without a solution (:data:`~daitn_opt.bench.store.RETRY_STATUSES`; the new row
replaces the old one).

Runs go to local worker processes by default, or to a Dask ``distributed`` cluster when a
scheduler address is given; both paths call the same :func:`run_isolated`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import multiprocessing as mp
import os
import queue
import socket
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
    params: tuple[tuple[str, str], ...] = ()
    """Solver parameters as (key, text) pairs, sorted; part of the key when given."""

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
        if self.params:  # runs without parameters keep the keys stores already hold
            parts.append(";".join(f"{k}={v}" for k, v in self.params))
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
    params: dict[str, str] | None = None,
) -> list[Task]:
    """All runs of a sweep, in a fixed order (instance, solver, seed).

    ``params`` (text values, as ``--param`` gives them) go to every solver of the sweep; each
    solver's parameter class must accept them (checked here, before any run).
    """
    from ..params import parse_params
    from ..registry import solvers as registered

    if not files:
        raise InputError("instances", [], "no instance file given")
    known = registered(problem)[problem]
    for name in solvers:
        if name not in known:
            raise InputError("solvers", name, f"unknown for {problem}; registered: {sorted(known)}")
    if not time_limit > 0:
        raise InputError("time_limit", time_limit, "must be positive")
    pairs = tuple(sorted((str(k), str(v)) for k, v in (params or {}).items()))
    for name in solvers:
        parse_params(known[name].params, dict(pairs), solver=name)
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
                        pairs,
                    )
                )
    return tasks


_BACKEND_PACKAGES = {"highs": "highspy", "cpsat": "ortools", "routing": "ortools", "pyomo": "pyomo"}
"""Exact backends named by suffix (``highs``, ``coverage-highs``, ``tag-highs``) that register
without naming their package."""


def _solver_version(problem: str, solver: str) -> str:
    """Version of the distribution behind ``solver``: what it registered, else its backend's."""
    from ..registry import get_solver

    try:
        package = get_solver(problem, solver).package
    except InputError:  # reported by the run itself, with the list of known solvers
        return "unknown"
    if package == "daitn-opt":
        package = _BACKEND_PACKAGES.get(solver.rsplit("-", 1)[-1], package)
    try:
        return f"{package} {importlib.metadata.version(package)}"
    except importlib.metadata.PackageNotFoundError:
        return package


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
        "solver_version": _solver_version(task.problem, task.solver),
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
        row["size"] = int(problem.size)
        row["exact"] = int(get_solver(task.problem, task.solver).exact)
        result = solve(
            problem,
            task.solver,
            time_limit=task.time_limit,
            seed=task.seed,
            threads=task.threads,
            **dict(task.params),
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


def _serve(conn: Any) -> None:
    """Worker loop: run each task received on ``conn`` and send its row back, until EOF."""
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the parent is gone or closed the pipe
            return
        conn.send(run_task(task))


_CTX: Any = None


def _context() -> Any:
    global _CTX
    if _CTX is None:
        _CTX = mp.get_context("forkserver")
        _CTX.set_forkserver_preload(
            ["daitn_opt.mtrce", "daitn_opt.tfam", "daitn_opt.qirce", "daitn_opt.bench.sweep"]
        )
    return _CTX


def _first_context() -> Any:
    methods = mp.get_all_start_methods()
    return mp.get_context("fork") if "fork" in methods else _context()


def _failure_row(task: Task, status: str, message: str, wall: float) -> dict[str, Any]:
    return {
        **{k: v for k, v in asdict(task).items() if k not in ("request", "digest")},
        "key": task.key,
        "instance": Path(task.instance_file).stem,
        "status": status,
        "message": message,
        "wall": wall,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
    }


class Worker:
    """A reusable child process that runs tasks one at a time.

    Starting a process per run costs about a tenth of a second (measured here), which is most of
    a short run's overhead; a worker is started once and reused, and only replaced when its run
    crashed it or hung past the limit plus ``grace`` (then it is killed).
    """

    def __init__(self) -> None:
        self._proc: Any = None
        self._conn: Any = None

    def start(self, ctx: Any = None) -> None:
        """Start the process (from the forkserver unless another context is given)."""
        ctx = ctx or _context()
        parent, child = ctx.Pipe(duplex=True)
        self._proc = ctx.Process(target=_serve, args=(child,), daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent

    def _stop(self, kill: bool) -> int | None:
        if self._proc is None:
            return None
        if kill and self._proc.is_alive():
            self._proc.kill()
        self._conn.close()
        self._proc.join(timeout=5)
        code = self._proc.exitcode
        self._proc = self._conn = None
        return code

    def close(self) -> None:
        self._stop(kill=True)

    def run(self, task: Task, grace: float = GRACE_SECONDS) -> dict[str, Any]:
        """Run ``task``; a crash is an ``error`` row, a hang a ``timeout`` row."""
        if self._proc is None or not self._proc.is_alive():
            self._stop(kill=True)
            self.start()
        t0 = time.perf_counter()
        self._conn.send(task)
        if self._conn.poll(task.time_limit + grace):
            try:
                return self._conn.recv()
            except (EOFError, OSError):
                code = self._stop(kill=False)
                return _failure_row(
                    task, "error", f"worker died with exit code {code}", time.perf_counter() - t0
                )
        self._stop(kill=True)
        message = f"killed after {task.time_limit + grace:g} s (limit {task.time_limit:g} s)"
        return _failure_row(task, "timeout", message, time.perf_counter() - t0)


def run_isolated(task: Task, grace: float = GRACE_SECONDS) -> dict[str, Any]:
    """Run ``task`` in a fresh child process (the Dask path); crash/hang rows as in :class:`Worker`.

    Inside a daemonic process (some Dask workers), children are not allowed: the run happens in
    process and relies on the solver's own time limit.
    """
    if mp.current_process().daemon:
        return run_task(task)
    worker = Worker()
    try:
        return worker.run(task, grace)
    finally:
        worker.close()


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
    """Run every task without a finished row in ``store`` (none yet, or an error or timeout row
    without a solution, which is retried); store each row as it finishes.

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
        idle: queue.SimpleQueue[Worker] = queue.SimpleQueue()
        pool_workers = [Worker() for _ in range(min(workers, max(1, len(todo))))]
        for w in pool_workers:
            # Forked from this thread before any pool thread exists: no start-up cost, since the
            # solver libraries are already imported; replacements come from the forkserver.
            w.start(_first_context())
            idle.put(w)

        def run_on_worker(task: Task) -> dict[str, Any]:
            w = idle.get()
            try:
                return w.run(task, grace)
            finally:
                idle.put(w)

        pool = ThreadPoolExecutor(max_workers=len(pool_workers))
        pending: set[Future] = set()
        waiting = list(reversed(todo))
        try:
            while waiting or pending:
                while waiting and len(pending) < len(pool_workers):
                    pending.add(pool.submit(run_on_worker, waiting.pop()))
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    finish(fut.result())
        finally:
            for fut in pending:
                fut.cancel()
            for w in pool_workers:
                w.close()
            pool.shutdown(wait=False, cancel_futures=True)
    return SweepSummary(len(tasks), len(tasks) - len(todo), len(todo), time.perf_counter() - t0)


def connect(scheduler: str) -> Any:
    """A ``distributed.Client`` of the scheduler at ``scheduler`` (``tcp://host:8786``)."""
    from distributed import Client

    try:
        return Client(scheduler, timeout="10s")
    except (OSError, ValueError, TypeError) as exc:  # unreachable, refused, malformed address
        reason = " ".join(str(exc).split()) or exc.__class__.__name__
        raise InputError("--scheduler", str(scheduler), f"cannot connect: {reason}") from None


def _run_dask(todo: list[Task], scheduler: Any, finish: Callable, grace: float) -> None:
    from distributed import Client, as_completed

    own = not isinstance(scheduler, Client)
    client = connect(scheduler) if own else scheduler
    try:
        futures = client.map(run_isolated, todo, grace=grace, pure=False)
        for fut in as_completed(futures):
            finish(fut.result())
    finally:
        if own:
            client.close()
