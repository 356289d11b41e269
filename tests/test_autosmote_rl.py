"""AutoSMOTE's RL search: V-trace, exact batched sampling, the learner, the sampler API and its ablations."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from imblearn.pipeline import Pipeline
from imblearn.utils.estimator_checks import check_param_validation, estimator_checks_generator
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from autosmote import AutoSMOTE
from autosmote.rl.acting import Episode, EpisodePlayer, LowLevelActing, PlayerConfig
from autosmote.rl.learner import Learner, LearnerConfig
from autosmote.rl.policies import LowLevelPolicy, build_policies, flat_parameters, load_flat_parameters
from autosmote.rl.search import _rounds
from autosmote.rl.vtrace import VTraceReturns, actor_critic_loss, vtrace
from autosmote.space import N_USAGE_BINS, SearchSpace, neighbour_table, state_features

TINY = dict(budget=4, random_state=0, classifier=DecisionTreeClassifier(random_state=0))


def _data(n=160, minority=0.12, seed=0):
    X, y = make_classification(n_samples=n, n_features=4, n_informative=3, n_redundant=0,
                               weights=[1 - minority], random_state=seed)
    return X, y


# ----------------------------------------------------------------------------- V-trace
def _col(*values):
    return np.array(values, dtype=float)[:, None]          # time-major (T, B=1)


def test_vtrace_on_policy_gives_the_monte_carlo_return():
    logp = _col(-1.0, -2.0, -0.5)
    out = vtrace(logp, logp, rewards=_col(0, 0, 1), discounts=_col(1, 1, 0), values=_col(0.2, 0.4, 0.6),
                 bootstrap_value=np.array([5.0]))
    assert np.allclose(out.vs[:, 0], [1.0, 1.0, 1.0])
    assert np.allclose(out.pg_advantages[:, 0], [0.8, 0.6, 0.4])


def test_vtrace_truncates_importance_weights_as_computed_by_hand():
    # pi/mu = 2, 0.5, 0.5 -> rho = c = 1, 0.5, 0.5
    behaviour = _col(0.0, 0.0, 0.0)
    target = np.log(_col(2.0, 0.5, 0.5))
    out = vtrace(behaviour, target, rewards=_col(0, 0, 1), discounts=_col(1, 1, 0), values=_col(0.2, 0.4, 0.6),
                 bootstrap_value=np.array([5.0]))
    # deltas 0.2, 0.1, 0.2; v2 = .6 + .2; v1 = .4 + .1 + .5 * .2; v0 = .2 + .2 + 1 * .2
    assert np.allclose(out.vs[:, 0], [0.6, 0.6, 0.8])
    # rho_t (r_t + v_{t+1} - V(s_t)): 1 * (.6 - .2), .5 * (.8 - .4), .5 * (1 - .6)
    assert np.allclose(out.pg_advantages[:, 0], [0.4, 0.2, 0.2])


def test_vtrace_bootstraps_an_unfinished_unroll():
    logp = _col(0.0, 0.0, 0.0)
    out = vtrace(logp, logp, rewards=_col(0, 0, 1), discounts=_col(1, 1, 1), values=_col(0.2, 0.4, 0.6),
                 bootstrap_value=np.array([2.0]))
    assert np.allclose(out.vs[:, 0], [3.0, 3.0, 3.0])


def test_actor_critic_loss_adds_policy_gradient_baseline_and_entropy_terms():
    returns = VTraceReturns(vs=np.array([[1.0]]), pg_advantages=np.array([[0.8]]))
    loss = actor_critic_loss(torch.tensor([[math.log(0.5)]]), torch.tensor([[0.7]]), torch.tensor([[0.2]]),
                             returns, baseline_cost=0.5, entropy_cost=0.01)
    expected = -math.log(0.5) * 0.8 + 0.5 * 0.5 * 0.8 ** 2 - 0.01 * 0.7
    assert loss.item() == pytest.approx(expected, rel=1e-6)


# ----------------------------------------------------------------------------- policies
def test_split_first_layer_equals_the_layer_on_the_concatenation():
    torch.manual_seed(0)
    net = LowLevelPolicy(state_dim=6, n_weights=5)
    state, neighbour = torch.randn(3, 6), torch.randn(3, 6)
    weight_onehot = torch.eye(5)
    joined = torch.cat([state[:, None, :].expand(3, 5, 6), neighbour[:, None, :].expand(3, 5, 6),
                        weight_onehot[None].expand(3, 5, 5)], dim=2)
    direct = net.out(torch.relu(net.second(torch.relu(net.first(joined))))).squeeze(-1)
    split = net.pair_logits(net.state_part(state), net.neighbour_part(neighbour))
    assert torch.allclose(direct, split, atol=1e-6)


def test_pair_logits_backward_matches_autograd_on_the_concatenation():
    torch.manual_seed(0)
    net = LowLevelPolicy(state_dim=6, n_weights=5).double()
    state, neighbour = torch.randn(7, 6, dtype=torch.float64), torch.randn(7, 6, dtype=torch.float64)
    joined = torch.cat([state[:, None, :].expand(7, 5, 6), neighbour[:, None, :].expand(7, 5, 6),
                        torch.eye(5, dtype=torch.float64)[None].expand(7, 5, 5)], dim=2)
    upstream = torch.randn(7, 5, dtype=torch.float64)
    params = [net.first.weight, net.first.bias, net.second.weight, net.second.bias, net.out.weight, net.out.bias]
    direct = net.out(torch.relu(net.second(torch.relu(net.first(joined))))).squeeze(-1)
    expected = torch.autograd.grad((direct * upstream).sum(), params)
    split = net.pair_logits(net.state_part(state), net.neighbour_part(neighbour))
    got = torch.autograd.grad((split * upstream).sum(), params)
    for e, g in zip(expected, got):
        assert torch.allclose(e, g, rtol=1e-10, atol=1e-12)


def test_flat_parameters_round_trip():
    nets = build_policies(8, 4, 3, 5, seed=1, cross=True, instance=False, low=True, flat=False)
    other = build_policies(8, 4, 3, 5, seed=2, cross=True, instance=False, low=True, flat=False)
    for name in nets:
        load_flat_parameters(other[name], flat_parameters(nets[name]))
        assert np.array_equal(flat_parameters(other[name]), flat_parameters(nets[name]))


# ----------------------------------------------------------------------------- exact batched acting
def _acting(flat: bool, bin_width: int):
    rng = np.random.default_rng(0)
    X_min = rng.normal(size=(9, 3))
    neighbours = neighbour_table(X_min, 6)
    torch.manual_seed(3)
    net = LowLevelPolicy(N_USAGE_BINS + 3, 5, stop_action=flat)
    with torch.no_grad():                                  # sharper logits: uneven, state-dependent choices
        net.out.weight.mul_(40.0)
        if flat:
            net.stop_head.bias.fill_(-2.0)
    states = torch.from_numpy(state_features(X_min.astype(np.float32)))
    return LowLevelActing(net, states, neighbours, bin_width), neighbours


def _one_at_a_time(acting: LowLevelActing, row: int, g: int, u: np.ndarray, counts: list[int]) -> list[int]:
    """The unbatched process: a fresh forward pass for every sample, from the current counts."""
    width, partners, steps = acting.bin_width, acting.neighbour_lists[row], []
    for t in range(g):
        bins = [min(counts[m] // width, N_USAGE_BINS - 1) for m in partners]
        own = np.full(acting.k, row * N_USAGE_BINS + bins[0])
        logits = acting.pair_logits(own, np.array(partners) * N_USAGE_BINS + np.array(bins)).reshape(-1)
        if acting.stop_logits is not None:
            logits = np.append(logits, acting.stop_logits[row, bins[0]])
        cdf = np.cumsum(np.exp(logits - logits.max()))
        action = int(np.searchsorted(cdf[:-1], u[t] * cdf[-1], side="right"))
        steps.append(action)
        if action == acting.n_pairs:
            break
        counts[row] += 1
        counts[partners[action // acting.n_weights]] += 1
    return steps


@pytest.mark.parametrize("flat", [False, True])
@pytest.mark.parametrize("bin_width", [2, 3, 20])
def test_batched_sampling_equals_one_sample_at_a_time(flat, bin_width):
    acting, neighbours = _acting(flat, bin_width)
    reference = _acting(flat, bin_width)[0]
    rng = np.random.default_rng(bin_width)
    counts, expected_counts = [0] * len(neighbours), [0] * len(neighbours)
    crossings = 0
    for row in range(len(neighbours)):
        g = int(rng.integers(0, 60))
        u = rng.random(g)
        steps, segments = acting.sample_row(row, g, u, counts)
        assert steps == _one_at_a_time(reference, row, g, u, expected_counts)
        assert counts == expected_counts
        crossings += max(0, len(segments) - 1)
    assert crossings > 5                      # the bins really changed inside rows


def test_frozen_rows_draw_every_sample_from_the_row_start_state():
    acting, neighbours = _acting(False, 2)
    counts = [3] * len(neighbours)
    u = np.random.default_rng(5).random(40)
    logits = acting.state_logits(4, 1, [1] * acting.k)
    cdf = np.cumsum(np.exp(logits - logits.max()))
    expected = np.searchsorted(cdf[:-1], u * cdf[-1], side="right").tolist()
    steps, segments = acting.sample_row_frozen(4, 40, u, counts)
    assert steps == expected and len(segments) == 1
    picks = np.bincount([neighbours[4][a // 5] for a in steps], minlength=len(neighbours))
    assert counts == (3 + picks + np.eye(len(neighbours), dtype=int)[4] * 40).tolist()


def test_behaviour_log_probs_are_the_softmax_of_the_segment_state():
    acting, neighbours = _acting(False, 3)
    counts = [0] * len(neighbours)
    u = np.random.default_rng(1).random(30)
    steps, segments = acting.sample_row(2, 30, u, counts)
    logmu = acting.behaviour_log_probs(2, steps, segments)
    start, end, row_bin, bins, _ = segments[-1]
    logits = acting.state_logits(2, row_bin, bins)
    expected = logits[steps[start:end]] - np.log(np.exp(logits).sum())
    assert np.allclose(logmu[start:end], expected)


# ----------------------------------------------------------------------------- learner
def _learner_setup(flat=False):
    rng = np.random.default_rng(0)
    X_min = rng.normal(size=(8, 2)).astype(np.float32)
    neighbours = neighbour_table(X_min, 4)
    nets = build_policies(N_USAGE_BINS + 2, 3, 3, 5, seed=0, cross=True, instance=False, low=True, flat=flat)
    config = LearnerConfig(unroll_lengths=(2, 3, 4), batch_size=2)
    return Learner(nets, state_features(X_min), neighbours, config, torch.device("cpu")), neighbours, rng


@pytest.mark.parametrize("flat", [False, True])
def test_learner_low_level_log_probs_match_a_per_step_evaluation(flat):
    learner, neighbours, rng = _learner_setup(flat)
    n = 12
    steps = {"rows": np.repeat(rng.integers(0, 8, 4), 3).astype(np.int32),
             "bins": np.repeat(rng.integers(0, N_USAGE_BINS, 4), 3).astype(np.int8),
             "partner_bins": rng.integers(0, N_USAGE_BINS, (n, 4)).astype(np.int8),
             "actions": rng.integers(0, 21 if flat else 20, n).astype(np.int16)}
    steps["partner_bins"][:, 0] = steps["bins"]
    net = learner.nets["low"]
    logp, entropy, values = learner._evaluate_low(net, steps)
    states = learner.states
    for t in range(n):
        row, row_bin = int(steps["rows"][t]), int(steps["bins"][t])
        own = states[row * N_USAGE_BINS + row_bin][None].expand(4, -1)
        partner = states[torch.from_numpy(neighbours[row] * N_USAGE_BINS + steps["partner_bins"][t])]
        logits = net.pair_logits(net.state_part(own), net.neighbour_part(partner)).reshape(-1)
        value, stop = net.value_and_stop(states[row * N_USAGE_BINS + row_bin][None])
        if flat:
            logits = torch.cat([logits, stop])
        expected = torch.log_softmax(logits, 0)
        assert logp[t].item() == pytest.approx(expected[int(steps["actions"][t])].item(), abs=1e-5)
        assert entropy[t].item() == pytest.approx(-(expected.exp() * expected).sum().item(), abs=1e-5)
        assert values[t].item() == pytest.approx(value.item(), abs=1e-6)


def test_learner_updates_once_per_full_batch_and_raises_the_rewarded_action():
    learner, _, _ = _learner_setup()
    net = learner.nets["cross"]
    state = learner.states[:1]

    def prob_of_action_1():
        return torch.softmax(net(state)[0], -1)[0, 1].item()

    before = prob_of_action_1()
    logmu = math.log(before)
    for _ in range(3):                          # one update per 2 x 2 cross-instance steps
        for _ in range(4):
            learner.add({"cross": {"rows": np.zeros(1, np.int32), "bins": np.zeros(1, np.int8),
                                   "actions": np.array([1], np.int16), "logmu": np.array([logmu]),
                                   "done": np.ones(1, bool)}}, reward=1.0)
        assert learner.learn() == 1
    assert learner.updates["cross"] == 3 and learner.versions["cross"] == 3
    assert prob_of_action_1() > before


# ----------------------------------------------------------------------------- the sampler
def test_fit_resample_appends_the_best_synthetic_set_to_the_input():
    X, y = _data()
    sampler = AutoSMOTE(**TINY)
    X_res, y_res = sampler.fit_resample(X, y)
    assert np.array_equal(X_res[:len(X)], X) and np.array_equal(y_res[:len(y)], y)
    assert len(X_res) == len(X) + sampler.n_synthetic_
    assert (y_res[len(y):] == 1).all()
    assert sampler.sampling_strategy_ == {1: sampler.n_synthetic_}
    assert sampler.n_synthetic_ == int(sampler.best_decisions_["samples_per_row"].sum())
    assert len(sampler.search_curve_) == 4 and sampler.search_curve_[-1] == sampler.best_score_
    assert np.all(np.diff(sampler.search_curve_) >= 0)
    assert set(sampler.timings_) >= {"acting", "learning", "fitting", "waiting", "total"}


def test_synthetic_rows_lie_between_minority_rows_and_their_neighbours():
    X, y = _data()
    sampler = AutoSMOTE(**{**TINY, "validation": 0.3})
    X_res, _ = sampler.fit_resample(X, y)
    minority = X[y == 1]
    lo, hi = minority.min(axis=0), minority.max(axis=0)
    assert np.all(X_res[len(X):] >= lo - 1e-12) and np.all(X_res[len(X):] <= hi + 1e-12)


def test_same_random_state_same_search_in_process():
    X, y = _data()
    a, b = AutoSMOTE(**TINY), AutoSMOTE(**TINY)
    Xa, ya = a.fit_resample(X, y)
    Xb, yb = b.fit_resample(X, y)
    assert np.array_equal(Xa, Xb) and np.array_equal(ya, yb)
    assert a.search_curve_ == b.search_curve_ and a.episode_scores_ == b.episode_scores_
    c = AutoSMOTE(**{**TINY, "random_state": 1}).fit(X, y)
    assert c is not None


def test_same_random_state_same_search_with_two_actor_processes():
    X, y = _data()
    params = {**TINY, "n_jobs": 2, "budget": 5}
    a, b = AutoSMOTE(**params), AutoSMOTE(**params)
    Xa, _ = a.fit_resample(X, y)
    Xb, _ = b.fit_resample(X, y)
    assert np.array_equal(Xa, Xb) and a.episode_scores_ == b.episode_scores_
    assert a.timings_["n_actors"] == 2


def test_two_actor_processes_repeat_a_search_that_learns():
    X, y = _data()
    params = {**TINY, "n_jobs": 2, "budget": 24, "unroll_lengths": (2, 10, 10), "batch_size": 2}
    a, b = AutoSMOTE(**params), AutoSMOTE(**params)
    Xa, _ = a.fit_resample(X, y)
    Xb, _ = b.fit_resample(X, y)
    assert min(a.learner_updates_.values()) > 0
    assert np.array_equal(Xa, Xb) and a.episode_scores_ == b.episode_scores_


def test_pair_logits_do_not_depend_on_the_rest_of_the_batch():
    """What lets any actor play any episode without changing the search: cached logits are the same
    whichever batch computed them."""
    rng = np.random.default_rng(0)
    X_min = rng.normal(size=(40, 4))
    neighbours = neighbour_table(X_min, 10)
    net = build_policies(4 + N_USAGE_BINS, 4, 4, 5, seed=0, cross=False, instance=False, low=True,
                         flat=False)["low"]
    acting = LowLevelActing(net, torch.from_numpy(state_features(X_min.astype(np.float32))), neighbours, 20)
    n_codes = 40 * N_USAGE_BINS
    own, partner = rng.integers(0, n_codes, 700), rng.integers(0, n_codes, 700)
    reference = acting.pair_logits(own, partner)
    for size in (1, 7, 64, 103, 333, 699):
        chosen = rng.choice(700, size=size, replace=False)
        assert np.array_equal(acting.pair_logits(own[chosen], partner[chosen]), reference[chosen])


class _RecordingActors:
    """Stands in for the actor processes: records which weights each episode was played with."""

    def __init__(self, n_actors):
        self.n_actors, self.played, self._queued = n_actors, {}, []

    def submit(self, actor, weights, index):
        self.played[index] = weights["low"][0]
        self._queued.append((actor, Episode(index, np.zeros(1, np.int32), np.zeros(0, np.int16), 0,
                                            np.zeros(1, np.int32), score=float(index % 7))))

    def results(self):
        out, self._queued = self._queued[:1], self._queued[1:]     # one at a time, in submission order
        return out


class _CountingLearner:
    """Each learned block is one weight version."""

    def __init__(self):
        self.version, self.updates, self.blocks = 0, {"low": 0}, []

    def add(self, steps, score):
        pass

    def learn(self):
        self.version += 1

    def weights(self):
        return {"low": (self.version, None)}


@pytest.mark.parametrize("policy_lag, sync_interval", [(0, 1), (1, 1), (1, 3), (2, 2)])
def test_each_episode_is_played_with_the_weights_of_its_block(policy_lag, sync_interval):
    actors = _RecordingActors(n_actors=2)
    result = _rounds(actors, _CountingLearner(), budget=23, policy_lag=policy_lag, sync_interval=sync_interval,
                     start=0.0)
    block = 2 * sync_interval
    assert actors.played == {i: max(i // block - policy_lag, 0) for i in range(23)}
    assert result.scores == [float(i % 7) for i in range(23)]
    assert result.curve == [float(min(i, 6)) for i in range(23)] and result.best.index == 6


def test_it_works_inside_an_imblearn_pipeline():
    X, y = _data()
    model = Pipeline([("autosmote", AutoSMOTE(**TINY)), ("clf", LogisticRegression())]).fit(X, y)
    assert model.predict(X).shape == y.shape
    assert model.named_steps["autosmote"].n_synthetic_ >= 0


def test_binary_inputs_in_other_containers_and_dtypes():
    X, y = _data()
    X32, y32 = X.astype(np.float32), y.astype(np.int32)
    X_res, y_res = AutoSMOTE(**TINY).fit_resample(X32, y32)
    assert X_res.dtype == np.float32 and y_res.dtype == np.int32
    frame = pd.DataFrame(X, columns=list("abcd"))
    X_df, y_s = AutoSMOTE(**TINY).fit_resample(frame, pd.Series(y, name="label"))
    assert list(X_df.columns) == list("abcd") and y_s.name == "label"
    X_list, y_list = AutoSMOTE(**TINY).fit_resample(X.tolist(), y.tolist())
    assert isinstance(X_list, list) and np.allclose(X_list, X_df.to_numpy())
    labels = np.where(y == 1, "rare", "common")
    _, y_str = AutoSMOTE(**TINY).fit_resample(X, labels)
    assert set(y_str[len(y):]) <= {"rare"}


def test_explicit_validation_data_is_used_for_the_reward():
    X, y = _data(seed=1)
    X_val, y_val = _data(n=80, seed=2)
    sampler = AutoSMOTE(**{**TINY, "validation": (X_val, y_val), "metric": "mcc"})
    X_res, _ = sampler.fit_resample(X, y)
    assert -1.0 <= sampler.best_score_ <= 1.0
    assert len(X_res) == len(X) + sampler.n_synthetic_


@pytest.mark.parametrize("bad, message", [
    (dict(classifier="not a model"), "classifier"),
    (dict(metric="accuracy"), "metric"),
    (dict(budget=0), "budget"),
    (dict(ablation="no_learning"), "ablation"),
    (dict(unroll_lengths=(2, 300)), "unroll_lengths"),
    (dict(n_jobs=0), "n_jobs"),
])
def test_bad_parameters_raise_value_errors(bad, message):
    X, y = _data()
    with pytest.raises(ValueError, match=message):
        AutoSMOTE(**{**TINY, **bad}).fit_resample(X, y)


def test_too_few_minority_rows_or_one_class_raise_value_errors():
    X, y = _data()
    y_one = np.zeros_like(y)
    y_one[0] = 1
    with pytest.raises(ValueError, match="at least 2 minority rows"):
        AutoSMOTE(**TINY).fit_resample(X, y_one)
    with pytest.raises(ValueError, match="at least 2 minority rows"):
        AutoSMOTE(**{**TINY, "validation": (X, y)}).fit_resample(X, y_one)
    with pytest.raises(ValueError, match="more than 1 class"):
        AutoSMOTE(**TINY).fit_resample(X, np.zeros_like(y))


def test_a_callable_metric_is_the_reward():
    X, y = _data()
    sampler = AutoSMOTE(**{**TINY, "metric": lambda y_true, y_pred: float(np.mean(y_pred == 1))})
    sampler.fit_resample(X, y)
    assert all(0.0 <= s <= 1.0 for s in sampler.episode_scores_)


# ----------------------------------------------------------------------------- ablations
def _episodes(ablation, n=6):
    X_min = np.random.default_rng(4).normal(size=(10, 2))
    space = SearchSpace(g1_actions=6, g2_actions=4, k=5)
    config = PlayerConfig(space=space, ablation=ablation)
    player = EpisodePlayer(config, X_min.astype(np.float32), neighbour_table(X_min, 5))
    learned = config.learned
    nets = build_policies(player.states.shape[-1], 6, 4, 5, seed=0, cross=learned["cross"],
                          instance=learned["instance"], low=learned["low"], flat=learned["flat"])
    player.load({name: (0, flat_parameters(net)) for name, net in nets.items()})
    return [player.play(i, seed=1) for i in range(n)], space


def test_no_cross_instance_fixes_g1_to_half_of_g1_actions():
    episodes, space = _episodes("no_cross_instance")
    assert {e.g1 for e in episodes} == {space.g1_actions // 2}
    assert all("cross" not in e.steps and "instance" in e.steps and "low" in e.steps for e in episodes)


def test_no_instance_specific_fixes_g2_to_half_of_g2_actions():
    episodes, space = _episodes("no_instance_specific")
    assert all(set(e.g2.tolist()) == {space.g2_actions // 2} for e in episodes)
    assert all("instance" not in e.steps for e in episodes)


def test_no_low_level_draws_neighbours_and_weights_without_a_policy():
    episodes, _ = _episodes("no_low_level")
    assert all("low" not in e.steps and "instance" in e.steps for e in episodes)
    assert len(np.unique(np.concatenate([e.actions for e in episodes]))) > 10


def test_flat_policy_decides_per_step_when_to_move_on():
    episodes, space = _episodes("flat")
    assert all(e.g1 == -1 and set(e.steps) == {"low"} for e in episodes)
    per_row = np.concatenate([e.samples_per_row for e in episodes])
    assert per_row.max() <= space.max_per_row and len(np.unique(per_row)) > 3
    assert (episodes[0].steps["low"]["actions"] == space.n_pairs).any()       # the stop action


def test_random_search_learns_nothing():
    X, y = _data()
    sampler = AutoSMOTE(**{**TINY, "ablation": "random_search"})
    sampler.fit_resample(X, y)
    assert sampler.learner_updates_ == {}
    episodes, _ = _episodes("random_search")
    assert all(e.steps == {} for e in episodes)


def _frequencies_match(values: np.ndarray, probabilities: dict[int, float]) -> None:
    """Each value's share within 4 standard errors of its probability; no value outside the support."""
    assert set(np.unique(values).tolist()) <= set(probabilities)
    for value, p in probabilities.items():
        share = np.mean(values == value)
        assert abs(share - p) <= 4 * math.sqrt(p * (1 - p) / len(values)) + 1e-12, (value, share, p)


