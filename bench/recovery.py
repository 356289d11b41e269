"""`bench recover`: copy what a damaged store still holds into a new one.

SQLite's own `.recover` lives in its command-line shell, which Python's sqlite3 module does not offer and a
user's machine may lack; this walks each table by rowid instead, stepping over the pages that cannot be
read. It works on a copy of the file and of its journal, if a killed write left one: SQLite rolls the copy
back first, as a writer would the store (the main file alone may hold half of that write). A run without its
complete set of scores is left out (a rerun in the new store computes it again), so the new store holds only
complete rows; the damaged file is left as it is.
"""
from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from .files import refuse_link
from .store import DB_NAME, INCOMPLETE, ResultStore, StoreError

TABLES = ("environments", "invocations", "runs", "scores")
MAX_UNREADABLE_IN_A_ROW = 1000   # rowids stepped over before a table's readable part counts as ended


def recover(damaged_dir: Path, new_dir: Path, data_contents=None) -> dict[str, int]:
    """`data_contents`: what an older store's runs are keyed by when the new store is migrated (ResultStore)."""
    source_path, target_path = Path(damaged_dir) / DB_NAME, Path(new_dir) / DB_NAME
    if not source_path.is_file():
        raise StoreError(f"no store in {damaged_dir}: pass the directory that holds the damaged bench.sqlite")
    refuse_link(target_path)
    if target_path.exists():
        raise StoreError(f"{target_path} exists already: pass a new directory to recover into")
    with tempfile.TemporaryDirectory(prefix="bench-recover-") as scratch:
        copy = Path(scratch) / DB_NAME
        copy.write_bytes(_padded(source_path.read_bytes()))
        journal = Path(f"{source_path}-journal")
        if journal.is_file():
            Path(f"{copy}-journal").write_bytes(journal.read_bytes())
        counts = _recover(copy, source_path, target_path)
    # opened as a writer would: integrity checked, migrated up the schema ladder, journal mode set
    ResultStore(Path(new_dir), data_contents=data_contents).close()
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
    """The rows of `copy` (SQLite rolls back a journal beside it on the first read) into `target_path`, at the
    copy's schema (opening the new store migrates it); the counts of what it holds."""
    source = sqlite3.connect(copy)
    try:
        version = source.execute("PRAGMA user_version").fetchone()[0]
        schema = source.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    except sqlite3.DatabaseError as err:
        raise StoreError(f"{source_path} cannot be read at all ({err}): nothing can be recovered; "
                         "rerun the plan into a new --results DIR") from None
    memory = sqlite3.connect(":memory:", isolation_level=None)
    for _, sql in schema:
        memory.execute(sql)
    tables = [t for t in TABLES if t in {name for name, _ in schema}]
    for table in tables:
        rows = _readable_rows(source, table)
        if rows:
            # a row read off a damaged page may break a constraint (a NULL where none may be): it is left out
            memory.executemany(f"INSERT OR IGNORE INTO {table} VALUES ({','.join('?' * len(rows[0]))})", rows)
    source.close()
    incomplete = memory.execute(f"DELETE FROM runs WHERE {INCOMPLETE}").rowcount
    memory.execute("DELETE FROM scores WHERE key NOT IN (SELECT key FROM runs)")
    memory.execute(f"PRAGMA user_version = {version}")
    target_path.parent.mkdir(parents=True, exist_ok=True)
    target = sqlite3.connect(target_path)
    memory.backup(target)
    target.close()
    counts = {table: memory.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in tables}
    return {**counts, "runs left out (scores unreadable or incomplete)": incomplete}


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
