"""The adapters' one base (bench.samplers.base): the ratio rule, seeding, no-op detection, get_params / clone,
and imbalanced-learn's estimator checks over every adapter class; the rules it shares with the unit
(bench.samplers.rules)."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import smote_variants as sv
from scipy import sparse
import torch
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler, TomekLinks
from imblearn.utils import check_sampling_strategy
from imblearn.utils.estimator_checks import check_param_validation
from imblearn.utils.estimator_checks import estimator_checks_generator as imblearn_checks
from sklearn.base import clone
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import estimator_checks_generator as sklearn_checks

from autosmote import AutoSMOTE
from autosmote.gumbel import AutoSMOTECohort, AutoSMOTESelf
from bench.baselines.mesa import MESA
from bench.samplers import registry
from bench.samplers.base import ProtocolSampler, fit_info, ratio_strategy, seeded_global_rngs, target_counts
from bench.samplers.imblearn_adapter import NoResampling, RatioSampler
from bench.samplers.registry import SAMPLERS, SamplerContext, all_entries
from bench.samplers.rules import ratio_met, returned_input
from bench.samplers.sdv_adapter import CTGANPackageOversampler, SDVOversampler
from bench.samplers.smote_variants_adapter import SmoteVariantsSampler

OVER, UNDER = "over-sampling", "under-sampling"


def labels(*counts: int) -> np.ndarray:
    """y with counts[c] rows of class c."""
    return np.repeat(np.arange(len(counts)), counts)


def data(*counts: int, seed: int = 0):
    y = labels(*counts)
    return np.random.RandomState(seed).randn(len(y), 3) + y[:, None], y


# ---------------------------------------------------------------- the ratio rule


@pytest.mark.parametrize("counts, ratio, kind, expected", [
    ((100, 10), 0.127, OVER, (100, 12)),        # 0.127 * 100 = 12.7 -> 12
    ((100, 10), 0.5, OVER, (100, 50)),
    ((10, 100), 0.333, OVER, (33, 100)),        # the minority's label comes first: 33.3 -> 33
    ((100, 10), 0.3, UNDER, (33, 10)),          # 10 / 0.3 = 33.3 -> 33
    ((100, 10), 1.0, UNDER, (10, 10)),
    ((200, 60, 40), 0.337, OVER, (200, 67, 67)),   # 67.4 -> 67 for both smaller classes
    ((200, 90, 40), 0.4, OVER, (200, 90, 80)),     # 90 is above 0.4 * 200 already: kept
    ((200, 60, 40), 0.7, UNDER, (57, 57, 40)),     # 40 / 0.7 = 57.1 -> 57 for both larger classes
    ((200, 60, 50), 0.9, UNDER, (55, 55, 50)),     # 50 / 0.9 = 55.6 -> 55
    # a ratio at or below the current one asks for no change, and no class moves the other way
    ((100, 10), 0.1, OVER, (100, 10)),
    ((100, 10), 0.105, OVER, (100, 10)),        # 10.5 -> 10: not one new row
    ((100, 10), 0.05, UNDER, (100, 10)),        # 10 / 0.05 = 200 rows: more than there are
    ((100, 10), 0.1, UNDER, (100, 10)),         # 10 / 0.1 = 100 rows: the ratio is met already
    ((200, 60, 40), 0.1, OVER, (200, 60, 40)),
])
def test_target_counts_hand_computed(counts, ratio, kind, expected):
    assert target_counts(ratio, labels(*counts), kind) == dict(enumerate(expected))


@pytest.mark.parametrize("counts, ratio, met", [
    ((100, 10), 0.1, True), ((100, 10), 0.09, True), ((100, 10), 0.105, False),
    ((10, 100), 0.1, True),                      # whichever label is the minority
    ((200, 60, 40), 0.2, True), ((200, 60, 40), 0.21, False),   # the smallest class decides
])
def test_ratio_met_compares_the_smallest_class_with_the_largest(counts, ratio, met):
    assert ratio_met(ratio, np.array(counts)) is met


def test_a_ratio_met_gets_no_resampling_from_either_kind():
    """The rule the unit applies before it builds a sampler holds inside the adapters as well."""
    for counts in ((100, 10), (37, 5), (200, 60, 40)):
        y = labels(*counts)
        for ratio in (0.01, 0.05, min(counts) / max(counts)):
            assert ratio_met(ratio, np.array(counts))
            for kind in (OVER, UNDER):
                assert ratio_strategy(ratio, y, kind) == {}


def test_returned_input_is_the_same_rows_in_the_same_order():
    X, y = data(10, 4)
    assert returned_input(X, y, X.copy(), y.copy())
    assert not returned_input(X, y, X[::-1], y[::-1])               # reordered
    assert not returned_input(X, y, X + 1e-12, y)                   # moved
    assert not returned_input(X, y, X, 1 - y)                       # relabelled
    assert not returned_input(X, y, np.vstack([X, X[:1]]), np.r_[y, y[:1]])   # a row added
    S = sparse.csr_matrix(X)
    assert returned_input(S, y, S.copy(), y) and not returned_input(S, y, sparse.csr_matrix(X * 2), y)


def test_the_rules_import_no_learning_library():
    """Every reader of a store imports bench.protocol, and with it these rules."""
    code = ("import sys; import bench.samplers.rules\n"
            "assert not {'scipy', 'sklearn', 'imblearn'} & set(sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_two_classes_follow_imbalanced_learns_float_rule():
    """For binary targets the rule is imbalanced-learn's own: the ratio is passed on as its float."""
    for n_majority in range(2, 40):
        for n_minority in range(1, n_majority):
            y = labels(n_majority, n_minority)
            for ratio in (0.05, 0.1, 0.3, 0.45, 0.7, 1.0):
                for kind in (OVER, UNDER):
                    strategy = ratio_strategy(ratio, y, kind)
                    if strategy == {}:   # where imbalanced-learn refuses the float: nothing changes
                        assert target_counts(ratio, y, kind) == {0: n_majority, 1: n_minority}
                        continue
                    assert strategy == ratio
                    theirs = check_sampling_strategy(ratio, y, kind)   # rows to add (over) or keep (under)
                    counts = {0: n_majority, 1: n_minority}
                    if kind == OVER:
                        assert target_counts(ratio, y, kind) == {c: n + theirs.get(c, 0) for c, n in counts.items()}
                    else:
                        assert target_counts(ratio, y, kind) == {c: theirs.get(c, n) for c, n in counts.items()}


