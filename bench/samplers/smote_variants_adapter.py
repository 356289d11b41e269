"""Every oversampler of smote-variants (Kovács 2019) as a harness sampler named `sv.<Name>`.

The harness's ratio r is the minority / majority ratio wanted after resampling; smote-variants'
`proportion` p is the fraction of the class-count gap to fill. p is therefore derived from y at fit
time, from the rows the ratio rule (bench.samplers.base) asks for. Oversamplers without a `proportion` run
once with their defaults. Crashes propagate (the harness stores an error row); an output equal to the input
is a no-op row, with the library's logged reason when it gave one.
"""
from __future__ import annotations

import inspect
import logging
import re
from contextlib import contextmanager
from typing import Any

import numpy as np
import smote_variants  # noqa: F401  (first: it sets up its logger at import, which the lines below quiet)

from ..extensions import load_factory
from .base import RATIO, SEED, ProtocolSampler
from .base import fit_info as fit_info  # the registry's hook: the library's reason for returning its input
from .registry import SamplerContext, SamplerEntry

# smote-variants logs every call at INFO through its own stream handler: keep only warnings.
SV_LOGGER = logging.getLogger("smote_variants")
SV_LOGGER.setLevel(logging.WARNING)

# Set by the adapter itself: a user-fixed value would conflict with the ratio grid or the seed.
RESERVED = ("proportion", "random_state", "n_jobs")


def proportion_for(n_new: int, n_majority: int, n_minority: int) -> float:
    """smote-variants' `proportion` that makes it generate `n_new` rows (the ratio rule's count).

    smote-variants generates int(p * (n_majority - n_minority)) rows; half a row is added to p so that
    the library's truncation lands on `n_new` despite float rounding.
    """
    if n_new <= 0:
        return 0.0
    if n_minority < 0 or n_majority <= n_minority:
        raise ValueError(f"needs more majority than minority rows to add {n_new}, got {n_majority} majority "
                         f"and {n_minority} minority")
    return (n_new + 0.5) / (n_majority - n_minority)


class SmoteVariantsSampler(ProtocolSampler):
    """One smote-variants oversampler behind `fit_resample`, seeded and single-threaded; `params` go to its
    constructor. When it hands back its input, `returned_input_because_` keeps its logged reason."""

    _parameter_constraints: dict = {"oversampler": [type], "ratio": [*RATIO, None], "random_state": SEED,
                                    "params": [dict, None]}
    _float_rows_only = True

    def __init__(self, oversampler: type, ratio: float | None = None, random_state: int | None = None,
                 params: dict[str, Any] | None = None):
        self.oversampler = oversampler
        self.ratio = ratio
        self.random_state = random_state
        self.params = params

    def _check_params(self) -> None:
        accepted = _named_parameters(self.oversampler)
        name = self.oversampler.__name__
        for key in self.params or {}:
            if key in RESERVED:
                raise ValueError(f"{name}: {key} is set by the adapter (the ratio grid, the seed, one job)")
            if key not in accepted:
                raise ValueError(f"{name} has no parameter {key!r}; it takes {', '.join(sorted(accepted))}")
        if self.ratio is not None and "proportion" not in accepted:
            raise ValueError(f"{name} takes no proportion, so it cannot be given a ratio")

    def _fit_resample(self, X, y):
        oversampler = self.oversampler(**self._constructor_arguments(y))
        with _listening_for_copies() as listener:
            X_res, y_res = oversampler.sample(X, y)
            X_res, y_res = np.asarray(X_res, dtype=X.dtype), np.asarray(y_res).astype(y.dtype, copy=False)
            _check_feature_space(oversampler, X, X_res)
        self.returned_input_because_ = listener.reason
        return X_res, y_res

    def _constructor_arguments(self, y: np.ndarray) -> dict[str, Any]:
        accepted = _named_parameters(self.oversampler)
        arguments = dict(self.params or {})
        if self.ratio is not None:   # the ratio rule's rows to add, as the gap's share smote-variants takes
            labels, counts = np.unique(y, return_counts=True)
            minority = labels[np.argmin(counts)]
            arguments["proportion"] = proportion_for(self.sampling_strategy_.get(minority, 0), int(counts.max()),
                                                     int(counts.min()))
        if "random_state" in accepted:
            arguments["random_state"] = self.random_state
        if "n_jobs" in accepted:
            arguments["n_jobs"] = 1
        return arguments


def _check_feature_space(oversampler, X: np.ndarray, X_res: np.ndarray) -> None:
    """Reject rows returned in a space of the method's own (E_SMOTE's feature selection, ISOMAP_Hybrid's
    embedding): the harness scores on the original features, so they would fail or score nonsense."""
    mapped = np.asarray(oversampler.preprocessing_transform(X))
    transformed = not (mapped is X or np.array_equal(mapped, X))
    if transformed or X_res.ndim != 2 or X_res.shape[1] != X.shape[1]:
        raise ValueError(f"{type(oversampler).__name__} resamples in a feature space of its own "
                         f"({X.shape[1]} columns in, {X_res.shape[-1]} out"
                         f"{', transformed' if transformed else ''}); the harness scores classifiers on "
                         "the original validation and test features")


class _ReasonForCopies(logging.Handler):
    """Keeps smote-variants' own reason when it hands the input back (e.g. kmeans_SMOTE: no cluster
    left after filtering), so a no-op row says why."""
    PATTERN = re.compile(r"returning copies|Too few minority|not enough dimensions")

    def __init__(self):
        super().__init__(logging.INFO)
        self.reason: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.PATTERN.search(str(record.msg)):
            self.reason = record.getMessage()


@contextmanager
def _listening_for_copies():
    """Route the library's INFO records to a _ReasonForCopies only (nothing printed), then restore."""
    listener = _ReasonForCopies()
    saved = SV_LOGGER.level, SV_LOGGER.handlers, SV_LOGGER.propagate
    SV_LOGGER.setLevel(logging.INFO)
    SV_LOGGER.handlers, SV_LOGGER.propagate = [listener], False
    try:
        yield listener
    finally:
        SV_LOGGER.setLevel(saved[0])
        SV_LOGGER.handlers, SV_LOGGER.propagate = saved[1], saved[2]


def _named_parameters(oversampler: type) -> set[str]:
    """The constructor's named parameters; its catch-all **kwargs would silently swallow typos."""
    return {name for name, p in inspect.signature(oversampler).parameters.items()
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


_TITLE = re.compile(r"\btitle\s*=\s*[{\"](.*?)[}\"]\s*[,}]", re.S | re.I)


def describe(oversampler: type) -> str:
    """The title of the paper in the class's BibTeX reference, else its docstring's first paragraph."""
    doc = inspect.getdoc(oversampler) or ""
    found = _TITLE.search(doc)
    text = found.group(1).replace("{", "").replace("}", "") if found else doc.split("\n\n")[0]
    return " ".join(text.split()).removeprefix("Description: ")


def make(entry: SamplerEntry, params: dict[str, Any], context: SamplerContext) -> SmoteVariantsSampler:
    fixed = {key: value for key, value in params.items() if key != "ratio"}
    return SmoteVariantsSampler(load_factory(entry.factory), params.get("ratio"), context.random_state, fixed)
