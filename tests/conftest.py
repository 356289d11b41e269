"""Shared fixtures: a small synthetic binary dataset registered through the user's import path."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def write_toy_csv(path: Path, n: int = 1200, seed: int = 0) -> Path:
    """Two overlapping Gaussian classes, 60/40, with one categorical column."""
    rng = np.random.RandomState(seed)
    y = (rng.rand(n) < 0.4).astype(int)
    X = rng.randn(n, 4) + y[:, None] * 1.2
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["colour"] = np.where(rng.rand(n) < 0.5, "red", "blue")
    frame["label"] = np.where(y == 1, "pos", "neg")
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def toy_env(tmp_path, monkeypatch):
    """A data directory with the dataset `toy` and a bench.toml whose `t` profile runs on it."""
    data_dir = tmp_path / "data"
    csv = write_toy_csv(tmp_path / "toy.csv")
    from bench.datasets import DataCatalog
    DataCatalog(data_dir).import_files([csv], target="label")
    config = tmp_path / "bench.toml"
    config.write_text(f"""
[data]
dir = "{data_dir}"
[run]
profile = "t"
results = "{tmp_path / 'runs'}"
datasets = ["toy"]
irs = [5]
seeds = [1]
classifiers = ["SVM", "DT"]
samplers = ["No-resampling", "RandomOverSampler", "TomekLinks"]
ratios = [0.5, 1.0]
workers = 2
time_limit = 60
[table]
reference = "RandomOverSampler"
[profiles.t]
""")
    monkeypatch.setenv("BENCH_CONFIG", str(config))
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    return tmp_path
