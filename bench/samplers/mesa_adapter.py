"""MESA (Liu et al., NeurIPS 2020) as a predicting entry: it is an ensemble, not a resampled training set.

Protocol: MESA meta-trains its sampler on the validation split, as in its paper; the harness then scores the
fitted ensemble on validation and test. LinearSVC (SVM) has no probabilities, so MESA wraps it in
CalibratedClassifierCV (tables footnote that), and fit_info records it.
"""
from __future__ import annotations

from typing import Any

from ..baselines.mesa import MESA
from ..classifiers import make_classifier
from .registry import SamplerContext, SamplerEntry


def make(entry: SamplerEntry, params: dict[str, Any], context: SamplerContext) -> MESA:
    return MESA(estimator=make_classifier(context.classifier, context.random_state),
                validation=(context.X_val, context.y_val), random_state=context.random_state, **params)


def fit_info(model: MESA) -> dict[str, Any]:
    """The meta-training curve (each episode's validation-score gain) and whether probabilities are calibrated."""
    return {"meta_rewards": [round(float(r), 4) for r in model.meta_rewards_],
            "validation_score": round(float(model.validation_score_), 4),
            "calibrated": bool(model.calibrated_)}
