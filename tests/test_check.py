"""`bench check`: passes against its own baseline, fails naming a sampler whose behaviour changed."""
from __future__ import annotations

import dataclasses

import numpy as np
from typer.testing import CliRunner

from bench.cli import app
from bench.samplers.registry import SAMPLERS, all_entries

runner = CliRunner()


def test_check_passes_then_fails_on_a_changed_sampler(toy_env, monkeypatch):
    baseline = toy_env / "baseline"
    args = ["check", "--profile", "t", "--baseline", str(baseline)]
    first = runner.invoke(app, args + ["--update"])
    assert first.exit_code == 0, first.output
    assert (baseline / "baseline_ranks.csv").is_file() and (baseline / "baseline_scores.csv").is_file()

    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "check passed" in again.output

    # Same name and version, different behaviour: a RandomOverSampler that jitters its copies.
    # The check must notice and name it, and only it.
    all_entries()
    original = SAMPLERS["RandomOverSampler"]

    class Jittered:
        def __init__(self, inner):
            self.inner = inner

        def fit_resample(self, X, y):
            X_res, y_res = self.inner.fit_resample(X, y)
            noise = np.random.RandomState(0).normal(scale=0.5, size=X_res.shape)
            noise[: len(X)] = 0
            return X_res + noise, y_res

    changed = dataclasses.replace(original, make=lambda params, context: Jittered(original.make(params, context)))
    monkeypatch.setitem(SAMPLERS, "RandomOverSampler", changed)
    broken = runner.invoke(app, args)
    assert broken.exit_code == 1, broken.output
    assert "check failed: RandomOverSampler" in broken.output
    assert "No-resampling" not in broken.output and "TomekLinks" not in broken.output


def test_check_without_baseline_says_how_to_make_one(toy_env):
    result = runner.invoke(app, ["check", "--profile", "t", "--baseline", str(toy_env / "none")])
    assert result.exit_code == 1
    assert "bench check --update" in result.output
