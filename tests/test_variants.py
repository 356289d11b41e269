"""The samplers of issue 25's experiments: sdv's TVAE without clipping and rounding (TVAE-unclipped), the ctgan
package's own TVAE / CTGAN (TVAE-ctgan, CTGAN-ctgan), and KMeansSMOTE's threshold rule (catalog.toml)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sdv")

from imblearn.over_sampling import KMeansSMOTE  # noqa: E402

from bench.samplers.imblearn_adapter import MINORITY_SHARE, RatioSampler, minority_share  # noqa: E402
from bench.samplers.registry import SAMPLERS, SamplerContext, all_entries, resolve_samplers  # noqa: E402
from bench.samplers.sdv_adapter import CTGANPackageOversampler, SDVOversampler  # noqa: E402
from test_sdv_adapter import EPOCHS, N_MAJORITY, N_MINORITY, resample, tiny  # noqa: E402,F401 (tiny: a fixture)

VARIANTS = ["TVAE-unclipped", "TVAE-ctgan", "CTGAN-ctgan"]


# ---------------------------------------------------------------- TVAE-unclipped, TVAE-ctgan, CTGAN-ctgan


def test_entries_classes_and_versions():
    import ctgan
    import sdv
    all_entries()
    assert SAMPLERS["TVAE-unclipped"].params == {"enforce_min_max_values": False, "enforce_rounding": False}
    assert SAMPLERS["TVAE-unclipped"].version == f"sdv-{sdv.__version__}+adapter2" == SAMPLERS["TVAE"].version
    for name in VARIANTS:
        entry = SAMPLERS[name]
        assert (entry.category, entry.tunes_ratio, entry.uses_gpu) == ("generative", True, True)
        assert entry.libraries == (("torch", "ctgan") if entry.family == "sdv" else ("torch",))
    for name, model in (("TVAE-ctgan", "TVAE"), ("CTGAN-ctgan", "CTGAN")):
        entry = SAMPLERS[name]
        assert entry.family == "ctgan-package" and entry.version == f"ctgan-{ctgan.__version__}+adapter1"
        sampler = entry.make({"ratio": 0.4, "epochs": 7, "enable_gpu": False, "batch_size": 50}, SamplerContext(9))
        assert type(sampler) is CTGANPackageOversampler and sampler._synthesizer_class() is getattr(ctgan, model)
        assert (sampler.synthesizer, sampler.ratio, sampler.epochs, sampler.random_state) == (model, 0.4, 7, 9)
        assert sampler.synthesizer_params == {"batch_size": 50} and sampler.uses_gpu() is False
    unclipped = SAMPLERS["TVAE-unclipped"].make({"ratio": 0.4}, SamplerContext(9))
    assert type(unclipped) is SDVOversampler and unclipped.synthesizer == "TVAE"
    assert unclipped.synthesizer_params == {"enforce_min_max_values": False, "enforce_rounding": False}
    # the label's parameters win over the entry's
    assert SAMPLERS["TVAE-unclipped"].make({"ratio": 0.4, "enforce_rounding": True},
                                           SamplerContext(9)).synthesizer_params["enforce_rounding"] is True


def test_each_variant_is_its_own_row_in_tables():
    assert [c.label for c in resolve_samplers(["TVAE", *VARIANTS])] == ["TVAE", *VARIANTS]
    assert [c.label for c in resolve_samplers(["ctgan-package"])] == ["CTGAN-ctgan", "TVAE-ctgan"]
    assert resolve_samplers(["ctgan"])[0].label == "CTGAN"   # a lowercase name still means the sdv sampler


@pytest.mark.parametrize("name", VARIANTS)
def test_adds_the_rows_the_ratio_asks_for_after_the_originals(tiny, name):
    X, y = tiny
    X_res, y_res = resample(name, X, y, ratio=0.48)
    n_new = int(0.48 * N_MAJORITY) - N_MINORITY   # 57.6 truncated to 57, as the sdv entries: 17
    assert X_res.shape == (len(y) + n_new, X.shape[1]) and X_res.dtype == np.float64
    assert np.isfinite(X_res).all()
    np.testing.assert_array_equal(X_res[:len(y)], X)
    np.testing.assert_array_equal(y_res[:len(y)], y)
    np.testing.assert_array_equal(y_res[len(y):], np.ones(n_new))


def test_every_smaller_class_is_raised_to_the_ratio(tiny):
    X, y = tiny
    labels = np.where(y == 1, "b", "a").astype(object)
    labels[:30] = "c"   # 90 "a", 40 "b", 30 "c": ratio 0.5 -> 45 rows each, "b" +5 and "c" +15
    X_res, y_res = CTGANPackageOversampler("TVAE", 0.5, epochs=EPOCHS).fit_resample(X, labels)
    assert [int(np.sum(y_res == c)) for c in "abc"] == [90, 45, 45] and len(X_res) == 180


@pytest.mark.parametrize("name", ["TVAE-unclipped", "TVAE-ctgan"])
def test_unclipped_samples_leave_the_minority_box_where_sdv_s_defaults_do_not(tiny, name):
    """Behavioural evidence that the flags take effect: on the same data and seed, sdv's TVAE keeps every
    synthetic value inside the minority's [min, max] and the 0/1 column at 0 or 1; without clipping and
    rounding, values fall outside and the 0/1 column takes other values."""
    X, y = tiny
    minority = X[y == 1]

    def outside(synthetic):
        return int(((synthetic < minority.min(axis=0)) | (synthetic > minority.max(axis=0))).sum())

    clipped = resample("TVAE", X, y, ratio=1.0)[0][len(y):]
    assert outside(clipped) == 0 and set(np.unique(clipped[:, 3])) <= {0.0, 1.0}
    unclipped = resample(name, X, y, ratio=1.0)[0][len(y):]
    assert outside(unclipped) > 0
    assert len(np.unique(unclipped[:, 3])) > 2


def test_a_boolean_parameter_must_be_a_boolean(tiny):
    """`TVAE[enforce_rounding=false]` parses to the string 'false', which sdv would take for true."""
    X, y = tiny
    ((_, fixed),) = [(c.label, c.fixed) for c in resolve_samplers(["TVAE[enforce_rounding=false]"])]
    assert fixed == {"enforce_rounding": "false"}
    for sampler in (SAMPLERS["TVAE"].make({"ratio": 0.5, **fixed}, SamplerContext(1)),
                    SAMPLERS["TVAE-ctgan"].make({"ratio": 0.5, "verbose": "no"}, SamplerContext(1))):
        with pytest.raises(ValueError, match="must be True or False"):
            sampler.fit_resample(X, y)


def test_ctgan_package_rejects_what_it_does_not_take(tiny):
    X, y = tiny
    for params in ({"metadata": None}, {"cuda": True}, {"enforce_rounding": False}):
        with pytest.raises(ValueError, match=r"unknown TVAE parameter\(s\)"):
            CTGANPackageOversampler("TVAE", 0.5, synthesizer_params=params).fit_resample(X, y)


# ---------------------------------------------------------------- KMeansSMOTE's rule


@pytest.fixture(scope="module")
def ir100():
    """An IR-100-like training split: 2000 majority rows and 20 minority rows, five features, the minority
    shifted (as at IR 100 of the paper's data: 22-156 minority rows for 2290-15607 majority ones)."""
    rng = np.random.RandomState(0)
    y = np.r_[np.zeros(2000, dtype=int), np.ones(20, dtype=int)]
    X = rng.randn(len(y), 5) + 1.5 * y[:, None]
    return X, y


def test_the_library_default_finds_no_cluster_on_an_ir_100_split(ir100):
    X, y = ir100
    with pytest.raises(RuntimeError, match="No clusters found with sufficient samples"):
        SAMPLERS["KMeansSMOTE"].make({"ratio": 0.5, "cluster_balance_threshold": "auto"},
                                     SamplerContext(1)).fit_resample(X, y)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_catalogue_rule_runs_at_every_ratio_on_an_ir_100_split(ir100, seed):
    X, y = ir100
    assert SAMPLERS["KMeansSMOTE"].params == {"cluster_balance_threshold": MINORITY_SHARE}
    for ratio in np.round(np.arange(0.1, 1.01, 0.1), 1):
        X_res, y_res = SAMPLERS["KMeansSMOTE"].make({"ratio": float(ratio)}, SamplerContext(seed)).fit_resample(X, y)
        wanted = int(ratio * 2000)
        # imbalanced-learn rounds each used cluster's share up: at most one extra row per cluster (8)
        assert wanted <= np.sum(y_res == 1) <= wanted + 8 and np.sum(y_res == 0) == 2000
        np.testing.assert_array_equal(X_res[:len(y)], X)
        again, _ = SAMPLERS["KMeansSMOTE"].make({"ratio": float(ratio)}, SamplerContext(seed)).fit_resample(X, y)
        np.testing.assert_array_equal(X_res, again)


class _Recording:
    """A sampler that records the arguments it was built with."""
    _sampling_type = "over-sampling"
    built: dict = {}

    def __init__(self, **kwargs):
        type(self).built = kwargs

    def fit_resample(self, X, y):
        return X, y


def test_minority_share_is_the_smallest_class_s_share_of_the_rows(ir100):
    X, y = ir100
    assert minority_share(y) == 20 / 2020
    assert minority_share(np.r_[np.zeros(50), np.ones(30), np.full(20, 2)]) == 0.2
    RatioSampler(_Recording, 0.5, 1, {"cluster_balance_threshold": MINORITY_SHARE, "k": "other"}).fit_resample(X, y)
    assert _Recording.built["cluster_balance_threshold"] == 20 / 2020 and _Recording.built["k"] == "other"
    # the value imbalanced-learn gets is the one the rule names
    sampler = KMeansSMOTE(cluster_balance_threshold=minority_share(y), random_state=1, sampling_strategy=0.5)
    np.testing.assert_array_equal(
        sampler.fit_resample(X, y)[0],
        SAMPLERS["KMeansSMOTE"].make({"ratio": 0.5}, SamplerContext(1)).fit_resample(X, y)[0])
