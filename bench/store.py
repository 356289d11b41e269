"""The results store: one SQLite file in the results directory, one row per finished (unit, classifier).

Each unit's rows are written in one transaction, so a run killed at any moment leaves either all of a
unit's rows or none of them; a rerun plans only the keys that are missing. One process writes (the
driver); a file lock keeps a second `bench run` off the same directory.
"""
from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pandas as pd

from .metrics import METRICS
from .protocol import Row

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    dataset TEXT NOT NULL, ir INTEGER, seed INTEGER NOT NULL,
    sampler TEXT NOT NULL, params TEXT NOT NULL, classifier TEXT NOT NULL, tune_metric TEXT,
    status TEXT NOT NULL CHECK (status IN ('ok', 'no-op', 'error', 'timeout')),
    message TEXT NOT NULL DEFAULT '',
    resample_s REAL, fit_s REAL, n_train INTEGER, n_minority INTEGER,
    extra TEXT NOT NULL DEFAULT '{}', spec TEXT NOT NULL, finished_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS scores (
    key TEXT NOT NULL REFERENCES runs(key) ON DELETE CASCADE,
    split TEXT NOT NULL, metric TEXT NOT NULL, value REAL,
    PRIMARY KEY (key, split, metric)
);
CREATE INDEX IF NOT EXISTS runs_by_config ON runs (dataset, ir, seed, classifier, sampler);
CREATE TABLE IF NOT EXISTS invocations (
    id INTEGER PRIMARY KEY, command TEXT NOT NULL, settings TEXT NOT NULL,
    started_at REAL NOT NULL, finished_at REAL, rows_written INTEGER NOT NULL DEFAULT 0
);
"""
DB_NAME = "bench.sqlite"
SCHEMA_VERSION = 1


class StoreError(Exception):
    """A results-directory problem the user can fix; one line."""


class ResultStore:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            probe = self.directory / f".write-test-{os.getpid()}"
            probe.write_text("")
            probe.unlink()
        except OSError as err:
            raise StoreError(f"results directory {self.directory} is not writable ({err.strerror}): "
                             "choose another with --results DIR") from None
        self.path = self.directory / DB_NAME
        self._conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise StoreError(f"{self.path} was written by another version of bench (schema {version}, "
                             f"this one reads {SCHEMA_VERSION}): pass a new --results DIR")
        if version == 0:      # a new store; an existing one is left byte-identical by readers
            self._conn.executescript(SCHEMA)
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the directory's run lock; a second `bench run` on it gets a clear error."""
        handle = open(self.directory / ".lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise StoreError(f"another `bench run` ({owner}) is using {self.directory}: "
                             "wait for it to finish or pass a different --results DIR") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def keys(self, statuses: tuple[str, ...] | None = None) -> set[str]:
        if statuses is None:
            return {k for (k,) in self._conn.execute("SELECT key FROM runs")}
        marks = ",".join("?" * len(statuses))
        return {k for (k,) in self._conn.execute(f"SELECT key FROM runs WHERE status IN ({marks})", statuses)}

    def write(self, rows: list[Row]) -> None:
        """All rows of one unit, atomically."""
        now = time.time()
        with self._transaction() as cur:
            for r in rows:
                s = r.spec
                cur.execute(
                    "INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (r.key, s["dataset"], s["ir"], s["seed"], s["sampler"],
                     json.dumps(s["params"], sort_keys=True), s["classifier"], s["tune_metric"], r.status,
                     r.message, r.resample_s, r.fit_s, r.n_train, r.n_minority,
                     json.dumps(r.extra, sort_keys=True), json.dumps(s, sort_keys=True), now))
                cur.execute("DELETE FROM scores WHERE key = ?", (r.key,))
                cur.executemany("INSERT INTO scores VALUES (?,?,?,?)",
                                [(r.key, split, metric, v) for (split, metric), v in r.scores.items()])

    def log_invocation(self, command: str, settings: dict) -> int:
        """Record a `bench run` (its command line and resolved settings) for the report's provenance."""
        with self._transaction() as cur:
            cur.execute("INSERT INTO invocations (command, settings, started_at) VALUES (?, ?, ?)",
                        (command, json.dumps(settings, sort_keys=True, default=list), time.time()))
            return cur.lastrowid

    def finish_invocation(self, invocation: int, rows_written: int) -> None:
        with self._transaction() as cur:
            cur.execute("UPDATE invocations SET finished_at = ?, rows_written = ? WHERE id = ?",
                        (time.time(), rows_written, invocation))

    def invocations(self) -> pd.DataFrame:
        return pd.read_sql_query("SELECT * FROM invocations ORDER BY id", self._conn)

    def forget(self, statuses: tuple[str, ...]) -> int:
        """Drop rows with these statuses so the next run retries them (`bench run --retry-failed`)."""
        marks = ",".join("?" * len(statuses))
        with self._transaction() as cur:
            return cur.execute(f"DELETE FROM runs WHERE status IN ({marks})", statuses).rowcount

    def frame(self) -> pd.DataFrame:
        """Every row, scores widened to val_<metric> / test_<metric> columns."""
        runs = pd.read_sql_query("SELECT * FROM runs ORDER BY key", self._conn)
        scores = pd.read_sql_query("SELECT * FROM scores", self._conn)
        scores["column"] = scores["split"] + "_" + scores["metric"]
        wide = scores.pivot(index="key", columns="column", values="value")
        # every metric's columns exist even when no row has them (e.g. no validation split)
        wide = wide.reindex(columns=[f"{split}_{m}" for split in ("val", "test") for m in METRICS])
        return runs.merge(wide, left_on="key", right_index=True, how="left")

    @contextmanager
    def _transaction(self):
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")
