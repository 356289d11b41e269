"""A researcher's own classifier (by import path, [classifiers.NAME], entry point) and methods installed as
entry points, under the paper's protocol without editing the package."""
from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from bench import code_identity
from bench.cli import app
from bench.classifiers import make_classifier, resolve_classifiers
from bench.store import ResultStore
from conftest import add_to_config, importable_module, refused_before_anything_is_stored, write_record

FOREST = "sklearn.ensemble:RandomForestClassifier[n_estimators=5]"

SOURCE = '''
from sklearn.neighbors import KNeighborsClassifier


class WideKNN(KNeighborsClassifier):
    """KNN with a wider neighbourhood (a stand-in for a researcher's classifier)."""

    def __init__(self, n_neighbors=9):
        super().__init__(n_neighbors=n_neighbors)
'''


def bench(*args):
    return CliRunner().invoke(app, list(args))


def _rows(toy_env):
    return ResultStore(toy_env / "runs", readonly=True).frame()


@pytest.fixture
def module(toy_env, monkeypatch):
    yield importable_module(toy_env, monkeypatch, "my_classifiers", SOURCE)
    sys.modules.pop("my_classifiers", None)


def test_a_classifier_by_import_path_is_seeded_scored_and_ranked_by(toy_env):
    result = bench("run", "--classifiers", f"SVM,{FOREST}")
    assert result.exit_code == 0, result.output
    frame = _rows(toy_env)
    forest = frame[frame["classifier"] == FOREST]
    assert len(forest) == 4 and set(forest["status"]) == {"ok"}   # No-resampling, ROS x 2 ratios, TomekLinks
    code = json.loads(forest["spec"].iloc[0])["classifier_code"]
    assert code["factory"] == "sklearn.ensemble:RandomForestClassifier" and code["params"] == {"n_estimators": 5}
    assert code["seeded"] and code["version"].startswith("scikit-learn-")
    # the built-in classifiers' keys hold no such field: their stored rows keep their keys
    assert "classifier_code" not in json.loads(frame[frame["classifier"] == "SVM"]["spec"].iloc[0])
    by_classifier = bench("table", "--table", "fig4", "--format", "csv")   # the reference's rank per classifier
    assert by_classifier.exit_code == 0, by_classifier.output
    assert FOREST in by_classifier.stdout and "SVM" in by_classifier.stdout


def test_a_classifier_from_outside_takes_the_run_seed_like_the_built_in_tree():
    (name,) = resolve_classifiers([FOREST])
    assert make_classifier(name, 7).random_state == 7
    assert make_classifier("DT", 7).random_state == 7
    fixed = resolve_classifiers(["sklearn.ensemble:RandomForestClassifier[random_state=3]"])[0]
    assert make_classifier(fixed, 7).random_state == 3   # a fixed seed is the user's choice


def test_a_worker_without_the_definition_builds_it_from_the_unit():
    identity = {"factory": "sklearn.tree:DecisionTreeClassifier", "params": {"max_depth": 2}, "seeded": True,
                "version": "scikit-learn-x"}
    model = make_classifier("never-registered", 4, identity)
    assert (model.max_depth, model.random_state) == (2, 4)


def test_a_classifier_defined_in_bench_toml_runs_under_its_name_and_its_code_is_its_identity(toy_env, module):
    add_to_config(toy_env, '\n[classifiers.Wide]\nfactory = "my_classifiers:WideKNN"\nparams = { n_neighbors = 7 }\n')
    assert bench("run", "--classifiers", "Wide").exit_code == 0
    wide = _rows(toy_env)
    assert set(wide["classifier"]) == {"Wide"} and len(wide) == 4 and set(wide["status"]) == {"ok"}
    code = json.loads(wide["spec"].iloc[0])["classifier_code"]
    assert code["params"] == {"n_neighbors": 7} and code["version"].startswith("source-")
    assert "Wide" in bench("list", "classifiers").stdout
    sys.modules.pop("my_classifiers")
    module.write_text(SOURCE.replace("n_neighbors=9", "n_neighbors=11"))   # edited code: its runs again
    again = bench("run", "--classifiers", "Wide,SVM", "--dry-run")
    assert "0 already stored, 8 to compute" in again.output, again.output


