"""The results store: one SQLite file in the results directory, the only truth about what was computed.

Three tables say where every number came from: `runs` (one row per finished (unit, classifier), with its
scores in `scores`), `environments` (each distinct environment that computed rows, stored once and
referenced by them) and `invocations` (every `bench run`: its effective settings and how it ended).

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

import datetime
import enum
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

from . import environment
from .data import PAPER_DATASETS
from .errors import UserError
from .files import open_nofollow, refuse_link
from .metrics import METRICS
from .protocol import Row, config_key, spec_key
from .run_status import SCORED, RunStatus

DB_NAME = "bench.sqlite"
LOCK_NAME = ".lock"
SQLITE_FILES = (DB_NAME, f"{DB_NAME}-journal", f"{DB_NAME}-wal", f"{DB_NAME}-shm")   # what SQLite writes
#: 4: a run's key holds its dataset's content; 3: a row may be 'skipped' (a method that cannot run on the cell);
#: 2: provenance
SCHEMA_VERSION = 4
#: What a migrated run records as its data when its dataset was not registered where the store was migrated.
UNREGISTERED = "unregistered at migration"


class InvocationStatus(str, enum.Enum):
    """How a `bench run` ended. RUNNING that no process holds any more was killed (e.g. SIGKILL)."""
    RUNNING = "running"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


def _checked(enum_type) -> str:
    return ", ".join(f"'{member.value}'" for member in enum_type)


SCHEMA = f"""
CREATE TABLE environments (
    id TEXT PRIMARY KEY, description TEXT NOT NULL, first_seen REAL NOT NULL
);
CREATE TABLE invocations (
    id INTEGER PRIMARY KEY, command TEXT NOT NULL, settings TEXT NOT NULL,
    started_at REAL NOT NULL, ended_at REAL,
    status TEXT NOT NULL CHECK (status IN ({_checked(InvocationStatus)})),
    message TEXT NOT NULL DEFAULT '', pid INTEGER, host TEXT
);
CREATE TABLE runs (
    key TEXT PRIMARY KEY, config TEXT NOT NULL,
    dataset TEXT NOT NULL, ir INTEGER, seed INTEGER NOT NULL,
    sampler TEXT NOT NULL, params TEXT NOT NULL, classifier TEXT NOT NULL, tune_metric TEXT,
    status TEXT NOT NULL CHECK (status IN ({_checked(RunStatus)})),
    message TEXT NOT NULL DEFAULT '',
    resample_s REAL, fit_s REAL, n_train INTEGER, n_minority INTEGER,
    extra TEXT NOT NULL DEFAULT '{{}}', spec TEXT NOT NULL, finished_at REAL NOT NULL,
    environment TEXT REFERENCES environments(id), invocation INTEGER REFERENCES invocations(id)
);
CREATE TABLE scores (
    key TEXT NOT NULL REFERENCES runs(key) ON DELETE CASCADE,
    split TEXT NOT NULL, metric TEXT NOT NULL, value REAL,
    PRIMARY KEY (key, split, metric)
);
CREATE INDEX runs_by_config ON runs (dataset, ir, seed, classifier, sampler);
CREATE INDEX runs_by_identity ON runs (config);
CREATE INDEX runs_by_invocation ON runs (invocation);
"""
RUN_COLUMNS = ("key", "config", "dataset", "ir", "seed", "sampler", "params", "classifier", "tune_metric",
               "status", "message", "resample_s", "fit_s", "n_train", "n_minority", "extra", "spec",
               "finished_at", "environment", "invocation")
#: A scored run (ok, no-op) has every metric on two splits (validation or training, and test); one with fewer
#: score rows (a recovery of a damaged file, scores deleted by hand) is not stored: the next run computes it.
INCOMPLETE = (f"status IN ({', '.join(repr(s.value) for s in SCORED)}) AND "
              f"(SELECT COUNT(*) FROM scores s WHERE s.key = runs.key) < {2 * len(METRICS)}")
#: How long a writer waits for a run lock whose `bench run` has ended: its workers, which die with it, may
#: still hold the lock for a moment.
ORPHANS_GRACE_S = 10.0


class StoreError(UserError):
    """A results-directory problem the user can fix; one line."""


def damaged(path: Path, err: Exception) -> StoreError:
    return StoreError(f"{path} is damaged ({err}); nothing was written to it. Copy the rows that can still be "
                      f"read into a new store with `bench recover {path.parent} NEW_DIR`, then use NEW_DIR")


def results_dir(path: Path | str) -> Path:
    """The folder of a store: a path to the store's own file names its folder (``--results runs/bench.sqlite``)."""
    path = Path(path)
    return path.parent if path.name == DB_NAME and path.is_file() else path


