"""MESA (Liu et al., NeurIPS 2020): an ensemble whose under-sampling is steered by a learned meta-sampler.

Written from the paper "MESA: Boost Ensemble Imbalanced Learning with MEta-SAmpler", not from the authors'
code (which is pinned to torch 1.0 / gym 0.17 and takes label 1 as the minority). Its three parts:

* ensemble training (the paper's Algorithm 1): member 1 is fitted on a random balanced subset, each later
  member on all minority rows plus |minority| majority rows chosen by the meta-sampler; the ensemble F
  averages the members' minority-class probabilities;
* meta-sampling: the meta-state is the histogram of the ensemble's errors |F(x) - y| on the training and on
  the validation data (b bins each, as shares of rows); the action mu in [0, 1] centres a Gaussian kernel
  exp(-(e - mu)^2 / (2 sigma^2)) that weights each majority row by its error e;
* meta-training: a step's reward is the change of the ensemble's validation score; the meta-sampler is a
  Soft Actor-Critic policy (Haarnoja et al. 2018: twin Q networks with soft-updated targets, a tanh-squashed
  Gaussian policy, an entropy temperature, a replay buffer) trained over episodes that each build a k-member
  ensemble from scratch. The final ensemble is then built once more with the policy's mean action.

Numbers. The paper's: k = 10 members, sigma = 0.2, the AUCPRC reward, SAC as the learner, a meta-state of
training and validation error histograms. Ours (its appendix values were not checked against the paper):
b = 10 bins, 50 meta-training episodes, 2 x 50 ReLU MLPs, Adam with lr 1e-3, gamma 0.99, tau 0.01, batch 64,
a replay buffer of 10,000, one update per step, uniform random actions until the buffer holds one batch, and
an auto-tuned temperature (target entropy -1): rewards are validation-score differences of about 0.01, which
a fixed temperature's entropy bonus would drown.
"""
from __future__ import annotations

import copy
from numbers import Integral, Real
from typing import Callable

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data
from torch import nn
from torch.nn import functional as F
from autosmote._torch import resolve_device

# The validation score whose change rewards the meta-sampler: name -> score(y01, minority probability).
METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "aucprc": average_precision_score,   # the paper's choice
    "auroc": roc_auc_score,
    "f1": lambda y, proba: f1_score(y, proba >= 0.5, zero_division=0.0),
}


# ---------------------------------------------------------------------------------------------------------
# Meta-state and meta-sampling (labels are 0/1 here, 1 = minority)
# ---------------------------------------------------------------------------------------------------------

def error_histogram(proba: np.ndarray, y01: np.ndarray, n_bins: int) -> np.ndarray:
    """Share of rows in each of `n_bins` equal bins of [0, 1] of the absolute error |F(x) - y|."""
    counts, _ = np.histogram(np.abs(proba - y01), bins=n_bins, range=(0.0, 1.0))
    return counts / len(y01)


def meta_state(proba_train: np.ndarray, y_train: np.ndarray, proba_val: np.ndarray, y_val: np.ndarray,
               n_bins: int) -> np.ndarray:
    """The paper's meta-state: the error histograms on the training and the validation data, side by side."""
    return np.concatenate([error_histogram(proba_train, y_train, n_bins),
                           error_histogram(proba_val, y_val, n_bins)])


