"""The command line: bad input ends with one line naming the fix and exit code 2; nothing stored is touched."""
from __future__ import annotations

import hashlib
import sqlite3

import pytest
from typer.testing import CliRunner

from bench.cli import app
from conftest import one_line_error  # noqa: E402

runner = CliRunner()


def bench(*args):
    return runner.invoke(app, list(args))


def _digest(path):
    """The store's content (the file's bytes change when SQLite folds its write-ahead log in)."""
    with sqlite3.connect(path) as conn:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()


@pytest.fixture
def stored(toy_env):
    """A results directory with one finished small run in it."""
    result = bench("run", "--samplers", "No-resampling,RandomOverSampler")
    assert result.exit_code == 0, result.output
    return toy_env / "runs" / "bench.sqlite"


@pytest.mark.parametrize("args, words", [
    (["run", "--datasets", "phonem"], ["unknown dataset 'phonem'", "phoneme"]),
    (["run", "--samplers", "SMOTEE"], ["unknown sampler 'SMOTEE'", "SMOTE"]),
    (["run", "--classifiers", "SVN"], ["unknown classifier 'SVN'", "SVM"]),
    (["run", "--metrics", "f1"], ["unknown metric 'f1'"]),
    (["run", "--profile", "fast"], ["unknown profile 'fast'"]),
    (["run", "--seeds", "1,x"], ["comma-separated list of ints"]),
    (["table", "--metric", "auc"], ["unknown metric 'auc'"]),
    (["table", "--reference", "RandomOverSamplr"], ["unknown reference sampler", "RandomOverSampler"]),
    (["report", "--reference", "SMOTE"], ["unknown reference sampler 'SMOTE'", "bench status"]),
])
def test_unknown_names_suggest_the_closest(stored, args, words):
    before = _digest(stored)
    one_line_error(bench(*args), *words)
    assert _digest(stored) == before
    assert not (stored.parent / "report").exists()


def test_registered_paper_dataset_missing_and_no_network(toy_env, monkeypatch):
    import openml

    def offline(*a, **k):
        raise ConnectionError("no route to host")
    monkeypatch.setattr(openml.datasets, "get_dataset", offline)
    one_line_error(bench("run", "--datasets", "phoneme"), "bench data import")
    one_line_error(bench("data", "pull", "phoneme"), "bench data import")


def test_malformed_bench_toml(toy_env, stored):
    config = toy_env / "bench.toml"
    config.write_text(config.read_text().replace("irs = [5]", "irs = 5.5"))
    before = _digest(stored)
    one_line_error(bench("run"), "run.irs", "integer")
    assert _digest(stored) == before


@pytest.mark.parametrize("flag, words", [("--toy", ["--toy", "not a file"]),
                                         ("--paper-tables", ["--paper-tables", "not a directory"])])
def test_report_inputs_that_do_not_exist(stored, tmp_path, flag, words):
    before = _digest(stored)
    one_line_error(bench("report", "--results", str(stored.parent), "--out", str(tmp_path / "r"), flag,
                          str(tmp_path / "missing")), *words)
    assert _digest(stored) == before and not (tmp_path / "r").exists()


def test_results_dir_not_writable(toy_env):
    blocker = toy_env / "a-file"
    blocker.write_text("")
    one_line_error(bench("run", "--results", str(blocker / "runs")), "not writable", "--results")


def test_a_file_where_a_folder_belongs_is_one_line(stored, toy_env):
    blocker = toy_env / "a-file"
    blocker.write_text("")
    one_line_error(bench("run", "--results", str(blocker)), "is a file", "pass a folder")
    one_line_error(bench("report", "--results", str(stored.parent), "--out", str(blocker)), "--out", "a folder")
    assert blocker.read_text() == ""


def test_the_store_s_own_file_names_its_folder(stored):
    by_file = bench("table", "--results", str(stored), "--format", "csv")
    assert by_file.exit_code == 0, by_file.output
    assert by_file.stdout == bench("table", "--results", str(stored.parent), "--format", "csv").stdout
    planned = bench("run", "--samplers", "No-resampling,RandomOverSampler", "--results", str(stored), "--dry-run")
    assert "6 already stored, 0 to compute" in planned.output, planned.output


def test_table_without_results(toy_env):
    one_line_error(bench("table", "--results", str(toy_env / "nothing")), "no results", "bench run")


def test_second_run_on_the_same_directory_is_refused(stored):
    from bench.store import ResultStore
    store = ResultStore(stored.parent)
    with store.exclusive():
        one_line_error(bench("run"), "another `bench run`")


def test_table_prints_both_tables_with_marks(stored):
    result = bench("table", "--metric", "mcc")
    assert result.exit_code == 0, result.output
    assert "Table 1" in result.output and "Table 2" in result.output
    assert "RandomOverSampler" in result.output and "No-resampling" in result.output
    assert "Wilcoxon" in result.output
    csv = bench("table", "--table", "2", "--format", "csv")
    assert csv.exit_code == 0 and "toy" in csv.output