class ResultStore:
    """A results directory's store. `readonly=True` for every command that only reads: it never creates,
    migrates or writes anything. A writer takes the run lock, then creates the store or checks an existing one
    for damage and migrates an older schema on disk, its rows given `legacy_environment` (default: see
    `legacy_environment()`) and, from schema 3, the content of their datasets as `data_contents` (dataset ->
    digest, None where it is not registered) says; a reader given `data_contents` (a plan's) migrates a copy
    in memory, so that its keys are a plan's keys. `exclusive()` holds the lock again for a run."""

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
            if version not in (0, 1, 2, 3, SCHEMA_VERSION):
                raise StoreError(f"{self.path} was written by a newer version of bench (schema {version}, this "
                                 f"one reads up to {SCHEMA_VERSION}): upgrade bench or pass a new --results DIR")
            if not readonly:
                self._check_integrity()
            if version == 0 and readonly:
                raise StoreError(f"{self.path} holds no results: run `bench run --results {self.directory}` first")
            if version == 0:   # one transaction: a kill halfway leaves no half-made schema
                self._conn.executescript(f"BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
            if version == 1:
                self._in_memory_if(readonly)
                migrate_v1(self._conn, legacy_environment or legacy_environment_default())
                if not readonly:
                    self._conn.execute("VACUUM")   # the migration rewrote every table: give the space back
                version = 3
            if version == 2 and not readonly:   # a reader needs no migration: it finds no 'skipped' rows
                migrate_v2(self._conn)
            if version in (2, 3) and data_contents is not None:
                self._in_memory_if(readonly)
                migrate_v3(self._conn, data_contents)
            elif version in (2, 3) and not readonly:
                raise StoreError(f"{self.path} is of schema {version}: open it with the data directory's contents")
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

    def _in_memory_if(self, readonly: bool) -> None:
        """A reader migrates a copy in memory: reading leaves the file as it is."""
        if readonly and self._conn.execute("PRAGMA database_list").fetchone()[2]:
            memory = sqlite3.connect(":memory:", isolation_level=None)
            self._conn.backup(memory)
            self._conn.close()
            self._conn = memory

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
        wal_mode = self.path.read_bytes()[18:19] == b"\x02" if self.path.stat().st_size >= 100 else False
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
    def keys(self, statuses: tuple[str, ...] | None = None) -> set[str]:
        """Keys of the stored runs (with these statuses); a scored run missing some of its scores is not
        stored: a plan computes it again."""
        where = "" if statuses is None else f"AND status IN ({','.join('?' * len(statuses))})"
        return {k for (k,) in self._read(f"SELECT key FROM runs WHERE NOT ({INCOMPLETE}) {where}", statuses or ())}

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
                     json.dumps(s["params"], sort_keys=True), s["classifier"], s["tune_metric"], r.status,
                     r.message, r.resample_s, r.fit_s, r.n_train, r.n_minority,
                     json.dumps(r.extra, sort_keys=True), json.dumps(s, sort_keys=True), now, env_id, invocation))
                cur.execute("DELETE FROM scores WHERE key = ?", (r.key,))
                cur.executemany("INSERT INTO scores VALUES (?,?,?,?)",
                                [(r.key, split, metric, v) for (split, metric), v in r.scores.items()])

    def forget(self, statuses: tuple[str, ...]) -> int:
        """Drop rows with these statuses so the next run retries them (`bench run --retry-failed`)."""
        marks = ",".join("?" * len(statuses))
        with self._transaction() as cur:
            return cur.execute(f"DELETE FROM runs WHERE status IN ({marks})", statuses).rowcount

    def frame(self, *, superseded: bool = False) -> pd.DataFrame:
        """Every current row, scores widened to val_<metric> / test_<metric> / train_<metric> columns (train:
        the real training rows, scored where the protocol has no validation split), in a fixed order.

        A run computed again - in another environment (e.g. after a library upgrade gave it a new key), or after
        its method's code changed - keeps only its newest row; `superseded=True` returns the older ones as well."""
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
    def environments(self) -> pd.DataFrame:
        """Each environment with its description (a dict) and how many current rows it computed."""
        envs = self._frame("SELECT id, description, first_seen FROM environments ORDER BY first_seen, id")
        envs["description"] = envs["description"].map(json.loads)
        counts = self.frame()["environment"].value_counts()
        envs["rows"] = envs["id"].map(counts).fillna(0).astype(int)
        return envs

    def begin_invocation(self, command: str, settings: dict[str, Any]) -> int:
        """Record a `bench run` as it starts, with the settings that are in effect for it."""
        with self._transaction() as cur:
            cur.execute("INSERT INTO invocations (command, settings, started_at, status, pid, host) "
                        "VALUES (?,?,?,?,?,?)",
                        (command, json.dumps(settings, sort_keys=True, default=list), time.time(),
                         InvocationStatus.RUNNING.value, os.getpid(), socket.gethostname()))
            return cur.lastrowid

    def end_invocation(self, invocation: int, status: InvocationStatus, message: str = "") -> None:
        with self._transaction() as cur:
            cur.execute("UPDATE invocations SET ended_at = ?, status = ?, message = ? WHERE id = ?",
                        (time.time(), status.value, message, invocation))

    def invocations(self) -> pd.DataFrame:
        """Every `bench run` with its true row count (rows it stored that are still in the store, counted,
        not written at exit: a killed driver writes nothing) and how it ended. One still marked running whose
        lock is free or whose driver has ended (on this host) was killed: it shows as interrupted."""
        frame = self._frame("SELECT i.*, (SELECT COUNT(*) FROM runs r WHERE r.invocation = i.id) AS rows "
                            "FROM invocations i ORDER BY i.id")
        locked = self.is_running()
        killed = [status == InvocationStatus.RUNNING.value and not (locked and _alive(pid, host))
                  for status, pid, host in zip(frame["status"], frame["pid"], frame["host"])]
        frame.loc[killed, "status"] = InvocationStatus.INTERRUPTED.value
        return frame

    def _close_abandoned_invocations(self) -> None:
        """Under the run lock, an invocation still marked running was killed: record it as interrupted,
        ended at its last stored row."""
        with self._transaction() as cur:
            cur.execute("UPDATE invocations SET status = ?, message = 'the driver was killed', ended_at = "
                        "(SELECT MAX(finished_at) FROM runs r WHERE r.invocation = invocations.id) "
                        "WHERE status = ?",
                        (InvocationStatus.INTERRUPTED.value, InvocationStatus.RUNNING.value))

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
            alive = _alive(*_parse_owner(owner))
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