# ratio 0.337: over-sampling raises to int(0.337 * 200) = 67 rows, under-sampling cuts to int(40 / 0.337) = 118;
# sampling_strategy_ in imbalanced-learn's terms: rows to add (over) or to keep (under) per class it acts on
OVER_2 = (200, 40), {1: 27}, (200, 67)
OVER_3 = (200, 60, 40), {1: 7, 2: 27}, (200, 67, 67)
UNDER_2 = (200, 40), {0: 118}, (118, 40)
UNDER_3 = (200, 60, 40), {0: 118, 1: 60, 2: 40}, (118, 60, 40)


@pytest.mark.parametrize("sampler, case", [
    *[(sampler, case) for sampler in (RatioSampler(RandomOverSampler, 0.337, 0), RatioSampler(SMOTE, 0.337, 0),
                                      SDVOversampler("TVAE", 0.337), CTGANPackageOversampler("TVAE", 0.337))
      for case in (OVER_2, OVER_3)],
    (RatioSampler(RandomUnderSampler, 0.337, 0), UNDER_2), (RatioSampler(RandomUnderSampler, 0.337, 0), UNDER_3),
    (SmoteVariantsSampler(sv.SMOTE, 0.337, 0), OVER_2)],   # smote-variants oversamplers are binary-only
    ids=lambda value: type(value).__name__ if isinstance(value, ProtocolSampler) else f"{len(value[0])}-classes")
def test_every_adapter_asks_for_the_rules_counts(sampler, case):
    counts, strategy, after = case
    X, y = data(*counts)
    assert clone(sampler).fit(X, y).sampling_strategy_ == strategy   # fit works it out without resampling
    if not isinstance(sampler, SDVOversampler):   # its fits are tests/test_sdv_adapter.py's
        _, y_res = clone(sampler).fit_resample(X, y)
        assert tuple(np.bincount(y_res)) == after