def test_help_on_every_command():
    for args in (["--help"], ["run", "--help"], ["table", "--help"], ["data", "--help"],
                 ["data", "import", "--help"], ["data", "pull", "--help"], ["data", "list", "--help"],
                 ["list", "--help"], ["status", "--help"]):
        result = bench(*args)
        assert result.exit_code == 0 and "Usage" in result.output, args


def test_list_samplers_shows_table2_rows_and_groups():
    result = bench("list", "samplers")
    assert result.exit_code == 0
    for name in ("ClusterCentroids", "SMOTEN", "SMOTETomek", "No-resampling", "imblearn"):
        assert name in result.output


def test_list_shows_the_config_s_own_samplers_and_classifiers(toy_env):
    from conftest import add_to_config
    add_to_config(toy_env, """
[samplers.Shrunk]
factory = "imblearn.over_sampling:RandomOverSampler"
params = { shrinkage = 0.3 }
[classifiers.Stump]
factory = "sklearn.tree:DecisionTreeClassifier"
params = { max_depth = 1 }
""")
    assert "Shrunk," in bench("list", "samplers").stdout
    assert "Stump" in bench("list", "classifiers").stdout
    one_line_error(bench("--config", str(toy_env / "missing.toml"), "list", "samplers"), "does not exist")


