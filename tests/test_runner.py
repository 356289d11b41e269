"""The run path: plan -> the local executor's forked workers -> store, with error / timeout / no-op rows and
resume; the grid built once per run; GPU shares."""
from __future__ import annotations

import gc
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from bench.config import load_settings
from bench.data import DataCatalog
from bench.protocol import Row
from bench.executors.local import LocalExecutor
from bench.runner import make_plan
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
    LocalExecutor(settings.data_dir, workers=run.workers).run(plan.units, store.write)
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

    from bench.executors.local import stop_process_pools

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


def test_ctrl_c_on_a_terminal_ends_with_one_line_and_exit_code_130(toy_env, monkeypatch):
    """Ctrl-C in a terminal sends SIGINT to the whole foreground process group: driver and workers. It lands
    while the held sampler computes, after exactly the 4 units before it (8 rows) are stored."""
    mine = toy_env / "mine"
    mine.mkdir()
    (mine / "held_sampler.py").write_text(HELD_SAMPLER)
    held, results = toy_env / "held", toy_env / "interrupted"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(mine), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("HELD_AT", str(held))
    run = OnTerminal("run", "--samplers", "No-resampling,RandomOverSampler,held_sampler:HeldOverSampler,SMOTE",
                     "--ratios", "0.3,0.6,1.0", "--workers", "1", "--results", str(results))
    deadline = time.monotonic() + 120
    while not held.exists():
        assert run.process.poll() is None, f"the run ended before its interrupt point: {run.wait(timeout=10)}"
        assert time.monotonic() < deadline, "the run did not reach its interrupt point"
        time.sleep(0.05)
    os.killpg(run.process.pid, signal.SIGINT)
    code, output = run.wait(timeout=60)
    assert code == 130, output
    assert _count_rows(results / "bench.sqlite") == 8
    assert "interrupted: 8 rows stored; run the same command to resume" in output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output
    log = ResultStore(results, readonly=True).invocations()
    assert log[["status", "rows"]].values.tolist() == [["interrupted", 8]]


def test_a_run_builds_its_grid_once(toy_env, monkeypatch):
    """check_inputs builds the grid that the run then plans against its store (and a dry run prices)."""
    from typer.testing import CliRunner

    from bench import runner
    from bench.cli import app
    built = []
    make_grid = runner.make_grid
    monkeypatch.setattr(runner, "make_grid", lambda *args: built.append(args) or make_grid(*args))
    for args, rows in ((["run", "--dry-run"], 0), (["run"], 8), (["run"], 8)):
        built.clear()
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert len(built) == 1, args
        assert _count_rows(toy_env / "runs" / "bench.sqlite") == rows


def test_per_sampler_settings_keyed_by_a_group_apply_to_its_members_and_a_name_overrides_its_group(toy_env):
    """`time_limits = { smote_variants = 300 }` must reach every smote-variants unit (it was accepted and then
    silently ignored); a sampler's own key wins over its family's, the family's over `all`."""
    from bench.runner import make_grid
    settings = load_settings()
    run = settings.run_for(samplers=["No-resampling", "RandomOverSampler", "SMOTE", "TomekLinks"],
                           time_limits={"all": 50, "imblearn": 40, "SMOTE": 30},
                           params={"over": {"k_neighbors": 3}, "SMOTE": {"k_neighbors": 4}})
    grid = make_grid(run, DataCatalog(settings.data_dir), "zero", False)
    limits = {unit.sampler: unit.time_limit for unit in grid.units}
    assert limits == {"No-resampling": 50, "RandomOverSampler": 40, "SMOTE": 30, "TomekLinks": 40}
    params = {unit.sampler: json.loads(unit.params).get("k_neighbors") for unit in grid.units}
    assert params == {"No-resampling": None, "RandomOverSampler": 3, "SMOTE": 4, "TomekLinks": None}


@pytest.mark.parametrize("table, key, said", [
    ("time_limits", "smote", "time_limits key 'smote' is not a sampler's or a group's exact name: write 'SMOTE'"),
    ("time_limits", "SMOTE[k_neighbors=3]", "write 'SMOTE'"),
    ("params", "SMOTE[k_neighbors=3]", "write 'SMOTE' (fixed parameters go in its value)"),
    ("time_limits", "nosuch", "time_limits key: unknown sampler 'nosuch'")])
