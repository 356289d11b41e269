"""Cells a method cannot handle (its own declaration) are skipped with the reason: stored as skipped, never as
errors, named in tables and `bench status`, and not computed again."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bench.cli import app
from bench.protocol import config_key, why_it_cannot_run
from bench.samplers.registry import parse_sampler
from bench.store import SCHEMA_VERSION, ResultStore


def bench(*args):
    return CliRunner().invoke(app, list(args))


def _y(*counts):
    return np.repeat(np.arange(len(counts)), counts)


@pytest.mark.parametrize("sampler, y, reason", [
    ("SMOTE", _y(50, 5), "needs more than 5 rows in each minority class (its 5 neighbours); the smallest has 5"),
    ("SMOTE", _y(50, 6), None),
    ("SMOTE[k_neighbors=3]", _y(50, 4), None),                 # the run's parameter, not the default
    ("SMOTE[k_neighbors=3]", _y(50, 3), "(its 3 neighbours); the smallest has 3"),
    ("SMOTEENN", _y(50, 5), "its 5 neighbours"),                # a fixed declaration
    ("ADASYN", _y(50, 2), None),                                # declares nothing: it runs (and may fail)
    ("sv.SMOTE", _y(50, 20, 20), "sv.SMOTE handles two classes only; this data has 3"),
    ("RandomOverSampler", _y(50, 20, 1), None),
])
def test_what_a_method_cannot_handle_is_named(sampler, y, reason):
    choice = parse_sampler(sampler)
    found = why_it_cannot_run(choice.entry, choice.fixed, y)
    assert (found is None) if reason is None else (reason in found), found


def test_skipped_cells_are_stored_shown_and_not_computed_again(toy_env):
    # IR 100 leaves the toy data a handful of minority rows in training: too few for SMOTE's 5 neighbours
    result = bench("run", "--irs", "100", "--samplers", "No-resampling,SMOTE,RandomOverSampler")
    assert result.exit_code == 0, result.output
    frame = ResultStore(toy_env / "runs", readonly=True).frame()
    smote = frame[frame["sampler"] == "SMOTE"]
    assert len(smote) == 4 and set(smote["status"]) == {"skipped"}
    assert smote["message"].str.contains("needs more than 5 rows in each minority class").all()
    assert smote["test_macro_f1"].isna().all()
    assert set(frame[frame["sampler"] != "SMOTE"]["status"]) == {"ok"}
    status = bench("status")
    assert "skipped" in status.stdout and "Skipped, not failed" in status.stdout
    assert "Most common failures" not in status.stdout
    table = bench("table", "--table", "2")
    assert table.exit_code == 0 and "Skipped, not failed" in table.stdout and "SMOTE (4 runs)" in table.stdout
    again = bench("run", "--irs", "100", "--samplers", "No-resampling,SMOTE,RandomOverSampler", "--dry-run")
    assert "10 already stored, 0 to compute" in again.output, again.output


def test_a_binary_only_method_is_skipped_on_multi_class_data(toy_env, tmp_path):
    rng = np.random.RandomState(0)
    y = rng.choice(["a", "b", "c"], size=300, p=[0.6, 0.3, 0.1])
    data = pd.DataFrame(rng.randn(300, 3) + (y == "b")[:, None] + 2 * (y == "c")[:, None], columns=["x", "y", "z"])
    data["label"] = y
    data.to_csv(tmp_path / "three.csv", index=False)
    assert bench("data", "import", str(tmp_path / "three.csv"), "--target", "label").exit_code == 0
    result = bench("run", "--datasets", "three", "--split", "stratified", "--samplers",
                   "RandomOverSampler,sv.SMOTE,AutoSMOTE[budget=3]")
    assert result.exit_code == 0, result.output
    frame = ResultStore(toy_env / "runs", readonly=True).frame()
    assert set(frame[frame["sampler"] == "RandomOverSampler"]["status"]) == {"ok"}
    autosmote = frame[frame["sampler"] == "AutoSMOTE[budget=3]"]     # multi-class since issue 16
    assert len(autosmote) == 4 and set(autosmote["status"]) <= {"ok", "no-op"}, autosmote["message"].tolist()
    sv = frame[frame["sampler"] == "sv.SMOTE"]
    assert set(sv["status"]) == {"skipped"} and sv["message"].str.contains("two classes only").all()


def test_a_schema_2_store_gains_the_skipped_status_when_written_and_stays_as_it_is_when_read(toy_env):
    import sqlite3
    assert bench("run", "--samplers", "No-resampling").exit_code == 0
    path = toy_env / "runs" / "bench.sqlite"
    with sqlite3.connect(path) as conn:   # make it the schema-2 store an older bench wrote
        (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'runs'").fetchone()
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'runs'", (sql.replace(", 'skipped'", ""),))
        conn.execute("PRAGMA user_version = 2")
        conn.execute("UPDATE runs SET config = 'v2-' || config")   # schema 2's config held the code version
    before = ResultStore(toy_env / "runs", readonly=True).frame()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2   # reading changed nothing
    result = bench("run", "--irs", "100", "--samplers", "No-resampling,SMOTE")
    assert result.exit_code == 0, result.output
    after = ResultStore(toy_env / "runs", readonly=True).frame()
    kept = after[after["key"].isin(before["key"])]
    columns = [c for c in before.columns if c != "config"]
    pd.testing.assert_frame_equal(kept[columns].reset_index(drop=True), before[columns].reset_index(drop=True))
    assert (after["config"] == [config_key(json.loads(s)) for s in after["spec"]]).all()
    assert "skipped" in set(after["status"])
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
