"""Gumbel-Softmax AutoSMOTE: aggregations by hand, straight-through decisions, cohorts, the sampler API, the harness."""
from __future__ import annotations

import io
import json
import math
import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch
from imblearn.utils.estimator_checks import estimator_checks_generator
from sklearn.exceptions import NotFittedError

from autosmote.gumbel import AutoSMOTECohort, AutoSMOTESelf
from autosmote.gumbel import aggregation as agg
from autosmote.gumbel.model import CohortPolicy, JointModel, SelfPolicy, gumbel_noise, mlp, straight_through

FAST = {"epochs": 5, "hidden_size": 8}


# -- aggregation functions against hand-computed rows ----------------------------------------------------------

# One anchor and its six ranked neighbours in 2-D.
POINTS = torch.tensor([[[0.0, 0.0], [1.0, 2.0], [3.0, -1.0], [2.0, 2.0], [0.0, 1.0], [1.0, 1.0], [4.0, 0.0]]])


def test_min_max_sum_average_over_anchor_and_k_nearest():
    # k = 2: the anchor (0, 0) and neighbours (1, 2), (3, -1)
    assert agg.minimum(POINTS)[0, 1].tolist() == [0.0, -1.0]
    assert agg.maximum(POINTS)[0, 1].tolist() == [3.0, 2.0]
    assert agg.total(POINTS, "literal")[0, 1].tolist() == [4.0, 1.0]
    assert agg.average(POINTS)[0, 1].tolist() == pytest.approx([4 / 3, 1 / 3])
    # k = 6: all seven points
    assert agg.minimum(POINTS)[0, 5].tolist() == [0.0, -1.0]
    assert agg.maximum(POINTS)[0, 5].tolist() == [4.0, 2.0]
    assert agg.total(POINTS, "literal")[0, 5].tolist() == [11.0, 5.0]
    assert agg.average(POINTS)[0, 5].tolist() == pytest.approx([11 / 7, 5 / 7])
    # k = 1: anchor and nearest neighbour only
    assert agg.total(POINTS, "literal")[0, 0].tolist() == [1.0, 2.0]


def test_sum_of_offsets_reading_is_the_neighbour_mean_clipped_to_the_unit_box():
    # k = 2: x + ((1,2)-(0,0) + (3,-1)-(0,0)) / 2 = (2, 0.5) -> clipped (1, 0.5)
    assert agg.total(POINTS, "offsets")[0, 1].tolist() == [1.0, 0.5]
    inside = torch.tensor([[[0.2, 0.4], [0.4, 0.0], [0.6, 0.6]] + [[0.6, 0.6]] * 4])
    # k = 2: (0.2, 0.4) + ((0.2, -0.4) + (0.4, 0.2)) / 2 = (0.5, 0.3)
    assert agg.total(inside, "offsets")[0, 1].tolist() == pytest.approx([0.5, 0.3])


def test_weighted_average_uses_softmax_weights_over_the_first_k_plus_one_ranks():
    logits = torch.tensor([[math.log(2.0), 0.0, 0.0, 5.0, 5.0, 5.0, 5.0]])
    # k = 2: weights 2:1:1 over anchor, first, second neighbour -> (0 + 1 + 3, 0 + 2 - 1) / 4
    assert agg.weighted_average(POINTS, logits)[0, 1].tolist() == pytest.approx([1.0, 0.25])
    # equal logits give the plain average for every k
    assert torch.allclose(agg.weighted_average(POINTS, torch.zeros(1, 7)), agg.average(POINTS))


def test_linear_interpolates_toward_one_of_the_k_nearest():
    lam, pick = torch.tensor([0.5]), torch.tensor([0.6])
    rows = agg.linear(POINTS, lam, pick)
    # k = 1 -> neighbour 1 (1, 2); k = 2 -> floor(1.2) = rank 2 (3, -1); k = 5 -> floor(3.0) = rank 4 (0, 1)
    assert rows[0, 0].tolist() == [0.5, 1.0]
    assert rows[0, 1].tolist() == [1.5, -0.5]
    assert rows[0, 4].tolist() == [0.0, 0.5]
    assert agg.linear(POINTS, torch.tensor([0.0]), pick)[0].tolist() == [[0.0, 0.0]] * 6


def test_candidates_stack_the_six_aggregations_in_order():
    pool = agg.candidates(POINTS, torch.tensor([0.5]), torch.tensor([0.0]), torch.zeros(1, 7), "literal")
    assert pool.shape == (1, agg.MAX_K, len(agg.AGGREGATIONS), 2)
    assert pool[0, 1, agg.AGGREGATIONS.index("max")].tolist() == [3.0, 2.0]
    assert pool[0, 1, agg.AGGREGATIONS.index("linear")].tolist() == [0.5, 1.0]


