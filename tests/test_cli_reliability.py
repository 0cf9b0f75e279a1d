"""Issue 10, items 3-5: outputs checked before the work, messages that say what is wrong, and the
command line's conventions (defaults, exit codes, help, choices, widths, start-up imports).

Commands run in process through typer's ``CliRunner`` (exit codes and stderr as a shell sees
them); the few that need a real process (bench's worker processes, the start-up imports) run one.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daitn_opt import cli
from daitn_opt.cli import app
from tests.conftest import ROOT, SMALL, assert_input_error, run_cli

run = run_cli
BURMA = ROOT / "instances" / "classic" / "tsplib" / "burma14.tsp"
SHORT_O = re.compile(r"(?<![\w-])-o(?![\w-])")


@pytest.fixture
def small(tmp_path) -> Path:
    path = tmp_path / "small.json"
    path.write_text(SMALL.read_text())
    return path


@pytest.fixture
def no_solving(monkeypatch):
    """Fail the test if a solver runs: bad outputs must be refused before the work."""
    import daitn_opt.registry as registry

    def forbidden(*args, **kwargs):
        raise AssertionError("the solver ran before the output was checked")

    monkeypatch.setattr(registry, "solve", forbidden)


def edited(tmp_path: Path, change, name: str = "edited.json") -> Path:
    doc = json.loads(SMALL.read_text())
    change(doc)
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


# -- item 3: outputs are checked before the work -----------------------------------------------------
@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("missing/out.json", ("--output", "missing", "does not exist")),
        (".", ("--output", "is a directory")),
        ("small.json/out.json", ("--output", "is a file, not a directory")),
        ("small.json", ("--output", "refusing to overwrite")),
    ],
)
def test_solve_output_refused_before_solving(tmp_path, small, no_solving, target, words):
    before = small.read_bytes()
    result = run("solve", small, "--solver", "greedy", "-o", tmp_path / target)
    assert_input_error(result, *words)
    assert small.read_bytes() == before


def test_write_that_fails_at_the_end_is_one_line(tmp_path, small, monkeypatch):
    """A full disk (what /dev/full does) after the solve: one line, exit 2, no traceback."""

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    result = run("solve", small, "--solver", "greedy", "-o", tmp_path / "r.json")
    assert_input_error(result, "--output", "cannot be written", "No space left on device")


def test_convert_and_schema_outputs(tmp_path):
    source = tmp_path / "burma14.tsp"
    source.write_text(BURMA.read_text())
    assert_input_error(run("convert", "tsplib", source, "-o", source), "refusing to overwrite")
    assert_input_error(run("schema", "-o", tmp_path / "no" / "s.json"), "does not exist")
    assert_input_error(run("generate", "healthcare", "-o", tmp_path), "is a directory")


def test_bench_db_in_missing_folder_refused_before_runs(tmp_path, small):
    result = run("bench", small, "--solvers", "greedy", "--db", tmp_path / "no" / "r.sqlite")
    assert_input_error(result, "--db", "does not exist")


def test_report_reads_without_writing(tmp_path):
    not_db = tmp_path / "notes.sqlite"
    not_db.write_text("not a database\n")
    assert_input_error(run("report", "--db", not_db), "--db", "not a usable results store")
    assert not_db.read_text() == "not a database\n"
    # A SQLite file of something else: no table is created inside it.
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (x)")
    before = other.read_bytes()
    assert_input_error(run("report", "--db", other), "without a runs table")
    assert other.read_bytes() == before
    with sqlite3.connect(other) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"notes"}


def test_report_of_a_store_leaves_it_unchanged(tmp_path):
    from daitn_opt.bench.store import ResultsStore

    db = tmp_path / "runs.sqlite"
    with ResultsStore(db) as store:
        store.insert(
            {"key": "k", "instance": "i", "family": "f", "problem": "mtrce", "solver": "s",
             "seed": 0, "time_limit": 1.0, "status": "feasible", "sense": "max",
             "objective": 1.0, "runtime": 0.1, "check_ok": 1, "trace": [[0.05, 1.0, None]]}
        )  # fmt: skip
    before = db.read_bytes()
    result = run("report", "--db", db, "--out-dir", tmp_path / "rep")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "rep" / "runs.csv").exists()
    assert db.read_bytes() == before
    assert_input_error(run("report", "--db", db, "--out-dir", db), "is a file, not a directory")


# -- item 4: messages --------------------------------------------------------------------------------
def test_route_through_excluded_node_says_why(tmp_path):
    doc = {
        "problem": "mtrce",
        "solver": "hand",
        "status": "feasible",
        "objective": 0.0,
        "solution": {"routes": [["owner", "h01", "u1", "mpvu"]]},
    }
    path = tmp_path / "route.json"
    path.write_text(json.dumps(doc))
    result = run("check", SMALL, path)
    assert result.exit_code == 1
    assert "node 'h01' is not in the request's view: excluded (down)" in result.output
    assert "node 'u1' is not in the request's view: a user node" in result.output
    assert "unknown node id" not in result.output


def test_unreachable_end_is_called_unreachable(tmp_path):
    def cut_mpvu(doc):
        links = doc["snapshot"]["links"]
        doc["snapshot"]["links"] = [
            lk for lk in links if "mpvu" not in (lk["source"], lk["target"])
        ]

    path = edited(tmp_path, cut_mpvu)
    for solver in ("greedy", "ils", "highs"):
        result = run("solve", path, "--solver", solver, "--time-limit", "5")
        assert result.exit_code == 0, result.stderr
        assert "infeasible" in result.output
        assert "unreachable from the start 'owner'" in result.output, result.output
        assert "deadline" not in result.output
    view = run("view", path)
    assert "is unreachable from the start" in view.output


def test_result_document_given_as_instance(tmp_path, small):
    out = tmp_path / "result.json"
    assert run("solve", small, "--solver", "greedy", "-o", out).exit_code == 0
    for cmd in ("info", "view", "solve"):
        assert_input_error(run(cmd, out), "result.json", "is a mtrce/greedy result document")
    assert_input_error(run("check", small, small), "is an instance file, not a result document")


def test_check_passes_a_correct_infeasible_result(tmp_path):
    path = edited(tmp_path, lambda d: d["requests"][0].update(deadline=0.5))
    out = tmp_path / "inf.json"
    result = run("solve", path, "--solver", "greedy", "-o", out)
    assert json.loads(out.read_text())["status"] == "infeasible", result.output
    checked = run("check", path, out)
    assert checked.exit_code == 0, checked.output
    assert "valid: nothing to check, the result is infeasible" in checked.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--threads", "-3"], ("--threads = '-3'",)),
        (["--seed", "-1"], ("--seed = '-1'",)),
        (["--seed", str(2**31)], ("--seed",)),
        (["--time-limit", "inf"], ("--time-limit = inf", "positive finite")),
        (["--time-limit", "0"], ("--time-limit = 0.0",)),
        (["--problem", "vrp"], ("--problem = 'vrp'", "mtrce")),
    ],
)
def test_bad_options_are_one_line(small, no_solving, args, words):
    assert_input_error(run("solve", small, *args), *words)


def test_bench_seeds_validated(small, tmp_path):
    db = tmp_path / "r.sqlite"
    assert_input_error(run("bench", small, "--seeds", "0,-1", "--db", db), "--seeds", "outside")
    assert_input_error(run("bench", small, "--seeds", "a", "--db", db), "--seeds", "expected")
    assert cli.parse_seeds("0-2,5,1") == [0, 1, 2, 5]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["snapshot"]["nodes"][0].update(trust=True), ("nodes[0].trust = True",)),
        (lambda d: d["snapshot"]["nodes"][1]["compute"].update(gflops=1e308), ("gflops = 1e+308",)),
        (lambda d: d["snapshot"]["nodes"][1]["datasets"][0].update(samples=10**30), ("samples",)),
        (lambda d: d["snapshot"]["nodes"][1]["datasets"][0].update(samples=12.5), ("samples",)),
        (lambda d: d["snapshot"]["links"][0].update(latency="3"), ("links[0].latency = '3'",)),
        (lambda d: d["requests"][0].update(epochs=True), ("epochs = True",)),
    ],
)
def test_instance_types_are_strict_and_bounded(tmp_path, change, words):
    assert_input_error(run("info", edited(tmp_path, change)), *words)


def test_deeply_nested_json_is_one_line(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    assert_input_error(run("info", path), "deep.json", "nested too deeply")
    assert_input_error(run("check", SMALL, path), "deep.json", "nested too deeply")


# -- item 5: conventions -----------------------------------------------------------------------------
@pytest.mark.parametrize(("problem", "solver"), [("mtrce", "ils"), ("tfam", "ls"), ("qirce", "ls")])
def test_each_problem_has_a_default_solver(problem, solver):
    result = run("solve", SMALL, "--problem", problem, "--time-limit", "2")
    assert result.exit_code == 0, result.stderr
    assert result.output.startswith(f"{solver}: ")


def test_version_and_short_help():
    from importlib.metadata import version

    result = run("--version")
    assert result.exit_code == 0 and result.output.strip() == f"daitn-opt {version('daitn-opt')}"
    assert run("-h").exit_code == 0 and "solve" in run("-h").output
    assert "--time-limit" in run("solve", "-h").output


def test_help_shows_choices():
    def wide_help(*args: str) -> str:  # no wrapping inside the help panels
        return CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "250"}).output

    solve_help = wide_help("solve")
    assert "<mtrce|tfam|qirce>" in solve_help
    # each problem names its default (mtrce's coverage objectives default to coverage-ils)
    assert re.search(r"default mtrce: ils\b.*tfam: ls, qirce: ls", solve_help)
    replay_help = wide_help("replay")

    def choices(text: str) -> str:  # typer >= 0.21 shows <a|b>, older typer [a|b]
        return rf"[<\[]{re.escape(text)}[>\]]"

    assert re.search(choices("sequential|federated|serving"), replay_help)
    assert re.search(choices("static|replan|aats"), replay_help)
    assert re.search(choices("tsplib|op|oplib|top|optw|gap|mknap"), wide_help("convert"))


def test_choices_match_the_library():
    """The choices are spelled out in cli.py (so that --help imports nothing heavy): they must
    stay equal to the lists the library accepts."""
    from typing import get_args

    from daitn_opt.cli_inputs import kind_names
    from daitn_opt.drrt.converters import FORMATS
    from daitn_opt.drrt.generators import ALIASES, FAMILIES
    from daitn_opt.executor.dynamics import POLICIES
    from daitn_opt.executor.models import MODELS
    from daitn_opt.executor.replay import MODES
    from daitn_opt.kinds import BUILTIN_KINDS as PROBLEM_PACKAGES

    # problem kinds are not spelled out: --problem takes whatever daitn_opt.kinds registers
    assert kind_names()[: len(PROBLEM_PACKAGES)] == list(PROBLEM_PACKAGES)
    assert set(get_args(cli.ClassicFormat)) == set(FORMATS)
    assert set(get_args(cli.ReplayMode)) == set(MODES)
    assert set(get_args(cli.ReplayPolicy)) == set(POLICIES)
    assert set(get_args(cli.ReplayModel)) == set(MODELS)
    assert set(get_args(cli.Family)) <= set(FAMILIES) | set(ALIASES)
    assert set(FAMILIES) <= set(get_args(cli.Family))


def test_an_unknown_problem_kind_is_one_line_listing_the_kinds():
    for command in (["solve", SMALL], ["bench", SMALL], ["solvers"]):
        result = run(*command, "--problem", "tsp")
        assert_input_error(result, "--problem = 'tsp'", "'mtrce', 'tfam', 'qirce'")


def test_output_options_follow_one_rule():
    """-o/--output is a file everywhere it is shown; folders are --out-dir."""
    for cmd in ("report", "replay", "demo"):
        text = run(cmd, "--help").output
        assert "--out-dir" in text, cmd
        assert not SHORT_O.search(text) and "--output" not in text, cmd
    assert "--replays" in run("demo", "--help").output
    for cmd in ("solve", "convert", "generate", "schema"):
        text = run(cmd, "--help").output
        assert SHORT_O.search(text) and "--output" in text, cmd


def test_replay_out_dir_checked_before_the_replay(tmp_path, small):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    sol = tmp_path / "sol.json"
    sol.write_text(json.dumps({"routes": [["owner", "mpvu"]]}))
    for opt in ("--out-dir", "-o"):
        result = run("replay", small, sol, opt, blocker / "out")
        assert_input_error(result, "is a file, not a directory")


def test_tables_are_not_cut_off_a_terminal():
    from daitn_opt.registry import solvers

    result = run("solvers")
    longest = max(
        (spec.description for specs in solvers().values() for spec in specs.values()), key=len
    )
    assert len(longest) > 60
    assert any(longest in line for line in result.output.splitlines())


def test_bench_with_unreadable_input_or_failed_runs_is_not_a_success(tmp_path, small):
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": ')
    db = tmp_path / "r.sqlite"
    result = run("bench", small, bad, "--solvers", "greedy", "--db", db)
    assert_input_error(result, "bad.json", "malformed JSON")
    assert not db.exists()
    env = {**os.environ, "DAITN_OPT_SOLVER_MODULES": "tests.bench.faulty_solvers"}
    proc = subprocess.run(
        [sys.executable, "-m", "daitn_opt.cli", "bench", str(small), "--solvers", "greedy,crash",
         "--time-limit", "2", "--db", str(db)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "failed runs: 1 (1 error)" in proc.stdout
    assert "checker violations: 0" in proc.stdout
    assert "first failure:" in proc.stdout and "crash" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_help_imports_nothing_heavy():
    """`daitn-opt --help` loads no solver, training, plotting or cluster library."""
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from daitn_opt.cli import app\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        "assert CliRunner().invoke(app, ['solve', '--help']).exit_code == 0\n"
        "heavy = ['torch', 'ortools', 'highspy', 'pyomo', 'matplotlib', 'distributed', 'scipy',\n"
        "         'networkx', 'sklearn', 'daitn_opt.mtrce', 'daitn_opt.tfam', 'daitn_opt.qirce',\n"
        "         'daitn_opt.executor', 'daitn_opt.bench']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_package_exports_are_lazy():
    """`import daitn_opt` (and so `daitn-opt --help`) loads neither numpy nor pydantic; every
    exported name still imports with `from daitn_opt import X` (PEP 562 ``__getattr__``).

    Measured on the shared 2-core machine: `daitn-opt --help` took 0.94-1.21 s when the package
    imported its exports eagerly (drrt: pydantic and numpy, 0.44 s of imports), 0.30-0.42 s lazily.
    """
    code = (
        "import sys\n"
        "import daitn_opt\n"
        "from daitn_opt.cli import app\n"
        "print(sorted(m for m in ('numpy', 'pydantic', 'daitn_opt.drrt') if m in sys.modules))\n"
        "names = [n for n in daitn_opt.__all__ if n != '__version__']\n"
        "missing = [n for n in names if getattr(daitn_opt, n, None) is None]\n"
        "print(missing, set(names) <= set(dir(daitn_opt)))\n"
        "from daitn_opt import Instance, InputError, solve\n"
        "print(solve.__module__, Instance.__module__, issubclass(InputError, Exception))\n"
        "try:\n"
        "    daitn_opt.no_such_name\n"
        "except AttributeError as e:\n"
        "    print('AttributeError', e)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "[]"
    assert lines[1] == "[] True"
    assert lines[2] == "daitn_opt.registry daitn_opt.drrt.instance True"
    assert lines[3].startswith("AttributeError") and "no_such_name" in lines[3]


@pytest.mark.parametrize(
    ("family", "opt", "words"),
    [
        ("healthcare", "region_km=1e308", ("region_km", "at most 40000")),
        ("healthcare", "users=100000", ("users = 100000", "between 0 and 2000")),
        ("healthcare", "users=NaN", ("users = nan", "finite")),
        ("rgg", "radius_factor=1e9", ("radius_factor", "(0, 10]")),
    ],
)
def test_generator_options_are_bounded(tmp_path, family, opt, words):
    """Absurd family options were a crash (an index error) or a 149 GiB allocation."""
    args = ("generate", family, "--nodes", "12", "-o", tmp_path / "g.json", "--opt", opt)
    assert_input_error(run(*args), *words)


def test_stdout_that_fills_up_is_one_line(small, monkeypatch):
    """`daitn-opt solve ... > /dev/full`: the printing fails after the solve; one line, exit 2."""
    import io

    from rich.console import Console

    class Full(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cli.console, "_get", lambda: Console(file=Full()))
    result = run("solve", small, "--solver", "greedy")
    assert_input_error(result, "output cannot be written", "No space left on device")


def test_bench_with_a_bad_scheduler_address_is_one_line(small, tmp_path):
    result = run("bench", small, "--solvers", "greedy", "--db", tmp_path / "r.sqlite",
                 "--scheduler", "notanaddress")  # fmt: skip
    assert_input_error(result, "--scheduler = 'notanaddress'", "cannot connect")


def test_unreachable_end_is_named_at_its_source_without_runtime_warnings():
    """Issue 10 (4): an unreachable end was reported as "misses the deadline" by the heuristics'
    single-trip test and HiGHS' trivial case (make_result patched the message afterwards), and the
    route schedule computed inf - inf (RuntimeWarnings in mtrce/plan.py)."""
    import warnings

    import numpy as np

    from daitn_opt.mtrce import Problem, milp
    from daitn_opt.mtrce.heuristics import infeasibility
    from daitn_opt.mtrce.plan import Arrays, RouteTimes
    from daitn_opt.registry import SolveOptions, solve

    inf = np.inf
    travel = np.array([[0, 1, inf], [1, 0, inf], [inf, inf, 0]], dtype=float)
    problem = Problem(
        ids=["s", "a", "e"],
        start=0,
        end=2,
        travel=travel,
        service=np.zeros(3),
        utility=np.array([0.0, 1.0, 0.0]),
        deadline=100.0,
    )
    alone = Problem(
        ids=["s", "e"],
        start=0,
        end=1,
        travel=np.array([[0, inf], [inf, 0]]),
        service=np.zeros(2),
        utility=np.zeros(2),
        deadline=100.0,
    )
    words = "the end 'e' is unreachable from the start 's'"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        times = RouteTimes(Arrays.of(problem), [0, 1, 2])
        assert not times.feasible and np.all(times.slack == -inf) and not np.isnan(times.wait).any()
        assert words in infeasibility(problem, Arrays.of(problem))
        assert words in milp._trivial(alone, SolveOptions(time_limit=5)).message
        with pytest.raises(milp.Infeasible, match="unreachable"):
            milp.build_model(problem)
        for solver in ("greedy", "ils", "highs"):
            for p in (problem, alone):
                result = solve(p, solver, time_limit=3)
                assert result.status.value == "infeasible" and words in result.message


def test_readme_tour_uses_only_options_the_commands_have():
    """Every option in the README's tour exists on its command (`report -o` had become
    `--out-dir`); the commands themselves were run in a temp folder when this was written."""
    import shlex

    text = (ROOT / "README.md").read_text()
    block = text.split("## A short tour", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    block = block.replace("\\\n", " ")
    seen = 0
    for line in block.splitlines():
        for segment in re.split(r";|&&|\bdo\b", line.split("#", 1)[0]):
            tokens = shlex.split(segment.split(">", 1)[0])
            if not tokens or tokens[0] != "daitn-opt":
                continue
            command = tokens[1]
            helptext = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "250"}).output
            for token in tokens[2:]:
                if token.startswith("-"):
                    assert re.search(rf"(?<![\w-]){re.escape(token)}(?![\w-])", helptext), (
                        command,
                        token,
                    )
            seen += 1
    assert seen >= 15