def _alive(pid, host) -> bool:
    """Whether a process (a run's driver) still exists; one on another host, or unknown, counts as alive."""
    if pd.isna(pid) or (not pd.isna(host) and host != socket.gethostname()):
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # another user's process
        return True
    return True


# ---------------------------------------------------------------------------------------------- migration
def legacy_environment_default() -> dict[str, Any]:
    """What a schema-1 store's rows are recorded as when nothing better is known: the library versions
    installed where the store is migrated (a store is usually migrated by the installation that wrote it);
    CPU, BLAS and commit were not recorded then, and say so."""
    env = environment.describe()
    return {**env, "cpu": "unknown", "blas": "unknown", "project": {"version": env["project"]["version"],
                                                                     "commit": None, "dirty": None},
            "note": f"rows of a schema-1 store, migrated on {datetime.date.today()}: library versions as "
                    "installed at migration; CPU and BLAS were not recorded"}


def migrate_v1(conn: sqlite3.Connection, legacy_env: dict[str, Any]) -> None:
    """Schema 1 -> 2, in one transaction. Rows get the environment `legacy_env`, and their specs its versions
    of the libraries each sampler's key now holds (so a plan made where those versions are installed finds
    them: no recomputation). Invocations get a status (finished when schema 1
    recorded an end, else interrupted), and rows the invocation that wrote them: the latest one started
    before the row was stored (rows merged in from other stores are attributed by time too)."""
    from .samplers.registry import SAMPLERS, all_entries   # only here: migrating is rare, importing is slow
    all_entries()
    packages = legacy_env["packages"]
    env_id = environment.environment_id(legacy_env)
    old_runs = conn.execute("SELECT * FROM runs ORDER BY rowid").fetchall()
    names = [d[0] for d in conn.execute("SELECT * FROM runs LIMIT 0").description]
    invocations = conn.execute("SELECT id, command, settings, started_at, finished_at FROM invocations "
                               "ORDER BY started_at").fetchall()
    with _migration(conn, 3):
        for table in ("runs", "scores", "invocations"):
            conn.execute(f"ALTER TABLE {table} RENAME TO old_{table}")
        conn.execute("DROP INDEX IF EXISTS runs_by_config")
        for statement in filter(str.strip, SCHEMA.split(";")):
            conn.execute(statement)
        conn.execute("INSERT INTO environments VALUES (?,?,?)",
                     (env_id, json.dumps(legacy_env, sort_keys=True), time.time()))
        for id_, command, settings, started, finished in invocations:
            status = InvocationStatus.FINISHED if finished is not None else InvocationStatus.INTERRUPTED
            note = "" if finished is not None else "schema 1 recorded no end"
            conn.execute("INSERT INTO invocations (id, command, settings, started_at, ended_at, status, message) "
                         "VALUES (?,?,?,?,?,?,?)", (id_, command, settings, started, finished, status.value, note))
        writer_of = _attribution(invocations)
        renamed = []
        for values in old_runs:
            row = dict(zip(names, values))
            spec = json.loads(row["spec"])
            entry = SAMPLERS.get(spec["sampler"].split("[")[0])
            wanted = environment.KEY_LIBRARIES + (entry.libraries if entry else ())
            spec["libraries"] = {name: packages.get(name, environment.NOT_INSTALLED) for name in wanted}
            new = {**row, "key": spec_key(spec), "config": config_key(spec), "spec": json.dumps(spec, sort_keys=True),
                   "environment": env_id, "invocation": writer_of(spec["sampler"], row["finished_at"])}
            conn.execute(f"INSERT INTO runs ({','.join(RUN_COLUMNS)}) VALUES ({','.join('?' * len(RUN_COLUMNS))})",
                         tuple(new[c] for c in RUN_COLUMNS))
            renamed.append((new["key"], row["key"]))
        conn.execute("CREATE TEMP TABLE renamed (new TEXT, old TEXT PRIMARY KEY)")
        conn.executemany("INSERT INTO renamed VALUES (?,?)", renamed)
        conn.execute("INSERT INTO scores SELECT renamed.new, s.split, s.metric, s.value FROM old_scores s "
                     "JOIN renamed ON renamed.old = s.key")
        conn.execute("DROP TABLE renamed")
        for table in ("scores", "runs", "invocations"):
            conn.execute(f"DROP TABLE old_{table}")


