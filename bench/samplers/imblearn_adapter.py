"""No-resampling and the imbalanced-learn samplers of the paper's Table 2 (11 under, 7 over, 2 combined;
listed in catalog.toml)."""
from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from .registry import SamplerContext, SamplerEntry, load_factory


class NoResampling:
    """The identity sampler: the classifier sees the imbalanced training split as it is."""

    def fit_resample(self, X, y):
        return X, y


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


def make(entry: SamplerEntry, params: dict[str, Any], context: SamplerContext):
    """The entry's imblearn class, seeded with the run's seed, asked for the protocol's ratio if it takes one.
    (Cleaning methods take no ratio: the catalogue runs them once with their defaults.)"""
    if entry.identity:
        return NoResampling()
    cls = load_factory(entry.factory)
    kwargs = {k: v for k, v in params.items() if k != "ratio"}
    if "random_state" in inspect.signature(cls).parameters:
        kwargs["random_state"] = context.random_state
    return RatioSampler(cls, params["ratio"], **kwargs) if "ratio" in params else cls(**kwargs)
