"""The smote-variants oversamplers as harness samplers: registry, ratio mapping, no-op and error rows."""
from __future__ import annotations

import dataclasses
import inspect
import logging

import numpy as np
import pytest
import smote_variants as sv

from bench.config import load_settings
from bench.data import DataCatalog
from bench.names import resolve_name
from bench.protocol import run_unit
from bench.runner import make_plan
from bench.samplers.registry import SAMPLERS, SamplerContext, SamplerEntry, all_entries, groups, resolve_samplers
from bench.samplers.smote_variants_adapter import SmoteVariantsSampler, proportion_for

SV_CLASSES = sv.get_all_oversamplers()


def _imbalanced(n_majority=100, n_minority=10, seed=0):
    rng = np.random.RandomState(seed)
    X = np.vstack([rng.randn(n_majority, 3), rng.randn(n_minority, 3) + 2.0])
    y = np.r_[np.zeros(n_majority, dtype=int), np.ones(n_minority, dtype=int)]
    return X, y


def entry_for(oversampler):
    """A registry entry for a stub oversampler class, built by the adapter as a catalogue entry would be."""
    from bench.samplers import smote_variants_adapter as adapter
    entry = SamplerEntry("sv." + oversampler.__name__, "smote-variants", "smote_variants", make=None, version="test",
                         factory=f"{oversampler.__module__}:{oversampler.__qualname__}",
                         tunes_ratio="proportion" in adapter._named_parameters(oversampler))
    return dataclasses.replace(entry, make=lambda params, context: adapter.make(entry, params, context),
                               fit_info=adapter.fit_info)


def _sv_entries():
    return [e for e in all_entries() if e.family == "smote_variants"]


# ---------------------------------------------------------------- registry


def test_every_oversampler_is_registered_as_sv_name():
    entries = _sv_entries()
    assert len(SV_CLASSES) == 91
    assert [e.name for e in entries] == ["sv." + c.__name__ for c in SV_CLASSES]
    assert {e.category for e in entries} == {"smote-variants"}
    assert {e.version for e in entries} == {f"smote-variants-{sv.__version__}+adapter1"}
    assert all(e.description and not e.identity and not e.predicts for e in entries)
    assert SAMPLERS["sv.SMOTE"].description == "SMOTE: synthetic minority over-sampling technique"


def test_the_group_selects_exactly_the_smote_variants_samplers():
    names = [c.entry.name for c in resolve_samplers(["smote_variants"])]
    assert names == ["sv." + c.__name__ for c in SV_CLASSES]
    assert groups()["smote-variants"] == names
    assert all(resolve_name(n, SAMPLERS, "sampler") == n for n in names)


@pytest.mark.parametrize("name", ["SMOTE", "ADASYN", "SVMSMOTE"])
def test_sv_names_leave_the_imblearn_names_alone(name):
    # "sv.MSMOTE" and "SVMSMOTE" fold to the same key when case and punctuation are ignored
    assert resolve_samplers([name])[0].entry.name == name


def test_a_ratio_is_tuned_exactly_when_the_class_takes_a_proportion():
    tuned = {e.name for e in _sv_entries() if e.tunes_ratio}
    expected = {"sv." + c.__name__ for c in SV_CLASSES if "proportion" in inspect.signature(c).parameters}
    assert tuned == expected and len(tuned) == 80
    assert "sv.SMOTE" in tuned and "sv.AHC" not in tuned
    ahc = resolve_samplers(["sv.AHC"])[0]
    assert ahc.grid((0.5, 1.0)) == [{}]   # once, with its defaults


def test_fixed_parameters_parse_and_reach_the_grid():
    choice = resolve_samplers(["sv.SMOTE[n_neighbors=3]"])[0]
    assert choice.label == "sv.SMOTE[n_neighbors=3]"
    assert choice.grid((0.5,)) == [{"n_neighbors": 3, "ratio": 0.5}]


def test_smote_variants_logs_only_warnings():
    assert logging.getLogger("smote_variants").getEffectiveLevel() == logging.WARNING


# ---------------------------------------------------------------- ratio mapping


def test_proportion_for_hand_computed():
    # 100 majority, 10 minority, ratio 0.5: 50 minority wanted, 40 new of a gap of 90 -> (40 + 0.5) / 90
    assert proportion_for(40, 100, 10) == pytest.approx(0.45)
    # ratio 1.0 fills the gap: (90 + 0.5) / 90
    assert proportion_for(90, 100, 10) == pytest.approx(90.5 / 90)
    # truncation like imbalanced-learn: 0.333 * 100 - 10 = 23.3 -> 23 new rows
    assert proportion_for(23, 100, 10) == pytest.approx(23.5 / 90)
    # at or below the current ratio nothing is wanted
    assert proportion_for(0, 100, 10) == 0.0