def _product_of_uniforms(a: int, b: int) -> dict[int, float]:
    """P(x * y = v) for x uniform in {0..a-1}, y uniform in {0..b-1}, independent."""
    out: dict[int, float] = {}
    for x in range(a):
        for y in range(b):
            out[x * y] = out.get(x * y, 0.0) + 1 / (a * b)
    return out


def test_random_search_draws_one_g1_per_episode_and_g2_per_row():
    episodes, space = _episodes("random_search", n=600)
    _frequencies_match(np.array([e.g1 for e in episodes]), {g: 1 / 6 for g in range(6)})
    _frequencies_match(np.concatenate([e.g2 for e in episodes]), {g: 1 / 4 for g in range(4)})
    assert all((e.samples_per_row == e.g1 * e.g2).all() for e in episodes)
    _frequencies_match(np.concatenate([e.actions for e in episodes]), {a: 1 / space.n_pairs for a in range(25)})


def test_random_per_row_draws_the_amount_of_each_row_independently_so_the_total_concentrates():
    per_row_episodes, space = _episodes("random_per_row", n=600)
    assert all(e.g1 == -1 and e.steps == {} for e in per_row_episodes)
    amounts = np.concatenate([e.samples_per_row for e in per_row_episodes])
    _frequencies_match(amounts, _product_of_uniforms(6, 4))
    # the episode totals: a sum of 10 independent rows (sd = sqrt(10 * Var g)), where one g1 per episode
    # (random_search) spreads them far wider
    var_g = sum(v * v * p for v, p in _product_of_uniforms(6, 4).items()) - (2.5 * 1.5) ** 2
    totals = np.array([e.samples_per_row.sum() for e in per_row_episodes])
    assert abs(totals.mean() - 10 * 2.5 * 1.5) < 4 * math.sqrt(10 * var_g / 600)
    assert 0.8 < totals.std() / math.sqrt(10 * var_g) < 1.2
    random_totals = np.array([e.samples_per_row.sum() for e in _episodes("random_search", n=600)[0]])
    assert random_totals.std() > 1.5 * totals.std()


