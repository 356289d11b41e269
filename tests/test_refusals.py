"""Bad input is refused before anything is stored (issue 26, point 6): parameter values checked by the methods'
own validation, a classifier that is no classifier, a misspelt category, over-wide files and over-long names -
each one line naming the fix, exit code 2, no store or data directory created; a sampler's non-finite output is
an error row naming it, and a run whose every row failed exits with code 1."""
from __future__ import annotations

import hashlib
import sqlite3
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from bench.cli import app
from bench.data import files
from bench.store import ResultStore
from conftest import add_to_config, importable_module, refused_before_anything_is_stored


NAN_SAMPLER = '''
import numpy as np
from imblearn.over_sampling import RandomOverSampler


class NaNOverSampler(RandomOverSampler):
    """Random over-sampling that spoils one value of its output."""

    def fit_resample(self, X, y):
        X, y = super().fit_resample(X, y)
        X = np.array(X, dtype=float)
        X[0, 0] = np.nan
        return X, y
'''


def bench(*args):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("flag, value, words", [
    ("--samplers", "SMOTE[k_neighbors=abc]", ["sampler SMOTE[k_neighbors=abc]", "'k_neighbors' parameter of SMOTE",
                                              "correct them in the name SMOTE[k_neighbors=abc]"]),
    ("--samplers", "sv.SMOTE[n_neighbors=-1]", ["n_neighbors less than 1", "the name sv.SMOTE[n_neighbors=-1]"]),
    ("--samplers", "AutoSMOTE[budget=abc]", ["'budget' parameter of AutoSMOTE", "the name AutoSMOTE[budget=abc]"]),
    ("--samplers", "No-resampling[x=1]", ["rejects the parameters ['x']", "it takes none"]),
    ("--classifiers", "sklearn.linear_model:LogisticRegression[max_iter=abc]",
     ["'max_iter' parameter of LogisticRegression", "give its parameters values it accepts"]),
    ("--classifiers", "sklearn.linear_model:LinearRegression", ["LinearRegression is not a classifier",
                                                                "sklearn.base.ClassifierMixin"]),
])
def test_bad_values_on_the_command_line_are_refused(toy_env, flag, value, words):
    refused_before_anything_is_stored(bench("run", flag, value), toy_env, words)


@pytest.mark.parametrize("toml, words", [
    ('\n[samplers.Mine]\nfactory = "imblearn.over_sampling:SMOTE"\nparams = { k_neighbors = "abc" }\n',
     ["sampler Mine refuses", "[samplers.Mine] params in"]),
    ('\n[profiles.t.params]\nRandomOverSampler = { shrinkage = -1.0 }\n',
     ["'shrinkage' parameter of RandomOverSampler", "params.RandomOverSampler of [run] or [profiles.t]"]),
    ('\n[classifiers.Logit]\nfactory = "sklearn.linear_model:LogisticRegression"\nparams = { C = "big" }\n',
     ["[classifiers.Logit]", "'C' parameter of LogisticRegression"]),
    ('\n[samplers.Mine]\nfactory = "imblearn.over_sampling:SMOTE"\ncategory = "overr"\n',
     ["[samplers.Mine] category = 'overr'", "use one of No-resampling, under, over, combined", "user"]),
])
def test_bad_values_in_bench_toml_are_refused(toy_env, toml, words):
    add_to_config(toy_env, toml)
    samplers = "Mine" if "samplers.Mine" in toml else "RandomOverSampler"
    classifiers = "Logit" if "Logit" in toml else "DT"
    refused_before_anything_is_stored(bench("run", "--samplers", samplers, "--classifiers", classifiers), toy_env,
                                      words)


def test_every_catalogue_default_passes_the_value_check(toy_env):
    """Values the adapter works out at fit time (KMeansSMOTE's minority share) are not refused as bad input."""
    result = bench("run", "--samplers", "KMeansSMOTE", "--classifiers", "DT", "--ratios", "1.0")
    assert result.exit_code == 0, result.output
    assert set(ResultStore(toy_env / "runs", readonly=True).frame()["status"]) == {"ok"}


def test_a_refused_run_leaves_what_is_stored_as_it_was(toy_env):
    assert bench("run", "--samplers", "RandomOverSampler").exit_code == 0
    database = toy_env / "runs" / "bench.sqlite"
    before = _digest(database)
    result = bench("run", "--samplers", "RandomOverSampler,SMOTE[k_neighbors=0]")
    assert result.exit_code == 2 and "'k_neighbors' parameter of SMOTE" in result.output
    assert _digest(database) == before


