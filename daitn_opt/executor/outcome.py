"""What a replay measured: a per-hop (or per-round) trace and a summary, as JSON and CSV.

The trace is what a plot is made of (accuracy over simulated time); the summary is one row of a
comparison table (final accuracy, time to a target accuracy, bytes moved, deadline met). Wall-clock
figures are kept apart from the simulated clock and excluded from :meth:`Outcome.fingerprint`, so
that "same seed, same trace" can be checked bit for bit.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..io import json_safe


@dataclass(frozen=True, slots=True)
class Step:
    """One row of the trace: a hop, a training visit, a skip, a round or a checkpoint.

    Attributes
    ----------
    time
        Simulated seconds since the replay started, at the end of this step.
    node
        The node where the step happened (``"*"`` for a federated round).
    action
        ``start``, ``train``, ``skip``, ``round``, ``verify``, ``event`` or ``stop``.
    loss
        Mean training loss of the step (nan when nothing was trained).
    accuracy
        Test accuracy at the MPVU after the step (nan when not evaluated).
    bytes
        Bytes of model weights moved by this step.
    utility
        Utility collected so far (the view's utility of the nodes trained at).
    samples
        Samples trained on in this step (times epochs).
    note
        Why a node was skipped, which event happened, and so on.
    """

    time: float
    node: str
    action: str
    loss: float = math.nan
    accuracy: float = math.nan
    bytes: int = 0
    utility: float = 0.0
    samples: int = 0
    note: str = ""


@dataclass
class Summary:
    """Headline figures of one replay."""

    final_accuracy: float
    time_to_target: float | None
    """Simulated seconds until test accuracy first reached ``target_accuracy`` (None: never)."""
    target_accuracy: float
    bytes_moved: int
    finish_time: float
    """Simulated seconds when the model was back and verified (or the replay stopped)."""
    deadline: float | None
    deadline_met: bool
    utility_collected: float
    planned_utility: float
    visited: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    wall_time: float = 0.0
    """Wall-clock seconds of the whole replay (contention inflates it on a shared machine)."""
    train_wall_time: float = 0.0
    """Wall-clock seconds inside training and evaluation."""
    overhead_per_step_ms: float = 0.0
    """Wall-clock milliseconds per step spent outside training and evaluation."""
    samples_per_second: float = 0.0
    """Training throughput on the wall clock."""


@dataclass
class Outcome:
    """A replay's trace and summary, with the label it is plotted under.

    Attributes
    ----------
    label
        Name in plots and tables.
    mode
        ``sequential`` or ``federated``.
    trace
        The steps, in time order.
    summary
        Headline figures (:class:`Summary`).
    policy, seed
        The policy that chose the hops (``fedavg`` for FedAvg) and the replay's seed.
    notes
        What the replay wants a reader to know (skips, re-plans, data added, the ceiling).

    Examples
    --------
    >>> trace = [Step(0.0, "s", "start", accuracy=0.5), Step(10.0, "a", "train", accuracy=0.8)]
    >>> out = Outcome("plan", "sequential", trace, Summary(0.8, 10.0, 0.8, 0, 10.0, 20.0, True,
    ...                                                    1.0, 1.0))
    >>> out.curve()
    ([0.0, 10.0], [0.5, 0.8])
    >>> print(out.to_csv().splitlines()[1])
    plan,0.0,s,start,,0.5,0,0.0,0,
    """

    label: str
    mode: str
    trace: list[Step]
    summary: Summary
    policy: str = "static"
    seed: int = 0
    notes: list[str] = field(default_factory=list)

    # -- views --------------------------------------------------------------------------------
    def curve(self) -> tuple[list[float], list[float]]:
        """(simulated times, accuracies) of the evaluated steps, for plotting."""
        pts = [(s.time, s.accuracy) for s in self.trace if not math.isnan(s.accuracy)]
        return [p[0] for p in pts], [p[1] for p in pts]

    def fingerprint(self) -> str:
        """The trace and the simulated summary as text, without wall-clock figures.

        Two replays with the same inputs and seed give equal fingerprints (floats are printed
        with ``repr``, so equality is bit for bit).
        """
        rows = [tuple(repr(v) for v in asdict(s).values()) for s in self.trace]
        sim = {
            k: v
            for k, v in asdict(self.summary).items()
            if k
            not in {"wall_time", "train_wall_time", "overhead_per_step_ms", "samples_per_second"}
        }
        return json.dumps({"trace": rows, "summary": repr(sim)})

    # -- output -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return json_safe(
            {
                "label": self.label,
                "mode": self.mode,
                "policy": self.policy,
                "seed": self.seed,
                "summary": asdict(self.summary),
                "trace": [asdict(s) for s in self.trace],
                "notes": list(self.notes),
            }
        )

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_csv(self) -> str:
        """The trace as CSV, one row per step, with a header; empty cells for nan."""
        buf = io.StringIO()
        names = [f.name for f in fields(Step)]
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["label", *names])
        for s in self.trace:
            row = [getattr(s, n) for n in names]
            writer.writerow(
                [self.label, *("" if isinstance(v, float) and math.isnan(v) else v for v in row)]
            )
        return buf.getvalue()

    def save(self, directory: str | Path, stem: str | None = None) -> list[Path]:
        """Write ``<stem>.json`` and ``<stem>.csv`` into ``directory``; return the paths."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        stem = stem or _slug(self.label)
        paths = [out / f"{stem}.json", out / f"{stem}.csv"]
        paths[0].write_text(self.to_json() + "\n", encoding="utf-8")
        paths[1].write_text(self.to_csv(), encoding="utf-8")
        return paths


def time_to_target(trace: list[Step], target: float) -> float | None:
    """Simulated time of the first step whose test accuracy reached ``target`` (None: never).

    Examples
    --------
    >>> trace = [Step(0.0, "s", "start", accuracy=0.5), Step(10.0, "a", "train", accuracy=0.9)]
    >>> time_to_target(trace, 0.9), time_to_target(trace, 0.95)
    (10.0, None)
    """
    for s in trace:
        if not math.isnan(s.accuracy) and s.accuracy >= target:
            return s.time
    return None


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text).strip("-") or "outcome"
