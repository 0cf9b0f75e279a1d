"""The orienteering proof page of ``run_mtrce_exact.py opproof``: a rerun of only what an earlier
sweep left unproved is read with that sweep's runs of the other files (``--combined``), and
``--unproved-in`` selects exactly the files a store did not prove."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import run_mtrce_exact as rme

COLUMNS = (
    "key, instance, solver, status, objective, bound, gap, best_known, best_known_proven, size, "
    "runtime, check_ok, load_at_start, trace, time_limit"
)


def _store(path: Path, runs: list[tuple[str, str]]) -> Path:
    con = sqlite3.connect(path)
    con.execute(f"create table runs ({COLUMNS})")
    for name, status in runs:
        gap = 0.0 if status == "optimal" else 0.01
        con.execute(
            f"insert into runs ({COLUMNS}) values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (f"{name}|highs|cpu_limit=60", name, "highs", status, 100.0, 100.0 * (1 + gap), gap,
             100.0, 0, 100, 10.0, 1, 1.0, "[[9.5, 100.0, 100.0]]", 1200.0),
        )  # fmt: skip
    con.commit()
    con.close()
    return path


def test_the_combined_targets_take_the_rerun_and_the_earlier_proofs_of_the_rest(tmp_path):
    old = _store(
        tmp_path / "old.sqlite",
        [("a-gen1-50", "optimal"), ("b-gen2-50", "feasible"), ("c-gen3-50", "feasible")],
    )
    new = _store(tmp_path / "new.sqlite", [("b-gen2-50", "optimal"), ("c-gen3-50", "feasible")])
    args = argparse.Namespace(combined=[f"{old}=the old sweep"])
    text = "\n".join(rme._combined_section(args, new, rme._opproof_rows(new)))
    assert "2 runs of" in text and "for the 1 instances it did not run" in text
    assert "**2 of 3** run (67%)" in text


def test_unproved_in_keeps_the_files_a_store_did_not_prove(tmp_path):
    old = _store(tmp_path / "old.sqlite", [("a-gen1-50", "optimal"), ("b-gen2-50", "feasible")])
    names = ("chao64_set_64_1_15", "a-gen1-50", "b-gen2-50", "d-gen4-50")
    files = [Path(f"out/opproof/json/{n}.json") for n in names]
    args = argparse.Namespace(only="gen", unproved_in=str(old), first_from="", offset=0)
    kept = rme.opproof_selection(args, files)
    assert [f.stem for f in kept] == ["b-gen2-50", "d-gen4-50"]
