"""The Python API runs and reads by the CLI's code: the same rows, the same tables, the same errors."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench import api
from bench.cli import app
from bench.errors import UserError
from bench.store import ResultStore


PROJECT = Path(__file__).resolve().parents[1]
SHARED_PAPER_TABLES = PROJECT.parent / "shared" / "paper-tables"


def bench(*args):
    return CliRunner().invoke(app, list(args))


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


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


@pytest.mark.skipif(not SHARED_PAPER_TABLES.is_dir(), reason="needs the paper's tables in ../shared/paper-tables")
@pytest.mark.parametrize("key, store, from_the_paper", [("paper", "quick", "against the paper's Table 2"),
                                                        ("4", "ablations-1000", "paper Macro-F1 rank")])
def test_text_finds_the_paper_s_tables_where_bench_table_does(monkeypatch, key, store, from_the_paper):
    """On a committed store, from the project's folder: both read ../shared/paper-tables by the one default,
    and print the same; the store is left as it was."""
    monkeypatch.chdir(PROJECT)
    monkeypatch.delenv("BENCH_CONFIG", raising=False)
    folder = PROJECT / "results" / store
    before = _digest(folder)
    printed = bench("table", "--table", key, "--results", str(folder))
    assert printed.exit_code == 0, printed.output
    text = api.text(key, results=folder)
    assert from_the_paper in text and printed.stdout == text + ("" if text.endswith("\n") else "\n")   # print's newline
    assert _digest(folder) == before


def test_report_goes_where_bench_report_puts_it(toy_env):
    api.run(samplers=["No-resampling", "RandomOverSampler"], quiet=True)
    written = api.report()
    assert written[-1] == toy_env / "runs" / "report" / "index.md"   # beside the store: not committed to git
    printed = bench("report", "--out", str(toy_env / "cli"))
    assert printed.exit_code == 0, printed.output
    assert sorted(p.name for p in written) == sorted(p.name for p in (toy_env / "cli").iterdir())
    assert (toy_env / "cli" / "table2_mcc.csv").read_text() == (toy_env / "runs" / "report" / "table2_mcc.csv").read_text()


def test_check_is_bench_check(toy_env):
    baseline = toy_env / "baseline"
    missing = api.check("t", baseline=baseline, quiet=True)
    assert not missing.ok and "bench check --update" in missing.problems[0]
    made = api.check("t", baseline=baseline, update=True, quiet=True)
    assert made.updated and made.ok and (baseline / "baseline_ranks.csv").is_file()
    again = api.check("t", baseline=baseline, quiet=True)
    assert again.ok and again.mode == "exact" and again.rows == made.rows > 0
    printed = bench("check", "--profile", "t", "--baseline", str(baseline))
    assert printed.exit_code == 0 and f"check passed: {again.rows} rows match {baseline}" in printed.output


def test_seeds_reads_a_campaign_on_the_seeds_it_has_completed(toy_env):
    """`--seeds 1` on a store of seeds 1-2 prints what a store of seed 1 alone prints, from the CLI and the API;
    a seed the store lacks is one line naming those it holds."""
    assert bench("run", "--seeds", "1,2", "--results", str(toy_env / "both")).exit_code == 0
    assert bench("run", "--seeds", "1", "--results", str(toy_env / "first")).exit_code == 0
    alone = bench("table", "--table", "2", "--format", "csv", "--results", str(toy_env / "first")).stdout
    both = bench("table", "--table", "2", "--format", "csv", "--results", str(toy_env / "both")).stdout
    read = bench("table", "--table", "2", "--format", "csv", "--results", str(toy_env / "both"), "--seeds", "1")
    assert read.exit_code == 0 and read.stdout == alone and read.stdout != both
    assert api.text("2", fmt="csv", results=toy_env / "both", seeds=[1]).rstrip("\n") == alone.rstrip("\n")
    assert api.text("2", fmt="csv", results=toy_env / "both", seeds=(s for s in [1])).rstrip("\n") == alone.rstrip("\n")
    missing = bench("table", "--results", str(toy_env / "both"), "--seeds", "1,7")
    assert missing.exit_code == 2
    assert missing.output.strip() == "error: --seeds 1,7: the store holds seeds 1,2: pass some of them"
    for wrong in ("1,2", 1, [True]):
        with pytest.raises(UserError, match=r"pass seeds as a list of integers, e\.g\. \[1, 2\]"):
            api.text("2", results=toy_env / "both", seeds=wrong)
    # a report of some seeds says so, counts the environments' rows among those, and goes beside the whole one
    written = bench("report", "--results", str(toy_env / "both"), "--seeds", "1")
    assert written.exit_code == 0, written.output
    index = (toy_env / "both" / "report-seeds-1" / "index.md").read_text()
    rows = len(ResultStore(toy_env / "first", readonly=True).frame())
    assert f"From {rows} stored rows (only seed 1 (`--seeds`) of the store's seeds 1, 2;" in index
    assert f"({rows} rows)" in index and not (toy_env / "both" / "report").exists()
