"""The results store: one SQLite file in the results directory, the only truth about what was computed.

Three tables say where every number came from: `runs` (one row per finished (unit, classifier), with its
scores in `scores`), `environments` (each distinct environment that computed rows, stored once and
referenced by them) and `invocations` (every `bench run`: its effective settings and how it ended; the run
log, bench.runlog). The schema and the ladder from older ones are bench.migrations.

Each unit's rows are written in one transaction, so a run killed at any moment leaves either all of a
unit's rows or none of them; a rerun plans only the keys that are missing. One process writes (the
driver); a file lock keeps a second `bench run` off the same directory, and a writer opens, checks,
creates and migrates the file under it. A driver killed mid-transaction leaves a hot journal
(bench.sqlite-journal): the next writer's SQLite rolls it back; a reader, which cannot, says so. Reading never
writes: a reader opens the file read-only, and a store of an older schema is migrated in memory for it, on
disk only by the next writer. A damaged file is never written to (the writer checks it first) and every
command ends with one line naming it; `bench recover` copies what can still be read into a new store.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd

from . import environment, migrations
from .data import PAPER_DATASETS
from .errors import UserError
from .files import open_nofollow, refuse_link
from .metrics import METRICS
from .migrations import RUN_COLUMNS, SCHEMA_VERSION, sql_list
from .protocol import Row, config_key
from .run_status import SCORED, RunStatus
from .runlog import RunLog, driver_alive

DB_NAME = "bench.sqlite"
LOCK_NAME = ".lock"
SQLITE_FILES = (DB_NAME, f"{DB_NAME}-journal", f"{DB_NAME}-wal", f"{DB_NAME}-shm")   # what SQLite writes
#: A scored run (ok, no-op) has every metric on two splits (validation or training, and test); one with fewer
#: score rows (a recovery of a damaged file, scores deleted by hand) is not stored: the next run computes it.
INCOMPLETE = (f"status IN ({sql_list(SCORED)}) AND "
              f"(SELECT COUNT(*) FROM scores s WHERE s.key = runs.key) < {2 * len(METRICS)}")
#: The last frame a reader read from a store at rest, with the store's identity (ResultStore.frame): one entry, so
#: a process holds at most one store's rows beyond what its caller keeps.
_last_read: tuple[tuple, pd.DataFrame] | None = None
#: How long a writer waits for a run lock whose `bench run` has ended: its workers, which die with it, may
#: still hold the lock for a moment.
ORPHANS_GRACE_S = 10.0


def _header(path: Path) -> bytes:
    """The SQLite file's 100-byte header (shorter for a file that is not yet a database), not the whole file."""
    with open(path, "rb") as main:
        return main.read(100)


def _in_wal_mode(header: bytes) -> bool:
    return len(header) == 100 and header[18:19] == b"\x02"   # the file format's write version: 2 is WAL


class StoreError(UserError):
    """A results-directory problem the user can fix; one line."""


def damaged(path: Path, err: Exception) -> StoreError:
    return StoreError(f"{path} is damaged ({err}); nothing was written to it. Copy the rows that can still be "
                      f"read into a new store with `bench recover {path.parent} NEW_DIR`, then use NEW_DIR")


def results_dir(path: Path | str) -> Path:
    """The folder of a store: a path to the store's own file names its folder (``--results runs/bench.sqlite``)."""
    path = Path(path)
    return path.parent if path.name == DB_NAME and path.is_file() else path


