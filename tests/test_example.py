"""The worked example (examples/jitter-oversampler): its methods pass the field's estimator checks, and the
README's path - install, run, Table 2 with it ranked among the others, `bench check` guarding it - works."""
from __future__ import annotations

import shutil
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench import code_identity
from bench.cli import app
from conftest import OFFLINE_DATASETS, needs_offline_datasets, write_record

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "jitter-oversampler"


def bench(*args):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """The example as `pip install examples/jitter-oversampler` leaves it: its package importable and a
    dist-info folder holding the entry points its pyproject.toml declares (pip itself is not run: a test
    must not change the environment it runs in)."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    site = tmp_path / "site"
    shutil.copytree(EXAMPLE / "jitter_oversampler", site / "jitter_oversampler")
    dist = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    (dist / "top_level.txt").write_text("jitter_oversampler\n")
    (dist / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in points.items()) + "\n"
        for group, points in project["entry-points"].items()))
    write_record(dist)
    monkeypatch.syspath_prepend(str(site))
    code_identity.forget_installed()
    yield project
    code_identity.forget_installed()
    sys.modules.pop("jitter_oversampler", None)


def test_the_example_methods_pass_the_estimator_checks(installed):
    from imblearn.utils.estimator_checks import estimator_checks_generator
    from sklearn.utils.estimator_checks import check_estimator
    from jitter_oversampler import JitterOverSampler, StandardizedCentroid
    for estimator, check in estimator_checks_generator(JitterOverSampler(random_state=0)):
        check(estimator)
    check_estimator(StandardizedCentroid())


@needs_offline_datasets
def test_the_readme_path_runs_ranks_and_guards_the_example(installed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("BENCH_CONFIG", raising=False)
    config = str(EXAMPLE / "bench.toml")
    files = [str(next(OFFLINE_DATASETS.glob(f"{name}.*"))) for name in ("phoneme", "mozilla4")]
    imported = bench("data", "import", *files)
    assert imported.exit_code == 0, imported.output
    listed = bench("list", "samplers").stdout
    assert "Jitter" in listed and "user" in listed
    assert "Centroid" in bench("list", "classifiers").stdout

    run = bench("--config", config, "run")
    assert run.exit_code == 0, run.output
    assert "0 error" not in run.output and "error" not in run.output.split("done in")[-1], run.output
    table = bench("--config", config, "table", "--table", "2", "--format", "csv")
    assert table.exit_code == 0, table.output
    ranked = [line.split(",")[1] for line in table.stdout.splitlines()[1:]]
    assert set(ranked) == {"No-resampling", "RandomOverSampler", "SMOTE", "BorderlineSMOTE", "ADASYN", "Jitter"}

    update = bench("--config", config, "check", "--update")
    assert update.exit_code == 0, update.output
    assert (tmp_path / "baselines" / "jitter" / "baseline_ranks.csv").is_file()
    check = bench("--config", config, "check")
    assert check.exit_code == 0 and "check passed" in check.output, check.output
