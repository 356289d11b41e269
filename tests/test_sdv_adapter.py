"""CTGAN / TVAE through sdv as oversamplers: counts, labels, seeding and validation on a tiny set."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sdv")

from bench.samplers.registry import SAMPLERS, SamplerContext, all_entries  # noqa: E402
from bench.samplers.sdv_adapter import SDVOversampler  # noqa: E402

N_MAJORITY, N_MINORITY = 120, 40
EPOCHS = 2


@pytest.fixture(scope="module")
def tiny():
    """120 majority and 40 minority rows: three standardized-like columns and one one-hot 0/1 column."""
    rng = np.random.RandomState(0)
    y = np.r_[np.zeros(N_MAJORITY, dtype=int), np.ones(N_MINORITY, dtype=int)]
    X = np.c_[rng.randn(len(y), 3) + y[:, None], (rng.rand(len(y)) < 0.5).astype(float)]
    return X, y


def resample(name: str, X, y, ratio: float, seed: int = 1, **params):
    all_entries()
    sampler = SAMPLERS[name].make({"ratio": ratio, "epochs": EPOCHS, **params}, SamplerContext(seed))
    return sampler.fit_resample(X, y)


@pytest.mark.parametrize("name", ["CTGAN", "TVAE"])
def test_adds_the_rows_the_ratio_asks_for_after_the_originals(tiny, name):
    X, y = tiny
    X_res, y_res = resample(name, X, y, ratio=0.48)
    n_new = int(0.48 * N_MAJORITY) - N_MINORITY   # 57.6 truncated to 57 (imbalanced-learn's rule): 17
    assert X_res.shape == (len(y) + n_new, X.shape[1]) and X_res.dtype == np.float64
    np.testing.assert_array_equal(X_res[:len(y)], X)
    np.testing.assert_array_equal(y_res[:len(y)], y)
    np.testing.assert_array_equal(y_res[len(y):], np.ones(n_new))


@pytest.mark.parametrize("name", ["CTGAN", "TVAE"])
def test_synthetic_rows_are_finite_inside_the_minority_box_and_keep_one_hot_values(tiny, name):
    X, y = tiny
    X_res, _ = resample(name, X, y, ratio=1.0)
    synthetic, minority = X_res[len(y):], X[y == 1]
    assert len(synthetic) == N_MAJORITY - N_MINORITY
    assert np.isfinite(synthetic).all()
    # sdv's defaults clip to the fitted rows' range and round a 0/1 column to 0 decimals.
    assert (synthetic >= minority.min(axis=0)).all() and (synthetic <= minority.max(axis=0)).all()
    assert set(np.unique(synthetic[:, 3])) <= {0.0, 1.0}


@pytest.mark.parametrize("name", ["CTGAN", "TVAE", "TVAE-unclipped", "TVAE-ctgan", "CTGAN-ctgan"])
def test_a_seed_repeats_exactly_and_another_seed_differs(tiny, name):
    X, y = tiny
    first, _ = resample(name, X, y, ratio=0.5, seed=3)
    again, _ = resample(name, X, y, ratio=0.5, seed=3)
    other, _ = resample(name, X, y, ratio=0.5, seed=4)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("name", ["TVAE", "TVAE-ctgan"])
def test_the_caller_global_random_state_is_left_as_it_was(tiny, name):
    X, y = tiny
    np.random.seed(123)
    expected = np.random.RandomState(123).rand()
    resample(name, X, y, ratio=0.5)
    assert np.random.rand() == expected


@pytest.mark.parametrize("ratio", [N_MINORITY / N_MAJORITY, 0.2])
def test_a_ratio_already_met_returns_the_input_without_fitting(tiny, ratio):
    X, y = tiny
    sampler = SDVOversampler("CTGAN", ratio)
    X_res, y_res = sampler.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X)
    np.testing.assert_array_equal(y_res, y)
    assert sampler.returned_input_ and sampler.sampling_strategy_ == {}


def test_entries_are_generative_sdv_ratio_tuned_and_versioned():
    import sdv
    all_entries()
    for name in ("CTGAN", "TVAE"):
        entry = SAMPLERS[name]
        assert (entry.category, entry.family, entry.tunes_ratio) == ("generative", "sdv", True)
        assert entry.version == f"sdv-{sdv.__version__}+adapter2"


def test_make_passes_epochs_device_seed_and_the_rest_to_the_sampler():
    all_entries()
    sampler = SAMPLERS["TVAE"].make({"ratio": 0.4, "epochs": 7, "enable_gpu": False, "batch_size": 50},
                                    SamplerContext(9))
    assert (sampler.synthesizer, sampler.ratio, sampler.epochs, sampler.random_state) == ("TVAE", 0.4, 7, 9)
    assert sampler.synthesizer_params == {"batch_size": 50}
    assert sampler.uses_gpu() is False


@pytest.mark.parametrize("kwargs, message", [
    ({"ratio": 0.0}, "'ratio' parameter"),
    ({"ratio": 1.5}, "'ratio' parameter"),
    ({"ratio": 0.5, "epochs": 0}, "'epochs' parameter"),
    ({"ratio": 0.5, "epochs": 2.5}, "'epochs' parameter"),
    ({"ratio": 0.5, "enable_gpu": "yes"}, "'enable_gpu' parameter"),
    ({"ratio": 0.5, "synthesizer_params": {"pac": 10}}, r"unknown TVAE parameter\(s\) \['pac'\]"),
    ({"ratio": 0.5, "synthesizer_params": {"enforce_rounding": "false"}}, "'enforce_rounding' must be True or False"),
])
def test_invalid_parameters_raise_value_error(tiny, kwargs, message):
    X, y = tiny
    with pytest.raises(ValueError, match=message):
        SDVOversampler("TVAE", **kwargs).fit_resample(X, y)


def test_every_smaller_class_is_raised_to_the_ratio(tiny):
    X, y = tiny
    labels = np.where(y == 1, "b", "a").astype(object)
    labels[:30] = "c"   # 90 "a", 40 "b", 30 "c": ratio 0.5 -> 45 rows each, "b" +5 and "c" +15
    codes = np.unique(labels, return_inverse=True)[1]
    _, y_res = SDVOversampler("TVAE", 0.5, epochs=EPOCHS).fit_resample(X, codes)
    assert np.bincount(y_res).tolist() == [90, 45, 45]


def test_one_class_raises_value_error(tiny):
    X, y = tiny
    with pytest.raises(ValueError, match="at least two classes"):
        SDVOversampler("CTGAN", 0.5).fit_resample(X, np.zeros_like(y))
