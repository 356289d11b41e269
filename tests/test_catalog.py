"""The sampler catalogue (bench/samplers/catalog.toml): metadata that matches the installed libraries, and
that listing, planning and tables read without importing a method's library."""
from __future__ import annotations

import inspect
import json
import subprocess
import sys

import numpy as np

import autosmote
from bench.extensions import load_factory
from bench.samplers.registry import CATALOGUE

HEAVY = ("torch", "sdv", "smote_variants", "ctgan")


def test_every_factory_resolves_and_the_imblearn_rows_match_the_library():
    catalogue = [e for e in CATALOGUE.values() if e.factory]
    assert len(catalogue) == 123
    for entry in catalogue:
        assert callable(load_factory(entry.factory)), entry.name
    for entry in (e for e in CATALOGUE.values() if e.family == "imblearn"):
        cls = load_factory(entry.factory)
        assert entry.tunes_ratio == (cls._sampling_type != "clean-sampling"), entry.name
        assert entry.description == (inspect.getdoc(cls) or "").split("\n")[0]


def test_autosmote_lists_its_table_4_ablations():
    from autosmote.rl.acting import ABLATIONS
    assert CATALOGUE["AutoSMOTE"].variants == tuple(f"ablation={a}" for a in ABLATIONS)


def test_versions_and_key_libraries():
    assert CATALOGUE["AutoSMOTE"].version.startswith(f"autosmote-{autosmote.__version__}+")
    assert CATALOGUE["SMOTE"].version.startswith("imblearn-") and "{" not in CATALOGUE["SMOTE"].version
    assert CATALOGUE["CTGAN"].libraries == ("torch", "ctgan") and CATALOGUE["SMOTE"].libraries == ()
    assert {e.family for e in CATALOGUE.values() if "torch" in e.libraries} == {"sdv", "ctgan-package", "mesa",
                                                                                 "autosmote", "gumbel"}


def test_binary_only_methods_say_so():
    from sklearn.datasets import make_classification
    X, y = make_classification(n_samples=300, n_classes=3, n_informative=4, weights=[0.6, 0.3, 0.1],
                               random_state=0)
    from bench.samplers.registry import SamplerContext
    binary_only = [e for e in CATALOGUE.values() if e.binary_only]
    assert {e.family for e in binary_only} == {"smote_variants", "mesa"}
    # AutoSMOTE handles multi-class data (issue 16): its adapter runs it on three classes
    _, y_res = CATALOGUE["AutoSMOTE"].make({"budget": 2}, SamplerContext(0, X, y, "DT", "macro_f1")).fit_resample(X, y)
    assert set(np.unique(y_res)) == {0, 1, 2} and len(y_res) >= len(y)


def test_listing_and_tables_import_no_method_library(toy_env):
    from typer.testing import CliRunner
    from bench.cli import app
    assert CliRunner().invoke(app, ["run"]).exit_code == 0
    script = ("import sys; from typer.testing import CliRunner; from bench.cli import app; r = CliRunner(); "
              "codes = [r.invoke(app, a).exit_code for a in (['--help'], ['list', 'samplers'], ['table'], "
              "['status'], ['run', '--dry-run'])]; "
              f"import json; print(json.dumps([codes, sorted(m for m in {HEAVY!r} if m in sys.modules)]))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    codes, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert codes == [0, 0, 0, 0, 0] and loaded == []
