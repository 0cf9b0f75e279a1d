"""Running the legs of one request on Dask: each domain's control centre as a Dask task.

The legs of a planned request are independent once the domain level has fixed their entries,
exits and time windows, so they can run at once; :func:`dask_runner` turns a
``distributed.Client`` into the ``runner`` of :func:`daitn_opt.kas.solve_hierarchical`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import InputError


def dask_runner(client: Any) -> Callable[[Callable[..., Any], Sequence[tuple]], list]:
    """A runner that submits every leg to ``client`` and gathers the routes in order."""

    def run(fn: Callable[..., Any], jobs: Sequence[tuple]) -> list:
        # pure=False: two legs with equal arguments are still two solves.
        futures = [client.submit(fn, *job, pure=False) for job in jobs]
        return client.gather(futures)

    return run


def connect(scheduler: str) -> Any:
    """A ``distributed.Client`` of the scheduler at ``scheduler`` (``tcp://host:8786``)."""
    from distributed import Client

    try:
        return Client(scheduler, timeout="10s")
    except (OSError, ValueError, TypeError) as exc:  # unreachable, refused, malformed address
        reason = " ".join(str(exc).split()) or exc.__class__.__name__
        raise InputError("--scheduler", scheduler, f"cannot connect: {reason}") from None
