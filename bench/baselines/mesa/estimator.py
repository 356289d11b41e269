"""MESA as a scikit-learn classifier: meta-training (episodes of the environment driven by the learner) and
the final ensemble."""
from __future__ import annotations

from numbers import Integral, Real
from typing import Callable

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data

from autosmote._torch import resolve_device

from .environment import MetaSamplingEnv
from .learner import ReplayBuffer, SoftActorCritic

# The validation score whose change rewards the meta-sampler: name -> score(y01, minority probability).
METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "aucprc": average_precision_score,   # the paper's choice
    "auroc": roc_auc_score,
    "f1": lambda y, proba: f1_score(y, proba >= 0.5, zero_division=0.0),
}


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
