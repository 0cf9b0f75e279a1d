"""A batch of requests on Dask: every request of one snapshot solved by a registered solver.

A control centre receives many requests against the same snapshot; they are independent, so
they can be planned at once on the workers of a cluster. Shipping each request's view would
move ``n x n`` transfer times per request (about 2 GB for a 10,000-node corridor), so a task
carries only the instance path and the request id: the worker reads the snapshot (once per
worker process, cached), builds the request's view and problem itself, solves it, checks the
result with the problem's own checker, and returns the result document with the check's
verdict. The instance file must therefore be readable at the same path on every worker (a
``LocalCluster``, or a shared file system on a real cluster).

:func:`solve_batch` is the API; ``daitn-opt batch`` (:mod:`.commands`) its command.
"""

from __future__ import annotations

import functools
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from .parallel import Runner, in_order


@dataclass(frozen=True)
class BatchSpec:
    """What to solve for each request of a batch (the same for every request)."""

    problem: str = "mtrce"
    solver: str = "kas"
    time_limit: float = 10.0
    """Seconds per request, covering its view and its solve (as ``daitn-opt solve``)."""
    seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    max_nodes: int | None = None
    """View cap per request (needed above 25,000 nodes)."""


@dataclass
class BatchReport:
    """The results of a batch, in the order of its requests, and its wall seconds."""

    instance: str
    spec: BatchSpec
    results: list[dict[str, Any]]
    wall: float

    @property
    def checked(self) -> int:
        """Requests whose result the checker accepted."""
        return sum(1 for r in self.results if r["checked"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "problem": self.spec.problem,
            "solver": self.spec.solver,
            "time_limit": self.spec.time_limit,
            "seed": self.spec.seed,
            "params": self.spec.params,
            "max_nodes": self.spec.max_nodes,
            "wall": round(self.wall, 3),
            "checked": self.checked,
            "results": self.results,
        }


@functools.lru_cache(maxsize=1)
def _cached(path: str, stamp: tuple[int, int]) -> Any:
    # One snapshot per worker process: a 100,000-node file takes seconds to read and validate,
    # and every request of the batch uses the same one. ``stamp`` makes an edited file a miss.
    from ..drrt.instance import load_instance

    return load_instance(path)


def worker_instance(path: str) -> Any:
    """The instance at ``path``, read once per process while the file is unchanged."""
    try:
        info = os.stat(path)
    except OSError:
        raise InputError("instance", path, "cannot be read") from None
    return _cached(path, (info.st_mtime_ns, info.st_size))


def request_ids(path: str) -> tuple[str, list[str]]:
    """The instance's name and its request ids, in file order (runs where the snapshot is read)."""
    inst = worker_instance(path)
    return inst.name, [r.id for r in inst.requests]


def solve_request(path: str, request: str, spec: BatchSpec) -> dict[str, Any]:
    """Solve one request of the instance at ``path`` in this process and check the result.

    Returns the result document (``Result.to_dict``) with ``checked`` (the checker accepted a
    solution), ``violations``, ``setup_seconds`` (reading, view, problem), ``wall`` and
    ``worker`` (host:pid). A failure of the solve is a row with status ``error`` and its message,
    so that one request does not sink the batch.
    """
    from ..problems import check_result, problem_from_instance
    from ..registry import solve

    started = time.perf_counter()
    row: dict[str, Any] = {"request": request, "worker": f"{socket.gethostname()}:{os.getpid()}"}
    try:
        inst = worker_instance(path)
        problem = problem_from_instance(
            spec.problem, inst, request, time_limit=spec.time_limit / 2, max_nodes=spec.max_nodes
        )
        setup = time.perf_counter() - started
        # As `daitn-opt solve`: the limit covers the setup; a used-up limit still leaves a sliver.
        budget = max(spec.time_limit - setup, min(0.1 * spec.time_limit, 1.0))
        result = solve(problem, spec.solver, time_limit=budget, seed=spec.seed, **spec.params)
        report = check_result(problem, result)
    except Exception as exc:
        row.update(
            status="error",
            message=f"{exc.__class__.__name__}: {exc}",
            checked=False,
            violations=[],
            wall=round(time.perf_counter() - started, 3),
        )
        return row
    result.time_limit = spec.time_limit
    result.instance, result.request = inst.name, request
    row.update(result.to_dict())
    row.update(
        checked=bool(result.status.has_solution and report.ok),
        violations=report.violations,
        setup_seconds=round(setup, 3),
        wall=round(time.perf_counter() - started, 3),
    )
    return row


def solve_batch(
    path: str | Path,
    spec: BatchSpec,
    requests: list[str] | None = None,
    runner: Runner | None = None,
) -> BatchReport:
    """Solve ``requests`` (default: every request) of the instance at ``path``, one task each.

    Parameters
    ----------
    path : str or Path
        Instance file, readable by every worker at this path.
    spec : BatchSpec
        Problem kind, solver, limit per request, seed, solver parameters, view cap.
    requests : list of str, optional
        Request ids (each once); None takes all of the instance's.
    runner : callable, optional
        :func:`daitn_opt.kas.parallel.dask_runner` of a client; None solves in this process, one
        request after the other.

    Raises
    ------
    InputError
        The file cannot be read, the solver or a parameter is unknown, a request id is not in
        the instance or given twice, the instance has no request, or the limit is not positive.
    """
    _check_spec(spec)
    run = runner or in_order
    path = str(Path(path).resolve())
    if not Path(path).is_file():
        raise InputError("instance", path, "no such file")
    started = time.perf_counter()
    # The ids are read where the requests are solved: the parent never loads a large snapshot.
    ((name, known),) = run(request_ids, [(path,)])
    chosen = _chosen(requests, known)
    results = run(solve_request, [(path, r, spec) for r in chosen])
    return BatchReport(name, spec, results, time.perf_counter() - started)


def _check_spec(spec: BatchSpec) -> None:
    from ..params import parse_params
    from ..registry import get_solver

    if not spec.time_limit > 0:
        raise InputError("time_limit", spec.time_limit, "must be positive")
    found = get_solver(spec.problem, spec.solver)  # an unknown solver fails before any task
    parse_params(found.params, dict(spec.params), solver=spec.solver)


def _chosen(requests: list[str] | None, known: list[str]) -> list[str]:
    if not known:
        raise InputError("requests", [], "the instance has no request")
    if requests is None:
        return list(known)
    if len(set(requests)) != len(requests):
        raise InputError("--request", requests, "a request id is given twice")
    missing = [r for r in requests if r not in known]
    if missing:
        raise InputError("--request", missing[0], f"not in the instance; requests: {known[:10]}")
    return list(requests)
