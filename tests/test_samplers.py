"""The sampler registry and the imbalanced-learn adapter."""
import dataclasses

import numpy as np
import pytest

from bench.names import UnknownNameError
from bench.protocol import resample
from bench.samplers.registry import SamplerContext, groups, parse_sampler, resolve_samplers

TABLE2_IMBLEARN = {
    "under": ["ClusterCentroids", "CondensedNearestNeighbour", "EditedNearestNeighbours",
              "RepeatedEditedNearestNeighbours", "AllKNN", "InstanceHardnessThreshold", "NearMiss",
              "NeighbourhoodCleaningRule", "OneSidedSelection", "RandomUnderSampler", "TomekLinks"],
    "over": ["RandomOverSampler", "SMOTE", "SMOTEN", "ADASYN", "BorderlineSMOTE", "KMeansSMOTE", "SVMSMOTE"],
    "combined": ["SMOTEENN", "SMOTETomek"],
}


def test_imblearn_group_is_table2():
    chosen = resolve_samplers(["imblearn"])
    assert [c.label for c in chosen] == sum(TABLE2_IMBLEARN.values(), [])
    for category, names in TABLE2_IMBLEARN.items():
        assert [n for n in groups()[category] if n in names] == names
    cleaning = {"CondensedNearestNeighbour", "EditedNearestNeighbours", "RepeatedEditedNearestNeighbours",
                "AllKNN", "NeighbourhoodCleaningRule", "OneSidedSelection", "TomekLinks"}
    assert {c.label for c in chosen if not c.entry.tunes_ratio} == cleaning
    assert [len(c.grid((0.5, 1.0))) for c in chosen if c.label == "SMOTE"] == [2]


def test_fixed_parameters_are_part_of_the_label_and_grid():
    choice = parse_sampler("SMOTE[k_neighbors=3]")
    assert choice.label == "SMOTE[k_neighbors=3]"
    assert choice.grid((0.5,)) == [{"k_neighbors": 3, "ratio": 0.5}]
    X = np.random.RandomState(0).randn(60, 2)
    y = np.r_[np.zeros(50), np.ones(10)].astype(int)
    assert choice.entry.make(choice.grid((0.5,))[0], SamplerContext(1)).params["k_neighbors"] == 3
    _, y_res = choice.entry.make(choice.grid((0.5,))[0], SamplerContext(1)).fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [50, 25]


@pytest.mark.parametrize("text, message", [("SMOTEE", "did you mean SMOTE"), ("SMOTE[k_neighbors]", "key=value"),
                                           ("SMOTE[k=1", "malformed")])
def test_bad_sampler_references(text, message):
    with pytest.raises(UnknownNameError, match=message):
        resolve_samplers([text])


def test_ratio_means_class_over_majority_after_resampling():
    rng = np.random.RandomState(0)
    X = rng.randn(300, 3)
    binary = np.r_[np.zeros(200), np.ones(100)].astype(int)
    multi = np.r_[np.zeros(200), np.ones(60), np.full(40, 2)].astype(int)
    over = resolve_samplers(["RandomOverSampler"])[0].entry
    under = resolve_samplers(["RandomUnderSampler"])[0].entry
    # binary, ratio 0.8: 0.8 * 200 = 160 minority rows; under-sampling: 100 / 0.8 = 125 majority rows
    assert np.bincount(over.make({"ratio": 0.8}, SamplerContext(1)).fit_resample(X, binary)[1]).tolist() == [200, 160]
    assert np.bincount(under.make({"ratio": 0.8}, SamplerContext(1)).fit_resample(X, binary)[1]).tolist() == [125, 100]
    # three classes, ratio 0.5: each smaller class up to 0.5 * 200 = 100; under: classes above 40 / 0.5 = 80 cut to 80
    assert np.bincount(over.make({"ratio": 0.5}, SamplerContext(1)).fit_resample(X, multi)[1]).tolist() == [200, 100, 100]
    assert np.bincount(under.make({"ratio": 0.5}, SamplerContext(1)).fit_resample(X, multi)[1]).tolist() == [80, 60, 40]


def test_the_unit_builds_no_sampler_for_a_ratio_the_data_meets():
    """bench.samplers.rules' ratio rule, applied by the unit before any method (whatever its adapter) is built."""
    def never(params, context):
        raise AssertionError("a sampler was built for a ratio met already")

    entry = dataclasses.replace(parse_sampler("SMOTE").entry, make=never)
    X = np.random.RandomState(0).randn(60, 2)
    y = np.r_[np.zeros(50), np.ones(10)].astype(int)
    for ratio in (0.1, 0.2):   # 10 / 50 = 0.2 is met: at and below it, the input comes back
        X_res, y_res, info = resample(entry, {"ratio": ratio}, SamplerContext(1), X, y)
        assert X_res is X and y_res is y and info == {}
    with pytest.raises(AssertionError, match="was built"):
        resample(entry, {"ratio": 0.25}, SamplerContext(1), X, y)