def test_random_flat_steps_uniformly_over_pairs_and_next_row():
    episodes, space = _episodes("random_flat", n=600)
    assert all(e.g1 == -1 and e.steps == {} and (e.g2 == -1).all() for e in episodes)
    p_next = 1 / (space.n_pairs + 1)
    cap = space.max_per_row                     # (6 - 1) * (4 - 1) = 15
    truncated_geometric = {j: (1 - p_next) ** j * p_next for j in range(cap)}
    truncated_geometric[cap] = (1 - p_next) ** cap
    _frequencies_match(np.concatenate([e.samples_per_row for e in episodes]), truncated_geometric)
    assert np.concatenate([e.actions for e in episodes]).max() < space.n_pairs   # "next row" is no sample


def test_merged_trains_and_rewards_on_train_plus_validation():
    X, y = _data(seed=1)
    X_val, y_val = _data(n=60, seed=2)
    sampler = AutoSMOTE(**{**TINY, "validation": (X_val, y_val), "ablation": "merged"})
    X_res, y_res = sampler.fit_resample(X, y)
    assert len(X_res) == len(X) + len(X_val) + sampler.n_synthetic_
    assert np.array_equal(X_res[len(X):len(X) + len(X_val)], X_val)


# ----------------------------------------------------------------------------- imbalanced-learn checks
# imbalanced-learn's whole sampler suite (multi-class, sparse and pandas inputs included), none expected to fail
SAMPLER_CHECKS = list(estimator_checks_generator(AutoSMOTE(budget=2, random_state=0, k_neighbors=3)))


