"""MESA: fit/predict, its meta-state and sampler, the SAC update, meta-training on a tiny set, the registry entry."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_classification
from sklearn.metrics import average_precision_score
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from bench.baselines.mesa import MESA
from bench.baselines.mesa.environment import MetaSamplingEnv, error_histogram, gaussian_under_sample, meta_state
from bench.baselines.mesa.estimator import meta_train_episode
from bench.baselines.mesa.learner import ReplayBuffer, SoftActorCritic

TINY = dict(n_estimators=3, n_meta_episodes=3, batch_size=4, hidden_size=8)


def tiny_data(seed=0, n=160):
    """About 15 % minority; labels "a" (majority) and "b" (minority), so nothing can rely on 0/1."""
    X, y = make_classification(n_samples=n, n_features=4, n_informative=3, n_redundant=0, weights=[0.85],
                               flip_y=0.05, random_state=seed)
    return X, np.where(y == 1, "b", "a")


def test_fit_predict_with_string_labels():
    X, y = tiny_data()
    model = MESA(DecisionTreeClassifier(random_state=0), random_state=0, **TINY).fit(X, y)
    assert list(model.classes_) == ["a", "b"] and model.classes_[model.minority_index_] == "b"
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    pred = model.predict(X)
    assert pred.shape == (len(X),) and set(pred) <= {"a", "b"}
    np.testing.assert_array_equal(pred, model.classes_[proba.argmax(axis=1)])
    assert len(model.estimators_) == 3 and len(model.meta_rewards_) == 3


def test_minority_is_the_smaller_class_whatever_its_label():
    X, y = tiny_data()
    flipped = np.where(y == "b", "a", "b")   # now "a" is the minority
    model = MESA(random_state=0, **TINY).fit(X, flipped)
    assert model.classes_[model.minority_index_] == "a"
    # members see the minority as 1, so their column 1 averages into the "a" column
    assert all(list(m.classes_) == [0, 1] for m in model.estimators_)
    np.testing.assert_allclose(model.predict_proba(X[:5])[:, 0],
                               np.mean([m.predict_proba(X[:5])[:, 1] for m in model.estimators_], axis=0))


def test_given_validation_pair_is_used():
    X, y = tiny_data()
    X_val, y_val = tiny_data(seed=1, n=80)
    model = MESA(validation=(X_val, y_val), random_state=0, **TINY).fit(X, y)
    expected = average_precision_score(y_val == "b", model.predict_proba(X_val)[:, 1])
    assert model.validation_score_ == pytest.approx(expected)


def test_error_histogram_and_meta_state_by_hand():
    proba = np.array([0.05, 0.95, 0.5, 0.35])
    y = np.array([0, 0, 1, 1])
    # errors 0.05, 0.95, 0.5, 0.65 -> bins [0, .25) [.25, .5) [.5, .75) [.75, 1]
    np.testing.assert_allclose(error_histogram(proba, y, 4), [0.25, 0.0, 0.5, 0.25])
    state = meta_state(proba, y, np.array([1.0, 0.0]), np.array([1, 1]), 4)
    np.testing.assert_allclose(state, [0.25, 0.0, 0.5, 0.25, 0.5, 0.0, 0.0, 0.5])


def test_gaussian_under_sample_keeps_all_minority_and_draws_the_kernel_rows():
    y = np.array([1] * 5 + [0] * 20)
    proba = np.r_[np.full(5, 0.5), np.zeros(10), np.ones(10)]   # majority errors: ten 0.0, ten 1.0
    rng = np.random.RandomState(0)
    for mu, wanted in ((1.0, 1.0), (0.0, 0.0)):
        rows = gaussian_under_sample(y, proba, mu, 0.1, rng)
        assert len(rows) == 10 and len(set(rows)) == 10
        assert set(range(5)) <= set(rows)
        majority = rows[y[rows] == 0]
        assert len(majority) == 5 and np.all(proba[majority] == wanted)


def test_gaussian_under_sample_with_a_narrow_kernel_still_fills_the_subset():
    y = np.array([1] * 6 + [0] * 8)
    proba = np.r_[np.full(6, 0.5), np.linspace(0, 1, 8)]
    rows = gaussian_under_sample(y, proba, 0.0, 1e-3, np.random.RandomState(0))
    assert np.sum(y[rows] == 0) == 6 and len(set(rows)) == 12


class FirstColumnProba(ClassifierMixin, BaseEstimator):
    """A stand-in member whose minority probability is feature 0, recording the rows it was fitted on."""

    def fit(self, X, y):
        self.classes_, self.fitted_X_ = np.unique(y), X
        return self

    def predict_proba(self, X):
        return np.c_[1 - X[:, 0], X[:, 0]]


@pytest.mark.parametrize("action, majority_error", [(1.0, 1.0), (0.0, 0.5), (-1.0, 0.0)])
def test_env_step_maps_the_action_to_the_kernel_centre(action, majority_error):
    """Actions -1, 0, 1 centre the kernel at mu = 0, 0.5, 1: the next member gets the majority rows with that error."""
    y = np.array([1] * 4 + [0] * 24)
    X = np.c_[np.r_[np.full(4, 0.25), np.repeat([0.0, 0.5, 1.0], 8)], np.arange(28)]
    env = MetaSamplingEnv(FirstColumnProba(), X, y, X, y, n_estimators=2, n_bins=4, sigma=0.1,
                          score=average_precision_score, rng=np.random.RandomState(0))
    env.reset()
    state, reward, done = env.step(action)
    fitted = env.members[-1].fitted_X_[:, 0]
    assert done and reward == 0.0 and len(fitted) == 8   # identical members: the score cannot change
    np.testing.assert_array_equal(np.sort(fitted), np.sort(np.r_[np.full(4, 0.25), np.full(4, majority_error)]))
    np.testing.assert_allclose(state, meta_state(X[:, 0], y, X[:, 0], y, 4))


def test_replay_buffer_fills_and_wraps():
    buffer = ReplayBuffer(capacity=3, n_state=2)
    for i in range(5):
        buffer.add(np.full(2, i), 0.1 * i, float(i), np.full(2, i + 1), i == 4)
        assert len(buffer) == min(i + 1, 3)
    np.testing.assert_allclose(sorted(buffer.rewards.ravel()), [2.0, 3.0, 4.0])   # the oldest two overwritten
    states, actions, rewards, next_states, dones = buffer.sample(7, np.random.RandomState(0))
    assert states.shape == (7, 2) and actions.shape == rewards.shape == dones.shape == (7, 1)
    np.testing.assert_allclose(next_states[:, 0], states[:, 0] + 1)


@pytest.mark.parametrize("alpha", ["auto", 0.1])
def test_sac_update_changes_the_policy_and_critics(alpha):
    agent = SoftActorCritic(4, 8, 1e-2, 0.99, 0.25, alpha, "cpu", seed=0)
    buffer = ReplayBuffer(16, 4)
    rng = np.random.RandomState(0)
    for _ in range(8):
        buffer.add(rng.rand(4), rng.uniform(-1, 1), rng.rand(), rng.rand(4), False)
    before = [p.detach().clone() for p in agent.policy.parameters()]
    q_before = [p.detach().clone() for p in agent.q_nets.parameters()]
    target_before = [p.detach().clone() for p in agent.q_targets.parameters()]
    log_alpha = agent.log_alpha.item()
    agent.update(buffer.sample(8, rng))
    assert any(not torch.equal(a, b) for a, b in zip(before, agent.policy.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(q_before, agent.q_nets.parameters()))
    # targets moved a quarter of the way (tau = 0.25) towards the updated critics
    for old, new_q, new_target in zip(target_before, agent.q_nets.parameters(), agent.q_targets.parameters()):
        torch.testing.assert_close(new_target, 0.75 * old + 0.25 * new_q.detach())
    assert (agent.log_alpha.item() != log_alpha) == (alpha == "auto")
    assert -1.0 <= agent.act(rng.rand(4), deterministic=False) <= 1.0


def test_meta_training_fills_the_buffer_one_transition_per_added_member():
    X, y = tiny_data()
    y01 = (y == "b").astype(int)
    rng = np.random.RandomState(0)
    env = MetaSamplingEnv(DecisionTreeClassifier(random_state=0), X[:120], y01[:120], X[120:], y01[120:],
                          n_estimators=4, n_bins=5, sigma=0.2, score=average_precision_score, rng=rng)
    agent = SoftActorCritic(10, 8, 1e-3, 0.99, 0.01, "auto", "cpu", seed=0)
    buffer = ReplayBuffer(100, 10)
    before = [p.detach().clone() for p in agent.policy.parameters()]
    rewards = [meta_train_episode(env, agent, buffer, batch_size=4, updates_per_step=1, rng=rng) for _ in range(3)]
    assert len(buffer) == 3 * (4 - 1) and len(env.members) == 4
    np.testing.assert_array_equal(buffer.dones[:9].ravel(), [0, 0, 1] * 3)
    np.testing.assert_allclose(buffer.states[:9].reshape(9, 2, 5).sum(axis=2), 1.0)   # two histograms of shares
    assert np.all(np.abs(buffer.actions[:9]) <= 1.0)
    # the rewards of an episode add up to its total (the validation score gained over member 1)
    np.testing.assert_allclose(buffer.rewards[6:9].sum(), rewards[2], atol=1e-6)
    assert any(not torch.equal(a, b) for a, b in zip(before, agent.policy.parameters()))


def test_same_seed_same_model():
    X, y = tiny_data()
    first = MESA(random_state=3, **TINY).fit(X, y)
    again = MESA(random_state=3, **TINY).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), again.predict_proba(X))
    assert first.meta_rewards_ == again.meta_rewards_


def test_linear_svc_works_through_calibration():
    X, y = tiny_data()
    model = MESA(LinearSVC(random_state=0), random_state=0, **TINY).fit(X, y)
    assert model.calibrated_ and all(isinstance(m, CalibratedClassifierCV) for m in model.estimators_)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all((proba > 0) & (proba < 1))


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_estimators=0), "n_estimators"),
    (dict(validation=1.5), "validation"),
    (dict(metric="accuracy"), "metric"),
    (dict(batch_size=20, buffer_size=10), "buffer_size"),
    (dict(device="no-such-device"), "device"),
])
def test_invalid_parameters_raise_value_error(kwargs, message):
    X, y = tiny_data()
    with pytest.raises(ValueError, match=message):
        MESA(**kwargs).fit(X, y)


def test_multiclass_and_one_class_validation_raise_value_error():
    X, y = tiny_data()
    with pytest.raises(ValueError, match="binary"):
        MESA(**TINY).fit(X, np.arange(len(y)) % 3)
    with pytest.raises(ValueError, match="both classes"):
        MESA(validation=(X[:10], np.full(10, "a")), **TINY).fit(X, y)


def test_registry_entry_builds_a_predictor_on_the_validation_split():
    from bench.samplers.registry import SAMPLERS, SamplerContext

    entry = SAMPLERS["MESA"]
    assert (entry.category, entry.family, entry.version) == ("meta", "mesa", "mesa-adapter1")
    assert entry.predicts and entry.per_classifier and not entry.tunes_ratio and entry.binary_only
    X, y01 = make_classification(n_samples=160, n_features=4, weights=[0.85], random_state=0)
    context = SamplerContext(random_state=1, X_val=X[120:], y_val=y01[120:], classifier="SVM")
    model = entry.make(dict(n_estimators=3, n_meta_episodes=2, batch_size=4), context).fit(X[:120], y01[:120])
    assert model.validation[0] is context.X_val and model.random_state == 1
    info = entry.fit_info(model)
    assert info["calibrated"] is True and len(info["meta_rewards"]) == 2
    assert set(model.predict(X[120:])) <= {0, 1}


def test_table_2_footnotes_the_calibrated_base_classifier(toy_env):
    from typer.testing import CliRunner

    from bench.cli import app

    runner = CliRunner()
    run = runner.invoke(app, ["run", "--samplers", "No-resampling,MESA[n_estimators=3,n_meta_episodes=2]"])
    assert run.exit_code == 0, run.output
    table = runner.invoke(app, ["table", "--metric", "mcc", "--table", "2"])
    assert table.exit_code == 0, table.output
    notes = [line for line in table.output.splitlines() if "CalibratedClassifierCV" in line]
    assert len(notes) == 1 and notes[0].startswith("MESA with SVM:")   # DT has predict_proba: not named


def test_sac_learns_the_best_action_of_a_one_step_bandit():
    """Reward -(a - 0.5)^2 from a fixed state: the policy's mean action must move to about 0.5."""
    agent = SoftActorCritic(2, 16, 1e-2, 0.99, 0.05, "auto", "cpu", seed=0)
    buffer, rng, state = ReplayBuffer(500, 2), np.random.RandomState(0), np.array([1.0, 0.0])
    for _ in range(250):
        action = agent.act(state, deterministic=False) if len(buffer) >= 32 else rng.uniform(-1, 1)
        buffer.add(state, action, -(action - 0.5) ** 2, state, True)
        if len(buffer) >= 32:
            agent.update(buffer.sample(32, rng))
    assert agent.act(state, deterministic=True) == pytest.approx(0.5, abs=0.15)