def random_under_sample(y01: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """Row indices of a balanced subset for member 1: all minority rows, as many majority rows at random."""
    minority, majority = np.flatnonzero(y01 == 1), np.flatnonzero(y01 == 0)
    return np.concatenate([minority, rng.choice(majority, size=len(minority), replace=False)])


def gaussian_under_sample(y01: np.ndarray, proba: np.ndarray, mu: float, sigma: float,
                          rng: np.random.RandomState) -> np.ndarray:
    """Row indices of all minority rows plus |minority| majority rows drawn without replacement, each majority
    row weighted by a Gaussian kernel centred at `mu` of its error (its minority probability: its label is 0)."""
    minority, majority = np.flatnonzero(y01 == 1), np.flatnonzero(y01 == 0)
    log_weights = -((proba[majority] - mu) ** 2) / (2.0 * sigma ** 2)
    # Shifted so the nearest rows weigh 1, with a tiny floor so that rows far from mu can still fill the
    # subset once the near ones are used up (numpy refuses to draw more rows than have nonzero weight).
    weights = np.exp(log_weights - log_weights.max()) + 1e-12
    chosen = rng.choice(majority, size=len(minority), replace=False, p=weights / weights.sum())
    return np.concatenate([minority, chosen])


# ---------------------------------------------------------------------------------------------------------
# Soft Actor-Critic for the one-dimensional action
# ---------------------------------------------------------------------------------------------------------

class ReplayBuffer:
    """A fixed-capacity ring of (state, action, reward, next state, done) transitions, sampled uniformly."""

    def __init__(self, capacity: int, n_state: int):
        self.states = np.zeros((capacity, n_state), dtype=np.float32)
        self.next_states = np.zeros_like(self.states)
        self.actions = np.zeros((capacity, 1), dtype=np.float32)
        self.rewards = np.zeros((capacity, 1), dtype=np.float32)
        self.dones = np.zeros((capacity, 1), dtype=np.float32)
        self.size = 0
        self._next = 0

    def __len__(self) -> int:
        return self.size

    def add(self, state, action: float, reward: float, next_state, done: bool) -> None:
        i = self._next
        self.states[i], self.actions[i], self.rewards[i] = state, action, reward
        self.next_states[i], self.dones[i] = next_state, done
        self._next = (i + 1) % len(self.states)
        self.size = min(self.size + 1, len(self.states))

    def sample(self, batch_size: int, rng: np.random.RandomState) -> tuple[np.ndarray, ...]:
        rows = rng.randint(0, self.size, size=batch_size)
        return self.states[rows], self.actions[rows], self.rewards[rows], self.next_states[rows], self.dones[rows]


def _mlp(n_in: int, n_out: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, n_out))


