"""The run path: plan -> forked workers -> store, with error / timeout / no-op rows and resume."""
from __future__ import annotations

import gc
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd

from bench.config import load_settings
from bench.data import DataCatalog
from bench.protocol import Row
from bench.runner import execute_local, make_plan
from bench.samplers.registry import SAMPLERS, SamplerEntry, register
from bench.store import ResultStore
from conftest import OnTerminal


class _Sleeps:
    def fit_resample(self, X, y):
        time.sleep(30)
        return X, y


class _Raises:
    def fit_resample(self, X, y):
        raise RuntimeError("broken on purpose")


class _ReturnsInput:
    def fit_resample(self, X, y):
        return X.copy(), y.copy()


for name, cls in (("test-sleeps", _Sleeps), ("test-raises", _Raises), ("test-returns-input", _ReturnsInput)):
    if name not in SAMPLERS:
        register(SamplerEntry(name, "test", "test", lambda params, context, cls=cls: cls(), version="1",
                              tunes_ratio=False))


def _run(toy_env, results_dir, **overrides):
    settings = load_settings()
    run = settings.run_for(results=str(results_dir), **overrides)
    catalog = DataCatalog(settings.data_dir)
    store = ResultStore(results_dir)
    plan = make_plan(run, catalog, store.keys(), "zero", False)
    execute_local(plan.units, settings.data_dir, workers=run.workers, on_rows=store.write)
    return store.frame(), plan


def test_one_resampling_serves_every_classifier_and_both_metrics(toy_env):
    frame, plan = _run(toy_env, toy_env / "r")
    # No-resampling once, TomekLinks once (cleaning), RandomOverSampler per ratio (2): 4 units x 2 classifiers
    assert len(plan.units) == 4 and plan.rows == 8
    assert len(frame) == 8 and set(frame["status"]) == {"ok"}
    for column in ("val_macro_f1", "val_mcc", "test_macro_f1", "test_mcc"):
        assert frame[column].between(-1, 1).all()
    ros = frame[frame["sampler"] == "RandomOverSampler"]
    # ratio 1.0 balances the classes: half the training rows are minority
    balanced = ros[ros["params"] == '{"ratio": 1.0}']
    assert (balanced["n_minority"] * 2 == balanced["n_train"]).all()


def test_the_ir_protocol_scores_validation_and_test_the_stratified_one_training_and_test_rows(toy_env):
    ir, _ = _run(toy_env, toy_env / "ir", samplers=("No-resampling",))
    assert ir["val_macro_f1"].notna().all() and ir["train_macro_f1"].isna().all()
    stratified, _ = _run(toy_env, toy_env / "st", samplers=("No-resampling",), split="stratified")
    assert stratified["val_macro_f1"].isna().all() and stratified["test_macro_f1"].notna().all()
    # the training rows' score: a decision tree fits its training rows exactly
    tree = stratified[stratified["classifier"] == "DT"]
    assert (tree["train_macro_f1"] == 1.0).all() and (tree["test_macro_f1"] < 1.0).all()


def test_same_seed_gives_identical_scores(toy_env):
    a, _ = _run(toy_env, toy_env / "a")
    b, _ = _run(toy_env, toy_env / "b")
    cols = ["key", "status", "val_macro_f1", "test_macro_f1", "val_mcc", "test_mcc"]
    assert a[cols].equals(b[cols])


def test_rerun_computes_nothing(toy_env):
    _run(toy_env, toy_env / "r")
    _, plan = _run(toy_env, toy_env / "r")
    assert plan.units == [] and plan.stored_rows == 8


def test_reading_a_store_leaves_its_file_byte_identical(toy_env):
    """Committed result stores stay clean in git when tables and reports are made from them."""
    _run(toy_env, toy_env / "r")
    gc.collect()                              # the run's connection, so that closing this one checkpoints
    db = toy_env / "r" / "bench.sqlite"
    ResultStore(toy_env / "r").close()
    assert not db.with_name("bench.sqlite-wal").exists()
    os.utime(db, ns=(10**18, 10**18))         # any write to the file would move its mtime
    before = db.read_bytes()
    store = ResultStore(toy_env / "r")
    assert len(store.frame()) == 8
    store.close()
    assert db.read_bytes() == before and db.stat().st_mtime_ns == 10**18


def test_tables_list_datasets_in_the_order_the_runs_asked_for_them(tmp_path):
    """Not in the order of the rows' hashes: first as the invocations named them (`all`: the paper's order,
    older stores' settings without a [run] section too), then the datasets no invocation named, by name."""
    store = ResultStore(tmp_path / "r")
    store.begin_invocation("bench run", {"run": {"datasets": ["phoneme", "Zoo"]}})
    store.begin_invocation("bench run", {"datasets": ["all"]})
    spec = {"ir": 20, "seed": 1, "sampler": "SMOTE", "params": {}, "classifier": "DT", "tune_metric": None}
    names = ["mozilla4", "extra-b", "zoo", "phoneme", "Extra-a", "electricity"]
    store.write([Row(f"k-{name}", {**spec, "dataset": name}, "ok") for name in names])
    order = list(pd.unique(store.frame()["dataset"]))
    assert order == ["phoneme", "zoo", "mozilla4", "electricity", "Extra-a", "extra-b"]


