"""The unit-cost model behind `bench run --dry-run` and the ETA, checked by hand."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest

from bench import cost
from bench.cost import Eta, UnitCosts, training_rows
from bench.protocol import Unit
from bench.samplers.registry import SAMPLERS

RECORD = SimpleNamespace(name="d", class_counts={0: 1000, 1: 500})


def _unit(sampler="SMOTE", classifiers=("SVM", "DT"), ir=20, split=None, params=None):
    split = split or {"kind": "ir", "impute": "zero", "leak": False}
    return Unit("d", ir, 1, sampler, sampler, json.dumps(params or {}), "v", json.dumps(split), "{}",
                tuple(classifiers))


def test_training_rows_follow_the_split_protocol():
    assert training_rows(RECORD, _unit(ir=20)) == pytest.approx(0.6 * (1000 + 50))     # minority cut to 1000 // 20
    assert training_rows(RECORD, _unit(ir=1)) == pytest.approx(0.6 * 1500)             # nothing to cut
    stratified = _unit(ir=0, split={"kind": "stratified", "impute": "zero", "test_size": 0.2})
    assert training_rows(RECORD, stratified) == pytest.approx(1200)


def test_the_model_adds_resampling_and_fits_and_stored_timings_replace_it():
    costs = UnitCosts(pd.DataFrame(columns=["sampler", "dataset", "classifier", "status", "resample_s", "fit_s"]),
                      {"d": RECORD})
    n = 0.63   # thousand training rows
    fits = (cost.FIT_SECONDS_PER_1000["SVM"] + cost.FIT_SECONDS_PER_1000["DT"]) * cost.RESAMPLED_ROWS * n
    assert costs(_unit()) == (pytest.approx(cost.OVERHEAD * (SAMPLERS["SMOTE"].cost * n + fits)), "model")
    search = _unit("AutoSMOTE", ("SVM",), params={"budget": 100})
    expected = n * (cost.AUTOSMOTE_STARTUP_SECONDS_PER_1000 + 100 * cost.AUTOSMOTE_EPISODE_SECONDS_PER_1000["SVM"])
    assert costs(search) == (pytest.approx(expected), "model")
    stored = pd.DataFrame({"sampler": ["SMOTE"] * 4, "dataset": ["d"] * 4, "classifier": ["SVM", "SVM", "DT", "DT"],
                           "status": ["ok"] * 4, "resample_s": [1.0, 3.0, 1.0, 3.0], "fit_s": [0.5, 0.5, 2.0, 4.0]})
    # medians per classifier: resample 2 and 2, fits 0.5 and 3: one resampling plus both fits
    assert UnitCosts(stored, {"d": RECORD})(_unit()) == (pytest.approx(cost.OVERHEAD * (2.0 + 0.5 + 3.0)), "stored")
    assert UnitCosts(stored, {"d": RECORD})(_unit(classifiers=("SVM", "KNN")))[1] == "model"   # KNN not stored


def test_eta_weighs_units_by_cost_and_learns_from_the_finished_ones():
    eta = Eta({"cheap": 10.0, "also-cheap": 10.0, "search": 100.0}, workers=2)
    assert eta.seconds() == pytest.approx(60.0)            # (10 + 10 + 100) / 2
    eta.finished("cheap", 20.0)                            # twice what was expected
    assert eta.seconds() == pytest.approx(2 * 110 / 2)     # what is left, scaled by 20 / 10
    eta.finished("also-cheap", 5.0)                        # now 25 s for 20 expected
    assert eta.seconds() == pytest.approx(25 / 20 * 100 / 2)
    eta.finished("cheap", 1000.0)                          # a unit counts once
    assert eta.seconds() == pytest.approx(62.5)
