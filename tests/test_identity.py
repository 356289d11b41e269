"""A stored row means what its key says: the dataset's content and the method's code are in every run's key."""
from __future__ import annotations

import json
import sqlite3
import sys
import types

import pytest
from typer.testing import CliRunner

from bench import code_identity
from bench.cli import app
from bench.config import load_settings
from bench.data import DataCatalog
from bench.protocol import spec_key
from bench.store import DB_NAME, ResultStore
from bench.synthetic import write_toy_csv
from conftest import importable_module, write_record


def bench(*args):
    return CliRunner().invoke(app, list(args))


def _rows(toy_env, superseded=False):
    return ResultStore(toy_env / "runs", readonly=True).frame(superseded=superseded)


# ------------------------------------------------------------------------------------------------ data
def test_every_run_key_holds_the_content_of_its_dataset(toy_env):
    assert bench("run").exit_code == 0
    digest = DataCatalog(load_settings().data_dir).content("toy")
    specs = _rows(toy_env)["spec"].map(json.loads)
    assert digest.startswith("sha256:") and (specs.map(lambda s: s["data"]) == digest).all()


def test_the_content_digest_does_not_depend_on_the_file_it_came_from(tmp_path):
    csv = write_toy_csv(tmp_path / "toy.csv")
    import pandas as pd
    pd.read_csv(csv).to_parquet(tmp_path / "toy.parquet", index=False)
    first, second = DataCatalog(tmp_path / "a"), DataCatalog(tmp_path / "b")
    first.import_files([csv], target="label")
    second.import_files([tmp_path / "toy.parquet"], target="label", name="toy")
    assert first.content("toy") == second.content("toy")


def test_a_dataset_registered_again_with_other_content_is_computed_afresh_and_both_stay(toy_env, tmp_path):
    assert bench("run").exit_code == 0
    stored = len(_rows(toy_env))
    (tmp_path / "other").mkdir()
    other = write_toy_csv(tmp_path / "other" / "toy.csv", seed=7)
    imported = bench("data", "import", str(other), "--target", "label")
    assert imported.exit_code == 0 and "warning: toy was registered before with other content" in imported.output
    planned = bench("run", "--dry-run")
    assert f"0 already stored, {stored} to compute" in planned.output, planned.output
    said = " ".join(planned.output.split())
    assert f"of these, {stored} recompute stored runs under changed code or data" in said
    assert "RandomOverSampler 4 (the data's content)" in said, said
    assert bench("run").exit_code == 0
    current, every = _rows(toy_env), _rows(toy_env, superseded=True)
    assert len(current) == stored and len(every) == 2 * stored   # the new content's rows supersede the old
    contents = every["spec"].map(lambda s: json.loads(s)["data"])
    assert contents.nunique() == 2
    assert set(current["spec"].map(lambda s: json.loads(s)["data"])) == {DataCatalog(load_settings().data_dir)
                                                                         .content("toy")}


def test_importing_the_same_content_again_warns_of_nothing_and_recomputes_nothing(toy_env, tmp_path):
    assert bench("run").exit_code == 0
    again = bench("data", "import", str(write_toy_csv(tmp_path / "toy.csv")), "--target", "label")
    assert again.exit_code == 0 and "warning" not in again.output
    assert "0 to compute" in bench("run", "--dry-run").output


def test_a_schema_3_store_is_keyed_by_todays_content_without_recomputation(toy_env):
    assert bench("run").exit_code == 0
    path = toy_env / "runs" / DB_NAME
    with sqlite3.connect(path) as conn:   # back to schema 3: no data in specs, the keys of then
        conn.execute("PRAGMA foreign_keys=OFF")
        for key, spec in conn.execute("SELECT key, spec FROM runs").fetchall():
            old = {k: v for k, v in json.loads(spec).items() if k != "data"}
            conn.execute("UPDATE runs SET key = ?, spec = ? WHERE key = ?", (spec_key(old), json.dumps(old), key))
            conn.execute("UPDATE scores SET key = ? WHERE key = ?", (spec_key(old), key))
        conn.execute("PRAGMA user_version = 3")
    original = path.read_bytes()
    planned = bench("run", "--dry-run")   # a reader migrates in memory: the plan finds every row
    assert "0 to compute" in planned.output and path.read_bytes() == original, planned.output
    assert "0 to compute" in bench("run").output   # a writer migrates on disk, computing nothing
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
        assert conn.execute("SELECT COUNT(*) FROM scores WHERE key NOT IN (SELECT key FROM runs)").fetchone()[0] == 0