def test_neighbours_are_same_class_exclude_self_and_pad_small_classes():
    X = np.array([[0.0], [0.1], [0.3], [5.0], [5.2], [0.05]])
    codes = np.array([0, 0, 0, 1, 1, 1])
    neighbours, n_real = agg.same_class_neighbours(X, codes, [0, 1])
    assert neighbours[0, :2].tolist() == [1, 2] and n_real[0] == 2
    assert (neighbours[0, 2:] == 2).all()                   # padded with the last real neighbour
    assert neighbours[3, :2].tolist() == [4, 5]             # class 1 only, though row 0 is closer to row 5
    assert neighbours[5, 0] == 3                            # nearest same-class row, not itself


# -- straight-through Gumbel-Softmax and the policies ----------------------------------------------------------

def _joint(policy, n=200, d=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.rand(n, d)
    codes = (np.arange(n) % 2).astype(int)
    neighbours, n_real = agg.same_class_neighbours(X, codes, [0, 1])
    ranked = np.concatenate([np.arange(n)[:, None], neighbours], axis=1)
    torch.manual_seed(seed)
    model = JointModel(policy, mlp(d, 8, 2), torch.as_tensor(X[ranked], dtype=torch.float32),
                       torch.as_tensor(n_real), temperature=1.0, hard=True, sum_reading="literal", participation="mix")
    return model, torch.as_tensor(codes)


def test_straight_through_is_one_hot_forward_and_differentiable():
    logits = torch.randn(50, 6, requires_grad=True)
    noise = gumbel_noise((50, 6), torch.Generator().manual_seed(0), torch.device("cpu"))
    sample = straight_through(logits, noise, 1.0, hard=True)
    assert set(sample.detach().unique().tolist()) == {0.0, 1.0}
    assert sample.detach().sum(dim=1).eq(1).all()
    (sample * torch.arange(6.0)).sum().backward()
    assert logits.grad.abs().sum() > 0
    assert not set(straight_through(logits, noise, 1.0, hard=False).detach().unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("make_policy", [lambda: SelfPolicy(3, 8), lambda: CohortPolicy(3, 8, 3)],
                         ids=["self", "cohort"])
def test_gradients_reach_every_decision_head(make_policy):
    torch.manual_seed(0)
    model, codes = _joint(make_policy())
    draws = model.draw(torch.arange(200), torch.Generator().manual_seed(1))
    rows, _, decisions = model.synthesize(draws)
    for value in decisions.values():
        assert set(value.detach().unique().tolist()) <= {0.0, 1.0} and value.detach().sum(dim=1).eq(1).all()
    torch.nn.functional.cross_entropy(model.classifier(rows), codes).backward()
    for name, parameter in model.policy.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_non_participating_anchors_are_copied_and_k_is_capped_by_class_size():
    policy = SelfPolicy(3, 8)
    with torch.no_grad():   # force "do not participate" for every anchor
        policy.heads["participation"][2].bias.copy_(torch.tensor([100.0, -100.0]))
    model, _ = _joint(policy, n=6)
    draws = model.draw(torch.arange(6), torch.Generator().manual_seed(0))
    rows, _, decisions = model.synthesize(draws)
    assert torch.equal(rows, model.points[:, 0])
    assert decisions["k"].argmax(dim=1).max() <= 1          # 3 rows per class: at most 2 neighbours


def test_cohort_members_share_their_decision_logits():
    policy = CohortPolicy(3, 8, 3)
    with torch.no_grad():
        for table in policy.tables.values():
            table.normal_()
        policy.rank_logits.normal_()
    x = torch.rand(100, 3)
    noise = {name: gumbel_noise((100, size), torch.Generator().manual_seed(0), torch.device("cpu"))
             for name, size in policy.noise_sizes.items()}
    logits, rank_logits, cohort = policy(x, noise, 1.0, True)
    members = cohort.argmax(dim=1)
    assert len(members.unique()) > 1
    for g in members.unique():
        rows = members == g
        for name, table in policy.tables.items():
            assert torch.equal(logits[name][rows], table[g].expand(int(rows.sum()), -1))
        assert torch.equal(rank_logits[rows], policy.rank_logits[g].expand(int(rows.sum()), -1))


def test_self_policy_decides_per_instance():
    logits, _, cohort = SelfPolicy(3, 8)(torch.rand(10, 3), {}, 1.0, True)
    assert cohort is None and len(logits["k"].unique(dim=0)) == 10


# -- the sampler ---------------------------------------------------------------------------------------------

def _binary(n_major=60, n_minor=12, seed=0):
    rng = np.random.RandomState(seed)
    X = np.vstack([rng.randn(n_major, 3), rng.randn(n_minor, 3) + 1.5])
    return X, np.array([0] * n_major + [1] * n_minor)


@pytest.mark.parametrize("cls", [AutoSMOTESelf, AutoSMOTECohort])
def test_same_seed_same_rows_and_model_other_seed_other_rows(cls):
    X, y = _binary()
    first, second, other = (cls(random_state=s, **FAST) for s in (3, 3, 4))
    X1, y1 = first.fit_resample(X, y)
    X2, y2 = second.fit_resample(X, y)
    X3, _ = other.fit_resample(X, y)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert np.array_equal(first.predict_proba(X), second.predict_proba(X))
    assert not np.array_equal(X1, X3)


def test_fitting_leaves_the_global_torch_rng_alone():
    before = torch.get_rng_state()
    AutoSMOTESelf(random_state=0, **FAST).fit_resample(*_binary())
    assert torch.equal(before, torch.get_rng_state())


@pytest.mark.parametrize("cls", [AutoSMOTESelf, AutoSMOTECohort])
def test_multiclass_glass_like_data_balances_every_class_but_the_largest(cls):
    sizes = {"build float": 70, "build non-float": 76, "vehicle": 17, "containers": 13, "tableware": 9,
             "headlamps": 29}
    rng = np.random.RandomState(0)
    y = np.array([label for label, n in sizes.items() for _ in range(n)], dtype=object)
    X = np.vstack([rng.rand(n, 9) + i for i, n in enumerate(sizes.values())])
    sampler = cls(random_state=0, **FAST)
    X_res, y_res = sampler.fit_resample(X, y)
    assert Counter(y_res) == {label: 76 for label in sizes}
    assert y_res.dtype == y.dtype and np.array_equal(X_res[:len(X)], X) and np.array_equal(y_res[:len(y)], y)
    assert set(sampler.predict(X)) <= set(sizes) and sampler.predict_proba(X).shape == (len(X), 6)
    # class i lives in [i, i + 1)^9; every aggregation of its members stays at or above that box's lower corner
    corner = {label: i for i, label in enumerate(sizes)}
    synthetic = X_res[len(X):] - np.array([corner[label] for label in y_res[len(y):]])[:, None]
    assert (synthetic >= -1e-5).all()


def test_balanced_data_comes_back_unchanged():
    X, y = _binary(n_major=10, n_minor=10)
    X_res, y_res = AutoSMOTESelf(random_state=0, **FAST).fit_resample(X, y)
    assert np.array_equal(X_res, X) and np.array_equal(y_res, y)


def test_float_ratio_gives_the_asked_minority_count():
    X, y = _binary(n_major=100, n_minor=10)
    X_res, y_res = AutoSMOTESelf(sampling_strategy=0.5, random_state=0, **FAST).fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [100, 50] and X_res.shape == (150, 3)


def test_a_single_member_class_is_copied():
    X, y = _binary(n_major=20, n_minor=1)
    X_res, y_res = AutoSMOTECohort(random_state=0, **FAST).fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [20, 20]
    assert (X_res[21:] == X[-1]).all()


@pytest.mark.parametrize("participation", ["mix", "loss_weight"])
def test_participation_readings_both_produce_the_budget(participation):
    X, y = _binary()
    sampler = AutoSMOTESelf(participation=participation, random_state=0, **FAST)
    X_res, y_res = sampler.fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [60, 60]
    assert sum(sampler.decision_counts_["participation"]) == 48 and len(sampler.loss_curve_) == 5


def test_fit_trains_the_end_to_end_classifier_without_drawing():
    X, y = _binary()
    model = AutoSMOTECohort(random_state=0, n_cohorts=2, **FAST)
    with pytest.raises(NotFittedError):
        model.predict(X)
    assert model.fit(X, y) is model
    assert model.predict(X).shape == (len(X),) and np.allclose(model.predict_proba(X).sum(axis=1), 1)
    assert len(model.decision_counts_["cohort"]) == 2


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"temperature": 0.0}, {"participation": "weight"},
                                 {"sum_reading": "clip"}, {"batch_size": 0}, {"device": "not-a-device"},
                                 {"sampling_strategy": 1.5}])
