"""A researcher's own methods, written against imbalanced-learn and scikit-learn only (nothing of bench):

- JitterOverSampler: random over-sampling whose copies are moved by Gaussian noise of `scale` times each
  feature's standard deviation within the class (a smoothed bootstrap);
- StandardizedCentroid: predicts the class whose mean is nearest after standardizing the features.
"""
from __future__ import annotations

from numbers import Real

import numpy as np
from scipy import sparse
from imblearn.over_sampling.base import BaseOverSampler
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

__version__ = "0.1.0"


class JitterOverSampler(BaseOverSampler):
    """Random over-sampling with Gaussian jitter: each new row is a copy of a random row of its class plus
    noise of `scale` times the class's per-feature standard deviation.

    `sampling_strategy` is imbalanced-learn's (a float is N_minority / N_majority after resampling), which is
    how bench gives it the protocol's ratio; `random_state` is how bench seeds it.
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "scale": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, sampling_strategy="auto", scale=0.1, random_state=None):
        super().__init__(sampling_strategy=sampling_strategy)
        self.scale = scale
        self.random_state = random_state

    def _fit_resample(self, X, y):
        rng = check_random_state(self.random_state)
        given_sparse = sparse.issparse(X)   # imbalanced-learn accepts sparse input: answer in kind
        X = X.toarray() if given_sparse else X
        parts_X, parts_y = [X], [y]
        for label, n_new in self.sampling_strategy_.items():
            if n_new == 0:
                continue
            rows = X[y == label]
            picked = rows[rng.randint(len(rows), size=n_new)]
            noise = rng.normal(size=picked.shape) * rows.std(axis=0) * self.scale
            parts_X.append((picked + noise).astype(X.dtype, copy=False))
            parts_y.append(np.full(n_new, label, dtype=y.dtype))
        X_new = np.vstack(parts_X)
        return (sparse.csr_matrix(X_new) if given_sparse else X_new), np.concatenate(parts_y)


class StandardizedCentroid(ClassifierMixin, BaseEstimator):
    """Nearest class mean after standardizing the features (no parameters, no randomness)."""

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.scaler_ = StandardScaler().fit(X)
        Z = self.scaler_.transform(X)
        self.classes_ = np.unique(y)
        self.centroids_ = np.stack([Z[y == c].mean(axis=0) for c in self.classes_])
        return self

    def predict(self, X):
        check_is_fitted(self)
        Z = self.scaler_.transform(validate_data(self, X, reset=False))
        distances = ((Z[:, None, :] - self.centroids_[None, :, :]) ** 2).sum(axis=2)
        return self.classes_[distances.argmin(axis=1)]
