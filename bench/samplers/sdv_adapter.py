"""CTGAN and TVAE through sdv's 2.x single-table API, used as oversamplers (the paper's "generative" rows),
and the same two models from the ctgan package directly (family ctgan-package: what the paper names, "the
authors' implementation" github.com/sdv-dev/CTGAN, with its defaults).

The protocol: fit the synthesizer on the minority rows of the training split with the library's defaults
(300 epochs unless `epochs` is given, e.g. `CTGAN[epochs=50]` in bench.toml), then add as many synthetic
minority rows as the desired ratio asks for. Training runs on a GPU when torch sees one.

sdv 2 wraps ctgan's models in its own preprocessing: by default it clips every sampled column to the fitted
rows' [min, max] (`enforce_min_max_values`) and rounds it to the decimals it learned (`enforce_rounding`);
the ctgan package does neither. `TVAE-unclipped` (catalog.toml) is sdv's TVAE with both off.

sdv and torch take seconds to import, and every command loads all adapters, so both are imported only
when a synthesizer is fitted.
"""
from __future__ import annotations

import contextlib
import inspect
import io
import warnings
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions

from .base import RATIO, SEED, ProtocolSampler
from .registry import SamplerContext, SamplerEntry

SYNTHESIZERS = {"CTGAN": "CTGANSynthesizer", "TVAE": "TVAESynthesizer"}
PACKAGE_FAMILY = "ctgan-package"   # catalog.toml's family of the ctgan package's own models
TABLE = "minority"   # sdv 2.x fits and samples dicts of tables; ours has one
OWN_PARAMS = ("ratio", "epochs", "enable_gpu")   # every other parameter goes to the synthesizer


class SDVOversampler(ProtocolSampler):
    """Adds int(ratio * N_largest) - N_class rows per smaller class (base.ratio_strategy), from an sdv
    synthesizer fit on that class.

    `epochs=None` keeps the library default; `enable_gpu=None` means "when torch sees a GPU".
    `synthesizer_params` are passed to the synthesizer as they are (e.g. batch_size, embedding_dim).
    The call is seeded through numpy's and torch's global generators, which sdv/ctgan draw from; sdv
    samples from its own fixed seed, so a (seed, data) pair gives the same rows every time on a CPU.
    """

    _parameter_constraints: dict = {
        "synthesizer": [StrOptions(set(SYNTHESIZERS))], "ratio": RATIO,
        "epochs": [Interval(Integral, 1, None, closed="left"), None], "enable_gpu": ["boolean", None],
        "random_state": SEED, "synthesizer_params": [dict, None]}
    _float_rows_only = True

    def __init__(self, synthesizer: str, ratio: float, *, epochs: int | None = None,
                 enable_gpu: bool | None = None, random_state: int | None = 0,
                 synthesizer_params: dict[str, Any] | None = None):
        self.synthesizer = synthesizer
        self.ratio = ratio
        self.epochs = epochs
        self.enable_gpu = enable_gpu
        self.random_state = random_state
        self.synthesizer_params = synthesizer_params

    #: Parameters of the synthesizer's signature that the adapter sets or that do not apply.
    _not_passed = ("metadata",)

    def _check_params(self) -> None:
        """Reject parameters the synthesizer does not take, and a non-boolean value for a boolean one (a label's
        `enforce_rounding=false` is the string 'false', which the library would take for true). Importing sdv
        imports torch, and a GPU fit starts CUDA here: both before the global generators are seeded, so that
        torch's and CUDA's are."""
        signature = inspect.signature(self._synthesizer_class()).parameters
        accepted = set(signature) - {*self._not_passed, *OWN_PARAMS}
        unknown = sorted(set(self.synthesizer_params or {}) - accepted)
        if unknown:
            raise ValueError(f"unknown {self.synthesizer} parameter(s) {unknown}; "
                             f"accepted: {sorted(accepted | set(OWN_PARAMS))}")
        for key, value in (self.synthesizer_params or {}).items():
            if isinstance(signature[key].default, bool) and not isinstance(value, bool):
                raise ValueError(f"{self.synthesizer} parameter {key!r} must be True or False, not {value!r}")
        if self.uses_gpu():
            import torch
            torch.cuda.init()

    def _fit_resample(self, X, y):
        """Every class smaller than the largest gets its own synthesizer (binary: the minority only); the
        original rows come first."""
        parts_X, parts_y = [X], [y]
        for label, n_new in self.sampling_strategy_.items():
            if n_new:
                parts_X.append(self._sample_minority(X[y == label], n_new).astype(X.dtype, copy=False))
                parts_y.append(np.full(n_new, label, dtype=y.dtype))
        return np.vstack(parts_X), np.concatenate(parts_y)

    def _synthesizer_class(self):
        from sdv import single_table
        return getattr(single_table, SYNTHESIZERS[self.synthesizer])

    def _sample_minority(self, X_minority: np.ndarray, n_rows: int) -> np.ndarray:
        """Fit the synthesizer on the minority rows and draw `n_rows` new ones."""
        columns = [f"f{j}" for j in range(X_minority.shape[1])]
        model = self._synthesizer_class()(_numerical_metadata(columns), **self._synthesizer_kwargs())
        with _quiet():
            model.fit({TABLE: pd.DataFrame(X_minority.astype(np.float64), columns=columns)})
            sampled = model.sample(num_rows=n_rows)[TABLE]
        if len(sampled) != n_rows:
            raise RuntimeError(f"{self.synthesizer} returned {len(sampled)} rows, {n_rows} were asked for")
        return sampled[columns].to_numpy(dtype=np.float64)

    def _synthesizer_kwargs(self) -> dict[str, Any]:
        kwargs = {**(self.synthesizer_params or {}), "enable_gpu": self.uses_gpu()}
        if self.epochs is not None:
            kwargs["epochs"] = self.epochs
        return kwargs

    def uses_gpu(self) -> bool:
        """sdv 2.x picks the device from `enable_gpu` (ctgan's `cuda` flag is deprecated): CUDA when seen."""
        import torch
        return torch.cuda.is_available() and self.enable_gpu is not False