def test_bad_parameters_raise_value_error(bad):
    with pytest.raises(ValueError):
        AutoSMOTESelf(**{**FAST, **bad}).fit_resample(*_binary())


IMBLEARN_CHECKS = [pytest.param(estimator, check, id=f"{type(estimator).__name__}-{check.func.__name__}")
                   for sampler in (AutoSMOTESelf, AutoSMOTECohort)
                   # 20 epochs: check_classifiers_with_encoded_labels wants every iris class predicted
                   for estimator, check in estimator_checks_generator(sampler(epochs=20, hidden_size=8,
                                                                              random_state=0))]


@pytest.mark.parametrize("estimator, check", IMBLEARN_CHECKS)
def test_imblearn_estimator_checks(estimator, check):
    check(estimator)


# -- the harness entries -------------------------------------------------------------------------------------

def test_harness_entries_and_their_factories():
    import bench.samplers.gumbel_adapter  # noqa: F401  (registers the entries; other adapters are not needed)
    from bench.protocol import resample
    from bench.samplers.registry import SAMPLERS, SamplerContext
    context = SamplerContext(random_state=7)
    for name, cls in (("AutoSMOTE-self", AutoSMOTESelf), ("AutoSMOTE-cohort", AutoSMOTECohort)):
        entry, mlp_entry = SAMPLERS[name], SAMPLERS[f"{name}-mlp"]
        assert (entry.category, entry.family, entry.version, entry.tunes_ratio, entry.predicts) == \
            ("auto", "gumbel", "gumbel-3", True, False)
        assert (mlp_entry.category, mlp_entry.family, mlp_entry.tunes_ratio, mlp_entry.predicts) == \
            ("auto", "gumbel", False, True)
        sampler = entry.make({"ratio": 0.4, "epochs": 3}, context)
        assert isinstance(sampler, cls) and sampler.get_params()["sampling_strategy"].ratio == 0.4
        assert sampler.random_state == 7 and sampler.epochs == 3
        X, y = _binary(n_major=50, n_minor=5)
        X_res, y_res, info = resample(entry, {"ratio": 0.4, "epochs": 3, "hidden_size": 8}, context, X, y)
        assert np.bincount(y_res).tolist() == [50, 20] and info["epochs"] == 3
        json.dumps(info)
        model = mlp_entry.make({"epochs": 3, "hidden_size": 8}, context).fit(X, y)
        assert model.predict(X).shape == (55,) and json.dumps(mlp_entry.fit_info(model))


