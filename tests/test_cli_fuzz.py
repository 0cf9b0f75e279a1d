"""Fuzz campaign of the command line: mutated and truncated files through every reading command.

A seeded mutator (``random.Random`` with fixed seeds, so every run sees the same files) derives
thousands of broken variants of instance files, result documents and classic benchmark files
(TSPLIB, OP, TOP, OPTW, GAP, mknap) and pushes them through ``info``, ``view``, ``solve``,
``check``, ``convert`` and ``replay``, in process through typer's ``CliRunner``. Every run must end
with exit code 0, 1 or 2 and no uncaught exception (``result.exception`` other than
``SystemExit`` is a traceback a user would see); exit code 2 must come with exactly one line on
stderr that names the field (``field = value: reason``).

Replay trains for real in ``replay`` proper; here the local training step is replaced by a no-op
(the document checks, the schedule, the outcome and its rendering are the real ones), so that the
campaign stays under a minute.
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from daitn_opt.cli import app
from daitn_opt.drrt.converters import convert
from daitn_opt.drrt.instance import dump_instance, load_instance
from daitn_opt.problems import problem_from_instance
from daitn_opt.registry import solve
from tests.conftest import INSTANCES, SMALL

CLASSIC = INSTANCES / "classic"
CLASSIC_FILES = {
    "tsplib": CLASSIC / "tsplib" / "burma14.tsp",
    "op": CLASSIC / "op" / "tsiligirides_1" / "tsiligirides_problem_1_budget_05.txt",
    "top": CLASSIC / "top" / "Set_21_234" / "p2.2.a.txt",
    "optw": CLASSIC / "optw" / "solomon_100" / "c101.txt",
    "gap": CLASSIC / "gap" / "gap1.txt",
    "mknap": CLASSIC / "mknap" / "mknap1.txt",
}
PROBLEM_OF = {"tsplib": "mtrce", "op": "mtrce", "top": "mtrce", "gap": "qirce", "mknap": "tfam"}

ONE_LINE_FIELD = re.compile(r"^error: \S.* = .*: .+$|^error: --[\w-]+: .+$")
"""An exit-2 message: ``error: field = value: reason`` (or ``--option: reason``)."""

# -- the mutator -----------------------------------------------------------------------------------
ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    -1e-9,
    1.5,
    1e308,
    -1e308,
    10**400,
    2**63,
    "",
    "x",
    "owner",
    "mpvu",
    "\u00e9\u2603[b]red[/b]",
    "a" * 5000,
    [],
    {},
    [[1, 2], [3]],
    {"id": "x"},
    "NaN",
]


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every location in a JSON tree (keys and list indices), the root excluded."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append((*prefix, k))
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(doc, list):
        # Long lists (matrices, big node lists): a few positions are enough.
        idx = range(len(doc)) if len(doc) <= 6 else [0, 1, len(doc) // 2, len(doc) - 1]
        for i in idx:
            out.append((*prefix, i))
            out.extend(_paths(doc[i], (*prefix, i)))
    return out


def _parent(doc: Any, path: tuple) -> tuple[Any, Any]:
    node = doc
    for part in path[:-1]:
        node = node[part]
    return node, path[-1]


def mutate_json(doc: Any, rng: random.Random, paths: list[tuple]) -> str:
    """One mutant of ``doc`` as text: 1-3 structural edits, sometimes truncated or garbled."""
    new = copy.deepcopy(doc)
    ids = (
        [n["id"] for n in doc.get("snapshot", {}).get("nodes", [])[:50]]
        if isinstance(doc, dict)
        else []
    )
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        path = rng.choice(paths)
        try:
            parent, key = _parent(new, path)
            op = rng.random()
            current = parent[key]
            if op < 0.35 and isinstance(current, bool):
                parent[key] = not current  # a node or link down, a flag flipped
            elif op < 0.35 and isinstance(current, int | float) and abs(current) < 1e15:
                # A plausible value: most of these instances stay valid and reach the solvers.
                parent[key] = type(current)(
                    rng.choice([0, 1, current * rng.uniform(0, 3), current + 1, current * 1000])
                )
            elif op < 0.35 and isinstance(current, str):
                parent[key] = rng.choice(ids) if ids else current
            elif op < 0.55:
                value = rng.choice(ODD_VALUES)
                if value == "NaN":
                    value = rng.choice([math.nan, math.inf, -math.inf])
                parent[key] = copy.deepcopy(value)
            elif op < 0.70:
                del parent[key]
            elif op < 0.80 and isinstance(parent, list):
                parent.insert(key, copy.deepcopy(parent[key]))  # duplicate (ids, rows)
            elif op < 0.90:
                sibling = rng.choice(paths)
                sp, sk = _parent(new, sibling)
                parent[key] = copy.deepcopy(sp[sk])  # a value from elsewhere
            elif isinstance(parent, dict):
                parent[f"unknown_{rng.randrange(9)}"] = 1
            else:
                parent[key] = [parent[key]]  # wrapped one level deeper
        except (KeyError, IndexError, TypeError):
            continue  # the path vanished with an earlier edit
    text = json.dumps(new)
    r = rng.random()
    if r < 0.08:
        text = text[: rng.randrange(len(text))]
    elif r < 0.12:
        pos = rng.randrange(len(text))
        text = (
            text[:pos] + rng.choice(['"', "}", "]", ",", "\x00", "\ufffd", "{"]) + text[pos + 1 :]
        )
    elif r < 0.13:
        text = "[" * 100_000 + "]" * 100_000
    return text


TOKEN = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|[A-Za-z_]+")


def mutate_text(text: str, rng: random.Random) -> str:
    """One mutant of a classic text file: tokens, lines, truncation, garbage."""
    lines = text.splitlines()
    for _ in range(rng.choice((1, 1, 2, 3))):
        op = rng.random()
        if not lines:
            break
        i = rng.randrange(len(lines))
        if op < 0.45:
            tokens = list(TOKEN.finditer(lines[i]))
            if tokens:
                t = rng.choice(tokens)
                new = rng.choice(
                    [
                        "-1",
                        "0",
                        "-0.5",
                        "1e999",
                        "nan",
                        "inf",
                        "abc",
                        "3.7",
                        "99999999",
                        "",
                        "1e308",
                    ]
                )
                lines[i] = lines[i][: t.start()] + new + lines[i][t.end() :]
        elif op < 0.65:
            del lines[i]
        elif op < 0.75:
            lines.insert(i, lines[i])
        elif op < 0.85:
            lines[i] = " ".join(lines[i].split()[: rng.randrange(3)])
        else:
            lines = lines[: rng.randrange(len(lines) + 1)]
    out = "\n".join(lines)
    r = rng.random()
    if r < 0.05:
        out = out[: rng.randrange(len(out) + 1)]
    elif r < 0.07:
        out = "\x00\xff garbage \x89PNG"
    return out


# -- fixtures --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Any]:
    """Seed documents: instances (generated and converted), results of each problem, classics."""
    d = tmp_path_factory.mktemp("seeds")
    instances: dict[str, tuple[Path, str]] = {"healthcare": (SMALL, "mtrce")}
    for fmt, path in CLASSIC_FILES.items():
        if fmt in PROBLEM_OF:
            inst = convert(fmt, path, sense="max" if fmt == "gap" else None)
            out = d / f"{fmt}.json"
            out.write_text(dump_instance(inst))
            instances[fmt] = (out, PROBLEM_OF[fmt])
    small = load_instance(SMALL)
    results: dict[str, tuple[Path, dict]] = {}
    for kind in ("mtrce", "tfam", "qirce"):
        result = solve(problem_from_instance(kind, small), "greedy", time_limit=2.0)
        results[kind] = (SMALL, result.to_dict())
    for fmt in ("gap", "mknap", "op"):
        path, kind = instances[fmt]
        result = solve(problem_from_instance(kind, load_instance(path)), "greedy", time_limit=2.0)
        results[fmt] = (path, result.to_dict())
    return {"dir": d, "instances": instances, "results": results}


@pytest.fixture
def fast_training(monkeypatch):
    """Replay's local training step as a no-op (everything around it stays real).

    Also builds the click command of the app once: ``CliRunner.invoke`` otherwise rebuilds it
    from the function signatures on every call (30-70 ms each).
    """
    import typer.main
    import typer.testing

    command = typer.main.get_command(app)
    monkeypatch.setattr(typer.testing, "_get_command", lambda _app: command)
    import daitn_opt.executor.federated as federated
    import daitn_opt.executor.sequential as sequential

    def no_training(model, x, y, epochs, config, generator) -> float:
        return 0.5 if int(y.shape[0]) else float("nan")

    monkeypatch.setattr(sequential, "train_local", no_training)
    monkeypatch.setattr(federated, "train_local", no_training)


# -- the campaign ----------------------------------------------------------------------------------
class Campaign:
    def __init__(self, tmp: Path) -> None:
        self.runner = CliRunner()
        self.tmp = tmp
        self.codes: Counter[str] = Counter()
        self.failures: list[str] = []
        self.count = 0

    def run(self, args: list[str], label: str) -> None:
        self.count += 1
        result = self.runner.invoke(app, args)
        code = result.exit_code
        self.codes[f"{args[0]}:{code}"] += 1
        exc = result.exception
        if exc is not None and not isinstance(exc, SystemExit):
            kind = f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
            frames = traceback.extract_tb(result.exc_info[2]) if result.exc_info else []
            inner = [f for f in frames if "daitn_opt" in f.filename] or frames
            where = f" at {Path(inner[-1].filename).name}:{inner[-1].lineno}" if inner else ""
            self.failures.append(f"{label}: {' '.join(args[:2])}: traceback {kind}{where}")
            return
        if "Traceback" in result.output + result.stderr:
            self.failures.append(f"{label}: {' '.join(args[:2])}: traceback printed")
        elif code not in (0, 1, 2):
            self.failures.append(f"{label}: {' '.join(args[:2])}: exit code {code}")
        elif code == 2:
            lines = result.stderr.strip().splitlines()
            if len(lines) != 1 or not ONE_LINE_FIELD.match(lines[0]):
                self.failures.append(f"{label}: {' '.join(args[:2])}: exit 2 with {lines[:3]!r}")

    def write(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        return path


def test_fuzz_campaign(corpus, tmp_path, fast_training):
    """At least 2,000 mutated files through info, view, solve, check, convert and replay."""
    rng = random.Random(20261130)
    camp = Campaign(tmp_path)
    t0 = time.perf_counter()

    # Instances: info, view, solve (a fast heuristic, a short limit), in turn.
    for name, (path, kind) in corpus["instances"].items():
        doc = json.loads(path.read_text())
        paths = _paths(doc)
        rounds = 540 if name == "healthcare" else 130
        for i in range(rounds):
            mutant = camp.write(f"inst-{name}-{i}.json", mutate_json(doc, rng, paths))
            cmd = ("info", "view", "solve")[i % 3]
            args = [cmd, str(mutant)]
            if cmd == "solve":
                # The generated instance feeds all three problems; converted ones their own.
                problem = ("mtrce", "tfam", "qirce")[(i // 3) % 3] if name == "healthcare" else kind
                args += ["--problem", problem, "--solver", "greedy", "--time-limit", "0.5"]
            camp.run(args, f"instance {name} #{i}")

    # Results: check against their instance; replay (sequential, federated, serving) sometimes.
    modes = {"mtrce": "sequential", "tfam": "federated", "qirce": "serving"}
    for name, (inst_path, doc) in corpus["results"].items():
        paths = _paths(doc)
        for i in range(120):
            mutant = camp.write(f"result-{name}-{i}.json", mutate_json(doc, rng, paths))
            camp.run(["check", str(inst_path), str(mutant)], f"result {name} #{i}")
            if name in modes and i % 6 == 0:
                args = ["replay", str(inst_path), str(mutant), "--mode", modes[name]]
                camp.run(args, f"replay {name} #{i}")

    # Classic files: convert, then read what was written.
    for fmt, path in CLASSIC_FILES.items():
        text = path.read_text()
        for i in range(75):
            mutant = camp.write(f"classic-{fmt}-{i}.txt", mutate_text(text, rng))
            out = tmp_path / f"classic-{fmt}-{i}.json"
            args = ["convert", fmt, str(mutant), "-o", str(out)]
            if fmt == "gap":
                args += ["--sense", "max"]
            camp.run(args, f"classic {fmt} #{i}")
            if out.exists() and i % 3 == 0:
                camp.run(["view", str(out)], f"converted {fmt} #{i}")

    elapsed = time.perf_counter() - t0
    assert not camp.failures, f"{len(camp.failures)} failures, e.g.\n" + "\n".join(
        camp.failures[:25]
    )
    assert camp.count >= 2000, camp.count
    # The campaign really exercises rejection and acceptance of every command.
    for cmd in ("info", "view", "solve", "check", "convert", "replay"):
        assert camp.codes[f"{cmd}:2"] > 0, (cmd, camp.codes)
    for cmd in ("info", "view", "solve", "check", "convert"):
        assert camp.codes[f"{cmd}:0"] > 0, (cmd, camp.codes)
    print(f"fuzz: {camp.count} runs in {elapsed:.1f} s: {dict(sorted(camp.codes.items()))}")