class CTGANPackageOversampler(SDVOversampler):
    """The ctgan package's own TVAE / CTGAN (`from ctgan import TVAE`), as the paper ran them, under the same
    protocol as SDVOversampler: one model per smaller class fitted on that class's rows of the training split,
    int(ratio * N_largest) - N_class new rows (truncated), `epochs=None` the library's 300, seeded through
    numpy's and torch's global generators (ctgan draws from them when given no random state of its own).

    Everything else is the ctgan package's defaults: no clipping to the fitted rows' range and no rounding
    (sdv's FloatFormatter is not in the way), every column continuous (`discrete_columns=()`: as the sdv
    adapter declares every column numerical, the one-hot 0/1 ones included).
    """

    _not_passed = ("cuda",)   # deprecated in ctgan: the device follows enable_gpu

    def _synthesizer_class(self):
        import ctgan
        return getattr(ctgan, self.synthesizer)

    def _sample_minority(self, X_minority: np.ndarray, n_rows: int) -> np.ndarray:
        """Fit the model on the minority rows and draw `n_rows` new ones."""
        columns = [f"f{j}" for j in range(X_minority.shape[1])]
        model = self._synthesizer_class()(**self._synthesizer_kwargs())
        with _quiet():
            model.fit(pd.DataFrame(X_minority.astype(np.float64), columns=columns), discrete_columns=())
            sampled = model.sample(n_rows)
        if len(sampled) != n_rows:
            raise RuntimeError(f"ctgan's {self.synthesizer} returned {len(sampled)} rows, {n_rows} were asked for")
        return sampled[columns].to_numpy(dtype=np.float64)


def _numerical_metadata(columns: list[str]):
    """Every column declared numerical, the one-hot 0/1 ones included, instead of sdv's detection.

    Detection would call a 0/1 column "ordinal" and could take a column of unique floats for a key
    (never modelled). As numerical, sdv's defaults still give 0/1 samples for a 0/1 column: it learns
    0 decimals (enforce_rounding) and clips to the minority's [min, max] (enforce_min_max_values), and
    CTGAN models every feature alike, as the other oversamplers see them.
    """
    from sdv.metadata import Metadata
    table = {"columns": {name: {"sdtype": "numerical"} for name in columns}}
    return Metadata.load_from_dict({"tables": {TABLE: table}})


@contextlib.contextmanager
def _quiet():
    """sdv/ctgan warn about their own internals and may print advice (e.g. CTGAN's PerformanceAlert)."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def make(entry: SamplerEntry, params: dict[str, Any], context: SamplerContext) -> SDVOversampler:
    """The entry's model (its factory: sdv's CTGANSynthesizer / TVAESynthesizer, or ctgan's CTGAN / TVAE), the
    entry's fixed parameters (e.g. TVAE-unclipped's; a unit's params hold them already) and the label's passed
    to it."""
    params = {**entry.params, **params}
    extra = {k: v for k, v in params.items() if k not in OWN_PARAMS}
    model = entry.factory.rpartition(":")[2]
    if entry.family == PACKAGE_FAMILY:
        cls, synthesizer = CTGANPackageOversampler, model
    else:
        cls, synthesizer = SDVOversampler, {v: k for k, v in SYNTHESIZERS.items()}[model]
    return cls(synthesizer, params["ratio"], epochs=params.get("epochs"), enable_gpu=params.get("enable_gpu"),
               random_state=context.random_state, synthesizer_params=extra)


def fit_info(sampler: SDVOversampler) -> dict[str, Any]:
    return {"device": "cuda" if sampler.uses_gpu() else "cpu"}
