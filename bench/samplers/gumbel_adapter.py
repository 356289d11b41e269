"""Gumbel-Softmax AutoSMOTE (self / cohort; arXiv 2502.06878) in the harness, two ways.

`AutoSMOTE-self` / `AutoSMOTE-cohort`: samplers in the AutoSMOTE-paper protocol (Table 2). Their decisions are
learned against the method's own MLP on the training split; the returned set (real + drawn synthetic rows) then
trains SVM/KNN/DT/AdaBoost, and the ratio is tuned on validation like every other sampler's.
`AutoSMOTE-self-mlp` / `AutoSMOTE-cohort-mlp`: the end-to-end MLP itself as the classifier (the Gumbel paper's
own protocol); the base classifier the unit names is not used, so all of a unit's rows score the same model.
Fixed parameters (e.g. `AutoSMOTE-self[epochs=50]`) pass through to the constructor.
"""
from __future__ import annotations

from typing import Any

from ..extensions import load_factory
from .base import OverSamplingTargets
from .registry import SamplerContext, SamplerEntry


def make(entry: SamplerEntry, params: dict[str, Any], context: SamplerContext):
    kwargs = {k: v for k, v in params.items() if k != "ratio"}
    if "ratio" in params:   # the protocol's ratio by the one rule (bench.samplers.base), multi-class too
        kwargs["sampling_strategy"] = OverSamplingTargets(params["ratio"])
    return load_factory(entry.factory)(random_state=context.random_state, **kwargs)


def fit_info(model) -> dict[str, Any]:
    """The training loss at the first and last epoch, the decisions behind the last synthetic rows, and whether
    the classifier MLP died (no hidden unit on for any training row: a constant output)."""
    return {"loss_first": round(model.loss_curve_[0], 4), "loss_last": round(model.loss_curve_[-1], 4),
            "epochs": len(model.loss_curve_), "decisions": model.decision_counts_,
            "alive_units": model.alive_units_, "dead_network": model.dead_network_}