def test_dry_run_prints_the_plan_and_a_cost_estimate_without_computing(toy_env):
    result = bench("run", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "8 to compute in 4 units" in result.output
    assert "CPU-hours" in result.output and "| imblearn | 3 | 6 |" in result.output
    assert not (toy_env / "runs").exists()   # a plan creates no store


def test_a_grid_value_given_twice_is_planned_once(toy_env):
    result = bench("run", "--irs", "5,5", "--seeds", "1,1", "--classifiers", "SVM,SVM,LinearSVC", "--ratios",
                   "0.5,0.5", "--datasets", "toy,TOY", "--workers", "1", "--dry-run")
    assert result.exit_code == 0, result.output
    # No-resampling, RandomOverSampler at 0.5, TomekLinks: three units of one classifier
    assert "3 rows in the grid, 0 already stored, 3 to compute in 3 units on 1 worker ->" in result.output


def test_dry_run_answers_while_a_run_holds_the_store_and_deletes_nothing(stored):
    """A campaign's progress can be priced while it runs; --retry-failed prices the failed rows as left to
    compute without forgetting them."""
    from bench.store import ResultStore
    with sqlite3.connect(stored) as conn:
        conn.execute("UPDATE runs SET status = 'error' WHERE sampler = 'No-resampling'")
    conn.close()
    before = _digest(stored)
    with ResultStore(stored.parent).exclusive():
        plain = bench("run", "--samplers", "No-resampling,RandomOverSampler", "--dry-run")
        retry = bench("run", "--samplers", "No-resampling,RandomOverSampler", "--dry-run", "--retry-failed")
    assert plain.exit_code == 0 and "6 already stored, 0 to compute" in plain.output, plain.output
    assert retry.exit_code == 0 and "4 already stored, 2 to compute" in retry.output, retry.output
    assert _digest(stored) == before


def test_the_cost_artefact_needs_a_plan(stored):
    one_line_error(bench("table", "--table", "cost"), "a cost needs a plan", "--dry-run")


def test_unknown_executor(toy_env):
    one_line_error(bench("run", "--executor", "slurm"), "unknown executor 'slurm'")


def test_output_survives_a_pipe(stored):
    """CliRunner is not a terminal: tables come as CSV, nothing cut to a width."""
    listed = bench("list", "samplers")
    assert listed.exit_code == 0
    assert "sampler,category,family,tuning,binary only,variants" in listed.stdout
    assert "sv.Borderline_SMOTE1,smote-variants,smote_variants,ratio grid,yes," in listed.stdout
    assert "AutoSMOTE[ablation=random_search]" in listed.stdout
    data = bench("data", "list")
    assert data.stdout.splitlines()[0] == \
        "name,rows,features,encoded,classes,minority,imbalance_ratio,known,citation,source"
    assert data.stdout.splitlines()[1].startswith("toy,")


def test_status_of_an_empty_store_says_so(toy_env):
    from bench.store import ResultStore
    ResultStore(toy_env / "empty").close()
    result = bench("status", "--results", str(toy_env / "empty"))
    assert result.exit_code == 0 and "no rows in" in result.output and "yet" in result.output


def test_config_is_accepted_after_the_command(toy_env, monkeypatch):
    from bench.cli import hoist_config
    assert hoist_config(["run", "--config", "x.toml", "--seeds", "1"]) == ["--config", "x.toml", "run", "--seeds", "1"]
    assert hoist_config(["status", "--config=x.toml"]) == ["--config=x.toml", "status"]
    import subprocess
    import sys
    missing = subprocess.run([sys.executable, "-m", "bench.cli", "status", "--config", str(toy_env / "no.toml")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "config file" in missing.stderr and "does not exist" in missing.stderr


@pytest.mark.parametrize("args, words", [
    (["run", "--time-limit", "abc"], ["Invalid value for '--time-limit'", "(see `bench run --help`)"]),
    (["lst"], ["No such command 'lst'", "Did you mean 'list'?"]),
    (["table", "--tabel", "2"], ["No such option: --tabel", "--table"]),
])
def test_flags_click_cannot_read_are_one_line_too(toy_env, args, words):
    """The console script (not CliRunner): click's usage block becomes one line, exit code 2."""
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0]


def _help(*command: str) -> str:
    """A command's help as one line, whatever click's wrapping (which breaks lines after a hyphen too)."""
    return " ".join(bench(*command, "--help").output.split()).replace("- ", "-")


def test_help_shows_defaults_in_brackets_and_every_metric():
    text = _help("table")
    assert "(default: [run] results)" in text
    assert "macro_f1 | mcc | macro_precision | macro_recall" in text
    assert "(default: [table] metric, else macro_f1)" in text and "none | holm" in text


def test_table_help_lists_every_key_of_the_artefact_registry():
    from bench.analysis import TABLE_KEYS
    assert " | ".join(TABLE_KEYS) in _help("table") and "cost" in TABLE_KEYS


@pytest.mark.parametrize("line, words", [('pairing = "pairs"', ["table.pairing", '"configuration", "run"']),
                                         ('metric = "auc"', ["table.metric", '"macro_f1", "mcc"'])])
def test_a_bad_table_setting_is_one_line_before_anything_is_read(stored, toy_env, line, words):
    config = toy_env / "bench.toml"
    config.write_text(config.read_text().replace("[table]\n", f"[table]\n{line}\n"))
    before = _digest(stored)
    for command in (["table"], ["report"], ["status"]):
        one_line_error(bench(*command), *words)
    assert _digest(stored) == before and not (stored.parent / "report").exists()


def test_split_flag_runs_stratified_splits_and_rejects_unknown_kinds(toy_env):
    one_line_error(bench("run", "--split", "strat"), "--split must be one of", "stratified")
    assert not (toy_env / "runs").exists()   # nothing planned or stored
    result = bench("run", "--split", "stratified", "--samplers", "RandomOverSampler", "--ratios", "1.0")
    assert result.exit_code == 0, result.output
    assert "done in" in result.output and "2 ok." in result.output
    from bench.store import ResultStore
    frame = ResultStore(toy_env / "runs", readonly=True).frame()
    assert set(frame["ir"]) == {0} and len(frame) == 2


@pytest.mark.parametrize("args, words", [
    (["--seeds", "-1"], ["--seeds must be", "integers >= 0", "got -1"]),
    (["--time-limit", "0"], ["--time-limit must be a positive number", "0.0"]),
    (["--time-limit", "-3"], ["--time-limit must be a positive number", "-3.0"]),
    (["--ratios", "2"], ["--ratios must be", "ratios in (0, 1]", "got 2.0"]),
    (["--ratios", "0.5,0"], ["--ratios must be", "ratios in (0, 1]"]),
    (["--workers", "-1"], ["--workers must be an integer >= 0", "-1"]),
    (["--irs", "0"], ["--irs must be", "positive integers", "got 0"]),
    (["--datasets", "toy,nosuch"], ["unknown dataset 'nosuch'", "bench list datasets"]),
    (["--datasets", "nosuch", "--dry-run"], ["unknown dataset 'nosuch'"]),
    (["--metrics", "mc"], ["unknown metric 'mc'", "mcc"]),
    (["--samplers", "RandomOverSampler[shrinkag=0.1]"], ["rejects the parameters ['shrinkag']", "shrinkage"]),
    (["--irs", "1"], ["IR 1 asks for", "use a larger IR"]),
])
def test_bad_run_flags_stop_before_anything_is_planned_or_stored(toy_env, args, words):
    result = bench("run", *args)
    one_line_error(result, *words)
    assert "rows in the grid" not in result.output   # no plan line first
    assert not (toy_env / "runs").exists()


def test_report_goes_beside_the_store_but_never_into_committed_results(stored, tmp_path, monkeypatch):
    from pathlib import Path

    from bench.reading import report_folder
    assert report_folder(stored.parent) == stored.parent / "report"          # not under git
    committed = Path(__file__).resolve().parents[1] / "results" / "gumbel"
    assert report_folder(committed) == Path("runs") / "report" / "gumbel"
