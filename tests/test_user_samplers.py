"""A researcher's own sampler, named by import path, under the paper's protocol without editing the package."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from bench import api
from bench.classifiers import CLASSIFIERS
from bench.cli import app
from bench.samplers.registry import SAMPLERS, SamplerContext, parse_sampler
from bench.store import ResultStore
from conftest import add_to_config, importable_module, refused_before_anything_is_stored

SOURCE = '''
from imblearn.over_sampling import RandomOverSampler


class ShrunkOverSampler(RandomOverSampler):
    """Random over-sampling with smoothed copies (a stand-in for a researcher's new method)."""

    def __init__(self, *, sampling_strategy="auto", random_state=None, shrinkage=0.1):
        super().__init__(sampling_strategy=sampling_strategy, random_state=random_state, shrinkage=shrinkage)


class NotASampler:
    pass
'''


def bench(*args):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def module(toy_env, monkeypatch):
    yield importable_module(toy_env, monkeypatch, "my_oversampling", SOURCE)
    sys.modules.pop("my_oversampling", None)


def test_a_sampler_by_import_path_runs_under_the_protocol_and_is_ranked(toy_env, module):
    ref = "my_oversampling:ShrunkOverSampler[shrinkage=0.5]"
    result = bench("run", "--samplers", f"No-resampling,RandomOverSampler,{ref}")
    assert result.exit_code == 0, result.output
    frame = ResultStore(toy_env / "runs", readonly=True).frame()
    mine = frame[frame["sampler"] == ref]
    assert len(mine) == 4 and set(mine["status"]) == {"ok"}          # ratios 0.5 and 1.0 x SVM, DT
    assert sorted(mine["params"].unique()) == ['{"ratio": 0.5, "shrinkage": 0.5}', '{"ratio": 1.0, "shrinkage": 0.5}']
    # ratio 1.0 balanced the classes: as many minority rows as majority ones
    balanced = mine[mine["params"].str.contains('"ratio": 1.0')]
    assert (balanced["n_minority"] * 2 == balanced["n_train"]).all()
    table = bench("table", "--table", "2", "--format", "csv")
    assert table.exit_code == 0, table.output
    assert ref in table.stdout   # ranked in Table 2 beside the built-in samplers
    assert bench("status").exit_code == 0


def test_editing_the_method_recomputes_its_runs_and_nothing_else(toy_env, module):
    ref = "my_oversampling:ShrunkOverSampler"
    assert bench("run", "--samplers", f"RandomOverSampler,{ref}").exit_code == 0
    sys.modules.pop("my_oversampling")
    module.write_text(SOURCE.replace("shrinkage=0.1):", "shrinkage=0.2):"))   # a new default: new code
    again = bench("run", "--samplers", f"RandomOverSampler,{ref}", "--dry-run")
    assert "4 already stored, 4 to compute" in again.output, again.output
    before = ResultStore(toy_env / "runs", readonly=True).frame()
    assert bench("run", "--samplers", f"RandomOverSampler,{ref}").exit_code == 0
    store = ResultStore(toy_env / "runs", readonly=True)
    after, every = store.frame(), store.frame(superseded=True)
    assert len(every) == 12 and len(after) == 8          # the old code's rows are kept, but tables use the new
    mine = after[after["sampler"] == ref]
    assert not mine["key"].isin(before["key"]).any()
    ros = after[after["sampler"] == "RandomOverSampler"]
    assert ros["key"].isin(before["key"]).all()            # nothing else was computed again
    assert "4 older rows of runs computed again" in bench("status").stdout


@pytest.mark.parametrize("ref, words", [
    ("not_a_module_here:Thing", ["cannot import 'not_a_module_here'", "PYTHONPATH"]),
    ("my_oversampling:Missing", ["has no 'Missing'"]),
    ("my_oversampling:NotASampler", ["is not an imbalanced-learn sampler"]),
    ("my_oversampling:ShrunkOverSampler[wrong=1]", ["rejects the parameters ['wrong']", "shrinkage"]),
])
def test_bad_references_are_one_line_errors_before_anything_is_stored(toy_env, module, ref, words):
    result = bench("run", "--samplers", ref)
    refused_before_anything_is_stored(result, toy_env, words)


def test_a_sampler_defined_in_bench_toml_runs_under_its_name(toy_env, module):
    add_to_config(toy_env, '\n[samplers.Shrunk]\nfactory = "my_oversampling:ShrunkOverSampler"\ncategory = "over"\n'
                     'params = { shrinkage = 0.5 }\n')
    result = bench("run", "--samplers", "No-resampling,Shrunk")
    assert result.exit_code == 0, result.output
    frame = ResultStore(toy_env / "runs", readonly=True).frame()
    mine = frame[frame["sampler"] == "Shrunk"]
    assert len(mine) == 4 and set(mine["status"]) == {"ok"}
    assert all('"shrinkage": 0.5' in p for p in mine["params"])   # in every run's key
    listed = bench("list", "samplers")
    assert "Shrunk,over,user,ratio grid" in listed.stdout
    table = bench("table", "--table", "2", "--format", "csv")
    assert table.exit_code == 0 and "Shrunk" in table.stdout


@pytest.mark.parametrize("text, words", [
    ('\n[samplers.Mine]\nfactory = "no_such_module_x:Thing"\n', ["cannot import 'no_such_module_x'"]),
    ('\n[samplers.SMOTE]\nfactory = "my_oversampling:ShrunkOverSampler"\n', ["[samplers.SMOTE]", "built-in"]),
    ('\n[samplers.Mine]\nfactry = "my_oversampling:ShrunkOverSampler"\n', ["unknown key samplers.Mine.factry",
                                                                          "did you mean samplers.Mine.factory?"]),
])
def test_bad_sampler_definitions_are_one_line_errors(toy_env, module, text, words):
    add_to_config(toy_env, text)
    result = bench("run")
    refused_before_anything_is_stored(result, toy_env, words)


def test_a_run_registers_its_methods_for_its_duration_only(toy_env, module):
    add_to_config(toy_env, '\n[samplers.Shrunk]\nfactory = "my_oversampling:ShrunkOverSampler"\ncategory = "over"\n'
                           '\n[classifiers.Forest]\nfactory = "sklearn.ensemble:RandomForestClassifier"\n'
                           'params = { n_estimators = 3 }\n')
    samplers, classifiers = dict(SAMPLERS), dict(CLASSIFIERS)   # the built-in ones (and other tests' own)
    result = bench("run", "--samplers", "Shrunk,my_oversampling:ShrunkOverSampler[shrinkage=0.5]",
                   "--classifiers", "Forest,sklearn.tree:DecisionTreeClassifier[max_depth=2]")
    assert result.exit_code == 0, result.output
    assert set(ResultStore(toy_env / "runs", readonly=True).frame()["status"]) == {"ok"}
    assert SAMPLERS == samplers and CLASSIFIERS == classifiers


def test_parsing_a_sampler_by_import_path_registers_nothing_and_the_entry_builds_itself(module):
    choice = parse_sampler("my_oversampling:ShrunkOverSampler[shrinkage=0.5]")
    assert "my_oversampling:ShrunkOverSampler" not in SAMPLERS
    X, y = np.arange(40.0).reshape(20, 2), np.array([0] * 16 + [1] * 4)
    _, y_res = choice.entry.make(choice.grid((1.0,))[0], SamplerContext(3)).fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [16, 16]


MARKS_ITS_IMPORT = f"""
from pathlib import Path
Path({{marker!r}}).write_text("imported")
raise RuntimeError("reading a store imported the module of a sampler")
"""


def test_reading_a_store_imports_no_sampler_of_ones_own(toy_env, module):
    add_to_config(toy_env, '\n[samplers.Shrunk]\nfactory = "my_oversampling:ShrunkOverSampler"\ncategory = "over"\n')
    ref = "my_oversampling:ShrunkOverSampler[shrinkage=0.5]"
    assert bench("run", "--samplers", f"No-resampling,Shrunk,{ref}").exit_code == 0
    marker = toy_env / "imported"
    sys.modules.pop("my_oversampling")
    module.write_text(MARKS_ITS_IMPORT.format(marker=str(marker)))
    table = bench("table", "--table", "2", "--format", "csv")
    assert table.exit_code == 0, table.output
    groups = {line.split(",")[1]: line.split(",")[0] for line in table.stdout.splitlines()[1:]}
    assert groups["Shrunk"] == "over" and groups[ref] == "user"   # bench.toml's category, read as data
    assert bench("status").exit_code == 0
    assert ref in api.text("failures")
    assert not marker.exists() and "my_oversampling" not in sys.modules


def test_a_broken_definition_stops_a_run_but_not_reading_what_is_stored(toy_env, module):
    assert bench("run", "--samplers", "No-resampling,RandomOverSampler").exit_code == 0
    add_to_config(toy_env, '\n[samplers.Mine]\nfactory = "no_such_module_x:Thing"\n')
    table = bench("table", "--table", "2")
    assert table.exit_code == 0 and "RandomOverSampler" in table.stdout, table.output
    assert bench("status").exit_code == 0
    refused = bench("run", "--samplers", "No-resampling")
    assert refused.exit_code == 2 and "cannot import 'no_such_module_x'" in refused.output
