"""No-resampling and the imbalanced-learn samplers of the paper's Table 2 (11 under, 7 over, 2 combined;
listed in catalog.toml), and samplers from outside the package (bench.samplers.registry.user_entry)."""
from __future__ import annotations

import inspect
from typing import Any

import numpy as np
from sklearn.utils._param_validation import HasMethods

from ..extensions import load_factory
from .base import RATIO, SEED, ProtocolSampler, ratio_strategy
from .registry import MINORITY_SHARE, SamplerContext, SamplerEntry

#: A parameter value the adapter works out from the training split before building the sampler: the smallest
#: class's share of the rows (catalog.toml: KMeansSMOTE's cluster_balance_threshold, issue 25).


#: What imbalanced-learn's ADASYN raises when the ratio's rows, spread over the minority rows, round to none.
ADASYN_ADDS_NOTHING = "No samples will be generated with the provided ratio settings."


def minority_share(y) -> float:
    """The smallest class's share of the rows of y."""
    return float(np.unique(y, return_counts=True)[1].min() / len(y))


class NoResampling(ProtocolSampler):
    """The identity sampler: the classifier sees the imbalanced training split as it is."""

    _sampling_type = "bypass"

    def _fit_resample(self, X, y):
        return X, y


class RatioSampler(ProtocolSampler):
    """An imbalanced-learn sampler class, built with `params` and the seed and asked for the protocol's ratio
    (base.ratio_strategy: for binary data imbalanced-learn's own float rule); without a ratio (cleaning
    methods) it runs with its defaults. A parameter given as "minority_share" gets the smallest class's share
    of the rows it resamples."""

    _parameter_constraints: dict = {"sampler": [HasMethods(["fit_resample"])], "ratio": [*RATIO, None],
                                    "random_state": SEED, "params": [dict, None]}

    def __init__(self, sampler: type, ratio: float | None = None, random_state: int | None = None,
                 params: dict[str, Any] | None = None):
        self.sampler = sampler
        self.ratio = ratio
        self.random_state = random_state
        self.params = params

    @property
    def _sampling_type(self) -> str:
        # imbalanced-learn's samplers declare theirs; one of one's own that does not is taken for an over-sampler
        return getattr(self.sampler, "_sampling_type", "over-sampling")

    def _fit_resample(self, X, y):
        arguments = {key: minority_share(y) if isinstance(value, str) and value == MINORITY_SHARE else value
                     for key, value in (self.params or {}).items()}
        if "random_state" in inspect.signature(self.sampler).parameters:
            arguments["random_state"] = self.random_state
        if self.ratio is not None:
            arguments["sampling_strategy"] = ratio_strategy(self.ratio, y, self._sampling_type)
        try:
            return self.sampler(**arguments).fit_resample(X, y)
        except ValueError as err:
            # ADASYN spreads the rows the ratio asks for over the minority rows and rounds each share; when every
            # share rounds to 0 it raises instead of returning its input. That is "no new samples", what the
            # protocol calls a ratio met already: the input, stored as a no-op row, not an error.
            if str(err) == ADASYN_ADDS_NOTHING:
                return X, y
            raise


def make(entry: SamplerEntry, params: dict[str, Any], context: SamplerContext) -> ProtocolSampler:
    """The entry's imblearn class, seeded with the run's seed, asked for the protocol's ratio if it takes one.
    (Cleaning methods take no ratio: the catalogue runs them once with their defaults.) The entry's fixed
    parameters (e.g. KMeansSMOTE's; a unit's params hold them already) are passed under the label's."""
    if entry.identity:
        return NoResampling()
    fixed = {key: value for key, value in {**entry.params, **params}.items() if key != "ratio"}
    return RatioSampler(load_factory(entry.factory), params.get("ratio"), context.random_state, fixed)