@pytest.mark.parametrize("estimator, check", SAMPLER_CHECKS)
def test_imblearn_sampler_checks(estimator, check):
    check(estimator)


def test_imblearn_param_validation_check():
    check_param_validation("AutoSMOTE", AutoSMOTE(budget=2, random_state=0))


def test_one_hot_targets_come_back_as_indicator_columns():
    X, y = _data()
    X_res, y_res = AutoSMOTE(**TINY).fit_resample(X, np.column_stack([1 - y, y]))
    assert y_res.ndim == 2 and len(y_res) == len(X_res)


def test_the_harness_adapter_builds_one_search_per_classifier_and_metric():
    from bench.samplers.registry import SAMPLERS, SamplerContext, all_entries
    all_entries()
    entry = SAMPLERS["AutoSMOTE"]
    assert (entry.category, entry.family, entry.tunes_ratio, entry.per_classifier, entry.per_metric) == \
        ("auto", "autosmote", False, True, True)
    X, y = _data(seed=1)
    X_val, y_val = _data(n=60, seed=2)
    sampler = entry.make({"budget": 3, "ablation": "random_search"},
                         SamplerContext(7, X_val, y_val, classifier="DT", metric="mcc"))
    assert (sampler.budget, sampler.ablation, sampler.metric, sampler.random_state) == (3, "random_search", "mcc", 7)
    assert sampler.validation[0] is X_val and sampler.classifier.random_state == 7
    sampler.fit_resample(X, y)
    info = entry.fit_info(sampler)
    assert len(info["curve"]) == 3 and info["best_score"] == sampler.best_score_ and "total" in info["timings"]
    assert entry.make({}, SamplerContext(7, X_val[:0], y_val[:0], classifier="SVM", metric="mcc")).validation == 0.25