def test_the_harness_ratio_reaches_every_smaller_class_of_multi_class_data():
    from bench.samplers.registry import SAMPLERS, SamplerContext, all_entries
    all_entries()
    rng = np.random.RandomState(0)
    X = rng.rand(90, 3)
    y = np.repeat([0, 1, 2], [60, 20, 10])
    sampler = SAMPLERS["AutoSMOTE-self"].make({"ratio": 0.5, "epochs": 2, "hidden_size": 8}, SamplerContext(3))
    _, y_res = sampler.fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [60, 30, 30]      # int(0.5 * 60) rows in each smaller class


def test_a_dead_classifier_is_detected_and_reported():
    rng = np.random.RandomState(0)
    X = (rng.rand(300, 15) < 0.2).astype(float)      # all-positive, alike inputs (annthyroid's binary columns)
    X[:, 0] = rng.rand(300)
    y = (rng.rand(300) < 0.1).astype(int)
    # the literal SUM's out-of-range rows push the min-max classifier's units off (under 'offsets' 7 of 16 live)
    kwargs = dict(epochs=20, learning_rate=1.0, random_state=0, hidden_size=16, sum_reading="literal")
    dead = AutoSMOTESelf(classifier_inputs="minmax", **kwargs).fit(X, y)
    assert dead.alive_units_ == 0 and dead.dead_network_
    assert len(set(dead.predict(X))) == 1                   # a dead network answers one class for every row
    alive = AutoSMOTESelf(**kwargs).fit(X, y)                # standardised inputs (the default): alive
    assert alive.alive_units_ == 16 and not alive.dead_network_
    from bench.samplers.gumbel_adapter import fit_info
    assert fit_info(dead)["dead_network"] is True and fit_info(alive)["alive_units"] == 16


