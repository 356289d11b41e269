"""The store's schema, and the ladder that brings a store of any older schema up to it.

Each rung is one transaction, so a kill halfway leaves the store at the rung below: version 0 (an empty file)
gets the schema; 1 -> 3 records an environment and attributes rows to invocations; 2 -> 3 allows 'skipped' rows
and takes the code versions out of `config`; 3 -> 4 keys every run by its dataset's content. A writer climbs
the ladder on disk; a reader climbs it in a copy in memory, so that reading leaves the file as it is.
"""
from __future__ import annotations

import datetime
import enum
import json
import sqlite3
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from . import environment
from .protocol import config_key, spec_key
from .run_status import RunStatus
from .runlog import InvocationStatus

#: 4: a run's key holds its dataset's content; 3: a row may be 'skipped' (a method that cannot run on the cell);
#: 2: provenance
SCHEMA_VERSION = 4
#: What a migrated run records as its data when its dataset was not registered where the store was migrated.
UNREGISTERED = "unregistered at migration"


def sql_list(members: Iterable[enum.Enum]) -> str:
    """Enum members as an SQL list of their values: `'ok', 'no-op'`."""
    return ", ".join(f"'{member.value}'" for member in members)


SCHEMA = f"""
CREATE TABLE environments (
    id TEXT PRIMARY KEY, description TEXT NOT NULL, first_seen REAL NOT NULL
);
CREATE TABLE invocations (
    id INTEGER PRIMARY KEY, command TEXT NOT NULL, settings TEXT NOT NULL,
    started_at REAL NOT NULL, ended_at REAL,
    status TEXT NOT NULL CHECK (status IN ({sql_list(InvocationStatus)})),
    message TEXT NOT NULL DEFAULT '', pid INTEGER, host TEXT
);
CREATE TABLE runs (
    key TEXT PRIMARY KEY, config TEXT NOT NULL,
    dataset TEXT NOT NULL, ir INTEGER, seed INTEGER NOT NULL,
    sampler TEXT NOT NULL, params TEXT NOT NULL, classifier TEXT NOT NULL, tune_metric TEXT,
    status TEXT NOT NULL CHECK (status IN ({sql_list(RunStatus)})),
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


def upgrade(conn: sqlite3.Connection, version: int, *, readonly: bool,
            legacy_environment: dict[str, Any] | None = None,
            data_contents: Callable[[str], str | None] | None = None) -> sqlite3.Connection:
    """The store at `conn`, of schema `version`, brought up the ladder; the connection to read it through (a
    reader's is a copy in memory once a rung applies). Schema-1 rows get `legacy_environment` (default:
    `legacy_environment_default()`); from schema 3, runs are keyed by the content `data_contents` gives their
    dataset (None where it is not registered). Without `data_contents` a reader stops at schema 3: its rows read,
    but no plan finds them; a writer needs it (bench.store refuses one without it)."""
    if version == 0:   # one transaction: a kill halfway leaves no half-made schema
        conn.executescript(f"BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
        return conn
    if version == 1:
        conn = _in_memory_if(conn, readonly)
        migrate_v1(conn, legacy_environment or legacy_environment_default())
        if not readonly:
            conn.execute("VACUUM")   # the migration rewrote every table: give the space back
        version = 3
    if version == 2 and not readonly:   # a reader needs no migration: it finds no 'skipped' rows
        migrate_v2(conn)
    if version in (2, 3) and data_contents is not None:
        conn = _in_memory_if(conn, readonly)
        migrate_v3(conn, data_contents)
    return conn


def _in_memory_if(conn: sqlite3.Connection, readonly: bool) -> sqlite3.Connection:
    """A reader migrates a copy in memory: reading leaves the file as it is."""
    if readonly and conn.execute("PRAGMA database_list").fetchone()[2]:
        memory = sqlite3.connect(":memory:", isolation_level=None)
        conn.backup(memory)
        conn.close()
        return memory
    return conn


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
    """Schema 1 -> 3, in one transaction. Rows get the environment `legacy_env`, and their specs its versions
    of the libraries each sampler's key now holds (so a plan made where those versions are installed finds
    them: no recomputation). Invocations get a status (finished when schema 1
    recorded an end, else interrupted), and rows the invocation that wrote them: the latest one started
    before the row was stored (rows merged in from other stores are attributed by time too)."""
    from .samplers.registry import CATALOGUE   # here: migrating is rare, importing is slow
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
            entry = CATALOGUE.get(spec["sampler"].split("[")[0])
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
