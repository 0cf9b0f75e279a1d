"""Dask for K-AS: the legs of one request, or the requests of a batch, as Dask tasks.

The legs of a planned request are independent once the domain level has fixed their entries,
exits and time windows, and the requests of a batch are independent of each other, so both can
run at once. :func:`cluster` opens a ``distributed.Client`` (a ``LocalCluster`` of
single-thread worker processes, or the scheduler of a real cluster) and :func:`dask_runner`
turns a client into the ``runner`` that :func:`daitn_opt.kas.solve_hierarchical` and
:func:`daitn_opt.kas.batch.solve_batch` take: ``runner(fn, jobs)`` returns ``[fn(*job) ...]``
in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..errors import InputError

Runner = Callable[[Callable[..., Any], Sequence[tuple]], list]
"""Runs ``fn(*args)`` for every args tuple and returns the results in order."""


def in_order(fn: Callable[..., Any], jobs: Sequence[tuple]) -> list:
    """The runner without Dask: every job in this process, one after the other."""
    return [fn(*job) for job in jobs]


def dask_runner(client: Any) -> Runner:
    """A runner that submits every job to ``client`` and gathers the results in order."""

    def run(fn: Callable[..., Any], jobs: Sequence[tuple]) -> list:
        # pure=False: two jobs with equal arguments are still two solves.
        futures = [client.submit(fn, *job, pure=False) for job in jobs]
        return client.gather(futures)

    return run


def warm(client: Any) -> None:
    """Import the solvers on every worker of ``client`` before anything is timed: a fresh
    worker imports them when it unpickles its first task (seconds), which would otherwise eat
    into the first legs' time limits."""
    import importlib

    client.run(importlib.import_module, "daitn_opt.mtrce")


def connect(scheduler: str) -> Any:
    """A ``distributed.Client`` of the scheduler at ``scheduler`` (``tcp://host:8786``): the
    bench's, so that both report an unreachable scheduler the same way."""
    from ..bench.sweep import connect as bench_connect

    return bench_connect(scheduler)


@contextmanager
def cluster(workers: int = 1, scheduler: str | None = None) -> Iterator[Any]:
    """A client of ``scheduler`` when given, else of a ``LocalCluster`` of ``workers``
    single-thread worker processes (closed on exit).

    One thread per worker: the solvers hold the GIL, so a second thread in a worker would only
    share its core; processes give each task its own interpreter.
    """
    if scheduler:
        client = connect(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError("--workers", workers, "expected an integer >= 1")
    from distributed import Client, LocalCluster

    local = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    try:
        with Client(local) as client:
            yield client
    finally:
        local.close()
