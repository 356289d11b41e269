"""The unit-cost model behind `bench run --dry-run` and the ETA, checked by hand."""
from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from bench import cost
from bench.cost import Eta, UnitCosts, training_rows
from bench.data import ir_split
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


@pytest.mark.parametrize("ir", [5, 20, 50])
def test_training_rows_are_the_rows_the_split_protocol_trains_on(ir):
    """The model's count (no split built) against the training split ir_split builds, within a row or two of
    truncation."""
    y = np.repeat(["a", "b"], [1000, 500])
    X = pd.DataFrame({"x": np.arange(len(y), dtype=float)})
    split = ir_split(X, y, minority="b", ir=ir, seed=1)
    assert training_rows(RECORD, _unit(ir=ir)) == pytest.approx(len(split.y_train), abs=2)


def test_the_model_adds_resampling_and_fits_and_stored_timings_replace_it():
    costs = UnitCosts(pd.DataFrame(columns=["sampler", "dataset", "classifier", "status", "resample_s", "fit_s",
                                            "params", "spec"]), {"d": RECORD})
    n = 0.63   # thousand training rows
    fits = (cost.FIT_SECONDS_PER_1000["SVM"] + cost.FIT_SECONDS_PER_1000["DT"]) * cost.RESAMPLED_ROWS * n
    assert costs(_unit()) == (pytest.approx(SAMPLERS["SMOTE"].cost * n + fits + cost.UNIT_OVERHEAD_S), "model")
    lines = cost.AUTOSMOTE_SECONDS["SVM"]
    at = {budget: lines[budget][0] + lines[budget][1] * n for budget in (100, 1000)}
    for budget in (100, 1000):
        assert costs(_unit("AutoSMOTE", ("SVM",), params={"budget": budget})) == (pytest.approx(at[budget]), "model")
    # between and beyond the measured budgets: straight through them
    assert costs(_unit("AutoSMOTE", ("SVM",), params={"budget": 550}))[0] == pytest.approx((at[100] + at[1000]) / 2)
    assert costs(_unit("AutoSMOTE", ("SVM",), params={"budget": 1900}))[0] == pytest.approx(2 * at[1000] - at[100])
    # below 100 episodes: never less than the budget's share of a 100-episode search
    assert costs(_unit("AutoSMOTE", ("SVM",), params={"budget": 10}))[0] >= 0.1 * at[100] > 0
    # where a budget's line is extrapolated below another's (tiny data), more episodes never cost less
    assert cost.autosmote_seconds("KNN", 1000, 0.05) >= cost.autosmote_seconds("KNN", 100, 0.05)
    stored = pd.DataFrame({"sampler": ["SMOTE"] * 4, "dataset": ["d"] * 4, "classifier": ["SVM", "SVM", "DT", "DT"],
                           "status": ["ok"] * 4, "resample_s": [1.0, 3.0, 1.0, 3.0], "fit_s": [0.5, 0.5, 2.0, 4.0],
                           "params": ['{"ratio": 0.2}', '{"ratio": 0.4}'] * 2, "spec": ["{}"] * 4})
    # medians per classifier: resample 2 and 2, fits 0.5 and 3: one resampling plus both fits
    expected = 2.0 + 0.5 + 3.0 + cost.UNIT_OVERHEAD_S
    assert UnitCosts(stored, {"d": RECORD})(_unit()) == (pytest.approx(expected), "stored")
    assert UnitCosts(stored, {"d": RECORD})(_unit(classifiers=("SVM", "KNN")))[1] == "model"   # KNN not stored


def _limited(ratio, seed=1, limit=60.0, sampler="SMOTE"):
    unit = _unit(sampler, params={"ratio": ratio})
    return Unit(**{**unit.__dict__, "seed": seed, "time_limit": limit})


