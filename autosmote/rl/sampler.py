"""`AutoSMOTE`: the imbalanced-learn compatible sampler around the hierarchical RL search."""
from __future__ import annotations

import os
from numbers import Integral, Real

import numpy as np
import torch
from scipy import sparse
from imblearn.base import BaseSampler
from sklearn.metrics import f1_score, matthews_corrcoef
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from .. import determinism
from ..space import DEFAULT_G2, DEFAULT_K_NEIGHBORS, DEFAULT_WEIGHTS, SearchSpace, cross_instance_actions, neighbour_table, rows_for_counts
from .acting import ABLATIONS, PlayerConfig
from .actors import Environment, SearchData
from .learner import LearnerConfig
from .search import run_search
from .._torch import resolve_device

METRICS = {
    "macro_f1": lambda y, p: float(f1_score(y, p, average="macro")),
    "mcc": lambda y, p: float(matthews_corrcoef(y, p)),
}


class AutoSMOTE(BaseSampler):
    """Over-sample the minority class(es) with the synthetic set that a hierarchical RL search finds best.

    AutoSMOTE (Zha et al., CIKM 2022) searches the SMOTE space with three policies: a cross-instance
    factor g1, a per-row factor g2 (row i gets g1 * g2 samples) and a low-level choice of neighbour and
    interpolation weight per sample. Each episode's synthetic set is appended to the training data, the
    classifier is fitted and scored on the validation data, and that score is the reward (V-trace
    actor-critic, IMPALA). The output is the input plus the best-scoring synthetic set of `budget` episodes.

    Multi-class data: one search oversamples every class smaller than the largest. Their rows form one
    sequence, class by class; each row gets its own instance-specific factor and low-level choices, and
    interpolates only with neighbours of its own class (K is capped at the smallest class). The
    cross-instance factor g1 is one decision per episode shared by all classes, its range G1 taken from the
    largest imbalance (the smallest class). Shared, because the instance-specific policy sees each row's
    features and so already scales the amount row by row, hence class by class, while one g1 per class would
    need a per-class state the paper does not define; it also leaves the binary search exactly as it was.
    The reward is the metric over all classes on the validation data (macro-F1, or multi-class MCC).

    Parameters
    ----------
    classifier : estimator with fit/predict, default=None
        The base classifier (cloned for every episode). None: ``LinearSVC(random_state=0)``.
    metric : {"macro_f1", "mcc"} or callable (y_true, y_pred) -> float, default="macro_f1"
        The reward, measured on the validation data.
    budget : int, default=1000
        Number of episodes (classifier fits).
    validation : float in (0, 1) or tuple (X_val, y_val), default=0.25
        The validation data, or the fraction of the given data held out (stratified) as validation data.
        With a fraction the search trains on the rest; the output contains all given rows.
    ablation : str or None, default=None
        The paper's Table 4 ablations: "no_cross_instance" (g1 fixed to G1 // 2), "no_instance_specific"
        (g2 fixed to G2 // 2), "no_low_level" (uniform neighbour and weight), "flat" (one policy choosing
        neighbour, weight or "next row" at each step), "merged" (training and validation data merged; reward
        measured on the merged data), and three readings of the paper's one-sentence random search, each
        with every decision uniform and nothing learned, which differ in how the amount is drawn:
        "random_search": the hierarchical space searched at random - one g1 in {0..G1-1} per episode, then
        g2 in {0..G2-1} per row, g1 * g2 samples at each row, so an episode's total amount varies with g1
        from none to the most; "random_per_row": g1 and g2 drawn for every row independently (no episode-
        wide factor), so the total amount, a sum of n independent draws, concentrates around n * E[g1 * g2];
        "random_flat": the flat policy's space at random - at each step one of the K * W (neighbour,
        weight) pairs or "next row", uniformly, a row ending at "next row" or at (G1-1)(G2-1) samples (so
        nearly every row gets that maximum when K * W is large). Neighbour and weight are uniform in all
        three.
    n_jobs : int or None, default=None
        Number of actors (episodes played in parallel, each in its own process). None means 1 (in-process);
        -1 means one per CPU. A search is repeated bit for bit under the same random_state and n_jobs:
        each episode's random numbers depend on its index alone, its weights on its block, and the learner
        consumes episodes in index order, so neither the wall-clock interleaving nor which actor plays an
        episode matters. Different n_jobs give different (equally valid) searches, because the block
        size, and so the weights an episode is played with, depends on n_jobs. On another CPU it repeats
        only under autosmote.determinism's pin (AUTOSMOTE_PORTABLE=1): libraries pick kernels by CPU.
    random_state : int, RandomState instance or None, default=None
    g1 : int >= 2 or None, default=None
        Cross-instance actions {0..g1-1}. None: round(4 * IR / g2), at least 2 (IR of the training data).
    g2 : int >= 2, default=10
        Instance-specific actions {0..g2-1}.
    k_neighbors : int, default=30
        Neighbours per row (the row itself first), capped at the number of minority rows.
    interpolation_weights : array-like, default=(0, 0.25, 0.5, 0.75, 1)
    bin_width : int, default=20
        Width of the usage-count bins of the state (the authors' code: 20; the paper's text: 10).
    kept_subepisodes : int, default=10
        Low-level sub-episodes per episode sent to the learner.
    unroll_lengths : (int, int, int), default=(2, 300, 300)
        Unroll lengths of the cross-instance, instance-specific and low-level learners.
    batch_size : int, default=8
        Unrolls per learner update.
    learning_rate, entropy_cost, baseline_cost, discount, grad_norm_clip : float
        Adam learning rate (0.005), entropy cost (0.0006), baseline cost (0.5), discount (1.0) and
        global gradient-norm clip (40) of the learner.
    sync_interval : int, default=1
        Episodes per actor in a block (blocks of n_actors * sync_interval consecutive episodes share one set
        of weights). An actor's cached low-level logits serve all its episodes of a block.
    policy_lag : int, default=1
        Block r is played with the weights learned from blocks <= r - 1 - policy_lag; 1 lets the learner
        learn from one block while the actors play the next. Idle actors take the next episode at once
        (no barrier between blocks), so an actor waits only when it runs this far ahead of the learner.
        Both settings are IMPALA's policy lag, which V-trace corrects; larger values trade staleness for
        less overhead.
    within_row_updates : bool, default=True
        True: the exact process, in which the low-level policy sees every usage-count change, also inside
        a row (computed in batches, as many passes as bin changes). False: an approximation with one pass
        per row, all of a row's samples drawn from the state at the row's start.
    device : str, default="auto"
        The learner's torch device; "auto": CUDA when available, else CPU. Actors always act on CPU.
        A CUDA learner repeats a search only as far as CUDA's kernels are deterministic (the backward
        pass of index operations accumulates with atomics).

    Attributes
    ----------
    search_curve_ : list of float
        Best validation score after each episode.
    episode_scores_ : list of float
        Validation score of each episode.
    best_score_ : float
    best_decisions_ : dict
        The best episode's index, g1, g2 per row, samples per row, neighbour ranks and weights.
    n_synthetic_ : int
    timings_ : dict
        Wall seconds: "acting", "fitting" (classifier fit + validation predict + metric), both summed over
        actors, "learning", "waiting" (main process blocked on actors), "setup", "total" (the search);
        "acting_cpu", "fitting_cpu", "learning_cpu": the same in CPU seconds; and "n_actors".
    sampling_strategy_ : dict
        {label of each oversampled class: number of synthetic rows added}.
    learner_updates_ : dict
        Number of learner updates per policy ("cross", "instance", "low").
    imbalance_ratio_ : float
        Largest / smallest class rows of the training part (G1 derives from it).
    search_space_ : SearchSpace
        The action-space sizes used (G1, G2, K, interpolation weights).

    Examples
    --------
    >>> from sklearn.svm import LinearSVC
    >>> from autosmote import AutoSMOTE
    >>> sampler = AutoSMOTE(classifier=LinearSVC(), metric="mcc", budget=200, random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)            # doctest: +SKIP
    >>> sampler.best_score_, sampler.search_curve_[-1]       # doctest: +SKIP
    """

    _sampling_type = "over-sampling"
    sampling_strategy = "auto"     # imbalanced-learn's base class reads it; the search decides the amount

    _parameter_constraints: dict = {
        "classifier": [HasMethods(["fit", "predict"]), None],
        "metric": [StrOptions(set(METRICS)), callable],
        "budget": [Interval(Integral, 1, None, closed="left")],
        "validation": [Interval(Real, 0, 1, closed="neither"), tuple],
        "ablation": [StrOptions(set(ABLATIONS)), None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "g1": [Interval(Integral, 2, None, closed="left"), None],
        "g2": [Interval(Integral, 2, None, closed="left")],
        "k_neighbors": [Interval(Integral, 1, None, closed="left")],
        "interpolation_weights": ["array-like"],
        "bin_width": [Interval(Integral, 1, None, closed="left")],
        "kept_subepisodes": [Interval(Integral, 1, None, closed="left")],
        "unroll_lengths": ["array-like"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "entropy_cost": [Interval(Real, 0, None, closed="left")],
        "baseline_cost": [Interval(Real, 0, None, closed="left")],
        "discount": [Interval(Real, 0, 1, closed="both")],
        "grad_norm_clip": [Interval(Real, 0, None, closed="neither")],
        "policy_lag": [Interval(Integral, 0, None, closed="left")],
        "sync_interval": [Interval(Integral, 1, None, closed="left")],
        "within_row_updates": ["boolean"],
        "device": [str],
    }

    def __init__(self, classifier=None, metric="macro_f1", budget=1000, validation=0.25, ablation=None,
                 n_jobs=None, random_state=None, g1=None, g2=DEFAULT_G2, k_neighbors=DEFAULT_K_NEIGHBORS,
                 interpolation_weights=DEFAULT_WEIGHTS, bin_width=20, kept_subepisodes=10,
                 unroll_lengths=(2, 300, 300), batch_size=8, learning_rate=0.005, entropy_cost=0.0006,
                 baseline_cost=0.5, discount=1.0, grad_norm_clip=40.0, policy_lag=1, sync_interval=1,
                 within_row_updates=True, device="auto"):
        self.classifier = classifier
        self.metric = metric
        self.budget = budget
        self.validation = validation
        self.ablation = ablation
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.g1 = g1
        self.g2 = g2
        self.k_neighbors = k_neighbors
        self.interpolation_weights = interpolation_weights
        self.bin_width = bin_width
        self.kept_subepisodes = kept_subepisodes
        self.unroll_lengths = unroll_lengths
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.entropy_cost = entropy_cost
        self.baseline_cost = baseline_cost
        self.discount = discount
        self.grad_norm_clip = grad_norm_clip
        self.policy_lag = policy_lag
        self.sync_interval = sync_interval
        self.within_row_updates = within_row_updates
        self.device = device

    # ----------------------------------------------------------------- fitting
    def _fit_resample(self, X, y):
        if sparse.issparse(X):   # the search interpolates dense rows; the output keeps the input's format
            X_out, y_out = self._fit_resample(X.toarray(), y)
            return sparse.csr_matrix(X_out).asformat(X.format), y_out
        determinism.warn_if_requested_but_unpinned()
        classes = np.unique(y)
        _minority_classes(y, classes, "the data")
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        X_fit, y_fit, X_eval, y_eval, X_base, y_base = self._split(X, y, classes, seed)
        minorities, n_min, n_max = _minority_classes(y_fit, classes, "the part left for training")
        imbalance_ratio = n_max / n_min
        weights = self._interpolation_weights()
        space = SearchSpace(g1_actions=self.g1 or cross_instance_actions(imbalance_ratio, self.g2),
                            g2_actions=self.g2, k=min(self.k_neighbors, n_min), weights=tuple(weights))
        # the minority rows of every oversampled class, class by class, each interpolated within its class
        in_class = [np.flatnonzero(y_fit == label) for label in minorities]
        X_min = np.asarray(X_fit[np.concatenate(in_class)], dtype=np.float64)
        row_labels = np.repeat(np.asarray(minorities, dtype=y_fit.dtype), [len(rows) for rows in in_class])
        mean, std = X_fit.mean(axis=0), X_fit.std(axis=0)
        std[std == 0] = 1.0
        data = SearchData(X_fit=X_fit, y_fit=y_fit, X_eval=X_eval, y_eval=y_eval, X_min=X_min,
                          X_min_scaled=((X_min - mean) / std).astype(np.float32),
                          neighbours=_neighbours_within_classes(X_min, row_labels, space.k), row_labels=row_labels,
                          classifier=self.classifier if self.classifier is not None else LinearSVC(random_state=0),
                          metric=METRICS[self.metric] if isinstance(self.metric, str) else self.metric)
        config = PlayerConfig(space=space, bin_width=self.bin_width, kept_subepisodes=self.kept_subepisodes,
                              ablation=self.ablation, within_row_updates=self.within_row_updates)
        n_actors = self._n_actors()
        result = run_search(config, self._learner_config(), data, budget=self.budget, n_actors=n_actors,
                            policy_lag=self.policy_lag, sync_interval=self.sync_interval, seed=seed,
                            device=self._device())
        best = result.best
        synthetic = Environment(data, weights, 0).synthetic_rows(best.samples_per_row, best.actions)
        ranks = best.actions.astype(np.int64) // len(weights)
        self.search_curve_ = result.curve
        self.episode_scores_ = result.scores
        self.best_score_ = best.score
        self.best_decisions_ = {"episode": best.index, "g1": best.g1, "g2": best.g2,
                                "samples_per_row": best.samples_per_row, "neighbour_ranks": ranks,
                                "weights": weights[best.actions.astype(np.int64) % len(weights)]}
        self.n_synthetic_ = len(synthetic)
        self.timings_ = {**result.timings, "n_actors": n_actors}
        self.learner_updates_ = result.updates
        self.imbalance_ratio_ = float(imbalance_ratio)
        self.search_space_ = space
        y_synthetic = row_labels[rows_for_counts(best.samples_per_row)].astype(y_base.dtype)
        self.sampling_strategy_ = {label: int(np.sum(y_synthetic == label)) for label in minorities}
        X_out = np.vstack([X_base, synthetic.astype(X_base.dtype)])
        y_out = np.concatenate([y_base, y_synthetic])
        return X_out, y_out

    def _split(self, X, y, classes, seed):
        """(fit part, evaluation part, the rows the output starts from)."""
        merged = self.ablation == "merged"
        if isinstance(self.validation, tuple):
            if len(self.validation) != 2:
                raise ValueError("validation must be a fraction or a tuple (X_val, y_val)")
            X_val = check_array(self.validation[0], dtype=X.dtype, accept_sparse=True)
            X_val = X_val.toarray() if sparse.issparse(X_val) else X_val
            y_val = np.asarray(self.validation[1]).ravel()
            if X_val.shape[1] != X.shape[1] or len(X_val) != len(y_val):
                raise ValueError(f"validation data must have {X.shape[1]} columns and one label per row; got "
                                 f"X_val {X_val.shape}, y_val {y_val.shape}")
            if not np.isin(y_val, classes).all():
                raise ValueError("validation labels must be among the training labels")
            if merged:
                X_all, y_all = np.vstack([X, X_val]), np.concatenate([y, y_val.astype(y.dtype)])
                return X_all, y_all, X_all, y_all, X_all, y_all
            return X, y, X_val, y_val, X, y
        if merged:
            return X, y, X, y, X, y
        try:
            X_fit, X_val, y_fit, y_val = train_test_split(X, y, test_size=self.validation, stratify=y,
                                                          random_state=seed % (2**32))
        except ValueError as err:
            raise ValueError(f"cannot hold out a stratified validation fraction of {self.validation}: {err}; "
                             "pass validation=(X_val, y_val)") from err
        return X_fit, y_fit, X_val, y_val, X, y

    def _interpolation_weights(self) -> np.ndarray:
        weights = np.asarray(self.interpolation_weights, dtype=float)
        if weights.ndim != 1 or len(weights) == 0 or not np.isfinite(weights).all():
            raise ValueError(f"interpolation_weights must be a non-empty 1-D list of numbers, got "
                             f"{self.interpolation_weights!r}")
        return weights

    def _learner_config(self) -> LearnerConfig:
        lengths = tuple(self.unroll_lengths)
        if len(lengths) != 3 or not all(isinstance(v, Integral) and v >= 1 for v in lengths):
            raise ValueError(f"unroll_lengths must be three positive integers (cross-instance, "
                             f"instance-specific, low-level), got {self.unroll_lengths!r}")
        return LearnerConfig(unroll_lengths=tuple(int(v) for v in lengths), batch_size=self.batch_size,
                             learning_rate=self.learning_rate, entropy_cost=self.entropy_cost,
                             baseline_cost=self.baseline_cost, discount=self.discount,
                             grad_norm_clip=self.grad_norm_clip)

    def _n_actors(self) -> int:
        if self.n_jobs is None:
            return 1
        if self.n_jobs == 0:
            raise ValueError("n_jobs == 0 has no meaning: use None or 1 for one actor, -1 for one per CPU")
        n = self.n_jobs if self.n_jobs > 0 else (os.cpu_count() or 1) + 1 + self.n_jobs
        return max(1, min(int(n), self.budget))

    def _device(self) -> torch.device:
        return resolve_device(self.device)


def _minority_classes(y: np.ndarray, classes: np.ndarray, where: str):
    """(the classes to oversample, the smallest one's count, the largest class's count): every class smaller
    than the largest (binary: the minority; with all classes equal, the first). Each needs at least 2 rows
    to interpolate between."""
    counts = np.array([np.sum(y == c) for c in classes])
    smaller = counts < counts.max()
    minorities = classes[smaller] if smaller.any() else classes[[int(np.argmin(counts))]]
    n_min = int(counts[np.isin(classes, minorities)].min())
    if n_min < 2:
        smallest = classes[int(np.argmin(counts))]
        raise ValueError(f"AutoSMOTE needs at least 2 minority rows to interpolate between; {where} has "
                         f"{n_min} of class {smallest!r}")
    return list(minorities), n_min, int(counts.max())


def _neighbours_within_classes(X_min: np.ndarray, row_labels: np.ndarray, k: int) -> np.ndarray:
    """(n, k) nearest rows of each row's own class (indices into X_min, the row itself first): a synthetic
    row interpolates between two rows of one class. One class (binary) gives space.neighbour_table as is."""
    table = np.empty((len(X_min), k), dtype=np.int64)
    for label in dict.fromkeys(row_labels.tolist()):
        rows = np.flatnonzero(row_labels == label)
        table[rows] = rows[neighbour_table(X_min[rows], k)]
    return table
