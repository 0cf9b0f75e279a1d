"""``daitn-opt paper routing``: every routing table of issue 13, from one resumable bench sweep.

The problem: issue 13's tables (orienteering, OPLib, TSPLIB, OPTW) compare the MTRCE solvers
with the reference values and with PyVRP and LKH measured in the same run, on the full sets. This
module converts every file of :data:`~.families.FAMILIES` once, plans one bench task per
(instance, solver leg, seed) with the leg's time limit, and runs them through
:func:`daitn_opt.bench.sweep.run_sweep` into one store: each run in a child process, each route
checked by the independent MTRCE checker, each row committed as it finishes, so a rerun runs
only what is missing. Heuristic legs run first (the exact proofs at 60 s are the long tail), in
small chunks, so that a run given ``until`` stops starting work that cannot finish in time; what
did not run is listed on each page. ``--quick`` runs a stratified subset at short limits.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ...bench.store import ResultsStore
from ...bench.sweep import GRACE_SECONDS, Task, plan_tasks, run_sweep
from ...errors import InputError
from .families import FAMILIES, ROOT, Family, quick_subset, size

QUICK_HEURISTIC = 1.0
"""Seconds per heuristic run in ``--quick``."""
QUICK_EXACT = 5.0
"""Seconds per exact run in ``--quick``."""
PACKAGES = ("daitn-opt", "pyvrp", "elkai", "highspy", "ortools")


@dataclass(frozen=True)
class Settings:
    """What one invocation runs."""

    quick: bool = False
    seeds: tuple[int, ...] = (0,)
    time_limit: float | None = None
    """Replaces every leg's limit when given."""
    workers: int = 1
    families: tuple[str, ...] = tuple(f.name for f in FAMILIES)
    until: float | None = None
    """Wall-clock time (``time.time()``) after which no run is started that would end later."""
    report_only: bool = False


@dataclass(frozen=True)
class Planned:
    """A task with what the pages need to place it (family, group, size)."""

    task: Task
    family: str
    group: str
    n: int
    exact: bool


@dataclass
class Outcome:
    """What :func:`run` did: the plan, the rows found for it, and where things are."""

    planned: list[Planned]
    rows: list[dict]
    store: Path
    info: dict = field(default_factory=dict)


def store_dir(out: Path, quick: bool) -> Path:
    """Where the store and the converted files live.

    The paper's own folder (``papers/routing``) keeps its store under the repository's ``out/``
    (not committed); any other output folder keeps it inside, under ``store/``.
    """
    kind = "quick" if quick else "full"
    if out.resolve() == (ROOT / "papers" / "routing").resolve():
        return ROOT / "out" / "routing" / kind
    return out / "store" / kind


def sized_files(fam: Family, quick: bool) -> list[tuple[str, Path, int]]:
    """(group, file, nodes) of the family, or its stratified subset."""
    sized = [(label, p, size(p, fam.fmt)) for label, p in fam.files()]
    return quick_subset(fam, sized) if quick else sized


def converted(fam: Family, path: Path, folder: Path) -> Path:
    """The instance JSON of ``path`` (converted once; the same bytes keep the bench keys)."""
    from ...drrt.converters import convert
    from ...drrt.instance import save_instance

    target = folder / fam.name / f"{path.stem}.json"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        save_instance(convert(fam.fmt, path), target)
    return target


def plan(settings: Settings, folder: Path) -> list[Planned]:
    """Every task of the run, heuristic legs first, then the exact ones, family by family."""
    chosen = [f for f in FAMILIES if f.name in settings.families]
    unknown = set(settings.families) - {f.name for f in FAMILIES}
    if unknown:
        raise InputError("families", sorted(unknown), f"known: {[f.name for f in FAMILIES]}")
    out: list[Planned] = []
    for exact in (False, True):
        for fam in chosen:
            files = sized_files(fam, settings.quick)
            for leg in fam.legs:
                if leg.exact != exact:
                    continue
                seeds = list(settings.seeds[:1] if exact else settings.seeds)
                for group, path, n in files:
                    if not leg.applies(n):
                        continue
                    limit = _limit(leg.limit(n), exact, settings)
                    json_path = converted(fam, path, folder / "json")
                    for task in plan_tasks([json_path], "mtrce", [leg.solver], seeds, limit):
                        out.append(Planned(task, fam.name, group, n, exact))
    return out