def test_the_gumbel_protocol_scores_every_sampler_with_the_method_s_own_classifier():
    from autosmote.gumbel import GumbelMLPClassifier
    from bench.classifiers import make_classifier
    from bench.config import load_settings
    from pathlib import Path
    settings = load_settings(Path(__file__).resolve().parents[1] / "bench.toml")
    assert settings.run_for("gumbel").classifiers == ("gumbel-mlp",)
    X, y = _binary(n_major=50, n_minor=10)
    shared = make_classifier("gumbel-mlp", 5)
    assert isinstance(shared, GumbelMLPClassifier) and shared.random_state == 5
    # under one seed the classifier starts where the method's own classifier starts: same network, same init
    untrained = dict(epochs=1, learning_rate=1e-12, hidden_size=8)
    alone = shared.set_params(**untrained).fit(X, y).model_.model_.classifier
    method = AutoSMOTESelf(random_state=5, **untrained).fit(X, y).model_.classifier
    assert [type(m) for m in alone] == [type(m) for m in method]
    for a, b in zip(alone.parameters(), method.parameters()):
        assert torch.allclose(a, b, atol=1e-9)
    for a, b in zip(alone.buffers(), method.buffers()):     # the same standardisation
        assert torch.equal(a, b)


def test_the_method_s_classifier_alone_passes_scikit_learn_s_checks():
    from autosmote.gumbel import GumbelMLPClassifier
    from sklearn.utils.estimator_checks import check_estimator
    check_estimator(GumbelMLPClassifier(epochs=20, hidden_size=8, random_state=0))


def test_the_paper_s_checks_are_read_from_the_store(toy_env):
    """A tiny stratified run of both methods, a temperature and a cohort variant: the checks' table, the
    parameters' numbers and the generalisation table come from its rows, as `bench table` prints them."""
    from typer.testing import CliRunner
    from bench.cli import app
    from conftest import add_to_config
    add_to_config(toy_env, '[run.params]\n"AutoSMOTE-self-mlp" = { epochs = 3, hidden_size = 8 }\n'
                           '"AutoSMOTE-cohort-mlp" = { epochs = 3, hidden_size = 8 }\n')
    bench = CliRunner()
    samplers = ("No-resampling,AutoSMOTE-self-mlp,AutoSMOTE-cohort-mlp,AutoSMOTE-self-mlp[temperature=0.5],"
                "AutoSMOTE-cohort-mlp[n_cohorts=2]")
    result = bench.invoke(app, ["run", "--split", "stratified", "--classifiers", "gumbel-mlp", "--samplers",
                                samplers, "--seeds", "1,2"])
    assert result.exit_code == 0, result.output
    checks = bench.invoke(app, ["table", "--table", "gumbel-checks", "--format", "csv"])
    assert checks.exit_code == 0, checks.output
    table = pd.read_csv(io.StringIO(checks.stdout), dtype=str, keep_default_na=False)
    assert list(table.columns) == ["method", "setting", "toy", "runs", "dead networks", "vs defaults", "higher in",
                                   "Wilcoxon p"]
    assert set(zip(table["method"], table["setting"])) == {
        ("AutoSMOTE-cohort-mlp", "defaults"), ("AutoSMOTE-cohort-mlp", "n_cohorts=2"),
        ("AutoSMOTE-self-mlp", "defaults"), ("AutoSMOTE-self-mlp", "temperature=0.5")}
    mean = table.set_index(["method", "setting"])["toy"].str.split(" ± ").str[0].astype(float)
    for (method, setting), row in table.set_index(["method", "setting"]).iterrows():
        if setting == "defaults":
            assert row["vs defaults"] == row["higher in"] == row["Wilcoxon p"] == ""
        else:   # paired over the two seeds: the difference of the means, within the cells' rounding
            assert float(row["vs defaults"]) == pytest.approx(mean[method, setting] - mean[method, "defaults"],
                                                              abs=0.0011)
            assert re.fullmatch(r"[0-2] of 2( \([12] tied\))?", row["higher in"]) and 0 < float(row["Wilcoxon p"]) <= 1
    params = bench.invoke(app, ["table", "--table", "gumbel-params", "--format", "csv"])
    assert params.exit_code == 0 and '"self, hard: temperature",0.5' in params.stdout
    gap = bench.invoke(app, ["table", "--table", "generalisation", "--format", "csv"])
    assert gap.exit_code == 0 and gap.stdout.splitlines()[0] == "dataset,sampler,train error,test error,gap"
    assert sum(line.startswith("toy,") for line in gap.stdout.splitlines()) == 3   # the two methods, plain MLP
    gumbel = bench.invoke(app, ["table", "--table", "gumbel", "--format", "csv"])
    assert "temperature" not in gumbel.stdout and "AutoSMOTE-self-mlp" in gumbel.stdout   # variants left out