@pytest.mark.parametrize("classifiers, words", [
    ("nope_module_y:Thing", ["cannot import 'nope_module_y'", "PYTHONPATH"]),
    ("sklearn.preprocessing:StandardScaler", ["is not a scikit-learn classifier"]),
    ("sklearn.ensemble:RandomForestClassifier[trees=3]", ["rejects the parameters ['trees']", "n_estimators"]),
    ("SVM[C=2]", ["built-in classifier takes no parameters", "[classifiers.NAME]"]),
    ("SVN", ["did you mean SVM"]),
])
def test_bad_classifier_references_are_one_line_errors_before_anything_is_stored(toy_env, classifiers, words):
    refused_before_anything_is_stored(bench("run", "--classifiers", classifiers), toy_env, words)


def test_a_classifier_definition_may_not_take_a_built_in_name(toy_env):
    add_to_config(toy_env, '\n[classifiers.KNN]\nfactory = "sklearn.neighbors:KNeighborsClassifier"\n')
    result = bench("run")
    assert result.exit_code == 2 and "[classifiers.KNN] takes the name of a built-in" in result.output


@pytest.fixture
def installed(toy_env, module, monkeypatch):
    """A package installed with entry points, as pip leaves it: a dist-info folder on sys.path."""
    sys.modules.pop("my_oversampling", None)   # another test's module of that name
    (toy_env / "mine" / "my_oversampling.py").write_text(
        "from imblearn.over_sampling import RandomOverSampler as Copies\n")
    dist = toy_env / "mine" / "my_methods-1.2.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-methods\nVersion: 1.2\n")
    (dist / "top_level.txt").write_text("my_oversampling\nmy_classifiers\n")
    (dist / "entry_points.txt").write_text("[bench.samplers]\nCopies = my_oversampling:Copies\n"
                                          "Broken = my_oversampling:NoSuchClass\n\n"
                                          "[bench.classifiers]\nWideKNN = my_classifiers:WideKNN\n")
    write_record(dist)
    code_identity.forget_installed()
    yield
    code_identity.forget_installed()
    sys.modules.pop("my_oversampling", None)


def test_installed_entry_points_are_samplers_and_classifiers_by_name(toy_env, installed):
    assert "Copies" in bench("list", "samplers").stdout
    assert "WideKNN" in bench("list", "classifiers").stdout
    result = bench("run", "--samplers", "No-resampling,Copies", "--classifiers", "WideKNN")
    assert result.exit_code == 0, result.output
    frame = _rows(toy_env)
    assert set(frame["sampler"]) == {"No-resampling", "Copies"} and set(frame["status"]) == {"ok"}
    copies = json.loads(frame[frame["sampler"] == "Copies"]["spec"].iloc[0])
    assert copies["version"] == copies["classifier_code"]["version"] == "my-methods-1.2"   # the package's version


def test_an_entry_point_that_cannot_be_loaded_is_an_error_only_where_it_is_named(toy_env, installed):
    listed = bench("list", "samplers")
    assert listed.exit_code == 0 and "Copies" in listed.stdout and "Broken" not in listed.stdout   # the rest work
    result = bench("run", "--samplers", "Copies,Broken")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert "sampler 'Broken' (entry point my_oversampling:NoSuchClass)" in result.output
    assert "has no 'NoSuchClass'" in result.output
    assert not (toy_env / "runs").exists()


def test_installed_methods_are_imported_only_where_they_are_named_or_listed(toy_env, installed):
    assert bench("run", "--samplers", "No-resampling,Copies", "--classifiers", "SVM,WideKNN").exit_code == 0
    for name in ("my_oversampling", "my_classifiers"):
        sys.modules.pop(name)
    for command in (("table", "--table", "2"), ("status",), ("run", "--samplers", "SMOTE", "--classifiers", "DT")):
        result = bench(*command)
        assert result.exit_code == 0, result.output
        assert not {"my_oversampling", "my_classifiers"} & set(sys.modules), command
    assert "Copies" in bench("table", "--table", "2").stdout   # ranked, by its name alone
    assert "WideKNN" in bench("list", "classifiers").stdout
    assert "my_classifiers" in sys.modules and "my_oversampling" not in sys.modules
