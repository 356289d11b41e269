"""The one base of the harness's sampler adapters: what every adapter would otherwise write for itself.

`ProtocolSampler` is an imbalanced-learn sampler (`fit_resample`, `get_params` / `set_params` / `clone`,
inputs validated and outputs returned as the types given) that owns the protocol's parts:

* the ratio rule (`target_counts`, `ratio_strategy`): what the protocol's ratio asks of each class;
* seeding of the global random state for the call (`seeded_global_rngs`), restored for the caller;
* no-op detection: `returned_input_` says whether the output is the input, `returned_input_because_` the
  library's reason when it gave one (`fit_info` stores it with the row).

Two of these rules, "a ratio met already asks for no change" and "the output is the input", live in
bench.samplers.rules: the unit (bench.protocol) applies them too.

An adapter declares its parameters (an `__init__` that only stores them, `_parameter_constraints`), its
`_sampling_type`, and `_fit_resample(X, y)`, the library call; optionally `_check_params()`, checks that
need the library (run before the global state is seeded, so that importing it draws nothing).

Methods whose class is an imbalanced-learn or scikit-learn estimator already (AutoSMOTE and its Gumbel
variants, MESA) are built as they are, the run's seed as their random_state (they seed generators of their
own); a ratio reaches them as imbalanced-learn's float, which is this rule for two classes.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager, nullcontext
from numbers import Integral, Real

import numpy as np
from imblearn.base import BaseSampler
from imblearn.utils import check_sampling_strategy, check_target_type
from imblearn.utils._validation import ArraysTransformer
from sklearn.preprocessing import label_binarize
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from .rules import ratio_met, returned_input

#: Constraints of the two parameters most adapters take (numpy's global seed must fit in 32 bits).
RATIO = [Interval(Real, 0, 1, closed="right")]
SEED = [Interval(Integral, 0, 2**32 - 1, closed="both"), None]


def ratio_strategy(ratio: float, y, sampling_type: str) -> float | dict:
    """imbalanced-learn's `sampling_strategy` that asks for the protocol's ratio r = N_class / N_largest after
    resampling: over-sampling raises each smaller class to int(r * N_largest) rows, under-sampling cuts each
    class above int(N_smallest / r) rows to that (truncation, as smote-variants counts too). No class moves
    the other way, and a ratio met already (`rules.ratio_met`) gets an empty dict, which changes nothing.

    Otherwise, for two classes, this is the ratio itself: imbalanced-learn's own rule for a float.
    """
    labels, counts = np.unique(y, return_counts=True)
    over = sampling_type == "over-sampling"
    if ratio_met(ratio, counts):
        return {}
    if len(labels) == 2:
        # imbalanced-learn refuses a float whose truncated count adds not one row instead of leaving the data
        # alone: there, too, the empty dict.
        return {} if over and int(ratio * counts.max()) <= counts.min() else float(ratio)
    # imbalanced-learn takes a float for binary targets only ("for multi-class, use a dict"): the same rule
    # by hand, as per-class counts after resampling.
    if over:
        return {c: max(n, int(ratio * counts.max())) for c, n in zip(labels, counts) if n < counts.max()}
    return {c: min(n, int(counts.min() / ratio)) for c, n in zip(labels, counts)}


def target_counts(ratio: float, y, sampling_type: str) -> dict:
    """Rows per class after resampling to the protocol's ratio (the rule of `ratio_strategy`)."""
    strategy = check_sampling_strategy(ratio_strategy(ratio, y, sampling_type), y, sampling_type)
    labels, counts = np.unique(y, return_counts=True)
    if sampling_type == "over-sampling":   # imbalanced-learn's counts are rows to add ...
        return {c: int(n + strategy.get(c, 0)) for c, n in zip(labels, counts)}
    return {c: int(strategy.get(c, n)) for c, n in zip(labels, counts)}   # ... or rows to keep


class OverSamplingTargets:
    """imbalanced-learn's callable `sampling_strategy` for the protocol's ratio: y -> rows wanted per smaller
    class (the rule of `ratio_strategy`), for methods that take a sampling_strategy of their own (the Gumbel
    samplers); unlike a float it works on multi-class data. A class, not a closure, so that it pickles."""

    def __init__(self, ratio: float):
        self.ratio = ratio

    def __call__(self, y) -> dict:
        labels, counts = np.unique(y, return_counts=True)
        wanted = target_counts(self.ratio, y, "over-sampling")
        return {c: wanted[c] for c, n in zip(labels, counts) if n < counts.max()}

    def __repr__(self) -> str:
        return f"OverSamplingTargets(ratio={self.ratio})"

    def __eq__(self, other) -> bool:   # clone() copies parameters: a copy is the same strategy
        return isinstance(other, OverSamplingTargets) and other.ratio == self.ratio

    def __hash__(self) -> int:
        return hash(("OverSamplingTargets", self.ratio))


