"""The foundation's commands as a user runs them: schema, info, view, generate, and bad input.

Every command runs in a subprocess (``python -m daitn_opt.cli``), so exit codes and stderr are
what a shell sees: bad input exits 2 with one line naming the field and the value, never a
traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from daitn_opt.drrt.generators import generate
from daitn_opt.drrt.instance import dump_instance, load_instance
from daitn_opt.drrt.view import view

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "instances" / "healthcare-small.json"


def run(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "daitn_opt.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def assert_input_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    """Exit code 2, one line on stderr containing every word, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


def corrupted(tmp_path: Path, change) -> Path:
    doc = json.loads(SMALL.read_text())
    change(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, tuple[Path, tuple[str, ...]]]:
    """Broken instance files, each with the words its error line must contain."""
    d = tmp_path_factory.mktemp("bad")
    doc = json.loads(SMALL.read_text())

    def write(name: str, text: str) -> Path:
        path = d / name
        path.write_text(text)
        return path

    def variant(name: str, change) -> Path:
        copy = json.loads(json.dumps(doc))
        change(copy)
        return write(name, json.dumps(copy))

    first_data = doc["snapshot"]["nodes"][0]["id"]
    return {
        "malformed": (write("malformed.json", '{"name": "x", '), ("malformed JSON", "line 1")),
        "empty": (write("empty.json", "  \n"), ("file", "empty.json", "is empty")),
        "missing": (d / "missing.json", ("file", "missing.json", "no such file")),
        "not-an-object": (write("list.json", "[1, 2]"), ("expected a JSON object",)),
        "unknown-kind": (
            variant("kind.json", lambda x: x["snapshot"]["nodes"][2].update(kind="router")),
            ("snapshot.nodes[2].kind", "'router'", "unknown node kind"),
        ),
        "unknown-link-end": (
            variant("link.json", lambda x: x["snapshot"]["links"][5].update(target="ghost")),
            ("snapshot.links[5].target", "'ghost'", "not a node id"),
        ),
        "duplicate-id": (
            variant("dup.json", lambda x: x["snapshot"]["nodes"][3].update(id=first_data)),
            ("snapshot.nodes[3].id", repr(first_data), "duplicate"),
        ),
        "negative-capacity": (
            variant(
                "neg.json", lambda x: x["snapshot"]["nodes"][1]["compute"].update(memory_gb=-8)
            ),
            ("snapshot.nodes[1].compute.memory_gb", "-8"),
        ),
        "quality": (
            variant(
                "q.json", lambda x: x["snapshot"]["nodes"][0]["datasets"][0].update(quality=1.2)
            ),
            ("snapshot.nodes[0].datasets[0].quality", "1.2"),
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "malformed",
        "empty",
        "missing",
        "unknown-kind",
        "unknown-link-end",
        "duplicate-id",
        # Each subprocess costs about a second of imports; these three are also covered
        # in-process by tests/drrt/test_snapshot.py.
        pytest.param("not-an-object", marks=pytest.mark.slow),
        pytest.param("negative-capacity", marks=pytest.mark.slow),
        pytest.param("quality", marks=pytest.mark.slow),
    ],
)
def test_bad_instance_file_exits_2_with_one_line(bad_files, case):
    """`info` on a broken file: exit 2, one line naming the field and the value."""
    path, words = bad_files[case]
    assert_input_error(run("info", path), *words)


@pytest.mark.slow
def test_view_and_directory_and_unknown_request_are_input_errors(bad_files, tmp_path):
    """`view` rejects the same files; a directory and an unknown request id too."""
    path, words = bad_files["unknown-link-end"]
    assert_input_error(run("view", path), *words)
    assert_input_error(run("view", tmp_path), "is a directory")
    assert_input_error(run("view", SMALL, "--request", "r99"), "request", "'r99'", "'r1'")


def test_generate_bad_family_exits_2(tmp_path):
    out = tmp_path / "x.json"
    assert_input_error(run("generate", "grid", "-o", out), "FAMILY", "'grid'", "healthcare")
    assert not out.exists()


@pytest.mark.slow
def test_generate_bad_size_and_options_exit_2(tmp_path):
    out = tmp_path / "x.json"
    assert_input_error(run("generate", "healthcare", "-o", out, "--nodes", "1"), "nodes", "1")
    assert_input_error(run("generate", "healthcare", "-o", out, "--opt", "colour=red"), "colour")
    assert_input_error(run("generate", "healthcare", "-o", out, "--opt", "image"), "--opt")
    assert not out.exists()


def test_schema_is_json_schema_that_validates_a_shipped_instance():
    """`schema` prints a valid draft 2020-12 schema; the default instance conforms to it."""
    proc = run("schema")
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    doc = json.loads(SMALL.read_text())
    assert list(validator.iter_errors(doc)) == []
    doc["snapshot"]["nodes"][0]["kind"] = "router"
    assert not validator.is_valid(doc)


@pytest.mark.parametrize(
    "name",
    [
        "healthcare-small.json",
        pytest.param("healthcare-medium.json", marks=pytest.mark.slow),
        pytest.param("healthcare-large.json", marks=pytest.mark.slow),
        pytest.param("rgg-100.json", marks=pytest.mark.slow),
        pytest.param("rgg-2000.json", marks=pytest.mark.slow),
    ],
)
def test_info_and_view_run_on_shipped_instances(name):
    """`info` summarises the instance, `view` its first request; both exit 0."""
    path = ROOT / "instances" / name
    inst = load_instance(path)
    proc = run("info", path)
    assert proc.returncode == 0, proc.stderr
    assert inst.name in proc.stdout and "connected components over up links: 1" in proc.stdout
    assert "Training requests" in proc.stdout
    proc = run("view", path)
    assert proc.returncode == 0, proc.stderr
    assert f"request {inst.requests[0].id}" in proc.stdout and "Excluded data nodes" in proc.stdout


def test_view_json_matches_the_library_view():
    """`view --json` prints the same arrays as view() (unreachable shown as -1)."""
    proc = run("view", SMALL, "--request", "r3", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    v = view(load_instance(SMALL), "r3")
    assert doc["request"] == "r3" and doc["ids"] == v.ids
    assert np.allclose(doc["transfer"], np.where(np.isfinite(v.transfer), v.transfer, -1))
    assert np.allclose(doc["train_time"], v.train_time)
    assert np.allclose(doc["utility"], v.utility)
    assert doc["excluded"] == v.excluded
    assert doc["verify_time"] == pytest.approx(v.verify_time)


def test_generate_writes_the_seeded_instance(tmp_path):
    """`generate` writes exactly what generate() returns for the same seed."""
    out = tmp_path / "a.json"
    proc = run("generate", "random-geometric", "-o", out, "--nodes", "60", "--seed", "4",
               "--requests", "2")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    expected = generate("random-geometric", nodes=60, seed=4, requests=2)
    assert out.read_text() == dump_instance(expected)
    assert len(load_instance(out).requests) == 2


@pytest.mark.slow
def test_generate_passes_family_options(tmp_path):
    """`--opt KEY=VALUE` reaches the family, typed as JSON."""
    out = tmp_path / "b.json"
    proc = run("generate", "healthcare", "-o", out, "--nodes", "8", "--opt", "replayable=false",
               "--opt", "region_km=200")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    meta = load_instance(out).metadata["generator"]
    assert meta["replayable"] is False and meta["region_km"] == 200