def _three_classes(seed=3):
    return make_classification(n_samples=600, n_features=5, n_informative=4, n_redundant=0, n_classes=3,
                               weights=[0.7, 0.2, 0.1], random_state=seed)


def test_multi_class_data_oversamples_every_smaller_class_within_itself_in_one_search():
    X, y = _three_classes()
    sampler = AutoSMOTE(**{**TINY, "budget": 6, "k_neighbors": 5})
    X_res, y_res = sampler.fit_resample(X, y)
    assert np.array_equal(X_res[:len(X)], X) and np.array_equal(y_res[:len(y)], y)   # the input first
    added = np.bincount(y_res[len(y):], minlength=3)
    assert added[0] == 0 and sampler.sampling_strategy_ == {1: added[1], 2: added[2]}
    assert sampler.n_synthetic_ == added.sum() > 0
    # each synthetic row lies between two rows of its own class: inside that class's bounding box
    for label in (1, 2):
        own, new = X[y == label], X_res[len(y):][y_res[len(y):] == label]
        assert (new >= own.min(axis=0) - 1e-9).all() and (new <= own.max(axis=0) + 1e-9).all()
    # the cross-instance factor's range comes from the smallest class (the largest imbalance)
    n_fit = np.bincount(y) * 0.75
    assert sampler.search_space_.g1_actions == max(2, round(4 * (n_fit[0] / n_fit[2]) / 10))


def test_multi_class_searches_repeat_exactly_under_a_seed_in_process_and_with_actors():
    X, y = _three_classes(seed=4)
    runs = [AutoSMOTE(**{**TINY, "budget": 6, "k_neighbors": 5, "n_jobs": n_jobs}).fit_resample(X, y)
            for n_jobs in (None, None, 2)]
    for X_res, y_res in runs[1:]:
        assert np.array_equal(X_res, runs[0][0]) and np.array_equal(y_res, runs[0][1])


def test_neighbours_never_cross_classes():
    from autosmote.rl.sampler import _neighbours_within_classes
    X = np.array([[0.0], [0.1], [5.0], [0.2], [5.1], [5.2]])
    labels = np.array([1, 1, 2, 1, 2, 2])
    table = _neighbours_within_classes(X, labels, 2)
    assert table.tolist() == [[0, 1], [1, 0], [2, 4], [3, 1], [4, 2], [5, 4]]