def migrate_v3(conn: sqlite3.Connection, data_contents: Callable[[str], str | None]) -> None:
    """Schema 3 -> 4: a run's key holds the digest of its dataset's content (spec "data"). Rows are attributed
    to the content registered where the store is migrated - a store is migrated by the installation that
    computed it - and keyed again; nothing is recomputed, and `config` (which leaves the data out) stays. A
    dataset not registered there gets UNREGISTERED: its runs are computed again once it is."""
    digests: dict[str, str] = {}
    renamed = []
    for key, dataset, spec in conn.execute("SELECT key, dataset, spec FROM runs").fetchall():
        if dataset not in digests:
            digests[dataset] = data_contents(dataset) or UNREGISTERED
        spec = {**json.loads(spec), "data": digests[dataset]}
        renamed.append((spec_key(spec), json.dumps(spec, sort_keys=True), key))
    with _migration(conn, 4):
        conn.execute("CREATE TEMP TABLE renamed (new TEXT, spec TEXT, old TEXT PRIMARY KEY)")
        conn.executemany("INSERT INTO renamed VALUES (?,?,?)", renamed)
        conn.execute("UPDATE runs SET key = r.new, spec = r.spec FROM renamed r WHERE runs.key = r.old")
        conn.execute("UPDATE scores SET key = r.new FROM renamed r WHERE scores.key = r.old")
        conn.execute("DROP TABLE renamed")