# ---------------------------------------------------------------- seeding of the global random state


def test_seeding_draws_from_the_seed_and_restores_the_callers_state():
    np.random.seed(5)
    torch.manual_seed(6)
    numpy_state, torch_state = np.random.get_state(), torch.get_rng_state()
    with seeded_global_rngs(1):
        drawn = np.random.rand(), torch.rand(1)
    assert all(map(np.array_equal, np.random.get_state(), numpy_state))
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.random.seed(1)
    torch.manual_seed(1)
    assert drawn[0] == np.random.rand() and torch.equal(drawn[1], torch.rand(1))


def test_no_seed_leaves_the_callers_stream_alone():
    np.random.seed(3)
    expected = np.random.RandomState(3).rand(2)
    with seeded_global_rngs(None):
        first = np.random.rand()
    assert [first, np.random.rand()] == list(expected)


def test_seeding_never_imports_torch():
    code = ("import sys; import numpy as np; from bench.samplers.base import seeded_global_rngs\n"
            "with seeded_global_rngs(1): np.random.rand()\n"
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


class DrawsFromTheGlobalGenerator(ProtocolSampler):
    """A library that ignores its random_state and draws from numpy's global generator (E_SMOTE does)."""
    _parameter_constraints: dict = {"random_state": [int, None]}

    def __init__(self, random_state=None):
        self.random_state = random_state

    def _fit_resample(self, X, y):
        new = X[np.random.randint(len(X), size=5)]
        return np.vstack([X, new]), np.r_[y, y[:5]]


def test_a_fit_resample_is_seeded_and_restores_the_callers_state():
    X, y = data(30, 10)
    np.random.seed(0)
    first = DrawsFromTheGlobalGenerator(2).fit_resample(X, y)[0]
    after = np.random.rand()
    np.random.seed(0)
    again = DrawsFromTheGlobalGenerator(2).fit_resample(X, y)[0]
    assert np.array_equal(first, again) and np.random.rand() == after
    assert not np.array_equal(first, DrawsFromTheGlobalGenerator(3).fit_resample(X, y)[0])


# ---------------------------------------------------------------- no-op detection


class SaysWhy(ProtocolSampler):
    """A library that gives a reason (as smote-variants logs one), whether or not it returns its input."""

    def __init__(self, add_rows=False):
        self.add_rows = add_rows

    def _fit_resample(self, X, y):
        self.returned_input_because_ = "too few minority rows"
        return (np.vstack([X, X[:1]]), np.r_[y, y[:1]]) if self.add_rows else (X, y)


def test_no_op_attributes():
    X, y = data(100, 10)
    identity = NoResampling()
    identity.fit_resample(X, y)
    assert identity.returned_input_ is True and identity.returned_input_because_ is None and fit_info(identity) == {}
    smote = RatioSampler(SMOTE, 0.5, 0)
    smote.fit_resample(X, y)
    assert smote.returned_input_ is False and smote.returned_input_because_ is None
    nothing_asked = RatioSampler(RandomOverSampler, 0.105, 0)   # 10.5 rows: not one new
    assert np.array_equal(nothing_asked.fit_resample(X, y)[0], X) and nothing_asked.returned_input_


def test_the_librarys_reason_is_kept_only_when_the_output_is_the_input():
    X, y = data(100, 10)
    returned = SaysWhy().fit(X, y)
    returned.fit_resample(X, y)
    assert returned.returned_input_ and fit_info(returned) == {"returned_input_because": "too few minority rows"}
    added = SaysWhy(add_rows=True)
    added.fit_resample(X, y)
    assert not added.returned_input_ and added.returned_input_because_ is None and fit_info(added) == {}


def test_smote_variants_reason_reaches_the_attributes():
    X, y = data(100, 2)
    sampler = SmoteVariantsSampler(sv.SMOTE, 1.0, 0)
    sampler.fit_resample(X, y)
    assert sampler.returned_input_ and sampler.returned_input_because_ == "SMOTE: Too few minority samples for sampling"


# ---------------------------------------------------------------- get_params / clone of every adapter class


def built(name: str, params: dict, **context):
    """What the registry's make builds for one catalogue entry (its adapter's class)."""
    all_entries()
    return SAMPLERS[name].make(params, SamplerContext(7, **context))


X_VAL, Y_VAL = data(40, 10, seed=1)
EVERY_ADAPTER = {   # one entry per adapter class, built as a unit builds it
    NoResampling: ("No-resampling", {}, {}),
    RatioSampler: ("SMOTE", {"ratio": 0.5, "k_neighbors": 3}, {}),
    SDVOversampler: ("CTGAN", {"ratio": 0.5, "epochs": 1, "batch_size": 50}, {}),
    CTGANPackageOversampler: ("TVAE-ctgan", {"ratio": 0.5, "epochs": 1, "batch_size": 50}, {}),
    SmoteVariantsSampler: ("sv.SMOTE", {"ratio": 0.5, "n_neighbors": 3}, {}),
    AutoSMOTESelf: ("AutoSMOTE-self", {"ratio": 0.5, "epochs": 2}, {}),
    AutoSMOTECohort: ("AutoSMOTE-cohort-mlp", {"epochs": 2}, {}),
    AutoSMOTE: ("AutoSMOTE", {"budget": 2}, {"X_val": X_VAL, "y_val": Y_VAL, "classifier": "DT", "metric": "mcc"}),
    MESA: ("MESA", {"n_meta_episodes": 2}, {"X_val": X_VAL, "y_val": Y_VAL, "classifier": "DT"}),
}


def same(a, b) -> bool:
    """Equal parameter values: estimators by their parameters, arrays by their values."""
    if hasattr(a, "get_params") and not isinstance(a, type):
        return type(a) is type(b) and same(a.get_params(deep=False), b.get_params(deep=False))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b


def test_every_adapter_class_is_listed():
    families = tomllib.loads((Path(registry.__file__).parent / "catalog.toml").read_text())["families"]
    assert {SAMPLERS[name].family for name, _, _ in EVERY_ADAPTER.values()} == set(families)


@pytest.mark.parametrize("cls", EVERY_ADAPTER, ids=lambda cls: cls.__name__)
def test_get_params_and_clone_round_trip(cls):
    sampler = built(*EVERY_ADAPTER[cls][:2], **EVERY_ADAPTER[cls][2])
    assert type(sampler) is cls
    params = sampler.get_params(deep=False)
    assert same(clone(sampler).get_params(deep=False), params)
    assert same(cls(**params).get_params(deep=False), params)   # __init__ only stores its arguments
    if params:
        key = next(iter(params))
        changed = clone(sampler).set_params(**{key: None})
        assert changed.get_params(deep=False)[key] is None and same(sampler.get_params(deep=False), params)


# ---------------------------------------------------------------- the libraries' estimator checks


def check_name(check) -> str:
    return check.func.__name__ if isinstance(check, partial) else check.__name__


def checks(generator, estimator, expected_failures: dict[str, str] | None = None) -> list:
    """pytest parameters of a library's checks on one estimator; each expected failure a strict xfail with
    its reason (it must fail, so the list stays true)."""
    expected = expected_failures or {}
    out = [pytest.param(est, check, id=f"{type(estimator).__name__}-{check_name(check)}",
                        marks=[pytest.mark.xfail(reason=expected[check_name(check)], strict=True)]
                        if check_name(check) in expected else [])
           for est, check in generator(estimator)]
    unknown = set(expected) - {check_name(p.values[1]) for p in out}
    assert not unknown, f"expected failures of checks that do not run: {unknown}"
    return out


DENSE_ONLY = "dense rows only: this check passes a sparse DataFrame whatever the sparse tag says"
IMBLEARN_CHECKS = [
    *checks(imblearn_checks, NoResampling()),
    *checks(imblearn_checks, RatioSampler(RandomOverSampler, 0.8, 0)),
    *checks(imblearn_checks, RatioSampler(RandomUnderSampler, 0.8, 0)),
    *checks(imblearn_checks, RatioSampler(TomekLinks)),   # a cleaning method: no ratio
    *checks(imblearn_checks, SmoteVariantsSampler(sv.SMOTE, 0.8, 0),
            {"check_samplers_pandas_sparse": DENSE_ONLY}),
    # ratio 0.5 on the checks' 200 / 300 / 500 rows: one synthesizer fit per call (class 0 up to 250)
    *checks(imblearn_checks, SDVOversampler("TVAE", 0.5, epochs=1, random_state=0),
            {"check_samplers_pandas_sparse": DENSE_ONLY}),
    *checks(imblearn_checks, CTGANPackageOversampler("TVAE", 0.5, epochs=1, random_state=0),
            {"check_samplers_pandas_sparse": DENSE_ONLY}),
    # ratio 1.0: the checks expect an over-sampler to balance the classes; epochs enough that the end-to-end
    # MLP predicts every class of the check's iris data
    *checks(imblearn_checks, built("AutoSMOTE-self", {"ratio": 1.0, "epochs": 30, "hidden_size": 8})),
    *checks(imblearn_checks, built("AutoSMOTE-cohort", {"ratio": 1.0, "epochs": 30, "hidden_size": 8})),
    *checks(imblearn_checks, built("AutoSMOTE", {"budget": 2, "k_neighbors": 3}, classifier="DT", metric="mcc")),
    *checks(imblearn_checks, MESA(DecisionTreeClassifier(random_state=0), n_estimators=3, n_meta_episodes=3,
                                  batch_size=4, hidden_size=8, random_state=0),
            {"check_classifiers_with_encoded_labels": "binary only: iris has 3 classes",
             "check_classifier_on_multilabel_or_multioutput_targets":
                 "a 2-D y is refused by scikit-learn's validate_data, in its words, not imbalanced-learn's"}),
]


@pytest.mark.parametrize("estimator, check", IMBLEARN_CHECKS)
def test_imblearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("sampler", [NoResampling(), RatioSampler(SMOTE, 0.8, 0),
                                     SmoteVariantsSampler(sv.SMOTE, 0.8, 0), SDVOversampler("TVAE", 0.8),
                                     CTGANPackageOversampler("TVAE", 0.8)],
                         ids=lambda s: type(s).__name__)
def test_imblearn_parameter_validation(sampler):
    check_param_validation(type(sampler).__name__, sampler)


SKLEARN_CHECKS = [
    # the base's classes: scikit-learn's API checks (clone, get_params / set_params, fit, pickling, ...)
    *checks(sklearn_checks, NoResampling()),
    *checks(sklearn_checks, RatioSampler(RandomOverSampler, 0.8, 0)),
    *checks(sklearn_checks, SmoteVariantsSampler(sv.SMOTE, 0.8, 0)),
    *checks(sklearn_checks, SDVOversampler("TVAE", 0.5, epochs=1, random_state=0)),
    *checks(sklearn_checks, CTGANPackageOversampler("TVAE", 0.5, epochs=1, random_state=0)),
    # MESA is a classifier, not a sampler: scikit-learn's classifier checks
    *checks(sklearn_checks, MESA(n_estimators=3, n_meta_episodes=3, batch_size=4, hidden_size=8, random_state=0), {
        "check_classifier_data_not_an_array": "3 + 3 rows: the stratified validation split leaves fewer "
                                              "majority than minority rows to train on, so member 1's balanced "
                                              "subset cannot be drawn"}),
]


@pytest.mark.parametrize("estimator, check", SKLEARN_CHECKS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_adasyn_asked_for_rows_that_all_round_to_none_returns_its_input_as_a_no_op():
    """700/300 rows at ratio 0.431 ask for one new row; ADASYN spreads it over the 300 minority rows, every share
    rounds to 0, and imbalanced-learn raises. The adapter returns the input: the unit's row is a no-op (the ratio
    adds nothing), not an error. Other ValueErrors still raise."""
    from imblearn.over_sampling import ADASYN
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(1000, 3)), np.r_[np.zeros(700, int), np.ones(300, int)]
    with pytest.raises(ValueError, match="No samples will be generated"):
        ADASYN(sampling_strategy=0.431, random_state=0).fit_resample(X, y)
    X_out, y_out = RatioSampler(ADASYN, ratio=0.431, random_state=0).fit_resample(X, y)
    assert returned_input(X, y, X_out, y_out)
    with pytest.raises(ValueError):
        RatioSampler(ADASYN, ratio=0.431, random_state=0, params={"n_neighbors": 0}).fit_resample(X, y)