@contextmanager
def seeded_global_rngs(seed: int | None):
    """Seed numpy's global generator, and torch's when torch is already imported, for one call; restore them
    for the caller afterwards. Some methods draw from them behind their own random_state (E_SMOTE's
    np.random.choice, estimators built without a seed, ctgan's torch sampling), which would break reruns.

    torch is never imported here (seconds, for methods that do not use it); a method that uses it imports
    it in `_check_params`, before this. CUDA's generators are seeded only where CUDA is initialised already:
    saving their state would initialise it (seconds and GPU memory) for a method that never uses the GPU.
    """
    if seed is None:
        yield
        return
    torch = sys.modules.get("torch")
    cuda = torch is not None and torch.cuda.is_initialized()
    saved = np.random.get_state()
    forked = torch.random.fork_rng(devices=range(torch.cuda.device_count()) if cuda else []) if torch else None
    with forked or nullcontext():
        np.random.seed(seed)
        if cuda:
            torch.manual_seed(seed)
        elif torch is not None:
            torch.default_generator.manual_seed(seed)   # torch.manual_seed would queue a seed for CUDA's start
        try:
            yield
        finally:
            np.random.set_state(saved)


def fit_info(sampler) -> dict:
    """What the harness stores with the row: the library's reason for returning its input, if it gave one."""
    because = getattr(sampler, "returned_input_because_", None)
    return {"returned_input_because": because} if because else {}


class ProtocolSampler(BaseSampler):
    """A library's sampler under the protocol: the ratio, seeding and no-op detection, imbalanced-learn's way.

    Attributes
    ----------
    sampling_strategy_ : dict
        What the ratio asks for, in imbalanced-learn's terms: rows to add (over-sampling) or to keep
        (under-sampling) per class; empty without a ratio (the method decides).
    returned_input_ : bool
        Whether `fit_resample` returned its input unchanged.
    returned_input_because_ : str or None
        The library's reason for returning its input, when it gave one.
    n_features_in_, feature_names_in_ : as in scikit-learn.
    """

    # Defaults for adapters whose method takes no ratio or no seed (they leave them out of __init__).
    ratio = None
    random_state = None
    _parameter_constraints: dict = {}
    _sampling_type = "over-sampling"
    #: The library takes dense float rows only: X is validated as such (float32 kept, else float64).
    _float_rows_only = False

    def __init__(self):
        """No parameters (imbalanced-learn's `sampling_strategy` is not one: the protocol's ratio is)."""

    def fit(self, X, y):
        """Validate the data and the parameters and work out `sampling_strategy_`; resampling is
        `fit_resample`'s (imbalanced-learn's `fit` does as much)."""
        self._validate(X, y)
        return self

    def fit_resample(self, X, y):
        """Resample (X, y) as the protocol asks, the global random state seeded with `random_state` meanwhile.

        Returns X and y resampled, as the types given (array, list, DataFrame / Series).
        """
        arrays = ArraysTransformer(X, y)
        X, y, binarize_y = self._validate(X, y)
        self.returned_input_because_ = None   # set by `_fit_resample` when the library says why
        with seeded_global_rngs(self.random_state):
            X_res, y_res = self._fit_resample(X, y)
        self.returned_input_ = returned_input(X, y, X_res, y_res)
        if not self.returned_input_:   # a sub-step's reason counts only when the whole output is the input
            self.returned_input_because_ = None
        if binarize_y:
            y_res = label_binarize(y_res, classes=np.unique(y))
        return arrays.transform(X_res, y_res)

    def _validate(self, X, y):
        """Parameters (scikit-learn's constraints, then the library's), data, and `sampling_strategy_`."""
        self._validate_params()
        check_classification_targets(y)
        X, y, binarize_y = self._check_X_y(X, y)
        if len(np.unique(y)) < 2:
            raise ValueError(f"y holds one class, {y[0]!r}: resampling needs at least two classes")
        self._check_params()
        if self.ratio is None:
            self.sampling_strategy_ = {}
        else:
            self.sampling_strategy_ = check_sampling_strategy(
                ratio_strategy(self.ratio, y, self._sampling_type), y, self._sampling_type)
        return X, y, binarize_y

    def _check_X_y(self, X, y, accept_sparse=None):
        if not self._float_rows_only:
            return super()._check_X_y(X, y, accept_sparse)
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        X, y = validate_data(self, X=X, y=y, reset=True, dtype=[np.float64, np.float32])
        return X, y, binarize_y

    def _check_params(self) -> None:
        """Checks that need the method's library (its accepted parameters): none by default."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = not self._float_rows_only
        return tags