def test_a_per_sampler_key_that_would_match_nothing_is_refused_before_anything_is_stored(toy_env, table, key, said):
    """The name resolver forgives `smote` and takes `SMOTE[...]`, but per-sampler tables match exact names:
    such a key used to be accepted and then ignored."""
    from typer.testing import CliRunner
    from bench.cli import app
    value = "{ k_neighbors = 3 }" if table == "params" else "5"
    config = toy_env / "bench.toml"
    config.write_text(config.read_text().replace("[table]", f'[run.{table}]\n"{key}" = {value}\n[table]'))
    result = CliRunner().invoke(app, ["run", "--samplers", "SMOTE"])
    assert result.exit_code == 2 and said in " ".join(result.output.split()), result.output
    assert not (toy_env / "runs").exists()


def test_parameters_a_group_gives_that_a_member_refuses_name_the_group_s_key(toy_env):
    from typer.testing import CliRunner
    from bench.cli import app
    config = toy_env / "bench.toml"
    config.write_text(config.read_text().replace("[table]", "[run.params]\nover = { k_neighbors = 3 }\n[table]"))
    result = CliRunner().invoke(app, ["run", "--samplers", "SMOTE,RandomOverSampler"])
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "RandomOverSampler refuses the parameters" in said, said
    assert "correct them in params.over of [run] or [profiles.t]" in said, said
    assert not (toy_env / "runs").exists()


class _StartsTogether:
    """Writes "start" to a log shared by the run's workers, waits until `together` units have started (at most
    60 s), then writes "end": how many units run at once is read from the log, whatever the machine's speed."""

    def __init__(self, log, together):
        self.log, self.together = Path(log), together

    def fit_resample(self, X, y):
        with open(self.log, "a") as log:
            log.write("start\n")
        deadline = time.monotonic() + 60
        while self.log.read_text().count("start") < self.together and time.monotonic() < deadline:
            time.sleep(0.02)
        with open(self.log, "a") as log:
            log.write("end\n")
        return X, y


def _most_at_once(log) -> int:
    running, most = 0, 0
    for line in log.read_text().splitlines():
        running += 1 if line == "start" else -1
        most = max(most, running)
    return most


def test_units_of_gpu_samplers_share_the_gpus_as_under_ray(toy_env, tmp_path):
    """With a GPU, four units of a GPU sampler run on it at once (a quarter each) and the others wait; units
    that keep their model on the CPU (the catalogue's on_cpu) and runs without a GPU are not held back."""
    import dataclasses
    import json

    from bench.executors.resources import uses_gpu
    from bench.runner import prepare_splits
    name = "test-starts-together"
    if name not in SAMPLERS:
        register(SamplerEntry(name, "test", "test", lambda params, context: _StartsTogether(params["log"],
                              params["together"]), version="1", tunes_ratio=False, uses_gpu=True,
                              on_cpu={"device": "cpu"}))
    settings = load_settings()
    catalog = DataCatalog(settings.data_dir)
    template = make_plan(settings.run_for(samplers=(name,)), catalog, set(), "zero", False).units[0]
    said = []
    for gpus, params, most in ((1, {}, 4), (1, {"device": "cpu"}, 6), (0, {}, 6)):
        log = tmp_path / f"{gpus}-{len(params)}.log"
        log.touch()
        units = [dataclasses.replace(template, seed=seed, params=json.dumps({"log": str(log), "together": most,
                                                                             **params})) for seed in range(6)]
        assert all(uses_gpu(u) for u in units) == (not params)
        prepare_splits(units, catalog)
        rows = []
        LocalExecutor(settings.data_dir, workers=6, gpus=gpus, say=said.append).run(units, rows.extend)
        assert len(rows) == 12 and {r.status for r in rows} == {"no-op"}, [r.message for r in rows]
        assert _most_at_once(log) == most, (gpus, params)
    assert said == ["6 units train on 1 GPU(s), 4 at a time",
                    "no GPU visible: 6 units of GPU samplers train on the CPU"]