def _digest(path) -> str:
    with sqlite3.connect(path) as conn:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()


@pytest.fixture
def nan_sampler(toy_env, monkeypatch):
    importable_module(toy_env, monkeypatch, "nan_sampler", NAN_SAMPLER)
    yield "nan_sampler:NaNOverSampler"
    sys.modules.pop("nan_sampler", None)


def test_non_finite_output_is_an_error_row_naming_the_sampler(toy_env, nan_sampler):
    # a tree fits on NaN: without the check these rows were scored ok
    result = bench("run", "--samplers", f"No-resampling,{nan_sampler}", "--classifiers", "DT")
    assert result.exit_code == 0, result.output   # not every row failed
    frame = ResultStore(toy_env / "runs", readonly=True).frame()
    mine = frame[frame["sampler"] == nan_sampler]
    assert len(mine) == 2 and set(mine["status"]) == {"error"}
    assert all(f"the sampler {nan_sampler} returned non-finite values" in m for m in mine["message"])
    assert set(frame[frame["sampler"] == "No-resampling"]["status"]) == {"ok"}


def test_a_run_whose_every_row_failed_exits_1_with_the_failures_per_sampler(toy_env, nan_sampler):
    result = bench("run", "--samplers", nan_sampler)
    assert result.exit_code == 1, result.output
    assert "all 4 computed rows failed:" in result.output
    assert f"{nan_sampler}: 4 rows, the first: ValueError: the sampler {nan_sampler} returned non-finite" \
        in result.output
    assert "--retry-failed" in result.output
    assert len(ResultStore(toy_env / "runs", readonly=True).frame()) == 4   # the failures are kept


# ------------------------------------------------------------------------------------------- data import
@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _refused(result, data_dir, *words) -> None:
    """Exit code 2, one line naming every word, and no data directory created."""
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert all(w in lines[0] for w in words), lines[0]
    assert not data_dir.exists()


def _wide(path, n_columns: int, rows: int = 4):
    columns = [f"f{i}" for i in range(n_columns - 1)] + ["label"]
    if path.suffix == ".csv":
        path.write_text(",".join(columns) + "\n" + "".join(",".join(["1"] * (n_columns - 1) + [str(r % 2)]) + "\n"
                                                         for r in range(rows)))
    elif path.suffix == ".arff":
        path.write_text("@relation wide\n" + "".join(f"@attribute {c} numeric\n" for c in columns)
                        + "@data\n" + "".join(",".join(["1"] * n_columns) + "\n" for _ in range(rows)))
    else:
        pd.DataFrame([[1] * n_columns] * rows, columns=columns).to_parquet(path)
    return path


def test_a_csv_of_100000_columns_is_refused_from_its_header(tmp_path, data_dir, monkeypatch):
    csv = _wide(tmp_path / "wide.csv", 100_000)
    monkeypatch.setattr(files.pd, "read_csv", lambda *a, **k: pytest.fail("the whole file was parsed"))
    _refused(bench("data", "import", str(csv)), data_dir, "wide.csv has 100000 columns, more than 10000",
             "import a file of the columns you need")


@pytest.mark.parametrize("suffix", [".arff", ".parquet"])
def test_other_formats_are_refused_from_their_header_too(tmp_path, data_dir, suffix):
    path = _wide(tmp_path / f"wide{suffix}", files.MAX_COLUMNS + 1, rows=2)
    _refused(bench("data", "import", str(path)), data_dir, f"has {files.MAX_COLUMNS + 1} columns")


def test_over_long_dataset_names_are_refused(tmp_path, data_dir):
    csv = _wide(tmp_path / "small.csv", 3, rows=20)
    _refused(bench("data", "import", str(csv), "--name", "a" * 300), data_dir, "has 300 characters, more than 100",
             "pass a shorter --name")
    long_stem = _wide(tmp_path / f"{'b' * 150}.csv", 3, rows=20)
    _refused(bench("data", "import", str(long_stem)), data_dir, "has 150 characters", "pass --name")


def test_a_name_the_filesystem_cannot_hold_is_one_line(tmp_path, data_dir, monkeypatch):
    monkeypatch.setattr(files, "MAX_NAME", 1000)   # past the limit, the filesystem's own (255 bytes) refuses
    csv = _wide(tmp_path / "small.csv", 3, rows=20)
    result = bench("data", "import", str(csv), "--name", "a" * 300)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "File name too long" in lines[0] and "choose a shorter dataset name" in lines[0]
    assert not (data_dir / "registry.json").exists()
