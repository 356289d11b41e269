"""The Python API runs and reads by the CLI's code: the same rows, the same tables, the same errors."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bench import api
from bench.cli import app
from bench.errors import UserError
from bench.store import ResultStore


def bench(*args):
    return CliRunner().invoke(app, list(args))


def test_run_returns_the_stored_rows_and_resumes(toy_env):
    rows = api.run(samplers=["No-resampling", "RandomOverSampler"], seeds=[1], quiet=True)
    assert len(rows) == 6 and set(rows["status"]) == {"ok"}          # (1 + 2 ratios) x SVM, DT
    assert {"test_macro_f1", "val_mcc"} <= set(rows.columns)
    stored = ResultStore(toy_env / "runs", readonly=True)
    assert sorted(stored.frame()["key"]) == sorted(rows["key"])
    (invocation,) = stored.invocations().itertuples()
    assert invocation.command.startswith("bench.api.run(samplers=")
    assert json.loads(invocation.settings)["run"]["samplers"] == ["No-resampling", "RandomOverSampler"]
    again = api.run(samplers=["No-resampling", "RandomOverSampler"], seeds=[1], quiet=True)
    assert len(again) == 6 and len(stored.invocations()) == 1      # nothing left to compute: not logged again


def test_tables_are_the_cli_tables(toy_env):
    assert bench("run").exit_code == 0
    for key in ("2", "failures"):
        printed = bench("table", "--table", key, "--metric", "mcc", "--format", "csv").stdout
        assert api.text(key, metric="mcc", fmt="csv").rstrip("\n") == printed.rstrip("\n")   # print adds one
    ranks = api.table("2", metric="mcc")
    assert list(ranks.index) == ["No-resampling", "TomekLinks", "RandomOverSampler"]
    assert ranks.attrs["title"] == "Table 2: average ranks, MCC"
    assert any("Average rank" in n for n in ranks.attrs["notes"])
    assert api.rows().shape[0] == len(ResultStore(toy_env / "runs", readonly=True).frame())


def test_a_sampler_from_outside_runs_from_the_api(toy_env):
    rows = api.run(samplers=["imblearn.over_sampling:RandomOverSampler[shrinkage=0.2]"], classifiers=["DT"],
                   quiet=True)
    assert set(rows["sampler"]) == {"imblearn.over_sampling:RandomOverSampler[shrinkage=0.2]"}
    assert set(rows["status"]) == {"ok"} and len(rows) == 2


@pytest.mark.parametrize("call, words", [
    (lambda: api.run(samplers=["SMOTEE"], quiet=True), "did you mean SMOTE"),
    (lambda: api.run(seeds=[-1], quiet=True), "seeds"),
    (lambda: api.table("9"), "unknown table"),
    (lambda: api.table("all"), "builds one table"),
])
def test_bad_input_raises_the_cli_one_line_errors_before_anything_is_stored(toy_env, call, words):
    with pytest.raises(UserError, match=words):
        call()
    assert not (toy_env / "runs").exists()