class SquashedGaussianPolicy(nn.Module):
    """pi(a | s): a = tanh(u) with u ~ N(m(s), s(s)^2), so that every action lies in [-1, 1]."""

    LOG_STD_RANGE = (-20.0, 2.0)   # the usual clamp of SAC implementations, for numerical safety

    def __init__(self, n_state: int, hidden: int):
        super().__init__()
        self.body = _mlp(n_state, 2, hidden)

    def forward(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = self.body(states).chunk(2, dim=-1)
        return mean, log_std.clamp(*self.LOG_STD_RANGE)

    def sample(self, states: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterised action and its log-density, corrected for the tanh change of variables."""
        mean, log_std = self(states)
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        pre_tanh = mean + log_std.exp() * noise
        gaussian_log_prob = -0.5 * noise.pow(2) - log_std - 0.5 * np.log(2.0 * np.pi)
        # log(1 - tanh(u)^2) written stably as 2 (log 2 - u - softplus(-2u)).
        log_det = 2.0 * (np.log(2.0) - pre_tanh - F.softplus(-2.0 * pre_tanh))
        return torch.tanh(pre_tanh), gaussian_log_prob - log_det


class SoftActorCritic:
    """SAC with twin Q networks, soft-updated target networks and a fixed or learned temperature."""

    def __init__(self, n_state: int, hidden_size: int, learning_rate: float, gamma: float, tau: float,
                 alpha: float | str, device: str | torch.device, seed: int):
        self.device = torch.device(device)
        with torch.random.fork_rng(devices=[]):   # seeded initial weights without touching global state
            torch.manual_seed(seed)
            self.policy = SquashedGaussianPolicy(n_state, hidden_size).to(self.device)
            self.q_nets = nn.ModuleList([_mlp(n_state + 1, 1, hidden_size) for _ in range(2)]).to(self.device)
        self.q_targets = copy.deepcopy(self.q_nets).requires_grad_(False)
        self.learns_alpha = alpha == "auto"
        start = 0.0 if self.learns_alpha else float(np.log(alpha))
        self.log_alpha = torch.tensor([start], device=self.device, requires_grad=self.learns_alpha)
        self.target_entropy = -1.0   # -dim(action), the SAC authors' choice
        self.gamma, self.tau = gamma, tau
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.policy_optimizer = torch.optim.Adam(self.policy.parameters(), lr=learning_rate)
        self.q_optimizer = torch.optim.Adam(self.q_nets.parameters(), lr=learning_rate)
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=learning_rate) if self.learns_alpha else None

    def act(self, state: np.ndarray, deterministic: bool) -> float:
        """An action in [-1, 1]: the squashed mean, or a draw from the policy while exploring."""
        with torch.no_grad():
            states = torch.as_tensor(state, dtype=torch.float32, device=self.device).unsqueeze(0)
            action = torch.tanh(self.policy(states)[0]) if deterministic \
                else self.policy.sample(states, self.generator)[0]
        return float(action.item())

    def update(self, batch: tuple[np.ndarray, ...]) -> None:
        """One gradient step on the critics, the policy and (if learned) the temperature; then the targets."""
        states, actions, rewards, next_states, dones = (torch.as_tensor(a, device=self.device) for a in batch)
        alpha = self.log_alpha.detach().exp()
        with torch.no_grad():
            next_actions, next_log_prob = self.policy.sample(next_states, self.generator)
            next_value = self._min_q(self.q_targets, next_states, next_actions) - alpha * next_log_prob
            target = rewards + self.gamma * (1.0 - dones) * next_value
        inputs = torch.cat([states, actions], dim=-1)
        q_loss = sum(F.mse_loss(q(inputs), target) for q in self.q_nets)
        self._step(self.q_optimizer, q_loss)

        new_actions, log_prob = self.policy.sample(states, self.generator)
        policy_loss = (alpha * log_prob - self._min_q(self.q_nets, states, new_actions)).mean()
        self._step(self.policy_optimizer, policy_loss)
        if self.learns_alpha:
            alpha_loss = -(self.log_alpha * (log_prob.detach() + self.target_entropy)).mean()
            self._step(self.alpha_optimizer, alpha_loss)
        with torch.no_grad():
            for target_param, param in zip(self.q_targets.parameters(), self.q_nets.parameters()):
                target_param.lerp_(param, self.tau)

    @staticmethod
    def _min_q(nets: nn.ModuleList, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        inputs = torch.cat([states, actions], dim=-1)
        return torch.min(nets[0](inputs), nets[1](inputs))

    @staticmethod
    def _step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


# ---------------------------------------------------------------------------------------------------------
# Ensemble training as the meta-sampler's environment, and the meta-training loop
# ---------------------------------------------------------------------------------------------------------

class MetaSamplingEnv:
    """The paper's ensemble training seen as an environment: reset() fits member 1 on a random balanced
    subset; step(action) maps the action in [-1, 1] to mu in [0, 1], fits the next member on the Gaussian
    under-sample and returns (next state, reward, done), the reward being the validation score's change."""

    def __init__(self, estimator, X: np.ndarray, y01: np.ndarray, X_val: np.ndarray, y_val01: np.ndarray,
                 n_estimators: int, n_bins: int, sigma: float, score: Callable, rng: np.random.RandomState):
        self.estimator, self.X, self.y, self.X_val, self.y_val = estimator, X, y01, X_val, y_val01
        self.n_estimators, self.n_bins, self.sigma, self.score_fn, self.rng = n_estimators, n_bins, sigma, score, rng
        self.members: list = []

    @property
    def done(self) -> bool:
        return len(self.members) >= self.n_estimators

    def reset(self) -> np.ndarray:
        self.members = []
        self._proba_sum, self._proba_val_sum = np.zeros(len(self.y)), np.zeros(len(self.y_val))
        self._add_member(random_under_sample(self.y, self.rng))
        return self.state()

    def step(self, action: float) -> tuple[np.ndarray, float, bool]:
        before, mu = self.score, (action + 1.0) / 2.0
        self._add_member(gaussian_under_sample(self.y, self._proba_sum / len(self.members), mu, self.sigma,
                                               self.rng))
        return self.state(), self.score - before, self.done

    def state(self) -> np.ndarray:
        n = len(self.members)
        return meta_state(self._proba_sum / n, self.y, self._proba_val_sum / n, self.y_val, self.n_bins)

    def _add_member(self, rows: np.ndarray) -> None:
        member = clone(self.estimator).fit(self.X[rows], self.y[rows])
        self.members.append(member)
        # Every subset holds both classes, so a member's classes_ is [0, 1] and column 1 is the minority.
        self._proba_sum += member.predict_proba(self.X)[:, 1]
        self._proba_val_sum += member.predict_proba(self.X_val)[:, 1]
        self.score = float(self.score_fn(self.y_val, self._proba_val_sum / len(self.members)))


def meta_train_episode(env: MetaSamplingEnv, agent: SoftActorCritic, buffer: ReplayBuffer, batch_size: int,
                       updates_per_step: int, rng: np.random.RandomState) -> float:
    """Build one ensemble from scratch, storing every transition and updating SAC once the buffer holds a
    batch (actions are uniform until then: exploration before there is anything to learn from).
    Returns the episode's total reward, i.e. the validation score gained over member 1 alone."""
    state, total = env.reset(), 0.0
    while not env.done:
        exploring = len(buffer) < batch_size
        action = rng.uniform(-1.0, 1.0) if exploring else agent.act(state, deterministic=False)
        next_state, reward, done = env.step(action)
        buffer.add(state, action, reward, next_state, done)
        if len(buffer) >= batch_size:
            for _ in range(updates_per_step):
                agent.update(buffer.sample(batch_size, rng))
        state, total = next_state, total + reward
    return total


def deterministic_ensemble(env: MetaSamplingEnv, agent: SoftActorCritic) -> list:
    """The final ensemble: built once more, each subset drawn at the policy's mean action."""
    state = env.reset()
    while not env.done:
        state, _, _ = env.step(agent.act(state, deterministic=True))
    return list(env.members)


# ---------------------------------------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------------------------------------

class MESA(ClassifierMixin, BaseEstimator):
    """MESA for binary problems with any two labels; the minority is the smaller class.

    Parameters
    ----------
    estimator : classifier, default=None
        The base classifier (a decision tree when None). One without predict_proba (LinearSVC) is wrapped in
        CalibratedClassifierCV(cv=min(3, n_minority)): the meta-state needs probabilities.
    n_estimators : int, default=10
        k, the ensemble's size (the paper's k = 10).
    n_meta_episodes : int, default=50
        Meta-training episodes, each building a k-member ensemble from scratch (ours).
    validation : (X_val, y_val) or float in (0, 1), default=0.2
        The data the reward is scored on (and half the meta-state): given, or a stratified share of (X, y)
        held out from the members' training data.
    n_bins : int, default=10
        b, bins per error histogram; the meta-state has 2b entries (ours).
    sigma : float, default=0.2
        The Gaussian kernel's width (the paper's 0.2).
    metric : {"aucprc", "auroc", "f1"} or callable, default="aucprc"
        The validation score whose change is the reward (the paper's AUCPRC = average precision); a callable
        takes (y_val with 1 = minority, minority probability).
    hidden_size, learning_rate, gamma, tau, alpha, batch_size, buffer_size, updates_per_step
        SAC's settings (ours): two hidden layers of `hidden_size`, Adam's step size, the discount, the target
        networks' soft-update rate, the entropy temperature (a number, or "auto" to learn it), the minibatch,
        the replay buffer's capacity, gradient steps per environment step.
    random_state : int, RandomState or None, default=None
        Seeds every draw (subsets, validation split, network weights, policy noise); fits repeat exactly on CPU.
    device : str, default="auto"
        The torch device of the meta-sampler: "auto" picks "cuda" when available, else "cpu".

    Attributes
    ----------
    classes_ : the two labels, sorted. minority_index_ : the minority's position in classes_.
    estimators_ : the final ensemble's members (trained on 0/1 labels, 1 = minority).
    meta_rewards_ : each meta-training episode's total reward. validation_score_ : the final ensemble's score.
    calibrated_ : whether the base classifier was wrapped for probabilities.
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "n_meta_episodes": [Interval(Integral, 1, None, closed="left")],
        "validation": [tuple, Interval(Real, 0, 1, closed="neither")],
        "n_bins": [Interval(Integral, 1, None, closed="left")],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "metric": [StrOptions(set(METRICS)), callable],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "gamma": [Interval(Real, 0, 1, closed="both")],
        "tau": [Interval(Real, 0, 1, closed="right")],
        "alpha": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "buffer_size": [Interval(Integral, 1, None, closed="left")],
        "updates_per_step": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
        "device": [str],
    }

    def __init__(self, estimator=None, n_estimators=10, n_meta_episodes=50, validation=0.2, n_bins=10,
                 sigma=0.2, metric="aucprc", hidden_size=50, learning_rate=1e-3, gamma=0.99, tau=0.01,
                 alpha="auto", batch_size=64, buffer_size=10_000, updates_per_step=1, random_state=None,
                 device="auto"):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.n_meta_episodes = n_meta_episodes
        self.validation = validation
        self.n_bins = n_bins
        self.sigma = sigma
        self.metric = metric
        self.hidden_size = hidden_size
        self.learning_rate = learning_rate
        self.gamma = gamma
        self.tau = tau
        self.alpha = alpha
        self.batch_size = batch_size
        self.buffer_size = buffer_size
        self.updates_per_step = updates_per_step
        self.random_state = random_state
        self.device = device

    def fit(self, X, y):
        """Meta-train the sampler on (X, y) and the validation data, then build the final ensemble."""
        self._validate_params()
        if self.batch_size > self.buffer_size:
            raise ValueError(f"batch_size={self.batch_size} exceeds buffer_size={self.buffer_size}: "
                             "the meta-sampler would never be updated")
        device = self._torch_device()
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_, counts = np.unique(y, return_counts=True)
        if len(self.classes_) != 2:
            raise ValueError(f"Only binary classification is supported: MESA's meta-sampler balances one "
                             f"minority against one majority; y has {len(self.classes_)} classes")
        self.minority_index_ = int(counts[1] <= counts[0])
        rng = check_random_state(self.random_state)
        X_train, y_train, X_val, y_val = self._train_and_validation(X, y == self.classes_[self.minority_index_],
                                                                    rng)
        estimator, self.calibrated_ = self._probabilistic_estimator(int(y_train.sum()), rng)
        score = METRICS[self.metric] if isinstance(self.metric, str) else self.metric
        env = MetaSamplingEnv(estimator, X_train, y_train, X_val, y_val, self.n_estimators, self.n_bins,
                              self.sigma, score, rng)
        agent = SoftActorCritic(2 * self.n_bins, self.hidden_size, self.learning_rate, self.gamma, self.tau,
                                self.alpha, device, seed=int(rng.randint(np.iinfo(np.int32).max)))
        buffer = ReplayBuffer(self.buffer_size, 2 * self.n_bins)
        self.meta_rewards_ = [meta_train_episode(env, agent, buffer, self.batch_size, self.updates_per_step, rng)
                              for _ in range(self.n_meta_episodes)]
        self.estimators_ = deterministic_ensemble(env, agent)
        self.validation_score_ = env.score
        return self

    def predict_proba(self, X) -> np.ndarray:
        """The members' average probability of the minority; columns in the order of classes_."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        minority = np.mean([member.predict_proba(X)[:, 1] for member in self.estimators_], axis=0)
        proba = np.empty((len(X), 2))
        proba[:, self.minority_index_] = minority
        proba[:, 1 - self.minority_index_] = 1.0 - minority
        return proba

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False   # binary only (fit says so)
        return tags

    def _torch_device(self) -> torch.device:
        return resolve_device(self.device)

    def _train_and_validation(self, X: np.ndarray, is_minority: np.ndarray, rng: np.random.RandomState):
        """(X_train, y_train, X_val, y_val) with 0/1 labels, from the given validation data or a held-out share."""
        y01 = is_minority.astype(int)
        if isinstance(self.validation, tuple):
            if len(self.validation) != 2:
                raise ValueError("validation must be a pair (X_val, y_val) or a fraction in (0, 1)")
            X_val = validate_data(self, self.validation[0], reset=False)
            y_val = column_or_1d(self.validation[1])
            check_consistent_length(X_val, y_val)
            unknown = set(np.unique(y_val)) - set(self.classes_)
            if unknown:
                raise ValueError(f"validation labels {sorted(unknown)} are not among the classes {list(self.classes_)}")
            X_train, y_train, y_val01 = X, y01, (y_val == self.classes_[self.minority_index_]).astype(int)
        else:
            X_train, X_val, y_train, y_val01 = train_test_split(X, y01, test_size=self.validation, stratify=y01,
                                                                random_state=rng)
        if len(np.unique(y_val01)) != 2:
            raise ValueError("the validation data must hold both classes: MESA's reward is scored on it")
        return X_train, y_train, X_val, y_val01

    def _probabilistic_estimator(self, n_minority: int, rng: np.random.RandomState):
        """The base classifier, wrapped in calibration when it has no predict_proba; and whether it was."""
        if self.estimator is None:
            return DecisionTreeClassifier(random_state=int(rng.randint(np.iinfo(np.int32).max))), False
        if hasattr(self.estimator, "predict_proba"):
            return self.estimator, False
        if n_minority < 2:
            raise ValueError(f"{type(self.estimator).__name__} has no predict_proba; calibrating it needs at "
                             f"least 2 minority rows, the training data has {n_minority}")
        # Each subset holds n_minority rows of each class, so stratified folds need cv <= n_minority.
        return CalibratedClassifierCV(self.estimator, cv=min(3, n_minority)), True
