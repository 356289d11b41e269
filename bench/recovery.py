"""`bench recover`: copy what a damaged store still holds into a new one.

SQLite's own `.recover` lives in its command-line shell, which Python's sqlite3 module does not offer and a
user's machine may lack; this walks each table by rowid instead, stepping over the pages that cannot be
read. A run whose scores cannot be read is left out (a rerun in the new store computes it again), so the new
store holds only complete rows; the damaged file is opened read-only and left as it is.
"""
from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from .store import DB_NAME, ResultStore, StoreError, legacy_environment_default, migrate_v1

TABLES = ("environments", "invocations", "runs", "scores")
MAX_UNREADABLE_IN_A_ROW = 1000   # rowids stepped over before a table's readable part counts as ended


def recover(damaged_dir: Path, new_dir: Path) -> dict[str, int]:
    source_path, target_path = Path(damaged_dir) / DB_NAME, Path(new_dir) / DB_NAME
    if not source_path.is_file():
        raise StoreError(f"no store in {damaged_dir}: pass the directory that holds the damaged bench.sqlite")
    if target_path.exists():
        raise StoreError(f"{target_path} exists already: pass a new directory to recover into")
    with tempfile.TemporaryDirectory(prefix="bench-recover-") as scratch:
        copy = Path(scratch) / DB_NAME
        copy.write_bytes(_padded(source_path.read_bytes()))
        counts = _recover(copy, source_path, target_path)
    ResultStore(Path(new_dir)).close()   # opens it as a writer would: integrity checked, journal mode set
    return counts


def _padded(data: bytes) -> bytes:
    """A truncated file padded with zero pages to the size its header states: SQLite refuses a file shorter
    than that outright, while zero pages only make the rows on them unreadable."""
    if len(data) < 100 or not data.startswith(b"SQLite format 3\x00"):
        return data
    page_size = int.from_bytes(data[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(data[28:32], "big")
    return data + bytes(max(0, pages * page_size - len(data)))


def _recover(copy: Path, source_path: Path, target_path: Path) -> dict[str, int]:
    source = sqlite3.connect(f"{copy.as_uri()}?immutable=1", uri=True)
    try:
        version = source.execute("PRAGMA user_version").fetchone()[0]
        schema = source.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    except sqlite3.DatabaseError as err:
        raise StoreError(f"{source_path} cannot be read at all ({err}): nothing can be recovered; "
                         "rerun the plan into a new --results DIR") from None
    memory = sqlite3.connect(":memory:", isolation_level=None)
    for _, sql in schema:
        memory.execute(sql)
    counts = {}
    for table in (t for t in TABLES if t in {name for name, _ in schema}):
        rows = _readable_rows(source, table)
        if rows:
            memory.executemany(f"INSERT OR IGNORE INTO {table} VALUES ({','.join('?' * len(rows[0]))})", rows)
        counts[table] = len(rows)
    source.close()
    incomplete = memory.execute("DELETE FROM runs WHERE status IN ('ok', 'no-op') AND key NOT IN "
                                "(SELECT key FROM scores)").rowcount
    memory.execute("DELETE FROM scores WHERE key NOT IN (SELECT key FROM runs)")
    counts["runs"] -= incomplete
    counts["runs left out (scores unreadable)"] = incomplete
    memory.execute(f"PRAGMA user_version = {version}")
    if version == 1:
        migrate_v1(memory, legacy_environment_default())
    target_path.parent.mkdir(parents=True, exist_ok=True)
    target = sqlite3.connect(target_path)
    memory.backup(target)
    target.close()
    return counts


def _readable_rows(conn: sqlite3.Connection, table: str) -> list[tuple]:
    """Every row of `table` that can be read, in rowid order, stepping over unreadable ones."""
    rows, last, unreadable = [], 0, 0
    while unreadable < MAX_UNREADABLE_IN_A_ROW:
        try:
            for row in conn.execute(f"SELECT rowid, * FROM {table} WHERE rowid > ? ORDER BY rowid", (last,)):
                rows.append(row[1:])
                last, unreadable = row[0], 0
            break
        except sqlite3.DatabaseError:
            last += 1
            unreadable += 1
    return rows
