"""What a killed driver, a killed write, a full disk and planted links leave behind: workers gone with their
driver, a hot journal rolled back (never read half-written, never taken for damage), scored runs complete,
one-line errors with the real cause, and no file written through a symbolic link."""
from __future__ import annotations

import fcntl
import multiprocessing as mp
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench import store as store_module
from bench.cli import app
from bench.store import DB_NAME, ResultStore, StoreError
from conftest import OnTerminal, one_line_error

runner = CliRunner()
SAMPLERS = "No-resampling,RandomOverSampler,SMOTE,RandomUnderSampler,TomekLinks"
RATIOS = "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0"   # 32 units, 64 rows: a run long enough to be killed in
LONG_RUN = ("run", "--samplers", SAMPLERS, "--ratios", RATIOS)


def bench(*args):
    return runner.invoke(app, list(args))


def bench_process(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bench.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True, **kwargs)


def stored_rows(results: Path) -> int:
    try:
        with sqlite3.connect(f"{(results / DB_NAME).as_uri()}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.DatabaseError:   # no store yet, or no schema yet
        return 0


def wait_for_rows(results: Path, n: int, proc: subprocess.Popen) -> None:
    """Until the store holds `n` rows: the kill lands at a known point of the run, not after a delay."""
    deadline = time.monotonic() + 300
    while stored_rows(results) < n:
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before the kill point"
        time.sleep(0.02)


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
            except (OSError, IndexError):
                pass
    return out


def gone(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def wait_until_gone(pids: list[int]) -> list[int]:
    """The pids still alive after a generous wait (a process that never dies fails the test, not a slow one)."""
    deadline = time.monotonic() + 60
    while any(not gone(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if not gone(p)]


# ------------------------------------------------------------------------------------------- 1. the driver
def test_killing_the_driver_alone_ends_its_workers_and_frees_the_store(toy_env):
    """SIGKILL to the driver's pid only (as `kill -9 PID` or the OOM killer): its workers die with it, the
    lock is free, the invocation reads as interrupted, and the same command resumes to the full grid."""
    results = toy_env / "runs"
    driver = bench_process(*LONG_RUN)
    wait_for_rows(results, 4, driver)
    workers = children(driver.pid)
    assert workers, "the run's workers should be running"
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    assert wait_until_gone(workers) == []
    store = ResultStore(results, readonly=True)
    assert not store.is_running()
    partial = stored_rows(results)
    assert store.invocations()[["status", "rows"]].values.tolist() == [["interrupted", partial]]
    resumed = bench(*LONG_RUN)
    assert resumed.exit_code == 0, resumed.output
    assert f"{partial} already stored" in resumed.output
    log = ResultStore(results, readonly=True).invocations()
    assert log[["status", "rows"]].values.tolist() == [["interrupted", partial], ["finished", 64 - partial]]
    assert log.loc[0, "message"] == "the driver was killed"


def test_sigterm_stops_a_run_as_ctrl_c_does(toy_env):
    """`kill PID` (SIGTERM, to the driver alone) on a terminal: workers stopped, one line, exit code 143, the
    invocation interrupted, and the cursor the progress bar hid shown again."""
    results = toy_env / "runs"
    run = OnTerminal(*LONG_RUN)
    driver = run.process
    wait_for_rows(results, 2, driver)
    workers = children(driver.pid)
    os.kill(driver.pid, signal.SIGTERM)
    code, output = run.wait(timeout=120)
    assert code == 128 + signal.SIGTERM, output
    stored = stored_rows(results)
    assert f"interrupted: {stored} rows stored; run the same command to resume" in output
    assert "Traceback" not in output
    assert output.rindex("\x1b[?25h") > output.rindex("\x1b[?25l")   # cursor hidden, then shown again
    assert wait_until_gone(workers) == []
    log = ResultStore(results, readonly=True).invocations()
    assert log[["status", "rows", "message"]].values.tolist() == [["interrupted", stored, "stopped by SIGTERM"]]


def _wait_for_the_end(connection):
    connection.send("started")   # after the fork's own handlers ran
    connection.recv()


def test_a_forked_child_does_not_keep_the_run_lock(tmp_path):
    """flock belongs to the open file, which a fork shares: a worker must close it, or outliving its driver it
    would hold the directory."""
    store = ResultStore(tmp_path)
    context = mp.get_context("fork")
    ours, childs = context.Pipe()
    with store.exclusive():
        child = context.Process(target=_wait_for_the_end, args=(childs,))
        child.start()
        assert ours.recv() == "started"
    assert child.is_alive() and not store.is_running()
    ours.send(None)
    child.join()


def test_a_lock_held_after_its_run_ended_says_so_and_a_free_one_is_taken(toy_env, monkeypatch):
    results = toy_env / "runs"
    results.mkdir()
    dead = subprocess.Popen(["true"])   # a pid that has been reaped: no process has it (in this short while)
    dead.wait()
    (results / ".lock").write_text(f"pid {dead.pid}")
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys\nf = open(sys.argv[1])\n"
                               "fcntl.flock(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\nsys.stdin.read()",
                               str(results / ".lock")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "locked\n"
    monkeypatch.setattr(store_module, "ORPHANS_GRACE_S", 0.0)   # no wait for processes that never end here
    one_line_error(bench("run"), f"pid {dead.pid}", "has ended", "fuser")
    holder.stdin.close()
    holder.wait()
    finished = bench("run")   # the lock names the dead pid still, but is free: taken
    assert finished.exit_code == 0, finished.output


# ------------------------------------------------------------------------------------------- 2. the journal
@pytest.fixture
def stored(toy_env):
    """A store of one finished run (8 rows), and its rows as a writer reads them."""
    result = bench("run")
    assert result.exit_code == 0, result.output
    results = toy_env / "runs"
    return results, _rows(results)


def _rows(results: Path) -> list[tuple]:
    with sqlite3.connect(results / DB_NAME) as conn:
        return conn.execute("SELECT key, status, split, metric, value FROM runs LEFT JOIN scores USING (key) "
                            "ORDER BY key, split, metric").fetchall()


CRASH_MID_WRITE = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"   # the store's mode
conn.execute("PRAGMA cache_size = 1")   # spill changed pages into the main file before the commit
conn.execute("BEGIN IMMEDIATE")
conn.execute("DELETE FROM scores")
conn.executemany("INSERT INTO environments VALUES (?, ?, 0)", [(str(i), "x" * 3000) for i in range(300)])
os._exit(1)   # killed before COMMIT
"""


def crash_mid_write(results: Path) -> None:
    """A writer killed inside its transaction, as a SIGKILL leaves it: a hot journal beside the store."""
    subprocess.run([sys.executable, "-c", CRASH_MID_WRITE, str(results / DB_NAME)], check=False)
    assert (results / f"{DB_NAME}-journal").is_file()


def test_a_hot_journal_is_reported_by_readers_recovered_and_rolled_back_by_the_next_run(stored, toy_env):
    results, rows = stored
    crash_mid_write(results)
    main_alone = sqlite3.connect(f"{(results / DB_NAME).as_uri()}?immutable=1", uri=True)
    assert main_alone.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == 0   # half a write, without its journal
    main_alone.close()
    before = {p.name: p.read_bytes() for p in results.glob(f"{DB_NAME}*")}
    for args in (["status"], ["table"], ["report", "--out", str(toy_env / "rep")], ["run", "--dry-run"]):
        one_line_error(bench(*args, "--results", str(results)), "interrupted write pending",
                       f"bench run --results {results}")
        assert {p.name: p.read_bytes() for p in results.glob(f"{DB_NAME}*")} == before   # reading wrote nothing

    recovered = bench("recover", str(results), str(toy_env / "new"))
    assert recovered.exit_code == 0, recovered.output
    assert "8 runs, 64 scores, 0 runs left out" in recovered.output
    assert _rows(toy_env / "new") == rows

    resumed = bench("run")
    assert resumed.exit_code == 0 and "8 already stored, 0 to compute" in resumed.output, resumed.output
    assert not (results / f"{DB_NAME}-journal").exists() and _rows(results) == rows


def test_a_run_missing_scores_is_named_recomputed_and_left_out_of_a_recovery(stored, toy_env):
    results, rows = stored
    with sqlite3.connect(results / DB_NAME) as conn:   # by hand: 2 of one run's 8 scores left
        key, sampler = conn.execute("SELECT key, sampler FROM runs WHERE status = 'ok' ORDER BY key").fetchone()
        conn.execute("DELETE FROM scores WHERE key = ? AND split = 'val'", (key,))
        conn.execute("DELETE FROM scores WHERE key = ? AND metric != 'mcc'", (key,))
    conn.close()
    status = bench("status")
    assert status.exit_code == 0 and "1 stored runs lack some of their scores" in status.output, status.output
    assert sampler in status.output.split("lack some of their scores")[1]
    recovered = bench("recover", str(results), str(toy_env / "new"))
    assert "7 runs, 56 scores, 1 runs left out" in recovered.output, recovered.output
    planned = bench("run", "--dry-run")
    assert "7 already stored, 1 to compute" in planned.output, planned.output
    rerun = bench("run")
    assert rerun.exit_code == 0 and "7 already stored, 1 to compute" in rerun.output, rerun.output
    assert [r[:4] for r in _rows(results)] == [r[:4] for r in rows]   # the same scores, all of them
    assert "lack some of their scores" not in bench("status").output


def test_a_reader_reads_a_resting_store_once_and_never_serves_rows_a_write_changed(stored, monkeypatch):
    """Readers in one process (the API, `bench table` per artefact) share one read of a store nothing writes;
    any commit - here a delete just after the read, which leaves the file's size as it was - reads again."""
    results, _ = stored
    reads = []
    read_frame = ResultStore._read_frame
    monkeypatch.setattr(ResultStore, "_read_frame",
                        lambda self, superseded: reads.append(1) or read_frame(self, superseded))
    first = ResultStore(results, readonly=True).frame()
    size = (results / DB_NAME).stat().st_size
    first["sampler"] = "changed by its caller"
    again = ResultStore(results, readonly=True).frame()
    assert len(reads) == 1 and len(again) == 8 and "changed by its caller" not in set(again["sampler"])
    assert again.equals(read_frame(ResultStore(results, readonly=True), False))

    with sqlite3.connect(results / DB_NAME) as conn:   # one sampler's runs deleted by hand
        conn.execute("DELETE FROM runs WHERE sampler = 'TomekLinks'")
    conn.close()
    assert (results / DB_NAME).stat().st_size == size
    after = ResultStore(results, readonly=True).frame()
    assert len(reads) == 2 and len(after) == 6 and "TomekLinks" not in set(after["sampler"])
    assert len(ResultStore(results, readonly=True).frame(superseded=True)) == 6 and len(reads) == 3


def test_the_schema_is_created_under_the_run_lock(tmp_path):
    """Two `bench run` started at once on a new directory: the second is refused by the lock, before it
    touches the file, instead of meeting a half-created schema."""
    tmp_path.joinpath(".lock").write_text("")
    fd = os.open(tmp_path / ".lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
    try:
        with pytest.raises(StoreError, match="another `bench run`"):
            ResultStore(tmp_path)
        assert not (tmp_path / DB_NAME).exists()
    finally:
        os.close(fd)
    ResultStore(tmp_path).close()
    assert (tmp_path / DB_NAME).exists()


def test_a_newer_schema_in_wal_mode_is_refused_untouched(tmp_path):
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE runs (key TEXT)")
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = (tmp_path / DB_NAME).read_bytes()
    for readonly in (False, True):
        with pytest.raises(StoreError, match="newer version"):
            ResultStore(tmp_path, readonly=readonly)
        assert (tmp_path / DB_NAME).read_bytes() == before


# ------------------------------------------------------------------------------------------- 3. the system
def test_a_full_disk_is_one_line_with_the_cause_logged_and_the_store_intact(stored, toy_env, monkeypatch):
    """SQLite's own SQLITE_FULL (a page limit stands in for the disk) in the middle of a run."""
    results, rows = stored
    real_write = ResultStore.write

    def write_on_a_full_disk(self, batch, invocation=None):
        pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
        self._conn.execute(f"PRAGMA max_page_count = {pages}")   # no page more: the file cannot grow
        real_write(self, batch, invocation)
    more = ("run", "--samplers", SAMPLERS, "--ratios", "0.5,1.0")   # 8 rows more than stored
    with monkeypatch.context() as patch:
        patch.setattr(ResultStore, "write", write_on_a_full_disk)
        one_line_error(bench(*more), "is full (database or disk is full)", "free space", "stored so far is kept",
                       after_the_plan=True)

    store = ResultStore(results)
    assert store._conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    assert store.incomplete().empty
    log = store.invocations()
    assert log["status"].tolist() == ["finished", "failed"]
    assert "database or disk is full" in log.loc[1, "message"] and "rollback" not in log.loc[1, "message"]
    assert log.loc[1, "rows"] < 8
    store.close()
    resumed = bench(*more)
    assert resumed.exit_code == 0 and f"{8 + log.loc[1, 'rows']} already stored" in resumed.output


def test_a_data_directory_that_is_a_file_is_one_line(toy_env, monkeypatch):
    a_file = toy_env / "not-a-folder"
    a_file.write_text("")
    monkeypatch.setenv("BENCH_DATA_DIR", str(a_file))
    for args in (["run"], ["data", "list"]):
        one_line_error(bench(*args), f"{a_file} is a file where a folder is needed", "BENCH_DATA_DIR")


def test_no_file_is_written_through_a_symbolic_link(stored, toy_env):
    results, _ = stored
    victim = toy_env / "victim.txt"
    victim.write_text("mine")
    (results / ".lock").unlink()
    (results / ".lock").symlink_to(victim)
    one_line_error(bench("run"), f"{results / '.lock'} is a symbolic link", "remove the link")
    (results / ".lock").unlink()
    (results / f"{DB_NAME}-journal").symlink_to(toy_env / "elsewhere-journal")
    one_line_error(bench("run"), "is a symbolic link")
    (results / f"{DB_NAME}-journal").unlink()

    for name, target in (("index.md", victim), ("table1.md", toy_env / "outside.md")):   # the 2nd dangling
        report = results / f"report-{name}"
        report.mkdir()
        (report / name).symlink_to(target)
        one_line_error(bench("report", "--out", str(report)), f"{report / name} is a symbolic link")
    assert victim.read_text() == "mine" and not (toy_env / "outside.md").exists()
    assert not (toy_env / "elsewhere-journal").exists()