def test_the_library_generates_exactly_the_wanted_rows():
    """smote-variants truncates p * gap; the half-row margin survives float rounding on every count."""
    base = sv.SMOTE()
    for n_majority in range(3, 160):
        for n_minority in range(1, n_majority):
            for ratio in (0.1, 0.2, 0.3, 0.45, 0.5, 0.7, 0.9, 1.0):
                wanted = max(0, int(ratio * n_majority - n_minority))
                p = proportion_for(wanted, n_majority, n_minority)
                assert base.det_n_to_sample(p, n_majority, n_minority) == wanted


@pytest.mark.parametrize("ratio", [0, -0.5, float("nan"), float("inf"), 1.5, "0.5"])
def test_bad_ratios_raise_value_error(ratio):
    X, y = _imbalanced()
    with pytest.raises(ValueError, match="'ratio' parameter of SmoteVariantsSampler must be"):
        SmoteVariantsSampler(sv.SMOTE, ratio, 0).fit_resample(X, y)


@pytest.mark.parametrize("n_majority,n_minority", [(10, 10), (5, 10), (10, -1)])
def test_proportion_for_needs_a_majority(n_majority, n_minority):
    with pytest.raises(ValueError, match="needs more majority than minority rows"):
        proportion_for(5, n_majority, n_minority)


# ---------------------------------------------------------------- the wrapper


@pytest.mark.parametrize("ratio,n_minority_after", [(0.5, 50), (1.0, 100), (0.333, 33)])
def test_sv_smote_reaches_the_wanted_ratio(ratio, n_minority_after):
    X, y = _imbalanced()
    X_res, y_res = SAMPLERS["sv.SMOTE"].make({"ratio": ratio}, SamplerContext(7)).fit_resample(X, y)
    assert X_res.dtype == np.float64 and y_res.dtype == y.dtype
    assert np.bincount(y_res).tolist() == [100, n_minority_after]
    assert X_res.shape == (100 + n_minority_after, 3)
    # the original rows come first and unchanged; the new ones are minority
    assert np.array_equal(X_res[:110], X) and np.array_equal(y_res[:110], y)


def test_the_seed_fixes_the_output():
    X, y = _imbalanced()
    entry = SAMPLERS["sv.Borderline_SMOTE1"]
    first = entry.make({"ratio": 1.0}, SamplerContext(3)).fit_resample(X, y)
    again = entry.make({"ratio": 1.0}, SamplerContext(3)).fit_resample(X, y)
    other = entry.make({"ratio": 1.0}, SamplerContext(4)).fit_resample(X, y)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert first[0].shape == other[0].shape and not np.array_equal(first[0], other[0])


class _DrawsFromGlobalNumpy:
    """Like E_SMOTE's np.random.choice: randomness that ignores the oversampler's random_state."""

    def __init__(self, proportion=1.0, random_state=None):
        pass

    def sample(self, X, y):
        new = X[y == 1][np.random.randint((y == 1).sum(), size=5)] + np.random.rand(5, X.shape[1])
        return np.vstack([X, new]), np.r_[y, np.ones(5, dtype=y.dtype)]

    def preprocessing_transform(self, X):
        return X


def test_the_seed_also_fixes_numpy_global_generator_and_restores_it():
    X, y = _imbalanced()
    make = entry_for(_DrawsFromGlobalNumpy).make
    np.random.seed(0)
    first = make({}, SamplerContext(2)).fit_resample(X, y)
    after_first = np.random.random_sample()
    np.random.seed(99)
    again = make({}, SamplerContext(2)).fit_resample(X, y)
    other = make({}, SamplerContext(3)).fit_resample(X, y)
    assert np.array_equal(first[0], again[0]) and not np.array_equal(first[0], other[0])
    np.random.seed(0)
    assert np.random.random_sample() == after_first   # the caller's global state is put back