class ResultStore(RunLog):
    """A results directory's store. `readonly=True` for every command that only reads: it never creates,
    migrates or writes anything. A writer takes the run lock, then creates the store or checks an existing one
    for damage and migrates an older schema on disk (bench.migrations.upgrade), its rows given
    `legacy_environment` (default: bench.migrations.legacy_environment_default) and, from schema 3, the content
    of their datasets as `data_contents` (dataset -> digest, None where it is not registered) says; a reader
    given `data_contents` (a plan's) migrates a copy in memory, so that its keys are a plan's keys.
    `exclusive()` holds the lock again for a run; the run log's methods are bench.runlog.RunLog's."""

    def __init__(self, directory: Path, *, readonly: bool = False,
                 legacy_environment: dict[str, Any] | None = None,
                 data_contents: Callable[[str], str | None] | None = None):
        self.directory = results_dir(directory)
        self.path = self.directory / DB_NAME
        self.readonly = readonly
        if readonly:
            self._conn = self._open_for_reading()
            self._prepare(legacy_environment, data_contents)
            return
        self._prepare_directory()
        lock = _take_lock(self.directory)
        try:   # under the lock: two runs started at once must not both create the schema
            self._conn = self._connect()
            self._prepare(legacy_environment, data_contents)
        finally:
            _release_lock(lock)

    def _prepare(self, legacy_environment: dict[str, Any] | None,
                 data_contents: Callable[[str], str | None] | None) -> None:
        """Version check, then (a writer) integrity check, schema creation or migration, and the journal mode
        last: nothing is written to a file this version cannot use."""
        readonly = self.readonly
        try:
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if not 0 <= version <= SCHEMA_VERSION:
                raise StoreError(f"{self.path} was written by a newer version of bench (schema {version}, this "
                                 f"one reads up to {SCHEMA_VERSION}): upgrade bench or pass a new --results DIR")
            if not readonly:
                self._check_integrity()
            if version == 0 and readonly:
                raise StoreError(f"{self.path} holds no results: run `bench run --results {self.directory}` first")
            if 0 < version < SCHEMA_VERSION and not readonly and data_contents is None:
                raise StoreError(f"{self.path} is of schema {version}: open it with the data directory's contents")
            self._conn = migrations.upgrade(self._conn, version, readonly=readonly,
                                            legacy_environment=legacy_environment, data_contents=data_contents)
            if not readonly:
                # A rollback journal, not WAL: a read-only reader of a WAL file has to create -shm/-wal files
                # beside it, and committed results must stay untouched by reading.
                self._conn.execute("PRAGMA journal_mode=DELETE")
            self._conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as err:
            self._conn.close()
            raise self._failure(err) from None
        except BaseException:
            self._conn.close()
            raise

    # ------------------------------------------------------------------------------------------ opening
    def _prepare_directory(self) -> None:
        if self.directory.is_file():
            raise StoreError(f"--results {self.directory} is a file: pass a folder for the results (it will hold "
                             f"{DB_NAME})")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            probe = self.directory / f".write-test-{os.getpid()}"
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))   # EXCL: never via a link
            probe.unlink()
        except OSError as err:
            raise StoreError(f"results directory {self.directory} is not writable ({err.strerror}): "
                             "choose another with --results DIR") from None
        for name in SQLITE_FILES:   # SQLite follows links; its flag to refuse them is not reachable from Python
            refuse_link(self.directory / name)

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA synchronous=FULL")   # this connection's setting; nothing is written
        except sqlite3.DatabaseError as err:
            raise self._failure(err) from None
        return conn

    def _open_for_reading(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise StoreError(f"no results in {self.directory}: run `bench run --results {self.directory}` first "
                             "or pass the directory that holds bench.sqlite")
        # A store still in WAL mode with no -wal file has everything in the main file: `immutable` reads it
        # without creating the -shm/-wal files a plain read-only connection would leave behind.
        wal_mode = _in_wal_mode(_header(self.path))
        immutable = wal_mode and not Path(f"{self.path}-wal").exists()
        uri = f"{self.path.resolve().as_uri()}?{'immutable=1' if immutable else 'mode=ro'}"
        try:
            return sqlite3.connect(uri, uri=True, timeout=60, isolation_level=None)
        except sqlite3.DatabaseError as err:
            raise self._failure(err) from None

    def _check_integrity(self) -> None:
        """Refuse to write into a damaged file (SQLite's quick_check: 10 ms on an 8 MB store)."""
        problems = [r[0] for r in self._conn.execute("PRAGMA quick_check(3)")]
        if problems != ["ok"]:
            raise damaged(self.path, sqlite3.DatabaseError("; ".join(problems)))

    def _failure(self, err: Exception) -> StoreError:
        """One line for what SQLite said. A hot journal is no damage: a read-only connection cannot roll it back
        (SQLITE_READONLY_ROLLBACK), and reading the main file without it could show half a transaction, so a
        reader sends the user to the next writer. A full disk or an I/O error is no damage either."""
        text = str(err)
        if self.readonly and "readonly database" in text and Path(f"{self.path}-journal").is_file():
            return StoreError(f"{self.path} has an interrupted write pending ({DB_NAME}-journal, left by a killed "
                              f"run): the next `bench run --results {self.directory}` rolls it back (only the "
                              "unfinished write is undone), then this command can read it")
        if text == "database or disk is full":   # SQLite's text for SQLITE_FULL, in every version
            return StoreError(f"the disk holding {self.path} is full ({text}): free space there and run the same "
                              "command again; everything stored so far is kept")
        if isinstance(err, sqlite3.OperationalError):   # I/O, permissions, locked: the file is not to blame
            return StoreError(f"cannot use {self.path} ({text}): check the disk and that no other program holds "
                              "the file, then run the same command again; everything stored so far is kept")
        return damaged(self.path, err)

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the directory's run lock; a second `bench run` on it gets a clear error. An invocation still
        marked running then belongs to a driver that was killed: it is closed as interrupted."""
        lock = _take_lock(self.directory)
        try:
            self._close_abandoned_invocations()
            yield
        finally:
            _release_lock(lock)

    def is_running(self) -> bool:
        """Whether a `bench run` holds this directory now (without taking or creating anything)."""
        try:
            fd = os.open(self.directory / LOCK_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:   # none, or a link (which no run would have used)
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)   # closing drops the shared lock too
        return False

    # ------------------------------------------------------------------------------------------ rows
    def keys(self, statuses: tuple[RunStatus, ...] | None = None) -> set[str]:
        """Keys of the stored runs (with these statuses); a scored run missing some of its scores is not
        stored: a plan computes it again."""
        where = "" if statuses is None else f"AND status IN ({','.join('?' * len(statuses))})"
        return {k for (k,) in self._read(f"SELECT key FROM runs WHERE NOT ({INCOMPLETE}) {where}", statuses or ())}

    def specs_by_config(self) -> dict[str, dict]:
        """The spec of the newest complete row of each config key (a run's identity without its code and data,
        bench.protocol.config_key): what a plan compares its rows with, to say which recompute a stored run
        under changed code or data, and what changed."""
        rows = self._read(f"SELECT config, spec FROM runs WHERE NOT ({INCOMPLETE}) ORDER BY finished_at")
        return {config: json.loads(spec) for config, spec in rows}

    def incomplete(self) -> pd.DataFrame:
        """The scored runs that lack some of their scores (the next run computes them again), for `bench status`."""
        return self._frame(f"SELECT key, dataset, ir, seed, sampler, classifier FROM runs WHERE {INCOMPLETE} "
                           "ORDER BY dataset, ir, seed, sampler, classifier")

    def write(self, rows: list[Row], invocation: int | None = None) -> None:
        """All rows of one unit, atomically, with the environments that computed them."""
        now = time.time()
        marks = ",".join("?" * len(RUN_COLUMNS))
        with self._transaction() as cur:
            for r in rows:
                s = r.spec
                env_id = None
                if r.environment is not None:
                    env_id = environment.environment_id(r.environment)
                    cur.execute("INSERT OR IGNORE INTO environments VALUES (?,?,?)",
                                (env_id, json.dumps(r.environment, sort_keys=True), now))
                cur.execute(
                    f"INSERT OR REPLACE INTO runs ({','.join(RUN_COLUMNS)}) VALUES ({marks})",
                    (r.key, config_key(s), s["dataset"], s["ir"], s["seed"], s["sampler"],
                     json.dumps(s["params"], sort_keys=True), s["classifier"], s["tune_metric"], r.status.value,
                     r.message, r.resample_s, r.fit_s, r.n_train, r.n_minority,
                     json.dumps(r.extra, sort_keys=True), json.dumps(s, sort_keys=True), now, env_id, invocation))
                cur.execute("DELETE FROM scores WHERE key = ?", (r.key,))
                cur.executemany("INSERT INTO scores VALUES (?,?,?,?)",
                                [(r.key, split, metric, v) for (split, metric), v in r.scores.items()])

    def forget(self, statuses: tuple[RunStatus, ...]) -> int:
        """Drop rows with these statuses so the next run retries them (`bench run --retry-failed`)."""
        marks = ",".join("?" * len(statuses))
        with self._transaction() as cur:
            return cur.execute(f"DELETE FROM runs WHERE status IN ({marks})", statuses).rowcount

    def frame(self, *, superseded: bool = False) -> pd.DataFrame:
        """Every current row, scores widened to val_<metric> / test_<metric> / train_<metric> columns (train:
        the real training rows, scored where the protocol has no validation split), in a fixed order.

        A run computed again - in another environment (e.g. after a library upgrade gave it a new key), or after
        its method's code changed - keeps only its newest row; `superseded=True` returns the older ones as well.

        A reader of a store that nothing is writing reads it once per process (a copy each time): `bench table`
        per artefact through the API, or a report after its tables, skips the SQL and the pivot (3 s on a
        300 MB store)."""
        identity = self.resting_identity(superseded)
        global _last_read
        if identity is not None and _last_read is not None and _last_read[0] == identity:
            return _last_read[1].copy()
        frame = self._read_frame(superseded)
        if identity is not None and self.resting_identity(superseded) == identity:   # no write while reading
            _last_read = (identity, frame.copy())
        return frame

    def resting_identity(self, superseded: bool = False) -> tuple | None:
        """For a reader, the main file's identity when no journal or write-ahead log is beside it (no run is
        writing, none left a transaction to roll back) and the file is in the store's rollback-journal mode,
        else None. It holds SQLite's file change counter, which every commit in that mode increments (in WAL
        mode it need not), so rows that changed never share an identity with those read before."""
        if not self.readonly or any((self.directory / name).exists() for name in SQLITE_FILES[1:3]):
            return None
        try:
            stat, header = self.path.stat(), _header(self.path)
        except OSError:
            return None
        if _in_wal_mode(header):   # a store of an older version: read every time
            return None
        return (str(self.path.resolve()), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, header[24:28],
                superseded)

    def _read_frame(self, superseded: bool) -> pd.DataFrame:
        newest = "" if superseded else \
            "WHERE key IN (SELECT key FROM (SELECT key, ROW_NUMBER() OVER (PARTITION BY config " \
            "ORDER BY finished_at DESC, key) AS n FROM runs) WHERE n = 1)"
        runs = self._frame(f"SELECT * FROM runs {newest} ORDER BY config, key")
        position = {name: i for i, name in enumerate(self.dataset_order(runs["dataset"].unique()))}
        runs = runs.sort_values("dataset", key=lambda names: names.map(position), kind="stable",
                                ignore_index=True)
        scores = self._frame("SELECT * FROM scores")
        scores["column"] = scores["split"] + "_" + scores["metric"]
        wide = scores.pivot(index="key", columns="column", values="value")
        # every metric's columns exist even when no row has them (e.g. no validation split)
        wide = wide.reindex(columns=[f"{split}_{m}" for split in ("val", "test", "train") for m in METRICS])
        return runs.merge(wide, left_on="key", right_index=True, how="left")

    def dataset_order(self, datasets) -> list[str]:
        """``datasets`` in the order the store's runs first asked for them (``all``: the paper's order), the
        rest alphabetically: tables list datasets as the researcher did, not in the order of their hashes."""
        wanted: list[str] = []
        for (settings,) in self._read("SELECT settings FROM invocations ORDER BY id"):
            stored = json.loads(settings)
            names = stored.get("run", stored).get("datasets") or []   # older stores kept [run] at the top
            wanted += list(PAPER_DATASETS) if names == ["all"] else [str(n) for n in names]
        by_folded = {str(d).casefold(): d for d in datasets}
        asked = [by_folded[n.casefold()] for n in wanted if n.casefold() in by_folded]
        return list(dict.fromkeys(asked + sorted(datasets, key=lambda d: str(d).casefold())))

    def superseded_count(self) -> int:
        return self._read("SELECT COUNT(*) - COUNT(DISTINCT config) FROM runs")[0][0]

    # ------------------------------------------------------------------------------------------ provenance
    def environments(self, rows: pd.DataFrame | None = None) -> pd.DataFrame:
        """Each environment with its description (a dict) and how many of `rows` it computed (default: the current
        rows; a reader that already holds them, or only some seeds' of them, passes its frame)."""
        envs = self._frame("SELECT id, description, first_seen FROM environments ORDER BY first_seen, id")
        envs["description"] = envs["description"].map(json.loads)
        counts = (self.frame() if rows is None else rows)["environment"].value_counts()
        envs["rows"] = envs["id"].map(counts).fillna(0).astype(int)
        return envs

    # ------------------------------------------------------------------------------------------ sqlite
    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as err:
            raise self._failure(err) from None

    def _frame(self, sql: str) -> pd.DataFrame:
        try:
            return pd.read_sql_query(sql, self._conn)
        except sqlite3.DatabaseError as err:
            raise self._failure(err) from None
        except pd.errors.DatabaseError as err:   # pandas wraps SQLite's error
            raise self._failure(err.__cause__ or err) from None

    @contextmanager
    def _transaction(self):
        """One transaction; SQLite's own error (a full disk) is what the user sees, not the failed ROLLBACK
        that would follow it: after some errors SQLite has rolled back already."""
        if self.readonly:
            raise RuntimeError("a store opened for reading is never written to")
        cur = self._conn.cursor()
        try:
            try:   # BEGIN inside: a Ctrl-C or SIGTERM just after it must not leave the transaction open
                cur.execute("BEGIN IMMEDIATE")
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    cur.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as err:   # a full disk, an I/O error; not a bug's IntegrityError
            raise self._failure(err) from None


# ---------------------------------------------------------------------------------------------- run lock
#: The run-lock descriptors this process holds. flock belongs to the open file, which a fork shares: a forked
#: child (a worker) closes them at once (closing, not unlocking, which would free the driver's lock too), so that
#: a child outliving a killed driver does not keep the directory locked.
_held_locks: set[int] = set()


def _close_held_locks_in_child() -> None:
    for fd in _held_locks:
        os.close(fd)
    _held_locks.clear()


os.register_at_fork(after_in_child=_close_held_locks_in_child)


def _take_lock(directory: Path) -> int:
    """flock on the directory's .lock, which then names this process. Held by a run that has ended (killed),
    the lock is waited for a moment, since that run's workers die with it; one line if it stays busy."""
    path = directory / LOCK_NAME
    fd = open_nofollow(path, os.O_RDWR | os.O_CREAT)
    deadline = time.monotonic() + ORPHANS_GRACE_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            owner = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            alive = driver_alive(*_parse_owner(owner))
            if not alive and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            os.close(fd)
            if alive:
                raise StoreError(f"another `bench run` ({owner}) is using {directory}: wait for it to finish "
                                 "or pass a different --results DIR") from None
            raise StoreError(f"{path} is still held by processes of a `bench run` that has ended ({owner}): "
                             f"stop them (`fuser -v {path}` lists them) and run again") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode(), 0)
    _held_locks.add(fd)
    return fd


def _release_lock(fd: int) -> None:
    _held_locks.discard(fd)
    os.close(fd)   # closing the only descriptor releases the flock


def _parse_owner(text: str) -> tuple[int | None, str | None]:
    """(pid, host) from a .lock's text: 'pid 123 on host' (older versions wrote 'pid 123')."""
    words = text.split()
    pid = int(words[1]) if len(words) >= 2 and words[0] == "pid" and words[1].isdigit() else None
    return pid, (words[3] if len(words) >= 4 and words[2] == "on" else None)
