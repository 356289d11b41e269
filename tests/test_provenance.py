"""Where rows come from: environments, library versions in keys, schema migration, the invocation log,
damaged stores, and a rank check that holds across machines."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from bench import analysis, check, environment
from bench.cli import app
from bench.config import Settings, load_settings
from bench.data import DataCatalog
from bench.runner import make_plan
from bench.store import DB_NAME, ResultStore, StoreError
from conftest import one_line_error  # noqa: E402

runner = CliRunner()
V1_STORE = Path(__file__).parent / "data" / "store_v1.sqlite"   # a slice of results/quick as schema 1 wrote it


def bench(*args):
    return runner.invoke(app, list(args))


# ------------------------------------------------------------------------------------------- environments
def test_every_row_points_to_the_environment_that_computed_it(toy_env):
    assert bench("run").exit_code == 0
    store = ResultStore(toy_env / "runs", readonly=True)
    frame, envs = store.frame(), store.environments()
    assert len(envs) == 1 and envs.loc[0, "rows"] == len(frame) == 8
    assert set(frame["environment"]) == {envs.loc[0, "id"]}
    described = envs.loc[0, "description"]
    assert described["packages"]["scikit-learn"] == environment.package_version("scikit-learn")
    assert described["packages"]["numpy"] == environment.package_version("numpy")
    assert described["cpu"]["machine"] and described["blas"] and described["gpu"] is None
    assert {"version", "commit"} <= set(described["project"])


def test_a_changed_library_version_gives_new_keys(toy_env, monkeypatch):
    settings = load_settings()
    catalog = DataCatalog(settings.data_dir)
    keys = lambda: {u.key(c) for u in make_plan(settings.run_for(), catalog, set(), "zero", False).units
                    for c in u.classifiers}
    before = keys()
    real = environment.library_versions
    monkeypatch.setattr(environment, "library_versions",
                        lambda names: {**real(names), "scikit-learn": "99.0"} if "scikit-learn" in names else real(names))
    after = keys()
    assert len(before) == len(after) == 8 and not before & after


def test_a_store_mixing_environments_says_so(toy_env, monkeypatch):
    assert bench("run", "--samplers", "No-resampling").exit_code == 0
    real = environment._machine()
    monkeypatch.setattr(environment, "_machine", lambda: {**real, "cpu": {"model": "Other CPU"}})
    assert bench("run").exit_code == 0
    result = bench("status")
    assert result.exit_code == 0, result.output
    assert "computed in 2 environments - the store mixes environments" in result.output
    assert "Other CPU" in result.output and "samplers: No-resampling 2" in result.output


# ------------------------------------------------------------------------------------------- migration
def test_a_schema_1_store_is_read_without_writing_and_migrates_to_the_same_tables(tmp_path):
    directory = tmp_path / "old"
    directory.mkdir()
    shutil.copy(V1_STORE, directory / DB_NAME)
    original = (directory / DB_NAME).read_bytes()

    def table2(store):
        options = analysis.Options.from_settings(Settings().table)
        return analysis.text(analysis.Context(store.frame(), options, None), "2", "mcc", "markdown")

    read = ResultStore(directory, readonly=True)
    before, old_keys = table2(read), set(read.frame()["config"])
    read.close()
    assert (directory / DB_NAME).read_bytes() == original and sorted(p.name for p in directory.iterdir()) == [DB_NAME]

    legacy = {**environment.describe(), "cpu": "unknown", "note": "test"}
    ResultStore(directory, legacy_environment=legacy, data_contents=lambda name: f"digest of {name}").close()
    migrated = ResultStore(directory, readonly=True)
    assert table2(migrated) == before
    frame = migrated.frame()
    assert len(frame) == 300 and set(frame["config"]) == old_keys and not set(frame["key"]) & old_keys
    assert migrated.environments()["description"].tolist() == [legacy]
    specs = frame["spec"].map(json.loads)
    assert specs.map(lambda s: s["libraries"]["scikit-learn"]).eq(legacy["packages"]["scikit-learn"]).all()
    assert specs[frame["sampler"] == "AutoSMOTE"].map(lambda s: "torch" in s["libraries"]).all()
    assert (specs.map(lambda s: s["data"]) == "digest of " + frame["dataset"]).all()
    invocations = migrated.invocations()
    assert invocations["status"].tolist() == ["interrupted", "finished"]
    assert invocations["rows"].sum() == 300


def test_a_writer_without_the_data_directory_s_contents_leaves_an_older_store_untouched(tmp_path):
    """From schema 3 a run's key holds its dataset's content: a writer that cannot key the rows refuses before
    it migrates anything, and a reader still reads them."""
    shutil.copy(V1_STORE, tmp_path / DB_NAME)
    original = (tmp_path / DB_NAME).read_bytes()
    with pytest.raises(StoreError, match="is of schema 1: open it with the data directory's contents"):
        ResultStore(tmp_path)
    assert (tmp_path / DB_NAME).read_bytes() == original
    assert len(ResultStore(tmp_path, readonly=True).frame()) == 300


def test_migrated_rows_are_found_by_a_plan_in_the_same_environment(toy_env):
    assert bench("run").exit_code == 0
    store = ResultStore(toy_env / "runs", readonly=True)
    env = store.environments().loc[0, "description"]
    store.close()
    # Turn the store back into schema 1 (no libraries in specs, old keys), then let a run migrate it.
    import sqlite3
    with sqlite3.connect(toy_env / "runs" / DB_NAME) as conn:
        rows = conn.execute("SELECT key, spec FROM runs").fetchall()
        conn.execute("PRAGMA foreign_keys=OFF")
        for key, spec in rows:
            old = {k: v for k, v in json.loads(spec).items() if k not in ("libraries", "data")}
            from bench.protocol import spec_key
            conn.execute("UPDATE runs SET key = ?, spec = ? WHERE key = ?", (spec_key(old), json.dumps(old), key))
            conn.execute("UPDATE scores SET key = ? WHERE key = ?", (spec_key(old), key))
        conn.executescript("""
            CREATE TABLE runs1 AS SELECT key, dataset, ir, seed, sampler, params, classifier, tune_metric, status,
                message, resample_s, fit_s, n_train, n_minority, extra, spec, finished_at FROM runs;
            DROP TABLE runs; ALTER TABLE runs1 RENAME TO runs; DROP TABLE environments;
            CREATE TABLE inv1 AS SELECT id, command, settings, started_at, ended_at AS finished_at,
                0 AS rows_written FROM invocations;
            DROP TABLE invocations; ALTER TABLE inv1 RENAME TO invocations; PRAGMA user_version = 1;""")
    ResultStore(toy_env / "runs", legacy_environment=env,
                data_contents=DataCatalog(load_settings().data_dir).registered_content).close()
    result = bench("run", "--dry-run")
    assert "8 already stored, 0 to compute" in result.output, result.output


# ------------------------------------------------------------------------------------------- invocations
def test_the_invocation_log_records_what_really_ran(toy_env, monkeypatch):
    data_dir = load_settings().data_dir
    moved = toy_env / "elsewhere"
    shutil.copytree(data_dir, moved)
    monkeypatch.setenv("BENCH_DATA_DIR", str(moved))
    config = Path(load_settings().source)
    config.write_text(config.read_text() + "\n[profiles.small]\nseeds = [1]\nratios = [1.0]\n")
    result = bench("run", "--profile", "small", "--samplers", "RandomOverSampler", "--classifiers", "DT")
    assert result.exit_code == 0, result.output
    invocation = ResultStore(toy_env / "runs", readonly=True).invocations().iloc[0]
    settings = json.loads(invocation["settings"])
    assert invocation["status"] == "finished" and invocation["rows"] == 1
    assert settings["run"]["profile"] == "small" and settings["run"]["ratios"] == [1.0]
    assert settings["run"]["samplers"] == ["RandomOverSampler"] and settings["run"]["classifiers"] == ["DT"]
    assert settings["flags"] == {"profile": "small", "samplers": ["RandomOverSampler"], "classifiers": ["DT"]}
    assert settings["data"]["dir"] == str(moved) and settings["environment_variables"]["BENCH_DATA_DIR"] == str(moved)
    assert settings["config_file"] == str(config)


# ------------------------------------------------------------------------------------------- damage
@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_store_gives_one_line_and_is_never_written(toy_env, damage):
    assert bench("run").exit_code == 0
    path = toy_env / "runs" / DB_NAME
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"not a database at all " * 500)
    broken = path.read_bytes()
    for args in (["status"], ["table"], ["report", "--out", str(toy_env / "rep")], ["run"]):
        one_line_error(bench(*args), str(path), "damaged", "bench recover")
        assert path.read_bytes() == broken


def test_recover_copies_the_readable_rows_into_a_new_store(toy_env):
    assert bench("run", "--samplers", "No-resampling,RandomOverSampler,SMOTE,RandomUnderSampler",
                 "--ratios", "0.3,0.5,0.7,0.9,1.0").exit_code == 0
    path = toy_env / "runs" / DB_NAME
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 4])   # the last pages lost
    result = bench("recover", str(toy_env / "runs"), str(toy_env / "new"))
    assert result.exit_code == 0, result.output
    recovered = ResultStore(toy_env / "new", readonly=True).frame()
    assert 0 < len(recovered) <= 32
    assert recovered["test_mcc"].notna().all()   # only complete rows
    resumed = bench("run", "--samplers", "No-resampling,RandomOverSampler,SMOTE,RandomUnderSampler",
                    "--ratios", "0.3,0.5,0.7,0.9,1.0", "--results", str(toy_env / "new"))
    assert resumed.exit_code == 0 and f"{len(recovered)} already stored" in resumed.output


# ------------------------------------------------------------------------------------------- check
def _baseline(toy_env):
    baseline = toy_env / "baseline"
    assert bench("check", "--profile", "t", "--baseline", str(baseline), "--update").exit_code == 0
    return baseline


def _edit(baseline, *, cpu=None, shift=0.0, sampler="RandomOverSampler", rank_move=0.0):
    """Pretend the baseline came from another machine (cpu), with this sampler's scores off by `shift` and its
    rank in every column off by `rank_move`."""
    if cpu:
        envs = json.loads((baseline / check.ENVIRONMENT_FILE).read_text())
        envs[0]["cpu"] = {"model": cpu}
        (baseline / check.ENVIRONMENT_FILE).write_text(json.dumps(envs))
    scores = pd.read_csv(baseline / check.SCORES_FILE)
    scores.loc[scores["sampler"] == sampler, "value"] += shift
    scores.to_csv(baseline / check.SCORES_FILE, index=False)
    ranks = pd.read_csv(baseline / check.RANKS_FILE)
    ranks.loc[ranks["sampler"] == sampler, "rank"] += rank_move
    ranks.to_csv(baseline / check.RANKS_FILE, index=False)


def test_check_in_the_same_environment_demands_exact_scores(toy_env):
    baseline = _baseline(toy_env)
    result = bench("check", "--profile", "t", "--baseline", str(baseline))
    assert result.exit_code == 0 and "exact mode: the baseline was computed in this environment" in result.output
    _edit(baseline, shift=0.001)
    failed = bench("check", "--profile", "t", "--baseline", str(baseline))
    assert failed.exit_code == 1
    assert "check failed: RandomOverSampler: " in failed.output and "different scores" in failed.output


def test_check_on_another_machine_passes_within_the_tolerance_and_explains_rank_moves(toy_env):
    baseline = _baseline(toy_env)
    _edit(baseline, cpu="Some Other CPU", shift=0.01, rank_move=1.0)
    result = bench("check", "--profile", "t", "--baseline", str(baseline))
    assert result.exit_code == 0, result.output
    assert "tolerance mode: the environments differ: " in result.output
    assert "cpu.model: Some Other CPU -> " in result.output
    assert "explained by score differences within ±0.02" in result.output
    assert "scores within the tolerance but not equal: RandomOverSampler" in result.output


def test_check_on_another_machine_fails_beyond_the_tolerance_naming_the_sampler(toy_env):
    baseline = _baseline(toy_env)
    _edit(baseline, cpu="Some Other CPU", shift=0.05, sampler="TomekLinks")
    result = bench("check", "--profile", "t", "--baseline", str(baseline))
    assert result.exit_code == 1
    assert "tolerance mode" in result.output
    assert "check failed: TomekLinks: " in result.output and "further than ±0.02" in result.output
    assert "check failed: RandomOverSampler" not in result.output


def test_check_mode_compares_packages_cpu_and_blas_not_the_commit():
    env = environment.describe()
    same = {**env, "project": {"version": "x", "commit": "another"}}
    assert check.check_mode([env], [same])[0] == "exact"
    blas = {**env, "blas": [{"library": "openblas", "version": "0.3.31", "architecture": "SkylakeX"}]}
    mode, why = check.check_mode([env], [blas])
    assert mode == "tolerance" and "SkylakeX" in why
    newer = {**env, "packages": {**env["packages"], "numpy": "9.9.9"}}
    assert "numpy" in check.check_mode([env], [newer])[1]
    assert check.check_mode([], [env]) == ("tolerance", "the baseline records no environment")


def test_where_only_the_cpu_differs_a_pinned_sampler_must_match_to_the_last_digit():
    env = environment.describe()
    other_cpu = {**env, "cpu": {"model": "Some Other CPU"}}
    newer = {**env, "packages": {**env["packages"], "numpy": "9.9.9"}}
    assert check._only_the_cpu_differs([env], [other_cpu]) and not check._only_the_cpu_differs([env], [newer])
    merged = pd.DataFrame({"run": ["a", "b", "c"], "column": "test_mcc",
                           "sampler_now": ["AutoSMOTE", "AutoSMOTE[ablation=flat]", "SMOTE"],
                           "sampler_base": ["AutoSMOTE", "AutoSMOTE[ablation=flat]", "SMOTE"],
                           "value_base": [0.5, 0.5, 0.5], "value_now": [0.5, 0.5 + 1e-6, 0.5 + 1e-6]})
    problems = check._pinned_problems(merged)
    assert len(problems) == 1 and problems[0].startswith("AutoSMOTE[ablation=flat]: 1 run(s) with other scores")
