"""The results store: one SQLite database (WAL mode), one row per (instance, solver, seed, ...) run.

Rows are written by a single process (the sweep's parent) and committed one at a time, so an
interrupted sweep (Ctrl-C, ``kill -9``, a crash) loses no finished row; the run's key is the
primary key, so a rerun with the same arguments skips what is done and never repeats a row. A run
that ended without an answer through no verdict of its solver (:data:`RETRY_STATUSES`: an error, or
a timeout row of a run killed past its limit) is not done: a rerun runs it again and its new row
replaces the old one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import InputError

COLUMNS: dict[str, str] = {
    "key": "TEXT PRIMARY KEY",
    "instance": "TEXT",
    "instance_file": "TEXT",
    "family": "TEXT",
    "size": "INTEGER",
    "problem": "TEXT",
    "solver": "TEXT",
    "solver_version": "TEXT",
    "exact": "INTEGER",
    "seed": "INTEGER",
    "time_limit": "REAL",
    "threads": "INTEGER",
    "status": "TEXT",
    "sense": "TEXT",
    "objective": "REAL",
    "bound": "REAL",
    "gap": "REAL",
    "best_known": "REAL",
    "best_known_proven": "INTEGER",
    "gap_to_best": "REAL",
    "runtime": "REAL",
    "wall": "REAL",
    "time_to_first": "REAL",
    "primal_integral": "REAL",
    "check_ok": "INTEGER",
    "violations": "TEXT",
    "load_at_start": "REAL",
    "host": "TEXT",
    "started_at": "TEXT",
    "message": "TEXT",
    "trace": "TEXT",
}
"""Column name -> SQLite type. ``trace`` is the anytime trace as JSON ``[[t, inc, bound], ...]``."""
RETRY_STATUSES = ("error", "timeout")
"""Statuses of a stored row without a solution that a resumed sweep runs again (a solver error,
a run killed past its limit); every other row is finished and kept."""


def _retry(table: str = "") -> str:
    """SQL condition of a row to retry (:data:`RETRY_STATUSES`, no objective)."""
    statuses = ", ".join(f"'{s}'" for s in RETRY_STATUSES)
    return f"{table}status IN ({statuses}) AND {table}objective IS NULL"


class ResultsStore:
    """A results database at ``path`` (created on first use).

    Parameters
    ----------
    path
        SQLite file. WAL journal mode lets a report read while a sweep writes.
    """

    def __init__(self, path: str | Path, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        try:
            if readonly:
                # Reading never creates tables (nor the file): the store is opened read-only.
                uri = self.path.resolve().as_uri() + "?mode=ro"
                self._conn = sqlite3.connect(uri, uri=True, timeout=30.0)
                tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master")}
                if "runs" not in tables:
                    self._conn.close()
                    raise InputError("--db", str(path), "is an SQLite file without a runs table")
                return
            self._conn = sqlite3.connect(self.path, timeout=30.0)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            cols = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
            self._conn.execute(f"CREATE TABLE IF NOT EXISTS runs ({cols})")
            self._conn.commit()
        except sqlite3.DatabaseError as exc:
            raise InputError("--db", str(path), f"is not a usable results store ({exc})") from None

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def done_keys(self) -> set[str]:
        """Keys of the finished rows: every row but those a resumed sweep runs again
        (:data:`RETRY_STATUSES` without a solution)."""
        sql = f"SELECT key FROM runs WHERE NOT ({_retry()})"
        return {row[0] for row in self._conn.execute(sql)}

    def insert(self, row: dict[str, Any]) -> bool:
        """Insert one run and commit; it replaces a stored row of its key only when that one is
        to be retried (:data:`RETRY_STATUSES`). False when a finished row of its key was stored."""
        data = {k: row.get(k) for k in COLUMNS}
        if isinstance(data["trace"], list | tuple):
            data["trace"] = json.dumps(data["trace"])
        if isinstance(data["violations"], list | tuple):
            data["violations"] = json.dumps(data["violations"])
        names = ", ".join(data)
        marks = ", ".join("?" for _ in data)
        updates = ", ".join(f"{k} = excluded.{k}" for k in data if k != "key")
        sql = (
            f"INSERT INTO runs ({names}) VALUES ({marks}) "
            f"ON CONFLICT(key) DO UPDATE SET {updates} WHERE {_retry('runs.')}"
        )
        try:
            cur = self._conn.execute(sql, list(data.values()))
            self._conn.commit()
        except sqlite3.OperationalError as exc:  # a full disk, a store made read-only
            raise InputError("--db", str(self.path), f"cannot be written ({exc})") from None
        return cur.rowcount == 1

    def rows(self, where: str = "", params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        """All rows (optionally filtered by an SQL ``where`` clause) as dicts."""
        sql = "SELECT * FROM runs" + (f" WHERE {where}" if where else "") + " ORDER BY rowid"
        cur = self._conn.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        out = []
        for values in cur:
            row = dict(zip(names, values, strict=True))
            row["trace"] = json.loads(row["trace"]) if row.get("trace") else []
            row["violations"] = json.loads(row["violations"]) if row.get("violations") else []
            out.append(row)
        return out

    def count(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