def test_a_unit_planned_on_content_that_has_changed_is_an_error_not_a_row_under_the_old_key(toy_env, tmp_path):
    from bench.protocol import load_split
    from bench.runner import make_plan
    settings = load_settings()
    catalog = DataCatalog(settings.data_dir)
    unit = make_plan(settings.run_for(None), catalog, set(), "zero", False).units[0]
    (tmp_path / "other").mkdir()
    catalog.import_files([write_toy_csv(tmp_path / "other" / "toy.csv", seed=7)], target="label")
    with pytest.raises(Exception, match="registered again with other content"):
        load_split(catalog, unit)


# ------------------------------------------------------------------------------------------------ code
SOURCE = '''
from imblearn.over_sampling import RandomOverSampler


class Copies(RandomOverSampler):
    """Random over-sampling."""
'''


def _installed(folder, monkeypatch, *, editable: bool):
    """The module my_copies as pip leaves a distribution my-copies 1.0 (RECORD; direct_url.json for -e)."""
    path = importable_module(folder, monkeypatch, "my_copies", SOURCE)
    dist = path.parent / "my_copies-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-copies\nVersion: 1.0\n")
    (dist / "top_level.txt").write_text("my_copies\n")
    if editable:
        (dist / "direct_url.json").write_text(json.dumps({"url": path.parent.as_uri(),
                                                          "dir_info": {"editable": True}}))
    write_record(dist)
    return path


@pytest.fixture
def editable(toy_env, monkeypatch):
    """`pip install -e` of a package: a dist-info whose direct_url.json says editable, the source in place."""
    path = _installed(toy_env, monkeypatch, editable=True)
    code_identity.forget_installed()
    yield path
    code_identity.forget_installed()
    sys.modules.pop("my_copies", None)


def test_editing_an_editable_install_recomputes_its_runs_and_nothing_else(toy_env, editable):
    samplers = ("--samplers", "No-resampling,my_copies:Copies")
    assert bench("run", *samplers).exit_code == 0
    version = json.loads(_rows(toy_env).query("sampler == 'my_copies:Copies'")["spec"].iloc[0])["version"]
    assert version.startswith("source-")   # not my-copies-1.0: the distribution's version does not follow edits
    editable.write_text(SOURCE + "\n# a fix\n")
    sys.modules.pop("my_copies", None)
    planned = bench("run", *samplers, "--dry-run").output
    assert "2 already stored, 4 to compute" in planned, planned   # its 2 ratios x 2 classifiers; No-resampling kept
    # said as recomputation, not new work, with what changed
    new_version = code_identity.code_version(__import__("my_copies"), None)
    assert (f"of these, 4 recompute stored runs under changed code or data (the stored rows stay; tables read the "
            f"newest): my_copies:Copies 4 (version {version} -> {new_version})") in " ".join(planned.split()), planned


def test_an_installed_distribution_is_known_by_its_version_until_a_file_of_it_changes(toy_env, monkeypatch):
    path = _installed(toy_env, monkeypatch, editable=False)
    code_identity.forget_installed()
    module = __import__("my_copies")
    try:
        assert code_identity.code_version(module, module.Copies) == "my-copies-1.0"
        path.write_text(SOURCE + "\n# edited in site-packages\n")
        code_identity.forget_installed()
        assert code_identity.code_version(module, module.Copies).startswith("source-")
    finally:
        code_identity.forget_installed()
        sys.modules.pop("my_copies", None)


def _notebook_class(body: str) -> type:
    """A class as a notebook cell defines it: in a module without a source file."""
    cell = types.ModuleType("__notebook__")
    exec(compile(body, "<cell>", "exec"), cell.__dict__)
    return cell.__dict__["Jitter"]


CELL = '''
from imblearn.over_sampling import RandomOverSampler
class Jitter(RandomOverSampler):
    binary_only = False
    def fit_resample(self, X, y):
        return super().fit_resample(X, y)
'''


def test_a_class_without_readable_source_is_keyed_by_its_bytecode_never_unknown():
    first = _notebook_class(CELL)
    version = code_identity.code_version(types.ModuleType("__notebook__"), first)
    assert version.startswith("bytecode-")
    assert code_identity.code_version(types.ModuleType("__notebook__"), _notebook_class(CELL)) == version
    changed = _notebook_class(CELL.replace("return super()", "X = X * 1.0\n        return super()"))
    assert code_identity.code_version(types.ModuleType("__notebook__"), changed) != version
    constant = _notebook_class(CELL.replace("binary_only = False", "binary_only = True"))
    assert code_identity.code_version(types.ModuleType("__notebook__"), constant) != version