def test_failures_become_rows_with_a_status(toy_env):
    frame, _ = _run(toy_env, toy_env / "r", samplers=("test-sleeps", "test-raises", "test-returns-input"),
                    time_limit=2.0)
    by_sampler = frame.groupby("sampler")["status"].unique().map(list).to_dict()
    assert by_sampler == {"test-sleeps": ["timeout"], "test-raises": ["error"],
                          "test-returns-input": ["no-op"]}
    raised = frame[frame["sampler"] == "test-raises"]
    assert raised["message"].str.contains("RuntimeError: broken on purpose").all()
    assert raised["test_mcc"].isna().all()
    # a no-op row still carries the scores of the classifier trained on the unchanged data
    assert frame.loc[frame["sampler"] == "test-returns-input", "test_mcc"].notna().all()


def _bench(*args, env=None, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "bench.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kwargs)


def _count_rows(db):
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        try:
            return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


#: A researcher's sampler that, where HELD_AT names a file, creates it and waits there to be killed: a run's kill
#: point. With one worker the units run in the plan's order, and the driver stores a unit's rows before it sends
#: the next, so when the file appears the units before this sampler's first are stored and no other is.
HELD_SAMPLER = """
import os, time
from pathlib import Path

from imblearn.over_sampling import RandomOverSampler


class HeldOverSampler(RandomOverSampler):
    def fit_resample(self, X, y):
        if os.environ.get("HELD_AT"):
            Path(os.environ["HELD_AT"]).touch()
            time.sleep(600)
        return super().fit_resample(X, y)
"""


def test_resume_after_sigkill_gives_the_rows_of_an_uninterrupted_run(toy_env):
    mine = toy_env / "mine"
    mine.mkdir()
    (mine / "held_sampler.py").write_text(HELD_SAMPLER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(mine), os.environ.get("PYTHONPATH")]))}
    # No-resampling (1 unit) and RandomOverSampler (3 ratios) before the held sampler: 4 units, 8 rows; 14 units
    # and 28 rows in all
    args = ["run", "--samplers", "No-resampling,RandomOverSampler,held_sampler:HeldOverSampler,SMOTE,"
            "RandomUnderSampler,TomekLinks", "--ratios", "0.3,0.6,1.0", "--workers", "1"]
    killed_dir, held = toy_env / "killed", toy_env / "held"
    proc = _bench(*args, "--results", str(killed_dir), env={**env, "HELD_AT": str(held)}, start_new_session=True)
    deadline = time.monotonic() + 120
    while not held.exists():
        assert proc.poll() is None, f"the run ended before its kill point: {proc.stdout.read()}"
        assert time.monotonic() < deadline, "the run did not reach its kill point"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)   # the driver and its workers, mid-run
    proc.wait()
    assert _count_rows(killed_dir / "bench.sqlite") == 8
    store = ResultStore(killed_dir, readonly=True)
    deadline = time.monotonic() + 30
    while store.is_running() and time.monotonic() < deadline:   # the killed workers still hold the lock a moment
        time.sleep(0.05)
    killed = store.invocations()   # counted from the rows, not written at exit
    assert killed[["status", "rows"]].values.tolist() == [["interrupted", 8]]
    resumed = _bench(*args, "--results", str(killed_dir), env=env)
    assert resumed.wait(timeout=300) == 0, resumed.stdout.read()
    log = ResultStore(killed_dir, readonly=True).invocations()
    assert log[["status", "rows"]].values.tolist() == [["interrupted", 8], ["finished", 20]]
    assert log.loc[0, "message"] == "the driver was killed"   # recorded in the store by the next run
    clean = _bench(*args, "--results", str(toy_env / "clean"), env=env)
    assert clean.wait(timeout=300) == 0, clean.stdout.read()
    query = "SELECT key, status, value FROM runs JOIN scores USING (key) ORDER BY key, split, metric"
    with sqlite3.connect(killed_dir / "bench.sqlite") as a, sqlite3.connect(toy_env / "clean" / "bench.sqlite") as b:
        assert a.execute(query).fetchall() == b.execute(query).fetchall()
        assert a.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 28


def test_a_unit_process_does_not_wait_for_an_idle_joblib_pool():
    """ctgan starts a loky pool whose workers idle 300 s; the unit's process must still end at once."""
    import multiprocessing as mp

    from bench.runner import stop_process_pools

    def unit_with_pool(conn):
        from joblib import Parallel, delayed
        conn.send(Parallel(n_jobs=2, backend="loky")(delayed(abs)(-i) for i in range(4)))
        stop_process_pools()

    receiver, sender = mp.get_context("fork").Pipe(duplex=False)
    proc = mp.get_context("fork").Process(target=unit_with_pool, args=(sender,))
    proc.start()
    assert receiver.recv() == [0, 1, 2, 3]
    proc.join(timeout=60)
    assert proc.exitcode == 0


def test_ctrl_c_on_a_terminal_ends_with_one_line_and_exit_code_130(toy_env):
    """Ctrl-C in a terminal sends SIGINT to the whole foreground process group: driver and workers."""
    results = toy_env / "interrupted"
    run = OnTerminal("run", "--samplers", "No-resampling,RandomOverSampler,SMOTE,RandomUnderSampler,TomekLinks",
                     "--ratios", "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0", "--workers", "1",
                     "--results", str(results))
    deadline = time.monotonic() + 120
    while _count_rows(results / "bench.sqlite") < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(run.process.pid, signal.SIGINT)
    code, output = run.wait(timeout=60)
    assert code == 130, output
    stored = _count_rows(results / "bench.sqlite")
    assert 2 <= stored < 64, "the interrupt should land mid-run"   # 32 units x 2 classifiers
    assert f"interrupted: {stored} rows stored; run the same command to resume" in output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output
    log = ResultStore(results, readonly=True).invocations()
    assert log[["status", "rows"]].values.tolist() == [["interrupted", stored]]