def migrate_v2(conn: sqlite3.Connection) -> None:
    """Schema 2 -> 3: `runs.status` may also be 'skipped', and `config` leaves the code versions out (a run
    computed again after its method changed supersedes the old row, as one computed in another environment
    does). SQLite cannot change a CHECK constraint in place, so the table is rebuilt (SQLite's documented
    procedure for other schema changes), rows and keys as they were."""
    statements = [s for s in SCHEMA.split(";") if "runs (" in s or "ON runs " in s]
    configs = [(config_key(json.loads(spec)), key) for key, spec in conn.execute("SELECT key, spec FROM runs")]
    with _migration(conn, 3):
        conn.execute(statements[0].replace("CREATE TABLE runs (", "CREATE TABLE new_runs ("))
        conn.execute("INSERT INTO new_runs SELECT * FROM runs")
        conn.executemany("UPDATE new_runs SET config = ? WHERE key = ?", configs)
        conn.execute("DROP TABLE runs")
        conn.execute("ALTER TABLE new_runs RENAME TO runs")
        for index in statements[1:]:
            conn.execute(index)


@contextmanager
def _migration(conn: sqlite3.Connection, version: int) -> Iterator[None]:
    """One transaction that rebuilds tables and ends at schema `version`; foreign keys are off meanwhile, so
    that dropping an old table does not cascade to the rows that reference it."""
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute("PRAGMA foreign_keys=ON")


def _attribution(invocations: list[tuple]):
    """For schema-1 rows, which recorded no invocation: (sampler label, stored at) -> the invocation that
    most likely stored it: the latest started before it whose settings select the sampler, else the one
    running then (a killed one counts as running until the next starts), else the latest started. Rows
    merged in from copies of a store make invocations overlap, so this is an estimate."""
    from .samplers.registry import resolve_samplers
    spans = []
    for i, (id_, _, settings, started, ended) in enumerate(invocations):
        until = ended if ended is not None else \
            (invocations[i + 1][3] if i + 1 < len(invocations) else float("inf"))
        try:
            selected = {c.label for c in resolve_samplers(json.loads(settings).get("samplers", []))}
        except (ValueError, TypeError, AttributeError):   # a name no longer registered, odd settings
            selected = set()
        spans.append((started, until, id_, selected))

    def writer(label: str, at: float) -> int | None:
        started = [s for s in spans if s[0] <= at]
        choosing = [s for s in started if label in s[3]] or [s for s in started if at <= s[1] + 1.0] or started
        return max(choosing, key=lambda s: s[0])[2] if choosing else None
    return writer