def test_a_plan_prices_a_unit_at_most_at_its_time_limit_and_the_ratios_pruning_skips_at_nothing():
    """bench.pruning: once a ratio of a series is expected to time out (or is stored as timed out), the larger
    ratios of that series are not started, so they cost nothing; the smaller ones and other series are priced."""
    empty = pd.DataFrame(columns=["sampler", "dataset", "classifier", "status", "resample_s", "fit_s", "params",
                                  "spec", "message"])
    costs = UnitCosts(empty, {"d": RECORD})
    modelled = costs(_limited(0.5))[0]
    units = [_limited(r, limit=limit) for r, limit in ((0.5, 60.0), (1.0, 60.0))]
    assert cost.plan_seconds(units, costs, empty) == [(pytest.approx(modelled), "model")] * 2
    tight = modelled / 2   # every unit of this series would be killed
    units = [_limited(r, limit=tight) for r in (0.5, 1.0)] + [_limited(1.0, seed=2, limit=60.0)]
    assert cost.plan_seconds(units, costs, empty) == [(pytest.approx(tight + cost.UNIT_OVERHEAD_S), "time limit"),
                                                      (0.0, "not tried"), (pytest.approx(modelled), "model")]
    timed_out = _limited(0.2).spec("SVM")
    stored = pd.DataFrame({"sampler": ["SMOTE"], "dataset": ["d"], "classifier": ["SVM"], "status": ["timeout"],
                           "resample_s": [0.0], "fit_s": [0.0], "params": ['{"ratio": 0.2}'],
                           "spec": [json.dumps(timed_out)], "message": ["exceeded the time limit of 60 s"]})
    units = [_limited(0.1), _limited(0.5)]
    assert [source for _, source in cost.plan_seconds(units, UnitCosts(stored, {"d": RECORD}), stored)] == \
        ["model", "not tried"]


def _stored_searches(budget: int, seconds: float, classifiers=("SVM", "DT")) -> pd.DataFrame:
    return pd.DataFrame({"sampler": "AutoSMOTE", "dataset": "d", "classifier": list(classifiers), "status": "ok",
                         "resample_s": seconds, "fit_s": 1.0, "params": json.dumps({"budget": budget}),
                         "spec": "{}"})


def test_stored_runs_at_another_budget_are_scaled_by_the_model_not_taken_as_they_are():
    costs = UnitCosts(_stored_searches(100, 20.0), {"d": RECORD})
    at_100 = _unit("AutoSMOTE", ("SVM",), params={"budget": 100})
    assert costs(at_100) == (pytest.approx(20.0 + 1.0 + cost.UNIT_OVERHEAD_S), "stored")
    at_1000 = _unit("AutoSMOTE", ("SVM",), params={"budget": 1000})
    seconds, source = costs(at_1000)
    # the stored 21.12 s times the model's budget-1000 / budget-100 ratio on this split's rows
    assert source == "scaled"
    ratio = cost.autosmote_seconds("SVM", 1000, 0.63) / cost.autosmote_seconds("SVM", 100, 0.63)
    assert seconds == pytest.approx((20.0 + 1.0 + cost.UNIT_OVERHEAD_S) * ratio)
    # stored at both budgets: each unit is timed by its own
    both = UnitCosts(pd.concat([_stored_searches(100, 20.0), _stored_searches(1000, 150.0)]), {"d": RECORD})
    assert both(at_1000) == (pytest.approx(151.0 + cost.UNIT_OVERHEAD_S), "stored")
    # another parameter that the model cannot price: the model, not a stored time at other settings
    other = _unit("AutoSMOTE", ("SVM",), params={"budget": 100, "g2": 5})
    assert costs(other) == (pytest.approx(costs.model(other)), "model")


def test_a_classifier_s_own_parameters_select_its_stored_timings():
    code = {"factory": "m:C", "params": {"n": 200}, "seeded": False}
    stored = pd.DataFrame({"sampler": "SMOTE", "dataset": "d", "classifier": ["C"], "status": "ok",
                           "resample_s": 1.0, "fit_s": 9.0, "params": '{"ratio": 0.5}',
                           "spec": json.dumps({"classifier_code": {**code, "version": "1"}})})
    costs = UnitCosts(stored, {"d": RECORD})
    same = _unit(classifiers=("C",))
    same = Unit(**{**same.__dict__, "classifier_code": json.dumps({"C": {**code, "version": "2"}})})
    assert costs(same) == (pytest.approx(10.0 + cost.UNIT_OVERHEAD_S), "stored")   # a code version is not a cost
    bigger = Unit(**{**same.__dict__, "classifier_code": json.dumps({"C": {**code, "params": {"n": 2000}}})})
    assert costs(bigger)[1] == "model"


def test_eta_weighs_units_by_cost_and_learns_from_the_finished_ones():
    eta = Eta({"a": ("SMOTE", 10.0), "b": ("SMOTE", 10.0), "s": ("AutoSMOTE/SVM", 100.0)}, workers=2)
    assert eta.seconds(elapsed=0) == pytest.approx(60.0)           # (10 + 10 + 100) / 2, nothing learned yet
    eta.finished("a", 20.0)                                         # SMOTE took twice its expectation
    # the other SMOTE unit: 10 + the 10 s its group's first one took beyond expected; the search, of a group not
    # seen yet: the others' ratio 20 / 10;
    # the clock: 10 s elapsed on 2 workers for 20 measured seconds = 1
    assert eta.seconds(elapsed=10) == pytest.approx((20 + 200) / 2)
    assert eta.seconds(elapsed=20) == pytest.approx(2 * (20 + 200) / 2)   # the clock says units take twice as long
    eta.finished("b", 20.0)
    eta.finished("a", 1000.0)                                       # a unit counts once
    assert eta.seconds(elapsed=20) == pytest.approx(1 * 200 / 2)    # 40 measured in 20 s on 2 workers


