"""AutoSMOTE (hierarchical RL, CIKM 2022) from the `autosmote` library: one search per classifier and metric.

Fixed parameters given in bench.toml or on the command line go to the constructor, e.g.
`AutoSMOTE[budget=200]`, `AutoSMOTE[ablation=random_search]` (the paper's Table 4 ablations),
`AutoSMOTE[n_jobs=2]`.
"""
from __future__ import annotations

from typing import Any

from autosmote import AutoSMOTE

from ..classifiers import make_classifier
from .registry import SamplerContext, SamplerEntry


def make(entry: SamplerEntry, params: dict[str, Any], context: SamplerContext) -> AutoSMOTE:
    """The search tunes against the unit's classifier and metric, rewarded on the validation split
    (a split without one, e.g. a stratified train/test split: AutoSMOTE holds out part of the training data)."""
    if context.classifier is None or context.metric is None:
        raise ValueError("AutoSMOTE needs the unit's classifier and tuning metric (a per-classifier, "
                         "per-metric sampler)")
    has_validation = context.X_val is not None and len(context.X_val) > 0
    validation = {"validation": (context.X_val, context.y_val)} if has_validation else {}
    return AutoSMOTE(classifier=make_classifier(context.classifier, context.random_state), metric=context.metric,
                     random_state=context.random_state, **{**validation, **params})


def fit_info(sampler: AutoSMOTE) -> dict[str, Any]:
    timings = {key: round(float(value), 4) for key, value in sampler.timings_.items()}
    return {"curve": [round(float(v), 6) for v in sampler.search_curve_], "best_score": float(sampler.best_score_),
            "best_episode": int(sampler.best_decisions_["episode"]), "n_synthetic": int(sampler.n_synthetic_),
            "timings": timings}
