"""MESA's environment: ensemble training as the meta-sampler sees it. The meta-state (error histograms), the
two under-samplings (random for member 1, the Gaussian kernel for the others) and the environment stepping
through one ensemble. Labels are 0/1 here, 1 = minority."""
from __future__ import annotations

from typing import Callable

import numpy as np
from sklearn.base import clone


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