def test_a_unit_the_pruning_rule_skips_leaves_the_eta_without_counting_as_a_measurement():
    eta = Eta({"a": ("sv.ADG", 300.0), "b": ("sv.ADG", 300.0), "c": ("sv.ADG", 300.0)}, workers=1)
    eta.finished("a", 300.0)
    eta.skipped("b")                                                # not tried: no 0 s measurement of its kind
    assert eta.seconds(elapsed=300) == pytest.approx(300.0)         # c only, at the ratio its group measured
    eta.finished("b", 0.0)                                          # the skipped unit's rows: no longer left
    assert eta.seconds(elapsed=300) == pytest.approx(300.0)


def test_the_correction_reads_a_shortfall_on_small_units_as_a_fixed_cost_not_a_ratio():
    from bench.cost import correction
    assert correction([(1.0, 12.0), (10.0, 30.0), (100.0, 210.0)]) == pytest.approx((10.0, 2.0))   # 10 + 2 e
    assert correction([(1.0, 11.0), (1.0, 11.0)]) == pytest.approx((10.0, 1.0))   # one size: the excess is fixed
    assert correction([(10.0, 5.0), (10.0, 5.0)]) == pytest.approx((0.0, 0.5))    # an overestimate scales down
    assert correction([(10.0, 0.0), (10.0, 0.0)]) == pytest.approx((0.0, 0.1))    # failed at once: not free
    assert correction([(1.0, 500.0), (2.0, 1.0), (100.0, 1.0)])[1] == pytest.approx(0.1)   # the slope kept >= 0.1
    # two small units of a group took 11 s for 1 s expected: its large unit is 100 + 10 s, not 11 x 100 s
    eta = Eta({"a": ("CTGAN", 1.0), "b": ("CTGAN", 1.0), "big": ("CTGAN", 100.0)}, workers=1)
    eta.finished("a", 11.0)
    eta.finished("b", 11.0)
    assert eta.seconds(elapsed=22) == pytest.approx(110.0)


def test_a_group_not_seen_yet_is_corrected_by_the_others_by_at_most_two_fold():
    eta = Eta({"gan": ("CTGAN", 1.0), "smote": ("SMOTE", 10.0)}, workers=1)
    eta.finished("gan", 100.0)                                     # 100x its expectation
    assert eta.seconds(elapsed=100) == pytest.approx(20.0)         # SMOTE: 10 s x 2, not x 100


def test_a_method_whose_cost_does_not_grow_with_the_data_is_priced_per_unit():
    """MESA meta-trains a fixed number of episodes: the same seconds per classifier on 100 rows as on 10000."""
    costs = UnitCosts(pd.DataFrame(columns=["sampler", "dataset", "classifier", "status", "resample_s", "fit_s",
                                            "params", "spec"]),
                      {"d": RECORD, "big": SimpleNamespace(name="big", class_counts={0: 10000, 1: 5000})})
    small, big = _unit("MESA", ("AdaBoost",)), Unit(**{**_unit("MESA", ("AdaBoost",)).__dict__, "dataset": "big"})
    expected = cost.PER_UNIT_SECONDS["MESA"]["AdaBoost"] + cost.UNIT_OVERHEAD_S
    assert costs(small) == costs(big) == (pytest.approx(expected), "model")


def test_the_eta_can_be_read_while_units_finish():
    """The progress log reads the ETA from its own thread while the run records finished units: reading must
    never see the units left change under it (it did: the log thread died, and the log went silent)."""
    units = {f"u{i}": ("SMOTE" if i % 2 else "AutoSMOTE/SVM", 1.0 + i % 7) for i in range(30000)}
    eta, errors, stop = Eta(units, workers=2), [], threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                eta.seconds(10.0)
            except RuntimeError as error:   # "Set changed size during iteration"
                errors.append(error)
                return
            time.sleep(0)   # hands the interpreter to the run between reads, as the log's pauses do

    reader = threading.Thread(target=read)
    reader.start()
    for i, unit in enumerate(units):
        if i % 5 == 0:
            eta.skipped(unit)
        else:
            eta.finished(unit, 1.0)
    stop.set()
    reader.join()
    assert errors == []
