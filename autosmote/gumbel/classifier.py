"""The classifier that Gumbel-AutoSMOTE trains end to end, trained alone: what every sampler's rows are scored
with in the Gumbel paper's protocol, so that its table compares samplers and not MLP implementations."""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .model import CLASSIFIER_INPUTS
from .sampler import AutoSMOTESelf


def _no_rows(y) -> dict:
    """A sampling strategy that asks for no synthetic row."""
    return {}


class GumbelMLPClassifier(ClassifierMixin, BaseEstimator):
    """The method's classifier MLP without the method: the same network (one hidden ReLU layer of
    `hidden_size`), initialisation (under one `random_state` its initial weights are the method's classifier's),
    input scaling (min-max on the training rows, then standardised), loss, Adam at `learning_rate`, `epochs`
    and `batch_size` - trained on the given rows only.

    It is AutoSMOTE-self asked for no synthetic row, so the two share every line of training code; with no
    anchors the decision policy gets no gradient and the loop is plain mini-batch training of the classifier.

    Attributes: classes_, alive_units_, dead_network_, loss_curve_ (as the method's).
    """

    _parameter_constraints: dict = {
        "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "classifier_inputs": [StrOptions(set(CLASSIFIER_INPUTS))],
        "hidden_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "device": [str, None],
        "n_threads": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(self, *, epochs=200, learning_rate=0.05, batch_size=2500, classifier_inputs="standardized",
                 hidden_size=64, device=None, n_threads=1, random_state=None):
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.classifier_inputs = classifier_inputs
        self.hidden_size = hidden_size
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state

    def fit(self, X, y):
        self._validate_params()
        y = column_or_1d(y, warn=True)   # a classifier takes one label per row (the sampler would binarise)
        self.model_ = AutoSMOTESelf(sampling_strategy=_no_rows, epochs=self.epochs, learning_rate=self.learning_rate,
                                    batch_size=self.batch_size, classifier_inputs=self.classifier_inputs,
                                    hidden_size=self.hidden_size, device=self.device, n_threads=self.n_threads,
                                    random_state=self.random_state).fit(X, y)
        self.classes_ = self.model_.classes_
        self.n_features_in_ = self.model_.n_features_in_
        if hasattr(self.model_, "feature_names_in_"):
            self.feature_names_in_ = self.model_.feature_names_in_
        self.alive_units_, self.dead_network_ = self.model_.alive_units_, self.model_.dead_network_
        self.loss_curve_ = self.model_.loss_curve_
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True   # the method densifies sparse rows
        return tags

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.model_.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.model_.predict(X)