@pytest.mark.parametrize("n_features", [3, 5])
def test_rows_in_a_space_of_the_method_own_raise(n_features):
    """ISOMAP_Hybrid returns isomap coordinates (3 by default): same width as a 3-column input, still
    not the original features, so a classifier trained on them would score nonsense."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(100, n_features), rng.randn(10, n_features) + 2.0])
    y = np.r_[np.zeros(100, dtype=int), np.ones(10, dtype=int)]
    with pytest.raises(ValueError, match="ISOMAP_Hybrid resamples in a feature space of its own"):
        SAMPLERS["sv.ISOMAP_Hybrid"].make({"ratio": 1.0}, SamplerContext(0)).fit_resample(X, y)


class _RecordsArguments:
    """A smote-variants-like oversampler that remembers what its constructor got."""
    received: dict = {}

    def __init__(self, proportion=1.0, n_neighbors=5, random_state=None, n_jobs=4, **_kwargs):
        type(self).received = {"proportion": proportion, "n_neighbors": n_neighbors,
                               "random_state": random_state, "n_jobs": n_jobs, **_kwargs}

    def sample(self, X, y):
        return X, y

    def preprocessing_transform(self, X):
        return X


def test_the_wrapper_passes_proportion_seed_one_job_and_fixed_parameters():
    X, y = _imbalanced()
    entry = entry_for(_RecordsArguments)
    assert entry.name == "sv._RecordsArguments" and entry.tunes_ratio
    entry.make({"ratio": 0.5, "n_neighbors": 3}, SamplerContext(11)).fit_resample(X, y)
    assert _RecordsArguments.received == pytest.approx(
        {"proportion": 0.45, "n_neighbors": 3, "random_state": 11, "n_jobs": 1})


@pytest.mark.parametrize("params,message", [
    ({"n_neighbour": 3}, "has no parameter 'n_neighbour'"),   # would vanish into **_kwargs
    ({"proportion": 0.5}, "proportion is set by the adapter"),
    ({"random_state": 1}, "random_state is set by the adapter"),
])
def test_bad_fixed_parameters_raise_value_error(params, message):
    X, y = _imbalanced()
    with pytest.raises(ValueError, match=message):
        SmoteVariantsSampler(_RecordsArguments, 0.5, 0, params).fit_resample(X, y)


def test_a_ratio_for_a_class_without_proportion_raises():
    X, y = _imbalanced()
    with pytest.raises(ValueError, match="takes no proportion"):
        SAMPLERS["sv.AHC"].make({"ratio": 0.5}, SamplerContext(0)).fit_resample(X, y)


def test_sv_returns_its_input_with_its_reason_and_prints_nothing(capfd):
    """smote-variants' own guard (at most 2 minority rows) hands back copies: the harness's no-op. Its
    logged reason goes into the row's extra, not onto stderr."""
    X, y = _imbalanced(n_minority=2)
    entry = SAMPLERS["sv.SMOTE"]
    sampler = entry.make({"ratio": 1.0}, SamplerContext(0))
    X_res, y_res = sampler.fit_resample(X, y)
    assert np.array_equal(X_res, X) and np.array_equal(y_res, y)
    assert entry.fit_info(sampler) == {"returned_input_because": "SMOTE: Too few minority samples for sampling"}
    assert capfd.readouterr().err == ""
    logger = logging.getLogger("smote_variants")
    assert logger.level == logging.WARNING and logger.propagate and len(logger.handlers) == 1


def test_no_reason_is_stored_when_rows_were_added():
    X, y = _imbalanced()
    entry = SAMPLERS["sv.SMOTE"]
    sampler = entry.make({"ratio": 1.0}, SamplerContext(0))
    sampler.fit_resample(X, y)
    assert entry.fit_info(sampler) == {}


# ---------------------------------------------------------------- through the harness


class ReturnsCopies:
    """Like smote-variants' `return_copies`: the input comes back, as a copy."""

    def __init__(self, proportion=1.0, random_state=None):
        pass

    def sample(self, X, y):
        return X.copy(), y.copy()

    def preprocessing_transform(self, X):
        return X


class Raises:
    def __init__(self, proportion=1.0, random_state=None):
        pass

    def sample(self, X, y):
        raise np.linalg.LinAlgError("Singular matrix")


def _rows_by_sampler(samplers: tuple[str, ...]) -> dict[str, list]:
    """Plan the toy profile's units for these samplers at ratio 1.0 and run each one in-process."""
    settings = load_settings()
    run = settings.run_for(samplers=samplers, ratios=(1.0,), classifiers=("DT", "SVM"))
    plan = make_plan(run, DataCatalog(settings.data_dir), set(), "zero", False)
    assert sorted(u.sampler for u in plan.units) == sorted(samplers)
    return {unit.sampler: run_unit(unit, settings.data_dir) for unit in plan.units}


@pytest.fixture
def stub_entries(monkeypatch):
    """The stubs as adapter entries, present only for this test (not in the smote_variants group)."""
    for cls in (ReturnsCopies, Raises):
        entry = dataclasses.replace(entry_for(cls), family="test", category="test")
        monkeypatch.setitem(SAMPLERS, entry.name, entry)


def test_run_unit_gives_ok_no_op_and_error_rows(toy_env, stub_entries):
    rows = _rows_by_sampler(("sv.SMOTE", "sv.ReturnsCopies", "sv.Raises"))
    ok, no_op, error = rows["sv.SMOTE"], rows["sv.ReturnsCopies"], rows["sv.Raises"]
    assert [r.status for r in ok] == ["ok", "ok"]
    assert all(r.n_minority * 2 == r.n_train for r in ok)
    assert all(-1 <= r.scores[("test", "mcc")] <= 1 for r in ok) and ok[0].extra == {}

    assert [r.status for r in no_op] == ["no-op", "no-op"]
    assert no_op[0].message == "the sampler returned its input unchanged"
    # trained on the split as it is: the same majority as the balanced ok rows, no new minority rows
    assert no_op[0].n_train - no_op[0].n_minority == ok[0].n_train // 2 > no_op[0].n_minority

    assert [r.status for r in error] == ["error", "error"]
    assert error[0].message.startswith("LinAlgError: Singular matrix")
    assert error[0].scores == {}
