"""No-resampling and the imbalanced-learn samplers of the paper's Table 2 (11 under, 7 over, 2 combined)."""
from __future__ import annotations

import inspect
from typing import Any

import imblearn
import numpy as np
from imblearn import combine, over_sampling, under_sampling

from .registry import SamplerContext, SamplerEntry, register


class NoResampling:
    """The identity sampler: the classifier sees the imbalanced training split as it is."""

    def fit_resample(self, X, y):
        return X, y


TABLE2 = {
    "under": (under_sampling, ["ClusterCentroids", "CondensedNearestNeighbour", "EditedNearestNeighbours",
                               "RepeatedEditedNearestNeighbours", "AllKNN", "InstanceHardnessThreshold",
                               "NearMiss", "NeighbourhoodCleaningRule", "OneSidedSelection",
                               "RandomUnderSampler", "TomekLinks"]),
    "over": (over_sampling, ["RandomOverSampler", "SMOTE", "SMOTEN", "ADASYN", "BorderlineSMOTE",
                             "KMeansSMOTE", "SVMSMOTE"]),
    "combined": (combine, ["SMOTEENN", "SMOTETomek"]),
}


class RatioSampler:
    """An imblearn sampler asked for the protocol's ratio N_class / N_majority after resampling.

    For binary data imblearn's float `sampling_strategy` is exactly that ratio. imblearn refuses a float
    for multi-class data, so there the ratio becomes per-class target counts: over-samplers raise every
    smaller class to ratio * N_largest, under-samplers cut every class above N_smallest / ratio.
    """

    def __init__(self, cls, ratio: float, **kwargs):
        self.cls, self.ratio, self.kwargs = cls, ratio, kwargs

    def fit_resample(self, X, y):
        labels, counts = np.unique(y, return_counts=True)
        if len(labels) == 2:
            strategy = self.ratio
        elif self.cls._sampling_type == "over-sampling":
            strategy = {c: max(n, int(self.ratio * counts.max())) for c, n in zip(labels, counts)
                        if n < counts.max()}
        else:
            strategy = {c: min(n, int(counts.min() / self.ratio)) for c, n in zip(labels, counts)}
        return self.cls(sampling_strategy=strategy, **self.kwargs).fit_resample(X, y)


def _factory(cls):
    takes_seed = "random_state" in inspect.signature(cls).parameters

    def make(params: dict[str, Any], context: SamplerContext):
        kwargs = {k: v for k, v in params.items() if k != "ratio"}
        if takes_seed:
            kwargs["random_state"] = context.random_state
        return RatioSampler(cls, params["ratio"], **kwargs) if "ratio" in params else cls(**kwargs)

    return make


register(SamplerEntry("No-resampling", "No-resampling", "none", lambda params, context: NoResampling(),
                      version="1", tunes_ratio=False, identity=True,
                      description="the training split as it is"))
for category, (module, names) in TABLE2.items():
    for name in names:
        cls = getattr(module, name)
        register(SamplerEntry(
            name, category, "imblearn", _factory(cls), version=f"imblearn-{imblearn.__version__}",
            # Cleaning methods take no ratio: the protocol runs them once with their defaults.
            tunes_ratio=cls._sampling_type != "clean-sampling",
            description=(inspect.getdoc(cls) or "").split("\n")[0],
        ))