def _limit(leg_limit: float, exact: bool, settings: Settings) -> float:
    if settings.time_limit is not None:
        return float(settings.time_limit)
    if settings.quick:
        return QUICK_EXACT if exact else QUICK_HEURISTIC
    return leg_limit


def run(out: Path, settings: Settings, on_row: Callable[[dict], None] | None = None) -> Outcome:
    """Plan, run what is missing (unless ``report_only``), and collect the rows of the plan."""
    folder = store_dir(out, settings.quick)
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "routing.sqlite"
    info = _run_info(folder, settings)
    planned = plan(settings, folder)
    if not settings.report_only:
        warm_up()
        with ResultsStore(db) as store:
            _sweep(planned, store, settings, on_row)
    info["finished"] = _now()
    (folder / "run-info.json").write_text(json.dumps(info, indent=1) + "\n")
    return Outcome(planned, collect(db, planned), db, info)


def warm_up() -> None:
    """Load the heuristics' compiled code in this process before the workers fork from it.

    ``ils``'s tour moves are compiled by numba on first use (cached on disk): a fresh worker
    would pay the loading (about half a second) or, without a cache, the compilation (13 s
    measured at a load of 20, past a 1 s limit plus its grace) inside its first run's limit.
    A small TSP and a small OP solved here make every forked worker start with the code loaded.
    """
    import numpy as np

    from ...mtrce import Problem, lk
    from ...registry import solve

    lk.warm_up()  # the LK kick loop: a 1 s solve below can end before it reaches it

    n = 30
    xy = np.random.default_rng(0).uniform(0, 100, size=(n, 2))
    travel = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    base = {"ids": [str(i) for i in range(n)], "start": 0, "travel": travel}
    tsp = Problem(
        **base,
        end=0,
        service=np.zeros(n),
        utility=np.zeros(n),
        objective="min_time",
        mandatory=np.arange(1, n),
    )
    op = Problem(**base, end=1, service=np.zeros(n), utility=np.ones(n), deadline=250.0)
    for problem in (tsp, op):
        solve(problem, "ils", time_limit=1.0, seed=0)


def _sweep(
    planned: Sequence[Planned],
    store: ResultsStore,
    settings: Settings,
    on_row: Callable[[dict], None] | None,
) -> None:
    """Run the missing tasks in chunks; skip chunks that would end after ``until``."""
    done = store.done_keys()
    todo = [p.task for p in planned if p.task.key not in done]
    step = 2 * settings.workers  # small chunks: near ``until`` little is skipped for nothing
    for i in range(0, len(todo), step):
        chunk = todo[i : i + step]
        if settings.until is not None:
            # at worst every run takes its full limit, and the last one its grace on top
            need = 2 * max(t.time_limit for t in chunk) + GRACE_SECONDS
            if time.time() + need > settings.until:
                continue  # a later, shorter chunk may still fit
        run_sweep(chunk, store, workers=settings.workers, on_row=on_row)


def collect(db: Path, planned: Sequence[Planned]) -> list[dict]:
    """The stored rows of the planned tasks, each with its family, group and size attached."""
    if not db.exists():
        return []
    by_key = {p.task.key: p for p in planned}
    with ResultsStore(db, readonly=True) as store:
        rows = store.rows()
    out = []
    for row in rows:
        p = by_key.get(row["key"])
        if p is None:
            continue
        row.update(family=p.family, group=p.group, n=p.n, leg_exact=p.exact)
        out.append(row)
    return out


def _run_info(folder: Path, settings: Settings) -> dict:
    """The store's first start (code state, load) kept; this invocation's added."""
    path = folder / "run-info.json"
    info = json.loads(path.read_text()) if path.exists() else {}
    now = {"at": _now(), "load": list(os.getloadavg()), "code": code_state()}
    info.setdefault("first", now)
    info["last"] = now
    info["settings"] = {
        "quick": settings.quick,
        "seeds": list(settings.seeds),
        "time_limit": settings.time_limit,
        "workers": settings.workers,
        "families": list(settings.families),
    }
    info["versions"] = versions()
    path.write_text(json.dumps(info, indent=1) + "\n")
    return info


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def versions() -> dict[str, str]:
    out = {}
    for package in PACKAGES:
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


def code_state() -> str:
    """The commit, and the solver files that differ from it (other work in the tree)."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        except OSError:  # no git on the machine
            return ""
        return done.stdout

    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = git("status", "--short", "--", "daitn_opt/mtrce").split()[1::2]
    return f"`{commit}`" + (f" plus uncommitted changes to {', '.join(dirty)}" if dirty else "")
